/* nethttp/server_cookie.h — cookies and Basic authentication on the
 * handler side: the cookies and credentials a request carries, the cookies
 * a response sets (Go's Request.Cookies, Request.BasicAuth, http.SetCookie).
 * The cookie type and its parsing and formatting are in nethttp/cookie.h. */
#ifndef NETHTTP_SERVER_COOKIE_H
#define NETHTTP_SERVER_COOKIE_H

#include "nethttp/export.h"
#include "nethttp/cookie.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nh_resp_set_cookie adds a Set-Cookie header to the response (Go's
 * http.SetCookie). Returns 0, NH_EINVAL (see nh_cookie_format) or
 * NH_ENOMEM. Like any header, it must come before the first body byte. */
NH_API int nh_resp_set_cookie(nh_response_writer *w, const nh_cookie *c);

/* nh_request_cookies: every cookie of every Cookie header of the request,
 * in order, parsed on the first call and kept for the request. Never NULL
 * (an empty list when out of memory); valid until the request ends; do not
 * free. nh_request_cookie is the value of the first cookie named name, or
 * NULL (Go's r.Cookie). Handler fiber only. */
NH_API const nh_cookies *nh_request_cookies(nh_request *r);
NH_API const char *nh_request_cookie(nh_request *r, const char *name);

/* nh_request_basic_auth reads "Authorization: Basic <base64(user:pass)>"
 * (Go's BasicAuth): scheme matched case-insensitively, standard base64
 * with padding, split at the first ':'. On success *user and *pass (either
 * may be NULL if not wanted) point at request-scoped strings and it returns
 * 0; with no header, another scheme, bad base64, no ':' or a NUL byte in the
 * credentials it returns NH_ENOENT and leaves them alone (NH_ENOMEM when
 * out of memory). */
NH_API int nh_request_basic_auth(nh_request *r, const char **user, const char **pass);

#ifdef __cplusplus
}
#endif
#endif
