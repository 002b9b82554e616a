/* nethttp/websocket.h — WebSocket (RFC 6455) server and client, with
 * permessage-deflate (RFC 7692).
 *
 * A WebSocket is a blocking-style connection on the calling fiber: read a
 * message, write a message, each with a deadline. Reads belong to one fiber
 * at a time; writes are serialized inside (several fibers of the
 * connection's loop may write at once). Pings are answered while reading;
 * the close handshake is done by nh_ws_close.
 *
 * On the server a WebSocket is a hijacked connection that the server still
 * knows: a graceful shutdown sends each one a close frame 1001 "going away",
 * waits for it until the shutdown's deadline, then shuts it down. Open
 * WebSockets are counted (nh_server_stats.websockets_open). */
#ifndef NETHTTP_WEBSOCKET_H
#define NETHTTP_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/export.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_ws nh_ws;
typedef struct nh_request nh_request;
typedef struct nh_response_writer nh_response_writer;
typedef struct nh_transport nh_transport;
typedef struct nh_header nh_header;
typedef struct nh_response nh_response;

/* Message types (the frame opcodes). */
typedef enum nh_ws_type { NH_WS_TEXT = 1, NH_WS_BINARY = 2 } nh_ws_type;

/* Close codes (RFC 6455 §7.4.1). */
enum {
  NH_WS_CLOSE_NORMAL = 1000,
  NH_WS_CLOSE_GOING_AWAY = 1001,
  NH_WS_CLOSE_PROTOCOL_ERROR = 1002,
  NH_WS_CLOSE_UNSUPPORTED = 1003,
  NH_WS_CLOSE_NO_STATUS = 1005,   /* received without a code; never sent */
  NH_WS_CLOSE_ABNORMAL = 1006,    /* the connection ended without a close; never sent */
  NH_WS_CLOSE_INVALID_DATA = 1007, /* text that is not UTF-8 */
  NH_WS_CLOSE_POLICY = 1008,
  NH_WS_CLOSE_TOO_BIG = 1009,
  NH_WS_CLOSE_EXTENSION = 1010,
  NH_WS_CLOSE_INTERNAL = 1011,
};

/* Options, for the server (nh_ws_accept) and the client (nh_ws_dial).
 * Zero fields take the defaults of NH_WS_OPTIONS_DEFAULT. */
typedef struct nh_ws_options {
  /* Subprotocols in order of preference. The server picks the first of
   * these the client offers (none offered or none in common: no
   * subprotocol, the upgrade still succeeds, as Go's and gorilla's); the
   * client offers them all. NULL-terminated; NULL = none. */
  const char *const *subprotocols;
  /* Server: is this request's Origin allowed? Return 1 to accept. NULL =
   * same origin: no Origin header, or its host equals the request's Host
   * (case-insensitive), as gorilla's default. Refused: 403. */
  int (*check_origin)(const nh_request *r, void *arg);
  void *check_origin_arg;
  /* Largest message, after inflating (default 1 MiB): a bigger one closes
   * the connection with 1009. */
  size_t max_message;
  /* Largest single frame's payload (default: max_message). */
  size_t max_frame;
  /* A read with no frame at all for this long fails with NH_ETIMEDOUT and
   * closes the connection (default 60 s; NH_NO_TIMEOUT = none). Pings
   * count as frames. */
  nh_dur read_idle_timeout;
  /* Each write must complete within this (default 10 s). */
  nh_dur write_timeout;
  /* How long nh_ws_close waits for the peer's close frame (default 5 s). */
  nh_dur close_timeout;
  /* permessage-deflate: 1 = offer (client) / accept (server) it. Default 0. */
  int compression;
  int compression_level;   /* zlib level 1..9 (default 1, as gorilla's) */
  int compress_threshold;  /* messages shorter than this go uncompressed (default 128) */
  /* Ask for no context takeover (saves 2 x ~(1 << window_bits) per
   * connection at the cost of ratio), and the window bits (8..15, default
   * 15). A server honours what the client asks for. */
  int server_no_context_takeover, client_no_context_takeover;
  int server_max_window_bits, client_max_window_bits;
  /* Client: extra request header fields (Authorization, Cookie...); NULL =
   * none. Not owned. */
  const nh_header *header;
} nh_ws_options;

#define NH_WS_OPTIONS_DEFAULT                                                                  \
  ((nh_ws_options){.max_message = 1 << 20, .read_idle_timeout = 60 * NH_SEC,                   \
                   .write_timeout = 10 * NH_SEC, .close_timeout = 5 * NH_SEC,                   \
                   .compression_level = 1, .compress_threshold = 128,                           \
                   .server_max_window_bits = 15, .client_max_window_bits = 15})

/* nh_ws_is_upgrade: 1 if r asks for a WebSocket (GET, Connection: upgrade,
 * Upgrade: websocket), else 0. */
NH_API int nh_ws_is_upgrade(const nh_request *r);

/* nh_ws_accept upgrades the request to a WebSocket: it checks the
 * handshake (GET, HTTP/1.1, Upgrade/Connection, Sec-WebSocket-Key of 16
 * bytes, Version 13), the origin, picks the subprotocol and extensions,
 * sends 101 with any header fields the handler had set, and hijacks the
 * connection (plain or TLS). On a bad handshake it answers (400, 403, 426
 * with Sec-WebSocket-Version: 13, 405 for another method; 501 over
 * HTTP/2, which has no Upgrade) and returns NH_EBADREQUEST or NH_ENOTSUP;
 * the handler just returns. opt NULL = defaults. Parks; handler's fiber. */
NH_API int nh_ws_accept(nh_response_writer *w, nh_request *r, const nh_ws_options *opt,
                        nh_ws **out);

/* nh_ws_dial opens a client WebSocket to a ws:// or wss:// URL through the
 * transport's dialer, TLS configuration (ALPN http/1.1 only) and proxy
 * (an HTTP CONNECT tunnel, for ws:// too); t NULL = a default transport.
 * On a refused handshake it returns NH_EBADRESPONSE and, if resp is not
 * NULL, the response (status, header, body) for the caller to free with
 * nh_response_close; on success *resp (if asked) holds the 101's header.
 * Parks on a fiber, blocks a plain thread. deadline bounds the handshake. */
NH_API int nh_ws_dial(nh_transport *t, const char *url, const nh_ws_options *opt,
                      nh_time deadline, nh_ws **out, nh_response **resp);

/* nh_ws_read reads the next message (fragments joined, inflated, text
 * checked as UTF-8): *type, and *data / *len, owned by ws and valid until
 * the next read or nh_ws_free (a NUL follows the last byte). Control frames
 * are handled while it waits: pings answered with pongs, pongs passed to
 * the pong callback. deadline NH_NO_DEADLINE = read_idle_timeout only.
 * Returns 0, or:
 *   NH_ECLOSED    the peer sent a close frame (nh_ws_close_status says
 *                 which); a close reply was sent already;
 *   NH_ETIMEDOUT  the deadline or the idle timeout passed (the connection
 *                 is failed: closed 1001 on idle, unusable after);
 *   NH_EBADREQUEST the peer broke the protocol: the connection was closed
 *                 with 1002, 1007 (bad UTF-8) or 1009 (too big);
 *   NH_EEOF / NH_ECONNRESET... the connection ended without a close. */
NH_API int nh_ws_read(nh_ws *ws, nh_ws_type *type, const char **data, size_t *len,
                      nh_time deadline);

/* nh_ws_write sends one message (compressed when negotiated and above the
 * threshold). Text must be UTF-8 (NH_EINVAL otherwise, nothing sent).
 * Safe from several fibers of ws's loop; deadline NH_NO_DEADLINE =
 * write_timeout. Returns 0, NH_ECLOSED after a close was sent, or the
 * write's error. */
NH_API int nh_ws_write(nh_ws *ws, nh_ws_type type, const void *data, size_t len,
                       nh_time deadline);

/* Fragmented writing: nh_ws_write_frame sends one frame of a message
 * (first: the type; fin: the last). Compression does not apply. */
NH_API int nh_ws_write_frame(nh_ws *ws, nh_ws_type type, int first, int fin, const void *data,
                             size_t len, nh_time deadline);

/* nh_ws_ping sends a ping (payload ≤ 125 bytes). The pong comes to
 * on_pong during a read. */
NH_API int nh_ws_ping(nh_ws *ws, const void *data, size_t len, nh_time deadline);
NH_API void nh_ws_on_pong(nh_ws *ws, void (*fn)(nh_ws *ws, const void *data, size_t len,
                                                void *arg),
                          void *arg);

/* nh_ws_close does the close handshake: sends a close frame with code and
 * reason (≤ 123 bytes) unless one was sent already, waits up to
 * close_timeout for the peer's (discarding messages), then closes the
 * connection. Returns 0 once the peer answered, NH_ETIMEDOUT if it did not
 * (closed anyway). ws stays valid for nh_ws_close_status until nh_ws_free. */
NH_API int nh_ws_close(nh_ws *ws, int code, const char *reason);

/* The peer's close code (NH_WS_CLOSE_NO_STATUS if it sent none,
 * NH_WS_CLOSE_ABNORMAL if it sent no close at all) and reason. */
NH_API int nh_ws_close_status(const nh_ws *ws, const char **reason);

/* nh_ws_free closes the connection if still open (without a handshake) and
 * frees ws. NULL does nothing. */
NH_API void nh_ws_free(nh_ws *ws);

/* What was negotiated: the subprotocol ("" if none), whether
 * permessage-deflate is on. */
NH_API const char *nh_ws_subprotocol(const nh_ws *ws);
NH_API int nh_ws_compressed(const nh_ws *ws);

#ifdef __cplusplus
}
#endif
#endif
