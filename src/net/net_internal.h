/* Internals of the network layer (nh__ prefix); not public API. */
#ifndef NH_NET_INTERNAL_H
#define NH_NET_INTERNAL_H

#include "nethttp/dial.h"

/* Opens a non-blocking TCP socket of a's family and connects it to a:port
 * before deadline. Returns 0 with *out, or an error (the socket is closed). */
int nh__connect_addr(const nh_addr *a, int port, nh_time deadline, nh_fd **out);

/* Orders addresses for dialing: families interleaved, starting with the
 * family of the first (RFC 8305 section 4). In place. */
void nh__interleave_families(nh_addr_list *l);

#endif
