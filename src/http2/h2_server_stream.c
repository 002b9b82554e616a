/* A stream's side of the exchange, on its handler's fiber (nh__h2_ops).
 *
 * The handler never touches the session: a head, a 1xx, consumed body
 * bytes or a reset are left on the stream, which goes on the connection's
 * work list; the connection's fiber hands them to nghttp2. Body bytes go
 * through a bounded buffer (stream_buffer): a write parks while it is
 * full, and nghttp2's data provider, pulling from it, wakes the writer.
 * Request body bytes wait in the stream's buffer (at most its window) and
 * are given back to the client's window only as the handler reads them.
 * RFC 9113 8.2.2: connection-specific fields never go out. */
#include "http2/h2_server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nethttp/errors.h"
#include "nethttp/httpdate.h"
#include "util/textproto_internal.h"

void nh__h2_stream_wake_reader(nh__h2_sstream *s) {
  if (s->r_parked)
    nh__waiter_wake(&s->rw, 0);
}

void nh__h2_stream_wake_writer(nh__h2_sstream *s) {
  if (s->w_parked)
    nh__waiter_wake(&s->ww, 0);
}

/* Nothing more can go out on s. */
static int stream_gone(const nh__h2_sstream *s) {
  return s->closed || s->c->dead || s->panicked || s->rst_pending;
}

static int park(nh__waiter *w, int *flag, const char *why, nh_time deadline) {
  nh__waiter_init(w);
  *flag = 1;
  int r = nh__waiter_park(w, why, deadline, NULL);
  *flag = 0;
  return r;
}

/* ---- the request ---- */

/* The body ended: the request's trailers go to the exchange's map (in its
 * memory), names canonical, as over HTTP/1. */
static void body_end(nh__h2_sstream *s, nh__proto *p) {
  p->body_done = 1;
  const char *t = s->tbuf;
  for (uint32_t i = 0; p->trailer && i < s->ntrail; i++) {
    const char *value = t + strlen(t) + 1;
    nh_header_add(p->trailer, t, value); /* an invalid one is left out */
    t = value + strlen(value) + 1;
  }
  s->ntrail = 0;
}

static ssize_t h2_read_body(nh__proto *p, void *buf, size_t cap) {
  nh__h2_sstream *s = SS(p);
  for (;;) {
    if (s->ilen > s->ioff) {
      size_t n = s->ilen - s->ioff;
      if (n > cap)
        n = cap;
      memcpy(buf, s->ibuf + s->ioff, n);
      s->ioff += n;
      s->consumed += n;
      nh__h2_stream_kick(s); /* WINDOW_UPDATE as the handler reads */
      if (s->end_stream_recv && s->ioff == s->ilen)
        body_end(s, p);
      return (ssize_t)n;
    }
    if (s->end_stream_recv) {
      body_end(s, p);
      return 0;
    }
    if (s->closed || s->c->dead)
      return NH_ECONNRESET;
    if (s->expect_continue && !s->continue_sent && !s->head_given) {
      s->continue_sent = 1;
      p->ops->send_1xx(p, 100, NULL);
    }
    int r = park(&s->rw, &s->r_parked, "HTTP/2 stream: request body", p->read_deadline);
    if (r == NH_ETIMEDOUT)
      s->c->host->count(s->c->host, NH__H2_EV_TIMEOUT_READ);
    if (r)
      return r;
  }
}

static void h2_refuse_body(nh__proto *p) { SS(p)->body_refused = 1; }

/* ---- heads ---- */

/* RFC 9113 8.2.2, and Go's list: fields of a connection, not a message. */
static int connection_specific(const char *k, size_t n) {
  return nh__token_is(k, n, "connection", 10) || nh__token_is(k, n, "keep-alive", 10) ||
         nh__token_is(k, n, "proxy-connection", 16) ||
         nh__token_is(k, n, "transfer-encoding", 17) || nh__token_is(k, n, "upgrade", 7);
}

/* One block: the nv array, then copies of every name (lowercased) and
 * value, so it stands alone until the connection's fiber submits it,
 * however soon the handler returns. A final head's block is the stream's
 * own (nvmem, kept across the streams that reuse the struct); a 1xx's is
 * malloc'd, as it may wait beside the final head. */
typedef struct nvs {
  nghttp2_nv *nv;
  size_t n, cap;
  char *text;
  size_t tlen, tcap;
  uint8_t flags; /* of every field */
} nvs;

/* Room for fields and text bytes: in *mem (of *memcap bytes, grown as
 * needed) when mem is given, else a new block. */
static int nvs_init(nvs *v, size_t fields, size_t text, void **mem, size_t *memcap) {
  size_t need = fields * sizeof *v->nv + text;
  v->cap = fields;
  v->tcap = text;
  v->n = v->tlen = 0;
  if (!mem) {
    v->nv = malloc(need);
  } else if (*memcap >= need) {
    v->nv = *mem;
  } else {
    size_t cap = need < 1024 ? 1024 : need;
    void *nb = malloc(cap);
    if (nb) {
      free(*mem);
      *mem = nb;
      *memcap = cap;
    }
    v->nv = nb;
  }
  v->text = v->nv ? (char *)(v->nv + fields) : NULL;
  /* The stream's block lives until the stream closes, and nghttp2 reads
   * a head's fields only to send it, before that: no copy of them. (A
   * head still queued when its stream closes is dropped unread.) */
  v->flags = mem ? NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE
                 : NGHTTP2_NV_FLAG_NONE;
  return v->nv ? NH_OK : NH_ENOMEM;
}

static void nvs_add(nvs *v, const char *k, size_t kl, const char *val, size_t vl) {
  if (v->n == v->cap || v->tlen + kl + vl > v->tcap)
    return;
  uint8_t *name = (uint8_t *)v->text + v->tlen;
  for (size_t i = 0; i < kl; i++)
    name[i] = (uint8_t)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
  uint8_t *value = name + kl;
  memcpy(value, val, vl);
  v->tlen += kl + vl;
  v->nv[v->n++] = (nghttp2_nv){name, value, kl, vl, v->flags};
}

/* n in decimal at the end of buf[24]; returns its length. (snprintf cost
 * as much as the rest of the head.) */
static size_t format_length(char buf[24], uint64_t n) {
  size_t k = 0;
  do
    buf[23 - k++] = (char)('0' + n % 10);
  while ((n /= 10));
  return k;
}

/* status and fields (connection-specific ones dropped, and Content-Length
 * too with drop_length) into an nv array with room for extra fields of
 * extra_text bytes: own's block for a final head, else a new one. */
static int build_nv(nvs *v, nh__h2_sstream *own, int status, const nh_header *fields,
                    int drop_length, int extra, size_t extra_text) {
  size_t nf = fields ? fields->len : 0, text = 16 + extra_text;
  for (size_t i = 0; i < nf; i++)
    text += fields->items[i].klen + fields->items[i].vlen;
  if (nvs_init(v, nf + 1 + (size_t)extra, text, own ? &own->nvmem : NULL,
                own ? &own->nvmemcap : NULL) != NH_OK)
    return NH_ENOMEM;
  char st[3] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                (char)('0' + status % 10)};
  nvs_add(v, ":status", 7, st, 3);
  for (size_t i = 0; i < nf; i++) {
    const nh__hentry *e = &fields->items[i];
    if (connection_specific(e->key, e->klen) ||
        (drop_length && nh__token_is(e->key, e->klen, "content-length", 14)))
      continue;
    nvs_add(v, e->key, e->klen, e->value, e->vlen);
  }
  return NH_OK;
}

static int h2_send_1xx(nh__proto *p, int status, const nh_header *fields) {
  nh__h2_sstream *s = SS(p);
  if (stream_gone(s))
    return NH_EPIPE;
  nvs v;
  nh__h2_interim *in = malloc(sizeof *in);
  if (!in || build_nv(&v, NULL, status, fields, 1, 0, 0) != NH_OK) {
    free(in);
    return NH_ENOMEM;
  }
  in->nva = v.nv;
  in->nnv = v.n;
  in->next = NULL;
  *s->interim_tail = in;
  s->interim_tail = &in->next;
  nh__h2_stream_kick(s);
  return NH_OK;
}

/* ---- bodies ---- */

static int room(nh__h2_sstream *s) {
  if (s->ooff == s->olen)
    s->ooff = s->olen = 0;
  if (s->olen < s->ocap)
    return 1;
  if (s->ooff) {
    memmove(s->obuf, s->obuf + s->ooff, s->olen - s->ooff);
    s->olen -= s->ooff;
    s->ooff = 0;
    return 1;
  }
  size_t max = s->c->host->cfg.stream_buffer;
  if (s->ocap >= max)
    return 0;
  size_t cap = s->ocap ? s->ocap * 2 : 4096; /* small: kept for reuse */
  if (cap > max)
    cap = max;
  char *nb = realloc(s->obuf, cap);
  if (!nb)
    return 0;
  s->obuf = nb;
  s->ocap = cap;
  return 1;
}

static int put_body(nh__h2_sstream *s, const struct iovec *iov, int n, int end) {
  for (int i = 0; i < n; i++) {
    const char *b = iov[i].iov_base;
    size_t left = iov[i].iov_len;
    while (left) {
      if (stream_gone(s))
        return NH_EPIPE;
      if (!room(s)) {
        nh__h2_stream_kick(s);
        int r = park(&s->ww, &s->w_parked, "HTTP/2 stream: flow control", s->pub.base.write_deadline);
        if (r) {
          if (r == NH_ETIMEDOUT) { /* Go: the stream ends INTERNAL_ERROR */
            s->c->host->count(s->c->host, NH__H2_EV_TIMEOUT_WRITE);
            s->rst_pending = 1;
            s->rst_code = NGHTTP2_INTERNAL_ERROR;
            nh__h2_stream_kick(s);
          }
          return r;
        }
        continue;
      }
      size_t k = s->ocap - s->olen;
      if (k > left)
        k = left;
      memcpy(s->obuf + s->olen, b, k);
      s->olen += k;
      b += k;
      left -= k;
    }
  }
  if (end)
    s->out_end = 1;
  nh__h2_stream_kick(s);
  return NH_OK;
}

/* The body's end with trailers: they wait on s, as an nv array, for the
 * data provider to end the body without END_STREAM and submit them. */
static int keep_trailers(nh__h2_sstream *s, const nh_header *t) {
  if (!t || !t->len || s->tnva)
    return NH_OK;
  size_t text = 0;
  for (uint32_t i = 0; i < t->len; i++)
    text += t->items[i].klen + t->items[i].vlen;
  nvs v;
  /* A block of its own, freed once submitted. */
  if (nvs_init(&v, t->len, text, NULL, NULL) != NH_OK)
    return NH_ENOMEM;
  for (uint32_t i = 0; i < t->len; i++) {
    const nh__hentry *e = &t->items[i];
    if (!connection_specific(e->key, e->klen))
      nvs_add(&v, e->key, e->klen, e->value, e->vlen);
  }
  s->tnva = v.nv;
  s->tnnv = v.n;
  return NH_OK;
}

static int h2_write_head(nh__proto *p, const nh__head *h, const struct iovec *body, int nbody,
                         int end) {
  nh__h2_sstream *s = SS(p);
  if (stream_gone(s))
    return NH_EPIPE;
  size_t blen = 0;
  for (int i = 0; i < nbody; i++)
    blen += body[i].iov_len;
  nvs v;
  size_t ct = h->content_type ? strlen(h->content_type) : 0;
  if (build_nv(&v, s, h->status, h->fields, h->drop_length, 3,
               64 + NH_HTTP_DATE_LEN + ct) != NH_OK)
    return NH_ENOMEM;
  if (h->date)
    nvs_add(&v, "date", 4, h->date, NH_HTTP_DATE_LEN);
  if (h->content_type)
    nvs_add(&v, "content-type", 12, h->content_type, ct);
  if (h->length >= 0) {
    char len[24];
    size_t k = format_length(len, (uint64_t)h->length);
    nvs_add(&v, "content-length", 14, len + sizeof len - k, k);
  }
  s->nva = v.nv;
  s->nnv = v.n;
  s->head_pending = s->head_given = 1;
  if (end && h->body && keep_trailers(s, p->resp_trailer) != NH_OK)
    return NH_ENOMEM;
  s->has_body = h->body && !(end && blen == 0 && !s->tnva);
  if (!s->has_body) {
    s->out_end = s->eof_sent = 1;
    nh__h2_stream_kick(s);
    return NH_OK;
  }
  return put_body(s, body, nbody, end);
}

static int h2_write_data(nh__proto *p, const struct iovec *iov, int n, int end) {
  nh__h2_sstream *s = SS(p);
  if (!s->has_body) /* HEAD, 204, 304: nothing to frame */
    return stream_gone(s) ? NH_EPIPE : NH_OK;
  if (end && keep_trailers(s, p->resp_trailer) != NH_OK)
    return NH_ENOMEM;
  return put_body(s, iov, n, end);
}

/* Until what is buffered went to nghttp2 (and out with the connection's
 * next write): Flush means the client can see it. */
static int wait_drained(nh__h2_sstream *s, int for_eof) {
  while (for_eof ? !s->eof_sent : s->olen > s->ooff) {
    if (stream_gone(s))
      return NH_EPIPE;
    nh__h2_stream_kick(s);
    int r = park(&s->ww, &s->w_parked, "HTTP/2 stream: sending", s->pub.base.write_deadline);
    if (r == NH_ETIMEDOUT)
      s->c->host->count(s->c->host, NH__H2_EV_TIMEOUT_WRITE);
    if (r)
      return r;
  }
  return NH_OK;
}

static int h2_flush(nh__proto *p) {
  nh__h2_sstream *s = SS(p);
  if (!s->has_body)
    return NH_OK;
  return wait_drained(s, 0);
}

static void h2_abort(nh__proto *p) {
  nh__h2_sstream *s = SS(p);
  if (s->closed)
    return;
  s->rst_pending = 1;
  s->rst_code = NGHTTP2_INTERNAL_ERROR;
  nh__h2_stream_kick(s);
}

/* The rest of the response is in the stream's buffer, the request is
 * complete, and the client's windows take it all: the connection's fiber
 * sends it without this fiber, which may end now (a park, a wake and two
 * switches fewer per request, and its stack is free sooner). Otherwise
 * the handler waits, so its write deadline still bounds a client that
 * keeps its window shut. Reads the session only (same thread). */
static int sends_alone(const nh__h2_sstream *s) {
  if (!s->out_end || !s->end_stream_recv || !s->in_session || stream_gone(s))
    return 0;
  nghttp2_session *ng = s->c->ng;
  int32_t sw = nghttp2_session_get_stream_remote_window_size(ng, s->pub.id);
  int32_t cw = nghttp2_session_get_remote_window_size(ng);
  size_t left = s->olen - s->ooff;
  return sw >= 0 && cw >= 0 && left <= (size_t)sw && left <= (size_t)cw;
}

static int h2_finish(nh__proto *p, int ok) {
  nh__h2_sstream *s = SS(p);
  if (ok && s->has_body && !sends_alone(s) && wait_drained(s, 1) != NH_OK)
    ok = 0;
  if (!ok) {
    h2_abort(p);
  } else if (!s->closed && !s->end_stream_recv) {
    /* RFC 9113 8.1: the response is complete, the request is not, and
     * nobody will read it. The stream stays open while the client sends
     * a little more (dropped), so that what it sends is still checked
     * (a wrong Content-Length, a bad frame: errors on this stream) and a
     * short request ends normally; past NH__H2_DRAIN_MAX it is reset
     * NO_ERROR (h2_server_recv.c). */
    s->draining = 1;
    s->c->ndraining++;
  }
  s->handler_done = 1;
  return 0;
}

static int h2_hijack(nh__proto *p, int want_tls, int *fd, struct nh_tls_conn **tls,
                     char **buffered, size_t *nbuffered) {
  (void)p, (void)want_tls, (void)fd, (void)tls, (void)buffered, (void)nbuffered;
  return NH_ENOTSUP; /* a stream is not a connection (Go: no Hijacker) */
}

const nh__proto_ops nh__h2_ops = {
    .read_body = h2_read_body,
    .write_head = h2_write_head,
    .write_data = h2_write_data,
    .sendfile = NULL,
    .cork = NULL,
    .send_1xx = h2_send_1xx,
    .refuse_body = h2_refuse_body,
    .flush = h2_flush,
    .finish = h2_finish,
    .abort = h2_abort,
    .hijack = h2_hijack,
};

/* nghttp2 pulls response bytes (on the connection's fiber). */
ssize_t nh__h2_data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user) {
  (void)user;
  nh__h2_sstream *s = src->ptr;
  size_t avail = s->olen - s->ooff;
  if (!avail && !s->out_end) {
    s->deferred = 1;
    nh__h2_stream_wake_writer(s); /* a flush waits for this */
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = avail < len ? avail : len;
  if (n) /* none: the end, with trailers, of an empty body */
    memcpy(buf, s->obuf + s->ooff, n);
  s->ooff += n;
  if (s->ooff == s->olen && s->out_end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    s->eof_sent = 1;
    if (s->tnva) { /* trailers end the stream: a HEADERS frame after the DATA */
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      int e = nghttp2_submit_trailer(ng, id, s->tnva, s->tnnv);
      free(s->tnva); /* nghttp2 copied it */
      s->tnva = NULL;
      if (e)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
  }
  nh__h2_stream_wake_writer(s);
  return (ssize_t)n;
}

/* ---- the request head ---- */

int nh__h2_stream_head(nh__h2_stream *pub, nh__req_head *out) {
  nh__h2_sstream *s = SS(pub);
  char *b = s->hbuf;
  memset(out, 0, sizeof *out);
  out->method = s->method >= 0 ? b + s->method : (char *)"GET";
  out->method_len = (uint32_t)strlen(out->method);
  /* CONNECT has no :path; its target is the authority (Go). */
  out->target = s->path >= 0 ? b + s->path : s->authority >= 0 ? b + s->authority : (char *)"/";
  out->proto = "HTTP/2.0";
  out->major = 2;
  out->minor = 0;
  nh_header *h = pub->base.req_fields;
  nh__header_init(h, pub->base.arena);
  int has_host = 0;
  char *cookie = NULL;
  size_t cookie_len = 0;
  int64_t cl = -1;
  for (uint32_t i = 0; i < s->nfields; i++) {
    nh__h2_field *f = &s->fields[i];
    char *name = b + f->name;
    const char *value = b + f->value;
    if (f->nlen == 6 && !memcmp(name, "cookie", 6)) {
      /* RFC 9113 8.2.3: split cookies are joined with "; " (Go). */
      char *nc = nh__arena_alloc(pub->base.arena, cookie_len + (cookie ? 2 : 0) + f->vlen + 1);
      if (!nc)
        return NH_ENOMEM;
      size_t k = 0;
      if (cookie) {
        memcpy(nc, cookie, cookie_len);
        memcpy(nc + cookie_len, "; ", 2);
        k = cookie_len + 2;
      }
      memcpy(nc + k, value, f->vlen);
      cookie_len = k + f->vlen;
      nc[cookie_len] = 0;
      cookie = nc;
      continue;
    }
    if (f->nlen == 4 && !memcmp(name, "host", 4)) {
      if (s->authority >= 0)
        continue; /* :authority wins (RFC 9113 8.3.1) */
      has_host = 1;
    }
    if (f->nlen == 14 && !memcmp(name, "content-length", 14))
      cl = strtoll(value, NULL, 10);
    if (nh__header_append_raw(h, name, f->nlen, value, f->vlen) != NH_OK)
      return NH_ENOMEM;
  }
  if (cookie && nh__header_append_raw(h, nh__arena_strndup(pub->base.arena, "cookie", 6), 6,
                                      cookie, (uint32_t)cookie_len) != NH_OK)
    return NH_ENOMEM;
  if (!has_host && s->authority >= 0) {
    char *hn = nh__arena_strndup(pub->base.arena, "host", 4);
    const char *av = b + s->authority;
    if (!hn || nh__header_append_raw(h, hn, 4, av, (uint32_t)strlen(av)) != NH_OK)
      return NH_ENOMEM;
  }
  out->fields = h;
  out->names_canonical = 0;
  out->has_body = !s->end_stream_recv || s->ilen > s->ioff;
  /* Go: a body of unknown length is -1; none is 0. */
  out->content_length = cl >= 0 ? cl : out->has_body ? -1 : 0;
  out->transfer_encoding = NULL;
  pub->base.body_done = !out->has_body;
  return NH_OK;
}

void nh__h2_stream_refuse(nh__h2_stream *pub, int status, const char *text) {
  nh__h2_sstream *s = SS(pub);
  nvs v;
  if (stream_gone(s) || s->head_given || build_nv(&v, s, status, NULL, 0, 2, 128) != NH_OK)
    return;
  size_t n = strlen(text);
  if (n > sizeof s->static_body)
    n = sizeof s->static_body;
  memcpy(s->static_body, text, n);
  char len[24];
  int k = snprintf(len, sizeof len, "%zu", n);
  nvs_add(&v, "content-type", 12, "text/plain; charset=utf-8", 25);
  nvs_add(&v, "content-length", 14, len, (size_t)k);
  s->nva = v.nv;
  s->nnv = v.n;
  s->head_pending = s->head_given = 1;
  s->has_body = 1;
  put_body(s, &(struct iovec){s->static_body, n}, 1, 1);
  wait_drained(s, 1);
}

void nh__h2_stream_panicked(nh__h2_stream *pub) {
  nh__h2_sstream *s = SS(pub);
  s->panicked = 1;
  s->head_pending = 0;
  if (!s->closed) {
    s->rst_pending = 1;
    s->rst_code = NGHTTP2_INTERNAL_ERROR;
    nh__h2_stream_kick(s);
  }
}

void nh__h2_stream_main(void *arg) {
  nh__h2_sstream *s = arg;
  nh__h2_conn *c = s->c;
  nh_dur rt = c->host->read_timeout, wt = c->host->write_timeout;
  s->pub.base.read_deadline = rt >= 0 ? nh__loop_deadline(c->loop, rt) : NH_NO_DEADLINE;
  s->pub.base.write_deadline = wt >= 0 ? nh__loop_deadline(c->loop, wt) : NH_NO_DEADLINE;
  nh_fiber_set_ctx(s->pub.ctx);
  c->host->serve(c->host, &s->pub);
  nh_fiber_set_ctx(NULL);
  s->handler_done = 1;
  nh__h2_stream_fiber_done(&s->pub);
}
