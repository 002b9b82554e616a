/* Leak check for tests: fibers, timers and descriptors left behind.
 *
 * The baseline remembers which fibers were alive, how many timers were
 * armed and which descriptors were open. The check polls until the runtime
 * is back to that state or the grace period ends, then names each leftover
 * by what it is: a fiber by its label, its state and where it started; a
 * socket by its two ends; any other descriptor by what it points to. A
 * scoped check (nh__leak_check_scoped) counts only the descriptors its
 * caller claims, so two test servers that overlap in time do not report
 * each other's connections.
 *
 * Taken outside any runtime (a test's main thread), the baseline is the
 * whole process's: which runtimes were alive, how many threads ran, which
 * child processes existed, and the descriptors. A test case that ends with
 * a runtime still running, a thread not joined or a child not reaped is
 * caught that way, whatever the case did. */
#include "internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { MAX_IDS = 256 };

struct nh_leak_baseline {
  nh_runtime *rt;
  uint64_t *fibers;
  size_t nfibers;
  int64_t timers;
  int *fds;
  size_t nfds;
  /* process mode (rt NULL) */
  uint64_t runtimes[MAX_IDS];
  size_t nruntimes;
  int threads;
  int children[MAX_IDS];
  size_t nchildren;
};

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Open descriptors, sorted, without the one used to list them. */
static int *list_fds(size_t *n) {
  *n = 0;
  /* Not while a symbolizer lookup has the program's files open. */
  nh__symbolize_lock();
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    nh__symbolize_unlock();
    return NULL;
  }
  int self = dirfd(d);
  size_t cap = 64;
  int *fds = malloc(cap * sizeof *fds);
  struct dirent *e;
  while (fds && (e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    int fd = atoi(e->d_name);
    if (fd == self)
      continue;
    if (*n == cap) {
      int *grown = realloc(fds, (cap *= 2) * sizeof *fds);
      if (!grown)
        break;
      fds = grown;
    }
    fds[(*n)++] = fd;
  }
  closedir(d);
  nh__symbolize_unlock();
  if (fds)
    qsort(fds, *n, sizeof *fds, cmp_int);
  return fds;
}

/* Threads of this process. */
static int count_threads(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

/* Child processes (running or not yet reaped), from every thread's
 * /proc/self/task/TID/children; at most MAX_IDS. */
static size_t list_children(int *out) {
  size_t n = 0;
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    FILE *f = fopen(path, "r");
    int pid;
    while (f && n < MAX_IDS && fscanf(f, "%d", &pid) == 1)
      out[n++] = pid;
    if (f)
      fclose(f);
  }
  if (d)
    closedir(d);
  return n;
}

static int has_id(const uint64_t *ids, size_t n, uint64_t id) {
  for (size_t i = 0; i < n; i++)
    if (ids[i] == id)
      return 1;
  return 0;
}

static int has_child(const nh_leak_baseline *b, int pid) {
  for (size_t i = 0; i < b->nchildren; i++)
    if (b->children[i] == pid)
      return 1;
  return 0;
}

static int has_fd(const nh_leak_baseline *b, int fd) {
  return b->fds && bsearch(&fd, b->fds, b->nfds, sizeof fd, cmp_int) != NULL;
}

static int has_fiber(const nh_leak_baseline *b, uint64_t id) {
  for (size_t i = 0; i < b->nfibers; i++)
    if (b->fibers[i] == id)
      return 1;
  return 0;
}

nh_leak_baseline *nh_leak_baseline_take(nh_runtime *rt) {
  nh_leak_baseline *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->rt = rt ? rt : nh_runtime_current();
  if (b->rt) {
    nh_fiber_info *items;
    size_t n;
    nh_fiber_dump(b->rt, &items, &n);
    b->fibers = malloc((n ? n : 1) * sizeof *b->fibers);
    for (size_t i = 0; b->fibers && i < n; i++)
      b->fibers[b->nfibers++] = items[i].id;
    free(items);
    b->timers = NH__LOOPS_SUM(b->rt, timers_armed);
  } else {
    b->nruntimes = nh__runtime_ids_live(b->runtimes, MAX_IDS);
    b->threads = count_threads();
    b->nchildren = list_children(b->children);
  }
  b->fds = list_fds(&b->nfds);
  return b;
}

static void free_baseline(nh_leak_baseline *b) {
  free(b->fibers);
  free(b->fds);
  free(b);
}

typedef struct leak_scope {
  int (*mine)(int fd, void *arg); /* NULL: every descriptor counts */
  void *arg;
} leak_scope;

/* A descriptor opened since the baseline that the check counts. */
static int counted(const nh_leak_baseline *b, const leak_scope *sc, int fd) {
  return !has_fd(b, fd) && (!sc->mine || sc->mine(fd, sc->arg));
}

/* Quick test: 1 when everything is back to the baseline. */
static int settled(const nh_leak_baseline *b, const leak_scope *sc) {
  if (b->rt) {
    if (NH__LOOPS_SUM(b->rt, fibers_live) > (int64_t)b->nfibers)
      return 0;
    if (NH__LOOPS_SUM(b->rt, timers_armed) > b->timers)
      return 0;
  } else {
    uint64_t ids[MAX_IDS];
    size_t nr = nh__runtime_ids_live(ids, MAX_IDS);
    for (size_t i = 0; i < nr && i < MAX_IDS; i++)
      if (!has_id(b->runtimes, b->nruntimes, ids[i]))
        return 0;
    if (count_threads() > b->threads)
      return 0;
    int kids[MAX_IDS];
    size_t nk = list_children(kids);
    for (size_t i = 0; i < nk; i++)
      if (!has_child(b, kids[i]))
        return 0;
  }
  size_t n;
  int *fds = list_fds(&n);
  int ok = 1;
  for (size_t i = 0; fds && i < n && ok; i++)
    ok = !counted(b, sc, fds[i]);
  free(fds);
  return ok;
}

/* "127.0.0.1:80", "[::1]:80", "unix:/path", "unix:(unnamed)". */
static void format_sockaddr(const struct sockaddr_storage *a, socklen_t len, char *buf,
                            size_t cap) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)a;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    snprintf(buf, cap, "%s:%u", host, ntohs(in->sin_port));
  } else if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    snprintf(buf, cap, "[%s]:%u", host, ntohs(in6->sin6_port));
  } else if (a->ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)a;
    size_t plen = len > offsetof(struct sockaddr_un, sun_path)
                      ? len - offsetof(struct sockaddr_un, sun_path)
                      : 0;
    if (!plen || !un->sun_path[0])
      snprintf(buf, cap, "unix:(unnamed)");
    else
      snprintf(buf, cap, "unix:%.*s", (int)strnlen(un->sun_path, plen), un->sun_path);
  } else {
    snprintf(buf, cap, "family %d", a->ss_family);
  }
}

void nh__fd_describe(int fd, char *buf, size_t cap) {
  struct sockaddr_storage local, peer;
  socklen_t llen = sizeof local, plen = sizeof peer;
  if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0) {
    char l[128], p[128];
    format_sockaddr(&local, llen, l, sizeof l);
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0) {
      format_sockaddr(&peer, plen, p, sizeof p);
      snprintf(buf, cap, "socket %s -> %s", l, p);
    } else {
      int acc = 0;
      socklen_t alen = sizeof acc;
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen);
      snprintf(buf, cap, "socket %s (%s)", l, acc ? "listening" : "not connected");
    }
    return;
  }
  char path[64], target[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(path, target, sizeof target - 1);
  target[len > 0 ? len : 0] = 0;
  snprintf(buf, cap, "%s", len > 0 ? target : "(closed)");
}

/* One line per leftover fiber: "fiber 'conn 127.0.0.1:5555' parked in IO
 * wait: read for 2.1s (fiber 12, loop 0, started at conn_serve)", then
 * its innermost frames. */
static void report_fiber(FILE *report, const nh_fiber_info *it) {
  char d[32];
  nh_dur_format(it->waiting, d, sizeof d);
  int parked = strcmp(it->state, "running") && strcmp(it->state, "runnable");
  fprintf(report, "  leaked fiber '%s' %s%s%s%s (fiber %llu, loop %d, started at %s)\n",
          it->label[0] ? it->label : it->entry, parked ? "parked in " : "", it->state,
          parked ? " for " : "", parked ? d : "", (unsigned long long)it->id, it->loop, it->entry);
  for (int k = 0; k < it->nframes && k < 6; k++) {
    char name[160];
    nh_frame_name(it->frames[k], name, sizeof name);
    fprintf(report, "      %s\n", name);
  }
}

/* Names the fibers of rt that the baseline did not have (all of them when
 * b has no runtime). */
static void report_fibers(const nh_leak_baseline *b, nh_runtime *rt, FILE *report,
                          int *fibers_left) {
  nh_fiber_info *items;
  size_t n;
  /* A stalled loop (NH_ESTALL) leaves its fibers out; the others are
   * still worth naming, and the list is ours to free either way. */
  nh_fiber_dump(rt, &items, &n);
  for (size_t i = 0; i < n; i++) {
    if (b->rt && has_fiber(b, items[i].id))
      continue;
    report_fiber(report, &items[i]);
    if (fibers_left)
      *fibers_left = 1;
  }
  free(items);
}

/* Process mode: runtimes still running (with their fibers), threads and
 * child processes. */
static void report_process(const nh_leak_baseline *b, FILE *report) {
  nh_runtime *rts[MAX_IDS];
  size_t nr = nh__runtimes_live(rts, MAX_IDS);
  for (size_t i = 0; i < nr && i < MAX_IDS; i++) {
    if (has_id(b->runtimes, b->nruntimes, rts[i]->live_id))
      continue;
    fprintf(report, "  leaked runtime (%d loops, %lld fibers live, never freed)\n", rts[i]->nloops,
            (long long)NH__LOOPS_SUM(rts[i], fibers_live));
    report_fibers(b, rts[i], report, NULL);
  }
  int t = count_threads();
  if (t > b->threads)
    fprintf(report, "  %d thread(s) beyond the baseline\n", t - b->threads);
  int kids[MAX_IDS];
  size_t nk = list_children(kids);
  for (size_t i = 0; i < nk; i++) {
    if (has_child(b, kids[i]))
      continue;
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", kids[i]);
    FILE *f = fopen(path, "r");
    if (f) {
      if (fgets(comm, sizeof comm, f))
        comm[strcspn(comm, "\n")] = 0;
      fclose(f);
    }
    fprintf(report, "  leaked child process %d (%s)\n", kids[i], comm);
  }
}

int nh__leak_check_scoped(nh_leak_baseline *b, nh_dur grace, FILE *report,
                          int (*mine)(int fd, void *arg), void *arg, int *fibers_left) {
  if (fibers_left)
    *fibers_left = 0;
  if (!b)
    return NH_EINVAL;
  if (!report)
    report = stderr;
  leak_scope sc = {mine, arg};
  /* One settled look is the answer: a second look could catch another
   * thread's descriptor or timer of the moment and report nothing. */
  nh_time deadline = nh_deadline_after(grace);
  for (;;) {
    if (settled(b, &sc)) {
      free_baseline(b);
      return NH_OK;
    }
    if (nh_now() >= deadline)
      break;
    nh_sleep(5 * NH_MSEC);
  }

  fprintf(report, "leak check: the %s did not return to its baseline\n",
          b->rt ? "runtime" : "process");
  if (b->rt) {
    report_fibers(b, b->rt, report, fibers_left);
    int64_t t = NH__LOOPS_SUM(b->rt, timers_armed);
    if (t > b->timers)
      fprintf(report, "  %lld timer(s) armed beyond the baseline\n", (long long)(t - b->timers));
  } else {
    report_process(b, report);
  }
  size_t n;
  int *fds = list_fds(&n);
  for (size_t i = 0; fds && i < n; i++) {
    if (!counted(b, &sc, fds[i]))
      continue;
    char what[320];
    nh__fd_describe(fds[i], what, sizeof what);
    fprintf(report, "  leaked %s (descriptor %d)\n", what, fds[i]);
  }
  free(fds);
  fflush(report);
  free_baseline(b);
  return NH_EBUSY;
}

int nh_leak_check(nh_leak_baseline *b, nh_dur grace, FILE *report) {
  return nh__leak_check_scoped(b, grace, report, NULL, NULL, NULL);
}
