/* nh_server_run: the production template (listen, serve until SIGINT or
 * SIGTERM, graceful shutdown with a deadline, then force) in one call, and
 * the restart without loss on SIGUSR2 (handover.c) once
 * nh_server_run_set_argv gave it the command line.
 *
 * Signals may land on any thread, loop threads included, so the handler
 * only writes the signal number to a pipe; the calling thread waits on the
 * pipe (and on the new process's readiness pipe during a handover). A
 * second SIGINT or SIGTERM during the graceful phase forces the close. */
#include "handover.h"
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t w = write(signal_pipe[1], &b, 1);
  (void)w;
  errno = saved;
}

typedef struct shutdown_job {
  nh_server *srv;
  nh_time deadline;
  int skip_delay; /* no drain delay (a handover) */
  int result;
  nh_wg *done;
} shutdown_job;

static void *shutdown_thread(void *arg) {
  shutdown_job *j = arg;
  j->result = nh__server_shutdown(j->srv, j->deadline, j->skip_delay);
  nh_wg_done(j->done);
  return NULL;
}

/* Waits up to timeout_ms for a signal (returned) or for other_fd (-1:
 * none) to be readable (0 then, as on a timeout). */
static int wait_event(int other_fd, int timeout_ms) {
  struct pollfd p[2] = {{signal_pipe[0], POLLIN, 0}, {other_fd, POLLIN, 0}};
  if (poll(p, other_fd >= 0 ? 2 : 1, timeout_ms) > 0 && (p[0].revents & POLLIN)) {
    unsigned char b;
    if (read(signal_pipe[0], &b, 1) == 1)
      return b;
  }
  return 0;
}

/* Serves until a signal asks to stop (returned), the server is closed some
 * other way (0), or a new process took over after SIGUSR2 (*handed_over). */
static int serve_until_signal(nh_server *srv, int *handed_over) {
  nh__handover h = {0, -1, 0};
  int sig = 0;
  while (!atomic_load(&srv->closed)) {
    sig = wait_event(h.ready, 100);
    if (h.pid && nh__handover_check(srv, &h) == 1) {
      *handed_over = 1;
      return 0;
    }
    if (sig == SIGUSR2) {
      if (h.pid)
        NH_LOG(srv->log, NH_LOG_WARN, "SIGUSR2 ignored: a handover is under way",
               NH_LINT("pid", (long)h.pid));
      else
        nh__handover_start(srv, &h); /* logs the outcome; on failure serving goes on */
      continue;
    }
    if (sig)
      break;
  }
  if (h.pid) { /* stopping while a new process starts: it keeps its sockets */
    NH_LOG(srv->log, NH_LOG_WARN, "stopping during a handover; the new process is left running",
           NH_LINT("pid", (long)h.pid));
    close(h.ready);
  }
  return sig;
}

int nh_server_run(nh_server *srv, const char *addr, nh_dur shutdown_timeout) {
  if (!srv) {
    NH_LOG(NULL, NH_LOG_ERROR, "nh_server_run: no server (did nh_server_new fail?)");
    return NH_EINVAL;
  }
  if (nh_server_handover_child()) {
    /* The old process still listens on addr: serve what it handed over. */
    if (!srv->nlisteners) {
      int e = nh_server_listen_activated(srv, "auto", NULL);
      if (e < 0)
        return e;
    }
  } else if (addr && *addr) {
    int e = nh_server_listen(srv, addr); /* it logs why it could not */
    if (e)
      return e;
  }
  if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    int e = -errno;
    NH_LOG(srv->log, NH_LOG_ERROR, "nh_server_run: no pipe for signals",
           NH_LSTR("error", nh_strerror(e)));
    return e;
  }
  struct sigaction sa, old_int, old_term, old_usr2;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int handover = nh__handover_enabled();
  if (handover)
    sigaction(SIGUSR2, &sa, &old_usr2);

  int result = nh_server_start(srv);
  char where[64] = "";
  nh_server_addr(srv, where, sizeof where);
  if (result == NH_OK) {
    NH_LOG(srv->log, NH_LOG_INFO, "serving", NH_LSTR("addr", where), NH_LINT("pid", (long)getpid()));
    nh__handover_ready(srv->log); /* a process started by a handover: the old one stops */
    int handed_over = 0;
    int sig = serve_until_signal(srv, &handed_over);
    if (sig || handed_over) {
      /* A handover skips the drain delay: the sockets stay open in the new
       * process, so no load balancer has to notice that this one stops. */
      NH_LOG(srv->log, NH_LOG_INFO, "shutting down",
             NH_LSTR("signal", handed_over ? "handover" : strsignal(sig)),
             NH_LDUR("timeout", shutdown_timeout));
      shutdown_job j = {srv, nh_deadline_after(shutdown_timeout), handed_over, NH_OK, nh_wg_new()};
      nh_wg_add(j.done, 1);
      pthread_t th;
      pthread_create(&th, NULL, shutdown_thread, &j);
      /* A second signal means "now". */
      while (nh_wg_wait(j.done, nh_deadline_after(100 * NH_MSEC)) == NH_ETIMEDOUT) {
        int again = wait_event(-1, 1);
        if (again == SIGUSR2) {
          NH_LOG(srv->log, NH_LOG_WARN, "SIGUSR2 ignored: shutting down");
        } else if (again) {
          NH_LOG(srv->log, NH_LOG_WARN, "second signal: closing now");
          nh_server_close(srv);
        }
      }
      pthread_join(th, NULL);
      nh_wg_free(j.done);
      result = j.result;
      if (result == NH_ETIMEDOUT)
        NH_LOG(srv->log, NH_LOG_WARN, "graceful shutdown timed out; connections were forced closed");
      else
        NH_LOG(srv->log, NH_LOG_INFO, "shut down cleanly");
    }
  } else {
    NH_LOG(srv->log, NH_LOG_ERROR, "cannot start serving", NH_LSTR("addr", where),
           NH_LSTR("error", srv->nlisteners ? nh_strerror(result) : "no address to listen on"),
           NH_LSTR("code", nh_err_name(result)));
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (handover) {
    /* SIGUSR2's default ends the process: one arriving while the program
     * finishes after a handover must not turn a clean exit into a kill. */
    if (!(old_usr2.sa_flags & SA_SIGINFO) && old_usr2.sa_handler == SIG_DFL)
      old_usr2.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &old_usr2, NULL);
  }
  close(signal_pipe[0]);
  close(signal_pipe[1]);
  signal_pipe[0] = signal_pipe[1] = -1;
  return result;
}
