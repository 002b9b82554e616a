/* Fuzz target: route patterns and the paths matched against them (patterns
 * come from code, but paths come from clients). Input: pattern lines, an
 * empty line, then request lines "METHOD HOST PATH" (HOST "-" for none).
 * Nothing may crash; every pair of parsed patterns must relate to each
 * other consistently both ways; every match must name a registered
 * pattern and its values. */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mux/pattern.h"

#define MAX_PATS 16

static void noop(nh_response_writer *w, nh_request *r) {}

static nh__rel inverse(nh__rel r) {
  return r == NH__REL_MORE_GENERAL    ? NH__REL_MORE_SPECIFIC
         : r == NH__REL_MORE_SPECIFIC ? NH__REL_MORE_GENERAL
                                      : r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  nh_mux *m = nh_mux_new();
  nh__pattern *pats[MAX_PATS];
  int npats = 0, in_requests = 0;
  static nh_mux_route res;
  for (char *line = s, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    if (!in_requests) {
      if (!*line) {
        in_requests = 1;
        continue;
      }
      char err[256];
      nh__pattern *p = nh__pattern_parse(line, err, sizeof err);
      if (p && npats < MAX_PATS)
        pats[npats++] = p;
      else
        nh__pattern_free(p);
      int rc = nh_mux_handle_func(m, line, noop, NULL);
      if ((rc == NH_OK) != (p != NULL) && rc != NH_ECONFLICT && rc != NH_ENOMEM)
        abort(); /* the mux refuses exactly what the parser refuses (or a conflict) */
      continue;
    }
    char *method = line, *host = strchr(line, ' '), *path = NULL;
    if (host) {
      *host++ = 0;
      path = strchr(host, ' ');
      if (path)
        *path++ = 0;
    }
    if (!path)
      continue;
    char *q = strchr(path, '?');
    if (q)
      *q++ = 0;
    int rc = nh_mux_match(m, method, strcmp(host, "-") ? host : "", path, q, &res);
    if (rc == NH_OK) {
      if (!res.pattern || res.status != 200 || res.nvalues < 0 || res.nvalues > NH_MUX_MAX_VALUES)
        abort();
      for (int i = 0; i < res.nvalues; i++)
        if (!res.names[i] || !res.values[i])
          abort();
    } else if (rc == NH_ENOENT) {
      if (res.status == 301 && (!res.location || res.location[0] != '/'))
        abort();
      if (res.status == 405 && !res.allow[0])
        abort();
    }
  }
  for (int i = 0; i < npats; i++)
    for (int j = 0; j < npats; j++) {
      if (nh__pattern_compare_paths(pats[i], pats[j]) !=
          inverse(nh__pattern_compare_paths(pats[j], pats[i])))
        abort();
      if (nh__pattern_conflicts(pats[i], pats[j]) != nh__pattern_conflicts(pats[j], pats[i]))
        abort();
      if (nh__pattern_conflicts(pats[i], pats[j])) {
        char d[1024];
        nh__pattern_describe_conflict(pats[i], pats[j], d, sizeof d);
      }
    }
  for (int i = 0; i < npats; i++)
    nh__pattern_free(pats[i]);
  nh_mux_free(m);
  free(s);
  return 0;
}
