/* Responses on an HTTP/1 connection: the exchange says what (status,
 * fields, whether the length is known, whether more follows) and this file
 * says how. A body of unknown length is chunked for HTTP/1.1 and ends with
 * the connection for HTTP/1.0; Connection: close goes out whenever the
 * connection will not carry another request. Before a head is committed a
 * body the handler left unread is drained (up to max_body_drain) so the
 * connection can be kept (Go's rule). Small bodies go in the head's buffer,
 * one contiguous send. */
#include "http1/h1_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nethttp/httpdate.h"
#include "nethttp/status.h"
#include "nethttp/textproto.h"
#include "runtime/netpoll_internal.h"
#include "util/textproto_internal.h"

/* Bodies up to this size are copied behind the head (see write_head). */
#define INLINE_BODY_MAX 2048
/* Heads up to this size are made on the stack. */
#define SMALL_HEAD 1024

#define HC(p) ((nh__h1_sconn *)(p))

/* The entry's key is lower, given in lowercase: for every header of every
 * response, cheaper than strcasecmp. */
static int key_is(const nh__hentry *e, const char *lower, size_t len) {
  return nh__token_is(e->key, e->klen, lower, len);
}

/* Whether this connection can carry another request after the response. */
static int can_keep(const nh__h1_sconn *hc) {
  return hc->parser.keep_alive && !hc->link->closing && !atomic_load(hc->host->stopping);
}

/* The head into b (sized by the caller), framing decided. */
static inline __attribute__((always_inline)) int put_head(const nh__h1_sconn *hc,
                                                          const nh__head *h, nh__h1_buf *b,
                                                          int *chunked, int *close_after) {
  int minor = hc ? hc->parser.minor : 1;
  nh__h1_put_status_line(b, h->status);
  int conn_close = 0;
  for (uint32_t i = 0; h->fields && i < h->fields->len; i++) {
    const nh__hentry *e = &h->fields->items[i];
    /* Framing is ours to decide. */
    if (key_is(e, "transfer-encoding", 17) || (h->drop_length && key_is(e, "content-length", 14)))
      continue;
    if (key_is(e, "connection", 10) && nh_token_list_has(e->value, "close"))
      conn_close = 1; /* found here rather than by a lookup after */
    nh__h1_put_field(b, e->key, e->klen, e->value, e->vlen);
  }
  if (h->date)
    nh__h1_put_field(b, "Date", 4, h->date, NH_HTTP_DATE_LEN);
  if (h->content_type)
    nh__h1_put_field(b, "Content-Type", 12, h->content_type, strlen(h->content_type));
  *chunked = 0;
  /* Declared trailers leave out the length the exchange worked out (not
   * one the fields state), so that HTTP/1.1 chunks the body and they can
   * follow it (Go). */
  int64_t length = h->trailers ? -1 : h->length;
  int length_known = h->length_known && length == h->length;
  if (length >= 0) {
    nh__h1_put_content_length(b, (uint64_t)length);
  } else if (h->body && !length_known) {
    if (minor >= 1) {
      *chunked = 1;
      nh__h1_put(b, "Transfer-Encoding: chunked\r\n", 28);
    } else {
      *close_after = 1; /* HTTP/1.0: the end of the body is the close */
    }
  }
  if (h->close || *close_after || conn_close || (hc && !can_keep(hc))) {
    *close_after = 1;
    if (!conn_close)
      nh__h1_put(b, "Connection: close\r\n", 19);
  } else if (minor == 0) {
    nh__h1_put(b, "Connection: keep-alive\r\n", 24);
  }
  nh__h1_put_end(b);
  return nh__h1_buf_ok(b) ? NH_OK : NH_ENOMEM;
}

int nh__h1_build_response_head(const nh__h1_sconn *hc, const nh__head *h, nh__arena *arena,
                               size_t room, nh__h1_buf *b, int *chunked, int *close_after) {
  b->cap = (h->fields ? nh__h1_fields_size(h->fields, 256) : 256) + room;
  b->p = nh__arena_alloc(arena, b->cap);
  b->len = 0;
  b->full = 0;
  if (!b->p)
    return NH_ENOMEM;
  return put_head(hc, h, b, chunked, close_after);
}

/* ---- sending ---- */

static int send_iov(nh__h1_sconn *hc, const struct iovec *iov, int n) {
  nh__h1_link *l = hc->link;
  if (!l->io.fd)
    return NH_ECLOSED;
  l->client_wait = nh__loop_time(hc->loop); /* now; cleared unless the client is slow */
  ssize_t r = nh__stream_writev(&l->io, iov, n, hc->base.write_deadline);
  l->client_wait = 0;
  if (r >= 0)
    return NH_OK;
  l->closing = 1;
  nh__h1_close_why(l, r == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_WRITE : NH_CLOSE_CLIENT);
  if (r == NH_ETIMEDOUT && l->io.fd) {
    hc->host->count(hc->host, NH__H1_EV_TIMEOUT_WRITE);
    /* Abortive close: the unsent bytes would otherwise keep the socket (and
     * its buffer) alive in the kernel for as long as the client dawdles. */
    struct linger lg = {1, 0};
    setsockopt(nh_fd_get(l->io.fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  return (int)r;
}

/* Append body bytes to out[*n], framed as the head said: each buffer one
 * chunk when chunked. chunk_lines: room for n chunk-size lines. */
static void frame_body(const nh__h1_sconn *hc, const struct iovec *body, int nbody,
                       struct iovec *out, int *n, char (*chunk_lines)[NH__H1_CHUNK_LINE_MAX]) {
  for (int i = 0; i < nbody; i++) {
    if (!body[i].iov_len)
      continue;
    if (hc->chunked)
      out[(*n)++] = (struct iovec){chunk_lines[i], nh__h1_chunk_line(chunk_lines[i], body[i].iov_len)};
    out[(*n)++] = body[i];
    if (hc->chunked)
      out[(*n)++] = (struct iovec){(void *)NH__H1_CHUNK_END, 2};
  }
}

/* The last chunk into out[*n], with the response's trailers if it has
 * some (in the exchange's memory). */
static int last_chunk(nh__h1_sconn *hc, struct iovec *out, int *n) {
  const nh_header *t = hc->base.resp_trailer;
  if (!t || !t->len) {
    out[(*n)++] = (struct iovec){(void *)NH__H1_LAST_CHUNK, 5};
    return NH_OK;
  }
  nh__h1_buf b = {0};
  b.cap = nh__h1_fields_size(t, 8);
  if (!(b.p = nh__arena_alloc(hc->base.arena, b.cap)))
    return NH_ENOMEM;
  nh__h1_put_last_chunk(&b, t);
  out[(*n)++] = (struct iovec){b.p, b.len};
  return NH_OK;
}

/* At most this many body buffers per write (the exchange passes two). */
#define MAX_BODY_IOV 4

static int write_head(nh__proto *p, const nh__head *h, const struct iovec *body, int nbody,
                      int end) {
  nh__h1_sconn *hc = HC(p);
  if (nbody > MAX_BODY_IOV)
    return NH_EINVAL;
  /* Whether the connection lives on depends on the unread body: drain it
   * now, before the head says whether it closes. A connection already
   * condemned (a body over its cap, a read error) is not worth a drain
   * that may wait on the client. */
  if (!hc->base.body_done && !h->close && !hc->close_after &&
      (hc->link->closing || !nh__h1_drain(hc, hc->host->max_body_drain)))
    hc->close_after = 1;
  size_t total = 0;
  for (int i = 0; i < nbody; i++)
    total += body[i].iov_len;
  /* A small body goes right after the head, in the same buffer: one
   * contiguous send, which costs the kernel less than a vector. Room is
   * made before the framing is decided; only a body sent as it is (not
   * chunked) goes there. */
  size_t room = h->body && total <= INLINE_BODY_MAX ? total : 0;
  /* Most heads fit a buffer on the stack (the write ends before this
   * returns); a larger one is sized and made in the exchange's memory. */
  char small[SMALL_HEAD + INLINE_BODY_MAX];
  nh__h1_buf b = {small, 0, SMALL_HEAD + room, 0};
  int e = put_head(hc, h, &b, &hc->chunked, &hc->close_after);
  if (e)
    e = nh__h1_build_response_head(hc, h, hc->base.arena, room, &b, &hc->chunked, &hc->close_after);
  if (e)
    return e;
  hc->committed = 1;
  hc->head_only = !h->body;
  int has_body = h->body;
  if (room && !hc->chunked) {
    for (int i = 0; i < nbody; i++)
      nh__h1_put(&b, body[i].iov_base, body[i].iov_len);
    has_body = 0;
  }
  struct iovec iov[2 + 3 * MAX_BODY_IOV];
  char lines[MAX_BODY_IOV][NH__H1_CHUNK_LINE_MAX];
  int n = 0;
  iov[n++] = (struct iovec){b.p, b.len};
  if (has_body)
    frame_body(hc, body, nbody, iov, &n, lines);
  if (end && hc->chunked && (e = last_chunk(hc, iov, &n)))
    return e;
  return send_iov(hc, iov, n);
}

static int write_data(nh__proto *p, const struct iovec *body, int nbody, int end) {
  nh__h1_sconn *hc = HC(p);
  if (hc->head_only || nbody > MAX_BODY_IOV)
    return hc->head_only ? NH_OK : NH_EINVAL;
  struct iovec iov[1 + 3 * MAX_BODY_IOV];
  char lines[MAX_BODY_IOV][NH__H1_CHUNK_LINE_MAX];
  int n = 0;
  frame_body(hc, body, nbody, iov, &n, lines);
  int e;
  if (end && hc->chunked && (e = last_chunk(hc, iov, &n)))
    return e;
  return n ? send_iov(hc, iov, n) : NH_OK;
}

static void cork(nh__proto *p, int on) {
  nh__h1_link *l = HC(p)->link;
  if (l->io.fd)
    nh__fd_more(l->io.fd, on);
}

static int h1_sendfile(nh__proto *p, int fd, off_t offset, size_t len) {
  nh__h1_sconn *hc = HC(p);
  nh__h1_link *l = hc->link;
  if (hc->head_only || len == 0)
    return NH_OK;
  int e = NH_OK;
  if (hc->chunked) { /* wrote before, no length set: frame it */
    char line[NH__H1_CHUNK_LINE_MAX];
    e = send_iov(hc, &(struct iovec){line, nh__h1_chunk_line(line, len)}, 1);
  }
  /* The head and chunk line, held back (cork), leave with the file. */
  cork(p, 0);
  if (e)
    return e;
  l->client_wait = nh__loop_time(hc->loop);
  ssize_t r = l->io.fd ? nh__stream_sendfile(&l->io, fd, &offset, len, hc->base.write_deadline)
                       : NH_ECLOSED;
  l->client_wait = 0;
  if (r < 0 || (size_t)r != len) {
    l->closing = 1;
    nh__h1_close_why(l, r == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_WRITE : NH_CLOSE_CLIENT);
    if (r == NH_ETIMEDOUT)
      hc->host->count(hc->host, NH__H1_EV_TIMEOUT_WRITE);
    return r < 0 ? (int)r : NH_EIO;
  }
  if (hc->chunked)
    return send_iov(hc, &(struct iovec){(void *)NH__H1_CHUNK_END, 2}, 1);
  return NH_OK;
}

/* A 1xx head: the fields but the framing ones (a 1xx has no body, and its
 * Content-Length would be read as the final response's). Never to an
 * HTTP/1.0 client, which does not know 1xx (RFC 9110 section 15.2). */
static int send_1xx(nh__proto *p, int status, const nh_header *fields) {
  nh__h1_sconn *hc = HC(p);
  if (hc->parser.major == 1 && hc->parser.minor == 0)
    return NH_OK;
  nh__h1_buf b = {0};
  b.cap = nh__h1_fields_size(fields, 64);
  b.p = nh__arena_alloc(hc->base.arena, b.cap);
  if (!b.p)
    return NH_ENOMEM;
  nh__h1_put_status_line(&b, status);
  for (uint32_t i = 0; i < fields->len; i++) {
    const nh__hentry *e = &fields->items[i];
    if (!key_is(e, "content-length", 14) && !key_is(e, "transfer-encoding", 17))
      nh__h1_put_field(&b, e->key, e->klen, e->value, e->vlen);
  }
  nh__h1_put_end(&b);
  return send_iov(hc, &(struct iovec){b.p, b.len}, 1);
}

static int flush(nh__proto *p) {
  (void)p; /* every write went out as it was made */
  return NH_OK;
}

/* The rest of an unread body is never read: the connection cannot be kept. */
static void refuse_body(nh__proto *p) {
  nh__h1_link *l = HC(p)->link;
  nh__h1_close_why(l, NH_CLOSE_BODY_TOO_LARGE);
  l->closing = 1;
}

static int finish(nh__proto *p, int ok) {
  nh__h1_sconn *hc = HC(p);
  /* The head said whether the request allowed keep-alive (close_after);
   * the connection may have been condemned since. */
  if (!ok || !hc->link->io.fd || hc->close_after || hc->link->closing ||
      atomic_load(hc->host->stopping))
    return 0;
  /* A body the handler left unread was drained (or refused) when the
   * response head was written; make sure nothing of it is left. */
  return hc->base.body_done || nh__h1_drain(hc, hc->host->max_body_drain);
}

static void h1_abort(nh__proto *p) {
  HC(p)->close_after = 1;
  HC(p)->link->closing = 1;
}

static int hijack(nh__proto *p, int want_tls, int *fd, nh_tls_conn **tls, char **buffered,
                  size_t *nbuffered) {
  nh__h1_sconn *hc = HC(p);
  nh__h1_link *l = hc->link;
  if (hc->committed || !l->io.fd || !l->io.tls != !want_tls)
    return NH_ENOTSUP;
  size_t n = hc->len - hc->pos;
  if (buffered) {
    char *copy = malloc(n ? n : 1);
    if (!copy)
      return NH_ENOMEM;
    memcpy(copy, hc->buf + hc->pos, n);
    *buffered = copy;
    *nbuffered = n;
  }
  hc->pos = hc->len;
  /* A WebSocket may stay for hours: its 8 KiB read buffer should not. */
  nh__h1_release_read_buf(hc);
  nh_fd_on_hangup(l->io.fd, NULL, NULL);
  /* The server keeps only the socket's number, to shut it down at close. */
  int raw;
  nh_tls_conn *t = l->io.tls; /* it owns the descriptor, which stays on this loop */
  if (t) {
    raw = nh_fd_get(l->io.fd);
    *tls = t;
  } else {
    raw = nh_fd_release(l->io.fd);
    *fd = raw;
  }
  l->io.tls = NULL;
  l->io.fd = NULL;
  hc->host->hijacked(l, raw, t);
  return NH_OK;
}

const nh__proto_ops nh__h1_ops = {
    .read_body = nh__h1_read_body,
    .write_head = write_head,
    .write_data = write_data,
    .sendfile = h1_sendfile,
    .cork = cork,
    .send_1xx = send_1xx,
    .refuse_body = refuse_body,
    .flush = flush,
    .finish = finish,
    .abort = h1_abort,
    .hijack = hijack,
};

/* ---- the server's own answers ---- */

/* Whether the request in the buffer has HEAD for its method (the method
 * read whole, even if the rest of the head was refused). */
static int is_head(const nh__h1_sconn *hc) {
  const nh__h1_req *p = &hc->parser;
  return p->method.len == 4 && p->method.off + 4 < hc->len &&
         !memcmp(hc->buf + p->method.off, "HEAD ", 5);
}

void nh__h1_send_error(nh__h1_sconn *hc, int status, const char *reason) {
  nh__h1_link *l = hc->link;
  nh__h1_close_why(l, NH_CLOSE_ERROR_REPLY);
  if (!l->io.fd)
    return;
  char body[256], head[512];
  const char *text = nh_status_text(status);
  int blen = reason ? snprintf(body, sizeof body, "%d %s: %s\n", status, text, reason)
                    : snprintf(body, sizeof body, "%d %s\n", status, text);
  if (blen < 0 || (size_t)blen >= sizeof body)
    blen = snprintf(body, sizeof body, "%d %s\n", status, text);
  nh__head h = {.status = status,
                .content_type = "text/plain; charset=utf-8",
                .length = blen,
                .body = 1,
                .length_known = 1,
                .close = 1};
  /* Its own small buffer: no exchange (and no arena) exists yet. */
  nh__arena a;
  nh__arena_init(&a, head, sizeof head);
  nh__h1_buf b;
  int chunked, close_after;
  if (nh__h1_build_response_head(NULL, &h, &a, 0, &b, &chunked, &close_after) == NH_OK) {
    /* HEAD: the length of the answer a GET would get, and no body. */
    struct iovec iov[2] = {{b.p, b.len}, {body, is_head(hc) ? 0 : (size_t)blen}};
    nh__stream_writev(&l->io, iov, 2, nh_deadline_after(NH_SEC));
  }
  nh__arena_dispose(&a);
  nh__h1_linger(&l->io);
}
