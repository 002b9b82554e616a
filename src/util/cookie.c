/* Cookies, after Go's net/http cookie.go: reading Cookie and Set-Cookie
 * lines leniently, writing Set-Cookie strictly. */
#include "nethttp/cookie.h"

#include "nethttp/errors.h"
#include "nethttp/httpdate.h"
#include "url_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1601-01-01T00:00:00Z: RFC 6265 5.1.1 refuses earlier years. */
#define MIN_COOKIE_EXPIRES (-11644473600LL)

static int is_token_byte(unsigned char c) {
  if (c >= 'a' && c <= 'z')
    return 1;
  if (c >= 'A' && c <= 'Z')
    return 1;
  if (c >= '0' && c <= '9')
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int valid_name(const char *s, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_token_byte((unsigned char)s[i]))
      return 0;
  return 1;
}

static int valid_value_byte(unsigned char b) {
  return b >= 0x20 && b < 0x7f && b != '"' && b != ';' && b != '\\';
}

static int valid_path_byte(unsigned char b) { return b >= 0x20 && b < 0x7f && b != ';'; }

/* Go's isCookieDomainName: a host name with at least one letter. */
static int is_cookie_domain_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 255)
    return 0;
  if (s[0] == '.')
    s++, n--;
  char last = '.';
  int ok = 0;
  size_t partlen = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      ok = 1;
      partlen++;
    } else if (c >= '0' && c <= '9') {
      partlen++;
    } else if (c == '-') {
      if (last == '.')
        return 0;
      partlen++;
    } else if (c == '.') {
      if (last == '.' || last == '-')
        return 0;
      if (partlen > 63 || partlen == 0)
        return 0;
      partlen = 0;
    } else {
      return 0;
    }
    last = c;
  }
  if (last == '-' || partlen > 63)
    return 0;
  return ok;
}

static int valid_domain(const char *d) {
  if (is_cookie_domain_name(d))
    return 1;
  struct in_addr a; /* an IPv4 address; IPv6 cannot be a cookie domain */
  return inet_pton(AF_INET, d, &a) == 1;
}

/* RFC 6265's cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ):
 * a value already in double quotes is written as it is. Returns 1 for
 * such a value (its inside in *in, *n), else 0. */
static int wrapped_value(const char *v, const char **in, size_t *n) {
  size_t len = strlen(v);
  if (len < 2 || v[0] != '"' || v[len - 1] != '"')
    return 0;
  *in = v + 1;
  *n = len - 2;
  return 1;
}

static int check(const nh_cookie *c) {
  if (!c || !c->name || !valid_name(c->name, strlen(c->name)))
    return NH_EINVAL;
  const char *v = c->value ? c->value : "";
  size_t vlen = strlen(v);
  wrapped_value(v, &v, &vlen);
  for (size_t i = 0; i < vlen; i++)
    if (!valid_value_byte((unsigned char)v[i]))
      return NH_EINVAL;
  for (const char *p = c->path ? c->path : ""; *p; p++)
    if (!valid_path_byte((unsigned char)*p))
      return NH_EINVAL;
  if (c->domain && *c->domain && !valid_domain(c->domain))
    return NH_EINVAL;
  if (c->has_expires && c->expires < MIN_COOKIE_EXPIRES)
    return NH_EINVAL;
  return 0;
}

int nh_cookie_valid(const nh_cookie *c) {
  int err = check(c);
  if (!err && c->partitioned && !c->secure)
    return NH_EINVAL; /* CHIPS: partitioned cookies must be Secure */
  return err;
}

int nh_cookie_format(const nh_cookie *c, char **out) {
  *out = NULL;
  int err = check(c);
  if (err)
    return err;
  /* No cap: every field is the program's own, checked above. */
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  const char *v = c->value ? c->value : "";
  nh__dynbuf_addstr(&b, c->name);
  nh__dynbuf_addc(&b, '=');
  /* A space or comma is legal in a value only inside quotes; a value
   * already in quotes keeps its own. */
  const char *in;
  size_t inlen;
  int quote = *v && !wrapped_value(v, &in, &inlen) && (c->quoted || strpbrk(v, " ,"));
  if (quote)
    nh__dynbuf_addc(&b, '"');
  nh__dynbuf_addstr(&b, v);
  if (quote)
    nh__dynbuf_addc(&b, '"');
  if (c->path && *c->path) {
    nh__dynbuf_addstr(&b, "; Path=");
    nh__dynbuf_addstr(&b, c->path);
  }
  if (c->domain && *c->domain) {
    nh__dynbuf_addstr(&b, "; Domain=");
    nh__dynbuf_addstr(&b, c->domain[0] == '.' ? c->domain + 1 : c->domain);
  }
  if (c->has_expires) {
    char d[30];
    nh_http_date_format(c->expires, d);
    nh__dynbuf_addstr(&b, "; Expires=");
    nh__dynbuf_addstr(&b, d);
  }
  if (c->max_age > 0) {
    nh__dynbuf_addf(&b, "; Max-Age=%d", c->max_age);
  } else if (c->max_age < 0) {
    nh__dynbuf_addstr(&b, "; Max-Age=0");
  }
  if (c->http_only)
    nh__dynbuf_addstr(&b, "; HttpOnly");
  if (c->secure)
    nh__dynbuf_addstr(&b, "; Secure");
  switch (c->same_site) {
  case NH_SAMESITE_NONE:
    nh__dynbuf_addstr(&b, "; SameSite=None");
    break;
  case NH_SAMESITE_LAX:
    nh__dynbuf_addstr(&b, "; SameSite=Lax");
    break;
  case NH_SAMESITE_STRICT:
    nh__dynbuf_addstr(&b, "; SameSite=Strict");
    break;
  default:
    break; /* unset or default: no attribute */
  }
  if (c->partitioned)
    nh__dynbuf_addstr(&b, "; Partitioned");
  *out = nh__dynbuf_take(&b, NULL);
  return *out ? 0 : NH_ENOMEM;
}

/* ---- lists ---- */

struct nh_cookies {
  nh_cookie *c;
  size_t n, cap;
  char **blobs; /* the strings of the cookies, one block per parsed line */
  size_t nblobs, blobs_cap;
};

nh_cookies *nh_cookies_new(void) { return calloc(1, sizeof(nh_cookies)); }

const nh_cookies *nh__cookies_empty(void) {
  static const nh_cookies empty;
  return &empty;
}

void nh_cookies_free(nh_cookies *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->nblobs; i++)
    free(l->blobs[i]);
  free(l->blobs);
  free(l->c);
  free(l);
}

size_t nh_cookies_len(const nh_cookies *l) { return l->n; }

const nh_cookie *nh_cookies_at(const nh_cookies *l, size_t i) {
  return i < l->n ? &l->c[i] : NULL;
}

const nh_cookie *nh_cookies_get(const nh_cookies *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->c[i].name, name))
      return &l->c[i];
  return NULL;
}

static int push_cookie(nh_cookies *l, const nh_cookie *c) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    nh_cookie *p = realloc(l->c, cap * sizeof *p);
    if (!p)
      return NH_ENOMEM;
    l->c = p;
    l->cap = cap;
  }
  l->c[l->n++] = *c;
  return 0;
}

/* Keeps blob alive as long as the list; frees it on failure. */
static int own_blob(nh_cookies *l, char *blob) {
  if (l->nblobs == l->blobs_cap) {
    size_t cap = l->blobs_cap ? l->blobs_cap * 2 : 4;
    char **p = realloc(l->blobs, cap * sizeof *p);
    if (!p) {
      free(blob);
      return NH_ENOMEM;
    }
    l->blobs = p;
    l->blobs_cap = cap;
  }
  l->blobs[l->nblobs++] = blob;
  return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Trim s[0..*n) in place (Go's textproto.TrimString); returns the start. */
static char *trim(char *s, size_t *n) {
  while (*n && is_space(*s))
    s++, (*n)--;
  while (*n && is_space(s[*n - 1]))
    (*n)--;
  return s;
}

/* Go's parseCookieValue: strips one pair of quotes if allowed; the value
 * is NUL-terminated in place. Returns 0 for a bad byte. */
static int parse_value(char *v, size_t n, int allow_quote, char **out, int *quoted) {
  *quoted = 0;
  if (allow_quote && n > 1 && v[0] == '"' && v[n - 1] == '"') {
    v++;
    n -= 2;
    *quoted = 1;
  }
  for (size_t i = 0; i < n; i++)
    if (!valid_value_byte((unsigned char)v[i]))
      return 0;
  v[n] = 0;
  *out = v;
  return 1;
}

int nh_cookies_parse_header(nh_cookies *l, const char *line, const char *filter) {
  char *blob = strdup(line);
  if (!blob)
    return NH_ENOMEM;
  size_t before = l->n;
  char *p = blob, *end = blob + strlen(blob);
  while (p < end) {
    char *semi = memchr(p, ';', (size_t)(end - p));
    size_t plen = semi ? (size_t)(semi - p) : (size_t)(end - p);
    char *part = trim(p, &plen);
    p = semi ? semi + 1 : end;
    if (plen == 0)
      continue;
    char *eq = memchr(part, '=', plen);
    size_t nlen = eq ? (size_t)(eq - part) : plen;
    char *name = trim(part, &nlen);
    if (!valid_name(name, nlen))
      continue;
    char *val = eq ? eq + 1 : part + plen;
    size_t vlen = eq ? (size_t)(part + plen - val) : 0;
    char *value;
    int quoted;
    if (!parse_value(val, vlen, 1, &value, &quoted))
      continue;
    name[nlen] = 0; /* after value parsing: '=' may sit there */
    if (filter && *filter && strcmp(filter, name) != 0)
      continue;
    nh_cookie c = {.name = name, .value = value, .quoted = quoted};
    if (push_cookie(l, &c)) {
      l->n = before;
      free(blob);
      return NH_ENOMEM;
    }
  }
  if (l->n == before) {
    free(blob);
    return 0;
  }
  if (own_blob(l, blob)) {
    l->n = before;
    return NH_ENOMEM;
  }
  return 0;
}

/* Expires in RFC 1123 form or its dashed variant ("Wed, 23-Nov-2011
 * 01:05:03 GMT"); the zone is GMT or UTC. */
static int parse_expires(const char *v, int64_t *t) {
  char buf[64];
  size_t n = strlen(v);
  if (n >= sizeof buf)
    return NH_EINVAL;
  memcpy(buf, v, n + 1);
  if (n > 4 && !strcmp(buf + n - 4, " UTC"))
    memcpy(buf + n - 3, "GMT", 3);
  /* "Wdy, DD-Mon-YYYY": dashes at 7 and 11. */
  if (n > 12 && buf[3] == ',' && buf[7] == '-' && buf[11] == '-' && buf[12] >= '0' &&
      buf[12] <= '9' && n > 15 && buf[16] == ' ')
    buf[7] = buf[11] = ' ';
  return nh_http_date_parse(buf, t);
}

static int parse_max_age(const char *v, int *out) {
  /* Go: strconv.Atoi, and no leading zero on a non-zero number. */
  const char *p = v;
  int neg = 0;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (!*p)
    return 0;
  long long x = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    x = x * 10 + (*p - '0');
    if (x > 2147483647LL)
      return 0;
  }
  if (neg)
    x = -x;
  if (x != 0 && v[0] == '0')
    return 0;
  *out = x <= 0 ? -1 : (int)x;
  return 1;
}

int nh_cookies_parse_set_cookie(nh_cookies *l, const char *line) {
  size_t n = strlen(line);
  char *blob = malloc(2 * n + 2);
  if (!blob)
    return NH_ENOMEM;
  memcpy(blob, line, n + 1); /* raw */
  char *work = blob + n + 1; /* cut into NUL-terminated pieces */
  memcpy(work, line, n + 1);
  nh_cookie c = {.raw = blob};
  char *end = work + n;
  char *semi = memchr(work, ';', n);
  size_t flen = semi ? (size_t)(semi - work) : n;
  char *first = trim(work, &flen);
  char *eq = memchr(first, '=', flen);
  if (!eq)
    goto bad;
  size_t nlen = (size_t)(eq - first);
  char *name = trim(first, &nlen);
  if (!valid_name(name, nlen))
    goto bad;
  if (!parse_value(eq + 1, (size_t)(first + flen - eq - 1), 1, (char **)&c.value, &c.quoted))
    goto bad;
  name[nlen] = 0;
  c.name = name;
  char *p = semi ? semi + 1 : end;
  while (p < end) {
    char *s2 = memchr(p, ';', (size_t)(end - p));
    size_t alen = s2 ? (size_t)(s2 - p) : (size_t)(end - p);
    char *attr = trim(p, &alen);
    p = s2 ? s2 + 1 : end;
    if (alen == 0)
      continue;
    char *aeq = memchr(attr, '=', alen);
    size_t klen = aeq ? (size_t)(aeq - attr) : alen;
    char *val;
    int q;
    if (!parse_value(aeq ? aeq + 1 : attr + alen, aeq ? (size_t)(attr + alen - aeq - 1) : 0, 0,
                     &val, &q))
      continue;
    attr[klen] = 0;
    if (!strcasecmp(attr, "samesite")) {
      c.same_site = !strcasecmp(val, "lax")      ? NH_SAMESITE_LAX
                    : !strcasecmp(val, "strict") ? NH_SAMESITE_STRICT
                    : !strcasecmp(val, "none")   ? NH_SAMESITE_NONE
                                                 : NH_SAMESITE_DEFAULT;
    } else if (!strcasecmp(attr, "secure")) {
      c.secure = 1;
    } else if (!strcasecmp(attr, "httponly")) {
      c.http_only = 1;
    } else if (!strcasecmp(attr, "domain")) {
      c.domain = val;
    } else if (!strcasecmp(attr, "max-age")) {
      parse_max_age(val, &c.max_age);
    } else if (!strcasecmp(attr, "expires")) {
      c.raw_expires = val;
      int64_t t;
      if (parse_expires(val, &t) == 0) {
        c.has_expires = 1;
        c.expires = t;
      } else {
        c.has_expires = 0;
      }
    } else if (!strcasecmp(attr, "path")) {
      c.path = val;
    } else if (!strcasecmp(attr, "partitioned")) {
      c.partitioned = 1;
    }
  }
  size_t before = l->n;
  if (push_cookie(l, &c)) {
    free(blob);
    return NH_ENOMEM;
  }
  if (own_blob(l, blob)) {
    l->n = before;
    return NH_ENOMEM;
  }
  return 0;
bad:
  free(blob);
  return NH_EINVAL;
}
