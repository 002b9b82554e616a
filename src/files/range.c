/* The Range header (RFC 9110 section 14), as Go's parseRange reads it,
 * except that what Go answers with 416 for bad syntax is ignored here. */
#include "files_internal.h"

#include <string.h>

static const char *trim(const char *s, const char *end, const char **out_end) {
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  *out_end = end;
  return s;
}

/* Decimal digits only, no sign, no overflow. */
static int parse_int(const char *s, const char *end, int64_t *out) {
  if (s == end)
    return -1;
  int64_t v = 0;
  for (; s < end; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    if (v > (INT64_MAX - (*s - '0')) / 10)
      return -1;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return 0;
}

int nh__parse_range(const char *s, int64_t size, nh__byte_range *out, int max, int *n) {
  *n = 0;
  if (!s || strncmp(s, "bytes=", 6) != 0)
    return NH__RANGE_NONE;
  int no_overlap = 0;
  for (const char *p = s + 6;;) {
    const char *comma = strchr(p, ',');
    const char *stop = comma ? comma : p + strlen(p), *end;
    const char *ra = trim(p, stop, &end);
    if (ra < end) {
      const char *dash = memchr(ra, '-', (size_t)(end - ra));
      if (!dash)
        goto ignore;
      const char *se, *ee;
      const char *st = trim(ra, dash, &se), *en = trim(dash + 1, end, &ee);
      nh__byte_range r;
      int64_t i;
      if (st == se) { /* suffix: the last N bytes */
        if (parse_int(en, ee, &i) != 0)
          goto ignore;
        if (i == 0) { /* nothing of the body: unsatisfiable (RFC 9110 14.1.3) */
          no_overlap = 1;
          goto next;
        }
        if (i > size)
          i = size;
        r.start = size - i;
        r.length = i;
        if (r.length == 0) { /* empty body */
          no_overlap = 1;
          goto next;
        }
      } else {
        if (parse_int(st, se, &i) != 0)
          goto ignore;
        if (i >= size) {
          no_overlap = 1;
          goto next;
        }
        r.start = i;
        if (en == ee) {
          r.length = size - r.start;
        } else {
          if (parse_int(en, ee, &i) != 0 || r.start > i)
            goto ignore;
          if (i >= size)
            i = size - 1;
          r.length = i - r.start + 1;
        }
      }
      if (*n == max)
        goto ignore; /* too many: the header is ignored */
      out[(*n)++] = r;
    }
  next:
    if (!comma)
      break;
    p = comma + 1;
  }
  if (*n == 0)
    return no_overlap ? NH__RANGE_NO_OVERLAP : NH__RANGE_NONE;
  return NH__RANGE_OK;
ignore: /* a malformed header is ignored whole, as if absent */
  *n = 0;
  return NH__RANGE_NONE;
}
