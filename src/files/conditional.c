/* Conditional requests (RFC 9110 section 13), evaluated in the order of
 * section 13.2.2 exactly as Go's checkPreconditions does. */
#include "files_internal.h"

#include <nethttp/httpdate.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum { COND_NONE, COND_TRUE, COND_FALSE };

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* A syntactically valid entity-tag at s (after whitespace): its length, and
 * *tag where it starts; 0 if there is none (Go's scanETag). */
static size_t scan_etag(const char *s, const char **tag) {
  s = skip_ws(s);
  *tag = s;
  size_t start = !strncmp(s, "W/", 2) ? 2 : 0;
  if (s[start] != '"' || !s[start + 1])
    return 0;
  for (size_t i = start + 1; s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"')
      return i + 1;
    if (!(c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80))
      return 0;
  }
  return 0;
}

static int strong_match(const char *a, size_t alen, const char *b) {
  return b && alen && a[0] == '"' && strlen(b) == alen && !memcmp(a, b, alen);
}

static int weak_match(const char *a, size_t alen, const char *b) {
  if (!b)
    return 0;
  if (alen >= 2 && !strncmp(a, "W/", 2))
    a += 2, alen -= 2;
  if (!strncmp(b, "W/", 2))
    b += 2;
  return strlen(b) == alen && !memcmp(a, b, alen);
}

/* Walk a list of entity-tags: "*" or a tag that matches gives hit. */
static int list_matches(const char *v, const char *etag, int weak, int *star) {
  *star = 0;
  for (;;) {
    v = skip_ws(v);
    if (!*v)
      return 0;
    if (*v == ',') {
      v++;
      continue;
    }
    if (*v == '*') {
      *star = 1;
      return 1;
    }
    const char *tag;
    size_t n = scan_etag(v, &tag);
    if (!n)
      return 0;
    if (weak ? weak_match(tag, n, etag) : strong_match(tag, n, etag))
      return 1;
    v = tag + n;
  }
}

static int is_get_or_head(nh_request *r) {
  const char *m = nh_request_method(r);
  return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

static int check_if_match(nh_request *r, const char *etag) {
  const char *v = nh_header_get(nh_request_header(r), "If-Match");
  if (!v || !*v)
    return COND_NONE;
  int star;
  return list_matches(v, etag, 0, &star) ? COND_TRUE : COND_FALSE;
}

static int check_if_none_match(nh_request *r, const char *etag) {
  const char *v = nh_header_get(nh_request_header(r), "If-None-Match");
  if (!v || !*v)
    return COND_NONE;
  int star;
  return list_matches(v, etag, 1, &star) ? COND_FALSE : COND_TRUE;
}

/* Dates compare at whole seconds, as Last-Modified carries them. */
static int check_date(nh_request *r, const char *name, time_t modtime, int true_if_not_after) {
  const char *v = nh_header_get(nh_request_header(r), name);
  int64_t t;
  if (!v || !*v || modtime == 0 || nh_http_date_parse(v, &t) != 0)
    return COND_NONE;
  int not_after = (int64_t)modtime <= t;
  return (not_after == true_if_not_after) ? COND_TRUE : COND_FALSE;
}

int nh__not_modified_since(nh_request *r, time_t modtime) {
  return is_get_or_head(r) && check_date(r, "If-Modified-Since", modtime, 0) == COND_FALSE;
}

static int check_if_range(nh_request *r, const char *etag, time_t modtime) {
  if (!is_get_or_head(r))
    return COND_NONE;
  const char *v = nh_header_get(nh_request_header(r), "If-Range");
  if (!v || !*v)
    return COND_NONE;
  const char *tag;
  size_t n = scan_etag(v, &tag);
  if (n)
    return strong_match(tag, n, etag) ? COND_TRUE : COND_FALSE;
  int64_t t;
  if (modtime == 0 || nh_http_date_parse(v, &t) != 0)
    return COND_FALSE;
  return t == (int64_t)modtime ? COND_TRUE : COND_FALSE;
}

int nh__check_preconditions(nh_request *r, const char *etag, time_t modtime, int *use_range) {
  *use_range = 0;
  int c = check_if_match(r, etag);
  if (c == COND_NONE)
    c = check_date(r, "If-Unmodified-Since", modtime, 1);
  if (c == COND_FALSE)
    return NH__PRECOND_412;
  switch (check_if_none_match(r, etag)) {
  case COND_FALSE:
    return is_get_or_head(r) ? NH__PRECOND_304 : NH__PRECOND_412;
  case COND_NONE:
    if (is_get_or_head(r) && check_date(r, "If-Modified-Since", modtime, 0) == COND_FALSE)
      return NH__PRECOND_304;
    break;
  }
  const char *range = nh_header_get(nh_request_header(r), "Range");
  *use_range = range && *range && check_if_range(r, etag, modtime) != COND_FALSE;
  return NH__PRECOND_GO;
}

void nh__etag_format(const struct stat *st, char out[48]) {
  snprintf(out, 48, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st->st_mtime, (uint64_t)st->st_size);
}
