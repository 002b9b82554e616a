/* A raw WebSocket peer for the handshake tests: the upgrade request and
 * frames written and read byte by byte over a blocking socket
 * (server/rawclient.h), independent of the library's own codec. */
#ifndef NH_TESTS_WEBSOCKET_HAND_RAW_H
#define NH_TESTS_WEBSOCKET_HAND_RAW_H

#include "server/rawclient.h"

#include <stdint.h>

/* Reads a response head (up to the blank line) into head (cap bytes),
 * leaving what follows in c. Returns its status, or -1. */
static inline int hr_read_head(raw_conn *c, char *head, size_t cap) {
  if (raw_read_head(c, head, cap) < 0)
    return -1;
  int status = -1;
  sscanf(head, "HTTP/1.%*d %d", &status);
  return status;
}

/* One frame, FIN set; masked with a fixed key when mask (a client's). */
static inline int hr_send_frame(int fd, int opcode, const void *data, size_t n, int mask) {
  uint8_t h[14 + 125];
  size_t hl = 0;
  h[hl++] = (uint8_t)(0x80 | opcode);
  uint8_t m = mask ? 0x80 : 0;
  if (n < 126) {
    h[hl++] = (uint8_t)(m | n);
  } else if (n < 65536) {
    h[hl++] = (uint8_t)(m | 126);
    h[hl++] = (uint8_t)(n >> 8);
    h[hl++] = (uint8_t)n;
  } else {
    h[hl++] = (uint8_t)(m | 127);
    for (int i = 7; i >= 0; i--)
      h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
  }
  static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  if (mask) {
    memcpy(h + hl, key, 4);
    hl += 4;
  }
  uint8_t *body = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++)
    body[i] = ((const uint8_t *)data)[i] ^ (mask ? key[i % 4] : 0);
  int e = raw_send(fd, (const char *)h, hl) || raw_send(fd, (const char *)body, n) ? -1 : 0;
  free(body);
  return e;
}

/* Reads one frame: returns its opcode (with 0x80 if FIN), -1 at the end of
 * the stream. Its payload (unmasked) into out (cap bytes, NUL-terminated),
 * its length into *n; *masked whether it came masked. */
static inline int hr_read_frame(raw_conn *c, char *out, size_t cap, size_t *n, int *masked) {
  for (;;) {
    if (c->len >= 2) {
      const uint8_t *p = (const uint8_t *)c->buf;
      size_t hl = 2;
      uint64_t len = p[1] & 0x7f;
      int m = (p[1] & 0x80) != 0;
      if (len == 126)
        hl += 2;
      else if (len == 127)
        hl += 8;
      if (m)
        hl += 4;
      if (c->len >= hl) {
        if (len == 126)
          len = (uint64_t)p[2] << 8 | p[3];
        else if (len == 127)
          for (int i = 0; i < 8; i++)
            len = (i ? len << 8 : 0) | p[2 + i];
        if (c->len >= hl + len) {
          const uint8_t *key = p + hl - 4;
          size_t k = len < cap ? (size_t)len : cap - 1;
          for (size_t i = 0; i < k; i++)
            out[i] = (char)(p[hl + i] ^ (m ? key[i % 4] : 0));
          out[k] = 0;
          *n = (size_t)len;
          if (masked)
            *masked = m;
          int op = p[0] & 0x8f;
          raw_take(c, hl + (size_t)len);
          return op;
        }
      }
    }
    if (raw_fill(c) < 0)
      return -1;
  }
}

/* The upgrade request for path with extra header lines (each ending in
 * CRLF), key "dGhlIHNhbXBsZSBub25jZQ==" (RFC 6455's). */
static inline void hr_upgrade(int fd, const char *path, const char *extra) {
  char req[4096];
  snprintf(req, sizeof req,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
           path, extra ? extra : "");
  raw_sends(fd, req);
}

#define HR_RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#endif
