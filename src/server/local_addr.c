/* nh_request_local_addr: the address a request arrived on (Go's
 * LocalAddrContextKey). A listener bound to one address answers from the
 * text formatted when it was opened; only a wildcard listener (":8080")
 * asks the kernel, and only when a handler asks: accepting pays nothing. */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int copy_out(const char *s, char *buf, size_t cap) {
  size_t n = strlen(s);
  if (n >= cap)
    return NH_EINVAL;
  memcpy(buf, s, n + 1);
  return NH_OK;
}

int nh_request_local_addr(const nh_request *r, char *buf, size_t cap) {
  if (!r || !buf || !cap)
    return NH_EINVAL;
  buf[0] = 0;
  const nh__sconn *c = r->s ? r->s->conn : NULL;
  if (!c)
    return NH_ENOTSUP; /* a recorded request never arrived on a socket */
  const char *proxied = nh__sconn_proxy_dest(c); /* the PROXY header's */
  if (proxied)
    return copy_out(proxied, buf, cap);
  const nh__listener *l = &c->srv->listeners[c->listener];
  if (!l->wildcard)
    return copy_out(l->name, buf, cap);
  if (!c->h1.io.fd)
    return NH_ECLOSED;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(nh_fd_get(c->h1.io.fd), (struct sockaddr *)&ss, &len) != 0)
    return -errno;
  /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; say
   * a.b.c.d:port, as Go does. */
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
  if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = in6->sin6_port};
    memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
    memcpy(&ss, &in, sizeof in);
    len = sizeof in;
  }
  char text[112];
  nh__format_addr((const struct sockaddr *)&ss, len, text, sizeof text);
  return copy_out(text, buf, cap);
}

int nh__request_on_unix(const nh_request *r) {
  const nh__sconn *c = r && r->s ? r->s->conn : NULL;
  return c && c->srv->listeners[c->listener].family == AF_UNIX;
}
