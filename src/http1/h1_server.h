/* The HTTP/1 server connection: one connection's requests read, served
 * and answered in turn, keep-alive and pipelining, and the HTTP/1 side of
 * each exchange (nh__h1_ops: heads, chunked or close-delimited bodies,
 * Connection, draining an unread body, 100 Continue).
 *
 * The server owns the connection (accept, lists, states, close reasons,
 * idle waits without a fiber, shutdown) and embeds an nh__h1_link in it;
 * it reaches this layer by calling nh__h1_serve on the connection's fiber,
 * and this layer reaches the server only through nh__h1_host. Files:
 * h1_server_conn.c (the loop, heads, refusals), h1_server_body.c (request
 * bodies), h1_server_write.c (responses). */
#ifndef NH_HTTP1_H1_SERVER_H
#define NH_HTTP1_H1_SERVER_H

#include <stdatomic.h>

#include "http1/h1_request.h"
#include "http1/h1_write.h"
#include "net/stream.h"
#include "nethttp/log.h"
#include "nethttp/conn.h"
#include "runtime/internal.h"
#include "util/bufpool.h"
#include "util/proto_ops.h"

/* What the HTTP/1 side shares with the connection's owner; lives as long
 * as the connection. */
typedef struct nh__h1_link {
  nh__stream io;
  int closing;         /* close after the current response */
  int close_why;       /* 1 + the first nh_close_reason that applied; 0: none */
  nh_time client_wait; /* since when a handler waits on this client's body
                          or its reading of the response; 0 if not */
  char remote[48];
} nh__h1_link;

/* Note why the connection will close: the first reason given counts. */
static inline void nh__h1_close_why(nh__h1_link *l, nh_close_reason r) {
  if (!l->close_why)
    l->close_why = (int)r + 1;
}

typedef struct nh__h1_sconn nh__h1_sconn;

/* Events the server counts. */
enum {
  NH__H1_EV_BAD,            /* a request refused (400, 408, 431...) */
  NH__H1_EV_TIMEOUT_HEADER, /* read-header timeout */
  NH__H1_EV_TIMEOUT_READ,   /* body read timeout */
  NH__H1_EV_TIMEOUT_WRITE,  /* write timeout */
  NH__H1_EV_DRAINED,        /* an unread body drained, the connection kept */
  NH__H1_EV_TOO_LARGE,      /* an unread body too large to drain: closed */
};

/* How an exchange or a connection's turn ended. */
enum { NH__H1_CLOSE, NH__H1_KEEP, NH__H1_HIJACKED, NH__H1_IDLE };

/* The server, as this layer sees it: limits and callbacks. One per server. */
typedef struct nh__h1_host {
  size_t max_header_bytes, max_body_drain;
  nh_dur read_header_timeout, read_timeout;
  nh_logger *log;
  const atomic_int *stopping; /* the server shuts down: keep no connection */
  void (*count)(const struct nh__h1_host *h, int event);
  /* A request's first bytes arrived: the connection is active. */
  void (*head_started)(nh__h1_link *l);
  /* Serve the request of head on hc (an exchange over nh__h1_ops, whose
   * state is &hc->base). Returns NH__H1_KEEP, NH__H1_CLOSE or
   * NH__H1_HIJACKED. Parks. */
  int (*serve)(nh__h1_sconn *hc, const nh__req_head *head);
  /* The handler took the connection's socket (fd), or its TLS stream over
   * it (tls, NULL if plain). l->io.fd is NULL from now on. */
  void (*hijacked)(nh__h1_link *l, int fd, nh_tls_conn *tls);
} nh__h1_host;

/* One turn of a connection on its fiber: from the first bytes of a request
 * to going idle or closing. Lives on the fiber's stack. */
struct nh__h1_sconn {
  nh__proto base; /* first: the exchange reaches it as its nh__proto */
  size_t len, pos, head_end; /* in buf, below */
  int short_read; /* the last read did not fill the buffer: socket drained */
  char *retired;  /* the first read buffer, kept while the request's strings
                     point into it after the body needed a bigger one */
  size_t retired_cap;
  char *head_copy; /* a request that asks for an upgrade: its head, copied
                      out of buf before any string of it was handed out, so
                      a hijack can give buf back (see neutral_head) */
  nh_time header_deadline;
  /* The current exchange. */
  int continue_sent;
  int body_error;
  int committed;   /* a final head went out */
  int head_only;   /* no body bytes follow that head */
  int chunked;     /* the body is framed in chunks */
  int close_after; /* no further request on this connection */
  /* Below: set by nh__h1_sconn_init, not zeroed. */
  const nh__h1_host *host;
  nh__h1_link *link;
  nh_loop *loop;
  nh__bufpool *pool; /* read buffers of pool->size bytes */
  nh__bufpool *fields_pool; /* where fields came from (NULL: given back) */
  void *owner;       /* the server's state for this turn */
  char *buf; /* read buffer: [0, head_end) the current head, then body and
                pipelined bytes up to len; pos = next unparsed byte */
  size_t cap;
  nh__h1_field *fields;
  nh__h1_req parser;
};

extern const nh__proto_ops nh__h1_ops;

/* Ready a turn: a read buffer from pool, the parser's field array from
 * fields_pool (arrays of fields_pool->size / sizeof(nh__h1_field)
 * entries: kept off the fiber's stack, whose pages under a hijacked
 * handler stay resident as long as it runs). The exchange sets base.arena
 * and base.req_fields before the first request. Returns NH_ENOMEM if
 * either could not be had. */
int nh__h1_sconn_init(nh__h1_sconn *hc, const nh__h1_host *host, nh__h1_link *link,
                      nh_loop *loop, nh__bufpool *pool, nh__bufpool *fields_pool);
/* Serve requests until the connection should go idle (NH__H1_IDLE: the
 * socket has nothing more to read), close (NH__H1_CLOSE) or was hijacked.
 * Parks. */
int nh__h1_serve(nh__h1_sconn *hc);
/* Give the turn's buffers back (also after a panic). */
void nh__h1_sconn_dispose(nh__h1_sconn *hc);
/* The exchange ended: a buffer its strings pointed into can go. */
void nh__h1_release_retired(nh__h1_sconn *hc);
/* After a hijack: the field array goes back to its pool (no head is
 * parsed any more), and so do the read buffers if the request's strings
 * do not point into them (its head was copied out). */
void nh__h1_release_read_buf(nh__h1_sconn *hc);

/* Half-close and read briefly before closing, so the last answer is not
 * lost to a reset (Go's closeWriteAndWait). Parks. */
void nh__h1_linger(nh__stream *io);

/* h1_server_body.c */
ssize_t nh__h1_read_body(nh__proto *p, void *buf, size_t cap);
/* Read and drop what is left of the body, up to limit bytes of input.
 * Returns 1 if the body was consumed to its end. */
int nh__h1_drain(nh__h1_sconn *hc, size_t limit);

/* h1_server_write.c */
/* The server's own answer to a request it refused (400, 408, 413, 431,
 * 501, 505, 503): a short text body and Connection: close, then a linger. */
void nh__h1_send_error(nh__h1_sconn *hc, int status, const char *reason);
/* Serialize head h as HTTP/1.1 into b (memory from arena, room bytes to
 * spare): status line, fields, framing and Connection as hc's connection
 * needs them (hc NULL: a keep-alive HTTP/1.1 exchange). Sets *chunked and
 * *close_after. Returns 0 or NH_ENOMEM. Shared with the recorder, which
 * shows what would go on the wire. */
int nh__h1_build_response_head(const nh__h1_sconn *hc, const nh__head *h, nh__arena *arena,
                               size_t room, nh__h1_buf *b, int *chunked, int *close_after);

#endif
