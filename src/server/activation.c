/* Listening sockets passed at start, by systemd's protocol (sd_listen_fds(3),
 * without libsystemd): LISTEN_PID names this process, LISTEN_FDS = n
 * descriptors from 3, LISTEN_FDNAMES their names, colon separated. The
 * environment is read once per process into a table, the three variables
 * are unset (a process this one starts must not take them for its own), and
 * each descriptor is marked close-on-exec. A process started by a handover
 * (handover.c) gets the same variables plus NETHTTP_HANDOVER_READY_FD, the
 * pipe on which it says it is serving. */
#include "handover.h"
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { FIRST_FD = 3, MAX_FDS = 256, NAME_MAX_LEN = 255 };

typedef struct passed {
  int fd;
  int taken;
  char name[NAME_MAX_LEN + 1];
} passed;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static passed table[MAX_FDS];
static int npassed;
static int ready_fd = -1;
static int handed_over; /* started by a handover */

/* A decimal number, whole and in range; -1 otherwise. */
static long number(const char *s, long max) {
  if (!s || !*s)
    return -1;
  char *end;
  long n = strtol(s, &end, 10);
  return *end || n < 0 || n > max ? -1 : n;
}

static void read_environment(void) {
  const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
  const char *names = getenv("LISTEN_FDNAMES"), *ready = getenv(NH__HANDOVER_READY_ENV);
  long n = number(fds, MAX_FDS);
  if (pid && number(pid, 0x7fffffff) == (long)getpid() && n > 0) {
    const char *at = names;
    for (int i = 0; i < n; i++) {
      passed *p = &table[i];
      p->fd = FIRST_FD + i;
      size_t len = at ? strcspn(at, ":") : 0;
      /* systemd's name for a socket without FileDescriptorName= */
      snprintf(p->name, sizeof p->name, "%.*s", len ? (int)(len > NAME_MAX_LEN ? NAME_MAX_LEN : len) : 7,
               len ? at : "unknown");
      if (at)
        at = at[len] ? at + len + 1 : NULL;
      int fl = fcntl(p->fd, F_GETFD);
      if (fl >= 0)
        fcntl(p->fd, F_SETFD, fl | FD_CLOEXEC);
      else
        p->taken = 1; /* not open: nothing to serve */
    }
    npassed = (int)n;
    long r = number(ready, 0x7fffffff);
    if (r >= FIRST_FD + n && fcntl((int)r, F_SETFD, FD_CLOEXEC) == 0)
      ready_fd = (int)r;
    handed_over = ready_fd >= 0;
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  unsetenv(NH__HANDOVER_READY_ENV);
}

int nh_listen_fds_count(void) {
  pthread_once(&once, read_environment);
  return npassed;
}

/* A listening stream socket, or why not. */
static const char *unfit(int fd) {
  int type = 0, accepting = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return "not a socket";
  if (type != SOCK_STREAM)
    return "not a stream socket";
  len = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
    return "not listening";
  return NULL;
}

int nh_server_listen_activated(nh_server *srv, const char *name, const nh_listen_options *o) {
  pthread_once(&once, read_environment);
  int all = !name || !strcmp(name, "auto");
  int added = 0, matched = 0, e = NH_OK;
  pthread_mutex_lock(&mu);
  for (int i = 0; i < npassed && e == NH_OK; i++) {
    passed *p = &table[i];
    if (p->taken || (!all && strcmp(p->name, name)))
      continue;
    matched++;
    const char *why = unfit(p->fd);
    if (why) {
      NH_LOG(srv->log, NH_LOG_WARN, "passed socket refused", NH_LINT("fd", p->fd),
             NH_LSTR("name", p->name), NH_LSTR("reason", why));
      continue;
    }
    if ((e = nh_server_listen_fd_with(srv, p->fd, o)) != NH_OK) {
      NH_LOG(srv->log, NH_LOG_ERROR, "cannot serve a passed socket", NH_LINT("fd", p->fd),
             NH_LSTR("name", p->name), NH_LSTR("error", nh_strerror(e)));
      break;
    }
    p->taken = 1;
    added++;
  }
  pthread_mutex_unlock(&mu);
  if (e != NH_OK)
    return e;
  if (!matched) {
    NH_LOG(srv->log, NH_LOG_ERROR, "no passed socket to listen on", NH_LSTR("name", all ? "auto" : name),
           NH_LSTR("error", npassed ? "no socket of that name, or all served already (LISTEN_FDNAMES)"
                                    : "the process was passed no socket (LISTEN_FDS)"));
    return NH_ENOENT;
  }
  return added ? added : NH_EINVAL;
}

int nh_server_handover_child(void) {
  pthread_once(&once, read_environment);
  return handed_over;
}

const char *nh__activation_name(int fd) {
  const char *name = NULL;
  pthread_mutex_lock(&mu);
  for (int i = 0; i < npassed && !name; i++)
    if (table[i].fd == fd && table[i].taken)
      name = table[i].name;
  pthread_mutex_unlock(&mu);
  return name;
}

void nh__handover_ready(nh_logger *log) {
  pthread_once(&once, read_environment);
  pthread_mutex_lock(&mu);
  int fd = ready_fd;
  ready_fd = -1;
  pthread_mutex_unlock(&mu);
  if (fd < 0)
    return;
  ssize_t w = write(fd, "R", 1);
  close(fd);
  NH_LOG(log, w == 1 ? NH_LOG_INFO : NH_LOG_WARN,
         w == 1 ? "serving the sockets handed over; the previous process stops"
                : "the previous process is gone",
         NH_LINT("pid", (long)getpid()));
}
