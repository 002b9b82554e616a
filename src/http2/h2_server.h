/* The HTTP/2 server connection (RFC 9113) on nghttp2: one connection's
 * streams, each served as an exchange on its own fiber, behind the same
 * protocol seam as HTTP/1 (util/proto_ops.h).
 *
 * The server owns the connection (accept, TLS, lists, states, close
 * reasons, contexts, shutdown); it hands a connection whose client spoke
 * the HTTP/2 preface (h2c) or chose "h2" by ALPN to nh__h2_serve on the
 * connection's fiber, and this layer reaches the server only through
 * nh__h2_host. Only the connection's fiber touches the nghttp2 session;
 * stream fibers leave their work on the stream and kick the connection.
 * Files: h2_server_session.c (the connection's loop, its I/O, deadlines
 * and shutdown), h2_server_recv.c (nghttp2's callbacks: streams opened,
 * headers, DATA, closes), h2_server_stream.c (a stream's side of the
 * exchange), h2_server_limits.c (options, budgets and floods). */
#ifndef NH_HTTP2_H2_SERVER_H
#define NH_HTTP2_H2_SERVER_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "net/stream.h"
#include "nethttp/conn.h"
#include "nethttp/ctx.h"
#include "nethttp/log.h"
#include "util/proto_ops.h"

typedef struct nh__h2_conn nh__h2_conn;
typedef struct nh__h2_stream nh__h2_stream;

/* Events the server counts (nh_server_stats). */
enum {
  NH__H2_EV_CONN,             /* a connection began speaking HTTP/2 */
  NH__H2_EV_STREAM,           /* a request stream was opened */
  NH__H2_EV_RESET,            /* a stream ended by RST_STREAM, either side */
  NH__H2_EV_RAPID_RESET,      /* streams beyond handlers and queue: GOAWAY */
  NH__H2_EV_HEADER_FLOOD,     /* a header block over twice the budget */
  NH__H2_EV_CONTROL_FLOOD,    /* nghttp2 refused a flood of control frames */
  NH__H2_EV_EMPTY_FLOOD,      /* too many frames carrying nothing */
  NH__H2_EV_HEADERS_TOO_LARGE, /* a header list answered 431 */
  NH__H2_EV_TIMEOUT_IDLE,     /* no stream for idle_timeout: GOAWAY */
  NH__H2_EV_TIMEOUT_PREFACE,  /* no preface or SETTINGS in time */
  NH__H2_EV_TIMEOUT_WRITE,    /* our frames did not move for write_timeout, or
                                 a stream's write passed its deadline */
  NH__H2_EV_TIMEOUT_READ,     /* a stream's body read passed its deadline */
  NH__H2_EV_BAD,              /* a request refused by the server itself */
};

/* The server, as this layer sees it: limits and callbacks. One per server,
 * read by every loop. */
typedef struct nh__h2_host {
  nh_http2_config cfg; /* every number filled in (no zeroes) */
  size_t max_header_bytes;
  int max_header_count; /* fields per request; beyond: 431, as HTTP/1 */
  nh_dur read_timeout, write_timeout, idle_timeout;
  nh_logger *log;
  const atomic_int *stopping; /* the server shuts down: GOAWAY, then close */
  void (*count)(const struct nh__h2_host *h, int event);
  /* Run stream s's exchange on the calling fiber (the stream's): fill the
   * request head with nh__h2_stream_head, call the handler, end it. If the
   * handler panics, the server's panic hook calls nh__h2_stream_panicked.
   * Parks. */
  void (*serve)(const struct nh__h2_host *h, nh__h2_stream *s);
  /* The connection's first handler started (active 1) or its last one
   * returned (active 0): Go's StateActive / StateIdle. */
  void (*activity)(void *owner, int active);
  /* Why the connection ends; the first reason given counts. */
  void (*close_why)(void *owner, nh_close_reason r);
} nh__h2_host;

/* A request stream, as the server sees it. The rest is this layer's. */
struct nh__h2_stream {
  nh__proto base;     /* first: the exchange reaches it as its nh__proto */
  void *owner;        /* the connection's owner (the server's record) */
  const char *remote; /* the client's address */
  nh_ctx *ctx;        /* the stream's context: cancelled when the stream is
                         reset or the connection ends; the exchange's parent */
  int32_t id;
};

/* Serve the connection on io as HTTP/2 until it ends: the client left, an
 * error, a GOAWAY, idle_timeout, or the server's shutdown (GOAWAY with
 * 2^31-1, a PING, the final GOAWAY, in-flight streams finished). ctx is
 * the parent of every stream's context; cancelling it ends the connection.
 * *cur points at the connection while it runs (for nh__h2_conn_kick), NULL
 * after. Returns 0, or an error if the connection could not be set up.
 * Every stream fiber has returned when it does. Parks. */
int nh__h2_serve(const nh__h2_host *h, nh__stream *io, const char *remote, void *owner,
                 nh_ctx *ctx, nh__h2_conn **cur);
/* Make the connection's fiber look at the server's state again (shutdown
 * began). Loop thread of the connection only. */
void nh__h2_conn_kick(nh__h2_conn *c);

/* The stream's request head, for nh__exchange_begin: its fields go into
 * s->base.req_fields (set by the exchange), with :authority as Host and
 * cookie fields joined by "; ". Returns 0 or NH_ENOMEM. */
int nh__h2_stream_head(nh__h2_stream *s, nh__req_head *out);
/* Answer the request with status and a short text body, the server's own
 * refusal (a malformed target, no memory). */
void nh__h2_stream_refuse(nh__h2_stream *s, int status, const char *text);
/* The handler panicked: the stream is reset (INTERNAL_ERROR) and nothing
 * more is sent on it; the connection goes on. Call on the dying fiber,
 * before the exchange's own panic cleanup. */
void nh__h2_stream_panicked(nh__h2_stream *s);
/* The stream fiber's end after a panic (the normal end is this layer's):
 * frees the handler slot. Call last in the panic hook. */
void nh__h2_stream_fiber_done(nh__h2_stream *s);

/* The client connection preface (RFC 9113 3.4). */
#define NH__H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define NH__H2_PREFACE_LEN 24

/* 1 if b (n bytes) starts with the whole preface, -1 if it is a proper
 * prefix of it (more bytes needed to tell), 0 if it is not HTTP/2. */
static inline int nh__h2_is_preface(const char *b, size_t n) {
  size_t k = n < NH__H2_PREFACE_LEN ? n : NH__H2_PREFACE_LEN;
  if (memcmp(b, NH__H2_PREFACE, k) != 0)
    return 0;
  return n >= NH__H2_PREFACE_LEN ? 1 : -1;
}

#endif
