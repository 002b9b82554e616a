/* One turn of an HTTP/1 server connection, on its fiber (see h1_server.h).
 *
 *   read what is there -> nothing: go idle (the server waits without a
 *   fiber) -> head bytes: read until the head is complete (read-header
 *   deadline) -> hand it to the server as a neutral head -> the exchange
 *   runs over nh__h1_ops -> keep-alive: the next request (pipelined bytes
 *   first) or idle; else close, lingering if the client may still send.
 *
 * A head that cannot be served is refused here with its status (400, 408,
 * 431, 501, 505...), before any exchange exists. */
#include "http1/h1_server.h"

#include <stdlib.h>
#include <string.h>

#include "nethttp/status.h"

int nh__h1_sconn_init(nh__h1_sconn *hc, const nh__h1_host *host, nh__h1_link *link,
                      nh_loop *loop, nh__bufpool *pool, nh__bufpool *fields_pool) {
  memset(hc, 0, offsetof(nh__h1_sconn, host));
  hc->base.ops = &nh__h1_ops;
  hc->host = host;
  hc->link = link;
  hc->loop = loop;
  hc->pool = pool;
  hc->owner = NULL;
  hc->fields_pool = fields_pool;
  hc->fields = (nh__h1_field *)nh__bufpool_get(fields_pool);
  nh__h1_req_init(&hc->parser, hc->fields, (int)(fields_pool->size / sizeof(nh__h1_field)));
  /* The parser checks every name byte by byte: it puts them in canonical
   * form on the way, and the exchange need not (names_canonical). */
  hc->parser.canonical_names = 1;
  hc->buf = nh__bufpool_get(pool);
  hc->cap = hc->buf ? pool->size : 0;
  if (hc->buf && hc->fields)
    return NH_OK;
  nh__h1_sconn_dispose(hc);
  return NH_ENOMEM;
}

static void fields_put(nh__h1_sconn *hc) {
  if (hc->fields_pool)
    nh__bufpool_put(hc->fields_pool, (char *)hc->fields);
  hc->fields_pool = NULL;
  hc->fields = hc->parser.fields = NULL;
  hc->parser.max_fields = 0;
}

/* A buffer back to the pool if it is one of the pool's size. */
static void buf_put(nh__h1_sconn *hc, char *buf, size_t cap) {
  if (cap == hc->pool->size)
    nh__bufpool_put(hc->pool, buf);
  else
    free(buf);
}

void nh__h1_release_retired(nh__h1_sconn *hc) {
  if (hc->retired)
    buf_put(hc, hc->retired, hc->retired_cap);
  hc->retired = NULL;
  free(hc->head_copy);
  hc->head_copy = NULL;
}

void nh__h1_release_read_buf(nh__h1_sconn *hc) {
  fields_put(hc);
  if (!hc->head_copy)
    return; /* the request's strings live in the buffer: it stays */
  if (hc->retired)
    buf_put(hc, hc->retired, hc->retired_cap);
  hc->retired = NULL;
  if (hc->buf)
    buf_put(hc, hc->buf, hc->cap);
  hc->buf = NULL;
  hc->cap = hc->len = hc->pos = hc->head_end = 0;
}

void nh__h1_sconn_dispose(nh__h1_sconn *hc) {
  fields_put(hc);
  nh__h1_release_retired(hc);
  if (hc->buf)
    buf_put(hc, hc->buf, hc->cap);
  hc->buf = NULL;
}

void nh__h1_linger(nh__stream *io) {
  if (!io->fd)
    return;
  shutdown(nh_fd_get(io->fd), SHUT_WR);
  char sink[4096];
  nh_time dl = nh_deadline_after(500 * NH_MSEC);
  for (size_t total = 0; total < 1024 * 1024;) {
    ssize_t r = nh_fd_read(io->fd, sink, sizeof sink, dl);
    if (r <= 0)
      break;
    total += (size_t)r;
  }
}

/* ---- reading a head ---- */

enum { HEAD_OK = 1, GO_IDLE = 2, CONN_GONE = 3 };

static void begin_head(nh__h1_sconn *hc) {
  const nh__h1_host *host = hc->host;
  hc->header_deadline = nh__loop_deadline(hc->loop, host->read_header_timeout);
  hc->base.read_deadline = nh__loop_deadline(hc->loop, host->read_timeout);
  host->head_started(hc->link);
}

static int grow_buf(nh__h1_sconn *hc, size_t limit) {
  if (hc->cap >= limit)
    return 0;
  size_t cap = hc->cap * 2 < limit ? hc->cap * 2 : limit;
  char *b;
  if (hc->cap == hc->pool->size) { /* pooled buffer: copy out of it */
    b = malloc(cap);
    if (b) {
      memcpy(b, hc->buf, hc->len);
      nh__bufpool_put(hc->pool, hc->buf);
    }
  } else {
    b = realloc(hc->buf, cap);
  }
  if (!b)
    return 0;
  hc->buf = b;
  hc->cap = cap;
  return 1;
}

/* Returns HEAD_OK, GO_IDLE (nothing to read: release the fiber), CONN_GONE,
 * or minus the HTTP status to answer with. */
static int read_head(nh__h1_sconn *hc) {
  nh__h1_link *l = hc->link;
  size_t limit = hc->host->max_header_bytes;
  int started = hc->len > 0;
  if (started)
    begin_head(hc);
  for (;;) {
    if (hc->pos < hc->len) {
      int r = nh__h1_parse_head(&hc->parser, hc->buf, &hc->pos, hc->len);
      if (r == 1) {
        hc->head_end = hc->pos;
        /* A head that arrived whole in one read still has to be within
         * the limit: the head starts at offset 0 of the buffer. */
        return hc->head_end > limit ? -NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE : HEAD_OK;
      }
      if (r < 0)
        return -hc->parser.status;
    }
    if (hc->len > limit)
      return -NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE;
    if (hc->len == hc->cap && !grow_buf(hc, limit + 1))
      return -NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE;
    if (!l->io.fd)
      return CONN_GONE;
    ssize_t n = nh__stream_try_read(&l->io, hc->buf + hc->len, hc->cap - hc->len);
    hc->short_read = n >= 0 && (size_t)n < hc->cap - hc->len;
    if (n > 0) {
      if (!started) {
        started = 1;
        begin_head(hc);
      }
      hc->len += (size_t)n;
      continue;
    }
    if (n != NH_EAGAIN) {
      nh__h1_close_why(l, NH_CLOSE_CLIENT);
      return CONN_GONE; /* end of stream or reset */
    }
    if (!started)
      return GO_IDLE;
    /* Parked on a partial head: say whose, for dumps and leak reports. */
    nh__fiber_set_label2("conn", 4, l->remote, strlen(l->remote));
    nh_time dl = hc->header_deadline < hc->base.read_deadline ? hc->header_deadline
                                                               : hc->base.read_deadline;
    int e = nh_fd_wait(l->io.fd, NH_FD_READ, dl);
    if (e == NH_ETIMEDOUT) {
      hc->host->count(hc->host, NH__H1_EV_TIMEOUT_HEADER);
      nh__h1_close_why(l, NH_CLOSE_TIMEOUT_HEADER);
      return -NH_STATUS_REQUEST_TIMEOUT;
    }
    if (e) {
      nh__h1_close_why(l, NH_CLOSE_CLIENT);
      return CONN_GONE;
    }
  }
}

/* Whether the head has an Upgrade field (names are canonical by now). */
static int asks_upgrade(const nh__h1_sconn *hc) {
  const nh__h1_req *p = &hc->parser;
  for (int i = 0; i < p->nfields; i++)
    if (p->fields[i].name.len == 7 && !memcmp(hc->buf + p->fields[i].name.off, "Upgrade", 7))
      return 1;
  return 0;
}

/* The parsed head as neutral fields. Each span is followed by a delimiter
 * llhttp has already consumed (' ' after method and target, ':' after a
 * name, whitespace or CR/LF after a value), so a NUL there costs nothing
 * and the strings stay where they are.
 *
 * Where they are is the read buffer (8 KiB), except for a request that
 * asks for an upgrade: it may be hijacked and then live for hours (a
 * WebSocket), and its request must stay valid as long as its handler runs
 * (Go's rule), strings already read from it included. Its head is copied
 * out first, to an allocation of its own size, and the strings point
 * there from the start: a hijack can give the read buffer back at once. */
static int neutral_head(nh__h1_sconn *hc, nh__req_head *h) {
  nh__h1_req *p = &hc->parser;
  char *b = hc->buf;
  if (NH__UNLIKELY(asks_upgrade(hc)) && (hc->head_copy = malloc(hc->head_end))) {
    memcpy(hc->head_copy, hc->buf, hc->head_end);
    b = hc->head_copy;
  }
  b[p->method.off + p->method.len] = 0;
  b[p->target.off + p->target.len] = 0;
  h->method = b + p->method.off;
  h->method_len = p->method.len;
  h->target = b + p->target.off;
  /* As sent: Go keeps "HTTP/1.2" and serves it as 1.1 (the parser took
   * one digit each). */
  static const char *const protos[10] = {"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/1.3",
                                         "HTTP/1.4", "HTTP/1.5", "HTTP/1.6", "HTTP/1.7",
                                         "HTTP/1.8", "HTTP/1.9"};
  h->proto = protos[p->minor >= 0 && p->minor <= 9 ? p->minor : 1];
  h->major = p->major;
  h->minor = p->minor;
  nh_header *out = hc->base.req_fields;
  nh__header_init(out, hc->base.arena);
  for (int i = 0; i < p->nfields; i++) {
    const nh__h1_field *f = &p->fields[i];
    char *name = b + f->name.off;
    name[f->name.len] = 0;
    const char *value = "";
    if (f->value.len) {
      b[f->value.off + f->value.len] = 0;
      value = b + f->value.off;
    }
    if (nh__header_append_raw(out, name, f->name.len, value, f->value.len) != NH_OK)
      return -1;
  }
  h->fields = out;
  h->names_canonical = 1;
  h->transfer_encoding = p->chunked ? "chunked" : NULL;
  h->content_length = p->chunked ? -1 : (p->content_length > 0 ? p->content_length : 0);
  h->has_body = nh__h1_has_body(p);
  return 0;
}

/* ---- the turn ---- */

static void refuse(nh__h1_sconn *hc, int status) {
  hc->host->count(hc->host, NH__H1_EV_BAD);
  NH_LOG(hc->host->log, NH_LOG_DEBUG, "refused a request", NH_LINT("status", status),
         NH_LSTR("reason", hc->parser.reason ? hc->parser.reason : nh_status_text(status)),
         NH_LSTR("remote", hc->link->remote));
  nh__h1_send_error(hc, status, hc->parser.reason);
}

int nh__h1_serve(nh__h1_sconn *hc) {
  nh__h1_link *l = hc->link;
  for (;;) {
    int r = read_head(hc);
    if (r == GO_IDLE)
      return NH__H1_IDLE;
    if (r == CONN_GONE)
      return NH__H1_CLOSE;
    if (r < 0) {
      refuse(hc, -r);
      return NH__H1_CLOSE;
    }
    nh__req_head head;
    if (neutral_head(hc, &head) < 0) {
      nh__h1_send_error(hc, 503, "out of memory");
      return NH__H1_CLOSE;
    }
    hc->base.body_done = !head.has_body;
    int outcome = hc->host->serve(hc, &head);
    nh__h1_release_retired(hc);
    if (outcome == NH__H1_HIJACKED)
      return outcome;
    /* Nothing buffered, the socket was drained by a short read and no
     * readiness edge came since: a read now would only say EAGAIN. Go idle
     * straight away (edge-triggered epoll reports the next bytes). The
     * fiber ends without waiting on anything, so its label (cleared by the
     * next spawn) and parser need no reset: the common keep-alive path. */
    if (outcome == NH__H1_KEEP && l->io.fd && hc->pos == hc->len &&
        nh__stream_drained(&l->io, hc->short_read))
      return NH__H1_IDLE;
    nh_fiber_set_label("");
    /* The client may still be sending the body, or pipelined requests
     * this connection will not answer: closing on unread bytes sends a
     * reset, which can destroy the answer before the client reads it. */
    if (outcome == NH__H1_CLOSE && l->io.fd &&
        (!hc->base.body_done || hc->pos < hc->len || nh_fd_read_pending(l->io.fd)))
      nh__h1_linger(&l->io);
    if (outcome != NH__H1_KEEP || !l->io.fd)
      return NH__H1_CLOSE;
    /* Pipelined bytes move to the front; the next head starts there. */
    memmove(hc->buf, hc->buf + hc->pos, hc->len - hc->pos);
    hc->len -= hc->pos;
    hc->pos = hc->head_end = 0;
    hc->continue_sent = hc->body_error = 0;
    hc->committed = hc->head_only = hc->chunked = hc->close_after = 0;
    nh__h1_req_next(&hc->parser);
  }
}
