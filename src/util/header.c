/* Header map: a small array of key/value entries, searched linearly with a
 * case-insensitive compare. Requests carry a handful of headers (at most
 * max_header_count), where a scan of contiguous entries beats hashing. */
#include "header_internal.h"
#include "nethttp/errors.h"
#include "nethttp/textproto.h"
#include "textproto_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void nh__header_init(nh_header *h, nh__arena *arena) {
  h->items = h->inline_items;
  h->len = 0;
  h->cap = sizeof h->inline_items / sizeof h->inline_items[0];
  h->version = 0;
  h->frozen = 0;
  h->late = NULL;
  h->trailer_prefix = 0;
  h->changed_file = NULL;
  h->changed_line = 0;
  h->arena = arena;
}

nh_header *nh_header_new(void) {
  nh_header *h = malloc(sizeof *h);
  if (!h)
    return NULL;
  nh__arena_init(&h->own, NULL, 0);
  nh__header_init(h, &h->own);
  return h;
}

void nh_header_free(nh_header *h) {
  if (!h)
    return;
  nh__arena_dispose(&h->own);
  free(h);
}

void nh__header_clear(nh_header *h) {
  h->len = 0;
  h->late = NULL;
}

/* Are a and b (n bytes) equal but for ASCII letter case? */
static int caseless_eq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned)((x | 0x20) - 'a') > 25))
      return 0;
  }
  return 1;
}

/* strncasecmp(a, b, n) == 0 for names without NUL. Names are nearly
 * always spelled alike on both sides (canonical): eight bytes at a time
 * (the last eight overlapping the ones before) compare equal, and only
 * eight that differ are looked at byte by byte. */
static int names_eq(const char *a, const char *b, size_t n) {
  if (n < 8)
    return caseless_eq(a, b, n);
  for (size_t i = 0;; i += 8) {
    if (i + 8 > n)
      i = n - 8;
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if (x != y && !caseless_eq(a + i, b + i, 8))
      return 0;
    if (i + 8 == n)
      return 1;
  }
}

/* Every lookup runs this on each field: most differ in length. */
static inline int key_eq(const nh__hentry *e, const char *key, size_t klen) {
  return e->klen == klen && names_eq(e->key, key, klen);
}

/* Reads see a frozen map's live copy. */
#define LIVE(h) ((h)->late ? (const nh_header *)(h)->late : (h))

const char *nh_header_get(const nh_header *h, const char *key) {
  h = LIVE(h);
  size_t klen = strlen(key);
  for (uint32_t i = 0; i < h->len; i++)
    if (key_eq(&h->items[i], key, klen))
      return h->items[i].value;
  return NULL;
}

const char *nh__header_get_lower(const nh_header *h, const char *lower, size_t len) {
  h = LIVE(h);
  for (uint32_t i = 0; i < h->len; i++)
    if (nh__token_is(h->items[i].key, h->items[i].klen, lower, len))
      return h->items[i].value;
  return NULL;
}

size_t nh_header_values(const nh_header *h, const char *key, const char **vals, size_t max) {
  h = LIVE(h);
  size_t klen = strlen(key), n = 0;
  for (uint32_t i = 0; i < h->len; i++)
    if (key_eq(&h->items[i], key, klen)) {
      if (n < max)
        vals[n] = h->items[i].value;
      n++;
    }
  return n;
}

static int grow(nh_header *h) {
  uint32_t cap = h->cap * 2;
  nh__hentry *items = nh__arena_alloc(h->arena, cap * sizeof *items);
  if (!items)
    return NH_ENOMEM;
  memcpy(items, h->items, h->len * sizeof *items);
  h->items = items; /* the old block stays in the arena until it resets */
  h->cap = cap;
  return NH_OK;
}

int nh__header_append_raw(nh_header *h, const char *key, uint32_t klen, const char *value,
                          uint32_t vlen) {
  if (h->len == h->cap && grow(h) != NH_OK)
    return NH_ENOMEM;
  h->items[h->len++] = (nh__hentry){key, value, klen, vlen};
  h->version++;
  h->changed_file = NULL; /* unknown unless an _at call says */
  return NH_OK;
}

static void changed_at(nh_header *h, const char *file, int line) {
  h->changed_file = file;
  h->changed_line = line;
}

/* The functions behind the macros, for callers that take their address. */
#undef nh_header_set
#undef nh_header_add
#undef nh_header_del

int nh__header_trailer_prefixed(const char *key, size_t klen) {
  return klen > 8 && key[7] == ':' && !strncasecmp(key, "trailer:", 8);
}

int nh__header_is_trailer_key(const nh_header *h, const char *key, size_t klen) {
  if (nh__header_trailer_prefixed(key, klen))
    return 1;
  char name[128];
  if (klen >= sizeof name)
    return 0;
  memcpy(name, key, klen);
  name[klen] = 0;
  for (uint32_t i = 0; i < h->len; i++)
    if (nh__token_is(h->items[i].key, h->items[i].klen, "trailer", 7) &&
        nh_token_list_has(h->items[i].value, name))
      return 1;
  return 0;
}

/* The map a change to key goes to: h itself, or a frozen map's live copy
 * (made now from h's entries, whose strings it shares). A change to
 * anything but a trailer is noted as a late edit of the head. NULL: no
 * memory. */
static nh_header *change_target(nh_header *h, const char *key, size_t klen) {
  if (!h->frozen)
    return h;
  if (!nh__header_is_trailer_key(h, key, klen)) {
    h->version++;
    h->changed_file = NULL;
  }
  if (!h->late) {
    nh_header *l = nh__arena_alloc(h->arena, sizeof *l);
    if (!l)
      return NULL;
    nh__header_init(l, h->arena);
    while (l->cap < h->len)
      if (grow(l) != NH_OK)
        return NULL;
    memcpy(l->items, h->items, h->len * sizeof *l->items);
    l->len = h->len;
    h->late = l;
  }
  return h->late;
}

/* Names most responses carry, canonical and as HTTP/2 spells them. A key
 * given so (as code nearly always writes it) is stored as the static
 * string: no validity check, no canonicalizing copy. */
static const struct {
  const char *canon, *lower;
  uint32_t len;
} common[] = {
    {"Date", "date", 4},
    {"Content-Type", "content-type", 12},
    {"Content-Length", "content-length", 14},
    {"Server", "server", 6},
    {"Last-Modified", "last-modified", 13},
    {"Accept-Ranges", "accept-ranges", 13},
    {"Cache-Control", "cache-control", 13},
    {"Etag", "etag", 4},
    {"Vary", "vary", 4},
    {"Content-Encoding", "content-encoding", 16},
    {"Location", "location", 8},
    {"Set-Cookie", "set-cookie", 10},
    {"Expires", "expires", 7},
    {"Age", "age", 3},
    {"Alt-Svc", "alt-svc", 7},
    {"Strict-Transport-Security", "strict-transport-security", 25},
};

static const char *common_key(const char *key, size_t klen, int lower) {
  if (!klen)
    return NULL;
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
    const char *c = lower ? common[i].lower : common[i].canon;
    if (common[i].len == klen && c[0] == key[0] && !memcmp(c, key, klen))
      return common[i].canon;
  }
  return NULL;
}

/* A value copy, and the key's unless it is a known one. */
static int add_known_or_checked(nh_header *h, const char *known, const char *key, size_t klen,
                                const char *value, size_t vlen) {
  if (!known)
    return nh__header_add_checked(h, key, klen, value, vlen);
  char *v = nh__arena_strndup(h->arena, value, vlen);
  if (!v)
    return NH_ENOMEM;
  return nh__header_append_raw(h, known, (uint32_t)klen, v, (uint32_t)vlen);
}

int nh__header_add_lower(nh_header *h, const char *key, size_t klen, const char *value,
                         size_t vlen) {
  return add_known_or_checked(h, common_key(key, klen, 1), key, klen, value, vlen);
}

int nh__header_add_copy(nh_header *h, const char *key, size_t klen, const char *value,
                        size_t vlen) {
  const char *known = common_key(key, klen, 0);
  if (known)
    return add_known_or_checked(h, known, key, klen, value, vlen);
  char *k = nh__arena_alloc(h->arena, klen + 1 + vlen + 1);
  if (!k)
    return NH_ENOMEM;
  memcpy(k, key, klen);
  k[klen] = 0;
  char *v = k + klen + 1;
  memcpy(v, value, vlen);
  v[vlen] = 0;
  return nh__header_append_raw(h, k, (uint32_t)klen, v, (uint32_t)vlen);
}

int nh__header_add_checked(nh_header *h, const char *key, size_t klen, const char *value,
                           size_t vlen) {
  /* Key and value share one allocation: it runs for nearly every response. */
  char *k = nh__arena_alloc(h->arena, klen + 1 + vlen + 1);
  if (!k)
    return NH_ENOMEM;
  nh__token_canonical_copy(k, key, klen); /* one pass: copy and canonicalize */
  if (nh__header_trailer_prefixed(k, klen)) /* "Trailer:" and a name, each canonical */
    nh__token_canonical_copy(k + 8, key + 8, klen - 8);
  k[klen] = 0;
  char *v = k + klen + 1;
  memcpy(v, value, vlen);
  v[vlen] = 0;
  return nh__header_append_raw(h, k, (uint32_t)klen, v, (uint32_t)vlen);
}

/* A valid field name, or in a response's map "Trailer:" and one. */
static int valid_name(const nh_header *h, const char *key, size_t klen) {
  if (nh_valid_header_name(key, klen))
    return 1;
  return h->trailer_prefix && nh__header_trailer_prefixed(key, klen) &&
         nh_valid_header_name(key + 8, klen - 8);
}

int nh_header_add(nh_header *h, const char *key, const char *value) {
  size_t klen = strlen(key), vlen = strlen(value);
  const char *known = common_key(key, klen, 0);
  if ((!known && !valid_name(h, key, klen)) || !nh_valid_header_value(value, vlen))
    return h->frozen ? NH_OK : NH_EINVAL;
  if (!(h = change_target(h, key, klen)))
    return NH_ENOMEM;
  return add_known_or_checked(h, known, key, klen, value, vlen);
}

static size_t del_len(nh_header *h, const char *key, size_t klen) {
  if (!(h = change_target(h, key, klen)))
    return 0;
  size_t removed = 0;
  uint32_t out = 0;
  for (uint32_t i = 0; i < h->len; i++) {
    if (key_eq(&h->items[i], key, klen))
      removed++;
    else
      h->items[out++] = h->items[i];
  }
  h->len = out;
  if (removed) {
    h->version++;
    h->changed_file = NULL;
  }
  return removed;
}

size_t nh_header_del(nh_header *h, const char *key) { return del_len(h, key, strlen(key)); }

/* Runs for nearly every response (Content-Type): the key and value are
 * measured and checked once, not again by a nested nh_header_add. */
int nh_header_set(nh_header *h, const char *key, const char *value) {
  size_t klen = strlen(key), vlen = strlen(value);
  const char *known = common_key(key, klen, 0);
  if ((!known && !valid_name(h, key, klen)) || !nh_valid_header_value(value, vlen))
    return h->frozen ? NH_OK : NH_EINVAL;
  if (!(h = change_target(h, key, klen)))
    return NH_ENOMEM;
  if (h->len) /* an empty map (a fresh response's) has nothing to delete */
    del_len(h, key, klen);
  return add_known_or_checked(h, known, key, klen, value, vlen);
}

size_t nh_header_len(const nh_header *h) { return LIVE(h)->len; }

int nh_header_at(const nh_header *h, size_t i, const char **key, const char **value) {
  h = LIVE(h);
  if (i >= h->len)
    return NH_EINVAL;
  *key = h->items[i].key;
  *value = h->items[i].value;
  return NH_OK;
}

int nh_header_has_token(const nh_header *h, const char *key, const char *token) {
  h = LIVE(h);
  size_t klen = strlen(key);
  for (uint32_t i = 0; i < h->len; i++)
    if (key_eq(&h->items[i], key, klen) && nh_token_list_has(h->items[i].value, token))
      return 1;
  return 0;
}

int nh_header_set_at(nh_header *h, const char *key, const char *value, const char *file, int line) {
  uint32_t v = h->version;
  int e = nh_header_set(h, key, value);
  if (h->version != v)
    changed_at(h, file, line);
  return e;
}

int nh_header_add_at(nh_header *h, const char *key, const char *value, const char *file, int line) {
  uint32_t v = h->version;
  int e = nh_header_add(h, key, value);
  if (h->version != v)
    changed_at(h, file, line);
  return e;
}

size_t nh_header_del_at(nh_header *h, const char *key, const char *file, int line) {
  size_t n = nh_header_del(h, key);
  if (n)
    changed_at(h, file, line);
  return n;
}
