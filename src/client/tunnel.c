/* An https request through an HTTP proxy: CONNECT host:port on the
 * proxy's connection (RFC 9110 9.3.6), then TLS with the target inside the
 * tunnel. The proxy's answer is an HTTP/1 head with no body. */
#include "http1/h1_response.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The proxy's answer head into in. */
static int read_answer(nh__cconn *c, nh__h1_response *in, nh_time deadline) {
  for (;;) {
    /* A CONNECT answer has no body: read it as a head alone. */
    int r = nh__h1_response_head(in, 1, 0);
    if (r < 0)
      return r;
    if (r == 1)
      return NH_OK;
    char *at;
    size_t room;
    int e = nh__h1_response_room(in, &at, &room);
    if (e)
      return e;
    ssize_t n = nh__cconn_io_read(c, at, room, deadline);
    if (n == 0)
      return nh__h1_response_head_bytes(in) ? NH_EBADRESPONSE : NH_ECONNRESET;
    if (n < 0)
      return (int)n;
    nh__h1_response_fed(in, (size_t)n);
  }
}

int nh__cconn_connect_tunnel(nh__cconn *c, const char *host, int port, nh_time deadline) {
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
  /* On the heap: a fiber's stack is small, and this holds the field table. */
  nh__h1_response *in = malloc(sizeof *in);
  if (!in || nh__h1_response_init(in, c->t->cfg.max_response_header_bytes) != NH_OK) {
    free(in);
    return NH_ENOMEM;
  }
  int e = read_answer(c, in, rh < deadline ? rh : deadline);
  int st = nh__h1_response_status(in);
  nh__h1_response_dispose(in);
  free(in);
  if (e)
    return e;
  if (st < 200 || st > 299) {
    NH_LOG(NULL, NH_LOG_WARN, "proxy refused CONNECT", NH_LINT("status", st), NH_LSTR("host", host));
    return NH_ECONNREFUSED;
  }
  return NH_OK;
}
