/* nethttp/cookie.h — HTTP cookies (Go's http.Cookie) and Basic
 * authentication (Go's Request.BasicAuth / SetBasicAuth).
 *
 * Reading is lenient as Go is: a bad pair in a Cookie header is skipped, a
 * Set-Cookie line with a bad name or value is refused, unknown attributes
 * are ignored. Writing is strict: a name that is not a token, or a value,
 * path or domain holding a byte a cookie may not carry, is NH_EINVAL rather
 * than something silently dropped. */
#ifndef NETHTTP_COOKIE_H
#define NETHTTP_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SameSite (Go's SameSite). UNSET writes no attribute; DEFAULT is what a
 * "SameSite" attribute with an empty or unknown value reads as, and is not
 * written either. */
typedef enum nh_same_site {
  NH_SAMESITE_UNSET = 0,
  NH_SAMESITE_DEFAULT,
  NH_SAMESITE_LAX,
  NH_SAMESITE_STRICT,
  NH_SAMESITE_NONE,
} nh_same_site;

/* A cookie. Strings are borrowed: to write one, point them at anything that
 * lives through the call; in a parsed cookie they live as long as the
 * nh_cookies list (or the request) that holds it. NULL and "" both mean
 * "absent" for the optional strings. Zero-initialise, then fill:
 *   nh_cookie c = {.name = "id", .value = "42", .path = "/", .http_only = 1};
 */
typedef struct nh_cookie {
  const char *name;
  const char *value;
  int quoted;          /* the value was, or is to be, in double quotes */
  const char *path;
  const char *domain;
  int has_expires;     /* expires is set (0 is a real time: 1970) */
  int64_t expires;     /* unix seconds; written as IMF-fixdate, years >= 1601 */
  const char *raw_expires; /* Set-Cookie parsing: the text as sent */
  /* Max-Age, Go's way: 0 = not set, < 0 = delete now ("Max-Age=0"),
   * > 0 = seconds. A parsed "Max-Age=0" or negative reads as -1. */
  int max_age;
  int secure;
  int http_only;
  nh_same_site same_site;
  int partitioned;
  const char *raw;     /* Set-Cookie parsing: the whole line */
} nh_cookie;

/* nh_cookie_format writes c as a Set-Cookie value (Go's Cookie.String):
 * "name=value; Path=/; Domain=d; Expires=...; Max-Age=n; HttpOnly; Secure;
 * SameSite=Lax; Partitioned". A value with a space or a comma, or with
 * quoted set, is written in double quotes; a value that is itself in
 * double quotes ("\"a:b\"", RFC 6265's DQUOTE *cookie-octet DQUOTE) is
 * written as it is. Where Go drops an invalid value's bytes and logs,
 * this returns NH_EINVAL and writes nothing. The domain is written without a
 * leading dot; an IP address is accepted. *out is malloc'd.
 * Returns 0, NH_EINVAL (name not a token, value byte outside Go's
 * validCookieValueByte other than one pair of enclosing quotes, ';' or a
 * control byte in the path, bad domain,
 * expires before 1601) or NH_ENOMEM. */
int nh_cookie_format(const nh_cookie *c, char **out);

/* nh_cookie_valid: 0 if nh_cookie_format would accept c and, as Go's
 * Cookie.Valid also requires, a partitioned cookie is secure; else
 * NH_EINVAL. */
int nh_cookie_valid(const nh_cookie *c);

/* A list of parsed cookies that owns their strings. */
typedef struct nh_cookies nh_cookies;

nh_cookies *nh_cookies_new(void);
void nh_cookies_free(nh_cookies *l);
size_t nh_cookies_len(const nh_cookies *l);
/* The i-th cookie, in order of appearance; NULL past the end. */
const nh_cookie *nh_cookies_at(const nh_cookies *l, size_t i);
/* The first cookie named name, or NULL. */
const nh_cookie *nh_cookies_get(const nh_cookies *l, const char *name);

/* nh_cookies_parse_header appends the cookies of one Cookie request header
 * value ("a=1; b=\"2\"") to l (Go's readCookies): pairs split on ';',
 * blanks trimmed, a pair with a bad name or value is skipped. With filter
 * non-NULL only cookies of that name are kept. Only name, value and quoted
 * are set. Returns 0 or NH_ENOMEM (nothing in the input is an error). */
int nh_cookies_parse_header(nh_cookies *l, const char *line, const char *filter);

/* nh_cookies_parse_set_cookie appends the cookie of one Set-Cookie header
 * value to l (Go's readSetCookies for one line): attributes are matched
 * case-insensitively, bad or unknown ones ignored, raw set to the line.
 * Returns 0, NH_EINVAL (no '=', bad name or value: nothing appended) or
 * NH_ENOMEM. */
int nh_cookies_parse_set_cookie(nh_cookies *l, const char *line);

/* nh_resp_set_cookie adds a Set-Cookie header to the response (Go's
 * http.SetCookie). Returns 0, NH_EINVAL (see nh_cookie_format) or
 * NH_ENOMEM. Like any header, it must come before the first body byte. */
int nh_resp_set_cookie(nh_response_writer *w, const nh_cookie *c);

/* nh_request_cookies: every cookie of every Cookie header of the request,
 * in order, parsed on the first call and kept for the request. Never NULL
 * (an empty list when out of memory); valid until the request ends; do not
 * free. nh_request_cookie is the value of the first cookie named name, or
 * NULL (Go's r.Cookie). Handler fiber only. */
const nh_cookies *nh_request_cookies(nh_request *r);
const char *nh_request_cookie(nh_request *r, const char *name);

/* ---- Basic authentication ---- */

/* nh_request_basic_auth reads "Authorization: Basic <base64(user:pass)>"
 * (Go's BasicAuth): scheme matched case-insensitively, standard base64
 * with padding, split at the first ':'. On success *user and *pass (either
 * may be NULL if not wanted) point at request-scoped strings and it returns
 * 0; with no header, another scheme, bad base64, no ':' or a NUL byte in the
 * credentials it returns NH_ENOENT and leaves them alone (NH_ENOMEM when
 * out of memory). */
int nh_request_basic_auth(nh_request *r, const char **user, const char **pass);

/* nh_basic_auth_header writes the Authorization value for user and pass,
 * "Basic dXNlcjpwYXNz", NUL-terminated, into out (Go's SetBasicAuth; user
 * and pass are not escaped, so a user must not hold ':'). Returns the length
 * written, NH_ERANGE if cap is too small, or NH_ENOMEM. */
int nh_basic_auth_header(const char *user, const char *pass, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
