/* HTTP/1.1 on the wire for a client connection: the request head out,
 * the response head and body bytes in (parsed by http1/h1_response), with
 * the reads done here. */
#include "h1_conn.h"
#include "http1/h1_write.h"
#include "nethttp/dial.h"
#include "util/url_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- sending ---- */

/* Go sends "Content-Length: 0" for an empty body only when the method
 * normally has one. */
static int method_wants_length(const char *m) {
  return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

static char *absolute_uri(const nh_url *u) {
  nh_url *copy = nh_url_dup(u);
  if (!copy)
    return NULL;
  free(copy->fragment);
  free(copy->raw_fragment);
  copy->fragment = strdup(""); /* fields other than userinfo are never NULL */
  copy->raw_fragment = strdup("");
  free(copy->user);
  free(copy->password);
  copy->user = copy->password = NULL;
  char *s = nh_url_string(copy);
  nh_url_free(copy);
  return s;
}

/* The request target: the origin form, or to a proxy the absolute form
 * without a fragment (RFC 9112 3.2.2). No cap: the program's own URL. */
static int request_target(const nh__cconn *c, const nh_client_request *req, nh__dynbuf *t) {
  nh__dynbuf_init(t, NH__DYNBUF_NOCAP);
  if (!c->proxied) {
    nh__url_put_request_uri(t, req->url);
    return t->err;
  }
  char *uri = absolute_uri(req->url);
  if (!uri)
    return NH_ENOMEM;
  nh__dynbuf_addstr(t, uri);
  free(uri);
  return t->err;
}

static int is_field(const nh__hentry *e, const char *name) {
  return e->klen == strlen(name) && !strncasecmp(e->key, name, e->klen);
}

static void put_field(nh__h1_buf *h, const char *name, const char *value) {
  nh__h1_put_field(h, name, strlen(name), value, strlen(value));
}

/* The head into h (sized by the caller from head_size). */
static void write_head(const nh__cconn *c, const nh_client_request *req, const char *target,
                       const char *host, nh__h1_buf *h) {
  nh__h1_put_request_line(h, req->method, target, 1);
  put_field(h, "Host", host);
  if (!nh_header_get(req->header, "User-Agent"))
    put_field(h, "User-Agent", "nethttp/" NH__CLIENT_VERSION);
  if (req->wire_gzip)
    put_field(h, "Accept-Encoding", NH__CLIENT_ACCEPT_ENCODING);
  if (c->proxy_auth && !nh_header_get(req->header, "Proxy-Authorization"))
    put_field(h, "Proxy-Authorization", c->proxy_auth);
  if (req->length > 0 || (req->length == 0 && (req->body != BODY_NONE || method_wants_length(req->method))))
    nh__h1_put_content_length(h, (uint64_t)req->length);
  else if (req->length < 0)
    put_field(h, "Transfer-Encoding", "chunked");
  if (c->t->cfg.disable_keepalives && !nh_header_get(req->header, "Connection"))
    put_field(h, "Connection", "close");
  for (uint32_t i = 0; i < req->header->len; i++) {
    const nh__hentry *e = &req->header->items[i];
    if (is_field(e, "Host") || is_field(e, "Content-Length") || is_field(e, "Transfer-Encoding"))
      continue;
    nh__h1_put_field(h, e->key, e->klen, e->value, e->vlen);
  }
  nh__h1_put_end(h);
}

int nh__h1c_send_head(nh__cconn *c, nh_client_request *req, nh_time deadline) {
  nh__dynbuf target;
  int e = request_target(c, req, &target);
  const char *host = nh_header_get(req->header, "Host");
  if (!host)
    host = req->url->host;
  /* The lines this writer adds beside the request's own fields: the
   * request line, Host, Proxy-Authorization, and short fixed ones. */
  size_t slack = strlen(req->method) + target.len + strlen(host) +
                 (c->proxy_auth ? strlen(c->proxy_auth) : 0) + 256;
  size_t size = nh__h1_fields_size(req->header, slack);
  char small[1024]; /* a usual head: no allocation */
  char *p = size <= sizeof small ? small : malloc(size);
  if (!e && !p)
    e = NH_ENOMEM;
  if (!e) {
    nh__h1_buf h = {p, 0, size, 0};
    write_head(c, req, nh__dynbuf_ptr(&target), host, &h);
    ssize_t n = nh__h1_buf_ok(&h) ? nh__cconn_io_write(c, h.p, h.len, deadline) : NH_ENOMEM;
    if (n < 0)
      e = (int)n;
    /* A write to a socket the server had closed fails at once: nothing of
     * the request reached the server, so it may be retried. */
    nh__h1c_of(c)->s.sent_any = n > 0;
  }
  if (p != small)
    free(p);
  nh__dynbuf_free(&target);
  return e;
}

/* ---- reading ---- */

int nh__h1c_fill(nh__cconn *c, nh__h1_response *in, nh_time deadline) {
  char *at;
  size_t room;
  int e = nh__h1_response_room(in, &at, &room);
  if (e)
    return e;
  ssize_t n = nh__cconn_io_read(c, at, room, deadline);
  if (n < 0)
    return (int)n;
  if (n == 0)
    return NH_EEOF;
  nh__h1_response_fed(in, (size_t)n);
  return NH_OK;
}

static void got_byte(nh__h1c *h) {
  if (!h->s.got_any)
    nh__trace_first_byte(h->s.trace);
  h->s.got_any = 1;
}

int nh__h1c_read_head(nh__cconn *c, int stop_at_100, nh_time deadline) {
  nh__h1c *h = nh__h1c_of(c);
  nh__h1_response *in = &h->in;
  for (;;) {
    int r = nh__h1_response_head(in, h->head_request, stop_at_100);
    if (r < 0)
      return r;
    if (r == 1) {
      got_byte(h); /* the head may have been buffered already */
      return NH_OK;
    }
    /* Right after a request nothing has come back yet: wait first rather
     * than pay for a read that finds nothing, unless a readiness edge came
     * while the fiber waited for something else (sending a body): it will
     * not come again. (TLS may hold bytes already; its reads handle that.) */
    if (!h->s.got_any && !nh__h1_response_buffered(in) && !c->tls && !nh_fd_read_pending(c->fd)) {
      int w = nh_fd_wait(c->fd, NH_FD_READ, deadline);
      if (w)
        return w;
    }
    size_t had = nh__h1_response_head_bytes(in);
    int e = nh__h1c_fill(c, in, deadline);
    if (e == NH_EEOF)
      return had ? NH_EBADRESPONSE : NH_ECONNRESET;
    if (e)
      return e;
    got_byte(h);
  }
}

int nh__h1c_poll_head(nh__cconn *c) {
  nh__h1c *h = nh__h1c_of(c);
  nh__h1_response *in = &h->in;
  for (;;) {
    int r = nh__h1_response_head(in, h->head_request, 0);
    if (r)
      return r;
    char *at;
    size_t room;
    int e = nh__h1_response_room(in, &at, &room);
    if (e)
      return e;
    ssize_t n = nh__cconn_io_try_read(c, at, room);
    if (n == NH_EAGAIN)
      return 0;
    if (n == 0) /* the server closed with no whole answer */
      return nh__h1_response_head_bytes(in) ? NH_EBADRESPONSE : NH_ECONNRESET;
    if (n < 0)
      return (int)n;
    nh__h1_response_fed(in, (size_t)n);
    got_byte(h);
  }
}

ssize_t nh__h1c_read_body(nh__cconn *c, void *out, size_t cap, nh_time deadline) {
  nh__h1_response *in = &nh__h1c_of(c)->in;
  for (;;) {
    long n = nh__h1_response_body(in, out, cap);
    if (n != NH_EAGAIN)
      return n;
    int e = nh__h1c_fill(c, in, deadline);
    if (e == NH_EEOF)
      return nh__h1_response_eof(in);
    if (e)
      return e;
  }
}
