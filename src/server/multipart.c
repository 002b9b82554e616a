/* Multipart bodies (RFC 2046 section 5.1, RFC 7578) as a push parser.
 *
 * A body is: a preamble, then "--boundary" lines separating parts, then
 * "--boundary--" and an epilogue. The delimiter is "\r\n--boundary" (the
 * CRLF before it belongs to the delimiter, not to the part), so the buffer
 * starts with a virtual "\r\n" to let the first boundary open the body.
 * After "\r\n--boundary" comes "--" (the end), or optional spaces/tabs
 * (transport padding) and CRLF; as in Go, any other byte means those bytes
 * were part data after all. Each part is a header block ending with an
 * empty line, then data up to the next delimiter.
 *
 * Data is handed on as soon as it cannot be the start of a delimiter, so a
 * part of any size goes through a buffer of fixed size. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "multipart.h"
#include "util/url_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nethttp/errors.h"
#include "nethttp/textproto.h"

enum { MP_PREAMBLE, MP_AFTER_DELIM, MP_PADDING, MP_HEADERS, MP_BODY, MP_EPILOGUE };

#define MP_CHUNK (16 * 1024)

int nh__mp_init(nh__mp *m, const char *boundary, const nh__mp_limits *lim,
                const nh__mp_handler *h) {
  static const nh__mp_limits defaults = NH__MP_LIMITS_DEFAULT;
  memset(m, 0, sizeof *m);
  size_t blen = boundary ? strlen(boundary) : 0;
  if (blen == 0 || blen > NH__MP_MAX_BOUNDARY)
    return m->err = NH_EBADFORM;
  m->lim = lim ? *lim : defaults;
  m->h = *h;
  memcpy(m->delim, "\r\n--", 4);
  memcpy(m->delim + 4, boundary, blen);
  m->dlen = 4 + blen;
  m->cap = m->lim.max_header_bytes + m->dlen + MP_CHUNK;
  m->buf = malloc(m->cap);
  m->fields = malloc(NH__MP_PART_FIELDS * sizeof *m->fields);
  if (!m->buf || !m->fields) {
    nh__mp_dispose(m);
    return m->err = NH_ENOMEM;
  }
  memcpy(m->buf, "\r\n", 2);
  m->len = 2;
  m->state = MP_PREAMBLE;
  return 0;
}

void nh__mp_dispose(nh__mp *m) {
  free(m->buf);
  free(m->fields);
  m->buf = NULL;
  m->fields = NULL;
}

int nh__mp_done(const nh__mp *m) { return m->state == MP_EPILOGUE; }

/* What follows "\r\n--boundary" at q: 1 a delimiter, 0 need more bytes,
 * -1 not a delimiter (the boundary was a prefix of part data). */
static int after_delim(const char *q, size_t n) {
  if (n == 0)
    return 0;
  switch (q[0]) {
  case ' ':
  case '\t':
  case '\r':
  case '\n':
    return 1;
  case '-':
    return n < 2 ? 0 : q[1] == '-' ? 1 : -1;
  default:
    return -1;
  }
}

static int fail(nh__mp *m, int e) { return m->err = e; }

/* A field value from `from` to the end of its line, without the blanks
 * around it, in [*v, *vend); 0 if it holds a byte a value may not. */
static int field_value(char *from, char *eol, char **v, char **vend) {
  char *b = from, *e = eol;
  while (b < e && (*b == ' ' || *b == '\t'))
    b++;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  *v = b;
  *vend = e;
  return nh_valid_header_value(b, (size_t)(e - b));
}

/* Parse the header block [p, p + n) (lines ending in CRLF, without the
 * final empty line) in place and call part_begin. */
static int parse_headers(nh__mp *m, char *p, size_t n) {
  int nf = 0;
  char *end = p + n;
  while (p < end) {
    char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (!eol)
      return fail(m, NH_EBADFORM);
    if (*p == ' ' || *p == '\t') {
      /* obs-fold: joined to the previous value with one space. The value
       * ends before this line, so moving bytes down stays in bounds. */
      if (nf == 0)
        return fail(m, NH_EBADFORM);
      char *v, *vend;
      if (!field_value(p, eol, &v, &vend))
        return fail(m, NH_EBADFORM);
      char *prev = (char *)m->fields[nf - 1].value;
      char *dst = prev + strlen(prev);
      if (vend > v) {
        *dst++ = ' ';
        memmove(dst, v, (size_t)(vend - v));
        dst += vend - v;
      }
      *dst = 0;
      p = eol + 2;
      continue;
    }
    char *colon = memchr(p, ':', (size_t)(eol - p));
    if (!colon || !nh_valid_header_name(p, (size_t)(colon - p)))
      return fail(m, NH_EBADFORM);
    char *v, *vend;
    if (!field_value(colon + 1, eol, &v, &vend))
      return fail(m, NH_EBADFORM);
    if (nf == NH__MP_PART_FIELDS || ++m->nheaders > m->lim.max_headers)
      return fail(m, NH_EBADFORM);
    nh_canonical_header_key(p, (size_t)(colon - p));
    *colon = 0;
    *vend = 0;
    m->fields[nf].name = p;
    m->fields[nf].value = v;
    nf++;
    p = eol + 2;
  }
  if (++m->nparts > m->lim.max_parts)
    return fail(m, NH_EBADFORM);
  m->in_part = 1;
  int e = m->h.part_begin ? m->h.part_begin(m->h.user, m->fields, nf) : 0;
  return e ? fail(m, e) : 0;
}

static int emit(nh__mp *m, const char *p, size_t n) {
  if (n == 0 || !m->h.part_data)
    return 0;
  int e = m->h.part_data(m->h.user, p, n);
  return e ? fail(m, e) : 0;
}

/* Consume what can be consumed of [pos, len). Returns 0 when more input is
 * needed, or an error. */
static int process(nh__mp *m) {
  for (;;) {
    char *p = m->buf + m->pos;
    size_t avail = m->len - m->pos;
    switch (m->state) {
    case MP_PREAMBLE:
    case MP_BODY: {
      int body = m->state == MP_BODY;
      char *hit = memmem(p, avail, m->delim, m->dlen);
      if (!hit) {
        /* Only the last dlen-1 bytes can start a delimiter. */
        size_t safe = avail >= m->dlen ? avail - (m->dlen - 1) : 0;
        if (body && emit(m, p, safe))
          return m->err;
        m->pos += safe;
        return 0;
      }
      size_t i = (size_t)(hit - p);
      int k = after_delim(hit + m->dlen, avail - i - m->dlen);
      if (k < 0) { /* not a delimiter: its first byte is data */
        if (body && emit(m, p, i + 1))
          return m->err;
        m->pos += i + 1;
        continue;
      }
      if (body && emit(m, p, i))
        return m->err;
      m->pos += i;
      if (k == 0)
        return 0;
      m->pos += m->dlen;
      if (body) {
        m->in_part = 0;
        int e = m->h.part_end ? m->h.part_end(m->h.user) : 0;
        if (e)
          return fail(m, e);
      }
      m->state = MP_AFTER_DELIM;
      continue;
    }
    case MP_AFTER_DELIM:
      if (avail < 2)
        return 0;
      if (p[0] == '-' && p[1] == '-') {
        m->state = MP_EPILOGUE;
        continue;
      }
      m->state = MP_PADDING;
      continue;
    case MP_PADDING:
      while (avail && (*p == ' ' || *p == '\t')) {
        p++;
        avail--;
        m->pos++;
      }
      if (avail < 2)
        return 0;
      if (p[0] != '\r' || p[1] != '\n')
        return fail(m, NH_EBADFORM);
      m->pos += 2;
      m->state = MP_HEADERS;
      continue;
    case MP_HEADERS: {
      if (avail < 2)
        return 0;
      size_t hlen;
      if (p[0] == '\r' && p[1] == '\n') {
        hlen = 0; /* a part without headers */
      } else {
        char *end = memmem(p, avail, "\r\n\r\n", 4);
        if (!end)
          return avail >= m->lim.max_header_bytes ? fail(m, NH_EBADFORM) : 0;
        hlen = (size_t)(end - p) + 2;
        if (hlen + 2 > m->lim.max_header_bytes)
          return fail(m, NH_EBADFORM);
      }
      m->pos += hlen + 2;
      if (parse_headers(m, p, hlen))
        return m->err;
      m->state = MP_BODY;
      continue;
    }
    case MP_EPILOGUE:
    default:
      m->pos = m->len;
      return 0;
    }
  }
}

char *nh__mp_space(nh__mp *m, size_t *room) {
  if (m->pos > 0) {
    memmove(m->buf, m->buf + m->pos, m->len - m->pos);
    m->len -= m->pos;
    m->pos = 0;
  }
  *room = m->buf ? m->cap - m->len : 0;
  return m->buf + m->len;
}

int nh__mp_commit(nh__mp *m, size_t n) {
  if (m->err)
    return m->err;
  if (n > m->cap - m->len)
    return fail(m, NH_EINVAL);
  m->len += n;
  return process(m);
}

int nh__mp_feed(nh__mp *m, const void *data, size_t n) {
  const char *d = data;
  while (n) {
    if (m->err)
      return m->err;
    size_t room;
    char *s = nh__mp_space(m, &room);
    size_t k = n < room ? n : room;
    memcpy(s, d, k);
    int e = nh__mp_commit(m, k);
    if (e)
      return e;
    d += k;
    n -= k;
  }
  return m->err;
}

int nh__mp_finish(nh__mp *m) {
  if (m->err)
    return m->err;
  return m->state == MP_EPILOGUE ? 0 : fail(m, NH_EBADFORM);
}

/* ---- media types (Go's mime.ParseMediaType) ---- */

static int is_tspecial(int c) { return c && strchr("()<>@,;:\\\"/[]?=", c) != NULL; }
static int is_token_char(int c) { return c > 0x20 && c < 0x7f && !is_tspecial(c); }

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* Copy a token at *s to *o, lower-cased if lower. Returns its length. */
static size_t take_token(const char **s, char **o, int lower) {
  size_t n = 0;
  while (is_token_char((unsigned char)**s)) {
    char c = *(*s)++;
    *(*o)++ = lower ? (char)tolower((unsigned char)c) : c;
    n++;
  }
  *(*o)++ = 0;
  return n;
}

/* RFC 2231 "charset'lang'pct-encoded", decoded in place. 0 or -1 (then
 * the parameter is dropped, as Go does). */
static int decode_2231(char *v) {
  char *q1 = strchr(v, '\'');
  char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
  if (!q2)
    return -1;
  size_t clen = (size_t)(q1 - v);
  if (!((clen == 5 && !strncasecmp(v, "utf-8", 5)) ||
        (clen == 8 && !strncasecmp(v, "us-ascii", 8))))
    return -1;
  char *o = v;
  for (char *p = q2 + 1; *p; p++) {
    if (*p == '%') {
      int hi = nh__hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : nh__hexval((unsigned char)p[2]);
      if (lo < 0)
        return -1;
      *o++ = (char)(hi * 16 + lo);
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
  return 0;
}

int nh__mime_parse(const char *s, nh__mime *out) {
  memset(out, 0, sizeof *out);
  /* Every name and value is at most as long as its source, plus a NUL. */
  out->mem = malloc(strlen(s) * 2 + 8);
  if (!out->mem)
    return NH_ENOMEM;
  char *o = out->mem;
  s = skip_ws(s);
  out->type = o;
  if (!take_token(&s, &o, 1))
    return NH_EINVAL;
  if (*s == '/') {
    o[-1] = '/';
    s++;
    if (!take_token(&s, &o, 1))
      return NH_EINVAL;
  }
  for (;;) {
    s = skip_ws(s);
    if (!*s)
      return 0;
    if (*s != ';')
      return NH_EINVAL;
    s = skip_ws(s + 1);
    if (!*s || *s == ';') /* a trailing or doubled ';' */
      continue;
    char *name = o;
    if (!take_token(&s, &o, 1))
      return NH_EINVAL;
    s = skip_ws(s);
    if (*s != '=')
      return NH_EINVAL;
    s = skip_ws(s + 1);
    char *value = o;
    if (*s == '"') {
      for (s++; *s != '"'; s++) {
        if (!*s)
          return NH_EINVAL;
        /* Go unescapes only a backslash before a tspecial, so Windows
         * paths sent unescaped survive. */
        if (*s == '\\' && is_tspecial((unsigned char)s[1]))
          s++;
        *o++ = *s;
      }
      s++;
      *o++ = 0;
    } else if (!take_token(&s, &o, 0)) {
      return NH_EINVAL;
    }
    size_t nlen = strlen(name);
    int ext = nlen > 1 && name[nlen - 1] == '*';
    if (ext) {
      name[nlen - 1] = 0;
      if (decode_2231(value))
        continue;
    }
    for (int i = 0; i < out->nparams; i++)
      if (out->params[i].ext == ext && !strcmp(out->params[i].name, name))
        return NH_EINVAL;
    if (out->nparams == (int)(sizeof out->params / sizeof out->params[0]))
      return NH_EINVAL;
    out->params[out->nparams++] = (nh__mime_param){name, value, ext};
  }
}

const char *nh__mime_param_get(const nh__mime *m, const char *name) {
  const char *plain = NULL;
  for (int i = 0; i < m->nparams; i++)
    if (!strcmp(m->params[i].name, name)) {
      if (m->params[i].ext)
        return m->params[i].value;
      plain = m->params[i].value;
    }
  return plain;
}

void nh__mime_dispose(nh__mime *m) {
  free(m->mem);
  m->mem = NULL;
}
