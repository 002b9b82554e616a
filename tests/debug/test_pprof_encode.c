/* The pprof encoder: protobuf varints by hand, and a profile built from
 * known stacks read back by `go tool pprof -raw`: its sample types,
 * merged samples, function names, source lines and mappings. */
#include "debug/pprof_internal.h"
#include "harness.h"
#include "pprof_support.h"
#include "runtime/internal.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("the encoder alone: no runtime, no sockets");

NH_TEST(varints_and_fields_as_protobuf_writes_them) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  nh__pb_varint(&b, 0);
  nh__pb_varint(&b, 1);
  nh__pb_varint(&b, 300);                /* ac 02 */
  nh__pb_uint(&b, 12, 10000000);         /* field 12, wire 0: 0x60 */
  nh__pb_bytes(&b, 6, "cpu", 3);         /* field 6, wire 2: 0x32 03 */
  uint64_t v[3] = {1, 150, 3};
  nh__pb_packed(&b, 1, v, 3);            /* 0x0a 04 01 96 01 03 */
  static const unsigned char want[] = {0x00, 0x01, 0xac, 0x02, 0x60, 0x80, 0xad, 0xe2, 0x04,
                                       0x32, 0x03, 'c',  'p',  'u',  0x0a, 0x04, 0x01, 0x96,
                                       0x01, 0x03};
  CHECK_EQ(b.len, sizeof want);
  CHECK(memcmp(b.p, want, sizeof want) == 0);
  nh__dynbuf_free(&b);
}

/* Bodies of some bytes, so that the addresses below fall inside them in
 * an optimized build too (an empty function is one byte: its ret). */
static volatile int encode_sink;
__attribute__((noinline)) void pprof_encode_leaf(void) {
  encode_sink++;
  encode_sink++;
}
__attribute__((noinline)) void pprof_encode_caller(void) {
  encode_sink++;
  pprof_encode_leaf();
  encode_sink++;
}

NH_TEST(profile_read_back_by_go_pprof) {
  if (!have_go())
    NH_SKIP("go is not installed");
  nh__symbolize_init();
  static const nh__pprof_type types[2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  nh__pprof *p = nh__pprof_new(types, 2, (nh__pprof_type){"cpu", "nanoseconds"}, 10000000);
  CHECK(p);
  /* Leaf: an instruction inside pprof_encode_leaf; caller: a return
   * address inside pprof_encode_caller (named by the call before it). */
  void *a[2] = {(char *)pprof_encode_leaf + 1, (char *)pprof_encode_caller + 9};
  void *b[1] = {(char *)pprof_encode_caller + 1};
  int64_t va[2] = {3, 30000000}, vb[2] = {1, 10000000};
  CHECK_EQ(nh__pprof_add(p, a, 2, 1, va), 0);
  CHECK_EQ(nh__pprof_add(p, b, 1, 1, vb), 0);
  CHECK_EQ(nh__pprof_add(p, a, 2, 1, va), 0); /* merged with the first */
  CHECK_EQ(nh__pprof_samples(p), 2);
  nh__pprof_set_time(p, 1700000000LL * NH_SEC, 2 * NH_SEC);
  nh__dynbuf out;
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  CHECK_EQ(nh__pprof_encode(p, 1, &out), 0);
  nh__pprof_free(p);
  CHECK(out.len > 20);
  CHECK_EQ((unsigned char)out.p[0], 0x1f); /* gzip */
  CHECK_EQ((unsigned char)out.p[1], 0x8b);
  char path[64];
  CHECK_EQ(write_temp(out.p, out.len, path), 0);
  nh__dynbuf_free(&out);
  int st;
  char *raw = go_pprof("-raw", path, &st);
  CHECK(raw);
  fprintf(stderr, "%s\n", raw);
  CHECK_EQ(st, 0);
  CHECK_CONTAINS(raw, "PeriodType: cpu nanoseconds");
  CHECK_CONTAINS(raw, "Period: 10000000");
  CHECK_CONTAINS(raw, "Duration: 2s");
  CHECK_CONTAINS(raw, "samples/count cpu/nanoseconds");
  CHECK_CONTAINS(raw, "          6   60000000: 1 2 ");
  CHECK_CONTAINS(raw, "          1   10000000: 3 ");
  CHECK_CONTAINS(raw, "pprof_encode_leaf");
  CHECK_CONTAINS(raw, "pprof_encode_caller");
  /* Lines come from the debug information, which the ThreadSanitizer
   * build does not read (its symbolizer is dladdr's symbol names). */
  if (nh__symbolizer)
    CHECK_CONTAINS(raw, "test_pprof_encode.c:3");
  CHECK_CONTAINS(raw, "debug_test_pprof_encode"); /* the program's mapping */
  free(raw);
  char *top = go_pprof("-top", path, &st);
  CHECK(top);
  CHECK_EQ(st, 0);
  CHECK_CONTAINS(top, "pprof_encode_leaf");
  free(top);
  unlink(path);
}

NH_TEST_MAIN()
