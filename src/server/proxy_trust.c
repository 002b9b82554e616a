/* Trusted PROXY header sources (see proxy_trust.h). */
#include "proxy_trust.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"
#include "util/ipnet.h"

/* One entry, "ADDR" or "ADDR/BITS", into *net. */
static int parse_one(const char *s, size_t len, nh__proxy_net *net) {
  char tmp[INET6_ADDRSTRLEN + 8];
  if (len == 0 || len >= sizeof tmp)
    return -1;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  char *slash = strchr(tmp, '/');
  if (slash)
    *slash = 0;
  memset(net, 0, sizeof *net);
  int max;
  if (inet_pton(AF_INET, tmp, net->addr) == 1) {
    net->family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, tmp, net->addr) == 1) {
    net->family = AF_INET6;
    max = 128;
  } else {
    return -1;
  }
  net->bits = max;
  if (slash) {
    const char *d = slash + 1;
    size_t nd = strlen(d);
    if (nd == 0 || nd > 3 || (nd > 1 && d[0] == '0') || strspn(d, "0123456789") != nd)
      return -1;
    net->bits = atoi(d);
    if (net->bits > max)
      return -1;
  }
  return 0;
}

int nh__proxy_nets_parse(const char *list, nh__proxy_net **out, int *n, const char **bad) {
  static __thread char badbuf[64];
  *out = NULL;
  *n = 0;
  *bad = NULL;
  if (!list || !*list)
    return NH_OK;
  int cap = 1;
  for (const char *p = list; *p; p++)
    cap += *p == ',';
  nh__proxy_net *nets = calloc((size_t)cap, sizeof *nets);
  if (!nets)
    return NH_ENOMEM;
  int k = 0;
  for (const char *p = list;;) {
    const char *comma = strchr(p, ',');
    const char *e = comma ? comma : p + strlen(p);
    const char *a = p, *z = e;
    while (a < z && *a == ' ')
      a++;
    while (z > a && z[-1] == ' ')
      z--;
    if (parse_one(a, (size_t)(z - a), &nets[k]) != 0) {
      snprintf(badbuf, sizeof badbuf, "%.*s", (int)(z - a), a);
      *bad = badbuf;
      free(nets);
      return NH_EINVAL;
    }
    k++;
    if (!comma)
      break;
    p = comma + 1;
  }
  *out = nets;
  *n = k;
  return NH_OK;
}

static int in_net(const nh__proxy_net *net, int family, const uint8_t *a) {
  return net->family == family && nh__ip_prefix_match(net->addr, a, net->bits);
}

int nh__proxy_nets_match(const nh__proxy_net *nets, int n, const struct sockaddr *peer) {
  const uint8_t *a;
  const uint8_t *v4 = NULL;
  int family = peer->sa_family;
  if (family == AF_UNIX)
    return 1;
  if (family == AF_INET) {
    a = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
  } else if (family == AF_INET6) {
    const struct in6_addr *in6 = &((const struct sockaddr_in6 *)peer)->sin6_addr;
    a = in6->s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(in6))
      v4 = in6->s6_addr + 12;
  } else {
    return 0;
  }
  for (int i = 0; i < n; i++)
    if (in_net(&nets[i], family, a) || (v4 && in_net(&nets[i], AF_INET, v4)))
      return 1;
  return 0;
}
