/* Header names, values and token lists: Go's CanonicalMIMEHeaderKey and
 * httpguts test cases, ported. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

static void canon(const char *in, const char *want) {
  char buf[128];
  size_t n = strlen(in);
  CHECK(n < sizeof buf);
  memcpy(buf, in, n + 1);
  nh_canonical_header_key(buf, n);
  if (strcmp(buf, want) != 0)
    NH_FAIL("canonical(\"%s\") = \"%s\", want \"%s\"", in, buf, want);
}

NH_TEST(canonical_header_key) {
  canon("content-type", "Content-Type");
  canon("x-forwarded-for", "X-Forwarded-For");
  canon("ETAG", "Etag");
  canon("a-b-c", "A-B-C");
  canon("a-1-c", "A-1-C");
  canon("User-Agent", "User-Agent");
  canon("uSER-aGENT", "User-Agent");
  canon("user-agent", "User-Agent");
  canon("USER-AGENT", "User-Agent");
  canon("www-authenticate", "Www-Authenticate"); /* Go does not special-case it */
  canon("-x--y-", "-X--Y-");
  canon("1a", "1a"); /* upper-casing needs a letter in place */
  /* Other token characters are not word boundaries. */
  canon("foo-bar_baz", "Foo-Bar_baz");
  canon("foo-bar$baz", "Foo-Bar$baz");
  canon("foo-bar~baz", "Foo-Bar~baz");
  canon("foo-bar*baz", "Foo-Bar*baz");
  /* Non-ASCII, spaces or any other non-token byte: unchanged. */
  canon("\xc3\xbcser-agenT", "\xc3\xbcser-agenT");
  canon("a B", "a B");
  canon("C Ontent-Transfer-Encoding", "C Ontent-Transfer-Encoding");
  canon("foo bar", "foo bar");
  canon("content-type:", "content-type:");
  canon("x-a\tb", "x-a\tb");
  canon("", "");
}

NH_TEST(canonical_respects_len) {
  char buf[] = "content-type";
  nh_canonical_header_key(buf, 7); /* "content" only */
  CHECK_STR(buf, "Content-type");
  char bad[] = "ab cd-ef";
  nh_canonical_header_key(bad + 3, 5); /* "cd-ef" is a token on its own */
  CHECK_STR(bad, "ab Cd-Ef");
}

NH_TEST(valid_header_name) {
  CHECK(nh_valid_header_name("Content-Type", 12));
  CHECK(nh_valid_header_name("x!#$%&'*+-.^_`|~09AZaz", 22));
  CHECK(!nh_valid_header_name("", 0));
  CHECK(!nh_valid_header_name("a b", 3));
  CHECK(!nh_valid_header_name("a:b", 3));
  CHECK(!nh_valid_header_name("a\r\n", 3));
  CHECK(!nh_valid_header_name("caf\xc3\xa9", 5));
  const char *seps = "\"(),/:;<=>?@[\\]{} \t\x7f";
  for (const char *p = seps; *p; p++)
    CHECK(!nh_valid_header_name(p, 1));
  CHECK(!nh_valid_header_name("a\0b", 3));
  CHECK(nh_valid_header_name("a\0b", 1)); /* len, not NUL, ends it */
}

NH_TEST(valid_header_value) {
  CHECK(nh_valid_header_value("", 0));
  CHECK(nh_valid_header_value("text/html; charset=utf-8", 24));
  CHECK(nh_valid_header_value("a\tb c", 5));
  CHECK(nh_valid_header_value("caf\xc3\xa9 \xff", 7)); /* obs-text */
  CHECK(!nh_valid_header_value("a\r\nSet-Cookie: x", 16));
  CHECK(!nh_valid_header_value("a\nb", 3));
  CHECK(!nh_valid_header_value("a\rb", 3));
  CHECK(!nh_valid_header_value("a\0b", 3));
  CHECK(!nh_valid_header_value("a\x7f", 2));
  for (int c = 0; c < 0x20; c++) {
    char v[2] = {'x', (char)c};
    CHECK_EQ(nh_valid_header_value(v, 2), c == '\t');
  }
}

NH_TEST(token_list_has) {
  struct {
    const char *list, *token;
    int want;
  } cases[] = {
      {"keep-alive, Upgrade", "upgrade", 1},
      {"keep-alive, Upgrade", "keep-alive", 1},
      {"foo", "foo", 1},
      {"foo ", "foo", 1},
      {" foo", "foo", 1},
      {" foo ", "foo", 1},
      {"\tfoo\t", "foo", 1},
      {"foo,bar", "foo", 1},
      {"bar,foo", "foo", 1},
      {"bar, foo", "foo", 1},
      {"bar,foo, baz", "foo", 1},
      {"bar, foo,baz", "foo", 1},
      {"bar, foo, baz", "foo", 1},
      {"FOO", "foo", 1},
      {" FOO,BAR ", "bar", 1},
      {"a,,b", "b", 1},
      {",close,", "close", 1},
      {"foo", "bar", 0},
      {"foo bar", "bar", 0},
      {"bar foo", "bar", 0},
      {"closed", "close", 0},
      {"clos", "close", 0},
      {"", "close", 0},
      {"", "", 1}, /* Go: the one empty element equals the empty token */
      {"a, ,b", "", 1},
      {"a,b", "", 0},
      {"\xc3\xa9", "\xc3\xa9", 0}, /* non-ASCII never matches */
      {"foo;q=1", "foo", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int got = nh_token_list_has(cases[i].list, cases[i].token);
    if (got != cases[i].want)
      NH_FAIL("nh_token_list_has(\"%s\", \"%s\") = %d, want %d", cases[i].list, cases[i].token,
              got, cases[i].want);
  }
  CHECK(!nh_token_list_has(NULL, "close"));
  CHECK(!nh_token_list_has("close", NULL));
}

/* A header map's lookups ignore ASCII letter case and nothing else, at
 * every length (names of eight bytes and more are compared eight at a
 * time, the last eight overlapping). */
NH_TEST(header_lookup_ignores_letter_case_only) {
  nh_header *h = nh_header_new();
  CHECK(h != NULL);
  const char *names[] = {"A", "Etag", "X-Seven", "X-Eight", "X-Eight1", "X-Nine-Ab",
                         "Content-Length", "X-Sixteen-Bytes1", "X-A^b-Seventeen-9"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    CHECK_EQ(nh_header_add(h, names[i], names[i]), NH_OK);
  CHECK_STR(nh_header_get(h, "a"), "A");
  CHECK_STR(nh_header_get(h, "ETAG"), "Etag");
  CHECK_STR(nh_header_get(h, "x-seven"), "X-Seven");
  CHECK_STR(nh_header_get(h, "x-eIGHT1"), "X-Eight1");
  CHECK_STR(nh_header_get(h, "X-NINE-AB"), "X-Nine-Ab");
  CHECK_STR(nh_header_get(h, "content-length"), "Content-Length");
  CHECK_STR(nh_header_get(h, "CONTENT-LENGTH"), "Content-Length");
  CHECK_STR(nh_header_get(h, "x-sixteen-bytes1"), "X-Sixteen-Bytes1");
  CHECK_STR(nh_header_get(h, "x-a^B-SEVENTEEN-9"), "X-A^b-Seventeen-9");
  /* Bytes apart by 0x20 that are not letters differ: ^ and ~, 9 and ^Y. */
  CHECK(nh_header_get(h, "x-a~b-seventeen-9") == NULL);
  CHECK(nh_header_get(h, "X-A^b-Seventeen-\x19") == NULL);
  /* A difference in the first byte, the last, or only inside the
   * overlapping last eight. */
  CHECK(nh_header_get(h, "Y-Seven") == NULL);
  CHECK(nh_header_get(h, "Content-Lengti") == NULL);
  CHECK(nh_header_get(h, "Content-LenGti") == NULL);
  CHECK(nh_header_get(h, "X-Eight2") == NULL);
  CHECK(nh_header_get(h, "X-Sixteen-Bytes2") == NULL);
  CHECK(nh_header_get(h, "X-Nine-A") == NULL); /* a prefix */
  CHECK_EQ(nh_header_del(h, "content-LENGTH"), 1);
  CHECK(nh_header_get(h, "Content-Length") == NULL);
  nh_header_free(h);
}

NH_TEST_MAIN()
