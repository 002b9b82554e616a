/* One routing decision (Go's ServeMux.findHandler), shared by the mux's
 * handler and nh_mux_match. */
#ifndef NH_MUX_ROUTE_H
#define NH_MUX_ROUTE_H

#include "mux/tree.h"

typedef struct nh__route {
  int status; /* 200, 301, 400, 404, 405 */
  const nh__rnode *leaf;
  nh__mmatch mm;        /* the values of leaf */
  const char *location; /* 301 */
  const char *allow[32]; /* 405, sorted */
  int nallow;
} nh__route;

/* Scratch bytes nh__route_find needs for a path and query of these lengths. */
static inline size_t nh__route_scratch(size_t plen, size_t qlen) {
  return 4 * (plen + 4) + qlen + 2;
}

/* Routes one request through root; strings of out live in scratch (of
 * nh__route_scratch bytes) and in the tree. */
void nh__route_find(const nh__rnode *root, const char *method, const char *host,
                    const char *path, const char *query, char *scratch, nh__route *out);

#endif
