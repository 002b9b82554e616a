/* HTTP/2 as a client connection's protocol (nh__h2_cconn_ops): a shared
 * connection, listed in the pool from its dial to its close and lent to
 * as many requests at once as the server's SETTINGS_MAX_CONCURRENT_STREAMS
 * allows. The protocol itself is src/http2/h2_client*.c; this file turns
 * a client request into a stream there and its answer into a response
 * head, and hands the socket to the connection's I/O fiber (dialed on a
 * loop) or thread (dialed on a plain thread).
 *
 * Spoken when TLS's ALPN chose "h2", or on plain TCP when the transport is
 * set to NH_HTTP_2 (h2c with prior knowledge, RFC 9113 3.3). */
#include "http2/h2_client.h"
#include "internal.h"
#include "runtime/netpoll_internal.h"
#include "util/dynbuf.h"
#include "util/url_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct h2stream {
  nh__cstream s;
  nh__h2s *h;
  nh_header **trailer; /* the response's, filled when the body ends */
} h2stream;

static nh__h2c *h2c_of(const nh__cconn *c) { return (nh__h2c *)c->proto; }

static nh_time header_deadline(const nh_transport *t, nh_time deadline) {
  if (t->cfg.response_header_timeout == NH_NO_TIMEOUT)
    return deadline;
  nh_time d = nh_deadline_after(t->cfg.response_header_timeout);
  return d < deadline ? d : deadline;
}

/* The socket, for the I/O fiber or thread: reads and writes through TLS when the
 * connection has it. */
static ssize_t io_read(void *arg, void *buf, size_t n) { return nh__cconn_io_try_read(arg, buf, n); }
static ssize_t io_write(void *arg, const void *buf, size_t n) {
  return nh__cconn_try_write(arg, buf, n);
}

static int h2_attach(nh__cconn *c) {
  nh_transport *t = c->t;
  nh__h2c_io io = {.arg = c, .try_read = io_read, .try_write = io_write};
  if (nh_in_fiber()) {
    /* The descriptor stays in the dialing loop's epoll, read and written
     * by the connection's I/O fiber there. */
    io.nfd = c->fd;
  } else {
    /* The descriptor leaves the dialing thread: from now on only the I/O
     * thread uses it, with poll(2). */
    int fd = nh_fd_release(c->fd);
    nh_fd *fresh = NULL;
    c->fd = NULL;
    if (fd < 0 || nh__fd_adopt(fd, &fresh) != NH_OK) {
      if (c->tls)
        nh_tls_set_fd(c->tls, NULL);
      return NH_ENOMEM;
    }
    c->fd = fresh;
    if (c->tls)
      nh_tls_set_fd(c->tls, fresh);
    io.fd = fd;
  }
  nh__h2c_config cfg = {
      .stream_window = t->cfg.h2_stream_window,
      .conn_window = 1u << 30, /* Go's: the streams' windows are the real bound */
      .max_header_list = (uint32_t)t->cfg.max_response_header_bytes,
      .read_idle = t->cfg.h2_read_idle_timeout,
      .ping_timeout = t->cfg.h2_ping_timeout,
  };
  if (cfg.ping_timeout < 0)
    cfg.read_idle = NH_NO_TIMEOUT; /* a PING never given up on checks nothing */
  nh__h2c *h;
  int e = nh__h2c_new(&cfg, &io, &h);
  if (e)
    return e;
  c->proto = h;
  return NH_OK;
}

static void h2_detach(nh__cconn *c) {
  nh__h2c_free(h2c_of(c));
  c->proto = NULL;
}

/* Go sends "content-length: 0" for an empty body only when the method
 * normally has one. */
static int method_wants_length(const char *m) {
  return m[0] == 'P' && (!strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH"));
}

/* Hands the body to the stream in pieces read on the caller's side (a
 * reader is never called from the I/O side). */
static int send_body(h2stream *w, nh_client_request *req, nh_time deadline) {
  char buf[16384];
  off_t off = 0;
  int64_t sent = 0;
  for (;;) {
    ssize_t n = nh__creq_body_read(req, buf, sizeof buf, &off);
    if (n < 0)
      return (int)n;
    if (n == 0)
      break;
    int e = nh__h2s_write(w->h, buf, (size_t)n, deadline);
    if (e == NH__H2_ANSWERED)
      return NH_OK; /* the server answered in full: the rest is not wanted */
    if (e)
      return e;
    sent += n;
    if (req->length >= 0 && sent >= req->length)
      break;
  }
  if (req->length >= 0 && sent != req->length)
    return NH_EINVAL; /* shorter than its declared length */
  return nh__h2s_end(w->h);
}

/* A stream error as the client reports it; a refusal is noted for the
 * retry. */
static int stream_error(h2stream *w, int e) {
  if (e < 0 && (e == NH__H2_REFUSED || (w->h && nh__h2s_refused(w->h))))
    w->s.refused = 1;
  return e == NH__H2_REFUSED ? NH_ECONNRESET : e;
}

static int h2_start(nh__cconn *c, nh_client_request *req, nh_time deadline, nh__cstream **out) {
  /* malloc and a struct assignment, not calloc: glibc's calloc skips the
   * per-thread cache, and this runs for every request. */
  h2stream *w = malloc(sizeof *w);
  if (!w)
    return NH_ENOMEM;
  *w = (h2stream){.s = {.conn = c, .trace = req->trace}};
  *out = &w->s;
  const char *path = nh__creq_request_uri(req);
  if (!path)
    return NH_ENOMEM;
  const char *authority = nh_header_get(req->header, "Host");
  if (!authority)
    authority = req->url->host;
  const char *extra[8];
  int nx = 0;
  if (!nh_header_get(req->header, "User-Agent")) {
    extra[nx++] = "user-agent";
    extra[nx++] = "nethttp/" NH__CLIENT_VERSION;
  }
  if (req->wire_gzip) {
    extra[nx++] = "accept-encoding";
    extra[nx++] = NH__CLIENT_ACCEPT_ENCODING;
  }
  extra[nx] = NULL;
  int has_body = req->body != BODY_NONE && req->length != 0;
  nh__h2_req hr = {
      .method = req->method,
      .scheme = req->url->scheme,
      .authority = authority,
      .path = path,
      .header = req->header,
      .extra = extra,
      .content_length = req->length > 0 || (req->length == 0 && (req->body != BODY_NONE ||
                                                                   method_wants_length(req->method)))
                            ? req->length
                            : -1,
      .has_body = has_body,
  };
  int e = nh__h2s_open(h2c_of(c), &hr, &w->h);
  if (e)
    return stream_error(w, e);
  w->s.sent_any = 1;
  int send = has_body;
  if (has_body && nh_header_has_token(req->header, "Expect", "100-continue")) {
    /* As over HTTP/1 and in Go: wait a little for 100 Continue; a final
     * answer first spares the body (the stream is reset when the
     * response is closed). */
    nh_time wait = nh_deadline_after(c->t->cfg.expect_continue_timeout);
    send = nh__h2s_wait_continue(w->h, wait < deadline ? wait : deadline);
    if (send < 0)
      return stream_error(w, send);
  }
  e = send ? send_body(w, req, deadline) : NH_OK;
  nh__trace_wrote_request(req->trace, e);
  return stream_error(w, e);
}

/* A Content-Length value: its digits, or -1 (anything else, or past
 * 2^63-1). */
static int64_t parse_length(const char *s) {
  int64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

static int h2_read_head(nh__cstream *s, nh_client_request *req, nh_time deadline,
                        nh__chead *head) {
  h2stream *w = (h2stream *)s;
  nh__cconn *c = s->conn;
  /* No reply_spin: the answer comes through the connection's I/O fiber
   * or thread, which a loop spinning on its core would only hold up. */
  int no_body = 0;
  int e = nh__h2s_read_head(w->h, header_deadline(c->t, deadline), &head->status, head->header,
                            &no_body, &s->got_any);
  if (e)
    return stream_error(w, e);
  nh__trace_first_byte(s->trace);
  memcpy(head->proto, "HTTP/2.0", 9);
  const char *cl = nh_header_get(head->header, "Content-Length");
  head->content_length = -1;
  if (cl && *cl && (head->content_length = parse_length(cl)) < 0)
    return NH_EBADRESPONSE;
  head->no_body = no_body || !strcmp(req->method, "HEAD");
  head->close = 0;
  head->no_drain = 1;
  if (!head->no_body) {
    /* A body of unstated length has a trailer map from the start, as a
     * chunked one over HTTP/1.1; others get one when trailers come. */
    if (head->content_length < 0 && !(head->trailer = nh_header_new()))
      return NH_ENOMEM;
    w->trailer = &head->trailer;
  }
  return NH_OK;
}

static ssize_t h2_read_body(nh__cstream *s, void *out, size_t cap, nh_time deadline) {
  h2stream *w = (h2stream *)s;
  ssize_t n = nh__h2s_read_body(w->h, out, cap, deadline, w->trailer);
  return n < 0 ? stream_error(w, (int)n) : n;
}

static void h2_close_stream(nh__cstream *s, int complete) {
  (void)complete; /* a stream not at its end is reset: the connection goes on */
  h2stream *w = (h2stream *)s;
  nh__cconn *c = s->conn;
  nh__h2s_close(w->h);
  free(w);
  if (nh__h2c_unusable(h2c_of(c))) {
    /* Listed and shared: the pool reads broken under its lock. */
    pthread_mutex_lock(&c->t->mu);
    c->broken = 1;
    pthread_mutex_unlock(&c->t->mu);
  }
}

static int h2_can_take(const nh__cconn *c) { return nh__h2c_can_take(h2c_of(c), c->streams); }

const nh__cconn_ops nh__h2_cconn_ops = {
    .alpn = "h2",
    .shared = 1,
    .attach = h2_attach,
    .detach = h2_detach,
    .start = h2_start,
    .read_head = h2_read_head,
    .read_body = h2_read_body,
    .close_stream = h2_close_stream,
    .can_take = h2_can_take,
};
