/* Route patterns "[METHOD ][HOST]/path" (Go's net/http pattern.go): parsing
 * and the relations between two patterns that decide precedence and
 * conflicts. */
#ifndef NH_MUX_PATTERN_H
#define NH_MUX_PATTERN_H

#include <stddef.h>

#include "nethttp/server.h"

/* Wildcards in one pattern; a longer list is refused at registration so a
 * match can keep its values on the stack. */
#define NH__MUX_MAX_WILDS 32

/* One path segment. A literal (s is its unescaped text), a "{name}"
 * wildcard, or a "{name...}" multi wildcard (last only). A trailing slash
 * is a nameless multi; "{$}" is the literal "/" (matches only a trailing
 * slash). */
typedef struct nh__seg {
  char *s;
  size_t len;
  unsigned char wild, multi;
} nh__seg;

typedef struct nh__pattern {
  char *str;    /* as registered */
  char *method; /* "" = any */
  char *host;   /* "" = any */
  nh__seg *segs;
  int nsegs;
  const char *names[NH__MUX_MAX_WILDS]; /* named wildcards, in order */
  int nnames;
  const char *file;
  int line;
} nh__pattern;

typedef enum nh__rel {
  NH__REL_EQUIVALENT,    /* both match the same requests */
  NH__REL_MORE_GENERAL,  /* p1 matches everything p2 does, and more */
  NH__REL_MORE_SPECIFIC, /* p2 matches everything p1 does, and more */
  NH__REL_DISJOINT,      /* no request matches both */
  NH__REL_OVERLAPS,      /* some request matches both; neither is more specific */
} nh__rel;

/* nh__pattern_parse parses s into a new pattern; on error returns NULL and
 * writes Go's message ("at offset 4: bad wildcard name ...") to err. */
nh__pattern *nh__pattern_parse(const char *s, char *err, size_t errcap);
void nh__pattern_free(nh__pattern *p);

/* 1 if the pattern ends in a multi wildcard (or a trailing slash). */
static inline int nh__pattern_multi(const nh__pattern *p) {
  return p->nsegs > 0 && p->segs[p->nsegs - 1].multi;
}

nh__rel nh__pattern_compare_methods(const nh__pattern *p1, const nh__pattern *p2);
nh__rel nh__pattern_compare_paths(const nh__pattern *p1, const nh__pattern *p2);
/* Conflict: same host, and equivalent or overlapping methods-and-paths. */
int nh__pattern_conflicts(const nh__pattern *p1, const nh__pattern *p2);
/* Why p1 and p2 (which conflict) conflict, with example paths, as Go says
 * it. Writes a NUL-terminated string of at most cap bytes. */
void nh__pattern_describe_conflict(const nh__pattern *p1, const nh__pattern *p2, char *out,
                                   size_t cap);

/* Example paths for conflict messages: one both patterns match (they
 * overlap), one p1 matches and p2 does not. */
void nh__pattern_common_path(const nh__pattern *p1, const nh__pattern *p2, char *out, size_t cap);
void nh__pattern_difference_path(const nh__pattern *p1, const nh__pattern *p2, char *out,
                                 size_t cap);

/* Path helpers shared with the matcher. */
/* Go's url.PathUnescape of s[0..n) into out (room for n+1); when s holds a
 * malformed escape, s is copied as is. Returns the length written. */
size_t nh__mux_unescape(const char *s, size_t n, char *out);
/* 1 if path is what Go's cleanPath would return for it. */
int nh__mux_path_is_clean(const char *path);

#endif
