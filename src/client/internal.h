/* The client's internals: requests, pooled connections, responses.
 *
 * While a request uses a connection, its nh_fd belongs to the caller's
 * loop (or to the calling plain thread). In the pool it is a bare
 * descriptor, registered with no loop: any caller of any loop can take it,
 * and anyone can close it. */
#ifndef NH_CLIENT_INTERNAL_H
#define NH_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <zlib.h>

#include "http1/h1_request.h"
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
#include "util/header_internal.h"

#define NH__CLIENT_VERSION "0.1.0"
#define NH__CLIENT_BUF 16384
#define NH__CLIENT_MAX_FIELDS 256
#define NH__DRAIN_MAX (256 * 1024)
#define NH__DRAIN_TIME NH_SEC

/* ---- requests ---- */

typedef enum { BODY_NONE, BODY_BYTES, BODY_FILE, BODY_READER } nh__body_kind;

struct nh_client_request {
  char *method;
  nh_url *url;
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
  int wire_gzip;    /* the transport asks for gzip on the caller's behalf */
  int borrowed_body; /* a redirect hop using its first request's body */
  const nh_client_trace *trace; /* borrowed, or NULL (trace.c) */
  /* Last, and not zeroed on creation (nh__header_init sets them up): the
   * header map and its strings live in the request, with no allocation
   * of their own for a usual set of headers. */
  nh_header header_map;
  nh__arena header_arena;
  char header_first[512];
};

/* The request as one hop of a redirect chain sees it. */
int nh__creq_replayable(const nh_client_request *req);
int nh__creq_rewind(nh_client_request *req);
ssize_t nh__creq_body_read(nh_client_request *req, void *buf, size_t cap, off_t *file_off);

/* A TLS context shared by a transport and its clones. */
typedef struct nh__tls_shared {
  nh_tls_ctx *ctx;
  _Atomic int refs;
} nh__tls_shared;

/* ---- pooled connections ---- */

typedef struct nh__host nh__host;
typedef struct nh__cconn nh__cconn;

struct nh__cconn {
  nh_transport *t;
  nh__host *host;
  nh_fd *fd;    /* parked while in the pool (see pool.c) */
  int proxied;  /* talks to a proxy: requests in absolute form */
  nh_tls_conn *tls; /* https: the TLS stream over fd, or NULL */
  char *proxy_auth; /* Proxy-Authorization value, or NULL */
  char *buf;
  size_t cap, len, pos;
  nh__h1_req parser;
  nh__h1_field fields[NH__CLIENT_MAX_FIELDS];
  nh__arena arena; /* the response head's strings */
  int cut_short;     /* a request body was not all sent: reset on close */
  int head_open;     /* a response head is being parsed (begun at head_start) */
  size_t head_start;
  nh_time idle_since;
  int requests; /* served so far: a reused connection may be stale */
  const nh_client_trace *trace; /* the current request's, set for each exchange */
  nh__cconn *prev, *next; /* in the transport's idle list */
};

struct nh__host {
  char *key; /* "scheme|host|port|proxy|tls" */
  int idle, open;
  nh_sem *limit; /* max_conns_per_host, or NULL */
  nh__host *next;
};

struct nh_transport {
  nh_transport_config cfg;
  char *tls_key, *proxy;   /* proxy: fixed, "" direct, NULL from env */
  nh_proxy_config env_proxy; /* the environment when the transport was made */
  struct nh__tls_shared *tls; /* made with the transport (a given config) or
                                on first https use (system roots); clones share it */
  pthread_mutex_t tls_mu;
  pthread_mutex_t mu;
  nh__cconn *idle_head, *idle_tail; /* oldest first */
  int idle;
  nh__host *hosts;
  struct nh_response *open_responses; /* for the leak report */
  _Atomic int64_t st_dials, st_reused, st_requests, st_retries, st_open, st_closed_idle,
      st_closed_full, st_closed_unread, st_unclosed;
};

/* pool.c */
nh__host *nh__host_get(nh_transport *t, const char *key);
/* An idle connection for host, newest first, or NULL. Expired and dead
 * ones met on the way are closed; can_retry: the request can be sent again
 * if the connection turns out closed (a fresh one is then not checked). */
nh__cconn *nh__pool_take(nh_transport *t, nh__host *h, int can_retry);
/* Back to the pool after a complete response, or closed if it cannot be
 * kept (pool full, keep-alive off). */
void nh__pool_put(nh__cconn *c);
/* Close and forget a connection that is not in the pool. */
void nh__conn_discard(nh__cconn *c);

/* conn.c (tr: the request's trace, or NULL) */
int nh__conn_dial(nh_transport *t, nh__host *h, const char *host, int port, nh_time deadline,
                  const nh_client_trace *tr, nh__cconn **out);
/* Over a connection to a proxy: a CONNECT tunnel to host:port (2xx). */
int nh__conn_connect_tunnel(nh__cconn *c, const char *host, int port, nh_time deadline);
/* Over a dialed connection, the TLS handshake for host (https). */
int nh__conn_tls(nh__cconn *c, nh_tls_ctx *ctx, const char *host, nh_time deadline,
                 const nh_client_trace *tr);
/* Reads and writes of the connection, through TLS when it has it. */
ssize_t nh__conn_io_read(nh__cconn *c, void *buf, size_t n, nh_time deadline);
ssize_t nh__conn_io_write(nh__cconn *c, const void *buf, size_t n, nh_time deadline);
/* Sends the request head; *sent_any tells whether a byte of it reached the
 * socket (a failure before that may be retried). */
int nh__conn_send_head(nh__cconn *c, nh_client_request *req, nh_time deadline, int *sent_any);
/* Reads a response head, skipping 1xx (but returning a 100 if asked); a
 * head begun earlier is carried on. *got_any is set once a byte of a
 * response came (the caller clears it first). */
int nh__conn_read_head(nh__cconn *c, int head_request, int stop_at_100, nh_time deadline,
                       int *got_any);
/* Without waiting: reads what has arrived and parses it as the response
 * head (1xx skipped). 1: a final head is complete; 0: not yet (all input
 * so far consumed); or an error (NH_ECONNRESET if the server closed). */
int nh__conn_poll_head(nh__cconn *c, int head_request, int *got_any);
/* One write attempt: the count (TLS: all or NH_EAGAIN, then the same bytes
 * again), NH_EAGAIN, or an error. */
ssize_t nh__conn_try_write(nh__cconn *c, const void *buf, size_t n);

/* send.c: the request body. With watch, the answer is looked for while
 * the socket is full: NH__EARLY_ANSWER when a final answer came first (its
 * head is parsed; the rest of the body was not sent). Else NH_OK once it
 * is all sent, or an error (of the body's source, or of the connection). */
#define NH__EARLY_ANSWER 1
int nh__conn_send_body(nh__cconn *c, nh_client_request *req, int watch, int head_request,
                       nh_time deadline, int *got_any);
/* One read of body bytes: count, 0 at the end, or an error. */
ssize_t nh__conn_read_body(nh__cconn *c, void *out, size_t cap, nh_time deadline);

/* trace.c: the hooks of nh_client_trace, each a no-op without a trace. */
void nh__trace_get_conn(const nh_client_trace *tr, const char *host, int port);
void nh__trace_dns_done(void *tr, int err); /* an nh_dial_options.resolved */
void nh__trace_connect_done(const nh_client_trace *tr, nh_fd *fd, const char *host, int port, int err);
void nh__trace_tls_done(const nh_client_trace *tr, const nh_tls_conn *tls, int err);
void nh__trace_got_conn(const nh_client_trace *tr, int reused);
void nh__trace_wrote_request(const nh_client_trace *tr, int err);
void nh__trace_first_byte(const nh_client_trace *tr);

/* ---- responses ---- */

struct nh_response {
  nh_transport *t;
  nh__cconn *conn; /* NULL once the body is done and the connection given back */
  nh_client_request *req;
  nh_client_request *owned_req;   /* a redirect hop's request, freed with it */
  nh_client_request *adopted_req; /* a convenience call's request, likewise */
  int status;
  char proto[12];
  nh_header *header; /* &header_map */
  nh_header *trailer;
  int64_t content_length;
  int body_done;
  int body_error;
  int keep_alive;
  char *url;
  nh_time total_deadline; /* the client's total timeout, body included */
  /* transparent gzip */
  int gzip;
  z_stream z;
  int z_init, z_end;
  char *zin;
  size_t zin_len, zin_pos;
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
nh_response *nh__response_new(nh_transport *t, nh__cconn *c, nh_client_request *req,
                              int gzip_added, const char *file, int line);

/* transport.c: one request on one connection (retried once on a stale
 * pooled connection). */
int nh__transport_round_trip(nh_transport *t, nh_client_request *req, nh_time deadline,
                             nh_response **out, const char *file, int line);

/* Earliest of a deadline and the context's. */
nh_time nh__client_deadline(nh_ctx *ctx, nh_time d);

#endif
