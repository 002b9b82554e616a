/* The client's internals: requests, pooled connections, responses.
 *
 * A connection (nh__cconn) is transport state (socket, TLS, host, proxy,
 * idle time) plus a const table of its protocol's operations
 * (nh__cconn_ops), chosen by ALPN when it is dialed. A request on it is a
 * stream (nh__cstream); a response holds the stream and a neutral head
 * (nh__chead), and reads its body through the table.
 *
 * While a request uses an exclusive (HTTP/1) connection, its nh_fd belongs
 * to the caller's loop (or to the calling plain thread). Idle in the pool
 * it is parked: any caller of any loop can take it, and anyone can close
 * it. */
#ifndef NH_CLIENT_INTERNAL_H
#define NH_CLIENT_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "nethttp/client.h"
#include "nethttp/dial.h"
#include "nethttp/tls.h"
#include "nethttp/errors.h"
#include "nethttp/log.h"
#include "nethttp/runtime.h"
#include "nethttp/netpoll.h"
#include "nethttp/sync.h"
#include "nethttp/url.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/header_internal.h"
#include "util/list.h"

#define NH__CLIENT_VERSION "0.1.0"
#define NH__CLIENT_BUF 16384
/* The codings the transport asks for on the caller's behalf and decodes
 * (Go's Transport asks for gzip alone). */
#define NH__CLIENT_ACCEPT_ENCODING "gzip, br, zstd"
#define NH__DRAIN_MAX (256 * 1024)
#define NH__DRAIN_TIME NH_SEC

/* ---- requests ---- */

typedef enum { BODY_NONE, BODY_BYTES, BODY_FILE, BODY_READER } nh__body_kind;

struct nh_client_request {
  char *method;
  nh_url *url;
  char *url_str;     /* nh_url_string(url), made when first needed */
  char *uri_str;     /* its request-URI (path and query), likewise */
  nh_header *header; /* &header_map */
  nh_ctx *ctx;
  nh__body_kind body;
  char *bytes; /* BODY_BYTES */
  size_t nbytes;
  int fd; /* BODY_FILE */
  nh_body_read_fn read;
  nh_body_rewind_fn rewind;
  void *arg;
  int64_t length; /* -1 unknown: chunked */
  int body_started; /* some of it was read: a replay needs a rewind */
  int wire_gzip;    /* the transport asks for gzip, br and zstd on the caller's behalf */
  int borrowed_body; /* a redirect hop using its first request's body */
  const nh_client_trace *trace; /* borrowed, or NULL (trace.c) */
  /* The host (pool entry) of its last round trip and the transport's id:
   * the URL never changes, so the same request sent again through the
   * same transport goes to the same host without working the route out
   * (transport.c). */
  uint64_t route_transport;
  struct nh__host *route_host;
  /* Last, and not zeroed on creation (nh__header_init sets them up): the
   * header map and its strings live in the request, with no allocation
   * of their own for a usual set of headers. */
  nh_header header_map;
  nh__arena header_arena;
  char header_first[512];
};

/* The request as one hop of a redirect chain sees it. */
int nh__creq_replayable(const nh_client_request *req);
/* The request's URL as a string, kept with it (NULL when out of memory). */
const char *nh__creq_url_string(nh_client_request *req);
/* Its origin-form request target ("/path?query"), kept likewise. */
const char *nh__creq_request_uri(nh_client_request *req);
int nh__creq_rewind(nh_client_request *req);
ssize_t nh__creq_body_read(nh_client_request *req, void *buf, size_t cap, off_t *file_off);

/* A TLS context shared by a transport and its clones. */
typedef struct nh__tls_shared {
  nh_tls_ctx *ctx;
  _Atomic int refs;
} nh__tls_shared;

/* ---- connections: transport state plus a protocol's operations ---- */

typedef struct nh__host nh__host;
typedef struct nh__cconn nh__cconn;
typedef struct nh__cstream nh__cstream;
typedef struct nh__cconn_ops nh__cconn_ops;

/* A response head as every protocol gives it. */
typedef struct nh__chead {
  int status;
  char proto[12];         /* "HTTP/1.1" */
  nh_header *header;      /* the response's map: read_head adds the fields */
  nh_header *trailer;     /* made by read_head when trailers may follow, else NULL */
  int64_t content_length; /* -1 unknown */
  int no_body;            /* nothing follows the head: the stream is done */
  int close;              /* the connection ends with this response (Go's
                             Response.Close): no point draining its body */
  int no_drain;           /* closing it early costs the connection nothing (an
                             HTTP/2 stream reset): no drain either */
} nh__chead;

/* One request and its response on a connection. A protocol embeds it in
 * its own stream state. */
struct nh__cstream {
  nh__cconn *conn;
  const nh_client_trace *trace; /* the request's, or NULL */
  int sent_any; /* a byte of the request reached the socket */
  int got_any;  /* a byte of the response came */
  int refused;  /* the server never processed the request (HTTP/2 GOAWAY
                   past it or REFUSED_STREAM): it may go again, on a new
                   connection, whatever its method */
};

/* What a protocol does on a connection. Every op but can_take runs on the
 * fiber or thread that holds the stream; the pool calls can_take under the
 * transport's lock, so it only reads. */
struct nh__cconn_ops {
  const char *alpn; /* the ALPN protocol id this implements */
  int shared;       /* several streams at once: the pool lends the connection
                       out while keeping it listed (else it is taken out) */
  /* Sets up the protocol's state on a connection just dialed (and
   * handshaken). 0 or NH_ENOMEM. */
  int (*attach)(nh__cconn *c);
  /* Frees the protocol's state (the transport closes the socket after). */
  void (*detach)(nh__cconn *c);
  /* Sends req (head and body) as a new stream. *out is set before any
   * failure that leaves a stream to close; its sent_any / got_any tell a
   * retry what reached the wire. 0 or an error. Parks. */
  int (*start)(nh__cconn *c, nh_client_request *req, nh_time deadline, nh__cstream **out);
  /* The stream's final response head into *head. 0 or an error. Parks. */
  int (*read_head)(nh__cstream *s, nh_client_request *req, nh_time deadline, nh__chead *head);
  /* Body bytes: a count, 0 at the end, or an error. Parks. */
  ssize_t (*read_body)(nh__cstream *s, void *out, size_t cap, nh_time deadline);
  /* Ends the stream. complete: the body was read to its end; otherwise
   * (or when the protocol cannot go on) the protocol sets c->broken. */
  void (*close_stream)(nh__cstream *s, int complete);
  /* Can the connection take another request now? */
  int (*can_take)(const nh__cconn *c);
};

/* http1_conn.c: HTTP/1.1, the exclusive kind. */
extern const nh__cconn_ops nh__h1_cconn_ops;
/* h2_ops.c: HTTP/2, the shared kind. */
extern const nh__cconn_ops nh__h2_cconn_ops;
/* The operations for the protocol ALPN chose ("" = none: HTTP/1.1), or
 * NULL for one this client does not speak. */
const nh__cconn_ops *nh__cconn_ops_for(const char *alpn);

struct nh__cconn {
  const nh__cconn_ops *ops;
  void *proto;  /* the protocol's state (ops->attach) */
  nh_transport *t;
  nh__host *host;
  nh_fd *fd;    /* parked while an exclusive connection is idle (see pool.c) */
  nh_tls_conn *tls; /* https: the TLS stream over fd, or NULL */
  int proxied;  /* talks to a proxy: requests in absolute form */
  char *proxy_auth; /* Proxy-Authorization value, or NULL */
  int reset_on_close; /* bytes may sit unsent behind a peer that stopped reading */
  int broken;   /* can carry no more requests: closed once its streams end */
  int streams;  /* in flight (pool.c keeps count, under t->mu) */
  nh_time idle_since;
  nh__list node; /* in the transport's pool list, oldest first */
};

struct nh__host {
  char *key; /* "scheme|host|port|proxy|tls" */
  char host_port[300]; /* the target as a trace names it: "h:80", "[::1]:80" */
  int idle, open; /* idle: listed in the pool */
  nh_sem *limit; /* max_conns_per_host, or NULL */
  /* Dials of a host known to speak a shared protocol (HTTP/2) are
   * coalesced: a caller that finds no connection to take while one is
   * being dialed waits for it (dial_sem) instead of dialing its own. */
  int shared;       /* it does (a shared connection was made, or h2c is configured) */
  int dialing;      /* dials in progress */
  int dial_waiters; /* callers waiting on dial_sem */
  _Atomic unsigned dial_gen; /* dials ended so far (changed under the transport's mu) */
  nh_sem *dial_sem;
  nh__host *next;
};

struct nh_transport {
  nh_transport_config cfg;
  char *tls_key, *proxy;   /* proxy: fixed, "" direct, NULL from env */
  char *alpn;              /* the offered protocols, "h2,http/1.1" form */
  nh_proxy_config env_proxy; /* the environment when the transport was made */
  struct nh__tls_shared *tls; /* made with the transport (a given config) or
                                on first https use (system roots); clones share it */
  pthread_mutex_t tls_mu;
  pthread_mutex_t mu;
  nh__list pool; /* listed connections, by idle_since, oldest first */
  int idle;      /* listed: idle exclusive ones, and shared ones */
  nh__host *hosts;
  struct nh_response *open_responses; /* for the leak report, under open_mu */
  /* A spin lock: the list is touched twice per request for a few pointer
   * moves, where a mutex pair costs more than the work. */
  atomic_int open_mu;
  uint64_t id; /* unique in the process: a request's route cache names it */
  _Atomic int64_t st_dials, st_reused, st_requests, st_retries, st_open, st_closed_idle,
      st_closed_full, st_closed_unread, st_unclosed;
};

static inline void nh__open_lock(nh_transport *t) {
  while (atomic_exchange_explicit(&t->open_mu, 1, memory_order_acquire))
    while (atomic_load_explicit(&t->open_mu, memory_order_relaxed))
      sched_yield(); /* the holder may be off its core */
}
static inline void nh__open_unlock(nh_transport *t) {
  atomic_store_explicit(&t->open_mu, 0, memory_order_release);
}

/* pool.c */
nh__host *nh__host_get(nh_transport *t, const char *key, const char *host, int port);
/* nh__pool_take, or NULL when the caller is to dial (counted in
 * h->dialing: it must call nh__pool_dial_end). For a host known to
 * multiplex, while another caller's dial is in progress, waits for it to
 * end and looks again. Parks. */
nh__cconn *nh__pool_take_or_dial(nh_transport *t, nh__host *h, int can_retry, nh_time deadline);
/* A dial for h begins (outside nh__pool_take_or_dial) / ended (c: the
 * connection made and listed, or NULL): the end wakes the callers waiting
 * for it. */
void nh__pool_dial_begin(nh_transport *t, nh__host *h);
void nh__pool_dial_end(nh_transport *t, nh__host *h, nh__cconn *c);
/* A listed connection for host that can take a request, or NULL: an
 * exclusive one (newest first) is taken out of the pool, a shared one
 * stays listed and counts one more stream. Expired and dead idle ones met
 * on the way are closed; can_retry: the request can be sent again if the
 * connection turns out closed (a fresh one is then not checked). */
nh__cconn *nh__pool_take(nh_transport *t, nh__host *h, int can_retry);
/* A connection just dialed, about to carry its first stream: a shared one
 * is listed at once, for other requests to share. */
void nh__pool_opened(nh__cconn *c);
/* A stream of c ended (its close_stream ran): an exclusive connection goes
 * back to the pool, or is closed if broken or it cannot be kept; a shared
 * one counts one stream less, and is closed when broken and unused. */
void nh__pool_release(nh__cconn *c);
/* Close and forget a connection that carries no stream and is not listed. */
void nh__cconn_discard(nh__cconn *c);

/* cconn.c (tr: the request's trace, or NULL) */
/* A TCP connection to host:port, with no protocol yet. */
int nh__cconn_dial(nh_transport *t, nh__host *h, const char *host, int port, nh_time deadline,
                   const nh_client_trace *tr, nh__cconn **out);
/* Over a dialed connection, the TLS handshake for host (https). */
int nh__cconn_tls(nh__cconn *c, nh_tls_ctx *ctx, const char *host, nh_time deadline,
                  const nh_client_trace *tr);
/* The protocol TLS negotiated (HTTP/1.1 without TLS or ALPN) takes the
 * connection: NH_ENOTSUP if it is one this client does not speak. */
int nh__cconn_attach(nh__cconn *c);
/* Reads and writes of the connection, through TLS when it has it. */
ssize_t nh__cconn_io_read(nh__cconn *c, void *buf, size_t n, nh_time deadline);
ssize_t nh__cconn_io_write(nh__cconn *c, const void *buf, size_t n, nh_time deadline);
ssize_t nh__cconn_io_try_read(nh__cconn *c, void *buf, size_t n);
/* One write attempt: the count (TLS: all or NH_EAGAIN, then the same bytes
 * again), NH_EAGAIN, or an error. */
ssize_t nh__cconn_try_write(nh__cconn *c, const void *buf, size_t n);
/* Ends a stream and hands its connection back to the pool. */
void nh__cstream_close(nh__cstream *s, int complete);

/* tunnel.c: over a connection to a proxy, a CONNECT tunnel to host:port
 * (2xx). */
int nh__cconn_connect_tunnel(nh__cconn *c, const char *host, int port, nh_time deadline);

/* trace.c: the hooks of nh_client_trace, each a no-op without a trace. */
void nh__trace_get_conn(const nh_client_trace *tr, const char *host_port);
/* "host:port", "[v6]:port" into buf (cap >= 300). */
void nh__trace_host_port(char *buf, const char *host, int port);
void nh__trace_dns_done(void *tr, int err); /* an nh_dial_options.resolved */
void nh__trace_connect_done(const nh_client_trace *tr, nh_fd *fd, const char *host, int port, int err);
void nh__trace_tls_done(const nh_client_trace *tr, const nh_tls_conn *tls, int err);
void nh__trace_got_conn(const nh_client_trace *tr, int reused);
void nh__trace_wrote_request(const nh_client_trace *tr, int err);
void nh__trace_first_byte(const nh_client_trace *tr);

/* ---- responses ---- */

struct nh_response {
  nh_transport *t;
  nh__cstream *stream; /* NULL once the body is done and the stream closed */
  nh_client_request *req;
  nh_client_request *owned_req;   /* a redirect hop's request, freed with it */
  nh_client_request *adopted_req; /* a convenience call's request, likewise */
  nh__chead head; /* head.header == &header_map */
  int body_done;
  int body_error;
  /* The URL answered: the string of the request that got the answer,
   * which outlives the response (the caller's, freed only after the
   * close, or a hop's or convenience call's, freed with it). */
  const char *url;
  nh_time total_deadline; /* the client's total timeout, body included */
  /* transparent decoding (gzip, br, zstd): coding 0 = none */
  int coding;
  nh__decoder *dec;
  int dec_end;
  char *zin;
  /* leak report */
  const char *file;
  int line;
  struct nh_response *prev_open, *next_open;
  /* Last, and not zeroed on creation (nh__header_init sets them up): the
   * head's map and its strings live in the response, so a usual head
   * costs no allocation of its own. */
  nh_header header_map;
  nh__arena header_arena;
  char header_first[1024];
};

/* response.c */
void nh__response_adopt_request(nh_response *r, nh_client_request *req);
/* nh_client_do for a request made on the caller's behalf: on success the
 * response owns req (freed with it), on failure req is freed here. */
int nh__client_do_owned(nh_client *c, nh_client_request *req, nh_response **out,
                        const char *file, int line);
/* A response to fill: its head is read into r->head, then
 * nh__response_start makes it live; a response never started is freed
 * with nh__response_drop. */
nh_response *nh__response_alloc(nh_transport *t, nh_client_request *req, const char *file,
                                int line);
void nh__response_drop(nh_response *r);
/* The head is in: the response takes stream s (the body is read from it;
 * a bodiless response closes it at once) and joins the open list. */
void nh__response_start(nh_response *r, nh__cstream *s, int codings_added);

/* transport.c: one request on one connection (retried once on a stale
 * pooled connection). */
int nh__transport_round_trip(nh_transport *t, nh_client_request *req, nh_time deadline,
                             nh_response **out, const char *file, int line);

/* transport.c: a connection of the caller's own, never pooled (a
 * WebSocket's), to req's target through t's dialer and proxy (a CONNECT
 * tunnel for plain and TLS targets alike), then TLS with t's
 * configuration offering alpn alone (NULL: t's offer), and HTTP/1.1 on it
 * whatever ALPN chose. Marked broken: the end of its stream discards it.
 * 0 or an error. Parks. */
int nh__transport_dial_own(nh_transport *t, nh_client_request *req, const char *alpn,
                           nh_time deadline, nh__cconn **out);
/* Forgets c (from nh__transport_dial_own, no stream in flight) without
 * closing its socket: *fd (plain) or *tls (which owns the descriptor) is
 * the caller's, the other NULL. */
void nh__cconn_take_socket(nh__cconn *c, nh_fd **fd, nh_tls_conn **tls);

/* Earliest of a deadline and the context's. */
nh_time nh__client_deadline(nh_ctx *ctx, nh_time d);

#endif
