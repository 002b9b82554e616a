/* Query values (Go's url.Values): an ordered list of (key, value) pairs.
 * Lists are short in practice (a query, a form), so lookups are linear:
 * cheaper than hashing for a dozen keys and it keeps insertion order. */
#include "nethttp/errors.h"
#include "nethttp/url.h"
#include "url_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct pair {
  char *key, *val;
  size_t klen, vlen;
} pair;

struct nh_values {
  pair *p;
  size_t n, cap;
};

nh_values *nh_values_new(void) { return calloc(1, sizeof(nh_values)); }

const nh_values *nh__values_empty(void) {
  static const nh_values empty;
  return &empty;
}

void nh_values_free(nh_values *v) {
  if (!v)
    return;
  for (size_t i = 0; i < v->n; i++) {
    free(v->p[i].key);
    free(v->p[i].val);
  }
  free(v->p);
  free(v);
}


static int key_is(const pair *p, const char *key, size_t klen) {
  return p->klen == klen && memcmp(p->key, key, klen) == 0;
}

/* Takes ownership of k and val. */
static int push(nh_values *v, char *k, size_t klen, char *val, size_t vlen) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    pair *p = realloc(v->p, cap * sizeof *p);
    if (!p) {
      free(k);
      free(val);
      return NH_ENOMEM;
    }
    v->p = p;
    v->cap = cap;
  }
  v->p[v->n++] = (pair){k, val, klen, vlen};
  return 0;
}

int nh_values_add_n(nh_values *v, const char *key, size_t klen, const char *value,
                    size_t vlen) {
  char *k = strndup(key, klen), *val = strndup(value, vlen);
  if (!k || !val) {
    free(k);
    free(val);
    return NH_ENOMEM;
  }
  return push(v, k, klen, val, vlen);
}

int nh_values_add(nh_values *v, const char *key, const char *value) {
  return nh_values_add_n(v, key, strlen(key), value, strlen(value));
}

int nh_values_set(nh_values *v, const char *key, const char *value) {
  size_t klen = strlen(key);
  for (size_t i = 0; i < v->n; i++) {
    if (!key_is(&v->p[i], key, klen))
      continue;
    char *val = strdup(value);
    if (!val)
      return NH_ENOMEM;
    free(v->p[i].val);
    v->p[i].val = val;
    v->p[i].vlen = strlen(value);
    /* Drop the later pairs of the key. */
    size_t w = i + 1;
    for (size_t j = i + 1; j < v->n; j++) {
      if (key_is(&v->p[j], key, klen)) {
        free(v->p[j].key);
        free(v->p[j].val);
      } else {
        v->p[w++] = v->p[j];
      }
    }
    v->n = w;
    return 0;
  }
  return nh_values_add(v, key, value);
}

const char *nh_values_get(const nh_values *v, const char *key) {
  size_t klen = strlen(key);
  for (size_t i = 0; i < v->n; i++)
    if (key_is(&v->p[i], key, klen))
      return v->p[i].val;
  return NULL;
}

size_t nh_values_get_all(const nh_values *v, const char *key, const char **vals, size_t max) {
  size_t klen = strlen(key), count = 0;
  for (size_t i = 0; i < v->n; i++) {
    if (!key_is(&v->p[i], key, klen))
      continue;
    if (count < max)
      vals[count] = v->p[i].val;
    count++;
  }
  return count;
}

int nh_values_has(const nh_values *v, const char *key) { return nh_values_get(v, key) != NULL; }

size_t nh_values_del(nh_values *v, const char *key) {
  size_t klen = strlen(key), w = 0, removed = 0;
  for (size_t i = 0; i < v->n; i++) {
    if (key_is(&v->p[i], key, klen)) {
      free(v->p[i].key);
      free(v->p[i].val);
      removed++;
    } else {
      v->p[w++] = v->p[i];
    }
  }
  v->n = w;
  return removed;
}

size_t nh_values_len(const nh_values *v) { return v->n; }

int nh_values_at_n(const nh_values *v, size_t i, const char **key, size_t *klen,
                   const char **value, size_t *vlen) {
  if (i >= v->n)
    return NH_ERANGE;
  if (key)
    *key = v->p[i].key;
  if (klen)
    *klen = v->p[i].klen;
  if (value)
    *value = v->p[i].val;
  if (vlen)
    *vlen = v->p[i].vlen;
  return 0;
}

int nh_values_at(const nh_values *v, size_t i, const char **key, const char **value) {
  return nh_values_at_n(v, i, key, NULL, value, NULL);
}

int nh_values_parse_query_n(nh_values *v, const char *q, size_t len) {
  int result = 0;
  const char *end = q + len;
  while (q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    const char *piece_end = amp ? amp : end;
    const char *piece = q;
    size_t plen = (size_t)(piece_end - piece);
    q = amp ? amp + 1 : end;
    if (plen == 0)
      continue;
    /* Go 1.17+: ';' is no longer a separator, and a piece holding one is
     * refused rather than misread. */
    if (memchr(piece, ';', plen)) {
      result = NH_EBADFORM;
      continue;
    }
    const char *eq = memchr(piece, '=', plen);
    size_t kraw = eq ? (size_t)(eq - piece) : plen;
    char *k, *val;
    size_t klen, vlen;
    if (nh__unescape(piece, kraw, NH__ENC_QUERY_COMPONENT, &k, &klen)) {
      result = NH_EBADFORM;
      continue;
    }
    const char *vs = eq ? eq + 1 : piece_end;
    if (nh__unescape(vs, (size_t)(piece_end - vs), NH__ENC_QUERY_COMPONENT, &val, &vlen)) {
      free(k);
      result = NH_EBADFORM;
      continue;
    }
    if (push(v, k, klen, val, vlen))
      return NH_ENOMEM;
  }
  return result;
}

int nh_values_parse_query(nh_values *v, const char *query) {
  return nh_values_parse_query_n(v, query, strlen(query));
}

/* Sorting entry: a pair and its position, the tie-break that makes qsort
 * stable so the values of one key keep their order. */
typedef struct sort_ent {
  const pair *p;
  size_t pos;
} sort_ent;

static int cmp_ents(const void *x, const void *y) {
  const sort_ent *a = x, *b = y;
  size_t n = a->p->klen < b->p->klen ? a->p->klen : b->p->klen;
  int c = n ? memcmp(a->p->key, b->p->key, n) : 0;
  if (c)
    return c;
  if (a->p->klen != b->p->klen)
    return a->p->klen < b->p->klen ? -1 : 1;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

char *nh_values_encode(const nh_values *v) {
  sort_ent *ents = malloc((v->n ? v->n : 1) * sizeof *ents);
  if (!ents)
    return NULL;
  for (size_t i = 0; i < v->n; i++)
    ents[i] = (sort_ent){&v->p[i], i};
  if (v->n > 1)
    qsort(ents, v->n, sizeof *ents, cmp_ents);
  /* No cap: the values are in memory already (a parsed query or body was
   * capped where it was read); escaping at most triples them. */
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  for (size_t i = 0; i < v->n; i++) {
    const pair *p = ents[i].p;
    if (i)
      nh__dynbuf_addc(&b, '&');
    nh__escape_into(&b, p->key, p->klen, NH__ENC_QUERY_COMPONENT);
    nh__dynbuf_addc(&b, '=');
    nh__escape_into(&b, p->val, p->vlen, NH__ENC_QUERY_COMPONENT);
  }
  free(ents);
  return nh__dynbuf_take(&b, NULL);
}

int nh_url_query(const nh_url *u, nh_values **out) {
  nh_values *v = nh_values_new();
  *out = NULL;
  if (!v)
    return NH_ENOMEM;
  const char *q = u->raw_query ? u->raw_query : "";
  if (nh_values_parse_query(v, q) == NH_ENOMEM) {
    nh_values_free(v);
    return NH_ENOMEM;
  }
  *out = v;
  return 0;
}
