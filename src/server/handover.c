/* The handover of the listening sockets to a new copy of the program (on
 * SIGUSR2 in nh_server_run), as nginx's binary upgrade and tableflip do.
 *
 * The new process gets every listener as systemd would pass it (LISTEN_PID,
 * LISTEN_FDS, LISTEN_FDNAMES, descriptors from 3, in the old one's order)
 * and the write end of a pipe (NETHTTP_HANDOVER_READY_FD). Its sockets are
 * the same open files as the old one's, so a connection in their queue is
 * accepted by whichever process accepts first: none is refused. Once it
 * serves it writes to the pipe, and the old one stops accepting and drains.
 * If it dies first, or is not ready in time, the old one goes on serving.
 *
 * Between fork and exec the child may only make async-signal-safe calls:
 * everything it needs (its environment, the descriptors above the range
 * they move to) is prepared before the fork, and it only writes its pid
 * into a slot of that environment. */
#include "handover.h"
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int saved_argc;
static char **saved_argv;
static char exe[PATH_MAX];

void nh_server_run_set_argv(int argc, char **argv) {
  saved_argc = argc;
  saved_argv = argv;
  /* Resolved now: after a binary upgrade, the same path names the new
   * executable, while /proc/self/exe would go on naming the old one. */
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    exe[n] = 0;
  else
    snprintf(exe, sizeof exe, "/proc/self/exe");
}

int nh__handover_enabled(void) { return saved_argv != NULL && saved_argc > 0; }

static int is_ours(const char *var) {
  static const char *const names[] = {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
                                      NH__HANDOVER_READY_ENV "="};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strncmp(var, names[i], strlen(names[i])))
      return 1;
  return 0;
}

/* What the child needs, made before the fork. */
typedef struct plan {
  char **argv, **envp;
  char pid_var[40]; /* "LISTEN_PID=" and room for the child's pid */
  char fds_var[32], ready_var[64];
  char *names_var;
  int src[NH__MAX_LISTENERS]; /* the listeners, above the range they move to */
  int n;
  int ready_w; /* the pipe's write end, as high */
} plan;

static void plan_free(plan *p) {
  for (int i = 0; i < p->n; i++)
    if (p->src[i] >= 0)
      close(p->src[i]);
  if (p->ready_w >= 0)
    close(p->ready_w);
  free(p->argv);
  free(p->envp);
  free(p->names_var);
}

static int plan_make(nh_server *srv, plan *p, int ready_w) {
  memset(p, 0, sizeof *p);
  p->n = srv->nlisteners;
  p->ready_w = -1;
  int above = 3 + p->n + 1; /* the child moves them to 3..3+n */
  for (int i = 0; i < p->n; i++)
    p->src[i] = -1;
  for (int i = 0; i < p->n; i++)
    if ((p->src[i] = fcntl(srv->listeners[i].fd, F_DUPFD_CLOEXEC, above)) < 0)
      return -errno;
  if ((p->ready_w = fcntl(ready_w, F_DUPFD_CLOEXEC, above)) < 0)
    return -errno;
  size_t len = sizeof "LISTEN_FDNAMES=";
  for (int i = 0; i < p->n; i++) {
    const char *name = nh__activation_name(srv->listeners[i].fd);
    len += (name ? strlen(name) : 8) + 1;
  }
  if (!(p->names_var = malloc(len)))
    return NH_ENOMEM;
  strcpy(p->names_var, "LISTEN_FDNAMES=");
  for (int i = 0; i < p->n; i++) {
    const char *name = nh__activation_name(srv->listeners[i].fd);
    if (i)
      strcat(p->names_var, ":");
    strcat(p->names_var, name ? name : "listener");
  }
  snprintf(p->pid_var, sizeof p->pid_var, "LISTEN_PID=");
  snprintf(p->fds_var, sizeof p->fds_var, "LISTEN_FDS=%d", p->n);
  snprintf(p->ready_var, sizeof p->ready_var, NH__HANDOVER_READY_ENV "=%d", 3 + p->n);
  size_t nenv = 0;
  while (environ && environ[nenv])
    nenv++;
  p->argv = calloc((size_t)saved_argc + 1, sizeof *p->argv);
  p->envp = calloc(nenv + 5, sizeof *p->envp);
  if (!p->argv || !p->envp)
    return NH_ENOMEM;
  memcpy(p->argv, saved_argv, (size_t)saved_argc * sizeof *p->argv);
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (!is_ours(environ[i]))
      p->envp[k++] = environ[i];
  p->envp[k++] = p->pid_var;
  p->envp[k++] = p->fds_var;
  p->envp[k++] = p->names_var;
  p->envp[k++] = p->ready_var;
  return NH_OK;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(plan *p) {
  char digits[24];
  int nd = 0;
  for (unsigned long v = (unsigned long)getpid(); v || !nd; v /= 10)
    digits[nd++] = (char)('0' + v % 10);
  char *at = p->pid_var + strlen("LISTEN_PID=");
  while (nd)
    *at++ = digits[--nd];
  *at = 0;
  for (int i = 0; i < p->n; i++)
    if (dup2(p->src[i], 3 + i) < 0) /* dup2 clears close-on-exec */
      _exit(127);
  if (dup2(p->ready_w, 3 + p->n) < 0)
    _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(exe, p->argv, p->envp);
  _exit(127);
}

int nh__handover_start(nh_server *srv, nh__handover *h) {
  int pipefd[2];
  plan p;
  int e = NH_OK;
  if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
    e = -errno;
    NH_LOG(srv->log, NH_LOG_ERROR, "handover: no pipe", NH_LSTR("error", nh_strerror(e)));
    return e;
  }
  if ((e = plan_make(srv, &p, pipefd[1])) == NH_OK) {
    pid_t pid = fork();
    if (pid == 0)
      child_exec(&p);
    if (pid < 0)
      e = -errno;
    else
      h->pid = pid;
  }
  plan_free(&p);
  close(pipefd[1]);
  if (e != NH_OK) {
    close(pipefd[0]);
    NH_LOG(srv->log, NH_LOG_ERROR, "handover: cannot start a new process; still serving",
           NH_LSTR("error", nh_strerror(e)));
    return e;
  }
  h->ready = pipefd[0];
  h->deadline = nh_deadline_after(NH__HANDOVER_READY_TIMEOUT);
  NH_LOG(srv->log, NH_LOG_INFO, "handover: started a new process with the listeners",
         NH_LINT("pid", (long)h->pid), NH_LSTR("exe", exe), NH_LINT("listeners", p.n));
  return NH_OK;
}

/* Reaps the failed child (killing it if it does not end by itself in a
 * moment) and logs how it ended. */
static void reap(nh_server *srv, nh__handover *h, const char *why) {
  int st = 0;
  pid_t got = 0;
  for (int i = 0; i < 200 && (got = waitpid(h->pid, &st, WNOHANG)) == 0; i++)
    usleep(10000);
  if (got == 0) {
    kill(h->pid, SIGKILL);
    got = waitpid(h->pid, &st, 0);
  }
  char how[48] = "unknown";
  if (got == h->pid && WIFEXITED(st))
    snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
  else if (got == h->pid && WIFSIGNALED(st))
    snprintf(how, sizeof how, "signal %s", strsignal(WTERMSIG(st)));
  NH_LOG(srv->log, NH_LOG_ERROR, "handover failed; still serving", NH_LSTR("reason", why),
         NH_LINT("pid", (long)h->pid), NH_LSTR("ended", how));
}

int nh__handover_check(nh_server *srv, nh__handover *h) {
  if (!h->pid)
    return 0;
  char b;
  ssize_t r = read(h->ready, &b, 1);
  int result;
  if (r == 1) {
    NH_LOG(srv->log, NH_LOG_INFO, "handover: the new process serves; stopping",
           NH_LINT("pid", (long)h->pid));
    result = 1;
  } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
    reap(srv, h, "the new process ended before it served");
    result = -1;
  } else if (nh_now() >= h->deadline) {
    kill(h->pid, SIGKILL);
    reap(srv, h, "the new process was not ready in time");
    result = -1;
  } else {
    return 0;
  }
  close(h->ready);
  h->ready = -1;
  h->pid = 0;
  return result;
}
