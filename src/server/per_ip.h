/* The per-IP connection limit (per_ip.c): a take/release pair keyed by the
 * client's address, so it can be taken wherever that address is final
 * (at accept, or after a PROXY header names the real client). */
#ifndef NH_SERVER_PER_IP_H
#define NH_SERVER_PER_IP_H

#include <stdint.h>
#include <sys/socket.h>

#include "nethttp/server.h"

enum { NH__PEER_SHARDS = 32 };

typedef struct nh__peer_table nh__peer_table;

/* What a connection took: its address's key and whether it holds a count
 * (0: nothing to give back: no limit, or a Unix-socket peer). */
typedef struct nh__peer_slot {
  uint8_t key[16];
  int held;
} nh__peer_slot;

/* The server's table (NULL when out of memory); free it with the server. */
nh__peer_table *nh__peer_table_new(void);
void nh__peer_table_free(nh__peer_table *t);

/* The 16-byte key of an IPv4 or IPv6 address (IPv4 as IPv4-mapped IPv6):
 * 1, or 0 for any other family (Unix sockets), which has none. */
int nh__peer_key(const struct sockaddr *sa, socklen_t len, uint8_t key[16]);

/* Count one more connection from sa under srv's max_conns_per_ip into
 * *slot. Returns 0 (taken, or nothing to count: no limit, a Unix peer),
 * NH_EBUSY when the address already holds the limit, NH_ENOMEM. Any
 * thread; does not park (a short lock on one shard). */
int nh__peer_limit_take(nh_server *srv, const struct sockaddr *sa, socklen_t len,
                        nh__peer_slot *slot);
/* Give back what *slot holds, if anything; later calls do nothing. Any
 * thread. */
void nh__peer_limit_release(nh_server *srv, nh__peer_slot *slot);

#endif
