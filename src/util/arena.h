/* A bump allocator for request-scoped memory: many small allocations, one
 * release. The first chunk can live inside the owning struct, so a request
 * with few headers allocates nothing at all. Internal to the library. */
#ifndef NH_UTIL_ARENA_H
#define NH_UTIL_ARENA_H

#include <stddef.h>

typedef struct nh__arena_chunk nh__arena_chunk;
typedef struct nh__arena {
  char *p, *end;
  nh__arena_chunk *chunks; /* heap chunks, freed on reset/dispose */
  char *first;             /* caller-provided first block (may be NULL) */
  size_t first_size;
} nh__arena;

void nh__arena_init(nh__arena *a, void *first, size_t first_size);
/* NULL only when out of memory. Aligned to 8 bytes. */
void *nh__arena_alloc(nh__arena *a, size_t n);
char *nh__arena_strndup(nh__arena *a, const char *s, size_t n);
char *nh__arena_strdup(nh__arena *a, const char *s);
/* Frees every chunk and starts over in the first block. */
void nh__arena_reset(nh__arena *a);
void nh__arena_dispose(nh__arena *a);

/* Heap chunks of every arena in the process and their bytes (for
 * /debug/heap), counted where a chunk is malloc'd or freed: the first
 * block, inside its owner, costs and counts nothing. */
typedef struct nh__arena_totals {
  long long chunks, bytes;
} nh__arena_totals;
void nh__arena_totals_get(nh__arena_totals *out);

#endif
