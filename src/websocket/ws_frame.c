/* WebSocket frame headers (RFC 6455 §5.2): parsing, encoding, masking.
 *
 * Pure functions on bytes, no I/O: the reader (ws_reader.c) feeds them what
 * came off the socket, the writer (ws_conn.c) puts their output in front of
 * a message's payload. What a header means for a connection (RSV1 without
 * deflate, a mask the wrong way round) is judged there, not here. */
#include "websocket/ws_internal.h"

#include "nethttp/errors.h"

#include <string.h>

static int known_opcode(unsigned op) {
  return op <= NH__WS_OP_BINARY || (op >= NH__WS_OP_CLOSE && op <= NH__WS_OP_PONG);
}

int nh__ws_frame_parse(const uint8_t *p, size_t n, nh__ws_frame *f) {
  if (n < 2)
    return 0;
  unsigned b0 = p[0], b1 = p[1];
  f->fin = b0 >> 7;
  f->rsv1 = (b0 >> 6) & 1;
  f->rsv2 = (b0 >> 5) & 1;
  f->rsv3 = (b0 >> 4) & 1;
  f->opcode = b0 & 0xF;
  f->masked = b1 >> 7;
  if (!known_opcode(f->opcode))
    return NH_EBADREQUEST; /* §5.2: 3-7 and B-F are reserved */
  size_t h = 2;
  uint64_t len = b1 & 0x7F;
  if (len == 126) {
    if (n < 4)
      return 0;
    len = (uint64_t)p[2] << 8 | p[3];
    if (len < 126)
      return NH_EBADREQUEST; /* §5.2: the minimal number of bytes */
    h = 4;
  } else if (len == 127) {
    if (n < 10)
      return 0;
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | p[2 + i];
    if (len >> 63)
      return NH_EBADREQUEST; /* the most significant bit MUST be 0 */
    if (len <= 0xFFFF)
      return NH_EBADREQUEST;
    h = 10;
  }
  if (f->opcode & 0x8) { /* §5.5: control frames */
    if (len > 125 || !f->fin)
      return NH_EBADREQUEST;
  }
  if (f->masked) {
    if (n < h + 4)
      return 0;
    memcpy(f->mask, p + h, 4);
    h += 4;
  } else {
    memset(f->mask, 0, 4);
  }
  f->len = len;
  f->hdr_len = h;
  return (int)h;
}

size_t nh__ws_frame_header(uint8_t out[14], int fin, int rsv1, int opcode, uint64_t len,
                           const uint8_t *mask) {
  size_t h = 2;
  out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0xF));
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    out[1] = (uint8_t)(m | len);
  } else if (len <= 0xFFFF) {
    out[1] = m | 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    h = 4;
  } else {
    out[1] = m | 127;
    for (int i = 0; i < 8; i++)
      out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    h = 10;
  }
  if (mask) {
    memcpy(out + h, mask, 4);
    h += 4;
  }
  return h;
}

/* Byte by byte until p is 8-aligned, then 8 bytes at a time with the key
 * rotated to the current offset and doubled into a word (the compiler
 * turns the word loop into vector code), then the tail. */
void nh__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset) {
  size_t k = offset & 3;
  while (n && ((uintptr_t)p & 7)) {
    *p++ ^= mask[k];
    k = (k + 1) & 3;
    n--;
  }
  if (n >= 8) {
    uint8_t kb[8];
    for (int i = 0; i < 8; i++)
      kb[i] = mask[(k + i) & 3];
    uint64_t key;
    memcpy(&key, kb, 8);
    uint64_t *w = (uint64_t *)(void *)p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++)
      w[i] ^= key;
    p += words * 8;
    n -= words * 8; /* a multiple of 8 leaves k where it was */
  }
  while (n--) {
    *p++ ^= mask[k];
    k = (k + 1) & 3;
  }
}
