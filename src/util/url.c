/* URLs and percent-encoding, following Go's net/url (url.go) rule for rule,
 * so that what Go accepts, rejects and prints is what nethttp does. */
#include "nethttp/url.h"

#include "nethttp/errors.h"
#include "url_internal.h"

#include <stdlib.h>
#include <string.h>

/* The buffers here grow with no cap of their own (NH__DYNBUF_NOCAP): what
 * they build comes from a URL or string already in memory, which its maker
 * bounded (a request-target by the server's head limit, a client URL by the
 * program), and escaping writes at most three bytes for each byte read. */

/* ---- escaping (Go's shouldEscape / escape / unescape) ---- */

static int is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int ishex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int nh__should_escape(unsigned char c, nh__enc mode) {
  if (is_alnum(c))
    return 0;
  if (mode == NH__ENC_HOST || mode == NH__ENC_ZONE) {
    /* RFC 3986 3.2.2 sub-delims, plus what hosts carry in practice. (A
     * switch, not strchr: every byte of every host printed comes here.) */
    switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=': case ':': case '[': case ']': case '<': case '>': case '"':
      return 0;
    default:
      break;
    }
  }
  switch (c) {
  case '-': case '_': case '.': case '~':
    return 0;
  case '$': case '&': case '+': case ',': case '/': case ':': case ';': case '=': case '?':
  case '@':
    switch (mode) {
    case NH__ENC_PATH:
      return c == '?';
    case NH__ENC_PATH_SEGMENT:
      return c == '/' || c == ';' || c == ',' || c == '?';
    case NH__ENC_USER_PASSWORD:
      return c == '@' || c == '/' || c == '?' || c == ':';
    case NH__ENC_QUERY_COMPONENT:
      return 1;
    case NH__ENC_FRAGMENT:
      return 0;
    default:
      break;
    }
  }
  if (mode == NH__ENC_FRAGMENT && (c == '!' || c == '(' || c == ')' || c == '*'))
    return 0;
  return 1;
}

void nh__escape_into(nh__dynbuf *b, const char *s, size_t n, nh__enc mode) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    /* Bytes that stay as they are go in one append per run: most URLs
     * have nothing to escape at all. (A space is always escaped.) */
    size_t run = i;
    while (run < n && (is_alnum((unsigned char)s[run]) || !nh__should_escape((unsigned char)s[run], mode)))
      run++;
    if (run > i) {
      nh__dynbuf_add(b, s + i, run - i);
      i = run;
      if (i == n)
        break;
    }
    unsigned char c = (unsigned char)s[i];
    if (c == ' ' && mode == NH__ENC_QUERY_COMPONENT) {
      nh__dynbuf_addc(b, '+');
    } else if (nh__should_escape(c, mode)) {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      nh__dynbuf_add(b, e, 3);
    } else {
      nh__dynbuf_addc(b, (char)c);
    }
  }
}

static char *escape_str(const char *s, size_t n, nh__enc mode) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  nh__escape_into(&b, s, n, mode);
  return nh__dynbuf_take(&b, NULL);
}

int nh__unescape(const char *s, size_t n, nh__enc mode, char **out, size_t *outlen) {
  /* First pass validates, as Go does, so nothing is allocated for bad input. */
  int plain = 1; /* nothing to decode: a copy will do */
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (is_alnum(c)) {
      i++;
      continue;
    }
    if (c == '%' || (c == '+' && mode == NH__ENC_QUERY_COMPONENT))
      plain = 0;
    if (c == '%') {
      if (i + 2 >= n || !ishex((unsigned char)s[i + 1]) || !ishex((unsigned char)s[i + 2]))
        return NH_EINVAL;
      int v = nh__hexval((unsigned char)s[i + 1]) << 4 | nh__hexval((unsigned char)s[i + 2]);
      int pct25 = s[i + 1] == '2' && s[i + 2] == '5';
      /* RFC 3986: a host %-encodes only non-ASCII bytes; RFC 6874 adds %25
       * for the zone of a scoped IPv6 literal. */
      if (mode == NH__ENC_HOST && nh__hexval((unsigned char)s[i + 1]) < 8 && !pct25)
        return NH_EINVAL;
      /* A zone may escape only what could be written plainly (and space). */
      if (mode == NH__ENC_ZONE && !pct25 && v != ' ' &&
          nh__should_escape((unsigned char)v, NH__ENC_HOST))
        return NH_EINVAL;
      i += 3;
    } else {
      if ((mode == NH__ENC_HOST || mode == NH__ENC_ZONE) && c < 0x80 &&
          nh__should_escape(c, mode))
        return NH_EINVAL;
      i++;
    }
  }
  char *d = malloc(n + 1);
  if (!d)
    return NH_ENOMEM;
  if (plain) {
    memcpy(d, s, n);
    d[n] = 0;
    *out = d;
    if (outlen)
      *outlen = n;
    return 0;
  }
  size_t j = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] == '%') {
      d[j++] = (char)(nh__hexval((unsigned char)s[i + 1]) << 4 | nh__hexval((unsigned char)s[i + 2]));
      i += 3;
    } else if (s[i] == '+' && mode == NH__ENC_QUERY_COMPONENT) {
      d[j++] = ' ';
      i++;
    } else {
      d[j++] = s[i++];
    }
  }
  d[j] = 0;
  *out = d;
  if (outlen)
    *outlen = j;
  return 0;
}

char *nh_query_escape(const char *s) { return escape_str(s, strlen(s), NH__ENC_QUERY_COMPONENT); }
char *nh_path_escape(const char *s) { return escape_str(s, strlen(s), NH__ENC_PATH_SEGMENT); }

int nh_query_unescape(const char *s, char **out, size_t *outlen) {
  return nh__unescape(s, strlen(s), NH__ENC_QUERY_COMPONENT, out, outlen);
}
int nh_path_unescape(const char *s, char **out, size_t *outlen) {
  return nh__unescape(s, strlen(s), NH__ENC_PATH_SEGMENT, out, outlen);
}

/* ---- URL objects ---- */

#define URL_STRINGS(X)                                                                        \
  X(scheme) X(opaque) X(host) X(path) X(raw_path) X(raw_query) X(fragment) X(raw_fragment)

void nh_url_free(nh_url *u) {
  if (!u)
    return;
#define FREE_FIELD(f) free(u->f);
  URL_STRINGS(FREE_FIELD)
#undef FREE_FIELD
  free(u->user);
  free(u->password);
  free(u);
}

static int url_fill_empty(nh_url *u) {
#define FILL(f)                                                                               \
  if (!u->f && !(u->f = strdup("")))                                                          \
    return NH_ENOMEM;
  URL_STRINGS(FILL)
#undef FILL
  return 0;
}

nh_url *nh_url_new(void) {
  nh_url *u = calloc(1, sizeof *u);
  if (u && url_fill_empty(u)) {
    nh_url_free(u);
    return NULL;
  }
  return u;
}

static int dup_field(char **dst, const char *src) {
  *dst = NULL;
  if (!src)
    return 0;
  *dst = strdup(src);
  return *dst ? 0 : NH_ENOMEM;
}

nh_url *nh_url_dup(const nh_url *u) {
  nh_url *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  int err = 0;
  d->omit_host = u->omit_host;
  d->force_query = u->force_query;
#define DUP(f) err |= dup_field(&d->f, u->f);
  URL_STRINGS(DUP)
#undef DUP
  err |= dup_field(&d->user, u->user);
  err |= dup_field(&d->password, u->password);
  if (err || url_fill_empty(d)) {
    nh_url_free(d);
    return NULL;
  }
  return d;
}

static const char *S(const char *s) { return s ? s : ""; }

static void set_field(char **f, char *v) {
  free(*f);
  *f = v;
}

/* Go's validEncoded: s may be used as the encoding of its decoded form. */
static int valid_encoded(const char *s, nh__enc mode) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (strchr("!$&'()*+,;=:@[]%", c))
      continue;
    if (nh__should_escape(c, mode))
      return 0;
  }
  return 1;
}

/* Nothing in s[0..n) is escaped or would be: decoding and re-encoding
 * both give it back unchanged. */
static int plain_for(const char *s, size_t n, nh__enc mode) {
  for (size_t i = 0; i < n; i++)
    if (!is_alnum((unsigned char)s[i]) && (s[i] == '%' || nh__should_escape((unsigned char)s[i], mode)))
      return 0;
  return 1;
}

/* The raw form is kept only when it differs from the default encoding. */
static int set_encoded(const char *p, size_t n, nh__enc mode, char **dec, char **raw) {
  if (plain_for(p, n, mode)) { /* the common case: skip the round trip */
    char *d = strndup(p, n), *r = strdup("");
    if (!d || !r) {
      free(d);
      free(r);
      return NH_ENOMEM;
    }
    set_field(dec, d);
    set_field(raw, r);
    return 0;
  }
  char *d;
  size_t dlen;
  int err = nh__unescape(p, n, mode, &d, &dlen);
  if (err)
    return err;
  char *esc = escape_str(d, dlen, mode);
  char *r = NULL;
  if (esc && (strlen(esc) != n || memcmp(esc, p, n) != 0))
    r = strndup(p, n);
  else if (esc)
    r = strdup("");
  free(esc);
  if (!r) {
    free(d);
    return NH_ENOMEM;
  }
  set_field(dec, d);
  set_field(raw, r);
  return 0;
}

static int set_path(nh_url *u, const char *p, size_t n) {
  return set_encoded(p, n, NH__ENC_PATH, &u->path, &u->raw_path);
}

/* Go's EscapedPath / EscapedFragment, appended to b (no string of its
 * own: printing a URL builds it in one buffer). */
static void escaped_form_into(nh__dynbuf *b, const char *raw, const char *dec, nh__enc mode) {
  if (raw && *raw && valid_encoded(raw, mode)) {
    char *d;
    size_t dlen;
    if (nh__unescape(raw, strlen(raw), mode, &d, &dlen) == 0) {
      int same = dlen == strlen(S(dec)) && memcmp(d, S(dec), dlen) == 0;
      free(d);
      if (same) {
        nh__dynbuf_addstr(b, raw);
        return;
      }
    }
  }
  if (mode == NH__ENC_PATH && !strcmp(S(dec), "*")) {
    nh__dynbuf_addc(b, '*');
    return;
  }
  nh__escape_into(b, S(dec), strlen(S(dec)), mode);
}

static char *escaped_form(const char *raw, const char *dec, nh__enc mode) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  escaped_form_into(&b, raw, dec, mode);
  return nh__dynbuf_take(&b, NULL);
}

/* Inserts s[0..n) at offset at of b. */
static void buf_insert(nh__dynbuf *b, size_t at, const char *s, size_t n) {
  size_t tail = b->len - at;
  if (nh__dynbuf_add(b, s, n)) /* makes the room */
    return;
  memmove(b->p + at + n, b->p + at, tail);
  memcpy(b->p + at, s, n);
}

char *nh_url_escaped_path(const nh_url *u) {
  return escaped_form(u->raw_path, u->path, NH__ENC_PATH);
}
char *nh_url_escaped_fragment(const nh_url *u) {
  return escaped_form(u->raw_fragment, u->fragment, NH__ENC_FRAGMENT);
}

/* ---- parsing ---- */

static int valid_optional_port(const char *p, size_t n) {
  if (n == 0)
    return 1;
  if (p[0] != ':')
    return 0;
  for (size_t i = 1; i < n; i++)
    if (p[i] < '0' || p[i] > '9')
      return 0;
  return 1;
}

static const char *memrchr_(const char *s, size_t n, char c) {
  while (n--)
    if (s[n] == c)
      return s + n;
  return NULL;
}

static const char *memmem_(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!memcmp(s + i, needle, k))
      return s + i;
  return NULL;
}

static int parse_host(const char *h, size_t n, char **out) {
  if (n && h[0] == '[') {
    const char *rb = memrchr_(h, n, ']');
    if (!rb)
      return NH_EINVAL;
    size_t i = (size_t)(rb - h);
    if (!valid_optional_port(rb + 1, n - i - 1))
      return NH_EINVAL;
    const char *zone = memmem_(h, i, "%25");
    if (zone) {
      size_t z = (size_t)(zone - h);
      char *h1, *h2, *h3;
      size_t l1, l2, l3;
      int err = nh__unescape(h, z, NH__ENC_HOST, &h1, &l1);
      if (err)
        return err;
      if ((err = nh__unescape(h + z, i - z, NH__ENC_ZONE, &h2, &l2))) {
        free(h1);
        return err;
      }
      if ((err = nh__unescape(h + i, n - i, NH__ENC_HOST, &h3, &l3))) {
        free(h1);
        free(h2);
        return err;
      }
      nh__dynbuf b;
      nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
      nh__dynbuf_add(&b, h1, l1);
      nh__dynbuf_add(&b, h2, l2);
      nh__dynbuf_add(&b, h3, l3);
      free(h1);
      free(h2);
      free(h3);
      *out = nh__dynbuf_take(&b, NULL);
      return *out ? 0 : NH_ENOMEM;
    }
  } else {
    const char *colon = memrchr_(h, n, ':');
    if (colon && !valid_optional_port(colon, n - (size_t)(colon - h)))
      return NH_EINVAL;
  }
  return nh__unescape(h, n, NH__ENC_HOST, out, NULL);
}

static int valid_userinfo(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_alnum(c))
      continue;
    if (c && strchr("-._:~!$&'()*+,;=%@", c))
      continue;
    return 0;
  }
  return 1;
}

static int parse_authority(nh_url *u, const char *a, size_t n) {
  const char *at = memrchr_(a, n, '@');
  size_t hstart = at ? (size_t)(at - a) + 1 : 0;
  char *host;
  int err = parse_host(a + hstart, n - hstart, &host);
  if (err)
    return err;
  set_field(&u->host, host);
  if (!at)
    return 0;
  size_t ulen = (size_t)(at - a);
  if (!valid_userinfo(a, ulen))
    return NH_EINVAL;
  const char *colon = memchr(a, ':', ulen);
  size_t namelen = colon ? (size_t)(colon - a) : ulen;
  char *user;
  if ((err = nh__unescape(a, namelen, NH__ENC_USER_PASSWORD, &user, NULL)))
    return err;
  set_field(&u->user, user);
  if (colon) {
    char *pass;
    size_t plen = ulen - namelen - 1;
    if ((err = nh__unescape(colon + 1, plen, NH__ENC_USER_PASSWORD, &pass, NULL)))
      return err;
    set_field(&u->password, pass);
  }
  return 0;
}

static int has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return 1;
  return 0;
}

/* Go's getScheme: the scheme length, 0 if none, -1 for a leading ':'. */
static long get_scheme(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      continue;
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
      if (i == 0)
        return 0;
      continue;
    }
    if (c == ':')
      return i == 0 ? -1 : (long)i;
    return 0;
  }
  return 0;
}

static int parse(const char *raw, size_t n, int via_request, nh_url *u) {
  if (n == 0 && via_request)
    return NH_EINVAL;
  if (n == 1 && raw[0] == '*') {
    set_field(&u->path, strdup("*"));
    return u->path ? 0 : NH_ENOMEM;
  }
  long sl = get_scheme(raw, n);
  if (sl < 0)
    return NH_EINVAL;
  if (sl > 0) {
    char *sc = strndup(raw, (size_t)sl);
    if (!sc)
      return NH_ENOMEM;
    for (char *p = sc; *p; p++)
      if (*p >= 'A' && *p <= 'Z')
        *p = (char)(*p + 32);
    set_field(&u->scheme, sc);
    raw += sl + 1;
    n -= (size_t)sl + 1;
  }
  const char *q = memchr(raw, '?', n);
  size_t rest = n;
  if (q && q == raw + n - 1) {
    u->force_query = 1;
    rest = n - 1;
  } else if (q) {
    rest = (size_t)(q - raw);
    char *rq = strndup(q + 1, n - rest - 1);
    if (!rq)
      return NH_ENOMEM;
    set_field(&u->raw_query, rq);
  }
  int has_scheme = sl > 0;
  if (rest == 0 || raw[0] != '/') {
    if (has_scheme) {
      char *op = strndup(raw, rest);
      if (!op)
        return NH_ENOMEM;
      set_field(&u->opaque, op);
      return 0;
    }
    if (via_request)
      return NH_EINVAL;
    /* RFC 3986 3.3: a relative path's first segment cannot hold ':' (it
     * would read as a scheme: cache_object:foo/bar). */
    size_t seg = 0;
    while (seg < rest && raw[seg] != '/')
      seg++;
    if (memchr(raw, ':', seg))
      return NH_EINVAL;
  }
  int dslash = rest >= 2 && raw[0] == '/' && raw[1] == '/';
  int tslash = dslash && rest >= 3 && raw[2] == '/';
  if ((has_scheme || (!via_request && !tslash)) && dslash) {
    const char *a = raw + 2;
    size_t alen = rest - 2;
    const char *slash = memchr(a, '/', alen);
    size_t al = slash ? (size_t)(slash - a) : alen;
    int err = parse_authority(u, a, al);
    if (err)
      return err;
    raw = a + al;
    rest = alen - al;
  } else if (has_scheme && rest > 0 && raw[0] == '/') {
    u->omit_host = 1;
  }
  return set_path(u, raw, rest);
}

static int parse_top(const char *raw, int via_request, nh_url **out) {
  *out = NULL;
  if (has_ctl(raw))
    return NH_EINVAL;
  /* Fields the parse leaves unset become "" after it, not before: no
   * empty string is made only to be replaced. */
  nh_url *u = calloc(1, sizeof *u);
  if (!u)
    return NH_ENOMEM;
  size_t n = strlen(raw);
  const char *hash = via_request ? NULL : strchr(raw, '#');
  int err = parse(raw, hash ? (size_t)(hash - raw) : n, via_request, u);
  if (!err && hash)
    err = set_encoded(hash + 1, strlen(hash + 1), NH__ENC_FRAGMENT, &u->fragment,
                      &u->raw_fragment);
  if (!err)
    err = url_fill_empty(u);
  if (err) {
    nh_url_free(u);
    return err;
  }
  *out = u;
  return 0;
}

int nh_url_parse(const char *raw, nh_url **out) { return parse_top(raw, 0, out); }
int nh_url_parse_request_uri(const char *raw, nh_url **out) { return parse_top(raw, 1, out); }

/* ---- printing ---- */

char *nh_url_string(const nh_url *u) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  const char *scheme = S(u->scheme), *host = S(u->host);
  int has_user = u->user != NULL;
  if (*scheme) {
    nh__dynbuf_addstr(&b, scheme);
    nh__dynbuf_addc(&b, ':');
  }
  if (u->opaque && *u->opaque) {
    nh__dynbuf_addstr(&b, u->opaque);
  } else {
    if (*scheme || *host || has_user) {
      if (!(u->omit_host && !*host && !has_user)) {
        if (*host || *S(u->path) || has_user)
          nh__dynbuf_addstr(&b, "//");
        if (has_user) {
          nh__escape_into(&b, u->user, strlen(u->user), NH__ENC_USER_PASSWORD);
          if (u->password) {
            nh__dynbuf_addc(&b, ':');
            nh__escape_into(&b, u->password, strlen(u->password), NH__ENC_USER_PASSWORD);
          }
          nh__dynbuf_addc(&b, '@');
        }
        nh__escape_into(&b, host, strlen(host), NH__ENC_HOST);
      }
    }
    size_t at = b.len;
    escaped_form_into(&b, u->raw_path, u->path, NH__ENC_PATH);
    if (!b.err && b.len > at) {
      const char *path = b.p + at;
      size_t plen = b.len - at;
      if (path[0] != '/' && *host) {
        buf_insert(&b, at, "/", 1);
      } else if (at == 0) {
        /* RFC 3986 4.2: "this:that" as a first segment needs "./". */
        const char *slash = memchr(path, '/', plen);
        if (memchr(path, ':', slash ? (size_t)(slash - path) : plen))
          buf_insert(&b, 0, "./", 2);
      }
    }
  }
  if (u->force_query || *S(u->raw_query)) {
    nh__dynbuf_addc(&b, '?');
    nh__dynbuf_addstr(&b, S(u->raw_query));
  }
  if (*S(u->fragment)) {
    nh__dynbuf_addc(&b, '#');
    escaped_form_into(&b, u->raw_fragment, u->fragment, NH__ENC_FRAGMENT);
  }
  return nh__dynbuf_take(&b, NULL);
}

void nh__url_put_request_uri(nh__dynbuf *b, const nh_url *u) {
  const char *op = S(u->opaque);
  if (!*op) {
    size_t at = b->len;
    escaped_form_into(b, u->raw_path, u->path, NH__ENC_PATH);
    if (b->len == at)
      nh__dynbuf_addc(b, '/');
  } else {
    if (op[0] == '/' && op[1] == '/') {
      nh__dynbuf_addstr(b, S(u->scheme));
      nh__dynbuf_addc(b, ':');
    }
    nh__dynbuf_addstr(b, op);
  }
  if (u->force_query || *S(u->raw_query)) {
    nh__dynbuf_addc(b, '?');
    nh__dynbuf_addstr(b, S(u->raw_query));
  }
}

char *nh_url_request_uri(const nh_url *u) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  nh__url_put_request_uri(&b, u);
  return nh__dynbuf_take(&b, NULL);
}

int nh_url_is_abs(const nh_url *u) { return *S(u->scheme) != 0; }

/* Go's splitHostPort. */
static void split_host_port(const char *hp, const char **h, size_t *hl, const char **port) {
  size_t n = strlen(hp);
  const char *colon = memrchr_(hp, n, ':');
  *port = "";
  *h = hp;
  *hl = n;
  if (colon && valid_optional_port(colon, n - (size_t)(colon - hp))) {
    *hl = (size_t)(colon - hp);
    *port = colon + 1;
  }
  if (*hl >= 2 && hp[0] == '[' && hp[*hl - 1] == ']') {
    *h = hp + 1;
    *hl -= 2;
  }
}

int nh_url_hostname(const nh_url *u, char *buf, size_t cap) {
  const char *h, *port;
  size_t hl;
  split_host_port(S(u->host), &h, &hl, &port);
  if (hl + 1 > cap)
    return NH_ERANGE;
  memcpy(buf, h, hl);
  buf[hl] = 0;
  return (int)hl;
}

const char *nh_url_port(const nh_url *u) {
  const char *h, *port;
  size_t hl;
  split_host_port(S(u->host), &h, &hl, &port);
  return port;
}

/* ---- references (RFC 3986 5.2, Go's resolvePath / ResolveReference) ---- */

static char *resolve_path(const char *base, const char *ref) {
  nh__dynbuf full;
  nh__dynbuf_init(&full, NH__DYNBUF_NOCAP);
  if (!*ref) {
    nh__dynbuf_addstr(&full, base);
  } else if (ref[0] != '/') {
    const char *slash = strrchr(base, '/');
    nh__dynbuf_add(&full, base, slash ? (size_t)(slash - base) + 1 : 0);
    nh__dynbuf_addstr(&full, ref);
  } else {
    nh__dynbuf_addstr(&full, ref);
  }
  if (full.err || full.len == 0) /* NULL, or "" for an empty path */
    return nh__dynbuf_take(&full, NULL);
  nh__dynbuf dst;
  nh__dynbuf_init(&dst, NH__DYNBUF_NOCAP);
  nh__dynbuf_addc(&dst, '/');
  int first = 1, found = 1;
  const char *rem = nh__dynbuf_ptr(&full), *elem = NULL;
  size_t elen = 0;
  while (found && !dst.err) {
    const char *slash = strchr(rem, '/');
    elem = rem;
    elen = slash ? (size_t)(slash - rem) : strlen(rem);
    found = slash != NULL;
    rem = slash ? slash + 1 : rem + elen;
    if (elen == 1 && elem[0] == '.') {
      first = 0;
      continue;
    }
    if (elen == 2 && elem[0] == '.' && elem[1] == '.') {
      /* Drop the last segment written, keeping the leading '/'. */
      const char *last = memrchr_(dst.p + 1, dst.len - 1, '/');
      size_t keep = last ? (size_t)(last - dst.p) : 1;
      if (!last)
        first = 1;
      nh__dynbuf_trim(&dst, dst.len - keep);
    } else {
      if (!first)
        nh__dynbuf_addc(&dst, '/');
      nh__dynbuf_add(&dst, elem, elen);
      first = 0;
    }
  }
  if ((elen == 1 && elem[0] == '.') || (elen == 2 && elem[0] == '.' && elem[1] == '.'))
    nh__dynbuf_addc(&dst, '/');
  nh__dynbuf_free(&full);
  char *r = nh__dynbuf_take(&dst, NULL);
  if (r && r[0] && r[1] == '/')
    memmove(r, r + 1, strlen(r));
  return r;
}

static int replace_dup(char **f, const char *v) {
  char *d = v ? strdup(v) : NULL;
  if (v && !d)
    return NH_ENOMEM;
  set_field(f, d);
  return 0;
}

static int set_resolved_path(nh_url *u, const char *base, const char *ref) {
  char *p = resolve_path(base, ref);
  if (!p)
    return NH_ENOMEM;
  int err = set_path(u, p, strlen(p));
  free(p);
  return err;
}

int nh_url_resolve(const nh_url *base, const nh_url *ref, nh_url **out) {
  *out = NULL;
  nh_url *u = nh_url_dup(ref);
  if (!u)
    return NH_ENOMEM;
  int err = 0;
  char *bp = NULL, *rp = NULL;
  if (!*S(ref->scheme))
    err |= replace_dup(&u->scheme, S(base->scheme));
  if (*S(ref->scheme) || *S(ref->host) || ref->user) {
    /* Absolute URI or network-path reference: only dot segments change. */
    rp = nh_url_escaped_path(ref);
    err = err ? err : rp ? set_resolved_path(u, rp, "") : NH_ENOMEM;
    goto done;
  }
  if (*S(ref->opaque)) {
    err |= replace_dup(&u->user, NULL) | replace_dup(&u->password, NULL);
    err |= replace_dup(&u->host, "") | replace_dup(&u->path, "");
    goto done;
  }
  if (!*S(ref->path) && !ref->force_query && !*S(ref->raw_query)) {
    err |= replace_dup(&u->raw_query, S(base->raw_query));
    if (!*S(ref->fragment)) {
      err |= replace_dup(&u->fragment, S(base->fragment));
      err |= replace_dup(&u->raw_fragment, S(base->raw_fragment));
    }
  }
  if (!*S(ref->path) && *S(base->opaque)) {
    err |= replace_dup(&u->opaque, base->opaque);
    err |= replace_dup(&u->user, NULL) | replace_dup(&u->password, NULL);
    err |= replace_dup(&u->host, "") | replace_dup(&u->path, "");
    goto done;
  }
  err |= replace_dup(&u->host, S(base->host));
  err |= replace_dup(&u->user, base->user);
  err |= replace_dup(&u->password, base->password);
  bp = nh_url_escaped_path(base);
  rp = nh_url_escaped_path(ref);
  if (!err)
    err = bp && rp ? set_resolved_path(u, bp, rp) : NH_ENOMEM;
done:
  free(bp);
  free(rp);
  if (err) {
    nh_url_free(u);
    return err == NH_EINVAL ? NH_EINVAL : NH_ENOMEM; /* |= of equal codes, or one */
  }
  *out = u;
  return 0;
}

int nh_url_parse_ref(const nh_url *base, const char *ref, nh_url **out) {
  nh_url *r;
  *out = NULL;
  int err = nh_url_parse(ref, &r);
  if (err)
    return err;
  err = nh_url_resolve(base, r, out);
  nh_url_free(r);
  return err;
}
