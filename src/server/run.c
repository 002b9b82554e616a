/* nh_server_run: the production template (listen, serve until SIGINT or
 * SIGTERM, graceful shutdown with a deadline, then force) in one call.
 *
 * Signals may land on any thread, loop threads included, so the handler
 * only writes the signal number to a pipe; the calling thread waits on the
 * pipe. A second signal during the graceful phase forces the close. */
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
  int result;
  nh_wg *done;
} shutdown_job;

static void *shutdown_thread(void *arg) {
  shutdown_job *j = arg;
  j->result = nh_server_shutdown(j->srv, j->deadline);
  nh_wg_done(j->done);
  return NULL;
}

/* Wait for a signal (or the server closing some other way). */
static int wait_signal(nh_server *srv, int timeout_ms) {
  struct pollfd p = {signal_pipe[0], POLLIN, 0};
  for (int waited = 0; timeout_ms < 0 || waited < timeout_ms; waited += 100) {
    if (timeout_ms < 0 && atomic_load(&srv->closed))
      return 0;
    if (poll(&p, 1, 100) > 0) {
      unsigned char b;
      if (read(signal_pipe[0], &b, 1) == 1)
        return b;
    }
  }
  return 0;
}

int nh_server_run(nh_server *srv, const char *addr, nh_dur shutdown_timeout) {
  if (!srv) {
    NH_LOG(NULL, NH_LOG_ERROR, "nh_server_run: no server (did nh_server_new fail?)");
    return NH_EINVAL;
  }
  if (addr && *addr) {
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
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  int result = nh_server_start(srv);
  char where[64] = "";
  nh_server_addr(srv, where, sizeof where);
  if (result == NH_OK) {
    NH_LOG(srv->log, NH_LOG_INFO, "serving", NH_LSTR("addr", where));
    int sig = wait_signal(srv, -1);
    if (sig) {
      NH_LOG(srv->log, NH_LOG_INFO, "shutting down", NH_LSTR("signal", strsignal(sig)),
             NH_LDUR("timeout", shutdown_timeout));
      shutdown_job j = {srv, nh_deadline_after(shutdown_timeout), NH_OK, nh_wg_new()};
      nh_wg_add(j.done, 1);
      pthread_t th;
      pthread_create(&th, NULL, shutdown_thread, &j);
      /* A second signal means "now". */
      while (nh_wg_wait(j.done, nh_deadline_after(100 * NH_MSEC)) == NH_ETIMEDOUT) {
        if (wait_signal(srv, 1)) {
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
  close(signal_pipe[0]);
  close(signal_pipe[1]);
  signal_pipe[0] = signal_pipe[1] = -1;
  return result;
}
