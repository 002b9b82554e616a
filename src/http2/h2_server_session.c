/* An HTTP/2 server connection's fiber: the only code that touches its
 * nghttp2 session.
 *
 *   loop: stream work (heads, 1xx, resumed DATA, consumed body bytes,
 *   resets, queued streams started) -> nghttp2_session_mem_send, frames
 *   batched into one write -> one read from the socket (plain or TLS) ->
 *   nghttp2_session_mem_recv, whose callbacks open streams, gather their
 *   headers and body bytes and start their handler fibers -> when there is
 *   nothing to read and nothing to do, park until the socket is readable,
 *   a stream fiber kicks, or a deadline (preface, SETTINGS ack, idle,
 *   shutdown) comes.
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

static nh__h2_conn *conn_of(void *user) { return user; }

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

static void stream_free(nh__h2_sstream *s) {
  nh__h2_conn *c = s->c;
  if (s->in_work)
    nh__list_remove(&s->work_node);
  if (s->in_queue) {
    nh__list_remove(&s->queue_node);
    c->nqueued--;
  }
  nh__list_remove(&s->all_node);
  nh_ctx_free(s->pub.ctx);
  free(s->hbuf);
  free(s->fields);
  free(s->ibuf);
  free(s->obuf);
  nh__h2_interim *i = s->interim;
  while (i) {
    nh__h2_interim *n = i->next;
    free(i->nva);
    free(i);
    i = n;
  }
  free(s->nva);
  c->nstreams--;
  free(s);
}

void nh__h2_stream_maybe_free(nh__h2_sstream *s) {
  if (!s->in_session && !s->fiber_alive)
    stream_free(s);
}

/* ---- handler slots ---- */

static void stream_start(nh__h2_conn *c, nh__h2_sstream *s) {
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
      stream_start(c, s);
  }
}

/* ---- stream work, on the connection's fiber ---- */

static nghttp2_data_provider provider(nh__h2_sstream *s) {
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
      nghttp2_data_provider p = provider(s);
      nghttp2_submit_response(c->ng, id, s->nva, s->nnv, s->has_body ? &p : NULL);
      free(s->nva); /* nghttp2 copied it */
      s->nva = NULL;
    } else if (s->deferred && (s->olen > s->ooff || s->out_end)) {
      s->deferred = 0;
      nghttp2_session_resume_data(c->ng, id);
    }
  }
  start_queued(c);
}

/* ---- nghttp2's callbacks ---- */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *user) {
  nh__h2_conn *c = conn_of(user);
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  nh__h2_sstream *s = calloc(1, sizeof *s);
  if (!s)
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  s->c = c;
  s->pub.base.ops = &nh__h2_ops;
  s->pub.owner = c->owner;
  s->pub.remote = c->remote;
  s->pub.id = f->hd.stream_id;
  s->method = s->path = s->authority = s->scheme = s->protocol = -1;
  s->interim_tail = &s->interim;
  s->in_session = 1;
  c->nstreams++;
  nh__list_push_back(&c->all, &s->all_node);
  /* After the final GOAWAY: refused, so the client may retry elsewhere. */
  s->refused = c->shutdown_phase == 2 && f->hd.stream_id > c->goaway_last;
  if (nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s) != 0) {
    stream_free(s);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  c->host->count(c->host, NH__H2_EV_STREAM);
  return 0;
}

static int hbuf_put(nh__h2_sstream *s, const uint8_t *b, size_t n, uint32_t *off) {
  if (s->hlen + n + 1 > s->hcap) {
    size_t cap = s->hcap ? s->hcap : 512;
    while (cap < s->hlen + n + 1)
      cap *= 2;
    char *nb = realloc(s->hbuf, cap);
    if (!nb)
      return NH_ENOMEM;
    s->hbuf = nb;
    s->hcap = cap;
  }
  *off = (uint32_t)s->hlen;
  memcpy(s->hbuf + s->hlen, b, n);
  s->hbuf[s->hlen + n] = 0;
  s->hlen += n + 1;
  return NH_OK;
}

/* RFC 9113 5.1.1: HEADERS on a stream ID below the highest one seen, for
 * a stream that is not open, is a connection error (Go). nghttp2 would
 * ignore it. */
static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *user) {
  nh__h2_conn *c = conn_of(user);
  if (hd->type == NGHTTP2_HEADERS && (hd->stream_id & 1) &&
      hd->stream_id <= nghttp2_session_get_last_proc_stream_id(ng) &&
      !nghttp2_session_find_stream(ng, hd->stream_id)) {
    nghttp2_session_terminate_session(ng, NGHTTP2_PROTOCOL_ERROR);
    c->dead = 1;
  }
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user) {
  (void)flags;
  nh__h2_conn *c = conn_of(user);
  nh__h2_sstream *s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
  if (!s || f->hd.type != NGHTTP2_HEADERS)
    return 0;
  int e = nh__h2_header_budget(c, s, nlen, vlen);
  if (e)
    return e;
  /* Past the budget, or trailers (not kept), or a refused stream: counted,
   * not stored. */
  if (s->too_large || s->refused || f->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  uint32_t noff, voff;
  if (name[0] == ':') {
    if (hbuf_put(s, value, vlen, &voff) != NH_OK)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    int64_t *slot = nlen == 7 && !memcmp(name, ":method", 7)      ? &s->method
                    : nlen == 5 && !memcmp(name, ":path", 5)      ? &s->path
                    : nlen == 10 && !memcmp(name, ":authority", 10) ? &s->authority
                    : nlen == 7 && !memcmp(name, ":scheme", 7)    ? &s->scheme
                    : nlen == 9 && !memcmp(name, ":protocol", 9)  ? &s->protocol
                                                                  : NULL;
    if (slot)
      *slot = voff;
    return 0;
  }
  if (s->nfields >= (uint32_t)c->host->max_header_count) {
    s->too_large = 1; /* 431, as HTTP/1 answers too many fields */
    return 0;
  }
  if (s->nfields == s->fcap) {
    uint32_t cap = s->fcap ? s->fcap * 2 : 16;
    nh__h2_field *nf = realloc(s->fields, cap * sizeof *nf);
    if (!nf)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->fields = nf;
    s->fcap = cap;
  }
  if (hbuf_put(s, name, nlen, &noff) != NH_OK || hbuf_put(s, value, vlen, &voff) != NH_OK)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  s->fields[s->nfields++] = (nh__h2_field){noff, voff, (uint32_t)nlen, (uint32_t)vlen};
  if (nlen == 6 && !memcmp(name, "expect", 6) && vlen == 12 &&
      !strncasecmp((const char *)value, "100-continue", 12))
    s->expect_continue = 1;
  return 0;
}

/* The server's own short answer on s, without a handler. */
static void own_answer(nh__h2_conn *c, nh__h2_sstream *s, int status, const char *text) {
  char st[4], len[8];
  snprintf(st, sizeof st, "%d", status);
  size_t n = strlen(text);
  if (n > sizeof s->static_body)
    n = sizeof s->static_body;
  memcpy(s->static_body, text, n);
  snprintf(len, sizeof len, "%zu", n);
  nghttp2_nv nva[] = {
      {(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"text/plain; charset=utf-8", 12, 25,
       NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-length", (uint8_t *)len, 14, strlen(len), NGHTTP2_NV_FLAG_NONE},
  };
  s->obuf = malloc(n ? n : 1);
  if (s->obuf) {
    memcpy(s->obuf, s->static_body, n);
    s->olen = s->ocap = n;
  }
  s->out_end = 1;
  s->handler_done = 1;
  nghttp2_data_provider p = provider(s);
  nghttp2_submit_response(c->ng, s->pub.id, nva, 3, &p);
}

/* A request's head is complete: answer it, queue it or start its handler. */
static int stream_ready(nh__h2_conn *c, nh__h2_sstream *s) {
  if (s->refused) {
    nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->pub.id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  if (s->too_large) {
    c->host->count(c->host, NH__H2_EV_HEADERS_TOO_LARGE);
    NH_LOG(c->host->log, NH_LOG_DEBUG, "refused an HTTP/2 request", NH_LINT("status", 431),
           NH_LINT("stream", s->pub.id), NH_LSTR("remote", c->remote));
    own_answer(c, s, 431, "Request Header Fields Too Large\n");
    return 0;
  }
  if (nh_ctx_with_cancel(c->ctx, &s->pub.ctx) != NH_OK) {
    own_answer(c, s, 503, "Service Unavailable\n");
    return 0;
  }
  if (c->running < c->host->cfg.max_concurrent_streams) {
    stream_start(c, s);
    return 0;
  }
  if (c->nqueued < c->host->cfg.max_queued_streams) {
    s->in_queue = 1;
    c->nqueued++;
    nh__list_push_back(&c->queue, &s->queue_node);
    return 0;
  }
  nh__h2_abuse(c, NH__H2_EV_RAPID_RESET, NGHTTP2_ENHANCE_YOUR_CALM, NULL);
  return 0;
}

static void final_goaway(nh__h2_conn *c);

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user) {
  nh__h2_conn *c = conn_of(user);
  nh__h2_sstream *s;
  switch (f->hd.type) {
  case NGHTTP2_SETTINGS:
    if (f->hd.flags & NGHTTP2_FLAG_ACK)
      c->settings_deadline = 0;
    else
      c->preface_deadline = 0;
    break;
  case NGHTTP2_PING:
    if ((f->hd.flags & NGHTTP2_FLAG_ACK) && c->shutdown_phase == 1)
      final_goaway(c);
    break;
  case NGHTTP2_PRIORITY:
    nh__h2_empty_frame(c);
    break;
  case NGHTTP2_HEADERS:
    if (!(s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id)))
      break;
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
      s->end_stream_recv = 1;
      nh__h2_stream_wake_reader(s);
    }
    if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
      return stream_ready(c, s);
    break;
  case NGHTTP2_DATA:
    if (f->hd.length == 0 && !(f->hd.flags & NGHTTP2_FLAG_END_STREAM) && nh__h2_empty_frame(c))
      break;
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        (s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id))) {
      s->end_stream_recv = 1;
      nh__h2_stream_wake_reader(s);
    }
    break;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user) {
  (void)flags;
  nh__h2_conn *c = conn_of(user);
  nh__h2_sstream *s = nghttp2_session_get_stream_user_data(ng, id);
  if (!s || (!s->fiber_alive && s->started)) {
    /* Nobody will read it: give the window back at once. */
    nghttp2_session_consume(ng, id, len);
    return 0;
  }
  if (s->body_refused || s->handler_done || s->refused || s->too_large) {
    nghttp2_session_consume(ng, id, len);
    return 0;
  }
  if (s->ioff && s->ioff == s->ilen)
    s->ioff = s->ilen = 0;
  if (s->ilen + len > s->icap) {
    if (s->ioff) {
      memmove(s->ibuf, s->ibuf + s->ioff, s->ilen - s->ioff);
      s->ilen -= s->ioff;
      s->ioff = 0;
    }
    if (s->ilen + len > s->icap) {
      size_t cap = s->icap ? s->icap : 16384;
      while (cap < s->ilen + len)
        cap *= 2;
      char *nb = realloc(s->ibuf, cap);
      if (!nb)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      s->ibuf = nb;
      s->icap = cap;
    }
  }
  memcpy(s->ibuf + s->ilen, data, len);
  s->ilen += len;
  (void)c;
  nh__h2_stream_wake_reader(s);
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user) {
  nh__h2_conn *c = conn_of(user);
  nh__h2_sstream *s = nghttp2_session_get_stream_user_data(ng, id);
  if (!s)
    return 0;
  nghttp2_session_set_stream_user_data(ng, id, NULL);
  s->in_session = 0;
  s->closed = 1;
  s->close_code = code;
  /* Bytes received that no one will read, or read and not yet counted:
   * the connection's window gets them back. */
  size_t unread = s->ilen - s->ioff + s->consumed;
  s->ioff = s->ilen = s->consumed = 0;
  if (unread)
    nghttp2_session_consume_connection(ng, unread);
  if (code != NGHTTP2_NO_ERROR)
    c->host->count(c->host, NH__H2_EV_RESET);
  /* A queued stream keeps its place in the queue, reset or not: resets
   * must not make room for more streams (rapid reset). */
  if (s->in_queue)
    return 0;
  if (s->fiber_alive && (code != NGHTTP2_NO_ERROR || !s->eof_sent))
    nh_ctx_cancel(s->pub.ctx); /* its handler's blocking calls end now (Go) */
  nh__h2_stream_wake_reader(s);
  nh__h2_stream_wake_writer(s);
  nh__h2_stream_maybe_free(s);
  return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *user) {
  nh__h2_conn *c = conn_of(user);
  /* nghttp2's own defences (too many settings, resets past its rate)
   * end the connection with ENHANCE_YOUR_CALM: counted as ours are. */
  if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM &&
      !c->abusive) {
    c->abusive = 1;
    c->host->count(c->host, NH__H2_EV_CONTROL_FLOOD);
    c->host->close_why(c->owner, NH_CLOSE_ERROR_REPLY);
    NH_LOG(c->host->log, NH_LOG_DEBUG, "HTTP/2 connection ended for abuse",
           NH_LSTR("remote", c->remote), NH_LSTR("reason", "flood of control frames or resets"));
  }
  if (f->hd.type == NGHTTP2_GOAWAY && c->shutdown_phase == 1 &&
      f->goaway.last_stream_id == INT32_MAX) {
    uint8_t data[8] = {'s', 'h', 'u', 't', 'd', 'o', 'w', 'n'};
    nghttp2_submit_ping(ng, NGHTTP2_FLAG_NONE, data);
  }
  if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) &&
      c->host->cfg.settings_timeout >= 0)
    c->settings_deadline = nh__loop_deadline(c->loop, c->host->cfg.settings_timeout);
  return 0;
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
static void final_goaway(nh__h2_conn *c) {
  c->shutdown_phase = 2;
  c->goaway_last = nghttp2_session_get_last_proc_stream_id(c->ng);
  uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
  uint32_t last = (uint32_t)c->goaway_last;
  f[9] = (uint8_t)(last >> 24);
  f[10] = (uint8_t)(last >> 16);
  f[11] = (uint8_t)(last >> 8);
  f[12] = (uint8_t)last;
  /* error code NO_ERROR: bytes 13..16 stay 0 */
  if (c->wlen + sizeof f <= c->wcap) {
    memcpy(c->wbuf + c->wlen, f, sizeof f);
    c->wlen += sizeof f;
  }
}

/* ---- I/O ---- */

static nh_time write_deadline(nh__h2_conn *c) {
  return c->host->write_timeout >= 0 ? nh__loop_deadline(c->loop, c->host->write_timeout)
                                     : NH_NO_DEADLINE;
}

static int flush_wbuf(nh__h2_conn *c) {
  if (!c->wlen)
    return NH_OK;
  if (!c->io->fd)
    return NH_ECLOSED;
  ssize_t w = nh__stream_write(c->io, c->wbuf, c->wlen, write_deadline(c));
  c->wlen = 0;
  if (w < 0) {
    c->host->close_why(c->owner, w == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_WRITE : NH_CLOSE_CLIENT);
    return (int)w;
  }
  return NH_OK;
}

/* Everything nghttp2 has to send, batched into writes of up to WBUF. */
static int send_all(nh__h2_conn *c) {
  for (;;) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(c->ng, &data);
    if (n < 0) {
      if (n == NGHTTP2_ERR_FLOODED)
        nh__h2_abuse(c, NH__H2_EV_CONTROL_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM, NULL);
      c->dead = 1;
      return flush_wbuf(c);
    }
    if (n == 0)
      return flush_wbuf(c);
    if (c->wlen + (size_t)n > c->wcap) {
      int e = flush_wbuf(c);
      if (e)
        return e;
    }
    if ((size_t)n > c->wcap) { /* larger than the buffer: straight out */
      ssize_t w = nh__stream_write(c->io, data, (size_t)n, write_deadline(c));
      if (w < 0)
        return (int)w;
      continue;
    }
    memcpy(c->wbuf + c->wlen, data, (size_t)n);
    c->wlen += (size_t)n;
  }
}

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
  if (c->idle_since && c->host->idle_timeout >= 0 && !c->nqueued && c->nstreams == 0) {
    nh_time t = c->idle_since + c->host->idle_timeout;
    if (t < d)
      d = t;
  }
  if (c->shutdown_phase == 1 && c->final_goaway_at < d)
    d = c->final_goaway_at;
  return d;
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
  if (c->idle_since && c->host->idle_timeout >= 0 && !c->nqueued && c->nstreams == 0 &&
      now >= c->idle_since + c->host->idle_timeout) {
    c->host->count(c->host, NH__H2_EV_TIMEOUT_IDLE);
    c->host->close_why(c->owner, NH_CLOSE_TIMEOUT_IDLE);
    nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
    return 1;
  }
  if (c->shutdown_phase == 1 && now >= c->final_goaway_at)
    final_goaway(c);
  return 0;
}

static int session_new(nh__h2_conn *c) {
  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0)
    return NH_ENOMEM;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
  nghttp2_option *opt = NULL;
  int e = nh__h2_options(c->host, &opt);
  if (e == NH_OK && nghttp2_session_server_new2(&c->ng, cb, c, opt) != 0)
    e = NH_ENOMEM;
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  return e;
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
    stream_free(s);
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
  int e = c.rbuf && c.wbuf ? session_new(&c) : NH_ENOMEM;
  if (e == NH_OK)
    e = nh__h2_settings(&c);
  if (e != NH_OK) {
    if (c.ng)
      nghttp2_session_del(c.ng);
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
      if (!c.running && !c.nqueued && c.nstreams == 0) {
        c.host->close_why(c.owner, NH_CLOSE_SHUTDOWN);
        nghttp2_session_terminate_session(c.ng, NGHTTP2_NO_ERROR);
        c.dead = 1;
      } else {
        start_shutdown(&c);
      }
    }
    do_work(&c);
    if (send_all(&c) != NH_OK || c.dead || !io->fd)
      break;
    if (!nghttp2_session_want_read(c.ng) && !nghttp2_session_want_write(c.ng))
      break;
    if (c.shutdown_phase == 2 && !c.running && !c.nqueued && c.nstreams == 0) {
      c.host->close_why(c.owner, NH_CLOSE_SHUTDOWN);
      break;
    }
    ssize_t n = nh__stream_try_read(io, c.rbuf, RBUF);
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
        send_all(&c);
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
      send_all(&c);
      break;
    }
    if (c.kicked || !nh__list_empty(&c.work)) {
      c.kicked = 0;
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
  drain_streams(&c);
  *cur = NULL;
  /* Handlers are gone; what nghttp2 still holds goes with the session. */
  nghttp2_session_del(c.ng);
  nh__list *n;
  while ((n = nh__list_first(&c.all)))
    stream_free(nh__container_of(n, nh__h2_sstream, all_node));
  free(c.rbuf);
  free(c.wbuf);
  return NH_OK;
}
