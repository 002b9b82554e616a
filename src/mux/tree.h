/* The routing tree (Go's routingNode): host, then method, then one level per
 * path segment. A node's literal children are a sorted array searched by
 * bisection, beside at most one single-wildcard child and one multi-wildcard
 * child, so a match costs what the path's depth costs, not what the number
 * of routes does. Children are ordered by a hash of their key, so most
 * probes of the bisection compare one integer. Conflicts were refused at
 * registration, which is what makes "literal first, then wildcard, then
 * multi" find the most specific pattern. */
#ifndef NH_MUX_TREE_H
#define NH_MUX_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "mux/pattern.h"

typedef struct nh__rnode nh__rnode;

typedef struct nh__rchild {
  uint32_t hash; /* of key: most probes compare one integer */
  uint32_t len;
  const char *key;
  nh__rnode *node;
} nh__rchild;

struct nh__rnode {
  const nh__pattern *pattern; /* set on a leaf */
  nh_handler handler;
  nh__rchild *kids; /* sorted by (hash, len, bytes) */
  int nkids, capkids;
  nh__rnode *wild;  /* "{name}" */
  nh__rnode *multi; /* "{name...}" or a trailing slash */
};

/* The state of one match: the raw (escaped) path, a scratch buffer of
 * plen + 1 bytes where segments are unescaped, each at its own offset, and
 * the wildcard values found, NUL-terminated inside buf. */
typedef struct nh__mmatch {
  const char *path;
  size_t plen;
  char *buf;
  const char *vals[NH__MUX_MAX_WILDS];
  int nvals;
} nh__mmatch;

int nh__tree_add(nh__rnode *root, const nh__pattern *p, nh_handler h);
void nh__tree_free(nh__rnode *root);

/* The leaf for host (port stripped, may be empty), method and path, or
 * NULL; m->path/plen/buf must be set. */
const nh__rnode *nh__tree_match(const nh__rnode *root, const char *host, size_t hlen,
                                const char *method, nh__mmatch *m);

/* Methods of patterns that match host and path (HEAD added beside GET),
 * appended to out (deduplicated, unsorted); returns the new count. */
int nh__tree_methods(const nh__rnode *root, const char *host, size_t hlen, nh__mmatch *m,
                     const char **out, int n, int cap);

/* Go's exactMatch: the leaf matched path without a non-empty multi rest. */
int nh__tree_exact(const nh__rnode *leaf, const char *path, size_t plen);

#endif
