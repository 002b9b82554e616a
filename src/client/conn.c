/* HTTP/1.1 on the wire for a client connection: the request head out,
 * the response head and body bytes in (parsed by http1/h1_response), with
 * the reads done here. */
#include "h1_conn.h"
#include "nethttp/dial.h"
#include "util/url_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- sending ---- */

static void hb_field(nh__dynbuf *b, const char *k, const char *v) {
  nh__dynbuf_addstr(b, k);
  nh__dynbuf_add(b, ": ", 2);
  nh__dynbuf_addstr(b, v);
  nh__dynbuf_add(b, "\r\n", 2);
}

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

static int build_head(nh__cconn *c, nh_client_request *req, nh__dynbuf *b) {
  nh_transport *t = c->t;
  nh__dynbuf_addstr(b, req->method);
  nh__dynbuf_add(b, " ", 1);
  if (c->proxied) { /* to a proxy, the absolute form (RFC 9112 3.2.2), without a fragment */
    char *uri = absolute_uri(req->url);
    if (!uri)
      return NH_ENOMEM;
    nh__dynbuf_addstr(b, uri);
    free(uri);
  } else {
    nh__url_put_request_uri(b, req->url);
  }
  nh__dynbuf_addstr(b, " HTTP/1.1\r\n");
  const char *host = nh_header_get(req->header, "Host");
  hb_field(b, "Host", host ? host : req->url->host);
  if (!nh_header_get(req->header, "User-Agent"))
    hb_field(b, "User-Agent", "nethttp/" NH__CLIENT_VERSION);
  if (req->wire_gzip)
    hb_field(b, "Accept-Encoding", "gzip");
  if (c->proxy_auth && !nh_header_get(req->header, "Proxy-Authorization"))
    hb_field(b, "Proxy-Authorization", c->proxy_auth);
  if (req->length > 0 || (req->length == 0 && (req->body != BODY_NONE || method_wants_length(req->method)))) {
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)req->length);
    hb_field(b, "Content-Length", n);
  } else if (req->length < 0) {
    hb_field(b, "Transfer-Encoding", "chunked");
  }
  if (t->cfg.disable_keepalives && !nh_header_get(req->header, "Connection"))
    hb_field(b, "Connection", "close");
  for (size_t i = 0; i < nh_header_len(req->header); i++) {
    const char *k, *v;
    nh_header_at(req->header, i, &k, &v);
    if (!strcasecmp(k, "Host") || !strcasecmp(k, "Content-Length") ||
        !strcasecmp(k, "Transfer-Encoding"))
      continue;
    hb_field(b, k, v);
  }
  nh__dynbuf_add(b, "\r\n", 2);
  return b->err;
}

int nh__h1c_send_head(nh__cconn *c, nh_client_request *req, nh_time deadline) {
  /* Room for a usual head up front: one allocation, not a string of
   * doublings. */
  nh__dynbuf b; /* no cap: the head is the program's own request */
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  if (nh__dynbuf_reserve(&b, 512))
    return NH_ENOMEM;
  int e = build_head(c, req, &b);
  if (!e) {
    ssize_t n = nh__cconn_io_write(c, b.p, b.len, deadline);
    if (n < 0)
      e = (int)n;
    /* A write to a socket the server had closed fails at once: nothing of
     * the request reached the server, so it may be retried. */
    nh__h1c_of(c)->s.sent_any = n > 0;
  }
  nh__dynbuf_free(&b);
  return e;
}

/* ---- reading ---- */

/* One read into the response buffer: 0, NH_EEOF, or an error. */
static int fill(nh__cconn *c, nh__h1_response *in, nh_time deadline) {
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
    int e = fill(c, in, deadline);
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
    int e = fill(c, in, deadline);
    if (e == NH_EEOF)
      return nh__h1_response_eof(in);
    if (e)
      return e;
  }
}
