/* Routing one request: clean the path, match, then Go's fallbacks in Go's
 * order — trailing-slash redirect, clean-path redirect, 405, 404. */
#include "mux/route.h"
#include "util/url_internal.h"

#include <stdlib.h>
#include <string.h>

/* Go's stripHostPort: "h:80" -> "h", "[::1]:80" -> "::1"; anything that
 * does not split as host:port is kept whole. */
static void strip_port(const char *h, const char **out, size_t *len) {
  size_t n = strlen(h);
  *out = h;
  *len = n;
  const char *colon = strrchr(h, ':');
  if (!colon)
    return;
  if (h[0] == '[') {
    const char *close = strchr(h, ']');
    if (close && close + 1 == colon) {
      *out = h + 1;
      *len = (size_t)(close - h - 1);
    }
    return;
  }
  if (memchr(h, ':', (size_t)(colon - h))) /* too many colons */
    return;
  *len = (size_t)(colon - h);
}

static const nh__rnode *match(const nh__rnode *root, const char *host, size_t hlen,
                              const char *method, nh__mmatch *m) {
  if (m->plen && m->path[0] != '/')
    return NULL;
  return nh__tree_match(root, host, hlen, method, m);
}

static int method_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void nh__route_find(const nh__rnode *root, const char *method, const char *host,
                    const char *path, const char *query, char *scratch, nh__route *o) {
  size_t plen = strlen(path), qlen = query ? strlen(query) : 0;
  o->leaf = NULL;
  o->location = NULL;
  o->nallow = 0;
  o->mm.nvals = 0;
  if (!strcmp(path, "*")) { /* "OPTIONS *" is for the server, not a route */
    o->status = 400;
    return;
  }
  int connect = !strcmp(method, "CONNECT");
  const char *h;
  size_t hlen;
  if (connect) { /* CONNECT is neither cleaned nor stripped of its port */
    h = host ? host : "";
    hlen = strlen(h);
  } else {
    strip_port(host ? host : "", &h, &hlen);
  }
  /* scratch: the cleaned path (room for one more '/'), a buffer for its
   * values, one for the trailing-slash probe, and the Location. */
  char *cp = scratch, *buf = cp + plen + 4, *probe = buf + plen + 4, *loc = probe + plen + 4;
  int clean = connect || nh__mux_path_is_clean(path);
  if (clean)
    memcpy(cp, path, plen + 1);
  else
    nh__clean_path(path, cp);
  size_t cl = strlen(cp);

  o->mm = (nh__mmatch){.path = cp, .plen = cl, .buf = buf};
  const nh__rnode *leaf = match(root, h, hlen, method, &o->mm);

  /* "/dir" when "/dir/" would match exactly: redirect there. */
  if (cl && !nh__tree_exact(leaf, cp, cl) && cp[cl - 1] != '/') {
    cp[cl] = '/';
    cp[cl + 1] = 0;
    nh__mmatch pm = {.path = cp, .plen = cl + 1, .buf = probe};
    const nh__rnode *l2 = match(root, h, hlen, method, &pm);
    if (nh__tree_exact(l2, cp, cl + 1)) {
      if (connect)
        nh__clean_path(cp, loc);
      else
        memcpy(loc, cp, cl + 2);
      size_t ll = strlen(loc);
      if (qlen) {
        loc[ll++] = '?';
        memcpy(loc + ll, query, qlen + 1);
      }
      o->status = 301;
      o->location = loc;
      return;
    }
    cp[cl] = 0;
  }
  if (!clean) {
    memcpy(loc, cp, cl + 1);
    if (qlen) {
      loc[cl] = '?';
      memcpy(loc + cl + 1, query, qlen + 1);
    }
    o->status = 301;
    o->location = loc;
    return;
  }
  if (leaf) {
    o->status = 200;
    o->leaf = leaf;
    return;
  }
  /* Nothing for this method: 405 if another method's pattern matches
   * (counting the trailing-slash redirect), else 404. */
  int cap = (int)(sizeof o->allow / sizeof o->allow[0]);
  nh__mmatch pm = {.path = cp, .plen = cl, .buf = probe};
  if (!cl || cp[0] == '/') {
    o->nallow = nh__tree_methods(root, h, hlen, &pm, o->allow, 0, cap);
    if (!(cl && cp[cl - 1] == '/')) {
      cp[cl] = '/';
      cp[cl + 1] = 0;
      pm.plen = cl + 1;
      o->nallow = nh__tree_methods(root, h, hlen, &pm, o->allow, o->nallow, cap);
      cp[cl] = 0;
    }
  }
  qsort(o->allow, (size_t)o->nallow, sizeof o->allow[0], method_cmp);
  o->status = o->nallow ? 405 : 404;
}
