/* The protobuf wire format, the little of it profile.proto needs: varints
 * and length-delimited fields (packed repeated varints are one of those).
 * A failed append is left for the dynbuf's sticky error. */
#include <zlib.h>

#include "nethttp/errors.h"
#include "pprof_internal.h"

void nh__pb_varint(nh__dynbuf *b, uint64_t v) {
  char tmp[10];
  int n = 0;
  do {
    tmp[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  nh__dynbuf_add(b, tmp, (size_t)n);
}

static void tag(nh__dynbuf *b, int field, int wire) {
  nh__pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void nh__pb_uint(nh__dynbuf *b, int field, uint64_t v) {
  tag(b, field, 0);
  nh__pb_varint(b, v);
}

void nh__pb_bytes(nh__dynbuf *b, int field, const void *p, size_t n) {
  tag(b, field, 2);
  nh__pb_varint(b, n);
  nh__dynbuf_add(b, p, n);
}

void nh__pb_packed(nh__dynbuf *b, int field, const uint64_t *v, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t x = v[i];
    do {
      len++;
      x >>= 7;
    } while (x);
  }
  tag(b, field, 2);
  nh__pb_varint(b, len);
  for (size_t i = 0; i < n; i++)
    nh__pb_varint(b, v[i]);
}

int nh__gzip(const void *in, size_t n, nh__dynbuf *out) {
  z_stream z = {0};
  /* 15 + 16: a gzip header and trailer around the deflate stream. */
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NH_ENOMEM;
  size_t bound = deflateBound(&z, (uLong)n);
  int e = nh__dynbuf_reserve(out, bound);
  if (e) {
    deflateEnd(&z);
    return e;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)out->p + out->len;
  z.avail_out = (uInt)(out->cap - out->len - 1); /* room for the NUL */
  int r = deflate(&z, Z_FINISH);
  size_t wrote = (size_t)z.total_out;
  deflateEnd(&z);
  if (r != Z_STREAM_END)
    return NH_ENOMEM;
  out->len += wrote;
  out->p[out->len] = 0;
  return 0;
}
