/* The client's trace hooks (nh_client_trace): each checks for its hook and
 * calls it; the addresses shown are formatted only when someone listens. */
#include "internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void nh_client_request_set_trace(nh_client_request *req, const nh_client_trace *trace) {
  req->trace = trace;
}

void nh__trace_host_port(char *hp, const char *host, int port) {
  size_t hl = strnlen(host, 256), n = 0;
  int v6 = memchr(host, ':', hl) != NULL;
  if (v6)
    hp[n++] = '[';
  memcpy(hp + n, host, hl);
  n += hl;
  if (v6)
    hp[n++] = ']';
  hp[n++] = ':';
  char digits[12];
  int nd = 0;
  unsigned p = (unsigned)port;
  do
    digits[nd++] = (char)('0' + p % 10);
  while ((p /= 10) && nd < (int)sizeof digits);
  while (nd)
    hp[n++] = digits[--nd];
  hp[n] = 0;
}

void nh__trace_get_conn(const nh_client_trace *tr, const char *host_port) {
  if (tr && tr->get_conn)
    tr->get_conn(tr->user, host_port);
}

void nh__trace_dns_done(void *arg, int err) {
  const nh_client_trace *tr = arg;
  if (tr->dns_done)
    tr->dns_done(tr->user, err);
}

/* addr is the peer the socket reached ("127.0.0.1:8443"), or host:port
 * when the connect failed. */
void nh__trace_connect_done(const nh_client_trace *tr, nh_fd *fd, const char *host, int port,
                            int err) {
  if (!tr || !tr->connect_done)
    return;
  char addr[INET6_ADDRSTRLEN + 16];
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char ip[INET6_ADDRSTRLEN] = "";
  if (!err && getpeername(nh_fd_get(fd), (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
      snprintf(addr, sizeof addr, "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
      snprintf(addr, sizeof addr, "%s:%d", ip, ntohs(a->sin_port));
    }
  } else {
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%.*s]:%d" : "%.*s:%d", INET6_ADDRSTRLEN, host,
             port);
  }
  tr->connect_done(tr->user, addr, err);
}

void nh__trace_tls_done(const nh_client_trace *tr, const nh_tls_conn *tls, int err) {
  if (tr && tr->tls_done)
    tr->tls_done(tr->user, err ? NULL : tls, err);
}

void nh__trace_got_conn(const nh_client_trace *tr, int reused) {
  if (tr && tr->got_conn)
    tr->got_conn(tr->user, reused);
}

void nh__trace_wrote_request(const nh_client_trace *tr, int err) {
  if (tr && tr->wrote_request)
    tr->wrote_request(tr->user, err);
}

void nh__trace_first_byte(const nh_client_trace *tr) {
  if (tr && tr->got_first_byte)
    tr->got_first_byte(tr->user);
}
