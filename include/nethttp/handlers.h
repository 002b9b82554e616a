/* nethttp/handlers.h — Go's response helpers and handler wrappers:
 * NotFound, Redirect, StripPrefix, TimeoutHandler (and, from
 * nethttp/server.h, http.Error).
 *
 * Wrappers return an nh_handler whose state the caller owns: release it
 * with nh_handler_free (that wrapper only, not the handler it wraps), or
 * hand it to an nh_chain (nethttp/middleware.h) that frees it with itself.
 * A wrapper whose allocation failed has fn == NULL. */
#ifndef NETHTTP_HANDLERS_H
#define NETHTTP_HANDLERS_H

#include "nethttp/export.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nh_error (Go's http.Error) is declared in nethttp/server.h, beside the
 * response writer it writes to: the file server and the mux use it too. */

/* nh_not_found replies "404 page not found" (Go's http.NotFound). */
NH_API void nh_not_found(nh_response_writer *w, nh_request *r);

/* nh_redirect replies with a redirect to url with code (3xx), as Go's
 * http.Redirect: a url without scheme and host is made absolute against
 * the request path ("b" from /a/x is /a/b) and cleaned ("." and ".."
 * resolved, a trailing slash kept); non-ASCII bytes of the Location are
 * percent-escaped. Unless the handler set a Content-Type, a GET or HEAD gets
 * "text/html; charset=utf-8" and a GET a short HTML body with the link. */
NH_API void nh_redirect(nh_response_writer *w, nh_request *r, const char *url, int code);
NH_API void nh__redirect(nh_response_writer *w, nh_request *r, const char *url, int code,
                         const char *file, int line);
#define nh_redirect(w, r, url, code) nh__redirect((w), (r), (url), (code), __FILE__, __LINE__)

/* nh_strip_prefix serves h with prefix removed from the request path (Go's
 * StripPrefix); a path without the prefix gets 404. The target and query
 * are unchanged. prefix is copied. */
NH_API nh_handler nh_strip_prefix(const char *prefix, nh_handler h);

/* nh_timeout_handler runs h with a time limit dt (Go's TimeoutHandler). h
 * runs on a child fiber with a context that ends at the limit, and writes
 * into memory: if it returns in time its status, headers and body are sent.
 * At the limit the client gets 503 with msg as the body at once (msg NULL:
 * Go's small HTML "Timeout" page), h's context is cancelled (blocking calls
 * return NH_ECANCELED / NH_ETIMEDOUT), and its later writes fail with
 * NH_ETIMEDOUT; the wrapper still waits for h to return before it returns,
 * since the request lives until then. If the client leaves first, the
 * answer is a bodiless 503 and h's writes fail with NH_ECANCELED. h cannot
 * flush or hijack (NH_ENOTSUP). A panic in h is raised again in the caller.
 * msg is copied. Off-fiber (the recorder) h runs inline without a limit. */
NH_API nh_handler nh_timeout_handler(nh_handler h, nh_dur dt, const char *msg);

/* nh_handler_free releases a wrapper made by nethttp (this header, the
 * middleware constructors); any other handler is left alone. */
NH_API void nh_handler_free(nh_handler h);

#ifdef __cplusplus
}
#endif
#endif
