/* Cookies, base64 and Basic authentication: the tables of Go's
 * cookie_test.go and request_test.go (BasicAuth), with nethttp's strict
 * writing (what Go drops silently is NH_EINVAL here). */
#include "harness.h"
#include "nethttp/base64.h"
#include "nethttp/cookie.h"
#include "nethttp/server_cookie.h"
#include "nethttp/errors.h"
#include "nethttp/httptest.h"

#include <stdlib.h>
#include <string.h>

#define UNIX_1601_01_01_010101 (-11644473600LL + 3661)
#define UNIX_1600_01_01_010101 (-11676096000LL + 3661)

static void check_format(const nh_cookie *c, const char *want) {
  char *s = NULL;
  int err = nh_cookie_format(c, &s);
  if (!want) {
    if (err != NH_EINVAL)
      NH_FAIL("format(%s) = %s, want NH_EINVAL", c->name ? c->name : "(null)", nh_err_name(err));
    CHECK(s == NULL);
    CHECK_EQ(nh_cookie_valid(c), NH_EINVAL);
    return;
  }
  if (err)
    NH_FAIL("format(%s) = %s", c->name, nh_err_name(err));
  CHECK_STR(s, want);
  free(s);
}

NH_TEST(write_set_cookies_table) {
  struct { nh_cookie c; const char *want; } t[] = {
      {{.name = "cookie-1", .value = "v$1"}, "cookie-1=v$1"},
      {{.name = "cookie-2", .value = "two", .max_age = 3600}, "cookie-2=two; Max-Age=3600"},
      {{.name = "cookie-3", .value = "three", .domain = ".example.com"},
       "cookie-3=three; Domain=example.com"},
      {{.name = "cookie-4", .value = "four", .path = "/restricted/"},
       "cookie-4=four; Path=/restricted/"},
      /* Go drops these bad domains; nethttp refuses the cookie. */
      {{.name = "cookie-5", .value = "five", .domain = "wrong;bad.abc"}, NULL},
      {{.name = "cookie-6", .value = "six", .domain = "bad-.abc"}, NULL},
      {{.name = "cookie-7", .value = "seven", .domain = "127.0.0.1"},
       "cookie-7=seven; Domain=127.0.0.1"},
      {{.name = "cookie-8", .value = "eight", .domain = "::1"}, NULL},
      {{.name = "cookie-9", .value = "expiring", .has_expires = 1, .expires = 1257894000},
       "cookie-9=expiring; Expires=Tue, 10 Nov 2009 23:00:00 GMT"},
      {{.name = "cookie-10", .value = "expiring-1601", .has_expires = 1,
        .expires = UNIX_1601_01_01_010101},
       "cookie-10=expiring-1601; Expires=Mon, 01 Jan 1601 01:01:01 GMT"},
      {{.name = "cookie-11", .value = "invalid-expiry", .has_expires = 1,
        .expires = UNIX_1600_01_01_010101},
       NULL},
      {{.name = "cookie-12", .value = "samesite-default", .same_site = NH_SAMESITE_DEFAULT},
       "cookie-12=samesite-default"},
      {{.name = "cookie-13", .value = "samesite-lax", .same_site = NH_SAMESITE_LAX},
       "cookie-13=samesite-lax; SameSite=Lax"},
      {{.name = "cookie-14", .value = "samesite-strict", .same_site = NH_SAMESITE_STRICT},
       "cookie-14=samesite-strict; SameSite=Strict"},
      {{.name = "cookie-15", .value = "samesite-none", .same_site = NH_SAMESITE_NONE},
       "cookie-15=samesite-none; SameSite=None"},
      {{.name = "cookie-16", .value = "partitioned", .same_site = NH_SAMESITE_NONE, .secure = 1,
        .partitioned = 1},
       "cookie-16=partitioned; Secure; SameSite=None; Partitioned"},
      {{.name = "cookie-17", .value = "v", .max_age = -1}, "cookie-17=v; Max-Age=0"},
      {{.name = "cookie-18", .value = "quoted", .quoted = 1}, "cookie-18=\"quoted\""},
      {{.name = "cookie-19", .value = "all", .path = "/p", .domain = "example.com",
        .has_expires = 1, .expires = 0, .max_age = 60, .http_only = 1, .secure = 1,
        .same_site = NH_SAMESITE_LAX},
       "cookie-19=all; Path=/p; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
       "Max-Age=60; HttpOnly; Secure; SameSite=Lax"},
      {{.name = "special-1", .value = "a z"}, "special-1=\"a z\""},
      {{.name = "special-2", .value = " z"}, "special-2=\" z\""},
      {{.name = "special-3", .value = "a "}, "special-3=\"a \""},
      {{.name = "special-4", .value = " "}, "special-4=\" \""},
      {{.name = "special-5", .value = "a,z"}, "special-5=\"a,z\""},
      {{.name = "special-6", .value = ",z"}, "special-6=\",z\""},
      {{.name = "special-7", .value = "a,"}, "special-7=\"a,\""},
      {{.name = "special-8", .value = ","}, "special-8=\",\""},
      {{.name = "empty-value", .value = ""}, "empty-value="},
      {{.name = "null-value"}, "null-value="},
      {{.name = ""}, NULL},
      {{.name = NULL}, NULL},
      {{.name = "\t"}, NULL},
      {{.name = "\r"}, NULL},
      {{.name = "a\nb", .value = "v"}, NULL},
      {{.name = "a\rb", .value = "v"}, NULL},
      {{.name = "a b", .value = "v"}, NULL},
      /* Values Go would sanitize: refused. */
      {{.name = "v", .value = "foo;bar"}, NULL},
      {{.name = "v", .value = "foo\\bar"}, NULL},
      {{.name = "v", .value = "foo\"bar"}, NULL},
      {{.name = "v", .value = "\x7e\x7f"}, NULL},
      {{.name = "v", .value = "\x80"}, NULL},
      /* RFC 6265 allows a value in double quotes: written as it is. */
      {{.name = "v", .value = "\"withquotes\""}, "v=\"withquotes\""},
      {{.name = "v", .value = "\"bar:baz\"", .quoted = 1}, "v=\"bar:baz\""},
      {{.name = "v", .value = "\"a b\""}, "v=\"a b\""},
      {{.name = "v", .value = "\"\""}, "v=\"\""},
      {{.name = "v", .value = "\"open"}, NULL},
      {{.name = "v", .value = "\""}, NULL},
      {{.name = "v", .value = "\"a\"b\""}, NULL},
      {{.name = "v", .value = "\"a;b\""}, NULL},
      {{.name = "v", .value = "a\r\nSet-Cookie: evil=1"}, NULL},
      /* Paths: space allowed, ';' and controls refused. */
      {{.name = "p", .value = "1", .path = "/path with space/"}, "p=1; Path=/path with space/"},
      {{.name = "p", .value = "1", .path = "/just;no;semicolon"}, NULL},
      {{.name = "p", .value = "1", .path = "/a\x01"}, NULL},
      {{.name = "d", .value = "1", .domain = "example.com:80"}, NULL},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    check_format(&t[i].c, t[i].want);
}

NH_TEST(cookie_valid_table) {
  struct { nh_cookie c; int valid; } t[] = {
      {{.name = ""}, 0},
      {{.name = "invalid-value", .value = "foo\"bar"}, 0},
      {{.name = "invalid-path", .path = "/foo;bar/"}, 0},
      {{.name = "invalid-domain", .domain = "example.com:80"}, 0},
      {{.name = "invalid-expiry", .has_expires = 1, .expires = UNIX_1600_01_01_010101}, 0},
      {{.name = "valid-empty"}, 1},
      {{.name = "valid-expires", .value = "foo", .path = "/bar", .domain = "example.com",
        .has_expires = 1, .expires = 0},
       1},
      {{.name = "valid-max-age", .value = "foo", .path = "/bar", .domain = "example.com",
        .max_age = 60},
       1},
      {{.name = "partitioned-not-secure", .value = "foo", .partitioned = 1}, 0},
      {{.name = "partitioned-secure", .value = "foo", .partitioned = 1, .secure = 1}, 1},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    int err = nh_cookie_valid(&t[i].c);
    if (t[i].valid ? err != 0 : err != NH_EINVAL)
      NH_FAIL("valid(%s) = %s", t[i].c.name, nh_err_name(err));
  }
  CHECK_EQ(nh_cookie_valid(NULL), NH_EINVAL);
}

static const nh_cookie *parse_one_set_cookie(nh_cookies *l, const char *line) {
  int err = nh_cookies_parse_set_cookie(l, line);
  if (err)
    NH_FAIL("parse_set_cookie(%s) = %s", line, nh_err_name(err));
  return nh_cookies_at(l, nh_cookies_len(l) - 1);
}

NH_TEST(read_set_cookies_table) {
  nh_cookies *l = nh_cookies_new();
  const nh_cookie *c = parse_one_set_cookie(l, "Cookie-1=v$1");
  CHECK_STR(c->name, "Cookie-1");
  CHECK_STR(c->value, "v$1");
  CHECK_STR(c->raw, "Cookie-1=v$1");
  CHECK(!c->path && !c->domain && !c->has_expires && !c->http_only);

  const char *nid = "NID=99=YsDT5i3E-CXax-; expires=Wed, 23-Nov-2011 01:05:03 GMT; path=/; "
                    "domain=.google.ch; HttpOnly";
  c = parse_one_set_cookie(l, nid);
  CHECK_STR(c->name, "NID");
  CHECK_STR(c->value, "99=YsDT5i3E-CXax-");
  CHECK_STR(c->path, "/");
  CHECK_STR(c->domain, ".google.ch");
  CHECK(c->http_only);
  CHECK(c->has_expires);
  CHECK_EQ(c->expires, 1322010303); /* 2011-11-23 01:05:03 UTC */
  CHECK_STR(c->raw_expires, "Wed, 23-Nov-2011 01:05:03 GMT");
  CHECK_STR(c->raw, nid);

  c = parse_one_set_cookie(
      l, ".ASPXAUTH=7E3AA; expires=Wed, 07-Mar-2012 14:25:06 GMT; path=/; HttpOnly");
  CHECK_STR(c->name, ".ASPXAUTH");
  CHECK_STR(c->value, "7E3AA");
  CHECK_EQ(c->expires, 1331130306); /* 2012-03-07 14:25:06 UTC */
  CHECK(c->http_only);

  c = parse_one_set_cookie(l, "ASP.NET_SessionId=foo; path=/; HttpOnly");
  CHECK_STR(c->name, "ASP.NET_SessionId");
  CHECK_STR(c->path, "/");

  struct { const char *line; nh_same_site ss; } ss[] = {
      {"samesitedefault=foo; SameSite", NH_SAMESITE_DEFAULT},
      {"samesiteinvalidisdefault=foo; SameSite=invalid", NH_SAMESITE_DEFAULT},
      {"samesitelax=foo; SameSite=Lax", NH_SAMESITE_LAX},
      {"samesitestrict=foo; SameSite=Strict", NH_SAMESITE_STRICT},
      {"samesitenone=foo; SameSite=None", NH_SAMESITE_NONE},
      {"nosamesite=foo", NH_SAMESITE_UNSET},
  };
  for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++)
    CHECK_EQ(parse_one_set_cookie(l, ss[i].line)->same_site, ss[i].ss);

  struct { const char *line, *name, *value; int quoted; } sp[] = {
      {"special-1=a z", "special-1", "a z", 0},  {"special-2=\" z\"", "special-2", " z", 1},
      {"special-3=\"a \"", "special-3", "a ", 1}, {"special-4=\" \"", "special-4", " ", 1},
      {"special-5=a,z", "special-5", "a,z", 0},  {"special-6=\",z\"", "special-6", ",z", 1},
      {"special-7=a,", "special-7", "a,", 0},    {"special-8=\",\"", "special-8", ",", 1},
      {"special-9 =\",\"", "special-9", ",", 1},
  };
  for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
    c = parse_one_set_cookie(l, sp[i].line);
    CHECK_STR(c->name, sp[i].name);
    CHECK_STR(c->value, sp[i].value);
    CHECK_EQ(c->quoted, sp[i].quoted);
    CHECK_STR(c->raw, sp[i].line);
  }

  /* Max-Age, Secure, Partitioned and case-insensitive attributes. */
  c = parse_one_set_cookie(l, "a=b; MAX-AGE=0; secure; PARTITIONED; Domain=x.org");
  CHECK_EQ(c->max_age, -1);
  CHECK(c->secure && c->partitioned);
  CHECK_STR(c->domain, "x.org");
  CHECK_EQ(parse_one_set_cookie(l, "a=b; Max-Age=-5")->max_age, -1);
  CHECK_EQ(parse_one_set_cookie(l, "a=b; Max-Age=05")->max_age, 0);  /* leading zero */
  CHECK_EQ(parse_one_set_cookie(l, "a=b; Max-Age=abc")->max_age, 0);
  CHECK_EQ(parse_one_set_cookie(l, "a=b; Max-Age=30")->max_age, 30);
  c = parse_one_set_cookie(l, "a=b; expires=garbage");
  CHECK(!c->has_expires);
  CHECK_STR(c->raw_expires, "garbage");

  /* Go's TestSetCookieDoubleQuotes: quotes allowed on the value only. */
  CHECK_EQ(parse_one_set_cookie(l, "quoted0=none; max-age=30")->max_age, 30);
  c = parse_one_set_cookie(l, "quoted1=\"cookieValue\"; max-age=31");
  CHECK_STR(c->value, "cookieValue");
  CHECK_EQ(c->max_age, 31);
  CHECK_EQ(parse_one_set_cookie(l, "quoted2=cookieAV; max-age=\"32\"")->max_age, 0);
  c = parse_one_set_cookie(l, "quoted3=\"both\"; max-age=\"33\"");
  CHECK_STR(c->value, "both");
  CHECK_EQ(c->max_age, 0);

  /* Refused lines append nothing. */
  size_t n = nh_cookies_len(l);
  const char *bad[] = {"", "   ", "noequals", "=novalue", "bad name=1", "a=b\"c",
                       "a=b\\c", "a=\x01", "\"q\"=1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (nh_cookies_parse_set_cookie(l, bad[i]) != NH_EINVAL)
      NH_FAIL("parse_set_cookie(%s) accepted", bad[i]);
  CHECK_EQ(nh_cookies_len(l), n);
  nh_cookies_free(l);
}

static void check_cookie_list(const nh_cookies *l, const char *const *want, size_t n) {
  CHECK_EQ(nh_cookies_len(l), n);
  for (size_t i = 0; i < n; i++) {
    char buf[128];
    const nh_cookie *c = nh_cookies_at(l, i);
    snprintf(buf, sizeof buf, "%s=%s", c->name, c->value);
    CHECK_STR(buf, want[i]);
  }
  CHECK(nh_cookies_at(l, n) == NULL);
}

NH_TEST(read_cookies_table) {
  struct { const char *lines[2]; const char *filter; const char *want[4]; size_t n; } t[] = {
      {{"Cookie-1=v$1", "c2=v2"}, NULL, {"Cookie-1=v$1", "c2=v2"}, 2},
      {{"Cookie-1=v$1", "c2=v2"}, "c2", {"c2=v2"}, 1},
      {{"Cookie-1=v$1; c2=v2"}, NULL, {"Cookie-1=v$1", "c2=v2"}, 2},
      {{"Cookie-1=v$1; c2=v2"}, "c2", {"c2=v2"}, 1},
      {{"Cookie-1=\"v$1\"; c2=\"v2\""}, NULL, {"Cookie-1=v$1", "c2=v2"}, 2},
      {{"Cookie-1=\"v$1\"; c2=v2;"}, NULL, {"Cookie-1=v$1", "c2=v2"}, 2},
      {{""}, NULL, {0}, 0},
      /* lenient: bad pairs skipped, good ones kept */
      {{"a=1; bad name=2; c=\"3; d=4\\5; e=5"}, NULL, {"a=1", "e=5"}, 2},
      {{" \t a = 1 ;;; =x; b"}, NULL, {"a= 1", "b="}, 2}, /* Go trims the name only */
      {{"a=1; a=2"}, NULL, {"a=1", "a=2"}, 2},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    for (int pass = 0; pass < 2; pass++) { /* the input is not modified */
      nh_cookies *l = nh_cookies_new();
      for (size_t j = 0; j < 2 && t[i].lines[j]; j++)
        CHECK_EQ(nh_cookies_parse_header(l, t[i].lines[j], t[i].filter), 0);
      check_cookie_list(l, t[i].want, t[i].n);
      nh_cookies_free(l);
    }
  }
  nh_cookies *l = nh_cookies_new();
  CHECK_EQ(nh_cookies_parse_header(l, "x=\"q\"; y=2", NULL), 0);
  CHECK(nh_cookies_get(l, "x")->quoted);
  CHECK(!nh_cookies_get(l, "y")->quoted);
  CHECK(nh_cookies_get(l, "z") == NULL);
  nh_cookies_free(l);
}

/* What format writes, the Set-Cookie reader reads back. */
NH_TEST(format_then_parse_roundtrip) {
  nh_cookie in = {.name = "sess", .value = "a b,c", .path = "/x", .domain = "example.org",
                  .has_expires = 1, .expires = 1700000000, .max_age = 99, .http_only = 1,
                  .secure = 1, .same_site = NH_SAMESITE_STRICT, .partitioned = 1};
  char *s;
  CHECK_EQ(nh_cookie_format(&in, &s), 0);
  nh_cookies *l = nh_cookies_new();
  const nh_cookie *c = parse_one_set_cookie(l, s);
  CHECK_STR(c->name, "sess");
  CHECK_STR(c->value, "a b,c");
  CHECK(c->quoted);
  CHECK_STR(c->path, "/x");
  CHECK_STR(c->domain, "example.org");
  CHECK(c->has_expires);
  CHECK_EQ(c->expires, 1700000000);
  CHECK_EQ(c->max_age, 99);
  CHECK(c->http_only && c->secure && c->partitioned);
  CHECK_EQ(c->same_site, NH_SAMESITE_STRICT);
  nh_cookies_free(l);
  free(s);
}

NH_TEST(base64_kinds) {
  struct { const char *in, *std, *url, *raw_std, *raw_url; } t[] = {
      {"", "", "", "", ""},
      {"f", "Zg==", "Zg==", "Zg", "Zg"},
      {"fo", "Zm8=", "Zm8=", "Zm8", "Zm8"},
      {"foo", "Zm9v", "Zm9v", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg==", "Zm9vYg", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE=", "Zm9vYmE", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy", "Zm9vYmFy", "Zm9vYmFy"},
      {"\xfb\xff\xbf", "+/+/", "-_-_", "+/+/", "-_-_"},
      {"\xfb\xf0", "+/A=", "-_A=", "+/A", "-_A"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    const char *want[4] = {t[i].std, t[i].url, t[i].raw_std, t[i].raw_url};
    size_t n = strlen(t[i].in);
    for (int k = 0; k < 4; k++) {
      char enc[32], dec[32];
      long m = nh_base64_encode((nh_base64_kind)k, t[i].in, n, enc, sizeof enc);
      CHECK_EQ(m, (long)strlen(want[k]));
      CHECK_EQ(m, (long)nh_base64_encoded_len((nh_base64_kind)k, n));
      CHECK_STR(enc, want[k]);
      long d = nh_base64_decode((nh_base64_kind)k, enc, (size_t)m, dec, sizeof dec);
      CHECK_EQ(d, (long)n);
      CHECK(memcmp(dec, t[i].in, n) == 0);
    }
  }
  char out[16];
  CHECK_EQ(nh_base64_encode(NH_BASE64_STD, "foo", 3, out, 4), NH_ERANGE); /* no room for NUL */
  CHECK_EQ(nh_base64_decode(NH_BASE64_STD, "Zm9v", 4, out, 2), NH_ERANGE);
  const char *bad_std[] = {"Z", "Zg", "Zg=", "Zg===", "Z===", "=Zg=", "Zm9v=", "Zg==Zg==",
                           "Zm 9v", "Zm9-", "Zm9_", "Zm9v\x80"};
  for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++)
    if (nh_base64_decode(NH_BASE64_STD, bad_std[i], strlen(bad_std[i]), out, sizeof out) !=
        NH_EINVAL)
      NH_FAIL("std decode(%s) accepted", bad_std[i]);
  CHECK_EQ(nh_base64_decode(NH_BASE64_RAW_URL, "Zg==", 4, out, sizeof out), NH_EINVAL);
  CHECK_EQ(nh_base64_decode(NH_BASE64_RAW_URL, "Z", 1, out, sizeof out), NH_EINVAL);
  /* As Go: CR and LF are skipped; non-zero trailing bits are accepted. */
  CHECK_EQ(nh_base64_decode(NH_BASE64_STD, "Zm\r\n9v", 6, out, sizeof out), 3);
  CHECK_EQ(nh_base64_decode(NH_BASE64_STD, "Zh==", 4, out, sizeof out), 1);
}

NH_TEST(basic_auth_header) {
  char buf[64];
  CHECK_EQ(nh_basic_auth_header("Aladdin", "open sesame", buf, sizeof buf), 34);
  CHECK_STR(buf, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  CHECK_EQ(nh_basic_auth_header("", "", buf, sizeof buf), 10);
  CHECK_STR(buf, "Basic Og==");
  CHECK_EQ(nh_basic_auth_header("Aladdin", "open sesame", buf, 34), NH_ERANGE);
  CHECK_EQ(nh_basic_auth_header("a", "b", buf, 3), NH_ERANGE);
  /* Long credentials go through the heap. */
  char user[300];
  memset(user, 'u', sizeof user - 1);
  user[sizeof user - 1] = 0;
  char big[512];
  CHECK(nh_basic_auth_header(user, "p", big, sizeof big) > 400);
}

/* The handler reports what nh_request_basic_auth saw. */
static void auth_echo(nh_response_writer *w, nh_request *r) {
  const char *u = "-", *p = "-";
  int err = nh_request_basic_auth(r, &u, &p);
  nh_resp_printf(w, "%d|%s|%s", err, u, p);
}

NH_TEST(request_basic_auth_table) {
  struct { const char *header; const char *want; } t[] = {
      {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "0|Aladdin|open sesame"},
      {"BASIC QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "0|Aladdin|open sesame"},
      {"basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "0|Aladdin|open sesame"},
      {"Basic QWxhZGRpbjpvcGVuOnNlc2FtZQ==", "0|Aladdin|open:sesame"},
      {"Basic Og==", "0||"},
      {"BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL},
      {"QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL},
      {"Basic ", NULL},
      {"Basic Aladdin:open sesame", NULL},
      {"Digest username=\"Aladdin\"", NULL},
      {"Basic QWxhZGRpbg==", NULL},     /* "Aladdin": no colon */
      {"Basic YQBiOmM=", NULL},         /* "a\0b:c": NUL refused */
      {NULL, NULL},                     /* no header */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char hdr[128] = "";
    if (t[i].header)
      snprintf(hdr, sizeof hdr, "Authorization: %s\r\n", t[i].header);
    nh_recorder *rec = nh_recorder_serve(auth_echo, NULL, "GET", "/", hdr, NULL);
    CHECK(rec);
    char want[64];
    snprintf(want, sizeof want, "%d|-|-", NH_ENOENT);
    CHECK_STR(nh_recorder_body(rec, NULL), t[i].want ? t[i].want : want);
    nh_recorder_free(rec);
  }
}

NH_TEST_MAIN()
