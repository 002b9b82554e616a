/* HTTP/2 client streams on an nghttp2 session: the callers' side (open a
 * stream, hand it body bytes, wait for its head and body) and nghttp2's
 * callbacks, which run on the connection's I/O fiber or thread (h2_client_io.c)
 * and fill each stream's state, posting its semaphore.
 *
 * Flow control (RFC 9113 5.2): nghttp2 sends no WINDOW_UPDATE on its own
 * (no_auto_window_update); a caller's read consumes what it took, so the
 * server can have at most the stream's window in flight or buffered here
 * for a response nobody reads. A stream closed early is reset (CANCEL)
 * and what it held is given back to the connection's window. */
#include "h2_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nethttp/errors.h"
#include "runtime/sanitizer.h"
#include "util/header_internal.h"
#include "util/textproto_internal.h"

/* Go's initialMaxConcurrentStreams: assumed until the server's SETTINGS. */
#define INITIAL_MAX_STREAMS 100

static void stream_free(nh__h2s *s);

static void wake(nh__h2s *s) {
  if (s->waiting) {
    s->waiting = 0;
    nh__waiter_wake(&s->w, NH_OK);
  }
}

/* Waits for the I/O side to wake s (mu held, and held again on return).
 * A wake that comes between the unlock and the park is kept by the
 * waiter; one that comes after a timeout belongs to a finished park and
 * is dropped. */
static int wait_locked(nh__h2s *s, nh_time deadline) {
  nh__h2c *c = s->c;
  nh__waiter_init(&s->w);
  s->waiting = 1;
  nh_mutex_unlock(c->mu);
  int e = nh__waiter_park(&s->w, "h2 stream", deadline, NULL);
  nh_mutex_lock(c->mu);
  s->waiting = 0;
  return e;
}

void nh__h2c_fail_all(nh__h2c *c, int err) {
  atomic_store(&c->dead, 1);
  c->err = err;
  for (nh__h2s *s = c->streams; s; s = s->next) {
    if (!s->closed) {
      s->closed = 1;
      if (!s->eof) {
        s->err = err;
        s->unsent = !s->headers_sent;
      }
    }
    wake(s);
  }
}

/* ---- nghttp2's callbacks (I/O side, mu held) ---- */

static nh__h2s **slot_of(nh__h2c *c, int32_t id) {
  return &c->slot[((uint32_t)id >> 1) % (sizeof c->slot / sizeof c->slot[0])];
}

/* The open stream with this ID, or NULL (closed by its caller, or none). */
static nh__h2s *stream_of(nh__h2c *c, int32_t id) {
  nh__h2s *s = *slot_of(c, id);
  if (s && s->id == id)
    return s;
  if (id <= 0)
    return NULL;
  for (s = c->streams; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  (void)flags;
  nh__h2s *s = f->hd.type == NGHTTP2_HEADERS ? stream_of(user, f->hd.stream_id) : NULL;
  if (!s)
    return 0;
  s->got_any = 1;
  if (namelen == 7 && !memcmp(name, ":status", 7)) {
    int st = 0;
    for (size_t i = 0; i < valuelen; i++)
      st = st * 10 + (value[i] - '0'); /* nghttp2 checked: three digits */
    s->status = st;
    return 0;
  }
  nh_header *h = s->head_done ? s->trailer : s->dest ? s->dest : s->head;
  if (!h && s->head_done && !(h = s->trailer = nh_header_new()))
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (nh__header_add_lower(h, (const char *)name, namelen, (const char *)value, valuelen))
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
  return 0;
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *user) {
  nh__h2c *c = user;
  switch (f->hd.type) {
  case NGHTTP2_SETTINGS:
    if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
      atomic_store(&c->max_streams,
                   nghttp2_session_get_remote_settings(ss, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
    return 0;
  case NGHTTP2_GOAWAY:
    atomic_store(&c->goaway, 1); /* streams past last_stream_id are closed REFUSED */
    return 0;
  case NGHTTP2_HEADERS:
  case NGHTTP2_DATA:
    break;
  default:
    return 0;
  }
  nh__h2s *s = stream_of(user, f->hd.stream_id);
  if (!s)
    return 0;
  if (f->hd.type == NGHTTP2_HEADERS && !s->head_done) {
    if (s->status >= 100 && s->status < 200 && !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      nh__header_clear(s->dest ? s->dest : s->head); /* an interim answer: the final one follows */
      if (s->status == 100) {
        s->got_100 = 1;
        wake(s);
      }
      s->status = 0;
      return 0;
    }
    s->head_done = 1;
  }
  if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
    s->eof = 1;
  wake(s);
  return 0;
}

static int on_data(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user) {
  (void)flags;
  nh__h2s *s = stream_of(user, id);
  if (!s) { /* closed by its caller: nobody reads it, give the window back */
    nghttp2_session_consume_connection(ss, len);
    return 0;
  }
  if (s->rpos == s->rlen)
    s->rpos = s->rlen = 0;
  if (s->rlen + len > s->rcap) {
    if (s->rpos) { /* move the unread part to the front first */
      memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
      s->rlen -= s->rpos;
      s->rpos = 0;
    }
    if (s->rlen + len > s->rcap) {
      /* Sized to what came: most bodies of a busy connection are small,
       * and a fixed 16 KiB per stream made malloc grow and trim its heap
       * over and over. */
      size_t cap = s->rcap ? s->rcap : 256;
      while (cap < s->rlen + len)
        cap *= 2; /* bounded by the stream's window: the peer cannot exceed it */
      char *p = realloc(s->rbuf, cap);
      if (!p)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      s->rbuf = p;
      s->rcap = cap;
    }
  }
  memcpy(s->rbuf + s->rlen, data, len);
  s->rlen += len;
  s->got_any = 1;
  wake(s);
  return 0;
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *user) {
  nh__h2s *s = stream_of(user, id);
  if (!s)
    return 0;
  s->closed = 1;
  if (!s->eof && !s->err) {
    if (code == NGHTTP2_REFUSED_STREAM && !s->head_done)
      s->err = NH__H2_REFUSED; /* RFC 9113 8.7: not processed, safe to retry */
    else
      s->err = NH_ECONNRESET;
  }
  wake(s);
  return 0;
}

static int on_frame_send(nghttp2_session *ss, const nghttp2_frame *f, void *user) {
  if (f->hd.type == NGHTTP2_HEADERS) {
    nh__h2s *s = stream_of(user, f->hd.stream_id);
    if (s)
      s->headers_sent = 1;
  }
  return 0;
}

static int on_frame_not_send(nghttp2_session *ss, const nghttp2_frame *f, int lib_error,
                             void *user) {
  (void)lib_error;
  if (f->hd.type != NGHTTP2_HEADERS)
    return 0;
  nh__h2s *s = stream_of(user, f->hd.stream_id);
  if (s && !s->err) { /* never went out (GOAWAY came first): not processed */
    s->err = NH__H2_REFUSED;
    s->closed = 1;
    wake(s);
  }
  return 0;
}

/* The request body, as nghttp2 asks for DATA. */
static ssize_t body_read(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user) {
  (void)src;
  nh__h2s *s = stream_of(user, id);
  if (!s)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* its caller is gone: reset */
  size_t n = s->slen - s->spos;
  if (n > len)
    n = len;
  if (n == 0 && !s->s_eof) {
    s->deferred = 1;
    return NGHTTP2_ERR_DEFERRED;
  }
  memcpy(buf, s->sbuf + s->spos, n);
  s->spos += n;
  if (s->spos == s->slen) {
    s->spos = s->slen = 0;
    if (s->s_eof)
      *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  wake(s); /* room for more */
  return (ssize_t)n;
}

int nh__h2c_session_new(nh__h2c *c) {
  nghttp2_session_callbacks *cb;
  nghttp2_option *opt;
  if (nghttp2_session_callbacks_new(&cb))
    return NH_ENOMEM;
  if (nghttp2_option_new(&opt)) {
    nghttp2_session_callbacks_del(cb);
    return NH_ENOMEM;
  }
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_peer_max_concurrent_streams(opt, INITIAL_MAX_STREAMS);
  int r = nghttp2_session_client_new3(&c->ss, cb, c, opt, &c->mem.ng);
  nghttp2_session_callbacks_del(cb);
  nghttp2_option_del(opt);
  if (r)
    return NH_ENOMEM;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->cfg.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, c->cfg.max_header_list},
  };
  if (nghttp2_submit_settings(c->ss, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) ||
      nghttp2_session_set_local_window_size(c->ss, NGHTTP2_FLAG_NONE, 0, (int32_t)c->cfg.conn_window))
    return NH_ENOMEM;
  return NH_OK;
}

/* ---- the connection ---- */

int nh__h2c_new(const nh__h2c_config *cfg, const nh__h2c_io *io, nh__h2c **out) {
  nh__h2c *c = calloc(1, sizeof *c);
  if (!c)
    return NH_ENOMEM;
  c->cfg = *cfg;
  c->io = *io;
  c->evfd = -1;
  nh__h2_mem_init(&c->mem);
  atomic_store(&c->max_streams, INITIAL_MAX_STREAMS);
  int e = NH_ENOMEM;
  if (!(c->mu = nh_mutex_new()) || (e = nh__h2c_session_new(c)) != NH_OK ||
      (e = nh__h2c_io_start(c)) != NH_OK) {
    nh__h2c_io_free(c);
    if (c->ss)
      nghttp2_session_del(c->ss);
    nh__h2_mem_dispose(&c->mem);
    nh_mutex_free(c->mu);
    free(c);
    return e;
  }
  *out = c;
  return NH_OK;
}

void nh__h2c_free(nh__h2c *c) {
  if (!c)
    return;
  nh__h2c_io_stop(c);
  nh__h2c_io_free(c);
  nghttp2_session_del(c->ss);
  nh__h2_mem_dispose(&c->mem);
  while (c->spare) {
    nh__h2s *s = c->spare;
    c->spare = s->next;
    stream_free(s);
  }
  nh_mutex_free(c->mu);
  free(c);
}

int nh__h2c_unusable(const nh__h2c *c) {
  return atomic_load(&((nh__h2c *)c)->dead) || atomic_load(&((nh__h2c *)c)->goaway);
}

int nh__h2c_can_take(const nh__h2c *c, int in_use) {
  return !nh__h2c_unusable(c) && (uint32_t)in_use < atomic_load(&((nh__h2c *)c)->max_streams);
}

/* ---- streams ---- */

/* Fields a request must not carry in HTTP/2 (RFC 9113 8.2.2), and those
 * given otherwise (:authority, the framing): by length first, as each
 * field of every request passes through here. */
static int dropped(const char *k, size_t n) {
  switch (n) {
  case 4:
    return nh__token_is(k, n, "host", 4);
  case 7:
    return nh__token_is(k, n, "upgrade", 7);
  case 10:
    return nh__token_is(k, n, "connection", 10) || nh__token_is(k, n, "keep-alive", 10);
  case 14:
    return nh__token_is(k, n, "content-length", 14);
  case 16:
    return nh__token_is(k, n, "proxy-connection", 16);
  case 17:
    return nh__token_is(k, n, "transfer-encoding", 17);
  }
  return 0;
}

/* dst = lowercase src (n bytes): eight at a time while they are ASCII, as
 * field names are (each request's pass through here). */
static void lower_copy(char *dst, const char *src, size_t n) {
  const uint64_t hi = 0x8080808080808080u;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, src + i, 8);
    if (x & hi)
      break;
    /* 0x80 in each byte from 'A' (+0x3f) and not past 'Z' (+0x25) */
    uint64_t upper = (x + 0x3f3f3f3f3f3f3f3fu) & ~(x + 0x2525252525252525u) & hi;
    x |= upper >> 2;
    memcpy(dst + i, &x, 8);
  }
  for (; i < n; i++)
    dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
}

static nghttp2_nv nv(const char *k, size_t kn, const char *v, size_t vn, uint8_t flags) {
  return (nghttp2_nv){(uint8_t *)k, (uint8_t *)v, kn, vn, flags};
}

static void stream_free(nh__h2s *s) {
  nh__arena_dispose(&s->head_arena);
  nh_header_free(s->trailer);
  free(s->rbuf);
  free(s->sbuf);
  free(s);
}

static nh__h2s *stream_new(void) {
  nh__h2s *s = malloc(sizeof *s);
  if (!s)
    return NULL;
  memset(s, 0, offsetof(nh__h2s, head_map)); /* the rest is set up below */
  nh__arena_init(&s->head_arena, s->head_first, sizeof s->head_first);
  nh__header_init(&s->head_map, &s->head_arena);
  s->head = &s->head_map;
  return s;
}

/* A closed stream made ready for the next one (mu held): its emptied head
 * map and a small receive buffer stay. */
static void stream_recycle(nh__h2c *c, nh__h2s *s) {
  if (s->rcap > 4096) {
    free(s->rbuf);
    s->rbuf = NULL;
    s->rcap = 0;
  }
  nh_header_free(s->trailer);
  free(s->sbuf);
  nh__arena_reset(&s->head_arena);
  nh__header_init(&s->head_map, &s->head_arena);
  memset(s, 0, offsetof(nh__h2s, rbuf));
  s->next = c->spare;
  c->spare = s;
  c->nspare++;
}

/* At most this many closed streams are kept per connection (none under
 * AddressSanitizer, so that a use after close is caught). */
#ifdef NH_ASAN
#define SPARE_MAX 0
#else
#define SPARE_MAX 64
#endif

int nh__h2s_open(nh__h2c *c, const nh__h2_req *req, nh__h2s **out) {
  *out = NULL;
  const nh__hentry *items = req->header ? req->header->items : NULL;
  size_t nf = req->header ? req->header->len : 0, nx = 0;
  while (req->extra && req->extra[2 * nx])
    nx++;
  size_t lower_len = 0;
  for (size_t i = 0; i < nf; i++)
    lower_len += items[i].klen;
  /* The usual request fits on the stack: nghttp2 copies what it keeps. */
  nghttp2_nv v_stack[24];
  char lower_stack[512];
  nghttp2_nv *v = 5 + nf + nx <= sizeof v_stack / sizeof v_stack[0]
                      ? v_stack
                      : malloc((5 + nf + nx) * sizeof *v);
  char *lower = lower_len < sizeof lower_stack ? lower_stack : malloc(lower_len + 1);
  if (!v || !lower) {
    if (v != v_stack)
      free(v);
    if (lower != lower_stack)
      free(lower);
    return NH_ENOMEM;
  }
  size_t n = 0;
  v[n++] = nv(":method", 7, req->method, strlen(req->method), NGHTTP2_NV_FLAG_NONE);
  v[n++] = nv(":scheme", 7, req->scheme, strlen(req->scheme), NGHTTP2_NV_FLAG_NONE);
  v[n++] = nv(":authority", 10, req->authority, strlen(req->authority), NGHTTP2_NV_FLAG_NONE);
  v[n++] = nv(":path", 5, req->path, strlen(req->path), NGHTTP2_NV_FLAG_NONE);
  char cl[24];
  if (req->content_length >= 0) {
    int len = snprintf(cl, sizeof cl, "%lld", (long long)req->content_length);
    v[n++] = nv("content-length", 14, cl, (size_t)len, NGHTTP2_NV_FLAG_NONE);
  }
  for (size_t i = 0; i < nx; i++)
    v[n++] = nv(req->extra[2 * i], strlen(req->extra[2 * i]), req->extra[2 * i + 1],
                strlen(req->extra[2 * i + 1]), NGHTTP2_NV_FLAG_NONE);
  char *lp = lower;
  for (size_t i = 0; i < nf; i++) {
    const nh__hentry *e = &items[i];
    if (dropped(e->key, e->klen))
      continue;
    /* TE may only say "trailers" (RFC 9113 8.2.2). */
    if (e->klen == 2 && !strncasecmp(e->key, "te", 2) &&
        !(e->vlen == 8 && !strncasecmp(e->value, "trailers", 8)))
      continue;
    lower_copy(lp, e->key, e->klen);
    v[n++] = nv(lp, e->klen, e->value, e->vlen, NGHTTP2_NV_FLAG_NONE);
    lp += e->klen;
  }
  char *sbuf = req->has_body ? malloc(NH__H2S_SEND_MAX) : NULL;
  nh_mutex_lock(c->mu);
  nh__h2s *s = c->spare;
  if (s) {
    c->spare = s->next;
    c->nspare--;
    s->next = NULL;
  } else {
    nh_mutex_unlock(c->mu);
    s = stream_new();
    nh_mutex_lock(c->mu);
  }
  int32_t id = NGHTTP2_ERR_NOMEM;
  if (s && (!req->has_body || sbuf)) {
    s->c = c;
    s->sbuf = sbuf;
    sbuf = NULL;
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = body_read};
    id = nh__h2c_unusable(c)
             ? NGHTTP2_ERR_START_STREAM_NOT_ALLOWED
             : nghttp2_submit_request(c->ss, NULL, v, n, req->has_body ? &prd : NULL, s);
  }
  if (id > 0) {
    s->id = id;
    *slot_of(c, id) = s;
    s->next = c->streams;
    if (c->streams)
      c->streams->prev = s;
    c->streams = s;
  }
  nh_mutex_unlock(c->mu);
  if (v != v_stack)
    free(v);
  if (lower != lower_stack)
    free(lower);
  free(sbuf);
  if (id <= 0) {
    if (s)
      stream_free(s);
    return id == NGHTTP2_ERR_NOMEM                    ? NH_ENOMEM
           : id == NGHTTP2_ERR_INVALID_ARGUMENT       ? NH_EINVAL
                                                      : NH__H2_REFUSED;
  }
  nh__h2c_kick(c);
  *out = s;
  return NH_OK;
}

/* The stream cannot take body bytes: why (mu held), or 0. */
static int send_blocked(const nh__h2s *s) {
  if (s->err)
    return s->err;
  if (s->closed || (s->head_done && s->eof))
    return s->head_done ? NH__H2_ANSWERED : NH_ECONNRESET;
  return 0;
}

int nh__h2s_write(nh__h2s *s, const void *buf, size_t n, nh_time deadline) {
  nh__h2c *c = s->c;
  const char *p = buf;
  int e = NH_OK;
  nh_mutex_lock(c->mu);
  while (n && !(e = send_blocked(s))) {
    size_t room = NH__H2S_SEND_MAX - s->slen;
    if (room == 0) {
      if ((e = wait_locked(s, deadline)) != NH_OK)
        break;
      continue;
    }
    if (room > n)
      room = n;
    memcpy(s->sbuf + s->slen, p, room);
    s->slen += room;
    p += room;
    n -= room;
    if (s->deferred) {
      s->deferred = 0;
      nghttp2_session_resume_data(c->ss, s->id);
    }
    nh_mutex_unlock(c->mu);
    nh__h2c_kick(c);
    nh_mutex_lock(c->mu);
  }
  nh_mutex_unlock(c->mu);
  return e;
}

int nh__h2s_end(nh__h2s *s) {
  nh__h2c *c = s->c;
  nh_mutex_lock(c->mu);
  int e = send_blocked(s);
  s->s_eof = 1;
  if (!e && s->deferred) {
    s->deferred = 0;
    nghttp2_session_resume_data(c->ss, s->id);
  }
  nh_mutex_unlock(c->mu);
  nh__h2c_kick(c);
  return e == NH__H2_ANSWERED ? NH_OK : e;
}

int nh__h2s_wait_continue(nh__h2s *s, nh_time until) {
  nh__h2c *c = s->c;
  int r = 1;
  nh_mutex_lock(c->mu);
  while (!s->got_100 && !s->head_done && !s->err && !s->closed) {
    int e = wait_locked(s, until);
    if (e == NH_ETIMEDOUT && nh_now() >= until)
      break; /* no answer yet: the body goes anyway */
    if (e) {
      r = e;
      break;
    }
  }
  if (r == 1 && !s->got_100 && (s->head_done || s->err || s->closed))
    r = s->err ? s->err : 0;
  nh_mutex_unlock(c->mu);
  return r;
}

int nh__h2s_read_head(nh__h2s *s, nh_time deadline, int *status, nh_header *header,
                      int *no_body, int *got_any) {
  nh__h2c *c = s->c;
  int e = NH_OK;
  nh_mutex_lock(c->mu);
  /* What came of the head so far (part of a block whose CONTINUATION
   * has not, or all of it) is copied; the rest goes to header directly. */
  for (uint32_t i = 0; i < s->head->len && !e; i++) {
    const nh__hentry *h = &s->head->items[i];
    e = nh__header_add_copy(header, h->key, h->klen, h->value, h->vlen);
  }
  nh__header_clear(s->head);
  if (!s->head_done)
    s->dest = header;
  while (!e && !s->head_done && !s->err && !s->closed)
    if ((e = wait_locked(s, deadline)) != NH_OK)
      break;
  s->dest = NULL;
  if (!e && !s->head_done)
    e = s->err ? s->err : NH_EBADRESPONSE;
  if (!e) {
    *status = s->status;
    *no_body = s->eof && s->rpos == s->rlen;
  }
  *got_any = s->got_any;
  nh_mutex_unlock(c->mu);
  return e;
}

/* Adds the stream's trailers to *trailer, made if need be (mu held). */
static int copy_trailers(const nh__h2s *s, nh_header **trailer) {
  if (!s->trailer || !s->trailer->len)
    return NH_OK;
  if (!*trailer && !(*trailer = nh_header_new()))
    return NH_ENOMEM;
  int e = NH_OK;
  for (uint32_t i = 0; i < s->trailer->len && !e; i++) {
    const nh__hentry *h = &s->trailer->items[i];
    e = nh__header_add_copy(*trailer, h->key, h->klen, h->value, h->vlen);
  }
  return e;
}

static size_t consume_check_every(const nh__h2c *c) {
  size_t quarter = (size_t)c->cfg.stream_window / 4;
  return quarter < 4096 ? quarter : 4096;
}

/* The connection's window gets the owed bytes back (mu held): 1 when
 * nghttp2 then has output (a WINDOW_UPDATE). */
static int give_back_owed(nh__h2c *c) {
  nghttp2_session_consume_connection(c->ss, c->conn_owed);
  c->conn_owed = 0;
  return nghttp2_session_want_write(c->ss);
}

ssize_t nh__h2s_read_body(nh__h2s *s, void *out, size_t cap, nh_time deadline,
                          nh_header **trailer) {
  nh__h2c *c = s->c;
  ssize_t r = 0;
  int kick = 0;
  nh_mutex_lock(c->mu);
  for (;;) {
    if (s->rpos < s->rlen) {
      size_t n = s->rlen - s->rpos;
      if (n > cap)
        n = cap;
      memcpy(out, s->rbuf + s->rpos, n);
      s->rpos += n;
      if (s->eof || s->closed) {
        /* The stream takes no more DATA: its own window no longer
         * matters, and the connection's gets the bytes in batches (one
         * call per quarter window rather than a stream lookup per read). */
        c->conn_owed += n;
        if (c->conn_owed >= consume_check_every(c))
          kick = give_back_owed(c);
      } else {
        nghttp2_session_consume(c->ss, s->id, n);
        /* nghttp2 queues a WINDOW_UPDATE once half a window is consumed.
         * Asking after every quarter window (4 KiB at most) rather than
         * after every read still lets it out before the peer runs dry. */
        c->consumed += n;
        if (c->consumed >= consume_check_every(c)) {
          c->consumed = 0;
          kick = nghttp2_session_want_write(c->ss);
        }
      }
      r = (ssize_t)n;
      break;
    }
    if (s->eof) {
      if (trailer)
        r = copy_trailers(s, trailer);
      break;
    }
    if (s->err || s->closed) {
      r = s->err ? s->err : NH_ECONNRESET;
      break;
    }
    int e = wait_locked(s, deadline);
    if (e) {
      r = e;
      break;
    }
  }
  nh_mutex_unlock(c->mu);
  if (kick)
    nh__h2c_kick(c);
  return r;
}

int nh__h2s_refused(const nh__h2s *s) {
  nh_mutex_lock(s->c->mu);
  int r = s->err == NH__H2_REFUSED || s->unsent;
  nh_mutex_unlock(s->c->mu);
  return r;
}

void nh__h2s_close(nh__h2s *s) {
  if (!s)
    return;
  nh__h2c *c = s->c;
  nh_mutex_lock(c->mu);
  int kick = 0;
  if (!s->closed && !atomic_load(&c->dead)) {
    nghttp2_submit_rst_stream(c->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    kick = 1;
  }
  c->conn_owed += s->rlen - s->rpos; /* received, never read: the connection's window back */
  if (*slot_of(c, s->id) == s)
    *slot_of(c, s->id) = NULL;
  if (s->prev)
    s->prev->next = s->next;
  else
    c->streams = s->next;
  if (s->next)
    s->next->prev = s->prev;
  /* Output only if this close queued some (RST_STREAM, WINDOW_UPDATE):
   * every other call that queues frames kicks on its own, but for the
   * WINDOW_UPDATEs of an open stream's reads, asked about here if any
   * went unasked. The last stream gone: the owed bytes go back, and an
   * I/O fiber ends until the next stream. */
  if (c->conn_owed && (c->conn_owed >= consume_check_every(c) || !c->streams))
    kick |= give_back_owed(c);
  if (c->consumed) {
    c->consumed = 0;
    kick |= nghttp2_session_want_write(c->ss);
  }
  kick |= !c->streams;
  int keep = c->nspare < SPARE_MAX;
  if (keep)
    stream_recycle(c, s);
  nh_mutex_unlock(c->mu);
  if (kick)
    nh__h2c_kick(c);
  if (!keep)
    stream_free(s);
}
