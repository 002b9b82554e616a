/* nghttp2's memory for one connection: small blocks kept on per-size
 * free lists of the connection instead of going back to malloc.
 *
 * nghttp2 allocates and frees a few blocks per stream (the stream, its
 * outbound frames, a copy of a head); with ten streams or more
 * in flight they overflow malloc's per-thread cache and each pair cost
 * some 150 instructions and a lock. Here a pair is a list push and pop.
 * Every block carries a 16-byte header naming its size class, as
 * nghttp2's free does not give the size. One user at a time (no
 * locking); what is kept goes at the session's end. */
#include "http2/h2_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16          /* keeps the block 16-byte aligned, as malloc's */
#define BIG 0xffu       /* class of a block from malloc, freed to it */
#define KEEP_PER_CLASS 64

typedef union blk {
  union blk *next; /* on a free list */
  struct {
    uint32_t cls;
  } h;
} blk;

_Static_assert(sizeof(blk) <= HDR, "block header");

static size_t class_size(unsigned cls) { return (size_t)64 << cls; }

static unsigned class_of(size_t n) {
  for (unsigned c = 0; c < NH__H2_MEM_CLASSES; c++)
    if (n + HDR <= class_size(c))
      return c;
  return BIG;
}

static void *mem_malloc(size_t n, void *ud) {
  nh__h2_mem *m = ud;
  unsigned c = class_of(n);
  blk *b;
  if (c != BIG && m->free[c]) {
    b = m->free[c];
    m->free[c] = b->next;
    m->nfree[c]--;
  } else {
    if (n > SIZE_MAX - HDR)
      return NULL;
    b = malloc(c == BIG ? n + HDR : class_size(c));
    if (!b)
      return NULL;
  }
  b->h.cls = c;
  return (char *)b + HDR;
}

static void mem_free(void *p, void *ud) {
  nh__h2_mem *m = ud;
  if (!p)
    return;
  blk *b = (blk *)((char *)p - HDR);
  unsigned c = b->h.cls;
  if (c == BIG || m->nfree[c] >= KEEP_PER_CLASS) {
    free(b);
    return;
  }
  b->next = m->free[c];
  m->free[c] = b;
  m->nfree[c]++;
}

static void *mem_calloc(size_t n, size_t size, void *ud) {
  if (size && n > SIZE_MAX / size)
    return NULL;
  void *p = mem_malloc(n * size, ud);
  if (p)
    memset(p, 0, n * size);
  return p;
}

static void *mem_realloc(void *p, size_t n, void *ud) {
  if (!p)
    return mem_malloc(n, ud);
  blk *b = (blk *)((char *)p - HDR);
  unsigned c = b->h.cls;
  if (c == BIG && class_of(n) == BIG) {
    if (n > SIZE_MAX - HDR)
      return NULL;
    blk *nb = realloc(b, n + HDR);
    return nb ? (char *)nb + HDR : NULL;
  }
  if (c != BIG && n + HDR <= class_size(c))
    return p; /* it still fits */
  void *q = mem_malloc(n, ud);
  if (!q)
    return NULL;
  size_t old = c == BIG ? n : class_size(c) - HDR; /* a BIG one shrinks here */
  memcpy(q, p, old < n ? old : n);
  mem_free(p, ud);
  return q;
}

void nh__h2_mem_init(nh__h2_mem *m) {
  memset(m, 0, sizeof *m);
  m->ng = (nghttp2_mem){m, mem_malloc, mem_free, mem_calloc, mem_realloc};
}

void nh__h2_mem_dispose(nh__h2_mem *m) {
  for (unsigned c = 0; c < NH__H2_MEM_CLASSES; c++) {
    while (m->free[c]) {
      blk *b = m->free[c];
      m->free[c] = b->next;
      free(b);
    }
    m->nfree[c] = 0;
  }
}
