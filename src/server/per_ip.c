/* The per-IP connection limit (max_conns_per_ip): how many connections one
 * client address holds, across every loop.
 *
 * Addresses are kept as 16 bytes, an IPv4 one in its IPv4-mapped IPv6
 * form, so a client seen by a dual-stack listener as ::ffff:a.b.c.d and
 * by an IPv4 one as a.b.c.d counts once. Unix-socket peers have no address
 * and are never limited. The table is split in shards by a hash of the
 * address, each with its own lock and its own small chained hash table, so
 * acceptors on different loops (and connections closing on their loops)
 * rarely wait for each other. An entry lives while its count is above
 * zero: the table holds only the addresses that have a connection open.
 *
 * A connection keeps the slot it took (nh__peer_slot) and gives it back
 * when its descriptor closes; release is idempotent, so every path that
 * lets a connection go may call it. */
#include "per_ip.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct peer_entry {
  uint8_t key[16];
  int count;
  struct peer_entry *next;
} peer_entry;

typedef struct peer_shard {
  pthread_mutex_t mu;
  peer_entry **buckets;
  size_t nbuckets; /* a power of two, or 0 before the first entry */
  size_t n;
} peer_shard;

struct nh__peer_table {
  peer_shard shards[NH__PEER_SHARDS];
};

nh__peer_table *nh__peer_table_new(void) {
  nh__peer_table *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  for (int i = 0; i < NH__PEER_SHARDS; i++)
    pthread_mutex_init(&t->shards[i].mu, NULL);
  return t;
}

void nh__peer_table_free(nh__peer_table *t) {
  if (!t)
    return;
  for (int i = 0; i < NH__PEER_SHARDS; i++) {
    peer_shard *s = &t->shards[i];
    for (size_t b = 0; b < s->nbuckets; b++)
      while (s->buckets[b]) {
        peer_entry *e = s->buckets[b];
        s->buckets[b] = e->next;
        free(e);
      }
    free(s->buckets);
    pthread_mutex_destroy(&s->mu);
  }
  free(t);
}

int nh__peer_key(const struct sockaddr *sa, socklen_t len, uint8_t key[16]) {
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(key, mapped, 12);
    memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 1;
  }
  if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    return 1;
  }
  return 0;
}

/* FNV-1a: addresses are not chosen to collide here (a client cannot pick
 * many source addresses cheaply), and a collision costs a longer chain. */
static uint32_t key_hash(const uint8_t key[16]) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < 16; i++)
    h = (h ^ key[i]) * 16777619u;
  return h;
}

/* Double the shard's buckets; on no memory it keeps the old ones (chains
 * grow longer, nothing is lost). */
static void shard_grow(peer_shard *s) {
  size_t nb = s->nbuckets ? s->nbuckets * 2 : 16;
  peer_entry **b = calloc(nb, sizeof *b);
  if (!b)
    return;
  for (size_t i = 0; i < s->nbuckets; i++)
    while (s->buckets[i]) {
      peer_entry *e = s->buckets[i];
      s->buckets[i] = e->next;
      size_t at = (key_hash(e->key) >> 6) & (nb - 1);
      e->next = b[at];
      b[at] = e;
    }
  free(s->buckets);
  s->buckets = b;
  s->nbuckets = nb;
}

/* The entry's link in its chain (*link NULL: not there). */
static peer_entry **shard_find(peer_shard *s, const uint8_t key[16], uint32_t h) {
  if (!s->nbuckets)
    return NULL;
  peer_entry **link = &s->buckets[(h >> 6) & (s->nbuckets - 1)];
  while (*link && memcmp((*link)->key, key, 16))
    link = &(*link)->next;
  return link;
}

int nh__peer_limit_take(nh_server *srv, const struct sockaddr *sa, socklen_t len,
                        nh__peer_slot *slot) {
  slot->held = 0;
  int max = srv->cfg.max_conns_per_ip;
  if (max <= 0 || !srv->peers || !nh__peer_key(sa, len, slot->key))
    return NH_OK;
  uint32_t h = key_hash(slot->key);
  peer_shard *s = &srv->peers->shards[h % NH__PEER_SHARDS];
  int e = NH_OK;
  pthread_mutex_lock(&s->mu);
  peer_entry **link = shard_find(s, slot->key, h);
  if (link && *link) {
    if ((*link)->count >= max)
      e = NH_EBUSY;
    else
      (*link)->count++;
  } else {
    if (s->n >= s->nbuckets)
      shard_grow(s);
    peer_entry *n = s->nbuckets ? malloc(sizeof *n) : NULL;
    if (!n) {
      e = NH_ENOMEM; /* refused too: an unlimited one would never be counted */
    } else {
      memcpy(n->key, slot->key, 16);
      n->count = 1;
      size_t at = (h >> 6) & (s->nbuckets - 1);
      n->next = s->buckets[at];
      s->buckets[at] = n;
      s->n++;
    }
  }
  pthread_mutex_unlock(&s->mu);
  slot->held = e == NH_OK;
  return e;
}

void nh__peer_limit_release(nh_server *srv, nh__peer_slot *slot) {
  if (!slot->held)
    return;
  slot->held = 0;
  uint32_t h = key_hash(slot->key);
  peer_shard *s = &srv->peers->shards[h % NH__PEER_SHARDS];
  pthread_mutex_lock(&s->mu);
  peer_entry **link = shard_find(s, slot->key, h);
  if (link && *link && --(*link)->count <= 0) {
    peer_entry *gone = *link;
    *link = gone->next;
    s->n--;
    free(gone);
  }
  pthread_mutex_unlock(&s->mu);
}
