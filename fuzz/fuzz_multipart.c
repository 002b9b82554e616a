/* Fuzz target: multipart bodies (they come from clients, part by part).
 * The input is a body for the boundary "xYzZY". It is parsed twice, once
 * in one piece and once in pieces of 1..16 bytes chosen by the input, and
 * both parses must report the same parts, headers, data and outcome: the
 * parser may not depend on where reads happen to split the body. The same
 * bytes are also parsed as a media type (Content-Disposition). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"
#include "server/multipart.h"

typedef struct trace {
  char *p;
  size_t len, cap;
  int in_data;
} trace;

static void put(trace *t, const void *d, size_t n) {
  if (t->len + n > t->cap) {
    t->cap = (t->len + n) * 2 + 64;
    t->p = realloc(t->p, t->cap);
    if (!t->p)
      abort();
  }
  memcpy(t->p + t->len, d, n);
  t->len += n;
}

static int on_begin(void *u, const nh__mp_field *f, int n) {
  trace *t = u;
  t->in_data = 0;
  put(t, "B", 1);
  for (int i = 0; i < n; i++) {
    if (!f[i].name[0])
      abort(); /* names are non-empty tokens */
    put(t, f[i].name, strlen(f[i].name) + 1);
    put(t, f[i].value, strlen(f[i].value) + 1);
  }
  return 0;
}

static int on_data(void *u, const char *d, size_t n) {
  trace *t = u;
  if (n == 0)
    abort();
  if (!t->in_data)
    put(t, "D", 1);
  t->in_data = 1;
  put(t, d, n);
  return 0;
}

static int on_end(void *u) {
  trace *t = u;
  t->in_data = 0;
  put(t, "E", 1);
  return 0;
}

static int run(const uint8_t *data, size_t size, int split, trace *t) {
  nh__mp m;
  nh__mp_limits lim = {256, 16, 8};
  nh__mp_handler h = {on_begin, on_data, on_end, t};
  if (nh__mp_init(&m, "xYzZY", &lim, &h))
    abort();
  int e = 0;
  size_t off = 0;
  while (!e && off < size) {
    size_t k = split ? 1 + (size_t)(data[off] & 15) : size;
    if (k > size - off)
      k = size - off;
    e = nh__mp_feed(&m, data + off, k);
    off += k;
  }
  if (!e)
    e = nh__mp_finish(&m);
  if (!e && !nh__mp_done(&m))
    abort();
  nh__mp_dispose(&m);
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  trace a = {0}, b = {0};
  int ea = run(data, size, 0, &a);
  int eb = run(data, size, 1, &b);
  if (ea != eb || (ea == 0 && (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)))
    abort();
  if (ea != 0 && ea != NH_EBADFORM)
    abort();
  free(a.p);
  free(b.p);

  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  nh__mime mt;
  if (nh__mime_parse(s, &mt) == 0) {
    if (!mt.type || !mt.type[0])
      abort();
    for (int i = 0; i < mt.nparams; i++)
      if (nh__mime_param_get(&mt, mt.params[i].name) == NULL)
        abort();
  }
  nh__mime_dispose(&mt);
  free(s);
  return 0;
}
