/* The capped growable byte buffer (dynbuf.h). */
#include "util/dynbuf.h"

#include "nethttp/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nh__dynbuf_init(nh__dynbuf *b, size_t max) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->max = max;
  b->err = 0;
}

void nh__dynbuf_free(nh__dynbuf *b) {
  free(b->p);
  nh__dynbuf_init(b, b->max);
}

void nh__dynbuf_reset(nh__dynbuf *b) {
  b->len = 0;
  b->err = 0;
  if (b->p)
    b->p[0] = 0;
}

int nh__dynbuf_reserve(nh__dynbuf *b, size_t n) {
  if (b->err)
    return b->err;
  if (n > b->max || b->len > b->max - n)
    return b->err = NH_ERANGE;
  size_t need = b->len + n + 1; /* + the NUL */
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
  /* Never allocate much past the cap: the last growth stops at it. */
  if (b->max != NH__DYNBUF_NOCAP && cap > b->max + 1)
    cap = b->max + 1 > need ? b->max + 1 : need;
  char *p = realloc(b->p, cap);
  if (!p)
    return b->err = NH_ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

int nh__dynbuf_add(nh__dynbuf *b, const void *data, size_t n) {
  int r = nh__dynbuf_reserve(b, n);
  if (r)
    return r;
  if (n) /* data may be NULL when n is 0 */
    memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
  return 0;
}

int nh__dynbuf_addstr(nh__dynbuf *b, const char *s) { return nh__dynbuf_add(b, s, strlen(s)); }

int nh__dynbuf_addc(nh__dynbuf *b, char c) { return nh__dynbuf_add(b, &c, 1); }

int nh__dynbuf_addf(nh__dynbuf *b, const char *fmt, ...) {
  if (b->err)
    return b->err;
  va_list ap;
  va_start(ap, fmt);
  char small[128];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return b->err = NH_EINVAL;
  if ((size_t)n < sizeof small)
    return nh__dynbuf_add(b, small, (size_t)n);
  int r = nh__dynbuf_reserve(b, (size_t)n);
  if (r)
    return r;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void nh__dynbuf_trim(nh__dynbuf *b, size_t n) {
  b->len = n > b->len ? 0 : b->len - n;
  if (b->p)
    b->p[b->len] = 0;
}

char *nh__dynbuf_take(nh__dynbuf *b, size_t *len) {
  char *p = b->err ? NULL : b->p;
  size_t n = b->len;
  if (b->err)
    free(b->p);
  else if (!p)
    p = calloc(1, 1);
  nh__dynbuf_init(b, b->max);
  if (len)
    *len = p ? n : 0;
  return p;
}
