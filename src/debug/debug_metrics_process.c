/* /metrics: process_* as Prometheus' client libraries name them: CPU time,
 * resident and virtual memory, descriptors open and allowed, start time. */
#include "debug_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads a small /proc file whole into buf (NUL-terminated); its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t n = 0;
  ssize_t r;
  while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
    n += (size_t)r;
  close(fd);
  buf[n] = 0;
  return (ssize_t)n;
}

/* Fields of /proc/self/stat, counted from 1 as proc(5) does; the command
 * name (field 2) may hold spaces, so counting starts after its ")". */
typedef struct proc_stat {
  unsigned long long starttime, vsize, rss; /* fields 22, 23, 24 */
} proc_stat;

static int read_proc_stat(proc_stat *ps) {
  char buf[1024];
  if (read_small("/proc/self/stat", buf, sizeof buf) <= 0)
    return -1;
  char *p = strrchr(buf, ')');
  if (!p)
    return -1;
  p++;
  for (int field = 3; field <= 24 && *p; field++) {
    while (*p == ' ')
      p++;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (field == 22)
      ps->starttime = v;
    else if (field == 23)
      ps->vsize = v;
    else if (field == 24)
      ps->rss = v;
    p = end;
    while (*p && *p != ' ')
      p++;
  }
  return 0;
}

/* The start time never changes: read once (boot time from /proc/stat plus
 * the process' start in clock ticks after boot). */
static double start_time;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;

static void find_start_time(void) {
  proc_stat ps = {0};
  FILE *f = fopen("/proc/stat", "re");
  if (!f || read_proc_stat(&ps) != 0) {
    if (f)
      fclose(f);
    return;
  }
  char line[256];
  long long btime = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "btime %lld", &btime) == 1)
      break;
  fclose(f);
  if (btime >= 0)
    start_time = (double)btime + (double)ps.starttime / (double)sysconf(_SC_CLK_TCK);
}

/* Since Linux 6.2, stat() of /proc/self/fd reports the number of open
 * descriptors as its size: no walk of ten thousand entries per scrape.
 * Older kernels report 0: count the entries then. */
static long open_fds(void) {
  struct stat st;
  if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
    return (long)st.st_size;
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(dir)))
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n - 1; /* the directory's own descriptor */
}

void nh__m_process(nh__dynbuf *b) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    nh__m_single_f(b, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.",
                   (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  proc_stat ps = {0};
  if (read_proc_stat(&ps) == 0) {
    nh__m_single(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                 (int64_t)ps.rss * (int64_t)sysconf(_SC_PAGESIZE));
    nh__m_single(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                 (int64_t)ps.vsize);
  }
  long fds = open_fds();
  if (fds >= 0)
    nh__m_single(b, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
    nh__m_single(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                 rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur);
  pthread_once(&start_once, find_start_time);
  if (start_time > 0)
    nh__m_single_f(b, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.", start_time);
}
