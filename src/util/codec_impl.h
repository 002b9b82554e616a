/* What each coding of codec.h supplies (codec_gzip.c, codec_br.c,
 * codec_zstd.c); codec.c holds the buffering and dispatch they share. */
#ifndef NH_UTIL_CODEC_IMPL_H
#define NH_UTIL_CODEC_IMPL_H

#include <stdint.h>

#include "util/codec.h"

enum { NH__ENC_PROCESS, NH__ENC_FLUSH, NH__ENC_FINISH };

typedef struct nh__codec_ops {
  int level_min, level_max, level_default;
  void *(*enc_new)(int level);
  /* Use input (*in, *nin) and fill output (*out, *nout), advancing both.
   * *pending: op is not complete, call again once the output was taken.
   * 0 or NH_ENOMEM / NH_EINVAL. */
  int (*enc)(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout, int op,
             int *pending);
  void (*enc_free)(void *st);
  /* Make a finished or abandoned encoder new again at level, for reuse: 0,
   * or an error when it cannot be (then it is freed). NULL: never reused. */
  int (*enc_reset)(void *st, int level);
  void *(*dec_new)(void);
  /* Decode into (*out, *nout), advancing both and the input; *end: a
   * stream (or member, or frame) just ended. 0, NH_EIO or NH_ENOMEM. */
  int (*dec)(void *st, const uint8_t **in, size_t *nin, uint8_t **out, size_t *nout, int *end);
  /* A new stream begins after an ended one (gzip members, zstd frames). */
  int (*dec_restart)(void *st, const uint8_t *in, size_t nin);
  void (*dec_free)(void *st);
} nh__codec_ops;

extern const nh__codec_ops nh__codec_gzip, nh__codec_br, nh__codec_zstd;

#endif
