/* The I/O thread of an HTTP/2 client connection.
 *
 * Who reads the socket: one plain thread per connection, as Go's
 * Transport has one readLoop goroutine per connection. Callers may be
 * fibers of any loop or plain threads, and a shared connection serves
 * them all at once; an nh_fd belongs to one loop, and a TLS stream cannot
 * be read on one thread while written on another. So the socket (and its
 * TLS) belong to this thread alone, which polls it with plain poll(2)
 * beside an eventfd that callers write to when they queued output (a new
 * stream, body bytes, a WINDOW_UPDATE after a read, a reset): one write
 * per wait of the thread (the kicked flag), however many callers queued
 * meanwhile; the thread gathers all streams' frames into one buffer and
 * writes it at once, and one read feeds every stream it carries. Rejected:
 * a reader elected among waiting callers, which would move the descriptor
 * between loops on every hand-over and leave nobody reading (no PING
 * answered, no GOAWAY seen) while no caller waits.
 *
 * The lock: the nghttp2 session is guarded by one nh_mutex (it parks a
 * fiber, blocks a thread), held here only around nghttp2 calls, never
 * across a system call. Callers wait on their stream's semaphore, which
 * the callbacks post while this thread feeds the session.
 *
 * The cost: each request crosses threads (caller -> eventfd -> this
 * thread -> the caller's semaphore, a loop inbox for a fiber), and with
 * many connections on one core the threads' context switches and the
 * lock's futex calls are most of a request's CPU. The way on: run this
 * loop as a fiber of the dialing loop when the dialer is a fiber (the
 * descriptor stays in that loop's epoll, callers on other loops hand off
 * through the runtime's cross-loop wake), keeping the thread for
 * connections dialed from plain threads.
 *
 * Dead peers: with read_idle set, a connection that received nothing for
 * that long sends a PING; nothing at all received within ping_timeout
 * after it ends the connection, and every stream on it fails (Go's
 * ReadIdleTimeout and PingTimeout). */
#include "h2_client_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "nethttp/errors.h"

#define OUT_MAX (64 * 1024) /* output gathered before it is written */
#define READ_BUF 16384
#define READS_PER_TURN 8    /* then output (SETTINGS ACK, WINDOW_UPDATE) gets a turn */

/* One eventfd write per wait of the I/O thread, not one per caller: the
 * thread clears kicked before it gathers output, so a caller that finds it
 * set knows its output will be gathered without another write. */
void nh__h2c_kick(nh__h2c *c) {
  if (atomic_exchange(&c->kicked, 1))
    return;
  uint64_t one = 1;
  ssize_t r;
  do
    r = write(c->evfd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
}

typedef struct io_state {
  nh__h2c *c;
  char *out;
  size_t outlen, outpos;
  int blocked; /* output is waiting for the socket */
  nh_time last_read, ping_sent; /* ping_sent: 0 when none is outstanding */
} io_state;

/* Gathers nghttp2's output (mu held). 0 or an NH error. */
static int gather(io_state *st) {
  nh__h2c *c = st->c;
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
static int flush(io_state *st) {
  nh__h2c *c = st->c;
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
static int feed(io_state *st, char *buf) {
  nh__h2c *c = st->c;
  int got = 0;
  for (int i = 0; i < READS_PER_TURN; i++) {
    ssize_t n = c->io.try_read(c->io.arg, buf, READ_BUF);
    if (n == NH_EAGAIN)
      break;
    if (n == 0)
      return NH_ECONNRESET; /* the peer closed */
    if (n < 0)
      return (int)n;
    got = 1;
    nh_mutex_lock(c->mu);
    ssize_t r = nghttp2_session_mem_recv(c->ss, (const uint8_t *)buf, (size_t)n);
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

/* Milliseconds poll may sleep before the PING logic has work: -1 none. */
static int poll_timeout(const io_state *st, nh_time now) {
  const nh__h2c_config *cfg = &st->c->cfg;
  nh_time at;
  if (st->ping_sent)
    at = st->ping_sent + cfg->ping_timeout;
  else if (cfg->read_idle > 0)
    at = st->last_read + cfg->read_idle;
  else
    return -1;
  if (at <= now)
    return 0;
  nh_dur ms = (at - now + NH_MSEC - 1) / NH_MSEC;
  return ms > 60000 ? 60000 : (int)ms;
}

/* The health check after a quiet spell: PING, or give up. 0 or
 * NH_ETIMEDOUT. */
static int health(io_state *st, nh_time now) {
  nh__h2c *c = st->c;
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

void *nh__h2c_io_main(void *arg) {
  nh__h2c *c = arg;
  io_state st = {.c = c, .last_read = nh_now()};
  char *buf = malloc(READ_BUF);
  st.out = malloc(OUT_MAX + 16384 + 64);
  int err = buf && st.out ? NH_OK : NH_ENOMEM;
  while (!err) {
    nh_mutex_lock(c->mu);
    int stop = c->stop;
    if (!stop && !st.blocked) /* a blocked TLS write is retried with the same bytes */
      err = gather(&st);
    int want = nghttp2_session_want_read(c->ss) || nghttp2_session_want_write(c->ss);
    nh_mutex_unlock(c->mu);
    if (stop || err)
      break;
    int blocked = flush(&st);
    if (blocked < 0) {
      /* What the peer sent before it went away (a TLS alert, a GOAWAY)
       * may still be read, and says more than the failed write. */
      int why = feed(&st, buf);
      err = why < 0 && why != NH_ECONNRESET ? why : blocked;
      break;
    }
    st.blocked = blocked;
    if (!want && !blocked) { /* GOAWAY both ways and no stream left */
      err = NH_ECONNRESET;
      break;
    }
    int got = feed(&st, buf);
    if (got < 0) {
      err = got;
      break;
    }
    if (got)
      continue; /* answers to send, and maybe more to read */
    if (!blocked) { /* the reads may have queued answers */
      nh_mutex_lock(c->mu);
      err = gather(&st);
      nh_mutex_unlock(c->mu);
      if (err)
        break;
      if (st.outlen)
        continue;
    }
    struct pollfd p[2] = {{.fd = c->io.fd, .events = POLLIN | (blocked ? POLLOUT : 0)},
                          {.fd = c->evfd, .events = POLLIN}};
    int r = poll(p, 2, poll_timeout(&st, nh_now()));
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
    err = health(&st, nh_now());
  }
  if (err == NH_EBADRESPONSE && st.out && !st.blocked) {
    /* nghttp2 queued a GOAWAY for the protocol error: one try to tell the
     * peer why the connection ends. */
    nh_mutex_lock(c->mu);
    int e = gather(&st);
    nh_mutex_unlock(c->mu);
    if (!e)
      flush(&st);
  }
  nh_mutex_lock(c->mu);
  if (!c->stop)
    nh__h2c_fail_all(c, err ? err : NH_ECONNRESET);
  else
    atomic_store(&c->dead, 1);
  nh_mutex_unlock(c->mu);
  free(buf);
  free(st.out);
  return NULL;
}
