/* The response writer (Go's ResponseWriter).
 *
 * Output is buffered in the connection's write buffer. When the handler
 * returns with everything in the buffer, the response goes out in one
 * writev with a Content-Length. When the buffer overflows, or the handler
 * flushes, the head is committed: with the handler's Content-Length if it
 * set one, else chunked (HTTP/1.1) or close-delimited (HTTP/1.0). Before the
 * head is committed, a request body the handler did not read is drained (up
 * to max_body_drain) so the connection can be kept; otherwise the response
 * says Connection: close (Go's rule). */
#include "exchange.h"
#include "tls_io.h"
#include "runtime/netpoll_internal.h"
#include "nethttp/httpdate.h"
#include "nethttp/sniff.h"
#include "nethttp/status.h"
#include "nethttp/textproto.h"
#include "util/textproto_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


int nh__resp_alive(const nh_response_writer *w, const char *what, const char *file, int line) {
  if (w && w->magic == NH__RESP_MAGIC)
    return 1;
  NH_LOG(NULL, NH_LOG_ERROR, "response writer used after its handler returned",
         NH_LSTR("call", what), NH_LLOC("caller", file, line));
  return 0;
}

void nh__resp_init(nh__serve *s, nh_response_writer *w) {
  NH__ZERO_BUT_HEADER(w, nh_response_writer);
  w->magic = NH__RESP_MAGIC;
  w->s = s;
  nh__header_init(&w->header, &s->arena);
  w->declared_length = -1;
  w->head_request = s->req.method[0] == 'H' && !strcmp(s->req.method, "HEAD");
  w->write_deadline = nh__serve_deadline(s, s->srv->cfg.write_timeout);
}

nh_header *nh_resp_header(nh_response_writer *w) { return &w->header; }
int nh_resp_status(const nh_response_writer *w) { return w->status; }
int64_t nh_resp_written(const nh_response_writer *w) { return w->written; }
int nh_resp_committed(const nh_response_writer *w) { return w->committed; }
int nh_resp_hijacked(const nh_response_writer *w) { return w->hijacked; }

void nh__resp_abort(nh_response_writer *w) {
  w->failed = 1;
  w->close_after = 1;
  if (w->s->c)
    w->s->c->closing = 1;
}

int nh_resp_set_read_deadline(nh_response_writer *w, nh_time deadline) {
  if (!nh__resp_alive(w, "nh_resp_set_read_deadline", NULL, 0))
    return NH_EINVAL;
  w->s->read_deadline = deadline;
  return NH_OK;
}

int nh_resp_set_write_deadline(nh_response_writer *w, nh_time deadline) {
  if (!nh__resp_alive(w, "nh_resp_set_write_deadline", NULL, 0))
    return NH_EINVAL;
  w->write_deadline = deadline;
  return NH_OK;
}

/* ---- writing to the connection ---- */

static int send_iov(nh_response_writer *w, struct iovec *iov, int n) {
  nh__serve *s = w->s;
  if (s->rec) { /* a recorder, not a socket */
    for (int i = 0; i < n; i++)
      if (nh__wire_append(s->rec, iov[i].iov_base, iov[i].iov_len) != NH_OK)
        return NH_ENOMEM;
    return NH_OK;
  }
  if (!s->c->fd) {
    w->failed = 1;
    return NH_ECLOSED;
  }
  s->c->client_wait = nh__serve_deadline(s, 0); /* now; cleared unless the client is slow */
  ssize_t r = nh__conn_writev(s->c, iov, n, w->write_deadline);
  s->c->client_wait = 0;
  if (r >= 0)
    return NH_OK;
  w->failed = 1;
  s->c->closing = 1;
  nh__conn_close_why(s->c, r == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_WRITE : NH_CLOSE_CLIENT);
  if (r == NH_ETIMEDOUT && s->c->fd) {
    NH__STAT_INC(s->srv, st_to_write);
    /* Abortive close: the unsent bytes would otherwise keep the socket (and
     * its buffer) alive in the kernel for as long as the client dawdles. */
    struct linger lg = {1, 0};
    setsockopt(nh_fd_get(s->c->fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  return (int)r;
}

/* ---- the head ---- */

typedef struct headbuf {
  char *p;
  size_t len, cap;
} headbuf;

static void hb_put(headbuf *h, const char *s, size_t n) {
  if (n && h->len + n <= h->cap) { /* n: a NULL source may come with 0 */
    memcpy(h->p + h->len, s, n);
    h->len += n;
  }
}
static void hb_str(headbuf *h, const char *s) { hb_put(h, s, strlen(s)); }
static void hb_field_n(headbuf *h, const char *k, size_t klen, const char *v, size_t vlen) {
  hb_put(h, k, klen);
  hb_put(h, ": ", 2);
  hb_put(h, v, vlen);
  hb_put(h, "\r\n", 2);
}
static void hb_field(headbuf *h, const char *k, const char *v) {
  hb_field_n(h, k, strlen(k), v, strlen(v));
}

static size_t head_size(const nh_response_writer *w) {
  size_t n = 256;
  for (uint32_t i = 0; i < w->header.len; i++)
    n += w->header.items[i].klen + w->header.items[i].vlen + 4;
  return n;
}

/* Number formatting without printf: these run for every response. */
static size_t fmt_dec(char *out, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10));
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

/* "1a2b\r\n": a chunk-size line. */
static size_t fmt_chunk(char *out, size_t v) {
  char tmp[20];
  size_t n = 0;
  do
    tmp[n++] = "0123456789abcdef"[v & 15];
  while ((v >>= 4));
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

static void status_line(headbuf *h, int status) {
  if (status == NH_STATUS_OK) { /* most responses: no lookup, no digits */
    hb_put(h, "HTTP/1.1 200 OK\r\n", 17);
    return;
  }
  const char *text = nh_status_text(status);
  char code[3] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                  (char)('0' + status % 10)};
  hb_put(h, "HTTP/1.1 ", 9);
  hb_put(h, code, 3);
  hb_put(h, " ", 1);
  hb_str(h, *text ? text : "status code");
  hb_put(h, "\r\n", 2);
}

static void hb_length(headbuf *h, int64_t n) {
  char line[48]; /* the whole line, then one copy */
  memcpy(line, "Content-Length: ", 16);
  size_t len = 16 + fmt_dec(line + 16, (uint64_t)n);
  line[len++] = '\r';
  line[len++] = '\n';
  hb_put(h, line, len);
}

/* Decide whether the unread request body lets the connection live on. */
static void settle_request_body(nh_response_writer *w) {
  nh__serve *s = w->s;
  if (s->body_done || w->close_after)
    return;
  /* A connection already condemned (a body over nh_request_limit_body's
   * cap, a read error) is not worth a drain that may wait on the client. */
  if (s->c->closing || !nh__request_drain(s, s->srv->cfg.max_body_drain))
    w->close_after = 1;
}

/* The entry's key is lower, given in lowercase: for every header of every
 * response, cheaper than strcasecmp. */
static int key_is(const nh__hentry *e, const char *lower, size_t len) {
  return nh__token_is(e->key, e->klen, lower, len);
}

/* Whether body bytes follow the head (RFC 9110 §6.4.1): never for HEAD, 1xx,
 * 204 or 304, whichever way the response is sent, so no framing (chunked,
 * close-delimited) is chosen for them and no byte is sent after the head.
 * A pipelining client would read any such byte as the next response. */
static int body_follows(const nh_response_writer *w) {
  return !w->no_body && !w->head_request;
}

/* conn_close: the handler's headers say "Connection: close". */
static int want_close(const nh_response_writer *w, int conn_close) {
  nh__serve *s = w->s;
  return w->close_after || !s->parser.keep_alive || s->c->closing ||
         atomic_load(&s->srv->shutting_down) || conn_close;
}

/* Serialize the status line and headers. final: the whole body is buffered
 * (so its length is known). */
static int build_head(nh_response_writer *w, headbuf *h, int final, size_t room) {
  nh__serve *s = w->s;
  h->cap = head_size(w) + room;
  h->p = nh__arena_alloc(&s->arena, h->cap);
  h->len = 0;
  if (!h->p)
    return NH_ENOMEM;
  status_line(h, w->status);
  int has_date = 0, has_type = 0, conn_close = 0;
  for (uint32_t i = 0; i < w->header.len; i++) {
    const nh__hentry *e = &w->header.items[i];
    /* Framing is ours to decide. */
    if (key_is(e, "transfer-encoding", 17) ||
        (key_is(e, "content-length", 14) && (w->no_body && w->status != 304)))
      continue;
    if (key_is(e, "date", 4))
      has_date = 1;
    else if (key_is(e, "content-type", 12))
      has_type = 1;
    else if (key_is(e, "connection", 10) && nh_token_list_has(e->value, "close"))
      conn_close = 1; /* found here rather than by two lookups after */
    hb_field_n(h, e->key, e->klen, e->value, e->vlen);
  }
  if (!has_date) {
    char date[32];
    nh_http_date_now(date);
    hb_field_n(h, "Date", 4, date, NH_HTTP_DATE_LEN); /* the clock's year has four digits */
  }
  if (!has_type && !w->no_body && w->blen > 0)
    hb_field(h, "Content-Type",
             nh_detect_content_type(w->body, w->blen < NH_SNIFF_LEN ? w->blen : NH_SNIFF_LEN));
  else if (!has_type && !w->no_body && w->sniffed_type)
    hb_field(h, "Content-Type", w->sniffed_type);
  if (body_follows(w) && w->declared_length < 0) {
    if (final) {
      hb_length(h, w->written);
    } else if (s->parser.minor >= 1) {
      w->chunked = 1;
      hb_str(h, "Transfer-Encoding: chunked\r\n");
    } else {
      w->close_after = 1; /* HTTP/1.0: the end of the body is the close */
    }
  } else if (w->head_request && !w->no_body && w->declared_length < 0 && final && w->written) {
    /* The length a GET would have had (Go's rule: only if the handler
     * wrote something). Not final, it is unknown and left out: a HEAD
     * response has no body to frame, so it is never chunked and never
     * needs the close to end it, whatever the version (Go's
     * chunkWriter.writeHeader). */
    hb_length(h, w->written);
  }
  if (want_close(w, conn_close)) {
    w->close_after = 1;
    if (!conn_close)
      hb_str(h, "Connection: close\r\n");
  } else if (s->parser.minor == 0) {
    hb_str(h, "Connection: keep-alive\r\n");
  }
  hb_put(h, "\r\n", 2);
  return h->len < h->cap ? NH_OK : NH_ENOMEM;
}

/* Commit the head and send it with the buffered body (and more, if given). */
/* Bodies up to this size are copied behind the head (see commit_and_send). */
#define INLINE_BODY_MAX 2048

static int commit_and_send(nh_response_writer *w, const void *more, size_t nmore, int final) {
  if (w->buffer_max) {
    nh__resp_settle_held(w);
    w->buffer_max = 0; /* from here on it streams */
  }
  settle_request_body(w);
  /* A small body goes right after the head, in the same buffer: one
   * contiguous send, which costs the kernel less than a vector. Room is
   * made before build_head decides the framing; only a body sent as it is
   * (not chunked) goes there. */
  int has_body = body_follows(w);
  size_t room = has_body && w->blen + nmore <= INLINE_BODY_MAX ? w->blen + nmore : 0;
  headbuf h;
  int e = build_head(w, &h, final, room);
  if (e) {
    w->failed = 1;
    return e;
  }
  w->committed = 1;
  if (room && !w->chunked) {
    hb_put(&h, w->body, w->blen);
    hb_put(&h, more, nmore);
    has_body = 0;
  }
  struct iovec iov[8];
  int n = 0;
  iov[n++] = (struct iovec){h.p, h.len};
  char chunk_hdr[24], chunk_hdr2[24];
  if (has_body) {
    if (w->chunked) {
      if (w->blen) {
        iov[n++] = (struct iovec){chunk_hdr, fmt_chunk(chunk_hdr, w->blen)};
        iov[n++] = (struct iovec){w->body, w->blen};
        iov[n++] = (struct iovec){(void *)"\r\n", 2};
      }
      if (nmore) {
        iov[n++] = (struct iovec){chunk_hdr2, fmt_chunk(chunk_hdr2, nmore)};
        iov[n++] = (struct iovec){(void *)more, nmore};
        iov[n++] = (struct iovec){(void *)"\r\n", 2};
      }
    } else {
      if (w->blen)
        iov[n++] = (struct iovec){w->body, w->blen};
      if (nmore)
        iov[n++] = (struct iovec){(void *)more, nmore};
    }
  }
  e = send_iov(w, iov, n);
  w->blen = 0;
  return e;
}

/* After the head: send bytes framed as the head said. */
static int send_body(nh_response_writer *w, const void *data, size_t n) {
  if (n == 0 || !body_follows(w))
    return NH_OK;
  if (!w->chunked)
    return send_iov(w, (struct iovec[]){{(void *)data, n}}, 1);
  char hdr[24];
  struct iovec iov[3] = {{hdr, fmt_chunk(hdr, n)},
                         {(void *)data, n},
                         {(void *)"\r\n", 2}};
  return send_iov(w, iov, 3);
}

/* ---- the handler's calls ---- */

/* A 1xx head: the handler's headers but the framing ones (a 1xx has no
 * body, and its Content-Length would be read as the final response's).
 * Never to an HTTP/1.0 client, which does not know 1xx (RFC 9110 §15.2). */
static void send_informational(nh_response_writer *w, int status) {
  if (w->s->parser.major == 1 && w->s->parser.minor == 0)
    return;
  headbuf h;
  h.cap = head_size(w);
  h.p = nh__arena_alloc(&w->s->arena, h.cap);
  h.len = 0;
  if (!h.p)
    return;
  status_line(&h, status);
  for (uint32_t i = 0; i < w->header.len; i++) {
    const nh__hentry *e = &w->header.items[i];
    if (!key_is(e, "content-length", 14) && !key_is(e, "transfer-encoding", 17))
      hb_field_n(&h, e->key, e->klen, e->value, e->vlen);
  }
  hb_put(&h, "\r\n", 2);
  send_iov(w, (struct iovec[]){{h.p, h.len}}, 1);
}

void nh__resp_write_header(nh_response_writer *w, int status, const char *file, int line) {
  if (!nh__resp_alive(w, "nh_resp_write_header", file, line))
    return;
  if (w->hijacked)
    return;
  if (status < 100 || status > 999)
    nh_panic("nh_resp_write_header: invalid status code %d (%s:%d)", status, file, line);
  if (w->fail_err)
    return;
  if (w->status && w->buffer_max && !w->committed && status >= 200) {
    w->status = status; /* a held response can still change its mind */
    w->wh_file = file;
    w->wh_line = line;
    w->no_body = status == 204 || status == 304;
    return;
  }
  if (w->status) {
    NH_LOG(w->s->srv->log, NH_LOG_WARN, "superfluous nh_resp_write_header call ignored",
           NH_LINT("status", status), NH_LINT("sent", w->status), NH_LLOC("caller", file, line),
           NH_LLOC("first_caller", w->wh_file, w->wh_line));
    return;
  }
  if (status >= 100 && status < 200 && status != 101) {
    if (!w->detached)
      send_informational(w, status); /* 100, 103 Early Hints: may repeat */
    return;
  }
  w->status = status;
  w->wh_file = file;
  w->wh_line = line;
  w->header_version = w->header.version;
  w->no_body = w->status == 204 || w->status == 304;
  const char *cl = nh__header_get_lower(&w->header, "content-length", 14);
  if (cl && !w->no_body) {
    char *end;
    long long v = strtoll(cl, &end, 10);
    if (*cl && !*end && v >= 0)
      w->declared_length = v;
    else
      nh_header_del(&w->header, "Content-Length");
  }
  /* Go sends the header as it was at WriteHeader: later changes are
   * noted (and reported at the end) but do not reach the wire. A held
   * response (nh_resp_buffer, TimeoutHandler) decides when it commits. */
  if (!nh__resp_holding(w))
    w->header.frozen = 1;
}

ssize_t nh__resp_write(nh_response_writer *w, const void *data, size_t n, const char *file,
                       int line) {
  if (!nh__resp_alive(w, "nh_resp_write", file, line))
    return NH_EINVAL;
  if (w->hijacked)
    return NH_EHIJACKED;
  if (w->fail_err)
    return w->fail_err;
  if (!w->status)
    nh__resp_write_header(w, 200, file, line);
  if (w->no_body)
    return NH_ENOTSUP; /* Go's ErrBodyNotAllowed */
  if (w->failed)
    return NH_EPIPE;
  if (nh__resp_holding(w)) {
    if (w->detached || w->blen + n <= w->buffer_max) {
      if (nh__resp_hold_room(w, w->blen + n) != NH_OK)
        return NH_ENOMEM;
      memcpy(w->body + w->blen, data, n);
      w->blen += n;
      w->written += (int64_t)n;
      return (ssize_t)n;
    }
    nh__resp_settle_held(w); /* past the limit: decide now, then stream */
    w->buffer_max = 0;
  }
  if (w->declared_length >= 0 && w->written + (int64_t)n > w->declared_length)
    return NH_ERANGE; /* more than the Content-Length it promised */
  if (w->own_body) {
    /* The held bytes are in the writer's own buffer: send them with these. */
    w->written += (int64_t)n;
    int e = w->committed ? send_body(w, data, n) : commit_and_send(w, data, n, 0);
    return e ? e : (ssize_t)n;
  }
  if (!w->s->wbuf) {
    w->s->wbuf = nh__wbuf_get(w->s->sl);
    w->s->wcap = w->s->wbuf ? NH__WRITE_BUF : 0;
  }
  w->body = w->s->wbuf;
  w->bcap = w->s->wcap;
  w->written += (int64_t)n;
  if (w->head_request && !w->committed) {
    /* Nothing is sent for HEAD, but the first bytes still decide the
     * Content-Type, and the count the Content-Length. */
    size_t keep = w->blen + n <= w->bcap ? n : w->bcap - w->blen;
    memcpy(w->body + w->blen, data, keep);
    w->blen += keep;
    return (ssize_t)n;
  }
  if (!w->committed && w->blen + n <= w->bcap) {
    memcpy(w->body + w->blen, data, n);
    w->blen += n;
    return (ssize_t)n;
  }
  int e = w->committed ? send_body(w, data, n) : commit_and_send(w, data, n, 0);
  return e ? e : (ssize_t)n;
}

ssize_t nh__resp_write_string(nh_response_writer *w, const char *s, const char *file, int line) {
  return nh__resp_write(w, s, strlen(s), file, line);
}

static ssize_t resp_vprintf(nh_response_writer *w, const char *file, int line, const char *fmt,
                            va_list ap) {
  char small[512];
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  if (n < 0 || (size_t)n < sizeof small) {
    va_end(again);
    return n < 0 ? NH_EINVAL : nh__resp_write(w, small, (size_t)n, file, line);
  }
  char *big = malloc((size_t)n + 1);
  if (big)
    vsnprintf(big, (size_t)n + 1, fmt, again);
  va_end(again);
  if (!big)
    return NH_ENOMEM;
  ssize_t r = nh__resp_write(w, big, (size_t)n, file, line);
  free(big);
  return r;
}

ssize_t nh__resp_printf(nh_response_writer *w, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ssize_t r = resp_vprintf(w, file, line, fmt, ap);
  va_end(ap);
  return r;
}

/* A detached writer holds everything in memory: the file is read into it. */
int nh__resp_sendfile(nh_response_writer *w, int fd, off_t offset, size_t len, const char *file,
                      int line) {
  if (!nh__resp_alive(w, "nh_resp_sendfile", file, line))
    return NH_EINVAL;
  if (w->hijacked)
    return NH_EHIJACKED;
  if (w->fail_err)
    return w->fail_err;
  if (w->detached)
    return nh__resp_sendfile_held(w, fd, offset, len);
  if (!w->status) {
    if (!w->written && !nh_header_get(&w->header, "Content-Length")) {
      char n[32];
      snprintf(n, sizeof n, "%zu", len);
      nh_header_set(&w->header, "Content-Length", n);
    }
    nh__resp_write_header(w, 200, file, line);
  }
  if (w->no_body)
    return NH_ENOTSUP;
  if (w->failed)
    return NH_EPIPE;
  if (w->declared_length >= 0 && w->written + (int64_t)len > w->declared_length)
    return NH_ERANGE;
  /* Sniff from the file itself if the handler named no type. */
  if (!w->committed && !nh_header_get(&w->header, "Content-Type") && !w->blen) {
    char head[NH_SNIFF_LEN];
    ssize_t n = pread(fd, head, sizeof head < len ? sizeof head : len, offset);
    if (n > 0) /* the head adds it, as it does for a buffered body */
      w->sniffed_type = nh_detect_content_type(head, (size_t)n);
  }
  /* The head (and any chunk header) goes out with the file's first bytes,
   * not in a packet of its own. */
  nh__serve *s = w->s;
  nh_fd *sock = s->rec ? NULL : s->c->fd;
  int more = sock && !w->head_request && len > 0;
  if (more)
    nh__fd_more(sock, 1);
  int e = w->committed ? send_body(w, w->body, w->blen) : commit_and_send(w, NULL, 0, 0);
  w->blen = 0;
  if (!e) {
    w->written += (int64_t)len;
    if (w->chunked && !w->head_request && len > 0) { /* no length set, wrote before: frame it */
      char hdr[24];
      e = send_iov(w, (struct iovec[]){{hdr, fmt_chunk(hdr, len)}}, 1);
    }
  }
  if (more && s->c->fd == sock)
    nh__fd_more(sock, 0);
  if (e || w->head_request || len == 0)
    return e;
  s->c->client_wait = nh__serve_deadline(s, 0);
  ssize_t r = s->c->fd ? nh__conn_sendfile(s->c, fd, &offset, len, w->write_deadline) : NH_ECLOSED;
  s->c->client_wait = 0;
  if (r < 0 || (size_t)r != len) {
    w->failed = 1;
    s->c->closing = 1;
    nh__conn_close_why(s->c, r == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_WRITE : NH_CLOSE_CLIENT);
    if (r == NH_ETIMEDOUT)
      NH__STAT_INC(s->srv, st_to_write);
    return r < 0 ? (int)r : NH_EIO;
  }
  if (w->chunked)
    return send_iov(w, (struct iovec[]){{(void *)"\r\n", 2}}, 1);
  return NH_OK;
}

int nh__resp_flush(nh_response_writer *w, const char *file, int line) {
  if (!nh__resp_alive(w, "nh_resp_flush", file, line))
    return NH_EINVAL;
  if (w->hijacked)
    return NH_EHIJACKED;
  if (w->fail_err)
    return w->fail_err;
  if (w->detached)
    return NH_ENOTSUP; /* its owner sends; Go's timeout writer cannot flush either */
  if (!w->status)
    nh__resp_write_header(w, 200, file, line);
  if (w->failed)
    return NH_EPIPE;
  if (!w->committed)
    return commit_and_send(w, NULL, 0, 0);
  int e = send_body(w, w->body, w->blen);
  w->blen = 0;
  return e;
}

int nh__resp_finish(nh_response_writer *w) {
  if (!w->status && w->s->req.body_limit_hit && !w->written) {
    /* The handler met nh_request_limit_body's cap and sent nothing. */
    nh__header_clear(&w->header);
    nh_header_set(&w->header, "Content-Type", "text/plain; charset=utf-8");
    nh_header_set(&w->header, "X-Content-Type-Options", "nosniff");
    nh__resp_write_header(w, 413, __FILE__, __LINE__);
    nh_resp_write_string(w, "413 request body too large\n");
  }
  if (!w->status && w->s->body_error == NH_EBADREQUEST && !w->written) {
    /* The handler met a malformed body (bad chunk framing) and sent
     * nothing: the client hears why, and the connection closes. */
    nh__header_clear(&w->header);
    nh_header_set(&w->header, "Content-Type", "text/plain; charset=utf-8");
    nh_header_set(&w->header, "X-Content-Type-Options", "nosniff");
    nh__resp_write_header(w, 400, __FILE__, __LINE__);
    nh_resp_write_string(w, "400 Bad Request: malformed request body\n");
  }
  if (!w->status)
    nh__resp_write_header(w, 200, __FILE__, __LINE__);
  if (w->header.version != w->header_version && !nh__resp_holding(w))
    NH_LOG(w->s->srv->log, NH_LOG_WARN,
           "response headers changed after nh_resp_write_header were ignored",
           NH_LLOC("changed_at", w->header.changed_file, w->header.changed_line),
           NH_LLOC("write_header_at", w->wh_file, w->wh_line));
  if (w->failed)
    return NH_EPIPE;
  int e;
  if (!w->committed) {
    e = commit_and_send(w, NULL, 0, 1);
  } else {
    e = send_body(w, w->body, w->blen);
    w->blen = 0;
    if (!e && w->chunked)
      e = send_iov(w, (struct iovec[]){{(void *)"0\r\n\r\n", 5}}, 1);
  }
  if (!e && w->declared_length >= 0 && w->written < w->declared_length && !w->head_request) {
    w->close_after = 1; /* the client waits for bytes that will not come */
    NH_LOG(w->s->srv->log, NH_LOG_WARN, "handler wrote less than its Content-Length",
           NH_LINT("declared", w->declared_length), NH_LINT("written", w->written));
  }
  return e ? e : (w->close_after ? NH_EPIPE : NH_OK);
}

/* ---- the server's own answers ---- */

int nh__resp_send_continue(nh__serve *s) {
  static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
  if (!s->c->fd)
    return NH_ECLOSED;
  ssize_t r = nh__conn_write(s->c, msg, sizeof msg - 1, nh_deadline_after(s->srv->cfg.write_timeout));
  return r < 0 ? (int)r : NH_OK;
}

int nh__serve_is_head(const nh__serve *s) {
  const nh__h1_req *p = &s->parser;
  return p->method.len == 4 && p->method.off + 4 < s->len &&
         !memcmp(s->buf + p->method.off, "HEAD ", 5);
}

void nh__resp_send_error(nh__serve *s, int status, const char *reason) {
  nh__conn *c = s->c;
  nh__conn_close_why(c, NH_CLOSE_ERROR_REPLY);
  if (!c->fd)
    return;
  char body[256], msg[512];
  const char *text = nh_status_text(status);
  int blen = reason ? snprintf(body, sizeof body, "%d %s: %s\n", status, text, reason)
                    : snprintf(body, sizeof body, "%d %s\n", status, text);
  if (blen < 0 || (size_t)blen >= sizeof body)
    blen = snprintf(body, sizeof body, "%d %s\n", status, text);
  int n = snprintf(msg, sizeof msg,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                   status, text, blen, body);
  if (nh__serve_is_head(s))
    n -= blen; /* the length of the answer a GET would get, and no body */
  nh__conn_write(c, msg, (size_t)n, nh_deadline_after(NH_SEC));
  nh__conn_linger(c);
}

/* Close gently (Go's closeWriteAndWait): closing a socket with unread input
 * makes the kernel send RST, which can destroy the answer before the client
 * reads it. Stop sending, then read and drop what the client still sends,
 * for a bounded time and amount. */
void nh__conn_linger(nh__conn *c) {
  if (!c->fd)
    return;
  shutdown(nh_fd_get(c->fd), SHUT_WR);
  char sink[4096];
  nh_time dl = nh_deadline_after(500 * NH_MSEC);
  for (size_t total = 0; total < 1024 * 1024;) {
    ssize_t r = nh_fd_read(c->fd, sink, sizeof sink, dl);
    if (r <= 0)
      break;
    total += (size_t)r;
  }
}

/* ---- hijack ---- */

/* What both hijacks share: the checks (plain or TLS as the caller expects),
 * the bytes read past the request, and the end of the hangup watch. */
static int hijack_begin(nh_response_writer *w, const char *fn, int tls, char **buffered,
                        size_t *nbuffered) {
  if (!nh__resp_alive(w, fn, NULL, 0))
    return NH_EINVAL;
  nh__serve *s = w->s;
  if (w->committed || w->hijacked || w->detached || !s->c->fd || !s->c->tls != !tls)
    return NH_ENOTSUP;
  size_t n = s->len - s->pos;
  if (buffered) {
    char *copy = malloc(n ? n : 1);
    if (!copy)
      return NH_ENOMEM;
    memcpy(copy, s->buf + s->pos, n);
    *buffered = copy;
    *nbuffered = n;
  }
  s->pos = s->len;
  nh_fd_on_hangup(s->c->fd, NULL, NULL);
  return NH_OK;
}

/* The server keeps only the socket's number, to shut it down at close. */
static void hijack_end(nh_response_writer *w, int raw, nh_tls_conn *tls) {
  w->s->c->fd = NULL;
  w->hijacked = 1;
  nh__conn_hijacked(w->s->c, raw, tls);
}

int nh_resp_hijack(nh_response_writer *w, int *fd, char **buffered, size_t *nbuffered) {
  int e = hijack_begin(w, "nh_resp_hijack", 0, buffered, nbuffered);
  if (e)
    return e;
  int raw = nh_fd_release(w->s->c->fd);
  hijack_end(w, raw, NULL);
  *fd = raw;
  return NH_OK;
}

int nh_resp_hijack_tls(nh_response_writer *w, nh_tls_conn **tls, char **buffered,
                       size_t *nbuffered) {
  int e = hijack_begin(w, "nh_resp_hijack_tls", 1, buffered, nbuffered);
  if (e)
    return e;
  nh__conn *c = w->s->c;
  *tls = c->tls; /* it owns the descriptor, which stays on this loop */
  c->tls = NULL;
  hijack_end(w, nh_fd_get(c->fd), *tls);
  return NH_OK;
}

/* The functions behind the macros of server.h, for callers that take their
 * address. */
#undef nh_resp_write_header
#undef nh_resp_write
#undef nh_resp_write_string
#undef nh_resp_printf
#undef nh_resp_sendfile
#undef nh_resp_flush

void nh_resp_write_header(nh_response_writer *w, int status) {
  nh__resp_write_header(w, status, __FILE__, __LINE__);
}

ssize_t nh_resp_write(nh_response_writer *w, const void *buf, size_t n) {
  return nh__resp_write(w, buf, n, __FILE__, __LINE__);
}

ssize_t nh_resp_write_string(nh_response_writer *w, const char *s) {
  return nh__resp_write(w, s, strlen(s), __FILE__, __LINE__);
}

ssize_t nh_resp_printf(nh_response_writer *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ssize_t r = resp_vprintf(w, __FILE__, __LINE__, fmt, ap);
  va_end(ap);
  return r;
}

int nh_resp_sendfile(nh_response_writer *w, int fd, off_t offset, size_t len) {
  return nh__resp_sendfile(w, fd, offset, len, __FILE__, __LINE__);
}

int nh_resp_flush(nh_response_writer *w) { return nh__resp_flush(w, __FILE__, __LINE__); }
