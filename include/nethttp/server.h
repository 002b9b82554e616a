/* nethttp/server.h — the HTTP/1.1 server (Go's http.Server).
 *
 * A handler is one blocking call per request, run on a fiber:
 *
 *   static void hello(nh_response_writer *w, nh_request *r) {
 *     nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
 *     nh_resp_write(w, "hello, world\n", 13);
 *   }
 *
 * The request, its body and the writer are valid only until the handler
 * returns. Reading the body, writing the response, and any other blocking
 * call park the handler's fiber; the request's context (nh_request_ctx) is
 * the fiber's context, cancelled when the client goes away, when the handler
 * returns, and when the server shuts down.
 *
 * Defaults are production defaults (NH_SERVER_CONFIG_DEFAULT): read-header 5
 * s, read 30 s, write 60 s, idle 120 s, 64 KiB of headers, 100 header
 * fields, a connection limit derived from the descriptor limit.
 * NH_NO_TIMEOUT turns one timeout off on purpose. */
#ifndef NETHTTP_SERVER_H
#define NETHTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "nethttp/export.h"
#include "nethttp/conn.h"
#include "nethttp/ctx.h"
#include "nethttp/header.h"
#include "nethttp/log.h"
#include "nethttp/runtime.h"
#include "nethttp/time.h"
#include "nethttp/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_server nh_server;
typedef struct nh_request nh_request;
typedef struct nh_response_writer nh_response_writer;

typedef void (*nh_handler_fn)(nh_response_writer *w, nh_request *r);

/* A handler with its data (Go's http.Handler): what muxes, middleware and
 * file servers take and return. nh_handler_serve calls h.fn with
 * nh_request_handler_data(r) == h.data for the call, then restores it. */
typedef struct nh_handler {
  nh_handler_fn fn;
  void *data;
} nh_handler;
#define NH_HANDLER(fn, data) ((nh_handler){(fn), (data)})
NH_API void nh_handler_serve(nh_handler h, nh_response_writer *w, nh_request *r);

/* nh_conn_state_name: "new", "active", "idle", "hijacked", "closed" (the
 * words log records use for state=), "unknown" for any other value. */
NH_API const char *nh_conn_state_name(nh_conn_state s);


/* nh_close_reason_name: the reason as a word ("client", "timeout_read",
 * "drain_overflow"...): the enum's name after NH_CLOSE_, lowercase;
 * "unknown" for any other value. */
NH_API const char *nh_close_reason_name(nh_close_reason r);

/* What hooks learn about a connection. Borrowed for the call. */
typedef struct nh_conn_info {
  uint64_t id;
  const char *remote_addr; /* "127.0.0.1:5555", "[::1]:5555", "@" for unix */
  const char *local_addr;  /* the listener's address: "127.0.0.1:8080", the
                              socket's path, "[::]:8080" for a wildcard one
                              (nh_request_local_addr has the exact one) */
  int loop;
} nh_conn_info;

/* What the accept hook learns about a connection just accepted. Borrowed
 * for the call. With the PROXY protocol the hook runs before the header is
 * read: remote is the proxy's address, not the client's. */
typedef struct nh_accept_info {
  const struct sockaddr *remote; /* the peer's socket address */
  socklen_t remote_len;
  const struct sockaddr *local; /* the address it arrived on (the exact one,
                                   also on a wildcard listener) */
  socklen_t local_len;
  const char *remote_addr; /* remote formatted: "127.0.0.1:5555", "[::1]:5555",
                              "@" for a Unix-socket peer */
  const char *local_addr;  /* local formatted the same way (a path for Unix) */
  const char *listener;    /* the listener's name: its address as bound
                              ("[::]:8080" for a wildcard one), as
                              nh_conn_info.local_addr */
  int loop;                /* the loop that accepted it */
} nh_accept_info;

typedef struct nh_server_config {
  nh_handler_fn handler;
  void *handler_data; /* nh_request_handler_data() returns it */

  nh_dur read_header_timeout; /* from the first byte of a request to the end of
                                 its headers; also bounds a new connection's
                                 wait for its first byte (and, with TLS, the
                                 handshake) */
  nh_dur read_timeout;        /* whole request, headers and body */
  nh_dur write_timeout;       /* from the end of the request headers to the end
                                 of the response */
  nh_dur idle_timeout;        /* keep-alive wait for the next request */
  size_t max_header_bytes;    /* request line + headers; beyond: 431 */
  int max_header_count;       /* header fields; beyond: 431 */
  int max_conns;              /* open connections, all loops together; 0 = from
                                 RLIMIT_NOFILE. A new one at the limit is served:
                                 the oldest idle one is closed to make room (else
                                 a slow client; else it waits for a slot) */
  int extra_fds_per_conn;     /* descriptors a request may hold beside its
                                 socket (a file server: 1, the file it sends);
                                 the default max_conns leaves room for them */
  size_t max_body_drain;      /* unread body drained after a handler to keep the
                                 connection; beyond: close. 256 KiB */

  nh_logger *logger; /* NULL = nh_log_default() */

  /* Synchronous hook on every state change (Go's ConnState). A call slower
   * than slow_hook_threshold is logged. */
  void (*conn_state)(const nh_conn_info *c, nh_conn_state state, void *user);
  void *conn_state_user;
  nh_dur slow_hook_threshold;

  /* Contexts: every request context descends from base_context (NULL =
   * background) through the connection's context, which conn_context may
   * derive (Go's ConnContext; return base itself or a new child that the
   * server frees when the connection closes). */
  nh_ctx *base_context;
  nh_ctx *(*conn_context)(nh_ctx *base, const nh_conn_info *c, void *user);
  void *conn_context_user;

  /* HTTPS: a server context (role NH_TLS_SERVER) made with
   * nh_tls_config_new, borrowed: keep it until nh_server_free. Every
   * connection then starts with the TLS handshake on its fiber, within
   * read_header_timeout (and the context's handshake_timeout). Its ALPN
   * list must offer "http/1.1" (NULL alpn, the default, does). Handshake
   * failures are logged at DEBUG and counted (tls_handshake_errors).
   * Hijacking is refused (NH_ENOTSUP) on TLS connections. NULL = plain. */
  nh_tls_ctx *tls;

  /* HTTP/2 (RFC 9113): on over TLS by ALPN, h2c when asked; the fields
   * and their defaults are in nethttp/conn.h (nh_http2_config). */
  nh_http2_config http2;

  /* Connections one client address may hold open, over every loop and
   * listener; 0 (default) = no limit. An IPv4 client of a dual-stack
   * listener (::ffff:a.b.c.d) counts as a.b.c.d; Unix-socket peers are
   * never limited. Over the limit a new connection is closed at once,
   * nothing read, no response sent, and counted (refused_per_ip). A
   * connection counts until its descriptor closes, or until it is
   * hijacked: from then on its owner holds it, and the server, which no
   * longer sees when it closes, counts it no more (as under max_conns).
   * Behind a PROXY-protocol listener the address is the client's from the
   * header. */
  int max_conns_per_ip;

  /* Synchronous call on every accepted connection, on the accepting loop,
   * before it is read from (Go's wrapped net.Listener: allow-lists, custom
   * limits, logging). Return 0 to serve it, nonzero to refuse it: it is
   * closed at once, nothing read or sent, and counted (refused_by_hook).
   * It runs before the per-IP limit, so it sees every connection. It
   * holds up accepting on its loop: it must not block or park (a call
   * slower than slow_hook_threshold is logged at WARN and counted in
   * slow_hooks). NULL = none. */
  int (*accept_hook)(const nh_accept_info *a, void *user);
  void *accept_hook_user;

  /* The preStop pattern: nh_server_shutdown first marks the server
   * draining (nh_server_draining: the readiness handler answers 503),
   * keeps accepting and serving as usual for drain_delay, so that load
   * balancers notice and stop sending, then stops accepting and goes on
   * as without it. The wait ends early at nh_server_close or at the
   * shutdown's deadline, which bounds the whole shutdown. 0 (default): no
   * wait. */
  nh_dur drain_delay;

  /* 1: keep no request figures (the duration histogram and in-flight
   * requests that /metrics reports, nethttp/debug.h). 0 (default): each
   * loop records them at the end of every request, with plain adds on its
   * own counters. */
  int disable_metrics;
} nh_server_config;

#define NH_SERVER_CONFIG_DEFAULT                                                               \
  {                                                                                            \
    .handler = NULL, .read_header_timeout = 5 * NH_SEC, .read_timeout = 30 * NH_SEC,          \
    .write_timeout = 60 * NH_SEC, .idle_timeout = 120 * NH_SEC,                               \
    .max_header_bytes = 64 * 1024, .max_header_count = 100, .max_conns = 0,                   \
    .max_body_drain = 256 * 1024, .slow_hook_threshold = 10 * NH_MSEC,                        \
    .http2 = {.max_concurrent_streams = 250, .max_queued_streams = 32,                        \
              .stream_window = 1 << 20, .conn_window = 1 << 20, .max_frame_size = 16384,      \
              .stream_buffer = 64 * 1024, .preface_timeout = 10 * NH_SEC,                     \
              .settings_timeout = 2 * NH_SEC, .max_empty_frames = 100},                       \
  }

/* nh_server_new makes a server that will run its connections on rt's loops.
 * cfg is copied. NULL on bad configuration (no runtime, no handler) or no
 * memory; a bad configuration is logged at ERROR (cfg->logger, else the
 * default logger) naming what is missing. */
NH_API nh_server *nh_server_new(nh_runtime *rt, const nh_server_config *cfg);

/* nh_server_listen opens a listening socket: "HOST:PORT", ":PORT" (all
 * IPv4 and IPv6 addresses), "[::1]:PORT", or "unix:/path". Port 0 picks a
 * free port (see nh_server_addr). Several calls listen on several
 * addresses. Returns 0 or -errno (NH_EADDRINUSE, NH_EACCES...) / NH_EINVAL
 * (a malformed address or port, an unknown host, after start); a failure
 * is logged at ERROR with the address and the reason: msg="cannot listen"
 * addr=127.0.0.1:8080 error="address already in use". */
NH_API int nh_server_listen(nh_server *srv, const char *addr);
/* nh_server_listen_fd serves an already listening socket (systemd socket
 * activation, a parent process); the server takes ownership. */
NH_API int nh_server_listen_fd(nh_server *srv, int fd);

/* PROXY protocol (HAProxy's v1 text and v2 binary headers) on a listener.
 * OFF: none is read. REQUIRED: a connection from a trusted source must
 * start with one, and a connection from any other source is closed.
 * OPTIONAL: a trusted source may send one or not; other sources are served
 * as they are, their bytes never read as a header. */
typedef enum nh_proxy_policy {
  NH_PROXY_OFF = 0,
  NH_PROXY_REQUIRED,
  NH_PROXY_OPTIONAL,
} nh_proxy_policy;

/* Options of one listener (zero = the defaults of nh_server_listen). */
typedef struct nh_listen_options {
  nh_proxy_policy proxy;
  /* Trusted sources of PROXY headers: "10.0.0.0/8,127.0.0.1,::1/128"
   * (networks or single addresses, comma separated). NULL or "" with a
   * policy other than OFF trusts no one. Copied. */
  const char *proxy_trusted;
  /* SO_REUSEPORT: several processes may listen on the same port, the
   * kernel spreading connections across them. A socket closed with
   * connections still in its queue resets them: prefer handing listeners
   * over (see docs/deploy.md) for restarts. */
  int reuseport;
} nh_listen_options;

/* nh_server_listen_with and nh_server_listen_fd_with are nh_server_listen
 * and nh_server_listen_fd with options (NULL = none). NH_EINVAL also for a
 * malformed proxy_trusted list (logged). */
NH_API int nh_server_listen_with(nh_server *srv, const char *addr, const nh_listen_options *o);
NH_API int nh_server_listen_fd_with(nh_server *srv, int fd, const nh_listen_options *o);

/* nh_server_addr writes the first listener's address ("127.0.0.1:40123"). */
NH_API int nh_server_addr(const nh_server *srv, char *buf, size_t cap);
NH_API int nh_server_port(const nh_server *srv);

/* nh_server_start begins accepting on every loop and returns at once.
 * nh_server_serve starts (if needed) and waits until the server is shut down
 * or closed, then returns NH_ESERVERCLOSED: a normal end, not a failure.
 * Both may be called from a fiber or a plain thread. */
NH_API int nh_server_start(nh_server *srv);
NH_API int nh_server_serve(nh_server *srv);

/* nh_server_shutdown stops accepting, closes idle connections, lets
 * in-flight requests finish (their connections close after the response),
 * and waits until none is left, hijacked connections included (until their
 * owners close them: tell them with nh_server_on_shutdown). At the deadline
 * it cancels the remaining requests' contexts, waits a moment for them,
 * closes what is left (shutting hijacked sockets down) and returns
 * NH_ETIMEDOUT; otherwise 0. With a drain_delay it first marks the server
 * draining and keeps serving that long (nh_server_config.drain_delay),
 * logging "draining" at INFO. Shutdown hooks run first (after the drain
 * delay). Any thread or fiber; later calls wait for the same outcome. */
NH_API int nh_server_shutdown(nh_server *srv, nh_time deadline);

/* nh_server_draining: 1 once nh_server_shutdown or nh_server_close has
 * begun (also during the drain delay, while it still serves), else 0.
 * Any thread. */
NH_API int nh_server_draining(const nh_server *srv);

/* Readiness and liveness handlers for load balancers and Kubernetes
 * probes (mount them on a path of the program's choice). Both answer a
 * short text/plain body with "Cache-Control: no-store", to any method
 * (HEAD: the head alone).
 * nh_server_ready_handler: 200 "ready" while srv serves; 503 "draining"
 * with "Connection: close" from the moment shutdown begins (during the
 * drain delay too), so a balancer stops sending before the listeners
 * close.
 * nh_server_live_handler: 200 "alive" as long as it is served at all,
 * draining included: the process is alive until it exits.
 * srv is borrowed: keep it until the handler is no longer served. */
NH_API nh_handler nh_server_ready_handler(nh_server *srv);
NH_API nh_handler nh_server_live_handler(nh_server *srv);

/* nh_server_close closes every listener and connection now (hijacked ones
 * too) and cancels every request context. Does not wait for handlers. */
NH_API void nh_server_close(nh_server *srv);

/* nh_server_on_shutdown registers fn(arg) to run when shutdown starts (Go's
 * RegisterOnShutdown), e.g. to tell long-lived streams to finish. */
NH_API int nh_server_on_shutdown(nh_server *srv, void (*fn)(void *arg), void *arg);

/* nh_server_free frees a server that is closed or was never started. */
NH_API void nh_server_free(nh_server *srv);

/* Counters (cumulative) and gauges (current), atomics, readable any time. */
typedef struct nh_server_stats {
  int64_t accepted, closed, requests, hijacked;
  int64_t shed_idle, shed_reading; /* closed to make room (see max_conns) */
  int64_t timeouts_header, timeouts_idle, timeouts_read, timeouts_write;
  int64_t bad_requests;            /* answered 4xx/5xx by the server itself */
  int64_t bodies_drained, bodies_too_large_closed;
  int64_t accept_errors, slow_hooks, handler_panics;
  int64_t tls_handshake_errors;
  /* Connections closed over their PROXY protocol header: missing,
   * malformed, oversized, from an untrusted source under REQUIRED, or not
   * complete within read_header_timeout (also counted in timeouts_header). */
  int64_t proxy_refused;
  /* Connections closed at accept, never served (not in accepted): over
   * max_conns_per_ip, refused by the accept hook. */
  int64_t refused_per_ip, refused_by_hook;
  /* HTTP/2: connections and streams served; streams reset by the server
   * or the client; connections ended for abuse (GOAWAY ENHANCE_YOUR_CALM
   * or a closed socket): resets beyond the handler queue (rapid reset),
   * header blocks over twice max_header_bytes (CONTINUATION floods, HPACK
   * bombs), floods of control or empty frames; header lists refused 431. */
  int64_t h2_conns, h2_streams, h2_streams_reset;
  int64_t h2_rapid_reset, h2_header_floods, h2_control_floods, h2_empty_floods;
  int64_t h2_headers_too_large;
  int64_t conns_new, conns_active, conns_idle, conns_hijacked; /* gauges */
  /* Connections let go of, by reason (nh_close_reason): every accepted
   * connection counts once, when it closes or is hijacked, so these add up
   * to closed + hijacked. */
  int64_t closes[NH_CLOSE__COUNT];
  /* Gauge: open server WebSockets (nethttp/websocket.h), hijacked
   * connections the server still knows (also in conns_hijacked). */
  int64_t websockets_open;
} nh_server_stats;
NH_API void nh_server_stats_get(const nh_server *srv, nh_server_stats *out);

/* nh_server_reload_tls reads the TLS context's certificate and key files
 * again (nh_tls_ctx_reload): new connections use them, established ones
 * keep theirs. On failure the old ones stay and the reason is logged.
 * Returns 0, NH_EINVAL without TLS, or nh_tls_ctx_reload's error. Any
 * thread (e.g. on SIGHUP). */
NH_API int nh_server_reload_tls(nh_server *srv);

/* nh_server_run is the production template in one call: listen on addr,
 * serve until SIGINT or SIGTERM, then shut down gracefully within
 * shutdown_timeout, then force-close. Returns 0 after a clean shutdown,
 * NH_ETIMEDOUT if it had to force, or the listen error. Plain thread only
 * (it blocks the signals on the calling thread to wait for them). Each
 * failure is logged with its reason before it returns (see
 * nh_server_listen); srv NULL (nh_server_new failed) gives NH_EINVAL. So
 * main() can return "r == NH_OK ? 0 : 1" and leave the why to the log.
 * With nh_server_run_set_argv, SIGUSR2 hands the listeners to a new
 * process and then shuts down as on SIGTERM; in a process started so,
 * addr is ignored and the sockets handed over are served (unless srv
 * already has listeners). */
NH_API int nh_server_run(nh_server *srv, const char *addr, nh_dur shutdown_timeout);

/* ---- Sockets passed at start; restart without loss ---- */

/* nh_server_listen_activated serves listening sockets this process was
 * started with, by systemd's socket activation protocol (sd_listen_fds(3);
 * no libsystemd): LISTEN_PID is this process's pid, LISTEN_FDS = n sockets
 * from descriptor 3, LISTEN_FDNAMES their names, colon separated (a
 * .socket unit's FileDescriptorName=, "unknown" when unnamed). The
 * environment is read once per process, at the first call of this,
 * nh_listen_fds_count or nh_server_handover_child; then the three
 * variables are unset (as sd_listen_fds(1) does) and each socket is
 * marked close-on-exec. name: every socket of that name, in order, or
 * "auto" (or NULL) every socket not served yet. A socket is served by one
 * server once; srv owns it then. A socket that is not a listening stream
 * socket is refused (logged at WARN) and left open. o as in
 * nh_server_listen_with. Returns the number of sockets added (> 0);
 * NH_ENOENT when the process was passed none, or none of that name
 * (logged at ERROR); NH_EINVAL when every one of them was refused or the
 * server has started; nh_server_listen_fd_with's error. Thread-safe. */
NH_API int nh_server_listen_activated(nh_server *srv, const char *name, const nh_listen_options *o);

/* nh_listen_fds_count: how many sockets the process was passed (0 when
 * none, or LISTEN_PID names another process). Thread-safe. */
NH_API int nh_listen_fds_count(void);

/* nh_server_run_set_argv gives nh_server_run the program's command line
 * (main's argc and argv, borrowed: they must stay valid) and turns on the
 * restart without loss: on SIGUSR2, nh_server_run starts the same
 * executable (the path /proc/self/exe names at this call, so a binary
 * replaced since then is the one started) with the same arguments and
 * environment, handing it every listener of the server (systemd's
 * variables, descriptors from 3, in order) and a pipe. The new process's
 * nh_server_run serves them (see nh_server_handover_child) and, once it
 * accepts, writes to the pipe; the old one then shuts down as on SIGTERM
 * (within its shutdown timeout) and returns. If the new process dies
 * first, or has not written within 60 s (it is then killed), the old one
 * logs it and goes on serving. A SIGUSR2 while one is under way, or during
 * the shutdown, is ignored (logged). Call it once, before nh_server_run,
 * from main. Without it, SIGUSR2 is left alone. */
NH_API void nh_server_run_set_argv(int argc, char **argv);

/* nh_server_handover_child: 1 when this process was started by a handover
 * (above). It must then serve exactly the sockets it was handed, in order:
 * nh_server_listen_activated(srv, "auto", o), not its own addresses (they
 * are still in use by the old process) nor other activation names.
 * nh_server_run does so by itself when the server has no listener yet. */
NH_API int nh_server_handover_child(void);

/* ---- Requests ---- */

NH_API const char *nh_request_method(const nh_request *r);
/* The request target as sent: "/a/b?x=1", "*", "http://h/p", "host:443". */
NH_API const char *nh_request_target(const nh_request *r);
/* Path and raw query of the target (query without '?', "" if none). */
NH_API const char *nh_request_path(const nh_request *r);
NH_API const char *nh_request_query(const nh_request *r);
NH_API const char *nh_request_host(const nh_request *r);
NH_API const char *nh_request_proto(const nh_request *r); /* "HTTP/1.1" */
NH_API int nh_request_proto_at_least(const nh_request *r, int major, int minor);
NH_API nh_header *nh_request_header(nh_request *r);
/* Declared body length; -1 when unknown (chunked). */
NH_API int64_t nh_request_content_length(const nh_request *r);
/* Transfer-Encoding as sent ("chunked") or NULL. */
NH_API const char *nh_request_transfer_encoding(const nh_request *r);
NH_API const char *nh_request_remote_addr(const nh_request *r);
/* nh_request_local_addr writes the address the request arrived on (Go's
 * LocalAddrContextKey): "127.0.0.1:8080", "[::1]:8080", or the socket's
 * path for a Unix listener. A listener bound to one address answers with
 * no system call; a wildcard one (":8080") asks the kernel (getsockname)
 * on each call, so call it only when needed. IPv4 clients of a dual-stack
 * listener show as "a.b.c.d:port". Returns 0, NH_EINVAL (cap too small:
 * 112 bytes always suffice), NH_ENOTSUP for a request that did not arrive
 * on a socket (nh_recorder_serve), NH_ECLOSED if the connection is gone.
 * Does not park. On the handler's fiber, while the request is alive. */
NH_API int nh_request_local_addr(const nh_request *r, char *buf, size_t cap);

/* What a PROXY protocol header said, on a listener with a PROXY policy
 * (nh_listen_options). When it gave addresses, they are also the
 * request's nh_request_remote_addr (source) and nh_request_local_addr
 * (dest), the access log's, and the nh_conn_info of the connection's
 * hooks and ConnContext. Strings are NUL-terminated copies (a TLV value
 * holding a NUL reads cut short: nh_proxy_tlv has the raw bytes). */
typedef struct nh_proxy_info {
  int version; /* 1 or 2 */
  /* 1: source and dest are set. 0: the header carried no address to use
   * (v2 LOCAL, v2 family UNSPEC, v1 UNKNOWN): the socket's stay. */
  int has_addr;
  const char *source; /* "203.0.113.7:51234", "[2001:db8::1]:443", a Unix */
  const char *dest;   /* path ("@" if unnamed), as nh_request_remote_addr */
  /* v2 TLVs; NULL (0) when absent. */
  const char *alpn;      /* PP2_TYPE_ALPN: "h2", "http/1.1" */
  const char *authority; /* PP2_TYPE_AUTHORITY: the TLS SNI host name */
  const unsigned char *unique_id; /* PP2_TYPE_UNIQUE_ID (binary, <= 128) */
  size_t unique_id_len;
  int ssl;                 /* PP2_TYPE_SSL present: the client spoke TLS */
  unsigned ssl_client;     /* its flags: 0x01 SSL, 0x02 CERT_CONN, 0x04 CERT_SESS */
  unsigned ssl_verify;     /* 0: the client's certificate was verified */
  const char *ssl_version; /* "TLSv1.3" */
  const char *ssl_cn;      /* the client certificate's Common Name */
  const char *ssl_cipher, *ssl_sig_alg, *ssl_key_alg;
  const unsigned char *tlvs; /* every TLV as received (v2), for nh_proxy_tlv */
  size_t tlvs_len;
} nh_proxy_info;

/* nh_request_proxy returns what the connection's PROXY header said, or
 * NULL when it sent none (no PROXY policy, an OPTIONAL one with no header,
 * a recorded request). Owned by the connection: valid while the request
 * is. Does not park; any thread holding the request. */
NH_API const nh_proxy_info *nh_request_proxy(const nh_request *r);
/* nh_proxy_tlv finds the first TLV of type t (0x00-0xFF: custom ones
 * 0xE0-0xEF, PP2_TYPE_NETNS 0x30...) in p's TLVs: returns 1 with *val and
 * *len set (pointing into p), 0 when absent (or p NULL). */
NH_API int nh_proxy_tlv(const nh_proxy_info *p, unsigned t, const unsigned char **val,
                        size_t *len);
NH_API nh_ctx *nh_request_ctx(nh_request *r);
NH_API void *nh_request_handler_data(const nh_request *r);
NH_API void nh_request_set_handler_data(nh_request *r, void *data);

/* nh_request_read reads body bytes into buf: returns the count, 0 at the end
 * of the body, or an error (NH_ETIMEDOUT at the read deadline, NH_EBODYTOOLARGE
 * past a limit, NH_EBADREQUEST for bad framing, NH_ECONNRESET...). The first
 * call answers "Expect: 100-continue" with 100 Continue. Parks the fiber. */
NH_API ssize_t nh_request_read(nh_request *r, void *buf, size_t cap);

/* nh_request_trailer: the request's trailers (of a chunked HTTP/1.1 body,
 * or an HTTP/2 request's trailing HEADERS), once nh_request_read has
 * returned the body's end: NULL before, and NULL for a request whose
 * framing carries none. Names canonical; the map belongs to the request. */
NH_API nh_header *nh_request_trailer(nh_request *r);

/* Request-scoped memory and cleanup: what nh_request_alloc returns is freed
 * when the request ends; fn(arg) registered with nh_request_on_end runs then
 * too (after the response is finished), newest first. */
NH_API void *nh_request_alloc(nh_request *r, size_t n);
NH_API char *nh_request_strdup(nh_request *r, const char *s);
NH_API int nh_request_on_end(nh_request *r, void (*fn)(void *arg), void *arg);

/* nh_request_set_ctx replaces the request's context (Go's WithContext, in
 * place), e.g. to add a value or a deadline in a middleware; blocking calls
 * of the handler's fiber use it too. ctx is borrowed: keep it alive until
 * the handler that set it returns, then set the previous one back. */
NH_API void nh_request_set_ctx(nh_request *r, nh_ctx *ctx);

/* Path wildcards (Go's PathValue / SetPathValue): set by a mux for
 * "{name}" and "{name...}" segments; NULL when there is no such wildcard.
 * nh_request_pattern is the pattern that matched ("" without a mux); it
 * labels the request in /metrics (nethttp/debug.h), copied, so a pattern
 * set by hand is borrowed only for the request. */
NH_API const char *nh_request_path_value(const nh_request *r, const char *name);
NH_API int nh_request_set_path_value(nh_request *r, const char *name, const char *value);
NH_API const char *nh_request_pattern(const nh_request *r);
NH_API void nh_request_set_pattern(nh_request *r, const char *pattern);
/* nh_request_set_path replaces the path handlers see (StripPrefix); the
 * target and query stay as sent. path is copied. 0 or NH_ENOMEM. */
NH_API int nh_request_set_path(nh_request *r, const char *path);

/* nh_request_limit_body caps the body at max bytes (Go's MaxBytesReader):
 * a read past it returns NH_EBODYTOOLARGE, and if the handler then sends no
 * status of its own the server answers 413; either way the connection
 * closes after the response. A Content-Length already over the cap fails
 * the first read at once, before any body byte is read or 100 Continue is
 * sent. */
NH_API void nh_request_limit_body(nh_request *r, int64_t max);
/* 1 once a read went past the cap. */
NH_API int nh_request_body_limit_hit(const nh_request *r);

/* ---- Response writer ---- */

/* nh_resp_header is the response header map; changes after the header was
 * sent are ignored (and logged with the caller's file:line), but for
 * trailers. Reads see every change.
 *
 * Trailers (Go's semantics): fields sent after the body, over HTTP/1.1 in
 * the chunked body's trailer section, over HTTP/2 in a HEADERS frame that
 * ends the stream. Two ways to set them:
 *  - declare the names before the head is written, in a "Trailer" field
 *    (comma-separated, one field or several; it goes out with the head),
 *    and set their values in this map after writing the body;
 *  - set "Trailer:Name" keys (Go's TrailerPrefix, any case) at any time,
 *    even after the head went: they are never sent in the head, and become
 *    trailer "Name".
 * Names must be valid field names and values valid field values (the map
 * refuses others with NH_EINVAL); names a trailer may not carry (RFC 9110
 * 6.5.1: Content-Length, Transfer-Encoding, Host, Authorization, If-*...,
 * Go's list) are dropped, as is a declared name never set. Declared
 * trailers make an HTTP/1.1 body chunked: no Content-Length is worked out
 * for it. A Content-Length the handler set itself is kept, and then, as
 * in Go, HTTP/1 sends no trailers (its body cannot carry them); nor does
 * an HTTP/1.0 client get any, nor a response without a body (HEAD, 204,
 * 304). HTTP/2 sends them whatever the length. */
NH_API nh_header *nh_resp_header(nh_response_writer *w);

/* The calls below that send or commit a response are macros that pass the
 * caller's __FILE__ and __LINE__ to an nh__ function, so a warning they
 * cause (a second status, a header changed too late) names the caller's
 * line. Functions with the public names exist too, for taking an address:
 * they report a location inside the library. */

/* nh_resp_write_header sends the status line and headers (Go's
 * WriteHeader). A second call is ignored and logged with the caller's
 * file:line. 1xx codes other than 101 may be sent several times before the
 * final status. */
NH_API void nh_resp_write_header(nh_response_writer *w, int status);
NH_API void nh__resp_write_header(nh_response_writer *w, int status, const char *file, int line);
#define nh_resp_write_header(w, status) nh__resp_write_header((w), (status), __FILE__, __LINE__)

/* nh_resp_write writes body bytes (an implicit 200 first); returns n or an
 * error (NH_ETIMEDOUT at the write deadline, NH_EPIPE when the client left,
 * NH_ENOTSUP for a status that has no body). Output is buffered: a response
 * that fits the buffer gets a Content-Length, a longer one is chunked. */
NH_API ssize_t nh_resp_write(nh_response_writer *w, const void *buf, size_t n);
NH_API ssize_t nh__resp_write(nh_response_writer *w, const void *buf, size_t n, const char *file,
                              int line);
#define nh_resp_write(w, buf, n) nh__resp_write((w), (buf), (n), __FILE__, __LINE__)

/* nh_resp_write_string and nh_resp_printf are nh_resp_write of a string,
 * of printf's output. */
NH_API ssize_t nh_resp_write_string(nh_response_writer *w, const char *s);
NH_API ssize_t nh__resp_write_string(nh_response_writer *w, const char *s, const char *file,
                                     int line);
#define nh_resp_write_string(w, s) nh__resp_write_string((w), (s), __FILE__, __LINE__)
NH_API ssize_t nh_resp_printf(nh_response_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
NH_API ssize_t nh__resp_printf(nh_response_writer *w, const char *file, int line, const char *fmt,
                               ...)
    __attribute__((format(printf, 4, 5)));
#define nh_resp_printf(w, ...) nh__resp_printf((w), __FILE__, __LINE__, __VA_ARGS__)

/* nh_resp_sendfile sends len bytes of file fd from offset as the body
 * with sendfile(2) (an implicit 200 first). The response gets a
 * Content-Length of len unless the handler set one or already wrote body
 * bytes. Returns 0 or an error; parks the fiber. */
NH_API int nh_resp_sendfile(nh_response_writer *w, int fd, off_t offset, size_t len);
NH_API int nh__resp_sendfile(nh_response_writer *w, int fd, off_t offset, size_t len,
                             const char *file, int line);
#define nh_resp_sendfile(w, fd, offset, len)                                               \
  nh__resp_sendfile((w), (fd), (offset), (len), __FILE__, __LINE__)

/* nh_resp_flush sends what is buffered now (streaming, server-sent events);
 * an implicit 200 first. */
NH_API int nh_resp_flush(nh_response_writer *w);
NH_API int nh__resp_flush(nh_response_writer *w, const char *file, int line);
#define nh_resp_flush(w) nh__resp_flush((w), __FILE__, __LINE__)

/* nh_error replies with status and text + "\n" as a plain-text body (Go's
 * http.Error): it drops a Content-Length the handler set, sets
 * "Content-Type: text/plain; charset=utf-8" and "X-Content-Type-Options:
 * nosniff". Headers set earlier stay. A macro, like nh_resp_write_header:
 * the caller's line is the one a later warning about this response names. */
NH_API void nh_error(nh_response_writer *w, const char *text, int status);
NH_API void nh__error(nh_response_writer *w, const char *text, int status, const char *file,
                      int line);
#define nh_error(w, text, status) nh__error((w), (text), (status), __FILE__, __LINE__)

/* nh_resp_hijack hands the connection to the caller: *fd is the socket
 * (non-blocking; the caller closes it), and the bytes the server had read
 * past the request are copied to *buffered (malloc'd, free it) / *nbuffered.
 * The server forgets the connection except to wait for it at shutdown and
 * shut it down at nh_server_close. The socket belongs to the calling fiber
 * and to the fibers it then starts with nh_go: if one of them ends by
 * nh_panic, the socket is shut down, and closed (counting as hijacked no
 * more) once none of them is left; a wrapper the owner made with
 * nh_fd_open is the owner's to free. Returns 0, or NH_ENOTSUP after the
 * header was sent or on an HTTPS connection (nh_resp_hijack_tls). */
NH_API int nh_resp_hijack(nh_response_writer *w, int *fd, char **buffered, size_t *nbuffered);

/* nh_resp_hijack_tls is nh_resp_hijack for an HTTPS connection (where
 * nh_resp_hijack returns NH_ENOTSUP): *tls is the TLS stream, the caller's
 * to read, write and nh_tls_close (which closes the socket); bytes the TLS
 * layer holds come with its reads, bytes the server had decrypted past the
 * request come in *buffered as above. Its descriptor stays with this
 * loop's fibers (nh_tls_set_fd hands it to another). Owned as above: after
 * a panic of its last owner the stream is aborted (nh_tls_abort). Returns
 * 0, or NH_ENOTSUP on a plain connection or after the header was sent. */
NH_API int nh_resp_hijack_tls(nh_response_writer *w, nh_tls_conn **tls, char **buffered,
                              size_t *nbuffered);

/* Per-request deadlines (Go's ResponseController): move or clear
 * (NH_NO_DEADLINE) this request's read or write deadline, e.g. for a long
 * upload or a server-sent event stream, without touching the server's
 * settings. */
NH_API int nh_resp_set_read_deadline(nh_response_writer *w, nh_time deadline);
NH_API int nh_resp_set_write_deadline(nh_response_writer *w, nh_time deadline);

/* Status sent (0 if none yet) and body bytes written, for logging. */
NH_API int nh_resp_status(const nh_response_writer *w);
NH_API int64_t nh_resp_written(const nh_response_writer *w);
/* 1 once the status line and headers went out (nothing can change them
 * any more); 1 after nh_resp_hijack. */
NH_API int nh_resp_committed(const nh_response_writer *w);
NH_API int nh_resp_hijacked(const nh_response_writer *w);

/* A buffered response (the fix for "status decided too early"): after
 * nh_resp_buffer, status, headers and body are held until the handler
 * returns, the body passes max_bytes, or nh_resp_flush / nh_resp_sendfile;
 * until then a later nh_resp_write_header replaces the status and header
 * changes still count. Past max_bytes it commits and streams as usual.
 * Returns 0, NH_EINVAL (max_bytes 0), NH_ENOTSUP if already committed. */
NH_API int nh_resp_buffer(nh_response_writer *w, size_t max_bytes);
/* nh_resp_reset discards the status, headers and body not yet sent, so the
 * handler can answer something else (an error). Works on any writer that
 * has not committed (a plain one holds up to 16 KiB before it must).
 * Returns 0 or NH_ENOTSUP once committed. */
NH_API int nh_resp_reset(nh_response_writer *w);

#ifdef __cplusplus
}
#endif
#endif
