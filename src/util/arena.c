/* Request-scoped bump allocator (see arena.h). */
#include "arena.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long long total_chunks, total_bytes;

static void count(long long chunks, long long bytes) {
  atomic_fetch_add_explicit(&total_chunks, chunks, memory_order_relaxed);
  atomic_fetch_add_explicit(&total_bytes, bytes, memory_order_relaxed);
}

void nh__arena_totals_get(nh__arena_totals *out) {
  out->chunks = atomic_load_explicit(&total_chunks, memory_order_relaxed);
  out->bytes = atomic_load_explicit(&total_bytes, memory_order_relaxed);
}

struct nh__arena_chunk {
  nh__arena_chunk *next;
  size_t size;
  /* data follows, 8-byte aligned */
};

#define CHUNK_MIN 4096

void nh__arena_init(nh__arena *a, void *first, size_t first_size) {
  a->first = first;
  a->first_size = first ? first_size : 0;
  a->chunks = NULL;
  a->p = a->first;
  a->end = a->first ? a->first + first_size : NULL;
}

void *nh__arena_alloc(nh__arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (!a->p || (size_t)(a->end - a->p) < n) {
    size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
    nh__arena_chunk *c = malloc(sizeof *c + size);
    if (!c)
      return NULL;
    count(1, (long long)(sizeof *c + size));
    c->next = a->chunks;
    c->size = size;
    a->chunks = c;
    a->p = (char *)(c + 1);
    a->end = a->p + size;
  }
  void *r = a->p;
  a->p += n;
  return r;
}

char *nh__arena_strndup(nh__arena *a, const char *s, size_t n) {
  char *d = nh__arena_alloc(a, n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

char *nh__arena_strdup(nh__arena *a, const char *s) { return nh__arena_strndup(a, s, strlen(s)); }

void nh__arena_reset(nh__arena *a) {
  while (a->chunks) {
    nh__arena_chunk *c = a->chunks;
    a->chunks = c->next;
    count(-1, -(long long)(sizeof *c + c->size));
    free(c);
  }
  a->p = a->first;
  a->end = a->first ? a->first + a->first_size : NULL;
}

void nh__arena_dispose(nh__arena *a) { nh__arena_reset(a); }
