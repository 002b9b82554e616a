/* nethttp/conn.h — what a server connection is doing and why it ended:
 * the states and close reasons every protocol's server connection reports
 * (HTTP/1 and HTTP/2), counted in nh_server_stats and named by
 * nh_conn_state_name / nh_close_reason_name (nethttp/server.h); and how
 * a server connection speaks HTTP/2 (nh_http2_config, the http2 part of
 * nh_server_config). */
#ifndef NETHTTP_CONN_H
#define NETHTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/time.h"

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
  NH_CLOSE_PROXY,          /* its PROXY protocol header was missing, malformed
                              or oversized, or its source is not trusted */
  NH_CLOSE_PER_IP,         /* over max_conns_per_ip once its PROXY header named
                              the client (without PROXY such a connection is
                              closed at accept, never counted as accepted) */
  NH_CLOSE__COUNT
} nh_close_reason;

/* HTTP/2 (RFC 9113). Handlers are the same; nh_request_proto says
 * "HTTP/2.0". Zero in any number means its default, so a zeroed config
 * gets the defaults too. Each stream is one request on its own fiber,
 * under read_timeout and write_timeout as an HTTP/1 request is; the
 * connection's header list is bounded by max_header_bytes (advertised
 * as SETTINGS_MAX_HEADER_LIST_SIZE; beyond it: 431). See docs/http2.md. */
typedef struct nh_http2_config {
  int disable; /* 0 (default): serve HTTP/2 over TLS when the client's ALPN
                  picks "h2" (the server context offers "h2,http/1.1" by
                  default); 1: HTTP/1 only */
  int h2c;     /* 1: on plain listeners, a connection whose first bytes are
                  the HTTP/2 preface is served as HTTP/2 (h2c with prior
                  knowledge); others stay HTTP/1. 0 (default): HTTP/1 only.
                  "Upgrade: h2c" is never honoured (RFC 9113 3.1) */
  uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS: 250
                                      (Go). A stream counts until its
                                      handler returns, even after a reset */
  uint32_t max_queued_streams;     /* streams past that limit waiting for
                                      a handler slot: 32; beyond, GOAWAY
                                      ENHANCE_YOUR_CALM */
  uint32_t stream_window;          /* initial stream receive window: 1 MiB */
  uint32_t conn_window;            /* connection receive window: 1 MiB */
  uint32_t max_frame_size;         /* SETTINGS_MAX_FRAME_SIZE: 16 KiB */
  size_t stream_buffer;            /* response bytes held per stream before
                                      the handler's write parks: 64 KiB */
  nh_dur preface_timeout;          /* the client preface: 10 s */
  nh_dur settings_timeout;         /* the client's SETTINGS, and its ack of
                                      ours: 2 s */
  uint32_t max_empty_frames;       /* frames that carry nothing (empty DATA
                                      without END_STREAM, PRIORITY...) a
                                      connection may send: 100 */
} nh_http2_config;

#endif
