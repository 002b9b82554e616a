/* Network prefixes of IP addresses, shared by NO_PROXY matching (net) and
 * the PROXY protocol's trusted sources (server). */
#ifndef NH_UTIL_IPNET_H
#define NH_UTIL_IPNET_H

#include <string.h>

/* Whether a shares its first bits bits with net; both are addresses of one
 * family in network order (4 or 16 bytes), bits at most their width. */
static inline int nh__ip_prefix_match(const unsigned char *net, const unsigned char *a, int bits) {
  int full = bits / 8, rest = bits % 8;
  if (memcmp(net, a, (size_t)full) != 0)
    return 0;
  if (!rest)
    return 1;
  unsigned char m = (unsigned char)(0xff << (8 - rest));
  return (net[full] & m) == (a[full] & m);
}

#endif
