/* nethttp/cookie.h — HTTP cookies (Go's http.Cookie) and the Basic
 * authentication credentials (Go's SetBasicAuth): parsing and formatting,
 * on either side. Reading them from a request and setting them on a
 * response are in nethttp/server_cookie.h.
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

#include "nethttp/export.h"

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
NH_API int nh_cookie_format(const nh_cookie *c, char **out);

/* nh_cookie_valid: 0 if nh_cookie_format would accept c and, as Go's
 * Cookie.Valid also requires, a partitioned cookie is secure; else
 * NH_EINVAL. */
NH_API int nh_cookie_valid(const nh_cookie *c);

/* A list of parsed cookies that owns their strings. */
typedef struct nh_cookies nh_cookies;

NH_API nh_cookies *nh_cookies_new(void);
NH_API void nh_cookies_free(nh_cookies *l);
NH_API size_t nh_cookies_len(const nh_cookies *l);
/* The i-th cookie, in order of appearance; NULL past the end. */
NH_API const nh_cookie *nh_cookies_at(const nh_cookies *l, size_t i);
/* The first cookie named name, or NULL. */
NH_API const nh_cookie *nh_cookies_get(const nh_cookies *l, const char *name);

/* nh_cookies_parse_header appends the cookies of one Cookie request header
 * value ("a=1; b=\"2\"") to l (Go's readCookies): pairs split on ';',
 * blanks trimmed, a pair with a bad name or value is skipped. With filter
 * non-NULL only cookies of that name are kept. Only name, value and quoted
 * are set. Returns 0 or NH_ENOMEM (nothing in the input is an error). */
NH_API int nh_cookies_parse_header(nh_cookies *l, const char *line, const char *filter);

/* nh_cookies_parse_set_cookie appends the cookie of one Set-Cookie header
 * value to l (Go's readSetCookies for one line): attributes are matched
 * case-insensitively, bad or unknown ones ignored, raw set to the line.
 * Returns 0, NH_EINVAL (no '=', bad name or value: nothing appended) or
 * NH_ENOMEM. */
NH_API int nh_cookies_parse_set_cookie(nh_cookies *l, const char *line);

/* ---- Basic authentication ---- */

/* nh_basic_auth_header writes the Authorization value for user and pass,
 * "Basic dXNlcjpwYXNz", NUL-terminated, into out (Go's SetBasicAuth; user
 * and pass are not escaped, so a user must not hold ':'). Returns the length
 * written, NH_ERANGE if cap is too small, or NH_ENOMEM. */
NH_API int nh_basic_auth_header(const char *user, const char *pass, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
