/* nethttp/conn.h — what a server connection is doing and why it ended:
 * the states and close reasons every protocol's server connection reports
 * (HTTP/1 today), counted in nh_server_stats and named by
 * nh_conn_state_name / nh_close_reason_name (nethttp/server.h). */
#ifndef NETHTTP_CONN_H
#define NETHTTP_CONN_H

/* Connection states (Go's ConnState). */
typedef enum nh_conn_state {
  NH_CONN_NEW,      /* accepted, no request byte yet */
  NH_CONN_ACTIVE,   /* a request is being read or served */
  NH_CONN_IDLE,     /* keep-alive, waiting for the next request */
  NH_CONN_HIJACKED, /* handed to a handler; the server no longer owns it */
  NH_CONN_CLOSED,
} nh_conn_state;

/* Why the server let go of a connection. Each connection counts once, under
 * the first reason that applied (a read timeout answered with an error
 * counts as the timeout), in nh_server_stats.closes[]. */
typedef enum nh_close_reason {
  NH_CLOSE_DONE,           /* the exchange ended it: Connection: close, HTTP/1.0,
                              a close-delimited body, a body left unfinished */
  NH_CLOSE_CLIENT,         /* the client closed or reset it, or a write failed */
  NH_CLOSE_ERROR_REPLY,    /* the server answered a bad request itself (400,
                              413, 431, 501, 505...) and closed */
  NH_CLOSE_BODY_TOO_LARGE, /* a read passed nh_request_limit_body's cap */
  NH_CLOSE_DRAIN_OVERFLOW, /* an unread body was over max_body_drain */
  NH_CLOSE_SHED,           /* closed to make room (max_conns, descriptors) */
  NH_CLOSE_TIMEOUT_HEADER, /* read_header_timeout (or the TLS handshake's) */
  NH_CLOSE_TIMEOUT_READ,   /* read_timeout, reading the body */
  NH_CLOSE_TIMEOUT_WRITE,  /* write_timeout */
  NH_CLOSE_TIMEOUT_IDLE,   /* idle_timeout between requests */
  NH_CLOSE_HIJACKED,       /* handed over by nh_resp_hijack */
  NH_CLOSE_SHUTDOWN,       /* nh_server_shutdown / nh_server_close */
  NH_CLOSE_PANIC,          /* its handler panicked unrecovered */
  NH_CLOSE_TLS_HANDSHAKE,  /* the TLS handshake failed */
  NH_CLOSE_ERROR,          /* a local failure: out of memory, a poller error */
  NH_CLOSE__COUNT
} nh_close_reason;

#endif
