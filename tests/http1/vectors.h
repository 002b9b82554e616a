/* The request vectors of tests/http1/vectors.txt, read into memory, and the
 * one-line description of a request that the echo handler answers with and
 * the tests compare (the same text differential.py builds). */
#ifndef NH_TESTS_HTTP1_VECTORS_H
#define NH_TESTS_HTTP1_VECTORS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hv_bytes {
  char *p;
  size_t len, cap;
} hv_bytes;

typedef struct hv_vector {
  char name[64];
  char rule[256];
  hv_bytes send;
  int alone, wire, parser_ok;
  int status, kept;
  int interim; /* 1xx expected before the final response, 0 none */
  /* what the handler sees (present = 0: absent, "-") */
  char method[64], target[256], version[8];
  hv_bytes host, x, body, trailer;
  int has_host, has_x, has_trailer;
} hv_vector;

static inline void hv_put(hv_bytes *b, const char *s, size_t n) {
  if (!b->p || b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

/* A quoted C-escaped string at s (after optional spaces) appended to out;
 * returns the text after the closing quote, or NULL. */
static inline const char *hv_unquote(const char *s, hv_bytes *out) {
  while (*s == ' ')
    s++;
  if (*s != '"')
    return NULL;
  for (s++; *s && *s != '"'; s++) {
    char c = *s;
    if (c == '\\') {
      s++;
      switch (*s) {
      case 'r': c = '\r'; break;
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case '\\': c = '\\'; break;
      case '"': c = '"'; break;
      case 'x': {
        char hex[3] = {s[1], s[2], 0};
        c = (char)strtol(hex, NULL, 16);
        s += 2;
        break;
      }
      default: return NULL;
      }
    }
    hv_put(out, &c, 1);
  }
  return *s == '"' ? s + 1 : NULL;
}

/* A field value: a quoted string, "-" (absent) or the bare rest of line. */
static inline int hv_value(const char *s, hv_bytes *out) {
  free(out->p);
  *out = (hv_bytes){0, 0, 0};
  hv_put(out, "", 0);
  if (*s == '"')
    return hv_unquote(s, out) ? 1 : -1;
  if (!strcmp(s, "-"))
    return 0;
  hv_put(out, s, strlen(s));
  return 1;
}

/* Reads every vector of the file; exits on a malformed file. */
static inline hv_vector *hv_load(const char *path, int *count) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(1);
  }
  hv_vector *vs = NULL;
  int n = 0, lineno = 0;
  hv_vector *v = NULL;
  static char line[1 << 16];
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\n")] = 0;
    if (!line[0] || line[0] == '#')
      continue;
    char *arg = strchr(line, ' ');
    if (arg)
      *arg++ = 0;
    else
      arg = line + strlen(line);
    int ok = 1;
    if (!strcmp(line, "vector")) {
      vs = realloc(vs, (size_t)(n + 1) * sizeof *vs);
      v = &vs[n++];
      memset(v, 0, sizeof *v);
      snprintf(v->name, sizeof v->name, "%s", arg);
      strcpy(v->method, "GET");
      strcpy(v->target, "/");
      strcpy(v->version, "1.1");
      hv_value("x", &v->host);
      v->has_host = 1;
      hv_value("-", &v->x);
      hv_value("-", &v->trailer);
      hv_value("", &v->body);
    } else if (!v) {
      ok = 0;
    } else if (!strcmp(line, "end")) {
      v = NULL;
    } else if (!strcmp(line, "rule")) {
      snprintf(v->rule, sizeof v->rule, "%s", arg);
    } else if (!strncmp(line, "send", 4) || !strncmp(line, "body", 4)) {
      hv_bytes *dst = line[0] == 's' ? &v->send : &v->body;
      long times = line[4] == '*' ? strtol(line + 5, NULL, 10) : 1;
      hv_bytes one = {0, 0, 0};
      ok = hv_unquote(arg, &one) != NULL && times > 0;
      if (line[0] == 'b' && dst->len == 0) {
        free(dst->p);
        *dst = (hv_bytes){0, 0, 0};
      }
      for (long i = 0; ok && i < times; i++)
        hv_put(dst, one.p ? one.p : "", one.len);
      free(one.p);
    } else if (!strcmp(line, "alone")) {
      v->alone = 1;
    } else if (!strcmp(line, "wire")) {
      v->wire = 1;
    } else if (!strcmp(line, "parser")) {
      ok = !strcmp(arg, "ok");
      v->parser_ok = 1;
    } else if (!strcmp(line, "expect")) {
      char how[16] = "";
      int interim = 0;
      ok = sscanf(arg, "%d %15s +%d", &v->status, how, &interim) >= 2;
      v->kept = !strcmp(how, "kept");
      ok = ok && (v->kept || !strcmp(how, "closed"));
      v->interim = interim;
    } else if (!strcmp(line, "method")) {
      snprintf(v->method, sizeof v->method, "%s", arg);
    } else if (!strcmp(line, "target")) {
      snprintf(v->target, sizeof v->target, "%s", arg);
    } else if (!strcmp(line, "version")) {
      snprintf(v->version, sizeof v->version, "%s", arg);
    } else if (!strcmp(line, "host")) {
      ok = (v->has_host = hv_value(arg, &v->host)) >= 0;
    } else if (!strcmp(line, "x")) {
      ok = (v->has_x = hv_value(arg, &v->x)) >= 0;
    } else if (!strcmp(line, "trailer")) {
      ok = (v->has_trailer = hv_value(arg, &v->trailer)) >= 0;
    } else if (!strcmp(line, "go") || !strcmp(line, "h11")) {
      /* the differential's allow-list: not used here */
    } else {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "%s:%d: malformed line\n", path, lineno);
      exit(1);
    }
  }
  fclose(f);
  if (v) {
    fprintf(stderr, "%s: vector %s has no end\n", path, v->name);
    exit(1);
  }
  *count = n;
  return vs;
}

/* ---- the echo line ---- */

static inline uint32_t hv_fnv(const char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

/* Printable ASCII as is, anything else as \xHH. */
static inline void hv_escape(char *out, size_t cap, const char *p, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 5 < cap; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
  }
  out[o] = 0;
}

/* "METHOD TARGET v=1.1 host=H x=X body=LEN:BYTES trailer=T": a field that is
 * absent is "-"; a body over 32 bytes is given by its FNV-1a hash. */
static inline void hv_echo_line(char *out, size_t cap, const char *method, const char *target,
                         const char *version, const char *host, size_t host_len, const char *x,
                         size_t x_len, const char *body, size_t body_len, const char *trailer,
                         size_t trailer_len) {
  char h[256] = "-", xv[256] = "-", b[160], t[256] = "-";
  if (host)
    hv_escape(h, sizeof h, host, host_len);
  if (x)
    hv_escape(xv, sizeof xv, x, x_len);
  if (trailer)
    hv_escape(t, sizeof t, trailer, trailer_len);
  if (body_len <= 32)
    hv_escape(b, sizeof b, body, body_len);
  else
    snprintf(b, sizeof b, "fnv%08x", hv_fnv(body, body_len));
  snprintf(out, cap, "%s %s v=%s host=%s x=%s body=%zu:%s trailer=%s\n", method, target, version,
           h, xv, body_len, b, t);
}

/* The echo line a vector's request should produce. */
static inline void hv_expected_echo(const hv_vector *v, char *out, size_t cap) {
  hv_echo_line(out, cap, v->method, v->target, v->version, v->has_host ? v->host.p : NULL,
               v->host.len, v->has_x ? v->x.p : NULL, v->x.len, v->body.p, v->body.len,
               v->has_trailer ? v->trailer.p : NULL, v->trailer.len);
}

/* The request sent behind every vector, and its echo line. */
#define HV_NEXT "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
#define HV_NEXT_ECHO "GET /next v=1.1 host=x x=- body=0: trailer=-\n"

#endif
