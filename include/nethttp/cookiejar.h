/* nethttp/cookiejar.h — an in-memory RFC 6265 cookie jar (Go's
 * net/http/cookiejar), for the client (nh_client_config.jar).
 *
 *   nh_cookie_jar *jar = nh_cookie_jar_new(NULL);   // with the public suffix list
 *   nh_client_config cfg = NH_CLIENT_CONFIG_DEFAULT;
 *   cfg.jar = jar;
 *   nh_client *c = nh_client_new(&cfg);
 *   ...
 *   nh_client_free(c);
 *   nh_cookie_jar_free(jar);
 *
 * Rules as Go's: a cookie without Domain is host-only; a Domain must
 * domain-match the host and must not be a public suffix (a server for
 * bbc.co.uk cannot set a cookie for co.uk), except that a host that is
 * itself a public suffix may name itself, which makes a host-only cookie;
 * on an IP host only Domain equal to that IP is accepted (host-only too).
 * Path defaults to the directory of the request path. Max-Age wins over
 * Expires; Max-Age < 0 or an Expires in the past deletes the cookie with
 * the same name, domain and path. A cookie replacing another keeps its
 * creation time. Secure cookies go only to https (and, as browsers do, to
 * localhost and loopback IPs). HttpOnly and SameSite are stored; a client
 * sends HttpOnly cookies as any other. Only http and https URLs are used;
 * hosts are compared in lower case without port and trailing dot; a host
 * that is not ASCII (no IDNA conversion here) gets and keeps no cookies.
 *
 * Thread-safe: one jar may be shared by clients on many loops and threads
 * (a mutex guards it; nothing blocks while it is held). */
#ifndef NETHTTP_COOKIEJAR_H
#define NETHTTP_COOKIEJAR_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/export.h"
#include "nethttp/cookie.h"
#include "nethttp/url.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_cookie_jar nh_cookie_jar;

typedef struct nh_cookie_jar_options {
  /* 1 = no public suffix list (Go's nil PublicSuffixList): any server may
   * set a cookie for a whole suffix such as co.uk. Insecure; for tests. */
  int no_public_suffix_list;
  /* A public suffix list file (.dat or libpsl's .dafsa) to load; NULL = the
   * newest of the system's list and libpsl's built-in one (psl_latest). */
  const char *psl_file;
  /* The public suffix of a lower-case domain ("com" for "www.example.com"),
   * replacing libpsl when not NULL (Go's PublicSuffixList). It must return
   * a suffix of domain or a string at most as long; NULL means "". It is
   * called with the jar locked: it must not use the jar. */
  const char *(*public_suffix)(void *user, const char *domain);
  void *public_suffix_user;
  /* The clock in unix milliseconds; NULL = the wall clock. */
  int64_t (*now_ms)(void *user);
  void *now_user;
} nh_cookie_jar_options;

/* nh_cookie_jar_new makes an empty jar (opt NULL = defaults; it is copied).
 * NULL when out of memory or when the public suffix list cannot be loaded. */
NH_API nh_cookie_jar *nh_cookie_jar_new(const nh_cookie_jar_options *opt);
NH_API void nh_cookie_jar_free(nh_cookie_jar *jar);

/* nh_cookie_jar_set_cookies stores cookies received in a response to u
 * (Go's Jar.SetCookies): name, value, quoted, path, domain, expires,
 * max_age, secure, http_only and same_site are used. A cookie the rules
 * refuse is skipped. The strings are copied. Nothing happens for a URL
 * that is not http or https. Returns 0 or NH_ENOMEM. */
NH_API int nh_cookie_jar_set_cookies(nh_cookie_jar *jar, const nh_url *u, const nh_cookie *cookies,
                                     size_t n);

/* nh_cookie_jar_set_cookie_lines parses n Set-Cookie header values (bad
 * lines are skipped, as Go's Response.Cookies does) and stores them.
 * Returns 0 or NH_ENOMEM. */
NH_API int nh_cookie_jar_set_cookie_lines(nh_cookie_jar *jar, const nh_url *u,
                                          const char *const *lines, size_t n);

/* nh_cookie_jar_cookies lists the cookies to send to u (Go's Jar.Cookies):
 * longest path first, then earliest created. Only name, value and quoted
 * are set. *out is a new list to free with nh_cookies_free (empty when
 * nothing matches). Expired cookies met on the way are dropped. Returns 0
 * or NH_ENOMEM. */
NH_API int nh_cookie_jar_cookies(nh_cookie_jar *jar, const nh_url *u, nh_cookies **out);

/* nh_cookie_jar_cookie_header is the Cookie request header value for u,
 * "a=1; b=\"x y\"", in the order above: malloc'd, or NULL when no cookie
 * applies (or out of memory). */
NH_API char *nh_cookie_jar_cookie_header(nh_cookie_jar *jar, const nh_url *u);

/* nh_cookie_jar_clear deletes every cookie (Go's Jar.Clear). */
NH_API void nh_cookie_jar_clear(nh_cookie_jar *jar);

/* nh_cookie_jar_len: how many cookies are stored, expired ones included
 * until they are next met. */
NH_API size_t nh_cookie_jar_len(nh_cookie_jar *jar);

#ifdef __cplusplus
}
#endif
#endif
