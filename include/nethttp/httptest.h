/* nethttp/httptest.h — test helpers (Go's net/http/httptest).
 *
 * nh_test_server runs a real server on an ephemeral loopback port with its
 * own runtime. Closing it shuts the server down and then checks that
 * nothing leaked while it ran: no fiber, timer or descriptor is left (seed
 * bug 8 of Go: a test server never closed). */
#ifndef NETHTTP_HTTPTEST_H
#define NETHTTP_HTTPTEST_H

#include <stdio.h>

#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_test_server nh_test_server;

/* nh_test_server_new starts a server for handler on 127.0.0.1:0 with the
 * default configuration (cfg NULL) or cfg (its handler is replaced by
 * handler if handler is not NULL), on a runtime of `loops` loops (0 = 2).
 * NULL on failure. Call from a plain thread (a test's main). */
nh_test_server *nh_test_server_new(nh_handler_fn handler, const nh_server_config *cfg,
                                   int loops);

/* The server, its runtime, its port and its URL ("http://127.0.0.1:PORT"). */
nh_server *nh_test_server_server(nh_test_server *ts);
nh_runtime *nh_test_server_runtime(nh_test_server *ts);
int nh_test_server_port(const nh_test_server *ts);
const char *nh_test_server_url(const nh_test_server *ts);

/* nh_test_server_close shuts down (deadline 5 s), frees the server, checks
 * for leaks (waiting up to 2 s for stragglers) and frees the runtime.
 * Returns 0, NH_ETIMEDOUT if shutdown had to force, or NH_EBUSY after
 * writing a leak report to report (NULL = stderr); in that case the runtime
 * is deliberately not freed, since freeing waits for the leaked fibers. */
int nh_test_server_close(nh_test_server *ts, FILE *report);

/* ---- Calling a handler without a socket (Go's httptest.NewRequest and
 * ResponseRecorder). The request goes through the server's own parser and
 * the response through its own writer; the recorder keeps the bytes that
 * would have gone on the wire and the response decoded from them. */

typedef struct nh_recorder nh_recorder;

/* nh_recorder_serve runs handler on the request made of method, target,
 * extra header lines ("Name: value\r\n..."; may be NULL; Host defaults to
 * example.com) and body (may be NULL), and returns what it answered, or
 * NULL if the request itself is malformed. handler_data is what
 * nh_request_handler_data returns. Free with nh_recorder_free. */
nh_recorder *nh_recorder_serve(nh_handler_fn handler, void *handler_data, const char *method,
                               const char *target, const char *headers, const char *body);
int nh_recorder_status(const nh_recorder *rec);
/* Response headers as sent (canonical keys, framing headers included). */
nh_header *nh_recorder_header(nh_recorder *rec);
/* The body, decoded from chunked framing if it was chunked. */
const char *nh_recorder_body(const nh_recorder *rec, size_t *len);
/* The raw response bytes. */
const char *nh_recorder_wire(const nh_recorder *rec, size_t *len);
void nh_recorder_free(nh_recorder *rec);

#ifdef __cplusplus
}
#endif
#endif
