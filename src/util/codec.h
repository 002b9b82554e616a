/* Streaming content codings (RFC 9110 section 8.4.1): gzip (zlib), br
 * (libbrotli) and zstd (libzstd), both ways, without I/O.
 *
 * An encoder takes bytes and hands its output to a sink as it fills its
 * buffer; flush ends a block so that everything written so far can be
 * decoded by the peer now (gzip Z_SYNC_FLUSH, brotli
 * BROTLI_OPERATION_FLUSH, zstd ZSTD_e_flush); finish ends the stream.
 *
 * A decoder is given input (push) and asked for output (pull) with a cap:
 * a decompression bomb costs only what the caller lets it produce. */
#ifndef NH_UTIL_CODEC_H
#define NH_UTIL_CODEC_H

#include <stddef.h>
#include <sys/types.h>

typedef enum nh__coding {
  NH__CODING_IDENTITY = 0,
  NH__CODING_GZIP,
  NH__CODING_BR,
  NH__CODING_ZSTD,
  NH__CODING_COUNT
} nh__coding;

/* The token of a coding ("gzip", "br", "zstd", "identity"). */
const char *nh__coding_name(nh__coding c);
/* The coding a token names (case-insensitive; "x-gzip" is gzip, RFC 9110
 * section 8.4.1.3), or -1 if none of these. */
int nh__coding_parse(const char *tok, size_t len);
/* The file suffix of a precompressed sibling (".gz", ".br", ".zst"). */
const char *nh__coding_suffix(nh__coding c);
/* The levels a coding accepts, and the default (fast, for dynamic content:
 * gzip 1..9 (default 5), br 0..11 (default 4), zstd 1..19 (default 3)). */
int nh__coding_level_min(nh__coding c);
int nh__coding_level_max(nh__coding c);
int nh__coding_level_default(nh__coding c);

/* ---- encoding ---- */

/* Where an encoder's output goes: 0, or an error that the encoder call
 * returns as is (and that leaves the encoder unusable but freeable). */
typedef int (*nh__codec_sink)(void *arg, const void *p, size_t n);

typedef struct nh__encoder nh__encoder;
/* A new encoder for c (not identity) at level (clamped to the coding's
 * range; 0 or below: the default, but for br where 0 is a level: use
 * nh__coding_level_default). Output goes to sink(arg, ...). NULL when out
 * of memory or c is identity. Not thread-safe; any fiber, one at a time. */
nh__encoder *nh__encoder_new(nh__coding c, int level, nh__codec_sink sink, void *arg);
/* Compress n bytes (output may be held back until a block fills). 0, the
 * sink's error, or NH_EINVAL after finish / NH_ENOMEM. */
int nh__encoder_write(nh__encoder *e, const void *p, size_t n);
/* Everything written so far goes to the sink, decodable as it is. */
int nh__encoder_flush(nh__encoder *e);
/* Ends the stream (its trailer goes to the sink); later writes fail. */
int nh__encoder_finish(nh__encoder *e);
/* Compressed bytes handed to the sink so far. */
size_t nh__encoder_out(const nh__encoder *e);
/* Releases e. A gzip or zstd encoder is kept (a few per thread, freed when
 * the thread ends) and reset for the next nh__encoder_new of its coding on
 * this thread: their state is costly to allocate and fault in. */
void nh__encoder_free(nh__encoder *e);

/* ---- gzip of a whole body at once ---- */

/* Bodies up to this size may be compressed in one call (the middleware
 * holds them in memory whole). */
#define NH__GZIP_ONCE_MAX (256u * 1024)
/* The most bytes nh__gzip_once can make of n input bytes. */
size_t nh__gzip_once_bound(size_t n);
/* One gzip member of all n bytes of in at level (clamped to 1..9) into out
 * (cap bytes, at least nh__gzip_once_bound(n)): its length, or 0 when out
 * of memory. libdeflate: some twice as fast as the streaming encoder, as
 * it sees the whole input; its bytes are not zlib's. Never parks; any
 * thread (each keeps its own compressors until it ends). */
size_t nh__gzip_once(int level, const void *in, size_t n, void *out, size_t cap);

/* ---- decoding ---- */

typedef struct nh__decoder nh__decoder;
/* A new decoder for c (not identity). gzip accepts concatenated members
 * (as gunzip and Go's gzip.Reader do). NULL when out of memory. */
nh__decoder *nh__decoder_new(nh__coding c);
/* Input to decode: borrowed until nh__decoder_pull has used all of it
 * (nh__decoder_input_left is 0). Pushing while input is left replaces it
 * (the rest is the caller's to push again). */
void nh__decoder_push(nh__decoder *d, const void *p, size_t n);
/* Up to cap decoded bytes into out: a count (> 0), 0 when it needs more
 * input or the stream ended (nh__decoder_done), NH_EIO when the input is
 * not valid in the coding, NH_ENOMEM. After the end, input left over is
 * trailing garbage for the caller to judge (nh__decoder_input_left). */
ssize_t nh__decoder_pull(nh__decoder *d, void *out, size_t cap);
/* Input pushed but not used yet. */
size_t nh__decoder_input_left(const nh__decoder *d);
/* 1 once the stream's end was decoded (and all its output pulled). */
int nh__decoder_done(const nh__decoder *d);
void nh__decoder_free(nh__decoder *d);

#endif
