/* A per-loop pool of equal-sized buffers (read and write buffers of server
 * connections): at 8 and 16 KiB they are past malloc's per-thread cache,
 * and a fresh one per request cost more than a hello-world handler. Not
 * thread-safe: one pool belongs to one loop's thread. */
#ifndef NH_UTIL_BUFPOOL_H
#define NH_UTIL_BUFPOOL_H

#include <stddef.h>

typedef struct nh__bufpool {
  char **bufs; /* made on the first put */
  int n, max;  /* kept / most kept */
  size_t size; /* every buffer's size */
} nh__bufpool;

static inline void nh__bufpool_init(nh__bufpool *p, size_t size, int max) {
  p->bufs = NULL;
  p->n = 0;
  p->max = max;
  p->size = size;
}
char *nh__bufpool_get_slow(nh__bufpool *p);
void nh__bufpool_put_slow(nh__bufpool *p, char *buf);

/* A buffer of p->size bytes (NULL when out of memory). */
static inline char *nh__bufpool_get(nh__bufpool *p) {
  return p->n ? p->bufs[--p->n] : nh__bufpool_get_slow(p);
}
/* Keep buf (of p->size bytes; NULL is ignored), or free it if the pool is
 * full. */
static inline void nh__bufpool_put(nh__bufpool *p, char *buf) {
  if (buf && p->bufs && p->n < p->max)
    p->bufs[p->n++] = buf;
  else
    nh__bufpool_put_slow(p, buf);
}
/* Free every kept buffer and the pool's array. */
void nh__bufpool_dispose(nh__bufpool *p);

/* Pooled buffers alive in the process, in use or kept, and their bytes
 * (for /debug/heap). Counted where a buffer is malloc'd or freed, on the
 * slow paths only: taking and keeping one costs nothing more. */
typedef struct nh__bufpool_totals {
  long long buffers, bytes;
} nh__bufpool_totals;
void nh__bufpool_totals_get(nh__bufpool_totals *out);

#endif
