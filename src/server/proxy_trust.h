/* The trusted sources of PROXY headers on a listener: networks parsed
 * once when it is opened, matched against each accepted peer. */
#ifndef NH_SERVER_PROXY_TRUST_H
#define NH_SERVER_PROXY_TRUST_H

#include <stdint.h>
#include <sys/socket.h>

typedef struct nh__proxy_net {
  int family; /* AF_INET or AF_INET6 */
  int bits;   /* prefix length */
  uint8_t addr[16];
} nh__proxy_net;

/* "10.0.0.0/8, 127.0.0.1,::1/128" -> *out (malloc'd, *n entries; NULL and
 * 0 for NULL or ""). Returns 0, NH_ENOMEM, or NH_EINVAL with *bad set to
 * the malformed entry (a static copy, for the log). */
int nh__proxy_nets_parse(const char *list, nh__proxy_net **out, int *n, const char **bad);

/* Whether peer lies in one of the networks. An IPv4-mapped IPv6 peer (a
 * dual-stack listener's view of an IPv4 client) is matched as the IPv4
 * address it is. A Unix socket peer is always trusted: who may connect is
 * the socket file's permissions' business. */
int nh__proxy_nets_match(const nh__proxy_net *nets, int n, const struct sockaddr *peer);

#endif
