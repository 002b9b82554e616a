/* WebSocket internals: the seams between the frame codec, the connection,
 * the handshakes and permessage-deflate.
 *
 *   ws_frame.c    frame headers: parse, encode, mask (no I/O)
 *   ws_utf8.c     UTF-8 validation, incremental across fragments
 *   ws_conn.c     nh_ws: read/write messages, control frames, close
 *   ws_accept.c   the server's handshake (nh_ws_accept)
 *   ws_dial.c     the client's handshake (nh_ws_dial)
 *   ws_registry.c the server's open WebSockets, closed 1001 at shutdown
 *   ws_deflate.c  permessage-deflate: negotiation and the codec */
#ifndef NH_WEBSOCKET_INTERNAL_H
#define NH_WEBSOCKET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/netpoll.h"
#include "nethttp/tls.h"
#include "nethttp/websocket.h"
#include "util/dynbuf.h"

/* ---- ws_frame.c ---- */

enum {
  NH__WS_OP_CONT = 0x0,
  NH__WS_OP_TEXT = 0x1,
  NH__WS_OP_BINARY = 0x2,
  NH__WS_OP_CLOSE = 0x8,
  NH__WS_OP_PING = 0x9,
  NH__WS_OP_PONG = 0xA,
};

typedef struct nh__ws_frame {
  unsigned fin : 1, rsv1 : 1, rsv2 : 1, rsv3 : 1, masked : 1;
  unsigned opcode : 4;
  uint8_t mask[4];
  uint64_t len;    /* payload length */
  size_t hdr_len;  /* bytes of the header, mask key included */
} nh__ws_frame;

/* Parses a frame header from p[0..n): returns its length (> 0), 0 if more
 * bytes are needed, or NH_EBADREQUEST for a header no peer may send (a
 * length with its top bit set, a non-minimal length, a control frame
 * longer than 125 or fragmented, an unknown opcode). Reserved bits and the
 * mask are reported, not judged: the connection knows what it negotiated. */
int nh__ws_frame_parse(const uint8_t *p, size_t n, nh__ws_frame *f);

/* Writes a frame header into out (at most 14 bytes) and returns its
 * length; mask NULL = unmasked (server), else the client's key. */
size_t nh__ws_frame_header(uint8_t out[14], int fin, int rsv1, int opcode, uint64_t len,
                           const uint8_t *mask);

/* XORs p[0..n) with mask, starting at key byte offset % 4. */
void nh__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset);

/* ---- ws_utf8.c ---- */

/* Incremental UTF-8 check (RFC 3629: no overlongs, no surrogates, ≤
 * U+10FFFF). state starts at 0; returns the new state, NH__UTF8_BAD once
 * invalid. A message is valid when the state after its last byte is 0. */
#define NH__UTF8_BAD 1u
uint32_t nh__utf8_step(uint32_t state, const uint8_t *p, size_t n);
int nh__utf8_valid(const void *p, size_t n);

/* ---- ws_deflate.c ---- */

/* The parameters agreed for permessage-deflate (RFC 7692 §7.1). */
typedef struct nh__wsd_params {
  int server_no_context_takeover, client_no_context_takeover;
  int server_max_window_bits, client_max_window_bits; /* 8..15 */
} nh__wsd_params;

/* Server: reads the client's Sec-WebSocket-Extensions (all its field
 * values joined with ", "; NULL = none) and picks the first
 * permessage-deflate offer it can honour under opt. Returns 1 and fills
 * *out and resp (the response's extension value, NUL-terminated) when
 * agreed, 0 when not offered or not acceptable (the upgrade goes on
 * without), NH_EBADREQUEST for a malformed offer of permessage-deflate. */
int nh__wsd_negotiate(const char *offer, const nh_ws_options *opt, nh__wsd_params *out,
                      char *resp, size_t cap);

/* Client: the offer to send from opt, into buf. Returns its length. */
size_t nh__wsd_offer(const nh_ws_options *opt, char *buf, size_t cap);

/* Client: checks the server's answer (NULL = none). Returns 1 and fills
 * *out when deflate is on, 0 when off, NH_EBADRESPONSE when the answer is
 * not a valid reply to the offer (the client must fail the connection). */
int nh__wsd_accept(const char *answer, const nh_ws_options *opt, nh__wsd_params *out);

/* One connection's codec. Its zlib streams are made on first use (an idle
 * WebSocket holds none) and, without context takeover, freed after each
 * message. */
typedef struct nh__wsd nh__wsd;
nh__wsd *nh__wsd_new(const nh__wsd_params *p, int client, int level);
void nh__wsd_free(nh__wsd *d);

/* Compresses one whole message into out (appended; the trailing 00 00 ff
 * ff removed, as §7.2.1 says). Returns 0 or NH_ENOMEM. */
int nh__wsd_deflate(nh__wsd *d, const void *in, size_t n, nh__dynbuf *out);

/* Inflates one whole message's payload (its frames joined) into out
 * (appended). Returns 0, NH_EBODYTOOLARGE as soon as out would pass max
 * (a decompression bomb is stopped there, not after), NH_EBADREQUEST for
 * corrupt data, NH_ENOMEM. */
int nh__wsd_inflate(nh__wsd *d, const void *in, size_t n, nh__dynbuf *out, size_t max);

/* ---- ws_conn.c ---- */

/* Makes a WebSocket over an open connection (the handshake done): fd, or
 * tls over it; buffered/nbuffered are bytes already read past the
 * handshake (copied). pmd NULL = no permessage-deflate. client: outgoing
 * frames are masked and incoming ones must not be (and the reverse for a
 * server). subprotocol NULL = none (copied). opt NULL = defaults (copied,
 * zero fields filled in). Returns NULL on NH_ENOMEM (fd/tls are then
 * closed). */
nh_ws *nh__ws_new(nh_fd *fd, nh_tls_conn *tls, const char *buffered, size_t nbuffered,
                  int client, const nh_ws_options *opt, const nh__wsd_params *pmd,
                  const char *subprotocol);

/* Sends a close frame (code, reason) unless one was sent already, under
 * the write lock: the server's shutdown sends 1001 this way from a fiber
 * of ws's loop while the handler may be parked reading. Returns 0, or the
 * write's error. */
int nh__ws_send_close(nh_ws *ws, int code, const char *reason, nh_time deadline);

/* fn(ws, arg) runs once in nh_ws_free, before the connection is closed
 * (the server's registry forgets ws there). One hook per ws. */
void nh__ws_set_free_hook(nh_ws *ws, void (*fn)(nh_ws *ws, void *arg), void *arg);

/* opt with its zero fields replaced by the defaults. */
void nh__ws_options_fill(nh_ws_options *o, const nh_ws_options *in);

/* The Sec-WebSocket-Accept value for key: base64(SHA-1(key + GUID)), into
 * out (29 bytes with the NUL). */
void nh__ws_accept_key(const char *key, char out[29]);

#endif
