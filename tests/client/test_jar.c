/* The cookie jar: Go's cookiejar/jar_test.go tables (with its test public
 * suffix list and a synthetic clock), the real public suffix list of
 * libpsl, and a client keeping cookies across a redirect over a socket. */
#include "harness.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <time.h>

#include "client/jar_internal.h"

/* ---- Go's test setup ---- */

#define T_NOW_MS (1357041600LL * 1000) /* 2013-01-01 12:00:00 UTC */
static int64_t clock_ms;
static int64_t test_clock(void *user) {
  (void)user;
  return clock_ms;
}

/* Go's testPSL: "co.uk", the default rule "*", and two deliberate bugs. */
static const char *test_psl(void *user, const char *d) {
  (void)user;
  size_t n = strlen(d);
  if (!strcmp(d, "co.uk") || (n > 6 && !strcmp(d + n - 6, ".co.uk")))
    return "co.uk";
  if (!strcmp(d, "www.buggy.psl"))
    return "xy";
  if (!strcmp(d, "www2.buggy.psl"))
    return "com";
  const char *dot = strrchr(d, '.');
  return dot ? dot + 1 : d;
}

static nh_cookie_jar *new_test_jar(void) {
  nh_cookie_jar_options o = {.public_suffix = test_psl, .now_ms = test_clock};
  nh_cookie_jar *jar = nh_cookie_jar_new(&o);
  CHECK(jar);
  return jar;
}

static nh_url *url(const char *s) {
  nh_url *u;
  CHECK_EQ(nh_url_parse(s, &u), NH_OK);
  return u;
}

/* expires=<time delta seconds from the test's now>. */
static const char *expires_in(char *buf, size_t cap, int delta) {
  time_t t = (time_t)(T_NOW_MS / 1000 + delta);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "expires=%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

typedef struct query {
  const char *to, *want;
} query;

typedef struct jar_test {
  const char *desc, *from;
  const char *set[16];
  const char *content;
  query q[12];
} jar_test;

/* "a=1 b=2": the cookies Cookies(u) gives, in order. */
static char *cookies_for(nh_cookie_jar *jar, const char *to) {
  nh_url *u = url(to);
  nh_cookies *l;
  CHECK_EQ(nh_cookie_jar_cookies(jar, u, &l), NH_OK);
  nh_url_free(u);
  char *s = calloc(1, 4096);
  CHECK(s);
  for (size_t i = 0; i < nh_cookies_len(l); i++) {
    const nh_cookie *c = nh_cookies_at(l, i);
    snprintf(s + strlen(s), 4096 - strlen(s), "%s%s=%s", i ? " " : "", c->name, c->value);
  }
  nh_cookies_free(l);
  return s;
}

/* Go's jarTest.run: set at now, check the content 1001 ms later, then one
 * query every 1001 ms. */
static void run(const jar_test *t, nh_cookie_jar *jar) {
  clock_ms = T_NOW_MS;
  size_t n = 0;
  while (n < 16 && t->set[n])
    n++;
  nh_url *from = url(t->from);
  CHECK_EQ(nh_cookie_jar_set_cookie_lines(jar, from, t->set, n), NH_OK);
  nh_url_free(from);
  clock_ms += 1001;
  char *content = nh__jar_content(jar);
  if (strcmp(content, t->content) != 0)
    NH_FAIL("%s content: got \"%s\", want \"%s\"", t->desc, content, t->content);
  free(content);
  for (int i = 0; i < 12 && t->q[i].to; i++) {
    clock_ms += 1001;
    char *got = cookies_for(jar, t->q[i].to);
    if (strcmp(got, t->q[i].want) != 0)
      NH_FAIL("%s #%d (%s): got \"%s\", want \"%s\"", t->desc, i, t->q[i].to, got,
              t->q[i].want);
    free(got);
  }
}

static void run_each_fresh(const jar_test *tests, size_t n) {
  for (size_t i = 0; i < n; i++) {
    nh_cookie_jar *jar = new_test_jar();
    run(&tests[i], jar);
    nh_cookie_jar_free(jar);
  }
}

static void run_all_on_one(const jar_test *tests, size_t n) {
  nh_cookie_jar *jar = new_test_jar();
  for (size_t i = 0; i < n; i++)
    run(&tests[i], jar);
  nh_cookie_jar_free(jar);
}

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* ---- The rules, one function at a time ---- */

NH_TEST(has_dot_suffix) {
  static const char *const cases[][2] = {
      {"", ""},       {"", "."},       {"", "x"},        {".", ""},        {".", "."},
      {".", ".."},    {".", "x"},      {".", "x."},      {".", ".x"},      {".", ".x."},
      {"x", ""},      {"x", "."},      {"x", ".."},      {"x", "x"},       {"x", "x."},
      {"x", ".x"},    {"x", ".x."},    {".x", ""},       {".x", "."},      {".x", ".."},
      {".x", "x"},    {".x", "x."},    {".x", ".x"},     {".x", ".x."},    {"x.", ""},
      {"x.", "."},    {"x.", ".."},    {"x.", "x"},      {"x.", "x."},     {"x.", ".x"},
      {"x.", ".x."},  {"com", ""},     {"com", "m"},     {"com", "om"},    {"com", "com"},
      {"com", ".com"}, {"com", "x.com"}, {"com", "xcom"}, {"com", "xorg"}, {"com", "org"},
      {"com", "rg"},  {"foo.com", ""}, {"foo.com", "m"}, {"foo.com", "om"}, {"foo.com", "com"},
      {"foo.com", ".com"}, {"foo.com", "o.com"}, {"foo.com", "oo.com"}, {"foo.com", "foo.com"},
      {"foo.com", ".foo.com"}, {"foo.com", "x.foo.com"}, {"foo.com", "xfoo.com"},
      {"foo.com", "xfoo.org"}, {"foo.com", "foo.org"}, {"foo.com", "oo.org"},
      {"foo.com", "o.org"}, {"foo.com", ".org"}, {"foo.com", "org"}, {"foo.com", "rg"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    const char *s = cases[i][0], *suffix = cases[i][1];
    size_t ls = strlen(s), lx = strlen(suffix);
    int want = ls >= lx + 1 && s[ls - lx - 1] == '.' && !strcmp(s + ls - lx, suffix);
    if (nh__jar_has_dot_suffix(s, suffix) != want)
      NH_FAIL("has_dot_suffix(\"%s\", \"%s\") != %d", s, suffix, want);
  }
}

NH_TEST(canonical_host) {
  static const char *const cases[][2] = {
      {"www.example.com", "www.example.com"},
      {"WWW.EXAMPLE.COM", "www.example.com"},
      {"wWw.eXAmple.CoM", "www.example.com"},
      {"www.example.com:80", "www.example.com"},
      {"192.168.0.10", "192.168.0.10"},
      {"192.168.0.5:8080", "192.168.0.5"},
      {"2001:4860:0:2001::68", "2001:4860:0:2001::68"},
      {"[2001:4860:0:::68]:8080", "2001:4860:0:::68"},
      {"www.example.com.", "www.example.com"},
      {".", ""},
      {"..", "."},
      {"...", ".."},
      {".net", ".net"},
      {".net.", ".net"},
      {"a..", "a."},
      {"b.a..", "b.a."},
      {"weird.stuff...", "weird.stuff.."},
      {"[bad.unmatched.bracket:", NULL},
      {"www.b\xc3\xbc" "cher.de", NULL}, /* IDNA is not done: refused */
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char out[256];
    int e = nh__jar_canonical_host(cases[i][0], out, sizeof out);
    if (!cases[i][1]) {
      if (e == 0)
        NH_FAIL("canonical_host(\"%s\") = \"%s\", want an error", cases[i][0], out);
      continue;
    }
    if (e != 0 || strcmp(out, cases[i][1]) != 0)
      NH_FAIL("canonical_host(\"%s\") = %d \"%s\", want \"%s\"", cases[i][0], e, out,
              cases[i][1]);
  }
}

NH_TEST(jar_key) {
  static const char *const with_psl[][2] = {
      {"foo.www.example.com", "example.com"}, {"www.example.com", "example.com"},
      {"example.com", "example.com"},         {"com", "com"},
      {"foo.www.bbc.co.uk", "bbc.co.uk"},     {"www.bbc.co.uk", "bbc.co.uk"},
      {"bbc.co.uk", "bbc.co.uk"},             {"co.uk", "co.uk"},
      {"uk", "uk"},                           {"192.168.0.5", "192.168.0.5"},
      {"www.buggy.psl", "www.buggy.psl"},     {"www2.buggy.psl", "buggy.psl"},
      {"", ""},                               {".", "."},
      {"..", "."},                            {".net", ".net"},
      {"a.", "a."},                           {"b.a.", "a."},
      {"weird.stuff..", "."},
  };
  for (size_t i = 0; i < COUNT(with_psl); i++)
    if (strcmp(nh__jar_key(with_psl[i][0], test_psl, NULL), with_psl[i][1]) != 0)
      NH_FAIL("jar_key(\"%s\") = \"%s\", want \"%s\"", with_psl[i][0],
              nh__jar_key(with_psl[i][0], test_psl, NULL), with_psl[i][1]);
  static const char *const no_psl[][2] = {
      {"foo.www.example.com", "example.com"}, {"www.example.com", "example.com"},
      {"example.com", "example.com"},         {"com", "com"},
      {"foo.www.bbc.co.uk", "co.uk"},         {"www.bbc.co.uk", "co.uk"},
      {"bbc.co.uk", "co.uk"},                 {"co.uk", "co.uk"},
      {"uk", "uk"},                           {"192.168.0.5", "192.168.0.5"},
      {"", ""},                               {".", "."},
      {"..", ".."},                           {".net", ".net"},
      {"a.", "a."},                           {"b.a.", "a."},
      {"weird.stuff..", "stuff.."},
  };
  for (size_t i = 0; i < COUNT(no_psl); i++)
    if (strcmp(nh__jar_key(no_psl[i][0], NULL, NULL), no_psl[i][1]) != 0)
      NH_FAIL("jar_key(\"%s\", no list) = \"%s\", want \"%s\"", no_psl[i][0],
              nh__jar_key(no_psl[i][0], NULL, NULL), no_psl[i][1]);
}

NH_TEST(is_ip_and_default_path) {
  CHECK(nh__jar_is_ip("127.0.0.1"));
  CHECK(nh__jar_is_ip("1.2.3.4"));
  CHECK(nh__jar_is_ip("2001:4860:0:2001::68"));
  CHECK(!nh__jar_is_ip("example.com"));
  CHECK(!nh__jar_is_ip("1.1.1.300"));
  CHECK(!nh__jar_is_ip("www.foo.bar.net"));
  CHECK(!nh__jar_is_ip("123.foo.bar.net"));
  static const char *const paths[][2] = {
      {"/", "/"},         {"/abc", "/"},           {"/abc/", "/abc"}, {"/abc/xyz", "/abc"},
      {"/abc/xyz/", "/abc/xyz"}, {"/a/b/c.html", "/a/b"}, {"", "/"}, {"strange", "/"},
      {"//", "/"},        {"/a//b", "/a/"},        {"/a/./b", "/a/."}, {"/a/../b", "/a/.."},
  };
  for (size_t i = 0; i < COUNT(paths); i++) {
    char out[32];
    nh__jar_default_path(paths[i][0], out);
    if (strcmp(out, paths[i][1]) != 0)
      NH_FAIL("default_path(\"%s\") = \"%s\", want \"%s\"", paths[i][0], out, paths[i][1]);
  }
}

NH_TEST(domain_and_type) {
  static const struct {
    const char *host, *domain, *want; /* want NULL: refused */
    int host_only;
  } cases[] = {
      {"www.example.com", "", "www.example.com", 1},
      {"127.0.0.1", "", "127.0.0.1", 1},
      {"2001:4860:0:2001::68", "", "2001:4860:0:2001::68", 1},
      {"www.example.com", "example.com", "example.com", 0},
      {"www.example.com", ".example.com", "example.com", 0},
      {"www.example.com", "www.example.com", "www.example.com", 0},
      {"www.example.com", ".www.example.com", "www.example.com", 0},
      {"foo.sso.example.com", "sso.example.com", "sso.example.com", 0},
      {"bar.co.uk", "bar.co.uk", "bar.co.uk", 0},
      {"foo.bar.co.uk", ".bar.co.uk", "bar.co.uk", 0},
      /* Current Go: an IP may name itself, and the cookie is host-only. */
      {"127.0.0.1", "127.0.0.1", "127.0.0.1", 1},
      {"2001:4860:0:2001::68", "2001:4860:0:2001::68", "2001:4860:0:2001::68", 1},
      {"www.example.com", ".", NULL, 0},
      {"www.example.com", "..", NULL, 0},
      {"www.example.com", "other.com", NULL, 0},
      {"www.example.com", "com", NULL, 0},
      {"www.example.com", ".com", NULL, 0},
      {"foo.bar.co.uk", ".co.uk", NULL, 0},
      {"127.www.0.0.1", "127.0.0.1", NULL, 0},
      {"com", "", "com", 1},
      {"com", "com", "com", 1},
      {"com", ".com", "com", 1},
      {"co.uk", "", "co.uk", 1},
      {"co.uk", "co.uk", "co.uk", 1},
      {"co.uk", ".co.uk", "co.uk", 1},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char out[256] = "";
    int host_only = -1;
    int e = nh__jar_domain_and_type(cases[i].host, cases[i].domain, test_psl, NULL, out,
                                    sizeof out, &host_only);
    if (!cases[i].want) {
      if (e == 0)
        NH_FAIL("%s/%s accepted as \"%s\"", cases[i].host, cases[i].domain, out);
      continue;
    }
    if (e != 0 || strcmp(out, cases[i].want) != 0 || host_only != cases[i].host_only)
      NH_FAIL("%s/%s: %d \"%s\" host_only=%d", cases[i].host, cases[i].domain, e, out,
              host_only);
  }
}

/* ---- Go's jar tables ---- */

NH_TEST(basics) {
  static const jar_test tests[] = {
      {"Retrieval of a plain host cookie.", "http://www.host.test/", {"A=a"}, "A=a",
       {{"http://www.host.test", "A=a"},
        {"http://www.host.test/", "A=a"},
        {"http://www.host.test/some/path", "A=a"},
        {"https://www.host.test", "A=a"},
        {"https://www.host.test/", "A=a"},
        {"https://www.host.test/some/path", "A=a"},
        {"ftp://www.host.test", ""},
        {"ftp://www.host.test/", ""},
        {"ftp://www.host.test/some/path", ""},
        {"http://www.other.org", ""},
        {"http://sibling.host.test", ""},
        {"http://deep.www.host.test", ""}}},
      {"Secure cookies are not returned to http.", "http://www.host.test/", {"A=a; secure"},
       "A=a",
       {{"http://www.host.test", ""},
        {"http://www.host.test/", ""},
        {"http://www.host.test/some/path", ""},
        {"https://www.host.test", "A=a"},
        {"https://www.host.test/", "A=a"},
        {"https://www.host.test/some/path", "A=a"}}},
      {"Explicit path.", "http://www.host.test/", {"A=a; path=/some/path"}, "A=a",
       {{"http://www.host.test", ""},
        {"http://www.host.test/", ""},
        {"http://www.host.test/some", ""},
        {"http://www.host.test/some/", ""},
        {"http://www.host.test/some/path", "A=a"},
        {"http://www.host.test/some/paths", ""},
        {"http://www.host.test/some/path/foo", "A=a"},
        {"http://www.host.test/some/path/foo/", "A=a"}}},
      {"Implicit path #1: path is a directory.", "http://www.host.test/some/path/", {"A=a"},
       "A=a",
       {{"http://www.host.test", ""},
        {"http://www.host.test/", ""},
        {"http://www.host.test/some", ""},
        {"http://www.host.test/some/", ""},
        {"http://www.host.test/some/path", "A=a"},
        {"http://www.host.test/some/paths", ""},
        {"http://www.host.test/some/path/foo", "A=a"},
        {"http://www.host.test/some/path/foo/", "A=a"}}},
      {"Implicit path #2: path is not a directory.", "http://www.host.test/some/path/index.html",
       {"A=a"}, "A=a",
       {{"http://www.host.test", ""},
        {"http://www.host.test/", ""},
        {"http://www.host.test/some", ""},
        {"http://www.host.test/some/", ""},
        {"http://www.host.test/some/path", "A=a"},
        {"http://www.host.test/some/paths", ""},
        {"http://www.host.test/some/path/foo", "A=a"},
        {"http://www.host.test/some/path/foo/", "A=a"}}},
      {"Implicit path #3: no path in URL at all.", "http://www.host.test", {"A=a"}, "A=a",
       {{"http://www.host.test", "A=a"},
        {"http://www.host.test/", "A=a"},
        {"http://www.host.test/some/path", "A=a"}}},
      {"Cookies are sorted by path length.", "http://www.host.test/",
       {"A=a; path=/foo/bar", "B=b; path=/foo/bar/baz/qux", "C=c; path=/foo/bar/baz",
        "D=d; path=/foo"},
       "A=a B=b C=c D=d",
       {{"http://www.host.test/foo/bar/baz/qux", "B=b C=c A=a D=d"},
        {"http://www.host.test/foo/bar/baz/", "C=c A=a D=d"},
        {"http://www.host.test/foo/bar", "A=a D=d"}}},
      {"Creation time determines sorting on same length paths.", "http://www.host.test/",
       {"A=a; path=/foo/bar", "X=x; path=/foo/bar", "Y=y; path=/foo/bar/baz/qux",
        "B=b; path=/foo/bar/baz/qux", "C=c; path=/foo/bar/baz", "W=w; path=/foo/bar/baz",
        "Z=z; path=/foo", "D=d; path=/foo"},
       "A=a B=b C=c D=d W=w X=x Y=y Z=z",
       {{"http://www.host.test/foo/bar/baz/qux", "Y=y B=b C=c W=w A=a X=x Z=z D=d"},
        {"http://www.host.test/foo/bar/baz/", "C=c W=w A=a X=x Z=z D=d"},
        {"http://www.host.test/foo/bar", "A=a X=x Z=z D=d"}}},
      {"Sorting of same-name cookies.", "http://www.host.test/",
       {"A=1; path=/", "A=2; path=/path", "A=3; path=/quux", "A=4; path=/path/foo",
        "A=5; domain=.host.test; path=/path", "A=6; domain=.host.test; path=/quux",
        "A=7; domain=.host.test; path=/path/foo"},
       "A=1 A=2 A=3 A=4 A=5 A=6 A=7",
       {{"http://www.host.test/path", "A=2 A=5 A=1"},
        {"http://www.host.test/path/foo", "A=4 A=7 A=2 A=5 A=1"}}},
      {"Disallow domain cookie on public suffix.", "http://www.bbc.co.uk",
       {"a=1", "b=2; domain=co.uk"}, "a=1", {{"http://www.bbc.co.uk", "a=1"}}},
      {"Host cookie on IP.", "http://192.168.0.10", {"a=1"}, "a=1",
       {{"http://192.168.0.10", "a=1"}}},
      {"Domain cookies on IP.", "http://192.168.0.10", {"a=1; domain=192.168.0.10"}, "a=1",
       {{"http://192.168.0.10", "a=1"}, {"http://192.168.0.10:8080", "a=1"}}},
      {"Port is ignored #1.", "http://www.host.test/", {"a=1"}, "a=1",
       {{"http://www.host.test", "a=1"}, {"http://www.host.test:8080/", "a=1"}}},
      {"Port is ignored #2.", "http://www.host.test:8080/", {"a=1"}, "a=1",
       {{"http://www.host.test", "a=1"},
        {"http://www.host.test:8080/", "a=1"},
        {"http://www.host.test:1234/", "a=1"}}},
      {"Secure cookies go to localhost over http.", "http://localhost/",
       {"a=1; secure", "b=2"}, "a=1 b=2", {{"http://localhost:8080/", "a=1 b=2"}}},
      {"Secure cookies go to a loopback IP over http.", "http://127.0.0.1/",
       {"a=1; secure"}, "a=1", {{"http://127.0.0.1:8080/", "a=1"}}},
  };
  run_each_fresh(tests, COUNT(tests));
}

NH_TEST(update_and_delete) {
  char e10[64], em10[64];
  expires_in(e10, sizeof e10, 10);
  expires_in(em10, sizeof em10, -10);
  char b_exp[96], c_exp[96], d_exp[96];
  snprintf(b_exp, sizeof b_exp, "b=2; %s", em10);
  snprintf(c_exp, sizeof c_exp, "c=2; max-age=-1; %s", em10);
  snprintf(d_exp, sizeof d_exp, "d=4; max-age=-1; %s", e10);
  const jar_test tests[] = {
      {"Set initial cookies.", "http://www.host.test",
       {"a=1", "b=2; secure", "c=3; httponly", "d=4; secure; httponly"}, "a=1 b=2 c=3 d=4",
       {{"http://www.host.test", "a=1 c=3"}, {"https://www.host.test", "a=1 b=2 c=3 d=4"}}},
      {"Update value via http.", "http://www.host.test",
       {"a=w", "b=x; secure", "c=y; httponly", "d=z; secure; httponly"}, "a=w b=x c=y d=z",
       {{"http://www.host.test", "a=w c=y"}, {"https://www.host.test", "a=w b=x c=y d=z"}}},
      {"Clear Secure flag from a http.", "http://www.host.test/", {"b=xx", "d=zz; httponly"},
       "a=w b=xx c=y d=zz", {{"http://www.host.test", "a=w b=xx c=y d=zz"}}},
      {"Delete all.", "http://www.host.test/", {"a=1; max-Age=-1", b_exp, c_exp, d_exp}, "",
       {{"http://www.host.test", ""}}},
      {"Refill #1.", "http://www.host.test",
       {"A=1", "A=2; path=/foo", "A=3; domain=.host.test", "A=4; path=/foo; domain=.host.test"},
       "A=1 A=2 A=3 A=4", {{"http://www.host.test/foo", "A=2 A=4 A=1 A=3"}}},
      {"Refill #2.", "http://www.google.com",
       {"A=6", "A=7; path=/foo", "A=8; domain=.google.com",
        "A=9; path=/foo; domain=.google.com"},
       "A=1 A=2 A=3 A=4 A=6 A=7 A=8 A=9",
       {{"http://www.host.test/foo", "A=2 A=4 A=1 A=3"},
        {"http://www.google.com/foo", "A=7 A=9 A=6 A=8"}}},
      {"Delete A7.", "http://www.google.com", {"A=; path=/foo; max-age=-1"},
       "A=1 A=2 A=3 A=4 A=6 A=8 A=9",
       {{"http://www.host.test/foo", "A=2 A=4 A=1 A=3"},
        {"http://www.google.com/foo", "A=9 A=6 A=8"}}},
      {"Delete A4.", "http://www.host.test", {"A=; path=/foo; domain=host.test; max-age=-1"},
       "A=1 A=2 A=3 A=6 A=8 A=9",
       {{"http://www.host.test/foo", "A=2 A=1 A=3"},
        {"http://www.google.com/foo", "A=9 A=6 A=8"}}},
      {"Delete A6.", "http://www.google.com", {"A=; max-age=-1"}, "A=1 A=2 A=3 A=8 A=9",
       {{"http://www.host.test/foo", "A=2 A=1 A=3"}, {"http://www.google.com/foo", "A=9 A=8"}}},
      {"Delete A3.", "http://www.host.test", {"A=; domain=host.test; max-age=-1"},
       "A=1 A=2 A=8 A=9",
       {{"http://www.host.test/foo", "A=2 A=1"}, {"http://www.google.com/foo", "A=9 A=8"}}},
      {"No cross-domain delete.", "http://www.host.test",
       {"A=; domain=google.com; max-age=-1", "A=; path=/foo; domain=google.com; max-age=-1"},
       "A=1 A=2 A=8 A=9",
       {{"http://www.host.test/foo", "A=2 A=1"}, {"http://www.google.com/foo", "A=9 A=8"}}},
      {"Delete A8 and A9.", "http://www.google.com",
       {"A=; domain=google.com; max-age=-1", "A=; path=/foo; domain=google.com; max-age=-1"},
       "A=1 A=2", {{"http://www.host.test/foo", "A=2 A=1"}, {"http://www.google.com/foo", ""}}},
  };
  run_all_on_one(tests, COUNT(tests));
}

NH_TEST(expiration) {
  char c3[64], e5[64], cl[96], el[96];
  snprintf(cl, sizeof cl, "c=3; %s", expires_in(c3, sizeof c3, 3));
  snprintf(el, sizeof el, "e=5; %s", expires_in(e5, sizeof e5, 5));
  const jar_test t = {"Expiration.", "http://www.host.test",
                      {"a=1", "b=2; max-age=3", cl, "d=4; max-age=5", el, "f=6; max-age=100"},
                      "a=1 b=2 c=3 d=4 e=5 f=6",
                      {{"http://www.host.test", "a=1 b=2 c=3 d=4 e=5 f=6"},
                       {"http://www.host.test", "a=1 d=4 e=5 f=6"},
                       {"http://www.host.test", "a=1 d=4 e=5 f=6"},
                       {"http://www.host.test", "a=1 f=6"},
                       {"http://www.host.test", "a=1 f=6"}}};
  nh_cookie_jar *jar = new_test_jar();
  run(&t, jar);
  /* Expired cookies met by a lookup are gone from the jar. */
  CHECK_EQ(nh_cookie_jar_len(jar), 2);
  nh_cookie_jar_free(jar);
}

NH_TEST(chromium_basics) {
  static const jar_test tests[] = {
      {"DomainWithTrailingDotTest.", "http://www.google.com/",
       {"a=1; domain=.www.google.com.", "b=2; domain=.www.google.com.."}, "",
       {{"http://www.google.com", ""}}},
      {"ValidSubdomainTest #1.", "http://a.b.c.d.com",
       {"a=1; domain=.a.b.c.d.com", "b=2; domain=.b.c.d.com", "c=3; domain=.c.d.com",
        "d=4; domain=.d.com"},
       "a=1 b=2 c=3 d=4",
       {{"http://a.b.c.d.com", "a=1 b=2 c=3 d=4"},
        {"http://b.c.d.com", "b=2 c=3 d=4"},
        {"http://c.d.com", "c=3 d=4"},
        {"http://d.com", "d=4"}}},
      {"ValidSubdomainTest #2.", "http://a.b.c.d.com",
       {"a=1; domain=.a.b.c.d.com", "b=2; domain=.b.c.d.com", "c=3; domain=.c.d.com",
        "d=4; domain=.d.com", "X=bcd; domain=.b.c.d.com", "X=cd; domain=.c.d.com"},
       "X=bcd X=cd a=1 b=2 c=3 d=4",
       {{"http://b.c.d.com", "b=2 c=3 d=4 X=bcd X=cd"}, {"http://c.d.com", "c=3 d=4 X=cd"}}},
      {"InvalidDomainTest #1.", "http://foo.bar.com",
       {"a=1; domain=.yo.foo.bar.com", "b=2; domain=.foo.com", "c=3; domain=.bar.foo.com",
        "d=4; domain=.foo.bar.com.net", "e=5; domain=ar.com", "f=6; domain=.",
        "g=7; domain=/", "h=8; domain=http://foo.bar.com", "i=9; domain=..foo.bar.com",
        "j=10; domain=..bar.com", "k=11; domain=.foo.bar.com?blah",
        "l=12; domain=.foo.bar.com/blah", "m=12; domain=.foo.bar.com:80",
        "n=14; domain=.foo.bar.com:", "o=15; domain=.foo.bar.com#sup"},
       "", {{"http://foo.bar.com", ""}}},
      {"InvalidDomainTest #2.", "http://foo.com.com", {"a=1; domain=.foo.com.com.com"}, "",
       {{"http://foo.bar.com", ""}}},
      {"DomainWithoutLeadingDotTest #1.", "http://manage.hosted.filefront.com",
       {"a=1; domain=filefront.com"}, "a=1", {{"http://www.filefront.com", "a=1"}}},
      {"DomainWithoutLeadingDotTest #2.", "http://www.google.com",
       {"a=1; domain=www.google.com"}, "a=1",
       {{"http://www.google.com", "a=1"},
        {"http://sub.www.google.com", "a=1"},
        {"http://something-else.com", ""}}},
      {"CaseInsensitiveDomainTest.", "http://www.google.com",
       {"a=1; domain=.GOOGLE.COM", "b=2; domain=.www.gOOgLE.coM"}, "a=1 b=2",
       {{"http://www.google.com", "a=1 b=2"}}},
      {"TestIpAddress #1.", "http://1.2.3.4/foo", {"a=1; path=/"}, "a=1",
       {{"http://1.2.3.4/foo", "a=1"}}},
      {"TestIpAddress #2.", "http://1.2.3.4/foo", {"a=1; domain=.1.2.3.4", "b=2; domain=.3.4"},
       "", {{"http://1.2.3.4/foo", ""}}},
      {"TestIpAddress #3 (current Go: an IP may name itself).", "http://1.2.3.4/foo",
       {"a=1; domain=1.2.3.4"}, "a=1", {{"http://1.2.3.4/foo", "a=1"}}},
      {"TestNonDottedAndTLD #2.", "http://com./index.html", {"a=1"}, "a=1",
       {{"http://com./index.html", "a=1"}, {"http://no-cookies.com./index.html", ""}}},
      {"TestNonDottedAndTLD #3.", "http://a.b", {"a=1; domain=.b", "b=2; domain=b"}, "",
       {{"http://bar.foo", ""}}},
      {"TestNonDottedAndTLD #4.", "http://google.com", {"a=1; domain=.com", "b=2; domain=com"},
       "", {{"http://google.com", ""}}},
      {"TestNonDottedAndTLD #5.", "http://google.co.uk", {"a=1; domain=.co.uk", "b=2; domain=.uk"},
       "",
       {{"http://google.co.uk", ""}, {"http://else.co.com", ""}, {"http://else.uk", ""}}},
      {"TestHostEndsWithDot.", "http://www.google.com",
       {"a=1", "b=2; domain=.www.google.com."}, "a=1", {{"http://www.google.com", "a=1"}}},
      {"PathTest", "http://www.google.izzle", {"a=1; path=/wee"}, "a=1",
       {{"http://www.google.izzle/wee", "a=1"},
        {"http://www.google.izzle/wee/", "a=1"},
        {"http://www.google.izzle/wee/war", "a=1"},
        {"http://www.google.izzle/wee/war/more/more", "a=1"},
        {"http://www.google.izzle/weehee", ""},
        {"http://www.google.izzle/", ""}}},
  };
  run_each_fresh(tests, COUNT(tests));
}

NH_TEST(chromium_domain_and_deletion) {
  char em10[64], b_exp[96], d_exp[96];
  expires_in(em10, sizeof em10, -10);
  snprintf(b_exp, sizeof b_exp, "b=2; %s", em10);
  snprintf(d_exp, sizeof d_exp, "d=4; %s", em10);
  static const jar_test domain[] = {
      {"Fill #1.", "http://www.google.izzle", {"A=B"}, "A=B",
       {{"http://www.google.izzle", "A=B"}}},
      {"Fill #2.", "http://www.google.izzle", {"C=D; domain=.google.izzle"}, "A=B C=D",
       {{"http://www.google.izzle", "A=B C=D"}}},
      {"Verify A is a host cookie and not accessible from subdomain.", "http://unused.nil",
       {NULL}, "A=B C=D", {{"http://foo.www.google.izzle", "C=D"}}},
      {"Verify domain cookies are found on proper domain.", "http://www.google.izzle",
       {"E=F; domain=.www.google.izzle"}, "A=B C=D E=F",
       {{"http://www.google.izzle", "A=B C=D E=F"}}},
      {"Leading dots in domain attributes are optional.", "http://www.google.izzle",
       {"G=H; domain=www.google.izzle"}, "A=B C=D E=F G=H",
       {{"http://www.google.izzle", "A=B C=D E=F G=H"}}},
      {"Verify domain enforcement works #1.", "http://www.google.izzle",
       {"K=L; domain=.bar.www.google.izzle"}, "A=B C=D E=F G=H",
       {{"http://bar.www.google.izzle", "C=D E=F G=H"}}},
      {"Verify domain enforcement works #2.", "http://unused.nil", {NULL}, "A=B C=D E=F G=H",
       {{"http://www.google.izzle", "A=B C=D E=F G=H"}}},
  };
  run_all_on_one(domain, COUNT(domain));
  const jar_test deletion[] = {
      {"Create session cookie a1.", "http://www.google.com", {"a=1"}, "a=1",
       {{"http://www.google.com", "a=1"}}},
      {"Delete sc a1 via MaxAge.", "http://www.google.com", {"a=1; max-age=-1"}, "",
       {{"http://www.google.com", ""}}},
      {"Create session cookie b2.", "http://www.google.com", {"b=2"}, "b=2",
       {{"http://www.google.com", "b=2"}}},
      {"Delete sc b2 via Expires.", "http://www.google.com", {b_exp}, "",
       {{"http://www.google.com", ""}}},
      {"Create persistent cookie c3.", "http://www.google.com", {"c=3; max-age=3600"}, "c=3",
       {{"http://www.google.com", "c=3"}}},
      {"Delete pc c3 via MaxAge.", "http://www.google.com", {"c=3; max-age=-1"}, "",
       {{"http://www.google.com", ""}}},
      {"Create persistent cookie d4.", "http://www.google.com", {"d=4; max-age=3600"}, "d=4",
       {{"http://www.google.com", "d=4"}}},
      {"Delete pc d4 via Expires.", "http://www.google.com", {d_exp}, "",
       {{"http://www.google.com", ""}}},
  };
  run_all_on_one(deletion, COUNT(deletion));
}

NH_TEST(domain_handling) {
  static const jar_test tests[] = {
      {"Host cookie", "http://www.host.test", {"a=1"}, "a=1",
       {{"http://www.host.test", "a=1"},
        {"http://host.test", ""},
        {"http://bar.host.test", ""},
        {"http://foo.www.host.test", ""},
        {"http://other.test", ""},
        {"http://test", ""}}},
      {"Domain cookie #1", "http://www.host.test", {"a=1; domain=host.test"}, "a=1",
       {{"http://www.host.test", "a=1"},
        {"http://host.test", "a=1"},
        {"http://bar.host.test", "a=1"},
        {"http://foo.www.host.test", "a=1"},
        {"http://other.test", ""},
        {"http://test", ""}}},
      {"Domain cookie #2", "http://www.host.test", {"a=1; domain=.host.test"}, "a=1",
       {{"http://www.host.test", "a=1"},
        {"http://host.test", "a=1"},
        {"http://bar.host.test", "a=1"},
        {"http://foo.www.host.test", "a=1"},
        {"http://other.test", ""},
        {"http://test", ""}}},
      {"Host cookie on TLD.", "http://com", {"a=1"}, "a=1",
       {{"http://com", "a=1"}, {"http://any.com", ""}, {"http://any.test", ""}}},
      {"Domain cookie on TLD becomes a host cookie.", "http://com", {"a=1; domain=com"}, "a=1",
       {{"http://com", "a=1"}, {"http://any.com", ""}, {"http://any.test", ""}}},
      {"Host cookie on public suffix.", "http://co.uk", {"a=1"}, "a=1",
       {{"http://co.uk", "a=1"},
        {"http://uk", ""},
        {"http://some.co.uk", ""},
        {"http://foo.some.co.uk", ""},
        {"http://any.uk", ""}}},
      {"Domain cookie on public suffix is ignored.", "http://some.co.uk", {"a=1; domain=co.uk"},
       "",
       {{"http://co.uk", ""},
        {"http://uk", ""},
        {"http://some.co.uk", ""},
        {"http://foo.some.co.uk", ""},
        {"http://any.uk", ""}}},
      {"A host that is not ASCII keeps no cookies (no IDNA).", "http://www.b\xc3\xbc" "cher.test",
       {"a=1"}, "", {{"http://www.xn--bcher-kva.test", ""}}},
  };
  run_each_fresh(tests, COUNT(tests));
}

/* Go's TestIssue19384: odd empty hosts still work without a list. */
NH_TEST(odd_hosts_without_list) {
  static const char *const hosts[] = {"", ".", "..", "..."};
  for (size_t i = 0; i < COUNT(hosts); i++) {
    nh_cookie_jar_options o = {.no_public_suffix_list = 1};
    nh_cookie_jar *jar = nh_cookie_jar_new(&o);
    CHECK(jar);
    nh_url *u = nh_url_new();
    CHECK(u);
    free(u->scheme);
    free(u->host);
    free(u->path);
    u->scheme = strdup("http");
    u->host = strdup(hosts[i]);
    u->path = strdup("/");
    CHECK(nh_cookie_jar_cookie_header(jar, u) == NULL);
    nh_cookie c = {.name = "name", .value = "value"};
    CHECK_EQ(nh_cookie_jar_set_cookies(jar, u, &c, 1), NH_OK);
    char *h = nh_cookie_jar_cookie_header(jar, u);
    CHECK_STR(h, "name=value");
    free(h);
    nh_url_free(u);
    nh_cookie_jar_free(jar);
  }
}

/* ---- The real public suffix list (libpsl) ---- */

static void set_line(nh_cookie_jar *jar, const char *from, const char *line) {
  nh_url *u = url(from);
  CHECK_EQ(nh_cookie_jar_set_cookie_lines(jar, u, &line, 1), NH_OK);
  nh_url_free(u);
}

static char *header_for(nh_cookie_jar *jar, const char *to) {
  nh_url *u = url(to);
  char *h = nh_cookie_jar_cookie_header(jar, u);
  nh_url_free(u);
  return h;
}

NH_TEST(public_suffix_list_from_libpsl) {
  nh_cookie_jar *jar = nh_cookie_jar_new(NULL);
  CHECK(jar);
  set_line(jar, "http://www.bbc.co.uk/", "uk=1; domain=co.uk");      /* a public suffix */
  set_line(jar, "http://www.bbc.co.uk/", "bbc=1; domain=bbc.co.uk"); /* its eTLD+1 */
  set_line(jar, "http://a.blogspot.com/", "bs=1; domain=blogspot.com"); /* a private suffix */
  set_line(jar, "http://www.example.com/", "com=1; domain=com");
  set_line(jar, "http://www.example.com/", "ex=1; domain=example.com");
  CHECK_EQ(nh_cookie_jar_len(jar), 2);
  CHECK(header_for(jar, "http://other.co.uk/") == NULL);
  CHECK(header_for(jar, "http://b.blogspot.com/") == NULL);
  char *h = header_for(jar, "http://news.bbc.co.uk/x");
  CHECK_STR(h, "bbc=1");
  free(h);
  h = header_for(jar, "http://example.com/");
  CHECK_STR(h, "ex=1");
  free(h);
  nh_cookie_jar_free(jar);

  /* The system's list file loads as well. */
  nh_cookie_jar_options o = {.psl_file = "/usr/share/publicsuffix/public_suffix_list.dat"};
  jar = nh_cookie_jar_new(&o);
  CHECK(jar);
  set_line(jar, "http://www.bbc.co.uk/", "uk=1; domain=co.uk");
  CHECK_EQ(nh_cookie_jar_len(jar), 0);
  nh_cookie_jar_free(jar);
  o.psl_file = "/nonexistent/list.dat";
  CHECK(nh_cookie_jar_new(&o) == NULL);

  /* Without a list (Go's nil PublicSuffixList) a suffix can be named:
   * insecure, and what the list is for. */
  nh_cookie_jar_options none = {.no_public_suffix_list = 1};
  jar = nh_cookie_jar_new(&none);
  CHECK(jar);
  set_line(jar, "http://www.bbc.co.uk/", "uk=1; domain=co.uk");
  h = header_for(jar, "http://other.co.uk/");
  CHECK_STR(h, "uk=1");
  free(h);
  nh_cookie_jar_free(jar);
}

/* Attributes kept, values written for the wire, a struct API caller. */
NH_TEST(stored_attributes_and_wire_form) {
  nh_cookie_jar *jar = new_test_jar();
  clock_ms = T_NOW_MS;
  nh_url *u = url("https://www.host.test/a/b");
  nh_cookie cs[] = {
      {.name = "q", .value = "x y", .same_site = NH_SAMESITE_STRICT, .http_only = 1},
      {.name = "r", .value = "v", .quoted = 1, .path = "/a"},
      {.name = "bad", .value = "a;b\"c\\d"}, /* bytes a value may not hold are dropped */
      {.name = "s", .value = "1", .max_age = 60, .secure = 1},
  };
  CHECK_EQ(nh_cookie_jar_set_cookies(jar, u, cs, COUNT(cs)), NH_OK);
  char *h = nh_cookie_jar_cookie_header(jar, u);
  CHECK_STR(h, "q=\"x y\"; r=\"v\"; bad=abcd; s=1");
  free(h);
  nh_cookies *l;
  CHECK_EQ(nh_cookie_jar_cookies(jar, u, &l), NH_OK);
  CHECK_EQ(nh_cookies_len(l), 4);
  CHECK_STR(nh_cookies_at(l, 0)->value, "x y");
  CHECK(nh_cookies_at(l, 0)->quoted);
  nh_cookies_free(l);
  /* Plain http: the Secure one stays home; 61 s later it has expired. */
  nh_url *plain = url("http://www.host.test/a/b");
  h = nh_cookie_jar_cookie_header(jar, plain);
  CHECK_STR(h, "q=\"x y\"; r=\"v\"; bad=abcd");
  free(h);
  clock_ms += 61 * 1000;
  h = nh_cookie_jar_cookie_header(jar, u);
  CHECK_STR(h, "q=\"x y\"; r=\"v\"; bad=abcd");
  free(h);
  nh_cookie_jar_clear(jar);
  CHECK_EQ(nh_cookie_jar_len(jar), 0);
  CHECK(nh_cookie_jar_cookie_header(jar, u) == NULL);
  nh_url_free(plain);
  nh_url_free(u);
  nh_cookie_jar_free(jar);
}

/* ---- Shared by threads ---- */

static nh_cookie_jar *shared_jar;

static void *hammer(void *arg) {
  int id = (int)(intptr_t)arg;
  char name[32], line[64], to[64];
  snprintf(to, sizeof to, "http://h%d.host.test/", id % 4);
  nh_url *u = url(to);
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof name, "c%d_%d", id, i % 50);
    snprintf(line, sizeof line, "%s=%d; domain=host.test%s", name, i, i % 7 ? "" : "; max-age=-1");
    const char *lp = line;
    CHECK_EQ(nh_cookie_jar_set_cookie_lines(shared_jar, u, &lp, 1), NH_OK);
    free(nh_cookie_jar_cookie_header(shared_jar, u));
  }
  nh_url_free(u);
  return NULL;
}

NH_TEST(shared_by_threads) {
  shared_jar = nh_cookie_jar_new(NULL);
  CHECK(shared_jar);
  pthread_t th[8];
  for (int i = 0; i < 8; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 8; i++)
    pthread_join(th[i], NULL);
  CHECK(nh_cookie_jar_len(shared_jar) <= 8 * 50);
  CHECK(nh_cookie_jar_len(shared_jar) > 0);
  nh_cookie_jar_free(shared_jar);
}

/* ---- A client with a jar, over a socket ---- */

static void cookie_site(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  if (!strcmp(path, "/login")) {
    nh_cookie c = {.name = "sid", .value = "abc", .path = "/", .http_only = 1};
    CHECK_EQ(nh_resp_set_cookie(w, &c), NH_OK);
    nh_redirect(w, r, "/echo", 302);
    return;
  }
  if (!strcmp(path, "/logout")) {
    nh_cookie c = {.name = "sid", .value = "", .path = "/", .max_age = -1};
    CHECK_EQ(nh_resp_set_cookie(w, &c), NH_OK);
    nh_redirect(w, r, "/echo", 303);
    return;
  }
  const char *cookie = nh_header_get(nh_request_header(r), "Cookie");
  nh_resp_write_string(w, cookie ? cookie : "(none)");
}

static char *get(nh_client *c, const char *base, const char *path, const char *cookie) {
  char u[256];
  snprintf(u, sizeof u, "%s%s", base, path);
  nh_client_request *req = nh_client_request_new("GET", u);
  CHECK(req);
  if (cookie)
    CHECK_EQ(nh_header_set(nh_client_request_header(req), "Cookie", cookie), NH_OK);
  nh_response *resp;
  CHECK_EQ(nh_client_do(c, req, &resp), NH_OK);
  CHECK_EQ(nh_response_status(resp), 200);
  char *body;
  CHECK_EQ(nh_response_read_all(resp, 1 << 16, &body, NULL), NH_OK);
  nh_response_close(resp);
  /* The caller's request is left as it was. */
  const char *after = nh_header_get(nh_client_request_header(req), "Cookie");
  if (cookie)
    CHECK_STR(after, cookie);
  else
    CHECK(after == NULL);
  nh_client_request_free(req);
  return body;
}

NH_TEST(client_sends_cookies_back_across_a_redirect) {
  nh_test_server *ts = nh_test_server_new(cookie_site, NULL, 1);
  CHECK(ts);
  const char *base = nh_test_server_url(ts);

  nh_client *plain = nh_client_new(NULL);
  char *body = get(plain, base, "/login", NULL);
  CHECK_STR(body, "(none)");
  free(body);
  nh_client_free(plain);

  nh_cookie_jar *jar = nh_cookie_jar_new(NULL);
  CHECK(jar);
  nh_client_config cfg = NH_CLIENT_CONFIG_DEFAULT;
  cfg.jar = jar;
  nh_client *c = nh_client_new(&cfg);
  CHECK(c);
  body = get(c, base, "/login", NULL); /* set on the 302, sent to /echo */
  CHECK_STR(body, "sid=abc");
  free(body);
  body = get(c, base, "/echo", NULL);
  CHECK_STR(body, "sid=abc");
  free(body);
  body = get(c, base, "/echo", "mine=1"); /* the caller's come first */
  CHECK_STR(body, "mine=1; sid=abc");
  free(body);
  body = get(c, base, "/logout", NULL); /* deleted on the 303 */
  CHECK_STR(body, "(none)");
  free(body);
  CHECK_EQ(nh_cookie_jar_len(jar), 0);
  nh_client_free(c);
  nh_cookie_jar_free(jar);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
