/* An https request through an HTTP proxy: CONNECT host:port on the
 * proxy's connection (RFC 9110 9.3.6), then TLS with the target inside the
 * tunnel. The proxy's answer is an HTTP/1 head with no body. */
#include "h1_conn.h"
#include "http1/h1_write.h"

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
    int e = nh__h1c_fill(c, in, deadline);
    if (e == NH_EEOF)
      return nh__h1_response_head_bytes(in) ? NH_EBADRESPONSE : NH_ECONNRESET;
    if (e)
      return e;
  }
}

int nh__cconn_connect_tunnel(nh__cconn *c, const char *host, int port, nh_time deadline) {
  char authority[1024];
  const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
  int an = snprintf(authority, sizeof authority, "%s%s%s:%d", lb, host, rb, port);
  if (an <= 0 || (size_t)an >= sizeof authority)
    return NH_EINVAL;
  char req[1536];
  nh__h1_buf h = {req, 0, sizeof req, 0};
  nh__h1_put_request_line(&h, "CONNECT", authority, 1);
  nh__h1_put_field(&h, "Host", 4, authority, (size_t)an);
  if (c->proxy_auth)
    nh__h1_put_field(&h, "Proxy-Authorization", 19, c->proxy_auth, strlen(c->proxy_auth));
  nh__h1_put_end(&h);
  if (!nh__h1_buf_ok(&h))
    return NH_EINVAL;
  size_t n = h.len;
  ssize_t w = nh_fd_write(c->fd, req, n, deadline);
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
