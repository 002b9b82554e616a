/* Accept-Encoding: the field's list, its weights, and the choice. */
#include "util/accept_encoding.h"

#include <string.h>
#include <strings.h>

static int ows(char c) { return c == ' ' || c == '\t'; }

static int tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as a
 * weight 0..1000; -1 if not valid. */
static int qvalue(const char *p, size_t n) {
  if (n == 0 || (p[0] != '0' && p[0] != '1'))
    return -1;
  int q = (p[0] - '0') * 1000;
  if (n == 1)
    return q;
  if (p[1] != '.' || n > 5)
    return -1;
  int scale = 100;
  for (size_t i = 2; i < n; i++, scale /= 10) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    q += (p[i] - '0') * scale;
  }
  return q > 1000 ? -1 : q;
}

/* One element: coding [ ";" param ]*; the weight from its q parameter. */
static void element(nh__accept_enc *a, const char *p, size_t n) {
  size_t i = 0;
  while (i < n && tchar(p[i]))
    i++;
  const char *tok = p;
  size_t tl = i;
  if (tl == 0)
    return;
  int q = 1000;
  while (i < n) {
    while (i < n && ows(p[i]))
      i++;
    if (i == n)
      break;
    if (p[i] != ';')
      return; /* junk after the coding */
    i++;
    while (i < n && ows(p[i]))
      i++;
    size_t ks = i;
    while (i < n && tchar(p[i]))
      i++;
    size_t kl = i - ks;
    while (i < n && ows(p[i]))
      i++;
    if (kl == 0 || i == n || p[i] != '=')
      return;
    i++;
    while (i < n && ows(p[i]))
      i++;
    size_t vs = i;
    while (i < n && !ows(p[i]) && p[i] != ';')
      i++;
    if (kl == 1 && (p[ks] == 'q' || p[ks] == 'Q')) {
      q = qvalue(p + vs, i - vs);
      if (q < 0)
        return;
    }
  }
  int *slot;
  if (tl == 1 && tok[0] == '*') {
    slot = &a->star;
  } else {
    int c = nh__coding_parse(tok, tl);
    if (c < 0)
      return;
    slot = &a->q[c];
  }
  if (q > *slot)
    *slot = q;
}

void nh__accept_enc_init(nh__accept_enc *a) {
  for (int c = 0; c < NH__CODING_COUNT; c++)
    a->q[c] = -1;
  a->star = -1;
  a->present = 0;
}

void nh__accept_enc_parse(nh__accept_enc *a, const char *v, size_t len) {
  a->present = 1;
  size_t i = 0;
  while (i < len) {
    while (i < len && (ows(v[i]) || v[i] == ','))
      i++;
    size_t s = i;
    /* No quoted strings in this field's grammar: a comma ends an element. */
    while (i < len && v[i] != ',')
      i++;
    size_t e = i;
    while (e > s && ows(v[e - 1]))
      e--;
    if (e > s)
      element(a, v + s, e - s);
  }
}

int nh__accept_enc_weight(const nh__accept_enc *a, nh__coding c) {
  if ((unsigned)c >= NH__CODING_COUNT)
    return 0;
  if (a->q[c] >= 0)
    return a->q[c];
  if (a->star >= 0)
    return a->star;
  return c == NH__CODING_IDENTITY ? 1000 : 0;
}

nh__coding nh__accept_enc_choose(const nh__accept_enc *a, const nh__coding *prefs, size_t n) {
  if (!a->present)
    return NH__CODING_IDENTITY;
  nh__coding best = NH__CODING_IDENTITY;
  int bq = 0;
  for (size_t i = 0; i < n; i++) {
    if (prefs[i] == NH__CODING_IDENTITY)
      continue;
    int q = nh__accept_enc_weight(a, prefs[i]);
    if (q > bq) {
      best = prefs[i];
      bq = q;
    }
  }
  if (best != NH__CODING_IDENTITY && a->q[NH__CODING_IDENTITY] > bq)
    return NH__CODING_IDENTITY;
  return best;
}

void nh__accept_enc_from(nh__accept_enc *a, const nh_header *h) {
  nh__accept_enc_init(a);
  const char *vals[16];
  size_t n = nh_header_values(h, "Accept-Encoding", vals, 16);
  for (size_t i = 0; i < n && i < 16; i++)
    nh__accept_enc_parse(a, vals[i], strlen(vals[i]));
}
