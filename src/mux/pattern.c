/* Pattern parsing and comparison, following Go's net/http pattern.go rule
 * for rule so that registrations accepted, refused and ranked here are the
 * ones Go accepts, refuses and ranks. */
#include "mux/pattern.h"
#include "util/url_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"

/* ---- paths ---- */

size_t nh__mux_unescape(const char *s, size_t n, char *out) {
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      out[w++] = s[i];
      continue;
    }
    if (i + 2 >= n) { /* fewer than two bytes follow */
      memcpy(out, s, n);
      out[n] = 0;
      return n;
    }
    int a = nh__hexval(s[i + 1]), b = nh__hexval(s[i + 2]);
    if (a < 0 || b < 0) {
      memcpy(out, s, n);
      out[n] = 0;
      return n;
    }
    out[w++] = (char)(a << 4 | b);
    i += 2;
  }
  out[w] = 0;
  return w;
}

int nh__mux_path_is_clean(const char *p) {
  if (p[0] != '/')
    return 0;
  /* No empty segment but a last one, and no "." or ".." segment. */
  for (const char *seg = p + 1;; seg++) {
    const char *e = seg;
    while (*e && *e != '/')
      e++;
    size_t len = (size_t)(e - seg);
    if ((len == 0 && *e) || (len == 1 && seg[0] == '.') ||
        (len == 2 && seg[0] == '.' && seg[1] == '.'))
      return 0;
    if (!*e)
      return 1;
    seg = e;
  }
}

/* ---- parsing ---- */

static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Go allows Unicode letters and digits; bytes of multi-byte UTF-8 are taken
 * as letters. */
static int valid_wildcard_name(const char *s, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    if (!letter && !(i > 0 && c >= '0' && c <= '9'))
      return 0;
  }
  return 1;
}


void nh__pattern_free(nh__pattern *p) {
  if (!p)
    return;
  for (int i = 0; i < p->nsegs; i++)
    free(p->segs[i].s);
  free(p->segs);
  free(p->str);
  free(p->method);
  free(p->host);
  free(p);
}

static nh__pattern *fail(nh__pattern *p, char *err, size_t cap, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static nh__pattern *fail(nh__pattern *p, char *err, size_t cap, size_t off, const char *fmt, ...) {
  int k = snprintf(err, cap, "at offset %zu: ", off);
  if (k > 0 && (size_t)k < cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
  }
  nh__pattern_free(p);
  return NULL;
}

static int add_seg(nh__pattern *p, const char *s, size_t n, int wild, int multi) {
  nh__seg *segs = realloc(p->segs, (size_t)(p->nsegs + 1) * sizeof *segs);
  if (!segs)
    return NH_ENOMEM;
  p->segs = segs;
  char *str = malloc(n + 1);
  if (!str)
    return NH_ENOMEM;
  size_t len = wild ? (memcpy(str, s, n), str[n] = 0, n) : nh__mux_unescape(s, n, str);
  segs[p->nsegs++] = (nh__seg){str, len, (unsigned char)wild, (unsigned char)multi};
  return NH_OK;
}

nh__pattern *nh__pattern_parse(const char *s, char *err, size_t cap) {
  size_t slen = strlen(s), off = 0;
  if (slen == 0)
    return fail(NULL, err, cap, 0, "empty pattern");
  nh__pattern *p = calloc(1, sizeof *p);
  if (!p)
    return fail(NULL, err, cap, 0, "out of memory");
  p->str = strndup(s, slen);
  const char *rest = s;
  size_t mlen = strcspn(s, " \t");
  int found = s[mlen] != 0;
  if (found) {
    p->method = strndup(s, mlen);
    rest = s + mlen + 1;
    rest += strspn(rest, " \t");
    off = (size_t)(rest - s);
    for (size_t i = 0; i < mlen; i++)
      if (!is_tchar((unsigned char)s[i]))
        return fail(p, err, cap, 0, "invalid method \"%s\"", p->method);
  } else {
    p->method = strndup("", 0);
  }
  const char *slash = strchr(rest, '/');
  if (!slash)
    return fail(p, err, cap, off, "host/path missing /");
  p->host = strndup(rest, (size_t)(slash - rest));
  if (!p->str || !p->method || !p->host)
    return fail(p, err, cap, 0, "out of memory");
  const char *brace = strchr(p->host, '{');
  if (brace)
    return fail(p, err, cap, off + (size_t)(brace - p->host),
                "host contains '{' (missing initial '/'?)");
  off += (size_t)(slash - rest);
  rest = slash;
  /* Requests are matched on cleaned paths, so such a pattern would be dead. */
  if (p->method[0] && strcmp(p->method, "CONNECT") != 0 && !nh__mux_path_is_clean(rest))
    return fail(p, err, cap, off, "non-CONNECT pattern with unclean path can never match");

  while (*rest) {
    rest++; /* the '/' */
    off = (size_t)(rest - s);
    if (!*rest) { /* trailing slash: matches any rest, records nothing */
      if (add_seg(p, "", 0, 1, 1))
        return fail(p, err, cap, off, "out of memory");
      break;
    }
    size_t n = strcspn(rest, "/");
    const char *seg = rest;
    rest += n;
    const char *open = memchr(seg, '{', n);
    if (!open) {
      if (add_seg(p, seg, n, 0, 0))
        return fail(p, err, cap, off, "out of memory");
      continue;
    }
    if (open != seg)
      return fail(p, err, cap, off, "bad wildcard segment (must start with '{')");
    if (seg[n - 1] != '}')
      return fail(p, err, cap, off, "bad wildcard segment (must end with '}')");
    const char *name = seg + 1;
    size_t nlen = n - 2;
    if (nlen == 1 && name[0] == '$') {
      if (*rest)
        return fail(p, err, cap, off, "{$} not at end");
      if (add_seg(p, "/", 1, 0, 0))
        return fail(p, err, cap, off, "out of memory");
      break;
    }
    int multi = nlen >= 3 && !memcmp(name + nlen - 3, "...", 3);
    if (multi) {
      nlen -= 3;
      if (*rest)
        return fail(p, err, cap, off, "{...} wildcard not at end");
    }
    if (nlen == 0)
      return fail(p, err, cap, off, "empty wildcard");
    if (!valid_wildcard_name(name, nlen))
      return fail(p, err, cap, off, "bad wildcard name \"%.*s\"", (int)nlen, name);
    for (int i = 0; i < p->nsegs; i++)
      if (p->segs[i].wild && p->segs[i].len == nlen && !memcmp(p->segs[i].s, name, nlen))
        return fail(p, err, cap, off, "duplicate wildcard name \"%.*s\"", (int)nlen, name);
    if (p->nnames == NH__MUX_MAX_WILDS)
      return fail(p, err, cap, off, "more than %d wildcards", NH__MUX_MAX_WILDS);
    if (add_seg(p, name, nlen, 1, multi))
      return fail(p, err, cap, off, "out of memory");
    p->names[p->nnames++] = p->segs[p->nsegs - 1].s;
  }
  return p;
}

/* ---- relations ---- */

static nh__rel inverse(nh__rel r) {
  return r == NH__REL_MORE_GENERAL    ? NH__REL_MORE_SPECIFIC
         : r == NH__REL_MORE_SPECIFIC ? NH__REL_MORE_GENERAL
                                      : r;
}

/* The relation of two patterns from the relations of two of their parts. */
static nh__rel combine(nh__rel r1, nh__rel r2) {
  switch (r1) {
  case NH__REL_EQUIVALENT: return r2;
  case NH__REL_DISJOINT: return NH__REL_DISJOINT;
  case NH__REL_OVERLAPS: return r2 == NH__REL_DISJOINT ? NH__REL_DISJOINT : NH__REL_OVERLAPS;
  default: /* more general or more specific */
    if (r2 == NH__REL_EQUIVALENT)
      return r1;
    if (r2 == inverse(r1))
      return NH__REL_OVERLAPS;
    return r2;
  }
}

nh__rel nh__pattern_compare_methods(const nh__pattern *p1, const nh__pattern *p2) {
  if (!strcmp(p1->method, p2->method))
    return NH__REL_EQUIVALENT;
  if (!p1->method[0])
    return NH__REL_MORE_GENERAL;
  if (!p2->method[0])
    return NH__REL_MORE_SPECIFIC;
  if (!strcmp(p1->method, "GET") && !strcmp(p2->method, "HEAD"))
    return NH__REL_MORE_GENERAL; /* GET also matches HEAD */
  if (!strcmp(p2->method, "GET") && !strcmp(p1->method, "HEAD"))
    return NH__REL_MORE_SPECIFIC;
  return NH__REL_DISJOINT;
}

static int is_slash(const nh__seg *s) { return !s->wild && s->len == 1 && s->s[0] == '/'; }

static nh__rel compare_segments(const nh__seg *s1, const nh__seg *s2) {
  if (s1->multi && s2->multi)
    return NH__REL_EQUIVALENT;
  if (s1->multi)
    return NH__REL_MORE_GENERAL;
  if (s2->multi)
    return NH__REL_MORE_SPECIFIC;
  if (s1->wild && s2->wild)
    return NH__REL_EQUIVALENT;
  if (s1->wild) /* a single wildcard does not match a trailing slash */
    return is_slash(s2) ? NH__REL_DISJOINT : NH__REL_MORE_GENERAL;
  if (s2->wild)
    return is_slash(s1) ? NH__REL_DISJOINT : NH__REL_MORE_SPECIFIC;
  return s1->len == s2->len && !memcmp(s1->s, s2->s, s1->len) ? NH__REL_EQUIVALENT
                                                              : NH__REL_DISJOINT;
}

nh__rel nh__pattern_compare_paths(const nh__pattern *p1, const nh__pattern *p2) {
  int m1 = nh__pattern_multi(p1), m2 = nh__pattern_multi(p2);
  if (p1->nsegs != p2->nsegs && !m1 && !m2)
    return NH__REL_DISJOINT;
  nh__rel rel = NH__REL_EQUIVALENT;
  int i = 0;
  for (; i < p1->nsegs && i < p2->nsegs; i++) {
    rel = combine(rel, compare_segments(&p1->segs[i], &p2->segs[i]));
    if (rel == NH__REL_DISJOINT)
      return rel;
  }
  if (i == p1->nsegs && i == p2->nsegs)
    return rel;
  /* Only a shorter pattern ending in a multi can match what the longer does. */
  if (p1->nsegs < p2->nsegs && m1)
    return combine(rel, NH__REL_MORE_GENERAL);
  if (p2->nsegs < p1->nsegs && m2)
    return combine(rel, NH__REL_MORE_SPECIFIC);
  return NH__REL_DISJOINT;
}

int nh__pattern_conflicts(const nh__pattern *p1, const nh__pattern *p2) {
  /* Different hosts never conflict: a host pattern wins over a hostless one,
   * and two different hosts match different requests. */
  if (strcmp(p1->host, p2->host) != 0)
    return 0;
  nh__rel m = nh__pattern_compare_methods(p1, p2);
  if (m == NH__REL_DISJOINT)
    return 0;
  nh__rel r = combine(m, nh__pattern_compare_paths(p1, p2));
  return r == NH__REL_EQUIVALENT || r == NH__REL_OVERLAPS;
}

/* ---- describing a conflict with example paths ---- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n && b->len + 1 < b->cap; i++)
    b->p[b->len++] = s[i];
  if (b->cap)
    b->p[b->len] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void write_segment(sbuf *b, const nh__seg *s) {
  sb_put(b, "/", 1);
  if (!s->multi && !is_slash(s))
    sb_put(b, s->s, s->len);
}

static void write_segments(sbuf *b, const nh__seg *segs, int n) {
  for (int i = 0; i < n; i++)
    write_segment(b, &segs[i]);
}

/* A path both patterns match. */
static void common_path(const nh__pattern *p1, const nh__pattern *p2, sbuf *b) {
  int i = 0;
  for (; i < p1->nsegs && i < p2->nsegs; i++)
    write_segment(b, p1->segs[i].wild ? &p2->segs[i] : &p1->segs[i]);
  if (i < p1->nsegs)
    write_segments(b, p1->segs + i, p1->nsegs - i);
  else if (i < p2->nsegs)
    write_segments(b, p2->segs + i, p2->nsegs - i);
}

/* A path p1 matches and p2 does not (the two overlap). */
static void difference_path(const nh__pattern *p1, const nh__pattern *p2, sbuf *b) {
  int i = 0;
  for (; i < p1->nsegs && i < p2->nsegs; i++) {
    const nh__seg *s1 = &p1->segs[i], *s2 = &p2->segs[i];
    if (s1->multi && s2->multi) {
      sb_puts(b, "/");
      return;
    }
    if (s1->multi && !s2->multi) {
      /* A trailing slash tells them apart, unless s2 is "{$}": then any
       * segment does. */
      sb_puts(b, "/");
      if (is_slash(s2))
        sb_puts(b, s1->len ? s1->s : "x");
      return;
    }
    if (s1->wild && !s2->wild && !s2->multi && s1->len == s2->len &&
        !memcmp(s1->s, s2->s, s1->len)) {
      sb_puts(b, "/");
      sb_put(b, s2->s, s2->len);
      sb_puts(b, "x");
    } else {
      write_segment(b, s1);
    }
  }
  if (i < p1->nsegs)
    write_segments(b, p1->segs + i, p1->nsegs - i);
  else if (i < p2->nsegs)
    write_segments(b, p2->segs + i, p2->nsegs - i);
}

void nh__pattern_common_path(const nh__pattern *p1, const nh__pattern *p2, char *out, size_t cap) {
  sbuf b = {out, 0, cap};
  if (cap)
    out[0] = 0;
  common_path(p1, p2, &b);
}

void nh__pattern_difference_path(const nh__pattern *p1, const nh__pattern *p2, char *out,
                                 size_t cap) {
  sbuf b = {out, 0, cap};
  if (cap)
    out[0] = 0;
  difference_path(p1, p2, &b);
}

void nh__pattern_describe_conflict(const nh__pattern *p1, const nh__pattern *p2, char *out,
                                   size_t cap) {
  nh__rel m = nh__pattern_compare_methods(p1, p2);
  nh__rel pr = nh__pattern_compare_paths(p1, p2);
  nh__rel r = combine(m, pr);
  if (r == NH__REL_EQUIVALENT) {
    snprintf(out, cap, "%s matches the same requests as %s", p1->str, p2->str);
  } else if (pr == NH__REL_OVERLAPS) {
    char common[256], d12[256], d21[256];
    sbuf b1 = {common, 0, sizeof common}, b2 = {d12, 0, sizeof d12}, b3 = {d21, 0, sizeof d21};
    common[0] = d12[0] = d21[0] = 0;
    common_path(p1, p2, &b1);
    difference_path(p1, p2, &b2);
    difference_path(p2, p1, &b3);
    snprintf(out, cap,
             "%s and %s both match some paths, like \"%s\".\n"
             "But neither is more specific than the other.\n"
             "%s matches \"%s\", but %s doesn't.\n"
             "%s matches \"%s\", but %s doesn't.",
             p1->str, p2->str, common, p1->str, d12, p2->str, p2->str, d21, p1->str);
  } else if (m == NH__REL_MORE_GENERAL && pr == NH__REL_MORE_SPECIFIC) {
    snprintf(out, cap, "%s matches more methods than %s, but has a more specific path pattern",
             p1->str, p2->str);
  } else {
    snprintf(out, cap, "%s matches fewer methods than %s, but has a more general path pattern",
             p1->str, p2->str);
  }
}
