/* An HTTP/2 server connection's fiber: the only code that touches its
 * nghttp2 session.
 *
 *   loop: stream work (heads, 1xx, resumed DATA, consumed body bytes,
 *   resets, queued streams started) -> nghttp2_session_mem_send, frames
 *   batched into one write -> one read from the socket (plain or TLS) ->
 *   nghttp2_session_mem_recv, whose callbacks (h2_server_recv.c) open
 *   streams, gather their headers and body bytes and start their handler
 *   fibers -> when there is nothing to read and nothing to do, park until
 *   the socket is readable, a stream fiber kicks, or a deadline (preface,
 *   SETTINGS ack, idle, shutdown) comes.
 *
 * A stream's state outlives nghttp2's stream when its handler still runs
 * (a reset does not stop a handler), and the handler's slot outlives it
 * too: that is the rapid-reset defence. The connection's fiber returns
 * only after every stream fiber has. */
#include "http2/h2_server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"

#define RBUF 16384
#define WBUF 65536


void nh__h2_conn_wake(nh__h2_conn *c) {
  c->kicked = 1;
  if (c->parked)
    nh__waiter_wake(&c->w, 0);
}

void nh__h2_conn_kick(nh__h2_conn *c) {
  if (c)
    nh__h2_conn_wake(c);
}

void nh__h2_stream_kick(nh__h2_sstream *s) {
  nh__h2_conn *c = s->c;
  if (!s->in_work) {
    s->in_work = 1;
    nh__list_push_back(&c->work, &s->work_node);
  }
  nh__h2_conn_wake(c);
}

/* ---- stream structs, reused ----
 *
 * A stream's struct, its buffers (request head, fields, response head and
 * a small body buffer) and its context, when nothing else holds it, go to
 * the connection's spares for its next stream: a hello-world request
 * costs about as much as the mallocs and frees they replace. At most
 * SPARE_STREAMS are kept, and only buffers of the usual sizes: a busy
 * connection keeps some 8 KiB per spare. */
#define SPARE_STREAMS 16
#define KEEP_HBUF 2048
#define KEEP_FIELDS 32
#define KEEP_NVMEM 2048
#define KEEP_OBUF 4096

nh__h2_sstream *nh__h2_stream_new(nh__h2_conn *c) {
  nh__h2_sstream *s = c->spare;
  if (s) {
    c->spare = s->next_spare;
    c->nspare--;
    s->next_spare = NULL;
  } else if (!(s = calloc(1, sizeof *s))) {
    return NULL;
  }
  s->c = c;
  s->pub.base.ops = &nh__h2_ops;
  s->pub.owner = c->owner;
  s->pub.remote = c->remote;
  s->method = s->path = s->authority = s->scheme = s->protocol = -1;
  s->interim_tail = &s->interim;
  c->nstreams++;
  nh__list_push_back(&c->all, &s->all_node);
  return s;
}

/* Drop what s's next user must not see or what is too big to keep;
 * 1 if the rest may be kept. */
static int stream_keepable(nh__h2_sstream *s) {
  free(s->ibuf);
  if (s->hcap > KEEP_HBUF) {
    free(s->hbuf);
    s->hbuf = NULL;
    s->hcap = 0;
  }
  if (s->fcap > KEEP_FIELDS) {
    free(s->fields);
    s->fields = NULL;
    s->fcap = 0;
  }
  if (s->nvmemcap > KEEP_NVMEM) {
    free(s->nvmem);
    s->nvmem = NULL;
    s->nvmemcap = 0;
  }
  if (s->ocap > KEEP_OBUF) {
    free(s->obuf);
    s->obuf = NULL;
    s->ocap = 0;
  }
  /* A context reset, cancelled or still held elsewhere is not reused. */
  if (s->pub.ctx && !nh__ctx_reusable(s->pub.ctx)) {
    nh_ctx_free(s->pub.ctx);
    s->pub.ctx = NULL;
  }
  return s->c->nspare < SPARE_STREAMS && !s->c->dead;
}

/* The struct zeroed but for the buffers and context it keeps. */
static void stream_clear(nh__h2_sstream *s) {
  char *hbuf = s->hbuf, *obuf = s->obuf;
  size_t hcap = s->hcap, ocap = s->ocap, nvmemcap = s->nvmemcap;
  nh__h2_field *fields = s->fields;
  uint32_t fcap = s->fcap;
  void *nvmem = s->nvmem;
  nh_ctx *ctx = s->pub.ctx;
  memset(s, 0, sizeof *s);
  s->hbuf = hbuf, s->hcap = hcap;
  s->obuf = obuf, s->ocap = ocap;
  s->fields = fields, s->fcap = fcap;
  s->nvmem = nvmem, s->nvmemcap = nvmemcap;
  s->pub.ctx = ctx;
}

static void stream_dispose(nh__h2_sstream *s) {
  nh_ctx_free(s->pub.ctx);
  free(s->hbuf);
  free(s->fields);
  free(s->ibuf);
  free(s->obuf);
  free(s->nvmem);
  free(s);
}

void nh__h2_stream_free(nh__h2_sstream *s) {
  nh__h2_conn *c = s->c;
  if (s->in_work)
    nh__list_remove(&s->work_node);
  if (s->in_queue) {
    nh__list_remove(&s->queue_node);
    c->nqueued--;
  }
  nh__list_remove(&s->all_node);
  if (c->hs == s)
    c->hs = NULL;
  nh__h2_interim *i = s->interim;
  while (i) {
    nh__h2_interim *n = i->next;
    free(i->nva);
    free(i);
    i = n;
  }
  if (s->draining)
    c->ndraining--;
  free(s->tnva); /* trailers are rare: their buffers are not kept */
  free(s->tbuf);
  s->tnva = NULL;
  s->tbuf = NULL;
  c->nstreams--;
  if (!stream_keepable(s)) {
    s->ibuf = NULL;
    stream_dispose(s);
    return;
  }
  stream_clear(s);
  s->next_spare = c->spare;
  c->spare = s;
  c->nspare++;
}

void nh__h2_stream_maybe_free(nh__h2_sstream *s) {
  if (!s->in_session && !s->fiber_alive)
    nh__h2_stream_free(s);
}

/* ---- handler slots ---- */

void nh__h2_stream_start(nh__h2_conn *c, nh__h2_sstream *s) {
  s->started = s->fiber_alive = 1;
  if (c->running++ == 0) {
    c->idle_since = 0;
    c->host->activity(c->owner, 1);
  }
  if (nh__fiber_spawn(c->loop, nh__h2_stream_main, s) != NH_OK) {
    s->fiber_alive = 0;
    if (--c->running == 0) {
      c->idle_since = nh__loop_time(c->loop);
      c->host->activity(c->owner, 0);
    }
    s->rst_pending = 1;
    s->rst_code = NGHTTP2_REFUSED_STREAM;
    nh__h2_stream_kick(s);
  }
}

/* The handler fiber of s returned (or died): its slot frees. */
void nh__h2_stream_fiber_done(nh__h2_stream *pub) {
  nh__h2_sstream *s = SS(pub);
  nh__h2_conn *c = s->c;
  s->fiber_alive = 0;
  if (--c->running == 0) {
    c->idle_since = nh__loop_time(c->loop);
    c->host->activity(c->owner, 0);
  }
  nh__h2_conn_wake(c); /* a queued stream may start, or the end be near */
  nh__h2_stream_maybe_free(s);
}

static void start_queued(nh__h2_conn *c) {
  while (c->nqueued && c->running < c->host->cfg.max_concurrent_streams && !c->dead) {
    nh__h2_sstream *s = nh__container_of(nh__list_first(&c->queue), nh__h2_sstream, queue_node);
    nh__list_remove(&s->queue_node);
    s->in_queue = 0;
    c->nqueued--;
    if (s->closed) /* reset while it waited: it held its place till now */
      nh__h2_stream_maybe_free(s);
    else
      nh__h2_stream_start(c, s);
  }
}

/* ---- stream work, on the connection's fiber ---- */

nghttp2_data_provider nh__h2_provider(nh__h2_sstream *s) {
  nghttp2_data_provider p;
  p.source.ptr = s;
  p.read_callback = nh__h2_data_read;
  return p;
}

static void do_work(nh__h2_conn *c) {
  nh__list *n;
  while ((n = nh__list_first(&c->work))) {
    nh__list_remove(n);
    nh__h2_sstream *s = nh__container_of(n, nh__h2_sstream, work_node);
    s->in_work = 0;
    if (!s->in_session || c->dead)
      continue;
    int32_t id = s->pub.id;
    if (s->consumed) {
      nghttp2_session_consume(c->ng, id, s->consumed);
      s->consumed = 0;
    }
    if (s->rst_pending) {
      s->rst_pending = 0;
      s->head_pending = 0;
      nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, id, s->rst_code);
      continue;
    }
    for (nh__h2_interim *i = s->interim; i; i = s->interim) {
      s->interim = i->next;
      nghttp2_submit_headers(c->ng, NGHTTP2_FLAG_NONE, id, NULL, i->nva, i->nnv, NULL);
      free(i->nva); /* nghttp2 copied it */
      free(i);
    }
    s->interim_tail = &s->interim;
    if (s->head_pending) {
      s->head_pending = 0;
      nghttp2_data_provider p = nh__h2_provider(s);
      nghttp2_submit_response(c->ng, id, s->nva, s->nnv, s->has_body ? &p : NULL);
      s->nva = NULL; /* nghttp2 copied the array; the fields stay in nvmem */
    } else if (s->deferred && (s->olen > s->ooff || s->out_end)) {
      s->deferred = 0;
      nghttp2_session_resume_data(c->ng, id);
    }
  }
  start_queued(c);
}

/* ---- shutdown ---- */

/* RFC 9113 6.8: first a GOAWAY naming the highest stream ID, so requests
 * in flight are not lost, and a PING; the final GOAWAY when the PING comes
 * back (a round trip: the client has seen the first) or after 1 s. */
static void start_shutdown(nh__h2_conn *c) {
  c->shutdown_phase = 1;
  nghttp2_submit_shutdown_notice(c->ng); /* the PING follows it: on_frame_send */
  c->final_goaway_at = nh__loop_deadline(c->loop, NH_SEC);
}

/* The final GOAWAY goes out as bytes of our own, not through nghttp2, so
 * that nghttp2 still reports streams opened after it: they are refused
 * with RST_STREAM REFUSED_STREAM rather than silently dropped. */
void nh__h2_final_goaway(nh__h2_conn *c) {
  c->shutdown_phase = 2;
  c->goaway_last = nghttp2_session_get_last_proc_stream_id(c->ng);
  uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
  uint32_t last = (uint32_t)c->goaway_last;
  f[9] = (uint8_t)(last >> 24);
  f[10] = (uint8_t)(last >> 16);
  f[11] = (uint8_t)(last >> 8);
  f[12] = (uint8_t)last;
  /* error code NO_ERROR: bytes 13..16 stay 0 */
  if (nh__h2_out_put(c, f, sizeof f) != NH_OK)
    c->dead = 1;
}

/* ---- waiting ---- */

static void on_readable(nh_fd *f, void *arg) {
  (void)f;
  nh__h2_conn_wake(arg);
}

/* The earliest of the connection's deadlines. */
static nh_time next_deadline(nh__h2_conn *c) {
  nh_time d = NH_NO_DEADLINE;
  if (c->preface_deadline && c->preface_deadline < d)
    d = c->preface_deadline;
  if (c->settings_deadline && c->settings_deadline < d)
    d = c->settings_deadline;
  if (c->idle_since && c->host->idle_timeout >= 0 && !c->nqueued && c->nstreams == c->ndraining) {
    nh_time t = c->idle_since + c->host->idle_timeout;
    if (t < d)
      d = t;
  }
  if (c->shutdown_phase == 1 && c->final_goaway_at < d)
    d = c->final_goaway_at;
  nh_time w = nh__h2_out_deadline(c);
  return w < d ? w : d;
}

/* Deadlines that passed: 1 if the connection must end. */
static int check_deadlines(nh__h2_conn *c) {
  nh_time now = nh__loop_time(c->loop);
  if ((c->preface_deadline && now >= c->preface_deadline) ||
      (c->settings_deadline && now >= c->settings_deadline)) {
    c->host->count(c->host, NH__H2_EV_TIMEOUT_PREFACE);
    c->host->close_why(c->owner, NH_CLOSE_TIMEOUT_HEADER);
    NH_LOG(c->host->log, NH_LOG_DEBUG, "HTTP/2 client too slow with its preface or SETTINGS",
           NH_LSTR("remote", c->remote));
    nghttp2_session_terminate_session(c->ng, c->preface_deadline ? NGHTTP2_PROTOCOL_ERROR
                                                                 : NGHTTP2_SETTINGS_TIMEOUT);
    return 1;
  }
  if (c->idle_since && c->host->idle_timeout >= 0 && !c->nqueued && c->nstreams == c->ndraining &&
      now >= c->idle_since + c->host->idle_timeout) {
    c->host->count(c->host, NH__H2_EV_TIMEOUT_IDLE);
    c->host->close_why(c->owner, NH_CLOSE_TIMEOUT_IDLE);
    nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
    return 1;
  }
  if (c->shutdown_phase == 1 && now >= c->final_goaway_at)
    nh__h2_final_goaway(c);
  if (now >= nh__h2_out_deadline(c)) { /* our frames did not move */
    c->host->count(c->host, NH__H2_EV_TIMEOUT_WRITE);
    c->host->close_why(c->owner, NH_CLOSE_TIMEOUT_WRITE);
    return 1;
  }
  return 0;
}


/* What the client sent next, or NH_EAGAIN. A plain socket that filled
 * less than the buffer was emptied, and (its epoll edge-triggered) any
 * byte since would have left an edge: without one, reading again would
 * only say NH_EAGAIN, a system call per batch of requests for nothing.
 * TLS may hold decrypted bytes past a short read: it always reads. */
static ssize_t read_input(nh__h2_conn *c) {
  if (c->drained && !nh_fd_read_pending(c->io->fd))
    return NH_EAGAIN;
  ssize_t n = nh__stream_try_read(c->io, c->rbuf, RBUF);
  c->drained = n > 0 && (size_t)n < RBUF && !c->io->tls;
  return n;
}

/* The connection is over: every handler is told (its context cancelled,
 * its parked read or write woken) and waited for. */
static void drain_streams(nh__h2_conn *c) {
  /* Streams nghttp2 still holds: close them here (their fibers see it). */
  nh__list *n;
  while ((n = nh__list_first(&c->queue))) {
    nh__h2_sstream *s = nh__container_of(n, nh__h2_sstream, queue_node);
    nh__list_remove(n);
    s->in_queue = 0;
    c->nqueued--;
    s->in_session = 0;
    nghttp2_session_set_stream_user_data(c->ng, s->pub.id, NULL);
    nh__h2_stream_free(s);
  }
  nh_ctx_cancel(c->ctx);
  /* A handler that swapped its context for its own still gets out of a
   * parked read or write (the connection is dead: they fail). */
  nh__list *it;
  for (it = c->all.next; it != &c->all; it = it->next) {
    nh__h2_sstream *s = nh__container_of(it, nh__h2_sstream, all_node);
    nh__h2_stream_wake_reader(s);
    nh__h2_stream_wake_writer(s);
  }
  while (c->running) {
    c->kicked = 0;
    nh__waiter_init(&c->w);
    c->parked = 1;
    nh__waiter_park(&c->w, "HTTP/2 connection: waiting for its handlers", NH_NO_DEADLINE,
                    nh_ctx_background());
    c->parked = 0;
  }
}

int nh__h2_serve(const nh__h2_host *h, nh__stream *io, const char *remote, void *owner,
                 nh_ctx *ctx, nh__h2_conn **cur) {
  nh__h2_conn c;
  memset(&c, 0, sizeof c);
  c.host = h;
  c.io = io;
  c.remote = remote;
  c.owner = owner;
  c.ctx = ctx;
  c.loop = nh__loop_current();
  nh__list_init(&c.work);
  nh__list_init(&c.queue);
  nh__list_init(&c.all);
  c.rbuf = malloc(RBUF);
  c.wbuf = malloc(WBUF);
  c.wcap = WBUF;
  int e = c.rbuf && c.wbuf ? nh__h2_session_new(&c) : NH_ENOMEM;
  if (e == NH_OK)
    e = nh__h2_settings(&c);
  if (e != NH_OK) {
    if (c.ng)
      nghttp2_session_del(c.ng);
    nh__h2_mem_dispose(&c.mem);
    free(c.rbuf);
    free(c.wbuf);
    return e;
  }
  h->count(h, NH__H2_EV_CONN);
  *cur = &c;
  c.idle_since = nh__loop_time(c.loop);
  if (h->cfg.preface_timeout >= 0)
    c.preface_deadline = nh__loop_deadline(c.loop, h->cfg.preface_timeout);
  unsigned busy = 0;
  for (;;) {
    if (!c.shutdown_phase && atomic_load(h->stopping)) {
      /* A connection with nothing in flight ends at once. */
      if (!c.running && !c.nqueued && c.nstreams == c.ndraining) {
        c.host->close_why(c.owner, NH_CLOSE_SHUTDOWN);
        nghttp2_session_terminate_session(c.ng, NGHTTP2_NO_ERROR);
        c.dead = 1;
      } else {
        start_shutdown(&c);
      }
    }
    do_work(&c);
    int out = nh__h2_out_send(&c);
    if ((out != NH_OK && out != NH_EAGAIN) || c.dead || !io->fd)
      break;
    if (!nghttp2_session_want_read(c.ng) && !nghttp2_session_want_write(c.ng))
      break;
    if (c.shutdown_phase == 2 && !c.running && !c.nqueued && c.nstreams == c.ndraining) {
      c.host->close_why(c.owner, NH_CLOSE_SHUTDOWN);
      break;
    }
    ssize_t n = read_input(&c);
    if (n > 0) {
      /* A client that keeps the socket full must not keep the loop: let
       * the other fibers (this connection's handlers too) run now and
       * then. */
      if (++busy % 16 == 0)
        nh_yield();
      ssize_t r = nghttp2_session_mem_recv(c.ng, (const uint8_t *)c.rbuf, (size_t)n);
      if (r < 0) {
        /* A connection error: nghttp2 queued its GOAWAY; send it. */
        NH_LOG(h->log, NH_LOG_DEBUG, "HTTP/2 connection error", NH_LSTR("remote", remote),
               NH_LSTR("error", nghttp2_strerror((int)r)));
        if (r == NGHTTP2_ERR_FLOODED)
          nh__h2_abuse(&c, NH__H2_EV_CONTROL_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM, NULL);
#ifdef NH_HAVE_NGHTTP2_MAX_CONTINUATIONS
        if (r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
          nh__h2_abuse(&c, NH__H2_EV_HEADER_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM,
                       "CONTINUATION flood: too many frames in one header block");
#endif
        c.host->close_why(c.owner, NH_CLOSE_ERROR_REPLY);
        c.dead = 1;
        do_work(&c);
        break;
      }
      continue;
    }
    if (n != NH_EAGAIN) {
      c.host->close_why(c.owner, NH_CLOSE_CLIENT);
      break;
    }
    if (check_deadlines(&c)) {
      c.dead = 1;
      break;
    }
    if (c.kicked || !nh__list_empty(&c.work)) {
      c.kicked = 0;
      if (out == NH_OK)
        continue;
    }
    if (out == NH_EAGAIN) {
      /* Output waits for the client: wait for it to read, or to send (its
       * frames are still read, and may be a flood). Stream work waits. */
      int r = nh_fd_wait(io->fd, NH_FD_READ | NH_FD_WRITE, next_deadline(&c));
      if (r != NH_OK && r != NH_ETIMEDOUT) {
        c.host->close_why(c.owner, NH_CLOSE_CLIENT);
        break;
      }
      continue;
    }
    if (nh_fd_on_readable(io->fd, on_readable, &c) != NH_OK)
      break;
    nh__waiter_init(&c.w);
    c.parked = 1;
    int r = nh__waiter_park(&c.w, "HTTP/2 connection: read or work", next_deadline(&c), ctx);
    c.parked = 0;
    if (io->fd)
      nh_fd_on_readable(io->fd, NULL, NULL);
    c.kicked = 0;
    if (r == NH_ECANCELED) {
      c.host->close_why(c.owner, NH_CLOSE_SHUTDOWN);
      break;
    }
  }
  c.dead = 1;
  if (io->fd)
    nh__h2_out_last(&c); /* a GOAWAY, resets, the last DATA */
  drain_streams(&c);
  *cur = NULL;
  /* Handlers are gone; what nghttp2 still holds goes with the session. */
  nghttp2_session_del(c.ng);
  nh__h2_mem_dispose(&c.mem);
  nh__list *n;
  while ((n = nh__list_first(&c.all)))
    nh__h2_stream_free(nh__container_of(n, nh__h2_sstream, all_node));
  while (c.spare) {
    nh__h2_sstream *s = c.spare;
    c.spare = s->next_spare;
    stream_dispose(s);
  }
  free(c.rbuf);
  free(c.wbuf);
  return NH_OK;
}
