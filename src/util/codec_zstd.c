/* zstd (RFC 8878) with libzstd, for codec.h. */
#include <zstd.h>
#include <zstd_errors.h>

#include "nethttp/errors.h"
#include "util/codec_impl.h"

/* RFC 9659: a zstd content coding uses at most an 8 MiB window, and a
 * decoder may refuse more. */
#define ZSTD_HTTP_WINDOW_LOG 23

static void *zs_enc_new(int level) {
  ZSTD_CCtx *c = ZSTD_createCCtx();
  if (!c)
    return NULL;
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  /* Levels up to 19 use windows of 8 MiB at most (RFC 9659's limit). */
  return c;
}

static int zs_enc(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout, int op,
                  int *pending) {
  static const ZSTD_EndDirective dir[] = {ZSTD_e_continue, ZSTD_e_flush, ZSTD_e_end};
  ZSTD_inBuffer ib = {*in, *nin, 0};
  ZSTD_outBuffer ob = {*out, *nout, 0};
  size_t r = ZSTD_compressStream2(st, &ob, &ib, dir[op]);
  if (ZSTD_isError(r))
    return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? NH_ENOMEM : NH_EINVAL;
  *in += ib.pos;
  *nin -= ib.pos;
  *out += ob.pos;
  *nout -= ob.pos;
  *pending = op != NH__ENC_PROCESS && r != 0;
  return NH_OK;
}

static void zs_enc_free(void *st) { ZSTD_freeCCtx(st); }

static int zs_enc_reset(void *st, int level) {
  if (ZSTD_isError(ZSTD_CCtx_reset(st, ZSTD_reset_session_only)))
    return NH_EINVAL;
  return ZSTD_isError(ZSTD_CCtx_setParameter(st, ZSTD_c_compressionLevel, level)) ? NH_EINVAL
                                                                                   : NH_OK;
}

static void *zs_dec_new(void) {
  ZSTD_DCtx *d = ZSTD_createDCtx();
  if (d)
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, ZSTD_HTTP_WINDOW_LOG);
  return d;
}

static int zs_dec(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout,
                  int *end) {
  ZSTD_inBuffer ib = {*in, *nin, 0};
  ZSTD_outBuffer ob = {*out, *nout, 0};
  size_t r = ZSTD_decompressStream(st, &ob, &ib);
  *in += ib.pos;
  *nin -= ib.pos;
  *out += ob.pos;
  *nout -= ob.pos;
  if (ZSTD_isError(r))
    return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? NH_ENOMEM : NH_EIO;
  *end = r == 0; /* a frame decoded and flushed */
  return NH_OK;
}

/* Frames may follow one another (RFC 8878 section 3.1). */
static int zs_dec_restart(void *st, const uint8_t *in, size_t nin) {
  (void)st, (void)in, (void)nin;
  return NH_OK;
}

static void zs_dec_free(void *st) { ZSTD_freeDCtx(st); }

const nh__codec_ops nh__codec_zstd = {1, 19, 3, zs_enc_new, zs_enc, zs_enc_free, zs_enc_reset,
                                      zs_dec_new, zs_dec, zs_dec_restart, zs_dec_free};
