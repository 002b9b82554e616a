/* Buffers kept for reuse (see bufpool.h): the slow halves, which also
 * keep the process-wide totals. */
#include "util/bufpool.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic long long total_buffers, total_bytes;

static void count(const nh__bufpool *p, long long n) {
  atomic_fetch_add_explicit(&total_buffers, n, memory_order_relaxed);
  atomic_fetch_add_explicit(&total_bytes, n * (long long)p->size, memory_order_relaxed);
}

char *nh__bufpool_get_slow(nh__bufpool *p) {
  char *b = malloc(p->size);
  if (b)
    count(p, 1);
  return b;
}

static void release(nh__bufpool *p, char *buf) {
  free(buf);
  count(p, -1);
}

void nh__bufpool_put_slow(nh__bufpool *p, char *buf) {
  if (!buf)
    return;
  if (p->n < p->max && (p->bufs || (p->bufs = malloc((size_t)p->max * sizeof(char *))))) {
    p->bufs[p->n++] = buf;
    return;
  }
  release(p, buf);
}

void nh__bufpool_dispose(nh__bufpool *p) {
  while (p->n)
    release(p, p->bufs[--p->n]);
  free(p->bufs);
  p->bufs = NULL;
}

void nh__bufpool_totals_get(nh__bufpool_totals *out) {
  out->buffers = atomic_load_explicit(&total_buffers, memory_order_relaxed);
  out->bytes = atomic_load_explicit(&total_bytes, memory_order_relaxed);
}
