/* nghttp2's callbacks for a server session, on the connection's fiber:
 * a request's HEADERS open a stream (or refuse it after the final
 * GOAWAY), its fields are gathered under the header budget, a complete
 * head starts a handler (or queues it, or ends the connection: rapid
 * reset), DATA goes to the stream's buffer for its handler to read, a
 * stream's close cancels its handler if the response did not complete. */
#include "http2/h2_server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nethttp/errors.h"

static nh__h2_conn *conn_of(void *user) { return user; }

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *user) {
  nh__h2_conn *c = conn_of(user);
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  nh__h2_sstream *s = nh__h2_stream_new(c);
  if (!s)
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  s->pub.id = f->hd.stream_id;
  s->in_session = 1;
  /* After the final GOAWAY: refused, so the client may retry elsewhere. */
  s->refused = c->shutdown_phase == 2 && f->hd.stream_id > c->goaway_last;
  if (nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s) != 0) {
    nh__h2_stream_free(s);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  c->hs = s;
  c->host->count(c->host, NH__H2_EV_STREAM);
  return 0;
}

/* The stream of id: most often the one whose head is coming in, without
 * a look-up in nghttp2's map (once per field). */
static nh__h2_sstream *stream_of(nh__h2_conn *c, nghttp2_session *ng, int32_t id) {
  if (c->hs && c->hs->pub.id == id && c->hs->in_session)
    return c->hs;
  return nghttp2_session_get_stream_user_data(ng, id);
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
  nh__h2_sstream *s = stream_of(c, ng, f->hd.stream_id);
  if (!s || f->hd.type != NGHTTP2_HEADERS)
    return 0;
  int e = nh__h2_header_budget(c, s, nlen, vlen);
  if (e)
    return e;
  /* Past the budget, or a refused stream: counted, not stored. */
  if (s->too_large || s->refused)
    return 0;
  if (f->headers.cat == NGHTTP2_HCAT_HEADERS) /* trailers (nghttp2 refused pseudo-fields) */
    return nh__h2_trailer_field(c, s, name, nlen, value, vlen);
  if (f->headers.cat != NGHTTP2_HCAT_REQUEST)
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

/* A request trailer field: kept (as many as a head may have) for the
 * handler, which sees them when it reads the body's end. */
int nh__h2_trailer_field(nh__h2_conn *c, nh__h2_sstream *s, const uint8_t *name, size_t nlen,
                         const uint8_t *value, size_t vlen) {
  if (s->ntrail >= (uint32_t)c->host->max_header_count || s->handler_done)
    return 0;
  size_t need = s->tlen + nlen + vlen + 2;
  if (need > s->tcap) {
    size_t cap = s->tcap ? s->tcap : 256;
    while (cap < need)
      cap *= 2;
    char *nb = realloc(s->tbuf, cap);
    if (!nb)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->tbuf = nb;
    s->tcap = cap;
  }
  memcpy(s->tbuf + s->tlen, name, nlen);
  s->tbuf[s->tlen + nlen] = 0;
  memcpy(s->tbuf + s->tlen + nlen + 1, value, vlen);
  s->tbuf[need - 1] = 0;
  s->tlen = need;
  s->ntrail++;
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
  if (s->ocap < n) { /* a reused struct may bring a buffer */
    free(s->obuf);
    s->obuf = malloc(n);
    s->ocap = s->obuf ? n : 0;
  }
  if (s->obuf) {
    memcpy(s->obuf, s->static_body, n);
    s->olen = n;
  }
  s->out_end = 1;
  s->handler_done = 1;
  nghttp2_data_provider p = nh__h2_provider(s);
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
  /* A reused struct brings a context of this connection's, never
   * cancelled and held by nothing else. */
  if (!s->pub.ctx && nh_ctx_with_cancel(c->ctx, &s->pub.ctx) != NH_OK) {
    s->pub.ctx = NULL;
    own_answer(c, s, 503, "Service Unavailable\n");
    return 0;
  }
  if (c->running < c->host->cfg.max_concurrent_streams) {
    nh__h2_stream_start(c, s);
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
      nh__h2_final_goaway(c);
    break;
  case NGHTTP2_PRIORITY:
    nh__h2_empty_frame(c);
    break;
  case NGHTTP2_HEADERS:
    if (!(s = stream_of(c, ng, f->hd.stream_id)))
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
  if (s && s->draining) {
    nghttp2_session_consume(ng, id, len);
    s->drained += len;
    if (s->drained > NH__H2_DRAIN_MAX && !s->rst_pending) {
      s->rst_pending = 1;
      s->rst_code = NGHTTP2_NO_ERROR;
      nh__h2_stream_kick(s);
    }
    return 0;
  }
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
  if (s->draining) {
    s->draining = 0;
    c->ndraining--;
  }
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

int nh__h2_session_new(nh__h2_conn *c) {
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
  nh__h2_mem_init(&c->mem);
  if (e == NH_OK && nghttp2_session_server_new3(&c->ng, cb, c, opt, &c->mem.ng) != 0)
    e = NH_ENOMEM;
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  return e;
}
