/* nethttp/middleware.h — middleware: functions that wrap a handler (Go's
 * func(http.Handler) http.Handler), a chain to compose them, and the
 * production guide's built-ins: panic recovery, access log, request ID with
 * a request-scoped logger, an in-flight limiter, and response compression.
 *
 * Ownership: every constructor allocates its wrapper state and returns a
 * handler (fn NULL when out of memory); release it with nh_handler_free, or
 * let a chain own it. An nh_chain keeps middlewares in order and every
 * wrapper it made; nh_chain_free releases them all. Free a chain only after
 * the server that uses its handlers was freed.
 *
 *   nh_chain *ch = nh_chain_new();
 *   nh_chain_use(ch, nh_mw_recover, logger);      // outermost
 *   nh_chain_use(ch, nh_mw_request_id, logger);
 *   nh_chain_use(ch, nh_mw_access_log, logger);
 *   nh_chain_use(ch, nh_mw_limit, &(nh_limit_config){.max_inflight = 256});
 *   nh_handler h = nh_chain_then(ch, NH_HANDLER(app, NULL));
 *   cfg.handler = h.fn; cfg.handler_data = h.data;
 *   ...
 *   nh_server_free(srv); nh_chain_free(ch);
 */
#ifndef NETHTTP_MIDDLEWARE_H
#define NETHTTP_MIDDLEWARE_H

#include <stdint.h>

#include "nethttp/export.h"
#include "nethttp/handlers.h"
#include "nethttp/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- chains ---- */

/* A middleware: wraps next with the bound argument arg. */
typedef nh_handler (*nh_middleware_fn)(nh_handler next, const void *arg);

typedef struct nh_chain nh_chain;
NH_API nh_chain *nh_chain_new(void);
/* Appends a middleware; the first added is the outermost. arg is borrowed
 * until the last nh_chain_then. 0, NH_EINVAL or NH_ENOMEM. */
NH_API int nh_chain_use(nh_chain *ch, nh_middleware_fn mw, const void *arg);
/* Wraps h in every middleware of the chain; the chain owns the wrappers.
 * May be called for several handlers. fn NULL on failure (nothing kept). */
NH_API nh_handler nh_chain_then(nh_chain *ch, nh_handler h);
/* Gives the chain a wrapper made by hand (nh_strip_prefix...) to free. */
NH_API int nh_chain_own(nh_chain *ch, nh_handler h);
/* Frees every wrapper the chain holds with nh_handler_free: those of
 * nethttp, and a user middleware's if it returned nh_handler_owning(...). */
NH_API void nh_chain_free(nh_chain *ch);

/* nh_handler_owning makes a user's handler freeable like a built-in one:
 * the result serves h, and nh_handler_free (or a chain) on it calls
 * free_data(h.data). For a middleware of one's own:
 *   return nh_handler_owning(NH_HANDLER(my_serve, state), free);
 * fn NULL when out of memory (free_data is not called then). */
NH_API nh_handler nh_handler_owning(nh_handler h, void (*free_data)(void *data));

/* ---- panic recovery ---- */

/* nh_with_recover runs next on a child fiber: an nh_panic there ends that
 * fiber only (logged with its backtrace by the runtime). The recoverer then
 * logs "handler panicked" to lg (NULL: the request's logger) with method,
 * path, request_id and the fiber id, counts it, and answers 500 "Internal
 * Server Error" if nothing was sent yet (whatever was buffered is
 * discarded); if the response had already started, it is cut short and
 * the connection closed, so the client cannot take it for complete. The
 * connection and the server go on serving. Off-fiber, next runs inline. */
NH_API nh_handler nh_with_recover(nh_handler next, nh_logger *lg);
/* Panics caught by a recoverer so far (0 for any other handler). */
NH_API int64_t nh_recover_panics(nh_handler recoverer);

/* ---- access log ---- */

/* nh_with_access_log logs one INFO record "access" per request after next
 * returns, with method, path (as received), status, bytes (body bytes
 * written), duration, remote, and request_id when there is one; hijacked
 * connections log hijacked=1 and status 0. Status and bytes are read from
 * the writer itself, so flushing, sendfile and hijacking are unaffected.
 * lg NULL: the request's logger. */
NH_API nh_handler nh_with_access_log(nh_handler next, nh_logger *lg);

/* ---- request ID ---- */

/* nh_with_request_id gives each request an ID: a valid incoming
 * X-Request-Id (1-128 characters of letters, digits and "-_.:+/=@") or a new
 * random UUID (v4). It is set on the response's X-Request-Id, returned by
 * nh_request_id, and added as request_id to every record of
 * nh_request_logger(r), a logger writing to base (NULL: the server's). */
NH_API nh_handler nh_with_request_id(nh_handler next, nh_logger *base);
/* The request's ID, or NULL outside nh_with_request_id. */
NH_API const char *nh_request_id(nh_request *r);
/* The request-scoped logger (Go's loggerFrom(ctx)): the one made by
 * nh_with_request_id, else the server's logger. Valid until the request
 * ends. */
NH_API nh_logger *nh_request_logger(nh_request *r);

/* ---- in-flight limiter (back-pressure) ---- */

typedef struct nh_limit_config {
  long max_inflight; /* requests served at once; must be > 0 */
  nh_dur max_wait;   /* wait this long for a slot; 0: refuse at once */
  int retry_after;   /* seconds for Retry-After; 0 means 1 */
  const char *msg;   /* 503 body; NULL: "server busy" */
} nh_limit_config;

/* nh_with_limit lets at most max_inflight requests into next at once (the
 * guide's semaphore). Beyond, a request waits up to max_wait for a slot,
 * then gets 503 with Retry-After; if its client leaves while it waits, it
 * gets nothing. A slot is given back when next returns or panics. cfg is
 * copied. fn NULL also for max_inflight <= 0. */
NH_API nh_handler nh_with_limit(nh_handler next, const nh_limit_config *cfg);
/* Requests refused by a limiter so far; slots in use now. */
NH_API int64_t nh_limit_refused(nh_handler limiter);
NH_API long nh_limit_inflight(nh_handler limiter);

/* ---- response compression ---- */

typedef struct nh_compress_config {
  /* The codings offered, in the server's order of preference (a tie in the
   * request's weights goes to the first): a list of "zstd", "br", "gzip"
   * separated by commas. NULL: "zstd, br, gzip" (zstd and br make smaller
   * bodies than gzip for less CPU at these levels). */
  const char *encodings;
  int gzip_level;  /* 1..9; 0: 5 */
  int br_level;    /* 1..11; 0: 4 */
  int zstd_level;  /* 1..19; 0: 3 */
  size_t min_size; /* bodies shorter than this go as they are; 0: 1024 */
} nh_compress_config;

/* nh_with_compress compresses next's responses with the coding the
 * request's Accept-Encoding accepts best (q-values, "identity", "*"; none
 * without the field). It leaves alone: HEAD and requests with Range;
 * statuses 1xx, 204, 206 and 304; a response with a Content-Encoding, with
 * "Cache-Control: no-transform", or whose Content-Type is compressed
 * already (images but SVG, video, audio, woff fonts, archives, PDF); a
 * body shorter than min_size, judged from its Content-Length, else held
 * until min_size bytes, a flush or the handler's end; and a request whose
 * handler called nh_compress_off. A compressed response gets
 * Content-Encoding, its ETag made weak (W/), no Content-Length and no
 * Accept-Ranges, and its Content-Type named from the uncompressed bytes if
 * the handler set none. "Vary: Accept-Encoding" is added to every response
 * that could be compressed for some request, compressed or not.
 * nh_resp_flush sends everything written so far, decodable at once
 * (server-sent events); nh_resp_sendfile reads the file through the
 * encoder, or sends it as is when not compressing; nh_resp_hijack works
 * until the handler has written a status or a byte. cfg is copied (NULL:
 * the defaults); fn NULL when out of memory or cfg is invalid (a level out
 * of range, an unknown or repeated coding). Works over HTTP/1 and HTTP/2.
 * Over TLS, see docs/compression.md (BREACH) before compressing a page
 * that holds both a secret and something an attacker chose. */
NH_API nh_handler nh_with_compress(nh_handler next, const nh_compress_config *cfg);
/* nh_compress_off leaves r's response uncompressed (and without the
 * Vary the middleware would add); call it before the first byte or
 * status. No effect outside nh_with_compress. */
NH_API void nh_compress_off(nh_request *r);

/* ---- the built-ins as middlewares for nh_chain_use ---- */

NH_API nh_handler nh_mw_recover(nh_handler next, const void *logger);     /* nh_logger * */
NH_API nh_handler nh_mw_access_log(nh_handler next, const void *logger);  /* nh_logger * */
NH_API nh_handler nh_mw_request_id(nh_handler next, const void *logger);  /* nh_logger * */
NH_API nh_handler nh_mw_limit(nh_handler next, const void *cfg);          /* nh_limit_config * */
typedef struct nh_timeout_config {
  nh_dur dt;
  const char *msg;
} nh_timeout_config;
NH_API nh_handler nh_mw_timeout(nh_handler next, const void *cfg);        /* nh_timeout_config * */
NH_API nh_handler nh_mw_compress(nh_handler next, const void *cfg);       /* nh_compress_config * */

#ifdef __cplusplus
}
#endif
#endif
