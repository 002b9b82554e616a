/* br (RFC 7932) with libbrotli, for codec.h. */
#include <brotli/decode.h>
#include <brotli/encode.h>

#include "nethttp/errors.h"
#include "util/codec_impl.h"

static void *br_enc_new(int level) {
  BrotliEncoderState *s = BrotliEncoderCreateInstance(NULL, NULL, NULL);
  if (!s)
    return NULL;
  BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, (uint32_t)level);
  /* A 4 MiB window at most (lgwin 22, the format's default): what every
   * browser's decoder expects. */
  BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, 22);
  return s;
}

static int br_enc(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout, int op,
                  int *pending) {
  BrotliEncoderState *s = st;
  static const BrotliEncoderOperation ops[] = {BROTLI_OPERATION_PROCESS, BROTLI_OPERATION_FLUSH,
                                               BROTLI_OPERATION_FINISH};
  if (!BrotliEncoderCompressStream(s, ops[op], nin, in, nout, out, NULL))
    return NH_ENOMEM; /* its only failure besides misuse */
  if (op == NH__ENC_FINISH)
    *pending = !BrotliEncoderIsFinished(s);
  else
    *pending = BrotliEncoderHasMoreOutput(s) || (op == NH__ENC_FLUSH && *nin);
  return NH_OK;
}

static void br_enc_free(void *st) { BrotliEncoderDestroyInstance(st); }

static void *br_dec_new(void) { return BrotliDecoderCreateInstance(NULL, NULL, NULL); }

static int br_dec(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout,
                  int *end) {
  BrotliDecoderResult r = BrotliDecoderDecompressStream(st, nin, in, nout, out, NULL);
  if (r == BROTLI_DECODER_RESULT_ERROR)
    return BrotliDecoderGetErrorCode(st) <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
                   BrotliDecoderGetErrorCode(st) >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES
               ? NH_ENOMEM
               : NH_EIO;
  *end = r == BROTLI_DECODER_RESULT_SUCCESS;
  return NH_OK;
}

/* A brotli stream is one stream: bytes after its end are not br. */
static int br_dec_restart(void *st, const uint8_t *in, size_t nin) {
  (void)st, (void)in, (void)nin;
  return NH_EINVAL;
}

static void br_dec_free(void *st) { BrotliDecoderDestroyInstance(st); }

/* brotli has no reset: a new instance each time. */
const nh__codec_ops nh__codec_br = {0, 11, 4, br_enc_new, br_enc, br_enc_free, NULL,
                                    br_dec_new, br_dec, br_dec_restart, br_dec_free};
