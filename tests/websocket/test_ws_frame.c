/* The WebSocket frame codec, UTF-8 checker and read state machine, on
 * bytes (no sockets): headers of every length form, masking at every
 * offset and alignment, UTF-8's edge cases, and the reader fed whole or a
 * byte at a time giving the same events. */
#include "harness.h"

#include "websocket/ws_internal.h"
#include "websocket/ws_reader.h"

#include <nethttp/errors.h>
#include <stdlib.h>
#include <string.h>

NH_TEST_UNIT_FILE("pure functions on bytes")

NH_TEST(header_round_trips_every_length_form) {
  uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, (uint64_t)1 << 32, ((uint64_t)1 << 63) - 1};
  size_t want_h[] = {2, 2, 2, 4, 4, 4, 10, 10, 10};
  static const uint8_t key[4] = {1, 2, 3, 4};
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
    for (int m = 0; m < 2; m++) {
      uint8_t b[14];
      size_t h = nh__ws_frame_header(b, 1, m, NH__WS_OP_BINARY, lens[i], m ? key : NULL);
      CHECK_EQ(h, want_h[i] + (m ? 4 : 0));
      nh__ws_frame f;
      for (size_t k = 0; k < h; k++) /* a prefix is never enough */
        CHECK_EQ(nh__ws_frame_parse(b, k, &f), 0);
      CHECK_EQ(nh__ws_frame_parse(b, h, &f), (int)h);
      CHECK_EQ(f.len, lens[i]);
      CHECK_EQ(f.fin, 1);
      CHECK_EQ(f.rsv1, m);
      CHECK_EQ(f.masked, m);
      CHECK_EQ(f.opcode, NH__WS_OP_BINARY);
      CHECK_EQ(f.hdr_len, h);
      if (m)
        CHECK(memcmp(f.mask, key, 4) == 0);
    }
  }
}

NH_TEST(header_refuses_what_no_peer_may_send) {
  nh__ws_frame f;
  /* Non-minimal lengths (§5.2). */
  uint8_t a[] = {0x82, 126, 0, 125};
  CHECK_EQ(nh__ws_frame_parse(a, sizeof a, &f), NH_EBADREQUEST);
  uint8_t b[] = {0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  CHECK_EQ(nh__ws_frame_parse(b, sizeof b, &f), NH_EBADREQUEST);
  /* The top bit of a 64-bit length. */
  uint8_t c[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
  CHECK_EQ(nh__ws_frame_parse(c, sizeof c, &f), NH_EBADREQUEST);
  /* Control frames: > 125, or without FIN. */
  uint8_t d[] = {0x89, 126, 0, 126};
  CHECK_EQ(nh__ws_frame_parse(d, sizeof d, &f), NH_EBADREQUEST);
  uint8_t e[] = {0x08, 0};
  CHECK_EQ(nh__ws_frame_parse(e, sizeof e, &f), NH_EBADREQUEST);
  /* Reserved opcodes. */
  for (int op = 3; op < 16; op++) {
    if (op >= 8 && op <= 10)
      continue;
    uint8_t g[] = {(uint8_t)(0x80 | op), 0};
    CHECK_EQ(nh__ws_frame_parse(g, sizeof g, &f), NH_EBADREQUEST);
  }
  /* RSV bits are reported, not judged. */
  uint8_t h[] = {0xF1, 0};
  CHECK_EQ(nh__ws_frame_parse(h, sizeof h, &f), 2);
  CHECK(f.rsv1 && f.rsv2 && f.rsv3);
}

NH_TEST(mask_matches_bytewise_at_every_offset_and_alignment) {
  static const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
  uint8_t src[300], a[310], b[310];
  for (size_t i = 0; i < sizeof src; i++)
    src[i] = (uint8_t)(i * 31 + 7);
  for (size_t align = 0; align < 8; align++)
    for (size_t off = 0; off < 8; off++)
      for (size_t n = 0; n < 100; n += 3) {
        memcpy(a + align, src, n);
        memcpy(b + align, src, n);
        nh__ws_mask(a + align, n, key, off);
        for (size_t i = 0; i < n; i++)
          b[align + i] ^= key[(off + i) & 3];
        CHECK(memcmp(a + align, b + align, n) == 0);
      }
  /* Masking in two pieces equals masking at once. */
  memcpy(a, src, 300);
  memcpy(b, src, 300);
  nh__ws_mask(a, 300, key, 0);
  nh__ws_mask(b, 101, key, 0);
  nh__ws_mask(b + 101, 199, key, 101);
  CHECK(memcmp(a, b, 300) == 0);
}

NH_TEST(utf8_accepts_valid_and_refuses_invalid) {
  const char *good[] = {"", "plain ascii text, long enough for the word loop",
                        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
                        "κόσμε", "\xf0\x9f\x98\x80 emoji"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    CHECK(nh__utf8_valid(good[i], strlen(good[i])));
  const char *bad[] = {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
                       "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
                       "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "\xc2",
                       "\xe2\x82", "\xf0\x9f\x98", "ok\xc2 ", "12345678\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(!nh__utf8_valid(bad[i], strlen(bad[i])));
}

NH_TEST(utf8_state_carries_over_and_fails_at_the_first_bad_byte) {
  const uint8_t s[] = "a\xf0\x9f\x98\x80z";
  for (size_t cut = 0; cut <= 6; cut++) {
    uint32_t st = nh__utf8_step(0, s, cut);
    CHECK(st != NH__UTF8_BAD);
    CHECK_EQ(nh__utf8_step(st, s + cut, 6 - cut), 0);
  }
  /* F4 90 can never become valid: refused at the 90, not at the end. */
  CHECK_EQ(nh__utf8_step(0, (const uint8_t *)"\xf4", 1) != NH__UTF8_BAD, 1);
  CHECK_EQ(nh__utf8_step(nh__utf8_step(0, (const uint8_t *)"\xf4", 1), (const uint8_t *)"\x90", 1),
           NH__UTF8_BAD);
  /* Once bad, always bad. */
  CHECK_EQ(nh__utf8_step(NH__UTF8_BAD, (const uint8_t *)"a", 1), NH__UTF8_BAD);
}

/* ---- the reader ---- */

typedef struct evlog {
  char text[1024];
  size_t n;
} evlog;

static void logf_ev(evlog *l, const char *s) {
  size_t k = strlen(s);
  if (l->n + k < sizeof l->text) {
    memcpy(l->text + l->n, s, k);
    l->n += k;
    l->text[l->n] = 0;
  }
}

/* Feeds p[0..n) in pieces of `step` bytes (0: all at once) and logs the
 * events; DATA of a message is joined so the split does not show. */
static void run_reader(int client, const uint8_t *in, size_t n, size_t step, evlog *l) {
  uint8_t *p = malloc(n ? n : 1);
  memcpy(p, in, n);
  nh__ws_reader r;
  nh__ws_reader_init(&r, client, 0, 1000, 2000);
  memset(l, 0, sizeof *l);
  size_t off = 0;
  char buf[256];
  static char data[4096];
  size_t dn = 0;
  int stopped = 0;
  for (;;) {
    size_t avail = n - off;
    if (step && avail > step)
      avail = step;
    nh__ws_event ev;
    size_t u = nh__ws_reader_feed(&r, p + off, avail, &ev);
    CHECK(u <= avail);
    off += u;
    switch (ev.kind) {
    case NH__WSR_MORE:
      if (off == n || stopped)
        goto out; /* after a close or an error nothing more is taken */
      continue;
    case NH__WSR_DATA:
      CHECK(dn + ev.len < sizeof data);
      memcpy(data + dn, ev.data, ev.len);
      dn += ev.len;
      continue;
    case NH__WSR_END:
      snprintf(buf, sizeof buf, "msg%d(%.*s) ", ev.type, (int)(dn > 64 ? 64 : dn), data);
      dn = 0;
      break;
    case NH__WSR_PING:
      snprintf(buf, sizeof buf, "ping(%.*s) ", (int)ev.len, ev.data);
      break;
    case NH__WSR_PONG:
      snprintf(buf, sizeof buf, "pong(%.*s) ", (int)ev.len, ev.data);
      break;
    case NH__WSR_CLOSE:
      snprintf(buf, sizeof buf, "close%d(%.*s) ", ev.code, (int)ev.len, ev.data);
      stopped = 1;
      break;
    case NH__WSR_ERROR:
      snprintf(buf, sizeof buf, "error%d ", ev.code);
      stopped = 1;
      break;
    }
    logf_ev(l, buf);
  }
out:
  free(p);
}

static size_t put(uint8_t *out, int b0, int masked, const char *s) {
  static const uint8_t key[4] = {9, 8, 7, 6};
  size_t n = strlen(s);
  size_t h = nh__ws_frame_header(out, 0, 0, 0, n, masked ? key : NULL);
  out[0] = (uint8_t)b0;
  memcpy(out + h, s, n);
  if (masked)
    nh__ws_mask(out + h, n, key, 0);
  return h + n;
}

static void check_all_splits(int client, const uint8_t *in, size_t n, const char *want) {
  evlog l;
  size_t steps[] = {0, 1, 2, 3, 7, 13};
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    run_reader(client, in, n, steps[i], &l);
    if (strcmp(l.text, want) != 0)
      NH_FAIL("step %zu: got \"%s\", want \"%s\"", steps[i], l.text, want);
  }
}

NH_TEST(reader_events_the_same_however_the_input_is_split) {
  uint8_t b[512];
  size_t n = 0;
  n += put(b + n, 0x81, 1, "hello");
  n += put(b + n, 0x02, 1, "bin");
  n += put(b + n, 0x89, 1, "p");
  n += put(b + n, 0x00, 1, "");
  n += put(b + n, 0x80, 1, "ary");
  n += put(b + n, 0x81, 1, "");
  n += put(b + n, 0x8A, 1, "pg");
  n += put(b + n, 0x88, 1, "\x03\xe8" "bye");
  n += put(b + n, 0x81, 1, "after close: ignored");
  check_all_splits(0, b, n, "msg1(hello) ping(p) msg2(binary) msg1() pong(pg) close1000(bye) ");
  /* The same unmasked, as a client reads it. */
  n = 0;
  n += put(b + n, 0x81, 0, "srv");
  n += put(b + n, 0x88, 0, "");
  check_all_splits(1, b, n, "msg1(srv) close1005() ");
}

NH_TEST(reader_errors_carry_their_close_codes) {
  static uint8_t b[4096];
  struct {
    int b0, masked, client;
    const char *payload;
    const char *want;
  } cases[] = {
      {0x81, 0, 0, "x", "error1002 "},          /* server: unmasked */
      {0x81, 1, 1, "x", "error1002 "},          /* client: masked */
      {0xC1, 1, 0, "x", "error1002 "},          /* RSV1 without deflate */
      {0x80, 1, 0, "x", "error1002 "},          /* continuation of nothing */
      {0x83, 1, 0, "x", "error1002 "},          /* opcode 3 */
      {0x81, 1, 0, "\xce\xba\xff", "error1007 "},
      {0x88, 1, 0, "\x03", "error1002 "},
      {0x88, 1, 0, "\x03\xed", "error1002 "},   /* 1005 */
      {0x88, 1, 0, "\x0b\xb8", "close3000() "},
      {0x88, 1, 0, "\x03\xe8\xc3", "error1007 "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t n = put(b, cases[i].b0, cases[i].masked, cases[i].payload);
    check_all_splits(cases[i].client, b, n, cases[i].want);
  }
  /* Over max_frame (1000) and max_message (2000), before any payload. */
  size_t n = nh__ws_frame_header(b, 1, 0, NH__WS_OP_BINARY, 1001, (const uint8_t *)"kkkk");
  check_all_splits(0, b, n, "error1009 ");
  n = nh__ws_frame_header(b, 0, 0, NH__WS_OP_BINARY, 1000, (const uint8_t *)"kkkk");
  memset(b + n, 0, 1000);
  n += 1000;
  n += nh__ws_frame_header(b + n, 0, 0, NH__WS_OP_CONT, 1000, (const uint8_t *)"kkkk");
  memset(b + n, 0, 1000);
  n += 1000;
  n += nh__ws_frame_header(b + n, 1, 0, NH__WS_OP_CONT, 1, (const uint8_t *)"kkkk");
  check_all_splits(0, b, n, "error1009 "); /* 2001 bytes */
}

NH_TEST(reader_text_fails_at_the_bad_byte_not_at_the_end) {
  uint8_t b[64];
  size_t n = put(b, 0x01, 1, "ab\xc0zzzz");
  nh__ws_reader r;
  nh__ws_reader_init(&r, 0, 0, 1000, 1000);
  nh__ws_event ev;
  /* Header and the first two bytes: data. */
  size_t u = nh__ws_reader_feed(&r, b, 8, &ev);
  CHECK_EQ(ev.kind, NH__WSR_DATA);
  CHECK_EQ(ev.len, 2);
  /* The bad byte alone, with no more of the message: 1007 now. */
  nh__ws_reader_feed(&r, b + u, 1, &ev);
  CHECK_EQ(ev.kind, NH__WSR_ERROR);
  CHECK_EQ(ev.code, 1007);
  (void)n;
}

/* Feeds p whole to a reader with deflate on; returns the first event that
 * is not DATA. */
static nh__ws_event feed_deflate(uint8_t *p, size_t n, int *compressed) {
  nh__ws_reader r;
  nh__ws_reader_init(&r, 0, 1, 1000, 1000);
  nh__ws_event ev;
  size_t off = 0;
  *compressed = -1;
  for (;;) {
    off += nh__ws_reader_feed(&r, p + off, n - off, &ev);
    if (ev.kind == NH__WSR_DATA && *compressed < 0)
      *compressed = ev.compressed;
    if (ev.kind != NH__WSR_DATA)
      return ev;
  }
}

NH_TEST(reader_rsv1_only_on_a_first_data_frame_with_deflate) {
  uint8_t b[128];
  int z;
  size_t n = put(b, 0xC1, 1, "zz");
  nh__ws_event ev = feed_deflate(b, n, &z);
  CHECK_EQ(ev.kind, NH__WSR_END);
  CHECK(ev.compressed && z == 1);
  /* RSV1 on a continuation, or on a control frame: 1002. */
  n = put(b, 0x41, 1, "z");
  n += put(b + n, 0xC0, 1, "z");
  ev = feed_deflate(b, n, &z);
  CHECK(ev.kind == NH__WSR_ERROR && ev.code == 1002);
  n = put(b, 0xC9, 1, "p");
  ev = feed_deflate(b, n, &z);
  CHECK(ev.kind == NH__WSR_ERROR && ev.code == 1002);
  /* A compressed text message is not checked as UTF-8 here (it is once
   * inflated), and an uncompressed one on the same connection still is. */
  n = put(b, 0xC1, 1, "\xff\xfe");
  ev = feed_deflate(b, n, &z);
  CHECK_EQ(ev.kind, NH__WSR_END);
  n = put(b, 0x81, 1, "\xff\xfe");
  ev = feed_deflate(b, n, &z);
  CHECK(ev.kind == NH__WSR_ERROR && ev.code == 1007);
}

NH_TEST_MAIN()
