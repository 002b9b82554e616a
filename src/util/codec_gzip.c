/* gzip (RFC 1952) with zlib, for codec.h. */
#include <stdlib.h>
#include <zlib.h>

#include "nethttp/errors.h"
#include "util/codec_impl.h"

#define GZIP_WBITS (16 + MAX_WBITS)
#define CHUNK_MAX (1u << 30) /* zlib counts in uInt */

static uInt clamp(size_t n) { return n > CHUNK_MAX ? CHUNK_MAX : (uInt)n; }

static void *gz_enc_new(int level) {
  z_stream *z = calloc(1, sizeof *z);
  /* memLevel 8 is zlib's default: 256 KiB of state per stream. */
  if (z && deflateInit2(z, level, Z_DEFLATED, GZIP_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(z);
    return NULL;
  }
  return z;
}

static int gz_enc(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout, int op,
                  int *pending) {
  z_stream *z = st;
  static const int flush[] = {Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH};
  z->next_in = (Bytef *)*in;
  z->avail_in = clamp(*nin);
  z->next_out = *out;
  z->avail_out = clamp(*nout);
  uInt in0 = z->avail_in, out0 = z->avail_out;
  int r = deflate(z, *nin > CHUNK_MAX ? Z_NO_FLUSH : flush[op]);
  if (r == Z_STREAM_ERROR)
    return NH_EINVAL;
  *in += in0 - z->avail_in;
  *nin -= in0 - z->avail_in;
  *out += out0 - z->avail_out;
  *nout -= out0 - z->avail_out;
  if (op == NH__ENC_FINISH)
    *pending = r != Z_STREAM_END;
  else
    *pending = op == NH__ENC_FLUSH && (z->avail_out == 0 || *nin);
  return NH_OK;
}

static void gz_enc_free(void *st) {
  deflateEnd(st);
  free(st);
}

static int gz_enc_reset(void *st, int level) {
  if (deflateReset(st) != Z_OK)
    return NH_EINVAL;
  return deflateParams(st, level, Z_DEFAULT_STRATEGY) == Z_OK ? NH_OK : NH_EINVAL;
}

static void *gz_dec_new(void) {
  z_stream *z = calloc(1, sizeof *z);
  if (z && inflateInit2(z, GZIP_WBITS) != Z_OK) {
    free(z);
    return NULL;
  }
  return z;
}

static int gz_dec(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout,
                  int *end) {
  z_stream *z = st;
  z->next_in = (Bytef *)*in;
  z->avail_in = clamp(*nin);
  z->next_out = *out;
  z->avail_out = clamp(*nout);
  uInt in0 = z->avail_in, out0 = z->avail_out;
  int r = inflate(z, Z_NO_FLUSH);
  *in += in0 - z->avail_in;
  *nin -= in0 - z->avail_in;
  *out += out0 - z->avail_out;
  *nout -= out0 - z->avail_out;
  if (r == Z_MEM_ERROR)
    return NH_ENOMEM;
  if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
    return NH_EIO;
  *end = r == Z_STREAM_END;
  return NH_OK;
}

/* Only a gzip member's magic starts another member; anything else is left
 * to the caller. */
static int gz_dec_restart(void *st, const uint8_t *in, size_t nin) {
  if (nin < 2 || in[0] != 0x1f || in[1] != 0x8b)
    return NH_EINVAL;
  return inflateReset(st) == Z_OK ? NH_OK : NH_EINVAL;
}

static void gz_dec_free(void *st) {
  inflateEnd(st);
  free(st);
}

const nh__codec_ops nh__codec_gzip = {1, 9, 5, gz_enc_new, gz_enc, gz_enc_free, gz_enc_reset,
                                      gz_dec_new, gz_dec, gz_dec_restart, gz_dec_free};
