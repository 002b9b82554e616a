/* nethttp/url.h — URLs, percent-encoding and query values (Go's net/url).
 *
 * nh_url follows RFC 3986 with Go's url.Parse rules for what is an error:
 * a control byte anywhere, a bad percent escape in the host, path or
 * userinfo, a bad port, a scheme that is not [a-zA-Z][a-zA-Z0-9+.-]*, a
 * colon in the first segment of a relative path, "[" without a closing
 * "]"... Every parse error is NH_EINVAL. One difference: a control byte
 * in the fragment is an error too (Go checks only what precedes '#'). Percent-decoding errors in the
 * unescape functions are NH_EINVAL as well; nh_values_parse_query reports
 * them as NH_EBADFORM (a malformed query), like the form layer.
 *
 * nh_values is Go's url.Values: an ordered multimap of strings (keys are
 * case-sensitive, pairs kept in insertion order).
 *
 * Memory: what a function returns as char * is malloc'd (free it); const
 * char * is borrowed from the object it came from. Not thread-safe per
 * object; the functions themselves are reentrant. */
#ifndef NETHTTP_URL_H
#define NETHTTP_URL_H

#include <stddef.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_request nh_request;

/* ---- Percent-encoding ---- */

/* nh_query_escape escapes s for a query key or value (Go's QueryEscape):
 * space becomes '+', everything but [A-Za-z0-9-_.~] becomes %XX.
 * nh_path_escape escapes s for one path segment (Go's PathEscape): space
 * becomes %20, '/' is escaped, sub-delims ":@&=+$" stay. malloc'd; NULL
 * when out of memory. */
NH_API char *nh_query_escape(const char *s);
NH_API char *nh_path_escape(const char *s);

/* nh_query_unescape decodes %XX and '+' (to space) (Go's QueryUnescape);
 * nh_path_unescape decodes %XX and keeps '+' (Go's PathUnescape). A '%'
 * not followed by two hex digits is NH_EINVAL. On success *out is a
 * malloc'd NUL-terminated string (it may hold NUL bytes from "%00"; *outlen,
 * when not NULL, gets the real length). Returns 0, NH_EINVAL or NH_ENOMEM. */
NH_API int nh_query_unescape(const char *s, char **out, size_t *outlen);
NH_API int nh_path_unescape(const char *s, char **out, size_t *outlen);

/* ---- URLs ---- */

/* A parsed URL (Go's url.URL). Every string field is NULL or a malloc'd
 * string owned by the URL and freed by nh_url_free; to change one, free it
 * and put a malloc'd string in its place. Absent parts are "" after parsing
 * (never NULL), except user / password, which are NULL when the URL has no
 * userinfo / no password. */
typedef struct nh_url {
  char *scheme;       /* lower case, "" if none */
  char *opaque;       /* "mailto:x@y" -> "x@y" (no "//" and no leading '/') */
  char *user;         /* decoded username; NULL = no userinfo */
  char *password;     /* decoded; NULL = no ':' in userinfo */
  char *host;         /* "host", "host:port", "[::1]:80" (zone decoded) */
  char *path;         /* decoded path */
  char *raw_path;     /* encoded path if it differs from the default
                         encoding of path ("" otherwise): keeps "%2F" */
  int omit_host;      /* "http:///p" style: write "//" only if host != "" */
  int force_query;    /* a '?' with an empty query */
  char *raw_query;    /* encoded query without '?' */
  char *fragment;     /* decoded fragment */
  char *raw_fragment; /* encoded fragment if it differs from the default */
} nh_url;

/* nh_url_parse parses raw (Go's url.Parse), absolute or relative, with an
 * optional "#fragment". *out is a new URL to free with nh_url_free.
 * Returns 0, NH_EINVAL or NH_ENOMEM. */
NH_API int nh_url_parse(const char *raw, nh_url **out);

/* nh_url_parse_request_uri parses a request target (Go's ParseRequestURI):
 * absolute URL or absolute path, no fragment ('#' is part of the path or
 * query). */
NH_API int nh_url_parse_request_uri(const char *raw, nh_url **out);

/* nh_url_new returns an empty URL (every string ""). NULL on no memory. */
NH_API nh_url *nh_url_new(void);
/* nh_url_dup copies u; NULL on no memory. */
NH_API nh_url *nh_url_dup(const nh_url *u);
NH_API void nh_url_free(nh_url *u);

/* nh_url_string reassembles u (Go's URL.String). malloc'd; NULL on no
 * memory. */
NH_API char *nh_url_string(const nh_url *u);

/* nh_url_escaped_path: raw_path if it is a valid encoding of path, else
 * path escaped (Go's EscapedPath). nh_url_escaped_fragment likewise.
 * nh_url_request_uri: the target for a request line, "path?query" or the
 * opaque part (Go's RequestURI). All malloc'd; NULL on no memory. */
NH_API char *nh_url_escaped_path(const nh_url *u);
NH_API char *nh_url_escaped_fragment(const nh_url *u);
NH_API char *nh_url_request_uri(const nh_url *u);

/* nh_url_is_abs: the URL has a scheme. */
NH_API int nh_url_is_abs(const nh_url *u);

/* nh_url_hostname writes the host without port and brackets (Go's
 * Hostname); nh_url_port returns the port digits after the host ("" if
 * none), borrowed from u->host. nh_url_hostname returns the length, or
 * NH_ERANGE if cap is too small. */
NH_API int nh_url_hostname(const nh_url *u, char *buf, size_t cap);
NH_API const char *nh_url_port(const nh_url *u);

/* nh_url_resolve resolves ref against base (Go's ResolveReference, RFC
 * 3986 section 5.2, dot segments removed). *out is a new URL. For a
 * redirect: nh_url_parse(location) then nh_url_resolve(request_url, loc).
 * nh_url_parse_ref does both steps with a string reference. */
NH_API int nh_url_resolve(const nh_url *base, const nh_url *ref, nh_url **out);
NH_API int nh_url_parse_ref(const nh_url *base, const char *ref, nh_url **out);

/* ---- Values ---- */

typedef struct nh_values nh_values;

/* nh_values_new makes an empty map; NULL on no memory. nh_values_free(NULL)
 * does nothing. */
NH_API nh_values *nh_values_new(void);
NH_API void nh_values_free(nh_values *v);

/* nh_values_add appends (key, value); nh_values_set replaces every value of
 * key with value (at the place of its first pair). Strings are copied.
 * Return 0 or NH_ENOMEM. */
NH_API int nh_values_add(nh_values *v, const char *key, const char *value);
NH_API int nh_values_set(nh_values *v, const char *key, const char *value);
/* Length-explicit variants (key and value may hold NUL bytes). */
NH_API int nh_values_add_n(nh_values *v, const char *key, size_t klen, const char *value,
                           size_t vlen);

/* nh_values_get returns the first value of key, or NULL if key is absent
 * (an empty value is "", not NULL). */
NH_API const char *nh_values_get(const nh_values *v, const char *key);
/* nh_values_get_all stores up to max values of key, in order, in vals and
 * returns how many key has in all (so 0 = absent). */
NH_API size_t nh_values_get_all(const nh_values *v, const char *key, const char **vals, size_t max);
NH_API int nh_values_has(const nh_values *v, const char *key);
/* nh_values_del removes every value of key; returns how many. */
NH_API size_t nh_values_del(nh_values *v, const char *key);

/* Iteration over every pair in insertion order: 0 .. nh_values_len()-1.
 * nh_values_at returns 0, or NH_ERANGE past the end. vlen, when not NULL,
 * gets the value's length (a decoded value may hold NUL bytes). */
NH_API size_t nh_values_len(const nh_values *v);
NH_API int nh_values_at(const nh_values *v, size_t i, const char **key, const char **value);
NH_API int nh_values_at_n(const nh_values *v, size_t i, const char **key, size_t *klen,
                          const char **value, size_t *vlen);

/* nh_values_parse_query adds the pairs of a URL-encoded query ("a=1&b=2&a=3",
 * without '?') to v (Go's ParseQuery): split on '&', '+' is space, a key
 * without '=' has value "", empty pieces are skipped. A piece with a bad
 * escape or a ';' is skipped and the parse goes on; the result is then
 * NH_EBADFORM (the well-formed pairs are in v). 0, NH_EBADFORM or
 * NH_ENOMEM. The _n variant takes a length. */
NH_API int nh_values_parse_query(nh_values *v, const char *query);
NH_API int nh_values_parse_query_n(nh_values *v, const char *query, size_t len);

/* nh_values_encode writes "a=1&b=2" sorted by key, values of one key in
 * order, keys and values query-escaped (Go's Values.Encode). malloc'd ("" for
 * an empty map); NULL on no memory. */
NH_API char *nh_values_encode(const nh_values *v);

/* nh_url_query parses u->raw_query, dropping malformed pairs (Go's
 * URL.Query). *out is new; returns 0 or NH_ENOMEM. */
NH_API int nh_url_query(const nh_url *u, nh_values **out);

/* ---- Request query ---- */

/* nh_request_query_values: the request's query parameters, parsed on the
 * first call and kept for the request (malformed pairs dropped, like Go's
 * r.URL.Query()). Never NULL (an empty map when out of memory). Valid until
 * the request ends; do not free. nh_request_query_value is the first value
 * of key or NULL. Handler fiber only. */
NH_API const nh_values *nh_request_query_values(nh_request *r);
NH_API const char *nh_request_query_value(nh_request *r, const char *key);

#ifdef __cplusplus
}
#endif
#endif
