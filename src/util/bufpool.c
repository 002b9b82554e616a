/* Buffers kept for reuse (see bufpool.h): the slow halves. */
#include "util/bufpool.h"

#include <stdlib.h>

char *nh__bufpool_get_slow(nh__bufpool *p) { return malloc(p->size); }

void nh__bufpool_put_slow(nh__bufpool *p, char *buf) {
  if (!buf)
    return;
  if (p->n < p->max && (p->bufs || (p->bufs = malloc((size_t)p->max * sizeof(char *))))) {
    p->bufs[p->n++] = buf;
    return;
  }
  free(buf);
}

void nh__bufpool_dispose(nh__bufpool *p) {
  while (p->n)
    free(p->bufs[--p->n]);
  free(p->bufs);
  p->bufs = NULL;
}
