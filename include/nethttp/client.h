/* nethttp/client.h — the HTTP client (Go's http.Client and http.Transport).
 *
 *   nh_client *c = nh_client_new(NULL);            // production defaults
 *   nh_response *resp;
 *   int e = nh_client_get(c, "http://127.0.0.1:8080/x", &resp);
 *   if (e == 0) {
 *     char buf[4096];
 *     ssize_t n;
 *     while ((n = nh_response_read(resp, buf, sizeof buf)) > 0)
 *       fwrite(buf, 1, (size_t)n, stdout);
 *     nh_response_close(resp);                     // always, even after EOF
 *   }
 *   nh_client_free(c);
 *
 * Works from a fiber (the calls park it) and from a plain thread (they block
 * it). A connection goes back to the pool the moment its response body has
 * been read to the end; nh_response_close drains a bounded amount of an
 * unread body (256 KiB, 1 s) to keep the connection, or closes it. A
 * response never closed is reported with the file:line of the request that
 * made it (nh_transport_leak_report, and when the transport is freed).
 *
 * No request can hang forever with the defaults: dial 30 s, response header
 * 30 s, and a body read that stalls for 30 s ends with NH_ETIMEDOUT; a total
 * timeout per client and a context per request cut any phase at once (on a
 * plain thread a context ends waits through its deadline only).
 *
 * Threads and loops. A transport and a client are shared: any number of
 * fibers on any loops and plain threads may make requests through one at
 * once (the pool is locked; a pooled connection moves to the loop of
 * whoever takes it next). A cookie jar is shared likewise (it has its own
 * lock). A request and a response belong to one caller at a time: use
 * each from one fiber or thread at once (one may hand it to another
 * between calls). Configuration is copied when a transport or client is
 * made; freeing a transport or client while a request through it is in
 * flight is the caller's error.
 *
 * Who frees what. The caller frees what it made: a request
 * (nh_client_request_free, after the response made from it is closed), a
 * response (nh_response_close, always, whether the body was read or not),
 * a buffer from nh_response_read_all (free), a client and a transport (a
 * client frees only a transport it made itself). The header maps a request
 * or a response hands out belong to it.
 *
 * Parking. Dialing, sending, reading a head or body, and closing a
 * response with an unread body (the drain) park the calling fiber, or
 * block the calling thread. Everything else (building requests, reading
 * a response's head fields, stats, leak reports, freeing) never waits
 * for the network. */
#ifndef NETHTTP_CLIENT_H
#define NETHTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "nethttp/ctx.h"
#include "nethttp/header.h"
#include "nethttp/time.h"
#include "nethttp/url.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_transport nh_transport;
struct nh_tls_config;
typedef struct nh_client nh_client;
typedef struct nh_client_request nh_client_request;
typedef struct nh_response nh_response;

/* ---- Transport: connections and their pool ---- */

/* Which HTTP versions a transport speaks (nh_transport_config.http_version). */
enum nh_http_version {
  NH_HTTP_AUTO = 0, /* https: HTTP/2 when the server's ALPN picks it, else HTTP/1.1;
                       http: HTTP/1.1 (Go's DefaultTransport) */
  NH_HTTP_1 = 1,    /* HTTP/1.1 only: ALPN offers just "http/1.1" */
  NH_HTTP_2 = 2,    /* HTTP/2 only: https offers just "h2" (a server that does not
                       choose it fails the request with NH_ENOTSUP); http speaks h2c
                       with prior knowledge (RFC 9113 3.3: no Upgrade) */
};

typedef struct nh_transport_config {
  nh_dur dial_timeout;            /* TCP connect (all addresses); 30 s */
  nh_dur tls_handshake_timeout;   /* 10 s (for when TLS is used) */
  nh_dur response_header_timeout; /* request fully sent -> response head; 30 s */
  nh_dur body_stall_timeout;      /* no body byte for this long: NH_ETIMEDOUT; 30 s */
  nh_dur expect_continue_timeout; /* wait for 100 Continue before sending anyway; 1 s */
  nh_dur idle_conn_timeout;       /* an idle pooled connection is closed after; 90 s */
  nh_dur tcp_keepalive;           /* TCP keep-alive probe interval; 15 s */
  /* Once a request is sent, look for the answer this long without letting
   * the thread sleep: a nearby server answers within tens of microseconds,
   * and a sleep and wake-up cost more CPU and time than that. At most this
   * much CPU per request when the answer is slow. 50 us; NH_NO_TIMEOUT =
   * sleep at once. */
  nh_dur reply_spin;
  int max_idle_conns;             /* idle connections kept in all; 100 */
  int max_idle_conns_per_host;    /* idle connections kept per host; 16 */
  int max_conns_per_host;         /* 0 = no limit; beyond, callers wait (their context bounds it) */
  int disable_keepalives;         /* one request per connection */
  int disable_compression;        /* do not ask for gzip, br, zstd for the caller */
  size_t max_response_header_bytes; /* 1 MiB, as Go */
  /* HTTPS: the TLS configuration (nethttp/tls.h), copied into the
   * transport's own TLS context when the transport is made; NULL = system
   * roots with verification, made on the first https request. */
  const struct nh_tls_config *tls;
  /* Identifies the TLS configuration in every pool key, so two transports
   * (or clones) with different trust never share a connection. Set from
   * the TLS context's key (a hash of its settings and files); a caller may
   * add its own. Copied. */
  const char *tls_config_key;
  /* Proxy: NULL = from the environment when the transport is made
   * (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, as Go's ProxyFromEnvironment;
   * loopback is never proxied), "" = direct, or a fixed "http://[user:pass@]
   * host:port" for every request. Plain-HTTP requests go to the proxy in
   * absolute form; https goes through a CONNECT tunnel. */
  const char *proxy_url;
  /* HTTPS: the protocols offered by ALPN (RFC 7301), in preference order,
   * NULL-terminated; NULL = as http_version says ({"h2", "http/1.1", NULL}
   * by default, as Go); an empty list offers none.
   * Copied. Replaces the TLS configuration's own alpn when set. The
   * server's choice picks how the connection is spoken: "http/1.1" (or no
   * choice) is HTTP/1.1, "h2" is HTTP/2; a request over a connection where the server chose
   * a protocol this client does not speak fails with NH_ENOTSUP.
   * nh_transport_new returns NULL for an empty name, one over 255 bytes or
   * one with a comma. */
  const char *const *alpn;
  /* The HTTP versions spoken (enum nh_http_version); NH_HTTP_AUTO. An
   * explicit alpn list above overrides the offer this implies. */
  int http_version;
  /* HTTP/2: a connection that received no frame for this long sends a
   * PING; if nothing arrives within h2_ping_timeout after it, the
   * connection is closed and its requests fail (Go's ReadIdleTimeout and
   * PingTimeout, off and 15 s in Go: on here, so a silent peer cannot
   * hold requests until their own timeouts). 15 s and 15 s;
   * NH_NO_TIMEOUT on either turns the check off. */
  nh_dur h2_read_idle_timeout;
  nh_dur h2_ping_timeout;
  /* HTTP/2: each stream's receive window (SETTINGS_INITIAL_WINDOW_SIZE),
   * the most a response nobody reads can hold in memory: WINDOW_UPDATE
   * follows the caller's reads. 1 MiB (Go: 4 MiB); 16 KiB at least. */
  uint32_t h2_stream_window;
} nh_transport_config;

#define NH_TRANSPORT_CONFIG_DEFAULT                                                            \
  {                                                                                            \
    .dial_timeout = 30 * NH_SEC, .tls_handshake_timeout = 10 * NH_SEC,                         \
    .response_header_timeout = 30 * NH_SEC, .body_stall_timeout = 30 * NH_SEC,                \
    .expect_continue_timeout = NH_SEC, .idle_conn_timeout = 90 * NH_SEC,                      \
    .tcp_keepalive = 15 * NH_SEC, .reply_spin = 50 * NH_USEC, .max_idle_conns = 100, .max_idle_conns_per_host = 16,       \
    .max_response_header_bytes = 1 << 20, .proxy_url = NULL,                                  \
    .h2_read_idle_timeout = 15 * NH_SEC, .h2_ping_timeout = 15 * NH_SEC,                      \
    .h2_stream_window = 1 << 20,                                                              \
  }

/* cfg is copied (NULL = defaults; zero fields take their default, use
 * NH_NO_TIMEOUT to turn a timeout off on purpose). NULL on a bad
 * configuration or no memory. The transport may be used from any loop and
 * thread at once. */
NH_API nh_transport *nh_transport_new(const nh_transport_config *cfg);
/* A new transport with the same configuration and an empty pool. */
NH_API nh_transport *nh_transport_clone(const nh_transport *t);
/* Closes idle connections; reports responses never closed (to the default
 * logger) and frees. Responses still open must not be used afterwards;
 * no request may be in flight through t. NULL does nothing. */
NH_API void nh_transport_free(nh_transport *t);
/* Closes the pooled connections no request is using. Any thread; does not
 * park. */
NH_API void nh_transport_close_idle(nh_transport *t);
/* Writes one line per response made through t and never closed, with the
 * file:line that made its request. Returns how many. */
NH_API int nh_transport_leak_report(nh_transport *t, FILE *out);

typedef struct nh_transport_stats {
  int64_t dials, reused, requests, retries;
  int64_t idle_now, open_now; /* gauges */
  int64_t closed_idle_timeout, closed_pool_full, closed_unread_body;
  int64_t unclosed_responses; /* gauge: responses not yet closed */
} nh_transport_stats;
NH_API void nh_transport_stats_get(const nh_transport *t, nh_transport_stats *out);

/* ---- Requests ---- */

/* NULL if the URL is not an absolute http:// URL (https needs TLS). */
NH_API nh_client_request *nh_client_request_new(const char *method, const char *url);
NH_API void nh_client_request_free(nh_client_request *req);
NH_API nh_header *nh_client_request_header(nh_client_request *req);
/* The context bounds the whole exchange, body reading included (borrowed:
 * keep it alive until the response is closed). Default: the calling fiber's. */
NH_API void nh_client_request_set_ctx(nh_client_request *req, nh_ctx *ctx);

/* Bodies. Content-Length is known for bytes, strings and files; a reader
 * may give it or -1 (chunked). The body can be replayed (redirects 307/308,
 * retries) when it is bytes, a string, a file, or a reader with a rewind
 * function (Go's GetBody). No Content-Type is ever guessed: set it, or use
 * the post helpers. */
NH_API int nh_client_request_set_body(nh_client_request *req, const void *data, size_t len); /* copied */
NH_API int nh_client_request_set_body_string(nh_client_request *req, const char *s);
NH_API int nh_client_request_set_body_file(nh_client_request *req, const char *path);
typedef ssize_t (*nh_body_read_fn)(void *arg, void *buf, size_t cap); /* 0 at end, <0 error */
typedef int (*nh_body_rewind_fn)(void *arg);                             /* 0 or error */
NH_API int nh_client_request_set_body_reader(nh_client_request *req, nh_body_read_fn read,
                                      nh_body_rewind_fn rewind, void *arg, int64_t length);

/* Typed bodies: the body is encoded here and Content-Type set to match
 * (replacing one set before), so a server that checks the type (415
 * otherwise) gets it. Like the setters above: the body is copied, and
 * 0, NH_EINVAL or NH_ENOMEM is returned.
 *
 * nh_client_request_set_form: v url-encoded as Go's Values.Encode (keys
 * sorted, values of a key in order; NULL = an empty form), with
 * Content-Type: application/x-www-form-urlencoded. v is only read.
 *
 * nh_client_request_set_json: json, a JSON text sent as is (not checked;
 * NULL is NH_EINVAL), with Content-Type: application/json. To send a
 * jansson value, see nh_client_request_set_json_value (nethttp/client_json.h). */
NH_API int nh_client_request_set_form(nh_client_request *req, const nh_values *v);
NH_API int nh_client_request_set_json(nh_client_request *req, const char *json);

/* ---- Tracing a request (Go's net/http/httptrace) ----
 *
 * Hooks called as a request moves through its phases, to time or show
 * them (nethttp get -v, nethttp load). Each runs on the requesting fiber
 * or thread, inside the exchange, so it must be quick and must not park.
 * Any hook may be NULL; user is passed to each. A redirect hop or a retry
 * on a stale pooled connection goes through the phases again. A request
 * without a trace pays one NULL test per phase. In order:
 *
 *   get_conn        a connection for host:port is looked for (pool or dial)
 *   dns_done        new connection: the name lookup ended (err 0 or NH_ENOHOST...)
 *   connect_done    the TCP connection to addr ("127.0.0.1:8443") is up, or err
 *   tls_done        https: the handshake ended; tls is valid for the call
 *                   only (nethttp/tls.h accessors), NULL when err
 *   got_conn        the connection to send on; reused 1 if from the pool
 *   wrote_request   the request, body included, was written (or err)
 *   got_first_byte  the first byte of the response head arrived
 *
 * Through a proxy, dns_done and connect_done are the proxy's. */
struct nh_tls_conn;
typedef struct nh_client_trace {
  void *user;
  void (*get_conn)(void *user, const char *host_port);
  void (*dns_done)(void *user, int err);
  void (*connect_done)(void *user, const char *addr, int err);
  void (*tls_done)(void *user, const struct nh_tls_conn *tls, int err);
  void (*got_conn)(void *user, int reused);
  void (*wrote_request)(void *user, int err);
  void (*got_first_byte)(void *user);
} nh_client_trace;

/* Attaches trace to req and to the hops of its redirects (borrowed: keep
 * it and its user alive until the response is closed; NULL detaches). */
NH_API void nh_client_request_set_trace(nh_client_request *req, const nh_client_trace *trace);

/* ---- Responses ---- */

NH_API int nh_response_status(const nh_response *resp);
NH_API const char *nh_response_proto(const nh_response *resp); /* "HTTP/1.1" */
NH_API nh_header *nh_response_header(nh_response *resp);
/* Trailers of a chunked body, once it was read to the end (NULL before). */
NH_API nh_header *nh_response_trailer(nh_response *resp);
NH_API int64_t nh_response_content_length(const nh_response *resp); /* -1 unknown */
/* Was the body transparently decoded (the transport asked for gzip, br and
 * zstd on the caller's behalf and the server used one)? */
NH_API int nh_response_uncompressed(const nh_response *resp);
/* The URL finally answered (after redirects): the string of the request
 * that got the answer, valid until the response is closed. */
NH_API const char *nh_response_url(const nh_response *resp);

/* Reads body bytes: count, 0 at the end (the connection goes back to the
 * pool right then), or an error (NH_ETIMEDOUT on a stall, NH_ECANCELED...).
 * Parks the fiber (blocks a plain thread) until bytes come. */
NH_API ssize_t nh_response_read(nh_response *resp, void *buf, size_t cap);
/* Reads the whole body (at most max bytes: NH_EBODYTOOLARGE beyond) into a
 * malloc'd NUL-terminated buffer (free it); len may be NULL. On any error
 * *out is NULL (and *len 0) and the error is returned (NH_EBODYTOOLARGE,
 * NH_ENOMEM, or a read error as nh_response_read's). */
NH_API int nh_response_read_all(nh_response *resp, size_t max, char **out, size_t *len);
/* Ends the response and frees it: pools the connection if the body was read
 * to its end or a short drain finishes it; closes it otherwise. May park
 * (the drain, at most 1 s). NULL does nothing. */
NH_API void nh_response_close(nh_response *resp);

/* ---- Client: redirects, total timeout, convenience ---- */

/* What a redirect policy sees: the request about to be made and how many
 * were made before. Return 0 to follow, NH_ECANCELED (or any error) to stop
 * and get the redirect response itself. */
typedef int (*nh_redirect_policy)(const char *method, const char *url, int redirects, void *user);

typedef struct nh_cookie_jar nh_cookie_jar; /* nethttp/cookiejar.h */

typedef struct nh_client_config {
  nh_transport *transport; /* borrowed; NULL = the client makes its own */
  /* Borrowed; NULL = no cookies kept. Before each request and redirect hop
   * its cookies for the URL join the Cookie header; every response's
   * Set-Cookie lines, redirects included, are stored in it. */
  nh_cookie_jar *jar;
  nh_dur timeout;          /* total per request, body included; 0 = none (phase timeouts still hold) */
  int max_redirects;       /* 10 */
  nh_redirect_policy check_redirect; /* NULL = follow up to max_redirects */
  void *check_redirect_user;
} nh_client_config;

#define NH_CLIENT_CONFIG_DEFAULT {.transport = NULL, .timeout = 0, .max_redirects = 10}

NH_API nh_client *nh_client_new(const nh_client_config *cfg);
NH_API void nh_client_free(nh_client *c);
NH_API nh_transport *nh_client_transport(nh_client *c);

/* nh_client_do sends req (the client does not take it: free it after the
 * response is closed) and returns the response head; the body is read with
 * nh_response_read; *out is the caller's to close. Errors: NH_ETIMEDOUT,
 * NH_ECANCELED, NH_ECONNREFUSED, NH_ECONNRESET, NH_EBADRESPONSE,
 * NH_ETOOMANYREDIRECTS, NH_ETLS, NH_ENOTSUP (an https server chose a
 * protocol this client does not speak)... Parks the fiber (blocks a plain
 * thread) until the head is in. Any number of callers may share c. */
#define nh_client_do(c, req, out) nh_client_do_at((c), (req), (out), __FILE__, __LINE__)
#define nh_client_get(c, url, out) nh_client_get_at((c), (url), (out), __FILE__, __LINE__)
#define nh_client_post(c, url, type, body, len, out)                                           \
  nh_client_post_at((c), (url), (type), (body), (len), (out), __FILE__, __LINE__)
NH_API int nh_client_do_at(nh_client *c, nh_client_request *req, nh_response **out, const char *file,
                    int line);
NH_API int nh_client_get_at(nh_client *c, const char *url, nh_response **out, const char *file, int line);
/* POST with an explicit Content-Type (never guessed). */
NH_API int nh_client_post_at(nh_client *c, const char *url, const char *content_type, const void *body,
                      size_t len, nh_response **out, const char *file, int line);
/* POST of a form (Go's Client.PostForm) or of a JSON text, typed as
 * nh_client_request_set_form and nh_client_request_set_json do; errors as
 * nh_client_do. The arguments are only read during the call. */
#define nh_client_post_form(c, url, values, out)                                               \
  nh_client_post_form_at((c), (url), (values), (out), __FILE__, __LINE__)
#define nh_client_post_json(c, url, json, out)                                                 \
  nh_client_post_json_at((c), (url), (json), (out), __FILE__, __LINE__)
NH_API int nh_client_post_form_at(nh_client *c, const char *url, const nh_values *v, nh_response **out,
                           const char *file, int line);
NH_API int nh_client_post_json_at(nh_client *c, const char *url, const char *json, nh_response **out,
                           const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
