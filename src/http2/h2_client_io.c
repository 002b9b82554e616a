/* The I/O side of an HTTP/2 client connection: a fiber on the loop that
 * dialed it, or a thread when a plain thread dialed.
 *
 * Who reads the socket: one reader per connection, as Go's Transport has
 * one readLoop goroutine per connection. Callers may be fibers of any
 * loop or plain threads, and a shared connection serves them all at once;
 * an nh_fd belongs to one loop, and a TLS stream cannot be read on one
 * thread while written on another, so the socket (and its TLS) belong to
 * the I/O side alone. Rejected: a reader elected among waiting callers,
 * which would move the descriptor between loops on every hand-over.
 *
 * The fiber (the dialer was a fiber): it runs on the dialing loop, where
 * the descriptor stays in the loop's epoll. Callers on that loop reach it
 * without leaving the thread: a caller queues its frames in the session
 * and releases the fiber's semaphore (once per wait of the fiber: the
 * kicked flag), the fiber gathers every stream's frames into one buffer
 * and writes them at once, and one read feeds all the streams it carries,
 * their callers woken on their semaphores (made runnable directly, or
 * through the runtime's cross-loop wake for fibers of other loops and
 * threads). Waiting, the fiber parks on its semaphore with
 * nh_fd_on_readable set to release it. It ends when the connection has
 * no stream and nothing to send, so that nh_runtime_free never waits on
 * an idle connection, and the next kick starts it again; what came while
 * nobody read (a GOAWAY, the peer's close) is read before the new
 * streams' HEADERS go, so they count as never sent and are retried
 * elsewhere. An idle connection is therefore not PINGed.
 *
 * The thread (the dialer was a plain thread): it polls the socket with
 * poll(2) beside an eventfd that callers write to (once per wait, as
 * above), and lives as long as the connection.
 *
 * The lock: the nghttp2 session is guarded by one nh_mutex (it parks a
 * fiber, blocks a thread), held here only around nghttp2 calls, never
 * across a system call. Callers wait on their stream's semaphore, which
 * the callbacks post while the I/O side feeds the session.
 *
 * Dead peers: with read_idle set, a connection with streams that received
 * nothing for that long sends a PING; nothing at all received within
 * ping_timeout after it ends the connection, and every stream on it fails
 * (Go's ReadIdleTimeout and PingTimeout). */
#include "h2_client_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "nethttp/errors.h"
#include "nethttp/netpoll.h"
#include "runtime/internal.h"

#define OUT_MAX (64 * 1024) /* output gathered before it is written */
#define READ_BUF 16384
#define READS_PER_TURN 8    /* then output (SETTINGS ACK, WINDOW_UPDATE) gets a turn */
#define BLOCKED_RECHECK (100 * NH_MSEC) /* a fiber waiting to write looks at stop this often */

/* Gathers nghttp2's output (mu held). 0 or an NH error. */
static int gather(nh__h2c *c) {
  nh__h2c_iost *st = &c->st;
  while (st->outlen < OUT_MAX) {
    const uint8_t *p;
    ssize_t n = nghttp2_session_mem_send(c->ss, &p);
    if (n < 0)
      return NH_EBADRESPONSE;
    if (n == 0)
      break;
    if (st->outlen + (size_t)n > OUT_MAX + 16384 + 64) { /* keep the buffer bounded */
      char *grown = realloc(st->out, st->outlen + (size_t)n);
      if (!grown)
        return NH_ENOMEM;
      st->out = grown;
    }
    memcpy(st->out + st->outlen, p, (size_t)n);
    st->outlen += (size_t)n;
  }
  return NH_OK;
}

/* Writes what was gathered: 1 when some is left (socket full), 0, or an
 * error. */
static int flush(nh__h2c *c) {
  nh__h2c_iost *st = &c->st;
  while (st->outpos < st->outlen) {
    ssize_t w = c->io.try_write(c->io.arg, st->out + st->outpos, st->outlen - st->outpos);
    if (w == NH_EAGAIN || w == 0)
      return 1;
    if (w < 0)
      return (int)w;
    st->outpos += (size_t)w;
  }
  st->outpos = st->outlen = 0;
  return 0;
}

/* Reads and feeds the session: 1 if bytes came, 0 if none, or an error
 * (NH_ECONNRESET at EOF). */
static int feed(nh__h2c *c) {
  nh__h2c_iost *st = &c->st;
  int got = 0;
  for (int i = 0; i < READS_PER_TURN; i++) {
    ssize_t n = c->io.try_read(c->io.arg, st->in, READ_BUF);
    if (n == NH_EAGAIN)
      break;
    if (n == 0)
      return NH_ECONNRESET; /* the peer closed */
    if (n < 0)
      return (int)n;
    got = 1;
    nh_mutex_lock(c->mu);
    ssize_t r = nghttp2_session_mem_recv(c->ss, (const uint8_t *)st->in, (size_t)n);
    nh_mutex_unlock(c->mu);
    if (r < 0)
      return NH_EBADRESPONSE; /* nghttp2 queued GOAWAY; the connection ends */
  }
  if (got) {
    st->last_read = nh_now();
    st->ping_sent = 0; /* any frame proves the peer alive */
  }
  return got;
}

/* When the PING logic next has work: NH_NO_DEADLINE for never. */
static nh_time health_due(const nh__h2c *c) {
  if (c->st.ping_sent)
    return c->st.ping_sent + c->cfg.ping_timeout;
  if (c->cfg.read_idle > 0)
    return c->st.last_read + c->cfg.read_idle;
  return NH_NO_DEADLINE;
}

/* Milliseconds poll may sleep before the PING logic has work: -1 none. */
static int poll_timeout(const nh__h2c *c, nh_time now) {
  nh_time at = health_due(c);
  if (at == NH_NO_DEADLINE)
    return -1;
  if (at <= now)
    return 0;
  nh_dur ms = (at - now + NH_MSEC - 1) / NH_MSEC;
  return ms > 60000 ? 60000 : (int)ms;
}

/* The health check after a quiet spell: PING, or give up. 0 or
 * NH_ETIMEDOUT. */
static int health(nh__h2c *c, nh_time now) {
  nh__h2c_iost *st = &c->st;
  if (st->ping_sent) {
    if (now - st->ping_sent >= c->cfg.ping_timeout)
      return NH_ETIMEDOUT;
    return NH_OK;
  }
  if (c->cfg.read_idle > 0 && now - st->last_read >= c->cfg.read_idle) {
    nh_mutex_lock(c->mu);
    nghttp2_submit_ping(c->ss, NGHTTP2_FLAG_NONE, NULL);
    nh_mutex_unlock(c->mu);
    st->ping_sent = now;
  }
  return NH_OK;
}

/* One turn: output gathered and written, input read and fed. 1: wait for
 * the socket or a kick; 0: go on at once; 2: the connection is idle (mu
 * is then held, for the caller to stop under it); or an error (the
 * connection ends). */
static int turn(nh__h2c *c, int idle_ends) {
  nh__h2c_iost *st = &c->st;
  nh_mutex_lock(c->mu);
  int stop = c->stop, err = NH_OK;
  if (!stop && !st->blocked) /* a blocked TLS write is retried with the same bytes */
    err = gather(c);
  int want = nghttp2_session_want_read(c->ss) || nghttp2_session_want_write(c->ss);
  if (idle_ends && !stop && !err && !c->streams && !st->outlen)
    return 2;
  nh_mutex_unlock(c->mu);
  if (stop)
    return NH_ECANCELED;
  if (err)
    return err;
  int blocked = flush(c);
  if (blocked < 0) {
    /* What the peer sent before it went away (a TLS alert, a GOAWAY) may
     * still be read, and says more than the failed write. */
    int why = feed(c);
    return why < 0 && why != NH_ECONNRESET ? why : blocked;
  }
  st->blocked = blocked;
  if (!want && !blocked) /* GOAWAY both ways and no stream left */
    return NH_ECONNRESET;
  int got = feed(c);
  if (got < 0)
    return got;
  if (got)
    return 0; /* answers to send, and maybe more to read */
  if (!blocked) { /* the reads may have queued answers */
    nh_mutex_lock(c->mu);
    err = gather(c);
    nh_mutex_unlock(c->mu);
    if (err)
      return err;
    if (st->outlen)
      return 0;
  }
  return 1;
}

/* The connection ends with err (NH_ECANCELED: asked to stop). */
static void end(nh__h2c *c, int err) {
  nh__h2c_iost *st = &c->st;
  if (err == NH_EBADRESPONSE && !st->blocked) {
    /* nghttp2 queued a GOAWAY for the protocol error: one try to tell the
     * peer why the connection ends. */
    nh_mutex_lock(c->mu);
    int e = gather(c);
    nh_mutex_unlock(c->mu);
    if (!e)
      flush(c);
  }
  nh_mutex_lock(c->mu);
  if (!c->stop)
    nh__h2c_fail_all(c, err && err != NH_ECANCELED ? err : NH_ECONNRESET);
  else
    atomic_store(&c->dead, 1);
}

/* ---- the thread ---- */

static void *thread_main(void *arg) {
  nh__h2c *c = arg;
  int err;
  while ((err = turn(c, 0)) >= 0) {
    if (err == 0)
      continue;
    struct pollfd p[2] = {{.fd = c->io.fd, .events = POLLIN | (c->st.blocked ? POLLOUT : 0)},
                          {.fd = c->evfd, .events = POLLIN}};
    int r = poll(p, 2, poll_timeout(c, nh_now()));
    if (r < 0 && errno != EINTR) {
      err = -errno;
      break;
    }
    if (p[1].revents & POLLIN) {
      uint64_t v;
      ssize_t n = read(c->evfd, &v, sizeof v);
      (void)n;
      atomic_store(&c->kicked, 0); /* before the next gather: see nh__h2c_kick */
    }
    if ((err = health(c, nh_now())) != NH_OK)
      break;
  }
  end(c, err);
  nh_mutex_unlock(c->mu);
  return NULL;
}

/* ---- the fiber ---- */

static void on_readable(nh_fd *f, void *arg) {
  (void)f;
  nh_sem_release(((nh__h2c *)arg)->wake);
}

static void fiber_main(void *arg) {
  nh__h2c *c = arg;
  nh__h2c_iost *st = &c->st;
  nh_fiber_set_label("HTTP/2 client connection");
  /* What came while nobody read, before any new stream's HEADERS go. */
  int err = feed(c);
  if (err > 0)
    err = NH_OK;
  st->ping_sent = 0; /* nobody read while idle: the quiet spell counts from now */
  st->last_read = nh_now();
  while (err >= 0) {
    atomic_store(&c->kicked, 0); /* before the gather: see nh__h2c_kick */
    err = turn(c, 1);
    if (err == 2) { /* idle (mu held): end until the next kick */
      /* A kick that came after the store above found the fiber running
       * and only released wake; left set, kicked would swallow the next
       * caller's kick, the one that must start the fiber again. */
      atomic_store(&c->kicked, 0);
      c->running = 0;
      nh_mutex_unlock(c->mu);
      return;
    }
    if (err == 0)
      continue;
    if (err < 0)
      break;
    nh_time due = health_due(c);
    if (st->blocked) {
      nh_time recheck = nh_deadline_after(BLOCKED_RECHECK);
      int e = nh_fd_wait(c->io.nfd, NH_FD_READ | NH_FD_WRITE, due < recheck ? due : recheck);
      if (e && e != NH_ETIMEDOUT) {
        err = e;
        break;
      }
    } else {
      nh_fd_on_readable(c->io.nfd, on_readable, c);
      nh_sem_acquire(c->wake, due);
      nh_fd_on_readable(c->io.nfd, NULL, NULL);
    }
    err = health(c, nh_now());
  }
  end(c, err);
  c->running = 0;
  int waits = c->free_waits;
  nh_mutex_unlock(c->mu);
  if (waits)
    nh_sem_release(c->done); /* the last touch of c: nh__h2c_free goes on */
}

/* Starts the fiber (mu held, running was 0). A connection left in a pool
 * may outlive its loop, and be taken up by a plain thread: the loop gone,
 * so is the connection. A runtime being freed still runs it while the
 * loop has fibers (callers on it finishing their requests). */
static int fiber_start(nh__h2c *c) {
  int e = nh__runtime_go_by_id(c->rt_id, c->loop, fiber_main, c);
  if (!e)
    c->running = 1;
  return e == NH_ESHUTDOWN ? NH_ECONNRESET : e;
}

/* ---- both ---- */

void nh__h2c_kick(nh__h2c *c) {
  /* One wake per wait of the I/O side, not one per caller: it clears
   * kicked before it gathers output, so a caller that finds it set knows
   * its output will be gathered without another wake. */
  if (atomic_exchange(&c->kicked, 1))
    return;
  if (!c->io.nfd) {
    uint64_t one = 1;
    ssize_t r;
    do
      r = write(c->evfd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    return;
  }
  nh_mutex_lock(c->mu);
  int idle = !c->running && !c->stop && !atomic_load(&c->dead);
  int e = idle ? fiber_start(c) : NH_OK;
  if (e)
    nh__h2c_fail_all(c, e); /* streams whose HEADERS never left go elsewhere */
  nh_mutex_unlock(c->mu);
  if (!idle)
    nh_sem_release(c->wake);
}

int nh__h2c_io_start(nh__h2c *c) {
  nh__h2c_iost *st = &c->st;
  st->last_read = nh_now();
  if (!(st->in = malloc(READ_BUF)) || !(st->out = malloc(OUT_MAX + 16384 + 64)))
    return NH_ENOMEM;
  if (c->io.nfd) {
    nh_loop *l = nh__loop_current();
    if (!l)
      return NH_EINVAL;
    c->rt_id = l->rt->live_id;
    c->loop = l->index;
    if ( !(c->wake = nh_sem_new(0)) || !(c->done = nh_sem_new(0)))
      return NH_ENOMEM;
    nh_mutex_lock(c->mu);
    int e = fiber_start(c);
    nh_mutex_unlock(c->mu);
    return e;
  }
  if ((c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
    return -errno;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 256 * 1024);
  int e = -pthread_create(&c->th, &at, thread_main, c);
  pthread_attr_destroy(&at);
  if (e)
    return e;
  c->running = 1;
  return NH_OK;
}

void nh__h2c_io_stop(nh__h2c *c) {
  nh_mutex_lock(c->mu);
  c->stop = 1;
  int running = c->running;
  if (c->io.nfd)
    c->free_waits = running;
  nh_mutex_unlock(c->mu);
  if (!running)
    return;
  if (!c->io.nfd) {
    atomic_store(&c->kicked, 0);
    nh__h2c_kick(c);
    pthread_join(c->th, NULL);
    return;
  }
  nh_sem_release(c->wake);
  nh_sem_acquire(c->done, NH_NO_DEADLINE);
  /* Passes through the semaphore's lock: the fiber's release has left it
   * before the semaphore is freed. */
  nh_sem_try_acquire(c->done);
}

void nh__h2c_io_free(nh__h2c *c) {
  if (c->evfd >= 0)
    close(c->evfd);
  nh_sem_free(c->wake);
  nh_sem_free(c->done);
  free(c->st.in);
  free(c->st.out);
}
