/* gzip of a body in hand whole, with libdeflate (codec.h). */
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/codec.h"

#define LEVELS 9

/* A compressor per thread and level: allocating one costs more than
 * compressing a small body, and a call never parks, so one is enough. */
typedef struct once_cache {
  struct libdeflate_compressor *c[LEVELS + 1];
} once_cache;

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_ok;

static void cache_drop(void *arg) { /* the thread ends */
  once_cache *oc = arg;
  for (int i = 0; i <= LEVELS; i++)
    if (oc->c[i])
      libdeflate_free_compressor(oc->c[i]);
  free(oc);
}

static void key_init(void) { key_ok = pthread_key_create(&key, cache_drop) == 0; }

static struct libdeflate_compressor *compressor(int level) {
  pthread_once(&key_once, key_init);
  if (!key_ok)
    return NULL;
  once_cache *oc = pthread_getspecific(key);
  if (!oc) {
    if (!(oc = calloc(1, sizeof *oc)))
      return NULL;
    if (pthread_setspecific(key, oc) != 0) {
      free(oc);
      return NULL;
    }
  }
  if (!oc->c[level])
    oc->c[level] = libdeflate_alloc_compressor(level);
  return oc->c[level];
}

size_t nh__gzip_once_bound(size_t n) { return libdeflate_gzip_compress_bound(NULL, n); }

size_t nh__gzip_once(int level, const void *in, size_t n, void *out, size_t cap) {
  if (level < 1)
    level = 1;
  if (level > LEVELS)
    level = LEVELS;
  struct libdeflate_compressor *c = compressor(level);
  return c ? libdeflate_gzip_compress(c, in, n, out, cap) : 0;
}
