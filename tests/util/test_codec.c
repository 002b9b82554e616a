/* The content codings of util/codec.h: round trips, flush points, the
 * decoder's output cap, bad input, and streams made by zlib's, brotli's and
 * zstd's own one-shot encoders. */
#include "harness.h"

#include <nethttp.h>

#include "util/codec.h"
#include "util/dynbuf.h"

#include <brotli/encode.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

static const nh__coding codings[] = {NH__CODING_GZIP, NH__CODING_BR, NH__CODING_ZSTD};

static int to_buf(void *arg, const void *p, size_t n) { return nh__dynbuf_add(arg, p, n); }

/* Text with repeats and noise, n bytes: compressible but not trivially. */
static char *sample(size_t n) {
  char *s = malloc(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    s[i] = (i / 64) % 3 ? "{\"id\":123,\"name\":\"widget\"},"[i % 27] : (char)('a' + (x >> 16) % 26);
  }
  return s;
}

/* Decode all of in, len bytes, pulling at most cap at a time. */
static int decode_all(nh__coding c, const void *in, size_t len, size_t push, size_t cap,
                      nh__dynbuf *out) {
  nh__decoder *d = nh__decoder_new(c);
  if (!d)
    return NH_ENOMEM;
  char *tmp = malloc(cap);
  const char *p = in;
  int e = NH_OK;
  size_t off = 0;
  while (off < len || !nh__decoder_done(d)) {
    if (!nh__decoder_input_left(d)) {
      if (off == len) {
        e = NH_EEOF; /* cut short */
        break;
      }
      size_t n = len - off < push ? len - off : push;
      nh__decoder_push(d, p + off, n);
      off += n;
    }
    ssize_t got;
    while ((got = nh__decoder_pull(d, tmp, cap)) > 0) {
      CHECK(got <= (ssize_t)cap);
      nh__dynbuf_add(out, tmp, (size_t)got);
    }
    if (got < 0) {
      e = (int)got;
      break;
    }
    if (nh__decoder_done(d) && nh__decoder_input_left(d) && off == len) {
      e = NH_EINVAL; /* trailing bytes */
      break;
    }
  }
  free(tmp);
  nh__decoder_free(d);
  return e;
}

NH_TEST(codec_names_and_levels) {
  CHECK_EQ(nh__coding_parse("GZip", 4), NH__CODING_GZIP);
  CHECK_EQ(nh__coding_parse("x-gzip", 6), NH__CODING_GZIP);
  CHECK_EQ(nh__coding_parse("br", 2), NH__CODING_BR);
  CHECK_EQ(nh__coding_parse("zstd", 4), NH__CODING_ZSTD);
  CHECK_EQ(nh__coding_parse("identity", 8), NH__CODING_IDENTITY);
  CHECK_EQ(nh__coding_parse("deflate", 7), -1);
  CHECK_EQ(nh__coding_parse("zst", 3), -1);
  CHECK_STR(nh__coding_suffix(NH__CODING_ZSTD), ".zst");
  CHECK_EQ(nh__coding_level_default(NH__CODING_GZIP), 5);
  CHECK_EQ(nh__coding_level_max(NH__CODING_BR), 11);
  CHECK(nh__encoder_new(NH__CODING_IDENTITY, 1, to_buf, NULL) == NULL);
}

NH_TEST(codec_round_trips_every_coding_and_level_edge) {
  size_t n = 300000;
  char *src = sample(n);
  for (size_t i = 0; i < 3; i++) {
    int levels[] = {-1, nh__coding_level_min(codings[i]), nh__coding_level_max(codings[i]) + 5};
    for (int l = 0; l < 3; l++) {
      if (l == 2 && codings[i] != NH__CODING_GZIP)
        continue; /* the slowest levels of br and zstd: seconds under ASan */
      nh__dynbuf z, back;
      nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
      nh__dynbuf_init(&back, NH__DYNBUF_NOCAP);
      nh__encoder *e = nh__encoder_new(codings[i], levels[l], to_buf, &z);
      CHECK(e != NULL);
      /* Odd-sized writes, including some of zero bytes. */
      for (size_t off = 0; off < n;) {
        size_t k = (off * 7 + 1) % 5000;
        if (k > n - off)
          k = n - off;
        CHECK_EQ(nh__encoder_write(e, src + off, k), 0);
        off += k;
      }
      CHECK_EQ(nh__encoder_finish(e), 0);
      CHECK_EQ(nh__encoder_write(e, "x", 1), NH_EINVAL);
      CHECK_EQ(nh__encoder_out(e), z.len);
      nh__encoder_free(e);
      CHECK(z.len < n / 2);
      CHECK_EQ(decode_all(codings[i], z.p, z.len, 1000, 777, &back), 0);
      CHECK_EQ(back.len, n);
      CHECK(memcmp(back.p, src, n) == 0);
      nh__dynbuf_free(&z);
      nh__dynbuf_free(&back);
    }
  }
  free(src);
}

/* After each flush, the bytes so far decode to everything written so far:
 * what a streamed response relies on. */
NH_TEST(codec_flush_makes_everything_written_decodable) {
  for (size_t i = 0; i < 3; i++) {
    nh__dynbuf z;
    nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
    nh__encoder *e = nh__encoder_new(codings[i], 0, to_buf, &z);
    nh__decoder *d = nh__decoder_new(codings[i]);
    size_t fed = 0;
    for (int ev = 0; ev < 5; ev++) {
      char msg[64];
      int len = snprintf(msg, sizeof msg, "data: event %d\n\n", ev);
      CHECK_EQ(nh__encoder_write(e, msg, (size_t)len), 0);
      CHECK_EQ(nh__encoder_flush(e), 0);
      nh__decoder_push(d, z.p + fed, z.len - fed);
      fed = z.len;
      char out[256];
      ssize_t got = nh__decoder_pull(d, out, sizeof out);
      CHECK_EQ(got, len);
      CHECK(memcmp(out, msg, (size_t)len) == 0);
      CHECK_EQ(nh__decoder_pull(d, out, sizeof out), 0);
      CHECK(!nh__decoder_done(d));
    }
    CHECK_EQ(nh__encoder_finish(e), 0);
    nh__decoder_push(d, z.p + fed, z.len - fed);
    char out[16];
    CHECK_EQ(nh__decoder_pull(d, out, sizeof out), 0);
    CHECK(nh__decoder_done(d));
    CHECK_EQ(nh__decoder_input_left(d), 0);
    nh__decoder_free(d);
    nh__encoder_free(e);
    nh__dynbuf_free(&z);
  }
}

/* A bomb: 64 MiB of zeros in a few KiB. Each pull gives at most its cap,
 * so the caller decides how much it takes. */
NH_TEST(codec_decoder_output_is_capped_per_pull) {
  size_t n = 64u << 20;
  char *zeros = calloc(1, 1 << 20);
  for (size_t i = 0; i < 3; i++) {
    nh__dynbuf z;
    nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
    nh__encoder *e = nh__encoder_new(codings[i], 1, to_buf, &z);
    for (size_t off = 0; off < n; off += 1 << 20)
      CHECK_EQ(nh__encoder_write(e, zeros, 1 << 20), 0);
    CHECK_EQ(nh__encoder_finish(e), 0);
    nh__encoder_free(e);
    CHECK(z.len < n / 200); /* a bomb: over 200 to 1 */
    nh__decoder *d = nh__decoder_new(codings[i]);
    nh__decoder_push(d, z.p, z.len);
    char out[4096];
    size_t total = 0;
    for (int k = 0; k < 10; k++) {
      ssize_t got = nh__decoder_pull(d, out, sizeof out);
      CHECK(got > 0 && got <= (ssize_t)sizeof out);
      total += (size_t)got;
    }
    CHECK(total <= 10 * sizeof out);
    CHECK(!nh__decoder_done(d));
    nh__decoder_free(d);
    nh__dynbuf_free(&z);
  }
  free(zeros);
}

NH_TEST(codec_bad_input_is_an_error_not_a_crash) {
  char junk[4096];
  for (size_t k = 0; k < sizeof junk; k++)
    junk[k] = (char)(k * 31 + 7);
  for (size_t i = 0; i < 3; i++) {
    nh__dynbuf out;
    nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
    CHECK_EQ(decode_all(codings[i], junk, sizeof junk, 100, 512, &out), NH_EIO);
    nh__dynbuf_free(&out);
    /* A valid stream cut short: no error, but never done. */
    nh__dynbuf z;
    nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
    nh__encoder *e = nh__encoder_new(codings[i], 0, to_buf, &z);
    char *src = sample(50000);
    nh__encoder_write(e, src, 50000);
    nh__encoder_finish(e);
    nh__encoder_free(e);
    nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
    CHECK_EQ(decode_all(codings[i], z.p, z.len - 3, 100, 512, &out), NH_EEOF);
    nh__dynbuf_free(&out);
    /* A flipped bit in the middle: caught (by the checksums at the end at
     * the latest). */
    z.p[z.len / 2] ^= 0x10;
    nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
    int r = decode_all(codings[i], z.p, z.len, 100, 512, &out);
    if (codings[i] != NH__CODING_BR) /* gzip's CRC-32, zstd's checksum */
      CHECK_EQ(r, NH_EIO);
    else /* brotli has no checksum: refused, or at least not the original */
      CHECK(r != 0 || out.len != 50000 || memcmp(out.p, src, 50000) != 0);
    nh__dynbuf_free(&out);
    nh__dynbuf_free(&z);
    free(src);
  }
}

/* Streams from the libraries' one-shot encoders, and gzip's concatenated
 * members (gunzip's and Go's behavior). */
NH_TEST(codec_decodes_other_encoders_and_gzip_members) {
  const char *text = "The quick brown fox jumps over the lazy dog. ";
  size_t tl = strlen(text);
  /* Two gzip members, each made by zlib's own gzip writer. */
  unsigned char gz[512];
  size_t gl = 0;
  for (int m = 0; m < 2; m++) {
    z_stream s = {0};
    deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    s.next_in = (Bytef *)text;
    s.avail_in = (uInt)tl;
    s.next_out = gz + gl;
    s.avail_out = (uInt)(sizeof gz - gl);
    CHECK_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
    gl = sizeof gz - s.avail_out;
    deflateEnd(&s);
  }
  nh__dynbuf out;
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  CHECK_EQ(decode_all(NH__CODING_GZIP, gz, gl, 7, 10, &out), 0);
  CHECK_EQ(out.len, 2 * tl);
  CHECK(memcmp(out.p, text, tl) == 0 && memcmp(out.p + tl, text, tl) == 0);
  nh__dynbuf_free(&out);

  uint8_t br[512];
  size_t bl = sizeof br;
  CHECK(BrotliEncoderCompress(11, 22, BROTLI_MODE_TEXT, tl, (const uint8_t *)text, &bl, br));
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  CHECK_EQ(decode_all(NH__CODING_BR, br, bl, 3, 5, &out), 0);
  CHECK_EQ(out.len, tl);
  CHECK(memcmp(out.p, text, tl) == 0);
  nh__dynbuf_free(&out);

  char zs[512];
  size_t zl = ZSTD_compress(zs, sizeof zs, text, tl, 19);
  CHECK(!ZSTD_isError(zl));
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  CHECK_EQ(decode_all(NH__CODING_ZSTD, zs, zl, 1, 3, &out), 0);
  CHECK_EQ(out.len, tl);
  CHECK(memcmp(out.p, text, tl) == 0);
  nh__dynbuf_free(&out);
}

NH_TEST_MAIN()
