/* Routing tree: insertion and matching (Go's routing_tree.go). */
#include "mux/tree.h"

#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"

/* ---- children ---- */

/* FNV-1a: cheap, and computed in the same pass that finds the segment's end. */
#define HASH_INIT 2166136261u
#define HASH_STEP(h, c) (((h) ^ (unsigned char)(c)) * 16777619u)

static uint32_t hash_of(const char *s, size_t n) {
  uint32_t h = HASH_INIT;
  for (size_t i = 0; i < n; i++)
    h = HASH_STEP(h, s[i]);
  return h;
}

static int child_cmp(const nh__rchild *c, uint32_t hash, const char *key, size_t len) {
  if (c->hash != hash)
    return c->hash < hash ? -1 : 1;
  if (c->len != len)
    return c->len < len ? -1 : 1;
  return memcmp(c->key, key, len);
}

/* Index of key among n's kids, or -(insertion point) - 1. */
static int find_index(const nh__rnode *n, uint32_t hash, const char *key, size_t len) {
  int lo = 0, hi = n->nkids;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    int c = child_cmp(&n->kids[mid], hash, key, len);
    if (c == 0)
      return mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -lo - 1;
}

static nh__rnode *find_hashed(const nh__rnode *n, uint32_t hash, const char *key, size_t len) {
  if (!n || !n->nkids)
    return NULL;
  int i = find_index(n, hash, key, len);
  return i >= 0 ? n->kids[i].node : NULL;
}

static nh__rnode *find_child(const nh__rnode *n, const char *key, size_t len) {
  return find_hashed(n, hash_of(key, len), key, len);
}

static nh__rnode *add_child(nh__rnode *n, const char *key, size_t len) {
  uint32_t hash = hash_of(key, len);
  int i = find_index(n, hash, key, len);
  if (i >= 0)
    return n->kids[i].node;
  i = -i - 1;
  if (n->nkids == n->capkids) {
    int cap = n->capkids ? n->capkids * 2 : 2;
    nh__rchild *k = realloc(n->kids, (size_t)cap * sizeof *k);
    if (!k)
      return NULL;
    n->kids = k;
    n->capkids = cap;
  }
  nh__rnode *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  memmove(&n->kids[i + 1], &n->kids[i], (size_t)(n->nkids - i) * sizeof *n->kids);
  /* Keys point into the patterns, which live as long as the tree. */
  n->kids[i] = (nh__rchild){hash, (uint32_t)len, key, c};
  n->nkids++;
  return c;
}

/* ---- insertion ---- */

int nh__tree_add(nh__rnode *root, const nh__pattern *p, nh_handler h) {
  nh__rnode *n = add_child(root, p->host, strlen(p->host));
  if (n)
    n = add_child(n, p->method, strlen(p->method));
  for (int i = 0; n && i < p->nsegs; i++) {
    const nh__seg *s = &p->segs[i];
    if (s->multi) {
      if (!n->multi)
        n->multi = calloc(1, sizeof *n->multi);
      n = n->multi;
    } else if (s->wild) {
      if (!n->wild)
        n->wild = calloc(1, sizeof *n->wild);
      n = n->wild;
    } else {
      n = add_child(n, s->s, s->len);
    }
  }
  if (!n)
    return NH_ENOMEM;
  n->pattern = p;
  n->handler = h;
  return NH_OK;
}

void nh__tree_free(nh__rnode *n) {
  if (!n)
    return;
  for (int i = 0; i < n->nkids; i++) {
    nh__tree_free(n->kids[i].node);
    free(n->kids[i].node);
  }
  free(n->kids);
  nh__tree_free(n->wild);
  free(n->wild);
  nh__tree_free(n->multi);
  free(n->multi);
  memset(n, 0, sizeof *n);
}

/* ---- matching ---- */

/* off is where the unmatched rest of the path starts (at a '/', or at its
 * end); nv is how many wildcard values were found so far. */
static const nh__rnode *match_path(const nh__rnode *n, nh__mmatch *m, size_t off, int nv) {
  if (!n)
    return NULL;
  if (off == m->plen) { /* a leaf here matches; an inner node does not */
    if (!n->pattern)
      return NULL;
    m->nvals = nv;
    return n;
  }
  /* The first segment of the rest, unescaped; a lone "/" is the trailing
   * slash, which only "{$}" (the literal "/") or a multi match. */
  size_t start = off + 1, next, slen;
  const char *seg;
  uint32_t hash = HASH_INIT;
  if (start == m->plen) {
    seg = "/";
    slen = 1;
    next = m->plen;
    hash = HASH_STEP(hash, '/');
  } else {
    /* One pass: the segment's end, its hash, and whether it is escaped. */
    const char *raw = m->path + start, *end = m->path + m->plen, *p = raw;
    int escaped = 0;
    for (; p < end && *p != '/'; p++) {
      escaped |= *p == '%';
      hash = HASH_STEP(hash, *p);
    }
    size_t rawlen = (size_t)(p - raw);
    next = start + rawlen;
    if (escaped) {
      slen = nh__mux_unescape(raw, rawlen, m->buf + start);
      seg = m->buf + start;
      hash = hash_of(seg, slen);
    } else {
      seg = raw;
      slen = rawlen;
    }
  }
  const nh__rnode *r = match_path(find_hashed(n, hash, seg, slen), m, next, nv);
  if (r)
    return r;
  if (n->wild && !(slen == 1 && seg[0] == '/') && nv < NH__MUX_MAX_WILDS) {
    /* buf[start .. start+rawlen] belongs to this segment alone. */
    char *v = m->buf + start;
    if (seg != v)
      memcpy(v, seg, slen);
    v[slen] = 0;
    m->vals[nv] = v;
    if ((r = match_path(n->wild, m, next, nv + 1)))
      return r;
  }
  const nh__rnode *c = n->multi;
  if (!c)
    return NULL;
  /* A trailing slash is a nameless multi: nothing to record. */
  const nh__pattern *p = c->pattern;
  if (p->segs[p->nsegs - 1].len && nv < NH__MUX_MAX_WILDS) {
    char *v = m->buf + start;
    size_t rest = m->plen > start ? m->plen - start : 0;
    nh__mux_unescape(m->path + start, rest, v);
    m->vals[nv++] = v;
  }
  m->nvals = nv;
  return c;
}

static const nh__rnode *match_method_and_path(const nh__rnode *n, const char *method,
                                              nh__mmatch *m) {
  if (!n)
    return NULL;
  const nh__rnode *r = match_path(find_child(n, method, strlen(method)), m, 0, 0);
  if (r)
    return r;
  if (!strcmp(method, "HEAD") && (r = match_path(find_child(n, "GET", 3), m, 0, 0)))
    return r;
  return match_path(find_child(n, "", 0), m, 0, 0);
}

const nh__rnode *nh__tree_match(const nh__rnode *root, const char *host, size_t hlen,
                                const char *method, nh__mmatch *m) {
  if (hlen) { /* a pattern naming the host wins; else fall back to hostless */
    const nh__rnode *r = match_method_and_path(find_child(root, host, hlen), method, m);
    if (r)
      return r;
  }
  return match_method_and_path(find_child(root, "", 0), method, m);
}

static int add_method(const char **out, int n, int cap, const char *method) {
  for (int i = 0; i < n; i++)
    if (!strcmp(out[i], method))
      return n;
  if (n < cap)
    out[n++] = method;
  return n;
}

static int methods_of(const nh__rnode *hn, nh__mmatch *m, const char **out, int n, int cap) {
  if (!hn)
    return n;
  /* The method-less child is skipped: it would have matched any method. */
  for (int i = 0; i < hn->nkids; i++)
    if (hn->kids[i].len && match_path(hn->kids[i].node, m, 0, 0))
      n = add_method(out, n, cap, hn->kids[i].key);
  return n;
}

int nh__tree_methods(const nh__rnode *root, const char *host, size_t hlen, nh__mmatch *m,
                     const char **out, int n, int cap) {
  if (hlen)
    n = methods_of(find_child(root, host, hlen), m, out, n, cap);
  n = methods_of(find_child(root, "", 0), m, out, n, cap);
  for (int i = 0; i < n; i++)
    if (!strcmp(out[i], "GET"))
      return add_method(out, n, cap, "HEAD");
  return n;
}

int nh__tree_exact(const nh__rnode *leaf, const char *path, size_t plen) {
  if (!leaf)
    return 0;
  if (!nh__pattern_multi(leaf->pattern))
    return 1;
  if (plen > 0 && path[plen - 1] != '/')
    return 0;
  /* "/a/b/{$}" and "/a/b/{x...}" match "/a/b/" exactly; "/a/" does not. */
  int slashes = 0;
  for (size_t i = 0; i < plen; i++)
    slashes += path[i] == '/';
  return leaf->pattern->nsegs == slashes;
}
