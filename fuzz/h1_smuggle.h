/* Request smuggling checks for the HTTP/1 request parser, shared by the
 * libFuzzer target fuzz/fuzz_h1_smuggle.c and the bounded deterministic run
 * in tests/http1/test_smuggle.c.
 *
 * The input is a request (maybe followed by more bytes); a sentinel
 * request is appended. The parser reads requests from the stream one after
 * another, as a connection does; an independent reference framer written
 * from RFC 9112 (and the framing rules of Go's server) says where the
 * first message must end, or that its framing is ambiguous and it must be
 * refused. What must hold:
 *   - an accepted first request ends exactly where the reference says, and
 *     never when the reference says it must be refused;
 *   - the next request is parsed from exactly that offset, and only then;
 *   - after a refusal nothing more is parsed from the stream;
 *   - the outcome does not depend on how the bytes were split into reads.
 * A violation aborts (the fuzzer reports it; the test fails). */
#ifndef NH_FUZZ_H1_SMUGGLE_H
#define NH_FUZZ_H1_SMUGGLE_H

#include "http1/h1_request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMUG_SENTINEL "GET /sentinel HTTP/1.1\r\nHost: s\r\n\r\n"

/* ---- the reference framer ---- */

enum { REF_END, REF_REFUSE, REF_INCOMPLETE, REF_UNKNOWN };

typedef struct smug_ref {
  int verdict;
  size_t end;      /* REF_END: offset just past the message */
  const char *why; /* REF_REFUSE: the rule */
} smug_ref;

static inline int smug_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline smug_ref smug_refuse(const char *why) { return (smug_ref){REF_REFUSE, 0, why}; }

/* Offset of the next CRLF from p (the CR), or (size_t)-1. A bare LF or CR
 * before it sets *bare. */
static inline size_t smug_crlf(const char *s, size_t len, size_t p, int *bare) {
  *bare = 0;
  for (size_t i = p; i < len; i++) {
    if (s[i] == '\r') {
      if (i + 1 >= len)
        return (size_t)-1;
      if (s[i + 1] == '\n')
        return i;
      *bare = 1;
      return i;
    }
    if (s[i] == '\n') {
      *bare = 1;
      return i;
    }
  }
  return (size_t)-1;
}

static inline int smug_ows(char c) { return c == ' ' || c == '\t'; }

/* The framing of the request at s[0, len) (RFC 9112 2-7). */
static inline smug_ref smug_reference(const char *s, size_t len) {
  size_t p = 0;
  int bare;
  /* RFC 9112 2.2: empty lines before the request-line are ignored (nethttp
   * skips any CR and LF there: nothing of a message starts with them) */
  while (p < len && (s[p] == '\r' || s[p] == '\n'))
    p++;
  /* request-line = method SP request-target SP HTTP-version CRLF; a bare
   * LF or CR is refused (RFC 9112 2.2 allows either choice; nethttp's is
   * to refuse, everywhere in the message) */
  size_t ln = smug_crlf(s, len, p, &bare);
  if (ln == (size_t)-1)
    return (smug_ref){REF_INCOMPLETE, 0, NULL};
  if (bare)
    return smug_refuse("bare CR or LF ending the request line");
  size_t le = ln + 1;
  size_t i = p;
  while (i < ln && smug_tchar((unsigned char)s[i]))
    i++;
  if (i == p || i >= ln || s[i] != ' ')
    return smug_refuse("method SP");
  size_t t = ++i;
  while (i < ln && (unsigned char)s[i] > ' ' && s[i] != 0x7f)
    i++;
  if (i == t || i >= ln || s[i] != ' ')
    return smug_refuse("target SP");
  const char *v = s + i + 1;
  if (ln - (i + 1) != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
      v[7] < '0' || v[7] > '9')
    return smug_refuse("HTTP-version");
  if (v[5] != '1')
    return smug_refuse("major version");
  int http10 = v[7] == '0';
  /* field lines, each ended by CRLF */
  p = le + 1;
  int ncl = 0, nte = 0, te_chunked = 0;
  uint64_t cl = 0;
  for (;;) {
    size_t e = smug_crlf(s, len, p, &bare);
    if (e == (size_t)-1)
      return (smug_ref){REF_INCOMPLETE, 0, NULL};
    if (bare)
      return smug_refuse("bare CR or LF in a field line");
    if (e == p) {
      p = e + 2;
      break;
    }
    size_t n = p;
    while (n < e && smug_tchar((unsigned char)s[n]))
      n++;
    if (n == p || n == e || s[n] != ':')
      return smug_refuse(smug_ows(s[p]) ? "obs-fold" : "field-name ':'");
    size_t vs = n + 1, ve = e;
    while (vs < ve && smug_ows(s[vs]))
      vs++;
    while (ve > vs && smug_ows(s[ve - 1]))
      ve--;
    for (size_t k = vs; k < ve; k++)
      if ((unsigned char)s[k] < 0x20 && s[k] != '\t')
        return smug_refuse("CTL in a field value");
    size_t nl = n - p, vl = ve - vs;
    if (nl == 14 && !strncasecmp(s + p, "content-length", 14)) {
      if (!vl)
        return smug_refuse("empty Content-Length");
      uint64_t x = 0;
      for (size_t k = vs; k < ve; k++) {
        if (s[k] < '0' || s[k] > '9')
          return smug_refuse("Content-Length not 1*DIGIT");
        if (x > (UINT64_MAX - 9) / 10)
          return smug_refuse("Content-Length overflows");
        x = x * 10 + (uint64_t)(s[k] - '0');
      }
      if (ncl++ && x != cl)
        return smug_refuse("differing Content-Length");
      cl = x;
    } else if (nl == 17 && !strncasecmp(s + p, "transfer-encoding", 17)) {
      if (nte++)
        return smug_refuse("more than one Transfer-Encoding");
      if (vl != 7 || strncasecmp(s + vs, "chunked", 7))
        return smug_refuse("Transfer-Encoding other than chunked");
      te_chunked = 1;
    }
    p = e + 2;
  }
  if (nte && http10)
    return smug_refuse("Transfer-Encoding in HTTP/1.0");
  if (nte && ncl)
    return smug_refuse("Transfer-Encoding and Content-Length");
  if (!te_chunked) {
    if (cl > len - p)
      return (smug_ref){REF_INCOMPLETE, 0, NULL};
    return (smug_ref){REF_END, p + (size_t)cl, NULL};
  }
  /* chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112 7.1) */
  for (;;) {
    size_t e = smug_crlf(s, len, p, &bare);
    if (e == (size_t)-1)
      return (smug_ref){REF_INCOMPLETE, 0, NULL};
    if (bare)
      return smug_refuse("bare CR or LF in a chunk line");
    uint64_t size = 0;
    size_t k = p;
    for (; k < e; k++) {
      char c = s[k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F'                               ? c - 'A' + 10
                                                                   : -1;
      if (d < 0)
        break;
      if (size >> 59)
        return smug_refuse("chunk size over 63 bits");
      size = size * 16 + (uint64_t)d;
    }
    if (k == p)
      return smug_refuse("chunk-size = 1*HEXDIG");
    if (k < e && s[k] != ';' && !smug_ows(s[k]))
      return smug_refuse("chunk-size then chunk-ext");
    p = e + 2;
    if (size == 0)
      break;
    if (size > len - p || len - p - size < 2)
      return (smug_ref){REF_INCOMPLETE, 0, NULL};
    if (s[p + size] != '\r' || s[p + size + 1] != '\n')
      return smug_refuse("chunk data then CRLF");
    p += size + 2;
  }
  for (;;) { /* trailer fields: framing only needs their line ends */
    size_t e = smug_crlf(s, len, p, &bare);
    if (e == (size_t)-1)
      return (smug_ref){REF_INCOMPLETE, 0, NULL};
    if (bare)
      return smug_refuse("bare CR or LF in the trailer section");
    if (e == p)
      return (smug_ref){REF_END, e + 2, NULL};
    p = e + 2;
  }
}

/* ---- the parser under test ---- */

enum { SMUG_NEED = 0, SMUG_DONE = 1, SMUG_FAILED = -1 };

typedef struct smug_msg {
  int result;    /* SMUG_DONE, SMUG_FAILED, SMUG_NEED */
  size_t start, end;
  int status;
  int keep_alive;
} smug_msg;

/* Reads one message from buf[*pos, len), feeding at most step bytes at a
 * time (0: all). */
static inline smug_msg smug_parse_one(nh__h1_req *p, char *buf, size_t *pos, size_t len, size_t step) {
  smug_msg m = {SMUG_NEED, *pos, 0, 0, 0};
  size_t lim = *pos;
  int r = 0;
  while (r == 0) {
    lim = step && lim + step < len ? lim + step : len;
    r = nh__h1_parse_head(p, buf, pos, lim);
    if (r == 0 && lim == len)
      return m;
  }
  if (r < 0) {
    m.result = SMUG_FAILED;
    m.status = p->status;
    return m;
  }
  static char out[256];
  while (p->phase == NH__H1_BODY) {
    if (*pos == lim) {
      if (lim == len)
        return m;
      lim = step && lim + step < len ? lim + step : len;
    }
    long n = nh__h1_parse_body(p, buf, pos, lim, out, step ? step : sizeof out);
    if (n < 0) {
      m.result = SMUG_FAILED;
      m.status = p->status;
      return m;
    }
  }
  m.result = SMUG_DONE;
  m.end = *pos;
  m.keep_alive = p->keep_alive;
  return m;
}

#define SMUG_MAX_MSGS 8

typedef struct smug_run {
  int n; /* messages read */
  smug_msg msg[SMUG_MAX_MSGS];
} smug_run;

/* Reads messages one after another, as a connection would. */
static inline smug_run smug_parse_stream(char *buf, size_t len, size_t step) {
  smug_run run = {0};
  nh__h1_field fields[64];
  nh__h1_req p;
  nh__h1_req_init(&p, fields, 64);
  size_t pos = 0;
  while (run.n < SMUG_MAX_MSGS) {
    smug_msg m = smug_parse_one(&p, buf, &pos, len, step);
    run.msg[run.n++] = m;
    if (m.result == SMUG_FAILED) {
      /* A refused stream stays refused: nothing after it is parsed. */
      size_t again = pos;
      if (nh__h1_parse_head(&p, buf, &again, len) != -1)
        abort();
      break;
    }
    if (m.result != SMUG_DONE || !m.keep_alive || pos == len)
      break;
    nh__h1_req_next(&p);
  }
  return run;
}

typedef struct smug_stats {
  long inputs, accepted, refused, incomplete, pipelined, ref_refused;
} smug_stats;

static inline void smug_fail(const char *what, const char *buf, size_t len, size_t step) {
  fprintf(stderr, "smuggling invariant broken: %s (step %zu)\ninput (%zu bytes): ", what, step, len);
  for (size_t i = 0; i < len && i < 2000; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02x", c);
  }
  fputc('\n', stderr);
#ifndef SMUG_KEEP_GOING /* for a survey of every kind of violation */
  abort();
#endif
}

/* Checks every invariant on one input (the sentinel is appended here). */
static inline void smug_check(const uint8_t *data, size_t size, smug_stats *st) {
  size_t slen = strlen(SMUG_SENTINEL), len = size + slen;
  char *buf = malloc(len + 1);
  memcpy(buf, data, size);
  memcpy(buf + size, SMUG_SENTINEL, slen);
  buf[len] = 0;
  smug_ref ref = smug_reference(buf, len);
  smug_run whole = smug_parse_stream(buf, len, 0);
  const smug_msg *m = &whole.msg[0];
  if (st) {
    st->inputs++;
    st->accepted += m->result == SMUG_DONE;
    st->refused += m->result == SMUG_FAILED;
    st->incomplete += m->result == SMUG_NEED;
    st->pipelined += whole.n > 1 && whole.msg[1].result == SMUG_DONE;
    st->ref_refused += ref.verdict == REF_REFUSE;
  }
  if (m->result == SMUG_DONE) {
    if (ref.verdict == REF_REFUSE) {
      char why[160];
      snprintf(why, sizeof why, "accepted a request whose framing must be refused (%s)", ref.why);
      smug_fail(why, buf, len, 0);
    }
    if (ref.verdict == REF_INCOMPLETE)
      smug_fail("accepted a request the reference says is not complete", buf, len, 0);
    if (ref.verdict == REF_END && ref.end != m->end) {
      char why[160];
      snprintf(why, sizeof why, "the request ends at %zu, the reference says %zu", m->end, ref.end);
      smug_fail(why, buf, len, 0);
    }
  } else if (m->result == SMUG_NEED && ref.verdict == REF_END) {
    smug_fail("still waiting for a request the reference says ended", buf, len, 0);
  }
  for (int i = 1; i < whole.n; i++) {
    if (whole.msg[i].start != whole.msg[i - 1].end)
      smug_fail("a request did not start where the one before it ended", buf, len, 0);
    if (whole.msg[i - 1].result != SMUG_DONE || !whole.msg[i - 1].keep_alive)
      smug_fail("a request was read after one that was refused or closes", buf, len, 0);
  }
  /* The same stream in small reads. */
  size_t step = 1 + (size > 0 ? data[0] % 7 : 0);
  smug_run piece = smug_parse_stream(buf, len, step);
  if (piece.n != whole.n)
    smug_fail("reads of another size gave another number of requests", buf, len, step);
  for (int i = 0; i < whole.n; i++)
    if (piece.msg[i].result != whole.msg[i].result || piece.msg[i].end != whole.msg[i].end ||
        piece.msg[i].status != whole.msg[i].status)
      smug_fail("reads of another size gave another outcome", buf, len, step);
  free(buf);
}

/* ---- a mutator toward smuggling shapes ---- */

static const char *const smug_seeds[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: v\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /two HTTP/1.1\r\nHost: a\r\n\r\n",
    "PUT /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n",
};
#define SMUG_NSEEDS (sizeof smug_seeds / sizeof smug_seeds[0])

static const char *const smug_lines[] = {
    "Content-Length: 0", "Content-Length: 3", "Content-Length: 5", "Content-Length: 40",
    "Content-Length : 5", "Content-Length:\t5", "Content-Length: +5", "Content-Length: 5, 5",
    "Content-Length: 05", "Content-Length: 5 5", "Content-Length:", "Content-length: 6",
    "Content-Length: 18446744073709551621", "Transfer-Encoding: chunked",
    "Transfer-Encoding : chunked", "Transfer-Encoding: Chunked", "Transfer-Encoding: chunked, chunked",
    "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: identity", "Transfer-Encoding:\tchunked ",
    "Transfer-Encoding: xchunked", "Transfer-Encoding:", " Transfer-Encoding: chunked",
    "\tContent-Length: 5", "Transfer_Encoding: chunked", "Transfer-Encoding\t: chunked",
    "Host: b", "Connection: close", "Connection: keep-alive", "Expect: 100-continue", "X: a\rb",
    "X: a\x01b",
};
#define SMUG_NLINES (sizeof smug_lines / sizeof smug_lines[0])

static const char *const smug_sizes[] = {
    "0", "1", "3", "5", "6", "a", "A", "ffffffffffffffff", "8000000000000000", "7fffffffffffffff",
    "00000000000000000005", "0x5", " 5", "5 ", "5;", "5;a=b", "5 ;a", "-5", "", "5\n", "g",
};
#define SMUG_NSIZES (sizeof smug_sizes / sizeof smug_sizes[0])

static uint32_t smug_rand(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*s >> 33);
}

/* Replaces buf[at, at+del) by ins. */
static inline size_t smug_splice(char *buf, size_t len, size_t cap, size_t at, size_t del, const char *ins,
                          size_t n) {
  if (at > len)
    at = len;
  if (del > len - at)
    del = len - at;
  if (len - del + n > cap)
    return len;
  memmove(buf + at + n, buf + at + del, len - at - del);
  memcpy(buf + at, ins, n);
  return len - del + n;
}

/* Offset of a random line start (after a LF) in buf; 0 if none. */
static inline size_t smug_line_start(const char *buf, size_t len, uint64_t *rs) {
  size_t starts[64], n = 0;
  for (size_t i = 0; i + 1 < len && n < 64; i++)
    if (buf[i] == '\n')
      starts[n++] = i + 1;
  return n ? starts[smug_rand(rs) % n] : 0;
}

/* One edit toward a smuggling shape. */
static inline size_t smug_edit(char *buf, size_t len, size_t cap, uint64_t *rs) {
  switch (smug_rand(rs) % 9) {
  case 0: { /* insert a framing line at a line start */
    char line[96];
    int n = snprintf(line, sizeof line, "%s\r\n", smug_lines[smug_rand(rs) % SMUG_NLINES]);
    return smug_splice(buf, len, cap, smug_line_start(buf, len, rs), 0, line, (size_t)n);
  }
  case 1: { /* a CRLF becomes LF, CR, or LF CR */
    static const char *const ends[] = {"\n", "\r", "\n\r", "\r\r\n"};
    size_t at = len ? smug_rand(rs) % len : 0;
    char *crlf = memmem(buf + at, len - at, "\r\n", 2);
    if (!crlf)
      return len;
    const char *e = ends[smug_rand(rs) % 4];
    return smug_splice(buf, len, cap, (size_t)(crlf - buf), 2, e, strlen(e));
  }
  case 2: { /* whitespace before a colon */
    size_t at = len ? smug_rand(rs) % len : 0;
    char *colon = memchr(buf + at, ':', len - at);
    if (!colon)
      return len;
    return smug_splice(buf, len, cap, (size_t)(colon - buf), 0, smug_rand(rs) % 2 ? " " : "\t", 1);
  }
  case 3: { /* a chunk size (a line start) replaced */
    size_t at = smug_line_start(buf, len, rs);
    size_t e = at;
    while (e < len && buf[e] != '\r' && buf[e] != '\n')
      e++;
    const char *sz = smug_sizes[smug_rand(rs) % SMUG_NSIZES];
    size_t keep = e - at;
    /* only lines that look like chunk sizes, mostly */
    if (keep > 24 && smug_rand(rs) % 4)
      return len;
    return smug_splice(buf, len, cap, at, keep, sz, strlen(sz));
  }
  case 4: { /* a digit changed (lengths, sizes, versions) */
    for (int tries = 0; tries < 16 && len; tries++) {
      size_t at = smug_rand(rs) % len;
      if (buf[at] >= '0' && buf[at] <= '9') {
        buf[at] = (char)('0' + smug_rand(rs) % 10);
        break;
      }
    }
    return len;
  }
  case 5: { /* a pipelined request appended */
    static const char *const more[] = {
        "GET /two HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok",
        "0\r\n\r\n",
        "GET /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    };
    const char *m = more[smug_rand(rs) % 4];
    return smug_splice(buf, len, cap, len, 0, m, strlen(m));
  }
  case 6: { /* a line duplicated */
    size_t at = smug_line_start(buf, len, rs);
    char *eol = memmem(buf + at, len - at, "\n", 1);
    if (!eol)
      return len;
    size_t n = (size_t)(eol - (buf + at)) + 1;
    char line[256];
    if (n > sizeof line)
      return len;
    memcpy(line, buf + at, n);
    return smug_splice(buf, len, cap, at, 0, line, n);
  }
  case 7: { /* a line removed */
    size_t at = smug_line_start(buf, len, rs);
    char *eol = memmem(buf + at, len - at, "\n", 1);
    return eol ? smug_splice(buf, len, cap, at, (size_t)(eol - (buf + at)) + 1, "", 0) : len;
  }
  default: { /* the version changed */
    static const char *const vs[] = {"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/2.0", "HTTP/1.10"};
    char *v = memmem(buf, len, "HTTP/1.", 7);
    if (!v || (size_t)(v - buf) + 8 > len)
      return len;
    const char *nv = vs[smug_rand(rs) % 5];
    return smug_splice(buf, len, cap, (size_t)(v - buf), 8, nv, strlen(nv));
  }
  }
}

/* A mutated request into buf (cap bytes): a seed and 1..4 edits, or edits
 * on what buf already holds (len > 0). Returns the new length. */
static inline size_t smug_mutate(char *buf, size_t len, size_t cap, uint64_t seed) {
  uint64_t rs = seed * 0x9E3779B97F4A7C15ULL + 1;
  if (!len || smug_rand(&rs) % 4 == 0) {
    const char *s = smug_seeds[smug_rand(&rs) % SMUG_NSEEDS];
    len = strlen(s) < cap ? strlen(s) : cap;
    memcpy(buf, s, len);
  }
  int edits = 1 + (int)(smug_rand(&rs) % 4);
  for (int i = 0; i < edits; i++)
    len = smug_edit(buf, len, cap, &rs);
  return len;
}

#endif
