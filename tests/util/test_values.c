/* Query values (Go's url.Values): the ParseQuery and Encode tables of Go's
 * url_test.go, plus the multimap operations. */
#include "harness.h"
#include "nethttp/errors.h"
#include "nethttp/url.h"

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

#include <stdlib.h>
#include <string.h>

/* Expected pairs as "k=v" strings, in insertion order. */
static void check_pairs(const char *q, const nh_values *v, const char *const *want, size_t n) {
  if (nh_values_len(v) != n)
    NH_FAIL("ParseQuery(%s): %zu pairs, want %zu", q, nh_values_len(v), n);
  for (size_t i = 0; i < n; i++) {
    const char *k, *val;
    CHECK_EQ(nh_values_at(v, i, &k, &val), 0);
    char buf[256];
    snprintf(buf, sizeof buf, "%s=%s", k, val);
    if (strcmp(buf, want[i]) != 0)
      NH_FAIL("ParseQuery(%s): pair %zu = %s, want %s", q, i, buf, want[i]);
  }
}

NH_TEST(parse_query_table) {
  struct { const char *q; const char *want[4]; size_t n; int ok; } t[] = {
      {"a=1", {"a=1"}, 1, 1},
      {"a=1&b=2", {"a=1", "b=2"}, 2, 1},
      {"a=1&a=2&a=banana", {"a=1", "a=2", "a=banana"}, 3, 1},
      {"ascii=%3Ckey%3A+0x90%3E", {"ascii=<key: 0x90>"}, 1, 1},
      {"a=1;b=2", {0}, 0, 0},
      {"a;b=1", {0}, 0, 0},
      {"a=%3B", {"a=;"}, 1, 1},
      {"a%3Bb=1", {"a;b=1"}, 1, 1},
      {"a=1&a=2;a=banana", {"a=1"}, 1, 0},
      {"a;b&c=1", {"c=1"}, 1, 0},
      {"a=1&b=2;a=3&c=4", {"a=1", "c=4"}, 2, 0},
      {"a=1&b=2;c=3", {"a=1"}, 1, 0},
      {";", {0}, 0, 0},
      {"a=1;", {0}, 0, 0},
      {"a=1&;", {"a=1"}, 1, 0},
      {";a=1&b=2", {"b=2"}, 1, 0},
      {"a=1&b=2;", {"a=1"}, 1, 0},
      /* beyond Go's table: bad escapes keep the good pairs */
      {"%gh&%ij", {0}, 0, 0},
      {"a=1&b=%zz&c=3", {"a=1", "c=3"}, 2, 0},
      {"&&a&&b=", {"a=", "b="}, 2, 1},
      {"x=a+b%2Bc", {"x=a b+c"}, 1, 1},
      {"", {0}, 0, 1},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    nh_values *v = nh_values_new();
    int err = nh_values_parse_query(v, t[i].q);
    if (t[i].ok ? err != 0 : err != NH_EBADFORM)
      NH_FAIL("ParseQuery(%s) = %s", t[i].q, nh_err_name(err));
    check_pairs(t[i].q, v, t[i].want, t[i].n);
    nh_values_free(v);
  }
}

NH_TEST(encode_sorted_by_key) {
  nh_values *v = nh_values_new();
  char *s = nh_values_encode(v);
  CHECK_STR(s, "");
  free(s);
  nh_values_add(v, "q", "puppies");
  nh_values_add(v, "oe", "utf8");
  s = nh_values_encode(v);
  CHECK_STR(s, "oe=utf8&q=puppies");
  free(s);
  nh_values_free(v);

  v = nh_values_new();
  nh_values_add(v, "q", "dogs");
  nh_values_add(v, "q", "&");
  nh_values_add(v, "q", "7");
  s = nh_values_encode(v);
  CHECK_STR(s, "q=dogs&q=%26&q=7");
  free(s);
  nh_values_free(v);

  v = nh_values_new();
  const char *order[] = {"c", "a", "b", "a", "c", "b", "b", "a", "c"};
  int seen[3] = {0};
  for (size_t i = 0; i < 9; i++) {
    char val[8];
    snprintf(val, sizeof val, "%s%d", order[i], ++seen[order[i][0] - 'a']);
    nh_values_add(v, order[i], val);
  }
  s = nh_values_encode(v);
  CHECK_STR(s, "a=a1&a=a2&a=a3&b=b1&b=b2&b=b3&c=c1&c=c2&c=c3");
  free(s);
  nh_values_free(v);

  /* Keys are sorted bytewise; escaping applies to keys and values. */
  v = nh_values_new();
  nh_values_add(v, "b c", "x y");
  nh_values_add(v, "B", "/");
  nh_values_add(v, "", "empty-key");
  s = nh_values_encode(v);
  CHECK_STR(s, "=empty-key&B=%2F&b+c=x+y");
  /* Parsing what was encoded gives the same pairs back. */
  nh_values *back = nh_values_new();
  CHECK_EQ(nh_values_parse_query(back, s), 0);
  CHECK_STR(nh_values_get(back, "b c"), "x y");
  CHECK_STR(nh_values_get(back, "B"), "/");
  CHECK_STR(nh_values_get(back, ""), "empty-key");
  nh_values_free(back);
  free(s);
  nh_values_free(v);
}

NH_TEST(multimap_operations) {
  nh_values *v = nh_values_new();
  CHECK(nh_values_get(v, "a") == NULL);
  CHECK_EQ(nh_values_add(v, "a", "1"), 0);
  CHECK_EQ(nh_values_add(v, "b", "2"), 0);
  CHECK_EQ(nh_values_add(v, "a", "3"), 0);
  CHECK_EQ(nh_values_add(v, "a", ""), 0);
  CHECK_STR(nh_values_get(v, "a"), "1");
  const char *all[8];
  CHECK_EQ(nh_values_get_all(v, "a", all, 8), 3);
  CHECK_STR(all[0], "1");
  CHECK_STR(all[1], "3");
  CHECK_STR(all[2], "");
  CHECK_EQ(nh_values_get_all(v, "a", all, 1), 3); /* count even when max is small */
  CHECK_EQ(nh_values_get_all(v, "A", all, 8), 0); /* case-sensitive */

  /* set keeps the place of the first pair and drops the others */
  CHECK_EQ(nh_values_set(v, "a", "x"), 0);
  CHECK_EQ(nh_values_len(v), 2);
  const char *k, *val;
  CHECK_EQ(nh_values_at(v, 0, &k, &val), 0);
  CHECK_STR(k, "a");
  CHECK_STR(val, "x");
  CHECK_EQ(nh_values_at(v, 1, &k, &val), 0);
  CHECK_STR(k, "b");
  CHECK_EQ(nh_values_at(v, 2, &k, &val), NH_ERANGE);
  CHECK_EQ(nh_values_set(v, "new", "n"), 0);
  CHECK_STR(nh_values_get(v, "new"), "n");

  CHECK_EQ(nh_values_del(v, "a"), 1);
  CHECK_EQ(nh_values_del(v, "a"), 0);
  CHECK(!nh_values_has(v, "a"));
  CHECK_EQ(nh_values_len(v), 2);

  /* NUL bytes survive in the length-explicit view. */
  nh_values *z = nh_values_new();
  CHECK_EQ(nh_values_parse_query(z, "k=a%00b"), 0);
  size_t klen, vlen;
  const char *zv;
  CHECK_EQ(nh_values_at_n(z, 0, &k, &klen, &zv, &vlen), 0);
  CHECK_EQ(klen, 1);
  CHECK_EQ(vlen, 3);
  CHECK(memcmp(zv, "a\0b", 3) == 0);
  char *enc = nh_values_encode(z);
  CHECK_STR(enc, "k=a%00b");
  free(enc);
  nh_values_free(z);
  nh_values_free(v);
  nh_values_free(NULL);
}

NH_TEST(parse_appends_to_existing) {
  nh_values *v = nh_values_new();
  nh_values_add(v, "a", "0");
  CHECK_EQ(nh_values_parse_query_n(v, "a=1&b=2&c=3", 7), 0); /* "a=1&b=2" */
  CHECK_EQ(nh_values_len(v), 3);
  const char *all[4];
  CHECK_EQ(nh_values_get_all(v, "a", all, 4), 2);
  CHECK_STR(all[1], "1");
  CHECK(!nh_values_has(v, "c"));
  nh_values_free(v);
}

NH_TEST_MAIN()
