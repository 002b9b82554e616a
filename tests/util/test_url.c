/* URL parsing, printing, escaping and reference resolution: the tables of
 * Go's net/url url_test.go. */
#include "harness.h"
#include "nethttp/errors.h"
#include "nethttp/url.h"

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

#include <stdlib.h>
#include <string.h>

typedef struct url_case {
  const char *in;
  const char *scheme, *opaque, *user, *pass, *host, *path, *raw_path, *raw_query, *fragment,
      *raw_fragment;
  int force_query;
  const char *roundtrip; /* NULL = same as in */
} url_case;

#define U(in, ...) {in, __VA_ARGS__}
/* in, scheme, opaque, user, pass, host, path, raw_path, raw_query, fragment, raw_fragment,
 * force_query, roundtrip */
static const url_case urltests[] = {
    {"http://www.google.com", "http", "", NULL, NULL, "www.google.com", "", "", "", "", "", 0, NULL},
    {"http://www.google.com/", "http", "", NULL, NULL, "www.google.com", "/", "", "", "", "", 0, NULL},
    {"http://www.google.com/file%20one%26two", "http", "", NULL, NULL, "www.google.com",
     "/file one&two", "/file%20one%26two", "", "", "", 0, NULL},
    {"http://www.google.com/#file%20one%26two", "http", "", NULL, NULL, "www.google.com", "/", "",
     "", "file one&two", "file%20one%26two", 0, NULL},
    {"ftp://webmaster@www.google.com/", "ftp", "", "webmaster", NULL, "www.google.com", "/", "",
     "", "", "", 0, NULL},
    {"ftp://john%20doe@www.google.com/", "ftp", "", "john doe", NULL, "www.google.com", "/", "",
     "", "", "", 0, "ftp://john%20doe@www.google.com/"},
    {"http://www.google.com/?", "http", "", NULL, NULL, "www.google.com", "/", "", "", "", "", 1,
     NULL},
    {"http://www.google.com/?foo=bar?", "http", "", NULL, NULL, "www.google.com", "/", "",
     "foo=bar?", "", "", 0, NULL},
    {"http://www.google.com/?q=go+language", "http", "", NULL, NULL, "www.google.com", "/", "",
     "q=go+language", "", "", 0, NULL},
    {"http://www.google.com/?q=go%20language", "http", "", NULL, NULL, "www.google.com", "/", "",
     "q=go%20language", "", "", 0, NULL},
    {"http://www.google.com/a%20b?q=c+d", "http", "", NULL, NULL, "www.google.com", "/a b", "",
     "q=c+d", "", "", 0, NULL},
    {"http:www.google.com/?q=go+language", "http", "www.google.com/", NULL, NULL, "", "", "",
     "q=go+language", "", "", 0, NULL},
    {"http:%2f%2fwww.google.com/?q=go+language", "http", "%2f%2fwww.google.com/", NULL, NULL, "",
     "", "", "q=go+language", "", "", 0, NULL},
    {"mailto:/webmaster@golang.org", "mailto", "", NULL, NULL, "", "/webmaster@golang.org", "", "",
     "", "", 0, NULL}, /* Go 1.21+: OmitHost keeps the single slash */
    {"mailto:webmaster@golang.org", "mailto", "webmaster@golang.org", NULL, NULL, "", "", "", "",
     "", "", 0, NULL},
    {"/foo?query=http://bad", "", "", NULL, NULL, "", "/foo", "", "query=http://bad", "", "", 0,
     NULL},
    {"//foo", "", "", NULL, NULL, "foo", "", "", "", "", "", 0, NULL},
    {"//user@foo/path?a=b", "", "", "user", NULL, "foo", "/path", "", "a=b", "", "", 0, NULL},
    {"///threeslashes", "", "", NULL, NULL, "", "///threeslashes", "", "", "", "", 0, NULL},
    {"http://user:password@google.com", "http", "", "user", "password", "google.com", "", "", "",
     "", "", 0, NULL},
    {"http://j@ne:password@google.com", "http", "", "j@ne", "password", "google.com", "", "", "",
     "", "", 0, "http://j%40ne:password@google.com"},
    {"http://jane:p@ssword@google.com", "http", "", "jane", "p@ssword", "google.com", "", "", "",
     "", "", 0, "http://jane:p%40ssword@google.com"},
    {"http://j@ne:password@google.com/p@th?q=@go", "http", "", "j@ne", "password", "google.com",
     "/p@th", "", "q=@go", "", "", 0, "http://j%40ne:password@google.com/p@th?q=@go"},
    {"http://www.google.com/?q=go+language#foo", "http", "", NULL, NULL, "www.google.com", "/", "",
     "q=go+language", "foo", "", 0, NULL},
    {"http://www.google.com/?q=go+language#foo&bar", "http", "", NULL, NULL, "www.google.com", "/",
     "", "q=go+language", "foo&bar", "", 0, NULL},
    {"http://www.google.com/?q=go+language#foo%26bar", "http", "", NULL, NULL, "www.google.com",
     "/", "", "q=go+language", "foo&bar", "foo%26bar", 0, NULL},
    {"file:///home/adg/rabbits", "file", "", NULL, NULL, "", "/home/adg/rabbits", "", "", "", "",
     0, NULL},
    {"file:///C:/FooBar/Baz.txt", "file", "", NULL, NULL, "", "/C:/FooBar/Baz.txt", "", "", "", "",
     0, NULL},
    {"MaIlTo:webmaster@golang.org", "mailto", "webmaster@golang.org", NULL, NULL, "", "", "", "",
     "", "", 0, "mailto:webmaster@golang.org"},
    {"a/b/c", "", "", NULL, NULL, "", "a/b/c", "", "", "", "", 0, NULL},
    {"http://%3Fam:pa%3Fsword@google.com", "http", "", "?am", "pa?sword", "google.com", "", "", "",
     "", "", 0, NULL},
    {"http://192.168.0.1/", "http", "", NULL, NULL, "192.168.0.1", "/", "", "", "", "", 0, NULL},
    {"http://192.168.0.1:8080/", "http", "", NULL, NULL, "192.168.0.1:8080", "/", "", "", "", "", 0,
     NULL},
    {"http://[fe80::1]/", "http", "", NULL, NULL, "[fe80::1]", "/", "", "", "", "", 0, NULL},
    {"http://[fe80::1]:8080/", "http", "", NULL, NULL, "[fe80::1]:8080", "/", "", "", "", "", 0,
     NULL},
    {"http://[fe80::1%25en0]/", "http", "", NULL, NULL, "[fe80::1%en0]", "/", "", "", "", "", 0,
     NULL},
    {"http://[fe80::1%25en0]:8080/", "http", "", NULL, NULL, "[fe80::1%en0]:8080", "/", "", "", "",
     "", 0, NULL},
    {"http://[fe80::1%25%65%6e%301-._~]/", "http", "", NULL, NULL, "[fe80::1%en01-._~]", "/", "",
     "", "", "", 0, "http://[fe80::1%25en01-._~]/"},
    {"http://[fe80::1%25%65%6e%301-._~]:8080/", "http", "", NULL, NULL, "[fe80::1%en01-._~]:8080",
     "/", "", "", "", "", 0, "http://[fe80::1%25en01-._~]:8080/"},
    {"http://rest.rsc.io/foo%2fbar/baz%2Fquux?alt=media", "http", "", NULL, NULL, "rest.rsc.io",
     "/foo/bar/baz/quux", "/foo%2fbar/baz%2Fquux", "alt=media", "", "", 0, NULL},
    {"mysql://a,b,c/bar", "mysql", "", NULL, NULL, "a,b,c", "/bar", "", "", "", "", 0, NULL},
    {"scheme://!$&'()*+,;=hello!:1/path", "scheme", "", NULL, NULL, "!$&'()*+,;=hello!:1",
     "/path", "", "", "", "", 0, NULL},
    {"http://host/!$&'()*+,;=:@[hello]", "http", "", NULL, NULL, "host", "/!$&'()*+,;=:@[hello]",
     "/!$&'()*+,;=:@[hello]", "", "", "", 0, NULL},
    {"http://example.com/oid/[order_id]", "http", "", NULL, NULL, "example.com", "/oid/[order_id]",
     "/oid/[order_id]", "", "", "", 0, NULL},
    {"http://192.168.0.2:8080/foo", "http", "", NULL, NULL, "192.168.0.2:8080", "/foo", "", "", "",
     "", 0, NULL},
    {"http://192.168.0.2:/foo", "http", "", NULL, NULL, "192.168.0.2:", "/foo", "", "", "", "", 0,
     NULL},
    {"http://2b01:e34:ef40:7730:8e70:5aff:fefe:edac:8080/foo", "http", "", NULL, NULL,
     "2b01:e34:ef40:7730:8e70:5aff:fefe:edac:8080", "/foo", "", "", "", "", 0, NULL},
    {"http://2b01:e34:ef40:7730:8e70:5aff:fefe:edac:/foo", "http", "", NULL, NULL,
     "2b01:e34:ef40:7730:8e70:5aff:fefe:edac:", "/foo", "", "", "", "", 0, NULL},
    {"http://[2b01:e34:ef40:7730:8e70:5aff:fefe:edac]:8080/foo", "http", "", NULL, NULL,
     "[2b01:e34:ef40:7730:8e70:5aff:fefe:edac]:8080", "/foo", "", "", "", "", 0, NULL},
    {"http://[2b01:e34:ef40:7730:8e70:5aff:fefe:edac]:/foo", "http", "", NULL, NULL,
     "[2b01:e34:ef40:7730:8e70:5aff:fefe:edac]:", "/foo", "", "", "", "", 0, NULL},
    {"http://hello.\xe4\xb8\x96\xe7\x95\x8c.com/foo", "http", "", NULL, NULL,
     "hello.\xe4\xb8\x96\xe7\x95\x8c.com", "/foo", "", "", "", "", 0,
     "http://hello.%E4%B8%96%E7%95%8C.com/foo"},
    {"http://hello.%e4%b8%96%e7%95%8c.com/foo", "http", "", NULL, NULL,
     "hello.\xe4\xb8\x96\xe7\x95\x8c.com", "/foo", "", "", "", "", 0,
     "http://hello.%E4%B8%96%E7%95%8C.com/foo"},
    {"http://hello.%E4%B8%96%E7%95%8C.com/foo", "http", "", NULL, NULL,
     "hello.\xe4\xb8\x96\xe7\x95\x8c.com", "/foo", "", "", "", "", 0, NULL},
    {"http://example.com//foo", "http", "", NULL, NULL, "example.com", "//foo", "", "", "", "", 0,
     NULL},
    {"myscheme://authority<\"hi\">/foo", "myscheme", "", NULL, NULL, "authority<\"hi\">", "/foo",
     "", "", "", "", 0, NULL},
    {"tcp://[2020::2020:20:2020:2020%25Windows%20Loves%20Spaces]:2020", "tcp", "", NULL, NULL,
     "[2020::2020:20:2020:2020%Windows Loves Spaces]:2020", "", "", "", "", "", 0, NULL},
    {"magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn", "magnet", "", NULL, NULL,
     "", "", "", "xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn", "", "", 0, NULL},
    {"mailto:?subject=hi", "mailto", "", NULL, NULL, "", "", "", "subject=hi", "", "", 0, NULL},
};

static void check_opt(const char *what, const char *in, const char *got, const char *want) {
  if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
    NH_FAIL("Parse(%s): %s = \"%s\", want \"%s\"", in, what, got ? got : "(null)",
            want ? want : "(null)");
}

NH_TEST(parse_table) {
  for (size_t i = 0; i < sizeof urltests / sizeof urltests[0]; i++) {
    const url_case *t = &urltests[i];
    nh_url *u;
    int err = nh_url_parse(t->in, &u);
    if (err)
      NH_FAIL("Parse(%s) = %s", t->in, nh_err_name(err));
    check_opt("scheme", t->in, u->scheme, t->scheme);
    check_opt("opaque", t->in, u->opaque, t->opaque);
    check_opt("user", t->in, u->user, t->user);
    check_opt("password", t->in, u->password, t->pass);
    check_opt("host", t->in, u->host, t->host);
    check_opt("path", t->in, u->path, t->path);
    check_opt("raw_path", t->in, u->raw_path, t->raw_path);
    check_opt("raw_query", t->in, u->raw_query, t->raw_query);
    check_opt("fragment", t->in, u->fragment, t->fragment);
    check_opt("raw_fragment", t->in, u->raw_fragment, t->raw_fragment);
    CHECK_EQ(u->force_query, t->force_query);
    char *s = nh_url_string(u);
    check_opt("String()", t->in, s, t->roundtrip ? t->roundtrip : t->in);
    /* A copy prints the same. */
    nh_url *d = nh_url_dup(u);
    char *s2 = nh_url_string(d);
    CHECK_STR(s2, s);
    free(s);
    free(s2);
    nh_url_free(d);
    nh_url_free(u);
  }
}

static nh_url *url_with(const char *scheme, const char *host, const char *path) {
  nh_url *u = nh_url_new();
  free(u->scheme);
  u->scheme = strdup(scheme);
  free(u->host);
  u->host = strdup(host);
  free(u->path);
  u->path = strdup(path);
  return u;
}

NH_TEST(string_of_built_urls) {
  struct { const char *scheme, *host, *path, *want; } t[] = {
      {"http", "www.google.com", "search", "http://www.google.com/search"},
      {"", "", "this:that", "./this:that"},
      {"", "", "here/this:that", "here/this:that"},
      {"http", "www.google.com", "this:that", "http://www.google.com/this:that"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    nh_url *u = url_with(t[i].scheme, t[i].host, t[i].path);
    char *s = nh_url_string(u);
    CHECK_STR(s, t[i].want);
    free(s);
    nh_url_free(u);
  }
}

NH_TEST(parse_errors) {
  struct { const char *in; int want_err; } t[] = {
      {"http://[::1]", 0},
      {"http://[::1]:80", 0},
      {"http://[::1]:namedport", 1},
      {"http://x:namedport", 1},
      {"http://[::1]/", 0},
      {"http://[::1]a", 1},
      {"http://[::1]%23", 1},
      {"http://[::1%25en0]", 0},
      {"http://[::1]:", 0},
      {"http://x:", 0},
      {"http://[::1]:%38%30", 1},
      {"http://[::1%25%41]", 0},
      {"http://[%10::1]", 1},
      {"http://[::1]/%48", 0},
      {"http://%41:8080/", 1},
      {"mysql://x@y(z:123)/foo", 1},
      {"mysql://x@y(1.2.3.4:123)/foo", 1},
      {" http://foo.com", 1},
      {"ht tp://foo.com", 1},
      {"ahttp://foo.com", 0},
      {"1http://foo.com", 1},
      {"http://[]%20%48%54%54%50%2f%31%2e%31%0a%4d%79%48%65%61%64%65%72%3a%20%31%32%33%0a%0a/", 1},
      {"http://a b.com/", 1},
      {"cache_object://foo", 1},
      {"cache_object:foo", 1},
      {"cache_object:foo/bar", 1},
      {"cache_object/:foo/bar", 0},
      /* control bytes, invalid userinfo */
      {"http://foo.com/?foo\nbar", 1},
      {"http\r://foo.com/", 1},
      {"http://foo\x7f.com/", 1},
      {"http://foo.com/ctl\x80", 0},
      {"http://user^:passwo^rd@foo.com/", 1},
      {":foo", 1},
      {"http://x/%zz", 1},
      {"http://x/#%zz", 1},
      {"http://[::1", 1},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    nh_url *u = NULL;
    int err = nh_url_parse(t[i].in, &u);
    if (t[i].want_err && err != NH_EINVAL)
      NH_FAIL("Parse(%s) = %s, want NH_EINVAL", t[i].in, nh_err_name(err));
    if (!t[i].want_err && err)
      NH_FAIL("Parse(%s) = %s, want success", t[i].in, nh_err_name(err));
    if (err)
      CHECK(u == NULL);
    nh_url_free(u);
  }
}

NH_TEST(parse_request_uri) {
  struct { const char *in; int ok; } t[] = {
      {"http://foo.com", 1},
      {"http://foo.com/", 1},
      {"http://foo.com/path", 1},
      {"/", 1},
      {"//not.a.user@not.a.host/just/a/path", 1},
      {"//not.a.user@%66%6f%6f.com/just/a/path/also", 1},
      {"*", 1},
      {"http://192.168.0.1/", 1},
      {"http://192.168.0.1:8080/", 1},
      {"http://[fe80::1]/", 1},
      {"http://[fe80::1]:8080/", 1},
      {"http://[fe80::1%25en0]/", 1},
      {"http://[fe80::1%25en0]:8080/", 1},
      {"http://[fe80::1%25%65%6e%301-._~]/", 1},
      {"http://[fe80::1%25%65%6e%301-._~]:8080/", 1},
      {"foo.html", 0},
      {"../dir/", 0},
      {" http://foo.com", 0},
      {"http://192.168.0.%31/", 0},
      {"http://192.168.0.%31:8080/", 0},
      {"http://[fe80::%31]/", 0},
      {"http://[fe80::%31]:8080/", 0},
      {"http://[fe80::%31%25en0]/", 0},
      {"http://[fe80::%31%25en0]:8080/", 0},
      {"http://[fe80::1%en0]/", 0},
      {"http://[fe80::1%en0]:8080/", 0},
      {"", 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    nh_url *u = NULL;
    int err = nh_url_parse_request_uri(t[i].in, &u);
    if (t[i].ok != (err == 0))
      NH_FAIL("ParseRequestURI(%s) = %s", t[i].in, nh_err_name(err));
    nh_url_free(u);
  }
  nh_url *u;
  CHECK_EQ(nh_url_parse_request_uri("//not.a.user@not.a.host/just/a/path", &u), 0);
  CHECK_STR(u->path, "//not.a.user@not.a.host/just/a/path");
  CHECK_STR(u->host, "");
  nh_url_free(u);
  /* No fragment in a request target: '#' stays in the path. */
  CHECK_EQ(nh_url_parse_request_uri("/a#b", &u), 0);
  CHECK_STR(u->path, "/a#b");
  nh_url_free(u);
}

NH_TEST(unescape_table) {
  struct { const char *in, *out; int err; } t[] = {
      {"", "", 0},         {"abc", "abc", 0},     {"1%41", "1A", 0}, {"1%41%42%43", "1ABC", 0},
      {"%4a", "J", 0},     {"%6F", "o", 0},       {"%", "", 1},      {"%a", "", 1},
      {"%1", "", 1},       {"123%45%6", "", 1},   {"%zzzzz", "", 1}, {"a+b", "a b", 0},
      {"a%20b", "a b", 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char *out = NULL;
    int err = nh_query_unescape(t[i].in, &out, NULL);
    if (t[i].err) {
      CHECK_EQ(err, NH_EINVAL);
      CHECK(out == NULL);
      CHECK_EQ(nh_path_unescape(t[i].in, &out, NULL), NH_EINVAL);
      continue;
    }
    CHECK_EQ(err, 0);
    CHECK_STR(out, t[i].out);
    free(out);
    /* PathUnescape keeps '+'. */
    CHECK_EQ(nh_path_unescape(t[i].in, &out, NULL), 0);
    if (strchr(t[i].in, '+'))
      CHECK(strchr(out, '+') != NULL);
    else
      CHECK_STR(out, t[i].out);
    free(out);
  }
  size_t n;
  char *out;
  CHECK_EQ(nh_query_unescape("a%00b", &out, &n), 0);
  CHECK_EQ(n, 3);
  CHECK(memcmp(out, "a\0b", 3) == 0);
  free(out);
}

NH_TEST(escape_tables) {
  const char *special = " ?&=#+%!<>#\"{}|\\^[]`\xe2\x98\xba\t:/@$'()*,;";
  struct { const char *in, *query, *path; } t[] = {
      {"", "", ""},
      {"abc", "abc", "abc"},
      {"one two", "one+two", "one%20two"},
      {"10%", "10%25", "10%25"},
      {"abc+def", "abc%2Bdef", "abc+def"},
      {"a/b", "a%2Fb", "a%2Fb"},
      {special,
       "+%3F%26%3D%23%2B%25%21%3C%3E%23%22%7B%7D%7C%5C%5E%5B%5D%60%E2%98%BA%09%3A%2F%40%24%27%28%"
       "29%2A%2C%3B",
       "%20%3F&=%23+%25%21%3C%3E%23%22%7B%7D%7C%5C%5E%5B%5D%60%E2%98%BA%09:%2F@$%27%28%29%2A%2C%"
       "3B"},
      {"\xd0\xa4\xd0\xbe\xd1\x82\xd0\xba\xd0\xb8 \xd1\x81\xd0\xbe\xd0\xb1\xd0\xb0\xd0\xba",
       "%D0%A4%D0%BE%D1%82%D0%BA%D0%B8+%D1%81%D0%BE%D0%B1%D0%B0%D0%BA",
       "%D0%A4%D0%BE%D1%82%D0%BA%D0%B8%20%D1%81%D0%BE%D0%B1%D0%B0%D0%BA"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char *q = nh_query_escape(t[i].in), *p = nh_path_escape(t[i].in), *back;
    CHECK_STR(q, t[i].query);
    CHECK_STR(p, t[i].path);
    CHECK_EQ(nh_query_unescape(q, &back, NULL), 0); /* escape then unescape is identity */
    CHECK_STR(back, t[i].in);
    free(back);
    CHECK_EQ(nh_path_unescape(p, &back, NULL), 0);
    CHECK_STR(back, t[i].in);
    free(back);
    free(q);
    free(p);
  }
}

NH_TEST(resolve_reference_table) {
  static const char *t[][3] = {
      {"http://foo.com?a=b", "https://bar.com/", "https://bar.com/"},
      {"http://foo.com/", "https://bar.com/?a=b", "https://bar.com/?a=b"},
      {"http://foo.com/", "https://bar.com/?", "https://bar.com/?"},
      {"http://foo.com/bar", "mailto:foo@example.com", "mailto:foo@example.com"},
      {"http://foo.com/bar", "/baz", "http://foo.com/baz"},
      {"http://foo.com/bar?a=b#f", "/baz", "http://foo.com/baz"},
      {"http://foo.com/bar?a=b", "/baz?", "http://foo.com/baz?"},
      {"http://foo.com/bar?a=b", "/baz?c=d", "http://foo.com/baz?c=d"},
      {"http://foo.com/bar", "http://foo.com//baz", "http://foo.com//baz"},
      {"http://foo.com/bar", "http://foo.com///baz/quux", "http://foo.com///baz/quux"},
      {"https://foo.com/bar?a=b", "//bar.com/quux", "https://bar.com/quux"},
      {"http://foo.com", ".", "http://foo.com/"},
      {"http://foo.com/bar", ".", "http://foo.com/"},
      {"http://foo.com/bar/", ".", "http://foo.com/bar/"},
      {"http://foo.com", "bar", "http://foo.com/bar"},
      {"http://foo.com/", "bar", "http://foo.com/bar"},
      {"http://foo.com/bar/baz", "quux", "http://foo.com/bar/quux"},
      {"http://foo.com/bar/baz", "../quux", "http://foo.com/quux"},
      {"http://foo.com/bar/baz", "../../../../../quux", "http://foo.com/quux"},
      {"http://foo.com/bar", "..", "http://foo.com/"},
      {"http://foo.com/bar/baz", "./..", "http://foo.com/"},
      {"http://foo.com/bar/baz", "quux/dotdot/../tail", "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/../tail", "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/.././tail", "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/./../tail", "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/dotdot/././../../tail",
       "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/dotdot/./.././../tail",
       "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/dotdot/dotdot/./../../.././././tail",
       "http://foo.com/bar/quux/tail"},
      {"http://foo.com/bar/baz", "quux/./dotdot/../dotdot/../dot/./tail/..",
       "http://foo.com/bar/quux/dot/"},
      {"http://foo.com/dot/./dotdot/../foo/bar", "../baz", "http://foo.com/dot/baz"},
      {"http://foo.com/bar", "...", "http://foo.com/..."},
      {"http://foo.com/bar", ".#frag", "http://foo.com/#frag"},
      {"http://example.org/", "#!$&%27()*+,;=", "http://example.org/#!$&%27()*+,;="},
      {"http://foo.com/foo%2fbar/", "../baz", "http://foo.com/baz"},
      {"http://foo.com/1/2%2f/3%2f4/5", "../../a/b/c", "http://foo.com/1/a/b/c"},
      {"http://foo.com/1/2/3", "./a%2f../../b/..%2fc", "http://foo.com/1/2/b/..%2fc"},
      {"http://foo.com/1/2%2f/3%2f4/5", "./a%2f../b/../c", "http://foo.com/1/2%2f/3%2f4/a%2f../c"},
      {"http://foo.com/foo%20bar/", "../baz", "http://foo.com/baz"},
      {"http://foo.com/foo", "../bar%2fbaz", "http://foo.com/bar%2fbaz"},
      {"http://foo.com/foo%2dbar/", "./baz-quux", "http://foo.com/foo%2dbar/baz-quux"},
      {"http://a/b/c/d;p?q", "g:h", "g:h"},
      {"http://a/b/c/d;p?q", "g", "http://a/b/c/g"},
      {"http://a/b/c/d;p?q", "./g", "http://a/b/c/g"},
      {"http://a/b/c/d;p?q", "g/", "http://a/b/c/g/"},
      {"http://a/b/c/d;p?q", "/g", "http://a/g"},
      {"http://a/b/c/d;p?q", "//g", "http://g"},
      {"http://a/b/c/d;p?q", "?y", "http://a/b/c/d;p?y"},
      {"http://a/b/c/d;p?q", "g?y", "http://a/b/c/g?y"},
      {"http://a/b/c/d;p?q", "#s", "http://a/b/c/d;p?q#s"},
      {"http://a/b/c/d;p?q", "g#s", "http://a/b/c/g#s"},
      {"http://a/b/c/d;p?q", "g?y#s", "http://a/b/c/g?y#s"},
      {"http://a/b/c/d;p?q", ";x", "http://a/b/c/;x"},
      {"http://a/b/c/d;p?q", "g;x", "http://a/b/c/g;x"},
      {"http://a/b/c/d;p?q", "g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"http://a/b/c/d;p?q", "", "http://a/b/c/d;p?q"},
      {"http://a/b/c/d;p?q", ".", "http://a/b/c/"},
      {"http://a/b/c/d;p?q", "./", "http://a/b/c/"},
      {"http://a/b/c/d;p?q", "..", "http://a/b/"},
      {"http://a/b/c/d;p?q", "../", "http://a/b/"},
      {"http://a/b/c/d;p?q", "../g", "http://a/b/g"},
      {"http://a/b/c/d;p?q", "../..", "http://a/"},
      {"http://a/b/c/d;p?q", "../../", "http://a/"},
      {"http://a/b/c/d;p?q", "../../g", "http://a/g"},
      {"http://a/b/c/d;p?q", "../../../g", "http://a/g"},
      {"http://a/b/c/d;p?q", "../../../../g", "http://a/g"},
      {"http://a/b/c/d;p?q", "/./g", "http://a/g"},
      {"http://a/b/c/d;p?q", "/../g", "http://a/g"},
      {"http://a/b/c/d;p?q", "g.", "http://a/b/c/g."},
      {"http://a/b/c/d;p?q", ".g", "http://a/b/c/.g"},
      {"http://a/b/c/d;p?q", "g..", "http://a/b/c/g.."},
      {"http://a/b/c/d;p?q", "..g", "http://a/b/c/..g"},
      {"http://a/b/c/d;p?q", "./../g", "http://a/b/g"},
      {"http://a/b/c/d;p?q", "./g/.", "http://a/b/c/g/"},
      {"http://a/b/c/d;p?q", "g/./h", "http://a/b/c/g/h"},
      {"http://a/b/c/d;p?q", "g/../h", "http://a/b/c/h"},
      {"http://a/b/c/d;p?q", "g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"http://a/b/c/d;p?q", "g;x=1/../y", "http://a/b/c/y"},
      {"http://a/b/c/d;p?q", "g?y/./x", "http://a/b/c/g?y/./x"},
      {"http://a/b/c/d;p?q", "g?y/../x", "http://a/b/c/g?y/../x"},
      {"http://a/b/c/d;p?q", "g#s/./x", "http://a/b/c/g#s/./x"},
      {"http://a/b/c/d;p?q", "g#s/../x", "http://a/b/c/g#s/../x"},
      {"https://a/b/c/d;p?q", "//g?q", "https://g?q"},
      {"https://a/b/c/d;p?q", "//g#s", "https://g#s"},
      {"https://a/b/c/d;p?q", "//g/d/e/f?y#s", "https://g/d/e/f?y#s"},
      {"https://a/b/c/d;p#s", "?y", "https://a/b/c/d;p?y"},
      {"https://a/b/c/d;p?q#s", "?y", "https://a/b/c/d;p?y"},
      {"https://a/b/c/d;p?q#s", "?", "https://a/b/c/d;p?"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    nh_url *base, *ref, *res;
    CHECK_EQ(nh_url_parse(t[i][0], &base), 0);
    CHECK_EQ(nh_url_parse(t[i][1], &ref), 0);
    CHECK_EQ(nh_url_resolve(base, ref, &res), 0);
    char *s = nh_url_string(res);
    if (strcmp(s, t[i][2]) != 0)
      NH_FAIL("resolve(%s, %s) = %s, want %s", t[i][0], t[i][1], s, t[i][2]);
    free(s);
    nh_url_free(res);
    CHECK_EQ(nh_url_parse_ref(base, t[i][1], &res), 0);
    s = nh_url_string(res);
    CHECK_STR(s, t[i][2]);
    free(s);
    nh_url_free(res);
    /* An opaque reference resets everything. */
    CHECK_EQ(nh_url_parse_ref(base, "scheme:opaque", &res), 0);
    s = nh_url_string(res);
    CHECK_STR(s, "scheme:opaque");
    CHECK_STR(res->host, "");
    CHECK(res->user == NULL);
    free(s);
    nh_url_free(res);
    nh_url_free(base);
    nh_url_free(ref);
  }
}

NH_TEST(request_uri_and_host_port) {
  nh_url *u;
  struct { const char *in, *want; } t[] = {
      {"http://example.com", "/"},
      {"http://example.com/a%20b?q=go+language", "/a%20b?q=go+language"},
      {"http://example.com/%2F/%2F/", "/%2F/%2F/"},
      {"http://example.com//foo", "//foo"},
      {"http://example.com/foo?", "/foo?"},
      {"myschema:opaque?q=go+language", "opaque?q=go+language"},
      {"*", "*"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    CHECK_EQ(nh_url_parse(t[i].in, &u), 0);
    char *s = nh_url_request_uri(u);
    CHECK_STR(s, t[i].want);
    free(s);
    nh_url_free(u);
  }
  /* A raw path that does not match the path is ignored. */
  u = url_with("http", "example.com", "/////");
  free(u->raw_path);
  u->raw_path = strdup("/WRONG/");
  char *s = nh_url_request_uri(u);
  CHECK_STR(s, "/////");
  free(s);
  nh_url_free(u);

  struct { const char *host, *name, *port; } hp[] = {
      {"foo.com:80", "foo.com", "80"},
      {"foo.com", "foo.com", ""},
      {"foo.com:", "foo.com", ""},
      {"FOO.COM", "FOO.COM", ""},
      {"1.2.3.4:80", "1.2.3.4", "80"},
      {"[1:2:3:4]", "1:2:3:4", ""},
      {"[::1]:80", "::1", "80"},
      {"[::1]:", "::1", ""},
      {"[google.com]:80", "google.com", "80"},
      {"google.com]:80", "google.com]", "80"},
      {"google.com:80_invalid_port", "google.com:80_invalid_port", ""},
      {"[::1]extra]:80", "::1]extra", "80"},
      {"google.com]extra:extra", "google.com]extra:extra", ""},
  };
  for (size_t i = 0; i < sizeof hp / sizeof hp[0]; i++) {
    u = url_with("http", hp[i].host, "");
    char name[64];
    CHECK(nh_url_hostname(u, name, sizeof name) >= 0);
    CHECK_STR(name, hp[i].name);
    CHECK_STR(nh_url_port(u), hp[i].port);
    nh_url_free(u);
  }
  u = url_with("http", "example.com", "");
  char tiny[4];
  CHECK_EQ(nh_url_hostname(u, tiny, sizeof tiny), NH_ERANGE);
  CHECK(nh_url_is_abs(u));
  nh_url_free(u);
}

NH_TEST(url_query_values) {
  nh_url *u;
  CHECK_EQ(nh_url_parse("http://x.com?foo=bar&bar=1&bar=2&baz", &u), 0);
  nh_values *v;
  CHECK_EQ(nh_url_query(u, &v), 0);
  CHECK_STR(nh_values_get(v, "foo"), "bar");
  CHECK(nh_values_get(v, "Foo") == NULL);
  CHECK_STR(nh_values_get(v, "bar"), "1");
  CHECK_STR(nh_values_get(v, "baz"), "");
  CHECK(nh_values_has(v, "baz"));
  CHECK(!nh_values_has(v, "noexist"));
  CHECK_EQ(nh_values_del(v, "bar"), 2);
  CHECK(nh_values_get(v, "bar") == NULL);
  nh_values_free(v);
  nh_url_free(u);
}

NH_TEST_MAIN()
