/* nethttp/httptest.h — test helpers (Go's net/http/httptest).
 *
 * nh_test_server runs a real server on an ephemeral loopback port with its
 * own runtime. Closing it shuts the server down and then checks that
 * nothing it made leaked: no fiber or timer of its runtime, no connection
 * of its port, is left (Go's bug of a test server never closed). A test
 * server never closed is reported on stderr when the process exits, with
 * its URL and the file:line that made it. */
#ifndef NETHTTP_HTTPTEST_H
#define NETHTTP_HTTPTEST_H

#include <stdio.h>

#include "nethttp/export.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_test_server nh_test_server;

/* nh_test_server_new starts a server for handler on 127.0.0.1:0 with the
 * default configuration (cfg NULL) or cfg (its handler is replaced by
 * handler if handler is not NULL), on a runtime of `loops` loops (0 = 2).
 * NULL on failure. Call from a plain thread (a test's main). The macro
 * records the caller's file:line for the report of a server never closed;
 * (nh_test_server_new)(...) calls the function without it. */
NH_API nh_test_server *nh_test_server_new(nh_handler_fn handler, const nh_server_config *cfg,
                                          int loops);
/* nh_test_server_new_at is nh_test_server_new made at file:line (file is
 * borrowed: a string literal such as __FILE__). */
NH_API nh_test_server *nh_test_server_new_at(nh_handler_fn handler, const nh_server_config *cfg,
                                             int loops, const char *file, int line);
#define nh_test_server_new(handler, cfg, loops)                                               \
  nh_test_server_new_at((handler), (cfg), (loops), __FILE__, __LINE__)

/* The server, its runtime, its port and its URL ("http://127.0.0.1:PORT"). */
NH_API nh_server *nh_test_server_server(nh_test_server *ts);
NH_API nh_runtime *nh_test_server_runtime(nh_test_server *ts);
NH_API int nh_test_server_port(const nh_test_server *ts);
NH_API const char *nh_test_server_url(const nh_test_server *ts);

/* nh_test_server_close shuts down (deadline 5 s), frees the server, checks
 * for leaks (waiting up to 2 s for stragglers) and frees the runtime.
 * The check counts what this server made: its runtime's fibers and timers,
 * and the sockets of its port (either end); while no other test server
 * runs at the same time, any other descriptor opened since it started too.
 * Returns 0, NH_ETIMEDOUT if shutdown had to force, or NH_EBUSY after
 * writing a leak report to report (NULL = stderr) that names each leftover
 * ("socket 127.0.0.1:34671 -> 127.0.0.1:51234", "fiber 'conn ...' parked in
 * IO wait: read"). If fibers are left the runtime is deliberately not
 * freed, since freeing waits for them. */
NH_API int nh_test_server_close(nh_test_server *ts, FILE *report);

/* nh_test_server_new_tls is nh_test_server_new serving HTTPS (Go's
 * NewTLSServer): a throwaway CA and a certificate for 127.0.0.1, ::1 and
 * localhost are made for it (nh_tls_testcert_new), cfg->tls is replaced
 * by a context serving that certificate, and the URL is
 * "https://127.0.0.1:PORT". Clients trust nh_test_server_ca_file(ts).
 * Closing the server removes the files and frees the context. */
NH_API nh_test_server *nh_test_server_new_tls(nh_handler_fn handler, const nh_server_config *cfg,
                                              int loops);
NH_API nh_test_server *nh_test_server_new_tls_at(nh_handler_fn handler,
                                                 const nh_server_config *cfg, int loops,
                                                 const char *file, int line);
#define nh_test_server_new_tls(handler, cfg, loops)                                           \
  nh_test_server_new_tls_at((handler), (cfg), (loops), __FILE__, __LINE__)
/* The CA certificate file clients should trust (NULL for a plain server). */
NH_API const char *nh_test_server_ca_file(const nh_test_server *ts);
/* The server's TLS context and its throwaway certificates (NULL if plain),
 * e.g. to sign more leaves with nh_tls_testcert_leaf. */
NH_API nh_tls_ctx *nh_test_server_tls(nh_test_server *ts);
NH_API nh_tls_testcert *nh_test_server_testcert(nh_test_server *ts);
/* A client for this server (Go's Server.Client): for an HTTPS server its
 * transport already trusts the throwaway CA. Made on first call, owned by
 * ts and freed by nh_test_server_close (responses must be closed first). */
NH_API struct nh_client *nh_test_server_client(nh_test_server *ts);

/* ---- Calling a handler without a socket (Go's httptest.NewRequest and
 * ResponseRecorder). The request and the response writer are the server's
 * own; the recorder keeps the status, headers and body the writer hands
 * over, and the bytes an HTTP/1.1 server would have sent for them. */

typedef struct nh_recorder nh_recorder;

/* nh_recorder_serve runs handler on the request made of method, target,
 * extra header lines ("Name: value\r\n..."; may be NULL; Host defaults to
 * example.com) and body (may be NULL: the bytes the handler reads, never
 * decoded), and returns what it answered, or NULL if the request itself
 * is malformed. handler_data is what
 * nh_request_handler_data returns. Free with nh_recorder_free. */
NH_API nh_recorder *nh_recorder_serve(nh_handler_fn handler, void *handler_data,
                                      const char *method, const char *target, const char *headers,
                                      const char *body);
NH_API int nh_recorder_status(const nh_recorder *rec);
/* Response headers as sent (canonical keys, framing headers included). */
NH_API nh_header *nh_recorder_header(nh_recorder *rec);
/* The response's trailers (Go's ResponseRecorder.Result().Trailer): those
 * the handler declared in a Trailer field or set as "Trailer:Name" keys
 * (see nh_resp_header), with names canonical and those not allowed in a
 * trailer dropped. An empty map, never NULL, when there are none; owned by
 * rec. */
NH_API nh_header *nh_recorder_trailer(nh_recorder *rec);
/* The body, decoded from chunked framing if it was chunked. */
NH_API const char *nh_recorder_body(const nh_recorder *rec, size_t *len);
/* The raw response bytes. */
NH_API const char *nh_recorder_wire(const nh_recorder *rec, size_t *len);
NH_API void nh_recorder_free(nh_recorder *rec);

#ifdef __cplusplus
}
#endif
#endif
