/* nethttp/mux.h — the request router (Go 1.22's http.ServeMux).
 *
 *   nh_mux *m = nh_mux_new();
 *   nh_mux_handle_func(m, "GET /items/{id}", get_item, NULL);
 *   nh_mux_handle_func(m, "POST /items/", add_item, NULL);
 *   nh_mux_handle_func(m, "api.example.com/", api, NULL);
 *   nh_handler h = nh_mux_handler(m);   // registration ends here
 *   cfg.handler = h.fn; cfg.handler_data = h.data;
 *
 * Patterns are "[METHOD ][HOST]/[PATH]", as in Go:
 *   - "{name}" matches one whole path segment, "{name...}" (last only) the
 *     rest of the path; their percent-decoded values are the request's path
 *     values (nh_request_path_value), and nh_request_pattern is the pattern
 *     that matched.
 *   - A pattern ending in "/" matches every path below it; "{$}" at the end
 *     matches only the path ending in that slash ("/{$}" is the root alone).
 *   - "GET" patterns match HEAD too; no method matches every method.
 *   - Most specific wins: of two patterns that both match a request, the one
 *     that matches a strict subset of the other's requests; a pattern with a
 *     host wins over every pattern without one.
 *   - Two patterns where neither is more specific and some request matches
 *     both conflict: the second registration fails with NH_ECONFLICT and
 *     nh_mux_error names both patterns, where each was registered, and a
 *     path that shows the problem.
 *
 * Serving (the handler of nh_mux_handler):
 *   - paths are cleaned first: a request for "/a//b/../c" gets 301 to
 *     "/a/c" (query kept); CONNECT requests are not cleaned;
 *   - "/dir" when only "/dir/" is registered: 301 to "/dir/" (query kept);
 *   - a path that matches only patterns of other methods: 405 with an Allow
 *     header listing them; nothing matches: 404 "404 page not found\n"
 *     (text/plain, nosniff) or the handler of nh_mux_set_not_found;
 *   - "OPTIONS *": 400.
 *
 * Concurrency: matching takes no lock and writes nothing shared, so every
 * loop thread serves at once. The price is that the routes are fixed once
 * nh_mux_handler has been called (the moment from which a server may use
 * the mux): a later nh_mux_handle returns NH_EBUSY and logs an error naming
 * the pattern. Register every route first. */
#ifndef NETHTTP_MUX_H
#define NETHTTP_MUX_H

#include "nethttp/export.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_mux nh_mux;

NH_API nh_mux *nh_mux_new(void);
/* Frees the mux and its patterns; no server may be using it any more. */
NH_API void nh_mux_free(nh_mux *m);

/* nh_mux_handle registers h for pattern (copied). Returns 0, NH_EINVAL for a
 * malformed pattern or a NULL handler, NH_ECONFLICT, NH_EBUSY once
 * nh_mux_handler was called, or NH_ENOMEM; nh_mux_error then says why. The
 * macros record the caller's file:line for conflict messages. */
#define nh_mux_handle(m, pattern, h) nh__mux_handle((m), (pattern), (h), __FILE__, __LINE__)
#define nh_mux_handle_func(m, pattern, fn, data)                                          \
  nh__mux_handle((m), (pattern), NH_HANDLER((fn), (data)), __FILE__, __LINE__)
NH_API int nh__mux_handle(nh_mux *m, const char *pattern, nh_handler h, const char *file, int line);

/* The message of the last failed registration ("" if none), e.g.
 * `pattern "GET /{y}/b" (registered at app.c:12) conflicts with pattern
 * "GET /a/{x}" (registered at app.c:11): ...`. Valid until the next call. */
NH_API const char *nh_mux_error(const nh_mux *m);

/* The handler that routes requests (its data is m: a server config takes
 * .handler = h.fn, .handler_data = h.data). The route's handler is called
 * with nh_handler_serve, so nh_request_handler_data returns its own data.
 * Freezes the routes (see above). */
NH_API nh_handler nh_mux_handler(nh_mux *m);

/* Replaces the 404 handler (before nh_mux_handler). */
NH_API void nh_mux_set_not_found(nh_mux *m, nh_handler h);

/* ---- Routing without a request (tests, benchmarks, tools) ---- */

#define NH_MUX_MAX_VALUES 32

typedef struct nh_mux_route {
  int status;          /* 200 matched, 301 redirect, 404, 405, 400 */
  const char *pattern; /* the matched pattern (200), else NULL */
  nh_handler handler;  /* its handler (200) */
  int nvalues;         /* wildcard values, decoded, in pattern order */
  const char *names[NH_MUX_MAX_VALUES];
  const char *values[NH_MUX_MAX_VALUES];
  const char *location; /* 301: where to */
  char allow[256];      /* 405: "GET, HEAD, POST" */
  char buf[4096];       /* storage for the strings above */
} nh_mux_route;

/* nh_mux_match routes a request exactly as the mux's handler would: method,
 * Host header value (port allowed; "" or NULL for none), raw request path
 * (escaped, without the query) and query (may be NULL). Returns 0 when a
 * pattern matched (status 200), NH_ENOENT otherwise (see out->status), or
 * NH_ERANGE for a path too long for out->buf. Does not freeze the routes;
 * safe beside serving once they are frozen. */
NH_API int nh_mux_match(nh_mux *m, const char *method, const char *host, const char *path,
                        const char *query, nh_mux_route *out);

#ifdef __cplusplus
}
#endif
#endif
