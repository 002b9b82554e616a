/* Writing HTTP/1.1 message heads and chunk framing (RFC 9112): status
 * lines, request lines, field lines, chunk-size lines and the last chunk.
 * The one place these bytes are made, for the server's responses, the
 * client's requests and the recorder's picture of the wire. No I/O and no
 * allocation: the caller sizes the buffer (nh__h1_fields_size helps).
 *
 * A put past the buffer's end is dropped and marks it full (h->len ==
 * h->cap + 1 is never reached; check nh__h1_buf_ok once at the end). */
#ifndef NH_HTTP1_H1_WRITE_H
#define NH_HTTP1_H1_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/header_internal.h"

typedef struct nh__h1_buf {
  char *p;
  size_t len, cap;
  int full; /* a put did not fit */
} nh__h1_buf;

static inline void nh__h1_put(nh__h1_buf *h, const void *s, size_t n) {
  if (h->len + n <= h->cap) {
    if (n) /* a NULL source may come with 0 */
      memcpy(h->p + h->len, s, n);
    h->len += n;
  } else {
    h->full = 1;
  }
}
static inline int nh__h1_buf_ok(const nh__h1_buf *h) { return !h->full; }

/* "HTTP/1.1 404 Not Found\r\n" (an unknown code says "status code"). */
void nh__h1_put_status_line(nh__h1_buf *h, int status);
/* "GET /path HTTP/1.1\r\n"; minor: 0 or 1. */
void nh__h1_put_request_line(nh__h1_buf *h, const char *method, const char *target, int minor);
/* "Name: value\r\n": one bound check, then the pieces (every field of
 * every head goes through here). */
static inline void nh__h1_put_field(nh__h1_buf *h, const char *name, size_t nlen,
                                    const char *value, size_t vlen) {
  if (h->len + nlen + vlen + 4 > h->cap) {
    h->full = 1;
    return;
  }
  char *p = h->p + h->len;
  memcpy(p, name, nlen);
  p += nlen;
  p[0] = ':';
  p[1] = ' ';
  if (vlen) /* value may be NULL then */
    memcpy(p + 2, value, vlen);
  p += 2 + vlen;
  p[0] = '\r';
  p[1] = '\n';
  h->len += nlen + vlen + 4;
}
/* "Content-Length: n\r\n". */
void nh__h1_put_content_length(nh__h1_buf *h, uint64_t n);
/* The empty line that ends a head. */
static inline void nh__h1_put_end(nh__h1_buf *h) { nh__h1_put(h, "\r\n", 2); }

/* Bytes the field lines of hdr take, plus slack for a status or request
 * line and the framing fields a writer adds. */
size_t nh__h1_fields_size(const nh_header *hdr, size_t slack);

/* "1a2b\r\n" into out (NH__H1_CHUNK_LINE_MAX bytes): a chunk-size line.
 * Returns its length. */
#define NH__H1_CHUNK_LINE_MAX 20
size_t nh__h1_chunk_line(char *out, size_t size);
/* What ends a chunk's data, and the last chunk with an empty trailer. */
#define NH__H1_CHUNK_END "\r\n"
#define NH__H1_LAST_CHUNK "0\r\n\r\n"
/* The last chunk with a trailer section of t's fields (RFC 9112 7.1.2);
 * size it with nh__h1_fields_size(t, 8). */
void nh__h1_put_last_chunk(nh__h1_buf *h, const nh_header *t);

#endif
