/* One client connection on the wire: dial, send a request, read the
 * response head (1xx skipped), read body bytes. */
#include "internal.h"
#include "nethttp/dial.h"
#include "util/url_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int nh__conn_dial(nh_transport *t, nh__host *h, const char *host, int port, nh_time deadline,
                  const nh_client_trace *tr, nh__cconn **out) {
  nh__cconn *c = calloc(1, sizeof *c);
  if (!c || !(c->buf = malloc(NH__CLIENT_BUF))) {
    free(c);
    return NH_ENOMEM;
  }
  c->cap = NH__CLIENT_BUF;
  nh_dial_options opt = {.keep_alive = t->cfg.tcp_keepalive};
  if (tr && tr->dns_done) {
    opt.resolved = nh__trace_dns_done;
    opt.resolved_arg = (void *)tr;
  }
  nh_time dl = t->cfg.dial_timeout == NH_NO_TIMEOUT ? deadline
                                                     : nh_deadline_after(t->cfg.dial_timeout);
  if (deadline < dl)
    dl = deadline;
  int e = nh_dial_tcp(host, port, dl, &opt, &c->fd);
  nh__trace_connect_done(tr, c->fd, host, port, e);
  if (e) {
    free(c->buf);
    free(c);
    return e;
  }
  c->t = t;
  c->host = h;
  nh__arena_init(&c->arena, NULL, 0);
  nh__h1_resp_init(&c->parser, c->fields, NH__CLIENT_MAX_FIELDS);
  pthread_mutex_lock(&t->mu);
  h->open++;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_add(&t->st_open, 1);
  atomic_fetch_add(&t->st_dials, 1);
  *out = c;
  return NH_OK;
}

int nh__conn_connect_tunnel(nh__cconn *c, const char *host, int port, nh_time deadline) {
  char req[1536];
  const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
  int n = snprintf(req, sizeof req, "CONNECT %s%s%s:%d HTTP/1.1\r\nHost: %s%s%s:%d\r\n%s%s%s\r\n",
                   lb, host, rb, port, lb, host, rb, port, c->proxy_auth ? "Proxy-Authorization: " : "",
                   c->proxy_auth ? c->proxy_auth : "", c->proxy_auth ? "\r\n" : "");
  if (n <= 0 || (size_t)n >= sizeof req)
    return NH_EINVAL;
  ssize_t w = nh_fd_write(c->fd, req, (size_t)n, deadline);
  if (w < 0)
    return (int)w;
  nh_time rh = c->t->cfg.response_header_timeout == NH_NO_TIMEOUT
                   ? deadline
                   : nh_deadline_after(c->t->cfg.response_header_timeout);
  int got = 0;
  /* A CONNECT answer has no body: read it as a head alone. */
  int e = nh__conn_read_head(c, 1, 0, rh < deadline ? rh : deadline, &got);
  if (e)
    return e;
  int st = c->parser.status_code;
  c->pos = c->len = 0;
  if (st < 200 || st > 299) {
    NH_LOG(NULL, NH_LOG_WARN, "proxy refused CONNECT", NH_LINT("status", st), NH_LSTR("host", host));
    return NH_ECONNREFUSED;
  }
  return NH_OK;
}

int nh__conn_tls(nh__cconn *c, nh_tls_ctx *ctx, const char *host, nh_time deadline,
                 const nh_client_trace *tr) {
  nh_transport *t = c->t;
  if (t->cfg.tls_handshake_timeout != NH_NO_TIMEOUT) {
    nh_time hs = nh_deadline_after(t->cfg.tls_handshake_timeout);
    if (hs < deadline)
      deadline = hs;
  }
  int e = nh_tls_client(ctx, c->fd, host, deadline, &c->tls);
  nh__trace_tls_done(tr, c->tls, e);
  return e;
}

ssize_t nh__conn_io_read(nh__cconn *c, void *buf, size_t n, nh_time deadline) {
  return c->tls ? nh_tls_read(c->tls, buf, n, deadline) : nh_fd_read(c->fd, buf, n, deadline);
}

ssize_t nh__conn_io_write(nh__cconn *c, const void *buf, size_t n, nh_time deadline) {
  return c->tls ? nh_tls_write(c->tls, buf, n, deadline) : nh_fd_write(c->fd, buf, n, deadline);
}

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

int nh__conn_send_head(nh__cconn *c, nh_client_request *req, nh_time deadline, int *sent_any) {
  /* Room for a usual head up front: one allocation, not a string of
   * doublings. */
  nh__dynbuf b; /* no cap: the head is the program's own request */
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  if (nh__dynbuf_reserve(&b, 512))
    return NH_ENOMEM;
  int e = build_head(c, req, &b);
  if (!e) {
    ssize_t n = nh__conn_io_write(c, b.p, b.len, deadline);
    if (n < 0)
      e = (int)n;
    /* A write to a socket the server had closed fails at once: nothing of
     * the request reached the server, so it may be retried. */
    *sent_any = n > 0;
  }
  nh__dynbuf_free(&b);
  return e;
}

/* ---- reading ---- */

/* Room in the buffer for more input: body bytes all consumed start it
 * over; a head that does not fit grows it, up to the head limit. */
static int room(nh__cconn *c) {
  if (c->pos == c->len && c->parser.phase != NH__H1_HEAD)
    c->pos = c->len = 0; /* body bytes were all consumed: start over */
  if (c->len == c->cap) {
    size_t max = c->t->cfg.max_response_header_bytes + 4096;
    if (c->cap >= max)
      return NH_EBADRESPONSE; /* head too large */
    size_t cap = c->cap * 2;
    char *b = realloc(c->buf, cap);
    if (!b)
      return NH_ENOMEM;
    c->buf = b;
    c->cap = cap;
  }
  return NH_OK;
}

static int fill(nh__cconn *c, nh_time deadline) {
  int e = room(c);
  if (e)
    return e;
  ssize_t n = nh__conn_io_read(c, c->buf + c->len, c->cap - c->len, deadline);
  if (n < 0)
    return (int)n;
  if (n == 0)
    return NH_EEOF;
  c->len += (size_t)n;
  return NH_OK;
}

/* Parses the buffered bytes as the response head, going on with a head
 * begun earlier; 1xx heads are skipped, a 100 returned if asked. 1: a head
 * is complete; 0: more bytes are needed; or NH_EBADRESPONSE. */
static int head_step(nh__cconn *c, int head_request, int stop_at_100) {
  for (;;) {
    if (!c->head_open) {
      nh__h1_req_next(&c->parser);
      c->parser.head_request = head_request;
      c->head_open = 1;
      c->head_start = c->pos;
    }
    int r = nh__h1_parse_head(&c->parser, c->buf, &c->pos, c->len);
    if (r < 0)
      return NH_EBADRESPONSE;
    if (r == 0)
      return c->len - c->head_start > c->t->cfg.max_response_header_bytes ? NH_EBADRESPONSE : 0;
    c->head_open = 0;
    int st = c->parser.status_code;
    if (st == 100 && stop_at_100)
      return 1;
    if (st >= 100 && st < 200 && st != 101)
      continue; /* 100 Continue, 103 Early Hints: the real answer follows */
    return 1;
  }
}

int nh__conn_read_head(nh__cconn *c, int head_request, int stop_at_100, nh_time deadline,
                       int *got_any) {
  for (;;) {
    int r = head_step(c, head_request, stop_at_100);
    if (r < 0)
      return r;
    if (r == 1) {
      if (!*got_any)
        nh__trace_first_byte(c->trace); /* the head was already buffered */
      *got_any = 1;
      return NH_OK;
    }
    /* Right after a request nothing has come back yet: wait first rather
     * than pay for a read that finds nothing, unless a readiness edge came
     * while the fiber waited for something else (sending a body): it will
     * not come again. (TLS may hold bytes already; its reads handle that.) */
    if (!*got_any && c->pos == c->len && !c->tls && !nh_fd_read_pending(c->fd)) {
      int w = nh_fd_wait(c->fd, NH_FD_READ, deadline);
      if (w)
        return w;
    }
    size_t had = c->len - c->head_start;
    int e = fill(c, deadline);
    if (e == NH_EEOF)
      return had ? NH_EBADRESPONSE : NH_ECONNRESET;
    if (e)
      return e;
    if (!*got_any)
      nh__trace_first_byte(c->trace);
    *got_any = 1;
  }
}

int nh__conn_poll_head(nh__cconn *c, int head_request, int *got_any) {
  for (;;) {
    int r = head_step(c, head_request, 0);
    if (r)
      return r;
    int e = room(c);
    if (e)
      return e;
    size_t cap = c->cap - c->len;
    ssize_t n = c->tls ? nh_tls_try_read(c->tls, c->buf + c->len, cap)
                       : nh_fd_try_read(c->fd, c->buf + c->len, cap);
    if (n == NH_EAGAIN)
      return 0;
    if (n == 0) /* the server closed with no whole answer */
      return c->len > c->head_start ? NH_EBADRESPONSE : NH_ECONNRESET;
    if (n < 0)
      return (int)n;
    c->len += (size_t)n;
    if (!*got_any)
      nh__trace_first_byte(c->trace);
    *got_any = 1;
  }
}

ssize_t nh__conn_try_write(nh__cconn *c, const void *buf, size_t n) {
  return c->tls ? nh_tls_try_write(c->tls, buf, n) : nh_fd_try_write(c->fd, buf, n);
}

ssize_t nh__conn_read_body(nh__cconn *c, void *out, size_t cap, nh_time deadline) {
  nh__h1_req *p = &c->parser;
  for (;;) {
    if (p->phase == NH__H1_DONE)
      return 0;
    if (c->pos < c->len) {
      long n = nh__h1_parse_body(p, c->buf, &c->pos, c->len, out, cap);
      if (n < 0)
        return NH_EBADRESPONSE;
      if (n > 0 || p->phase == NH__H1_DONE)
        return n;
      continue;
    }
    int e = fill(c, deadline);
    if (e == NH_EEOF) {
      /* The end of a body that runs until close; anything else was cut. */
      return nh__h1_finish(p) == 0 ? 0 : NH_ECONNRESET;
    }
    if (e)
      return e;
  }
}
