/* Routing without sockets: which pattern wins, the values it yields,
 * redirects, 405 and 404, and registration errors. The tables follow Go's
 * routing_tree_test.go and server_test.go. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

static void noop(nh_response_writer *w, nh_request *r) {}

static nh_mux *mux_of(const char *const *pats, int n) {
  nh_mux *m = nh_mux_new();
  CHECK(m);
  for (int i = 0; i < n; i++)
    if (nh_mux_handle_func(m, pats[i], noop, (void *)(intptr_t)(i + 1)) != NH_OK)
      NH_FAIL("register %s: %s", pats[i], nh_mux_error(m));
  return m;
}
#define MUX(...)                                                                           \
  mux_of((const char *[]){__VA_ARGS__},                                                    \
         (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)))

/* want_pat "" = no match; values joined with ',' */
static void expect(nh_mux *m, const char *method, const char *host, const char *path,
                   const char *want_pat, const char *want_vals) {
  static nh_mux_route res;
  int rc = nh_mux_match(m, method, host, path, NULL, &res);
  const char *got = rc == NH_OK ? res.pattern : "";
  if (strcmp(got, want_pat) != 0)
    NH_FAIL("%s %s %s: got \"%s\" (status %d), want \"%s\"", method, host, path, got,
            res.status, want_pat);
  char vals[512] = "";
  for (int i = 0; rc == NH_OK && i < res.nvalues; i++) {
    if (i)
      strcat(vals, ",");
    strcat(vals, res.values[i]);
  }
  if (want_vals && strcmp(vals, want_vals) != 0)
    NH_FAIL("%s %s %s: got values \"%s\", want \"%s\"", method, host, path, vals, want_vals);
}

NH_TEST(tree_match) {
  nh_mux *m = MUX("/a", "/a/b", "/a/{x}", "/g/h/i", "/g/{x}/j", "/a/b/{x...}", "/a/b/{y}",
                  "/a/b/{$}");
  expect(m, "GET", "", "/a", "/a", "");
  expect(m, "Get", "", "/b", "", NULL);
  expect(m, "Get", "", "/a/b", "/a/b", "");
  expect(m, "Get", "", "/a/c", "/a/{x}", "c");
  expect(m, "Get", "", "/a/b/", "/a/b/{$}", "");
  expect(m, "Get", "", "/a/b/c", "/a/b/{y}", "c");
  expect(m, "Get", "", "/a/b/c/d", "/a/b/{x...}", "c/d");
  expect(m, "Get", "", "/g/h/i", "/g/h/i", "");
  expect(m, "Get", "", "/g/h/j", "/g/{x}/j", "h");
  nh_mux_free(m);
}

NH_TEST(methods_hosts_and_wildcards) {
  nh_mux *m = MUX("/item/", "POST /item/{user}", "GET /item/{user}", "/item/{user}",
                  "/item/{user}/{id}", "/item/{user}/new", "/item/{$}",
                  "POST alt.com/item/{user}", "GET /headwins", "HEAD /headwins", "/path/{p...}");
  expect(m, "GET", "", "/item/jba", "GET /item/{user}", "jba");
  expect(m, "POST", "", "/item/jba", "POST /item/{user}", "jba");
  expect(m, "HEAD", "", "/item/jba", "GET /item/{user}", "jba");
  expect(m, "get", "", "/item/jba", "/item/{user}", "jba"); /* methods are case-sensitive */
  expect(m, "POST", "", "/item/jba/17", "/item/{user}/{id}", "jba,17");
  expect(m, "GET", "", "/item/jba/new", "/item/{user}/new", "jba");
  expect(m, "GET", "", "/item/", "/item/{$}", "");
  expect(m, "GET", "", "/item/jba/17/line2", "/item/", "");
  expect(m, "POST", "alt.com", "/item/jba", "POST alt.com/item/{user}", "jba");
  expect(m, "POST", "alt.com:8080", "/item/jba", "POST alt.com/item/{user}", "jba");
  expect(m, "GET", "alt.com", "/item/jba", "GET /item/{user}", "jba");
  expect(m, "GET", "", "/headwins", "GET /headwins", "");
  expect(m, "HEAD", "", "/headwins", "HEAD /headwins", ""); /* HEAD beats GET */
  expect(m, "GET", "", "/path/to/file", "/path/{p...}", "to/file");
  expect(m, "GET", "", "/path/*", "/path/{p...}", "*");
  /* "/item" is not matched: it redirects to "/item/". */
  nh_mux_route res;
  CHECK_EQ(nh_mux_match(m, "GET", "", "/item", "q=1", &res), NH_ENOENT);
  CHECK_EQ(res.status, 301);
  CHECK_STR(res.location, "/item/?q=1");
  nh_mux_free(m);
}

NH_TEST(dollar_wildcard_and_multi_together) {
  nh_mux *m = MUX("/a/b/{$}");
  expect(m, "GET", "", "/a/b/", "/a/b/{$}", "");
  expect(m, "GET", "", "/a/b/c", "", NULL);
  expect(m, "GET", "", "/a/b/c/d", "", NULL);
  nh_mux_free(m);
  m = MUX("/a/b/{w}");
  expect(m, "GET", "", "/a/b/", "", NULL);
  expect(m, "GET", "", "/a/b/c", "/a/b/{w}", "c");
  expect(m, "GET", "", "/a/b/c/d", "", NULL);
  nh_mux_free(m);
  m = MUX("/a/b/{w...}");
  expect(m, "GET", "", "/a/b/", "/a/b/{w...}", "");
  expect(m, "GET", "", "/a/b/c", "/a/b/{w...}", "c");
  expect(m, "GET", "", "/a/b/c/d", "/a/b/{w...}", "c/d");
  nh_mux_free(m);
  m = MUX("/a/b/{$}", "/a/b/{w}", "/a/b/{w...}");
  expect(m, "GET", "", "/a/b/", "/a/b/{$}", "");
  expect(m, "GET", "", "/a/b/c", "/a/b/{w}", "c");
  expect(m, "GET", "", "/a/b/c/d", "/a/b/{w...}", "c/d");
  /* "/a/b" redirects to "/a/b/" ({$} and the multi match it exactly). */
  nh_mux_route res;
  CHECK_EQ(nh_mux_match(m, "GET", "", "/a/b", NULL, &res), NH_ENOENT);
  CHECK_EQ(res.status, 301);
  CHECK_STR(res.location, "/a/b/");
  nh_mux_free(m);
  /* "/{$}" is the root alone. */
  m = MUX("/{$}");
  expect(m, "GET", "", "/", "/{$}", "");
  expect(m, "GET", "", "/x", "", NULL);
  nh_mux_free(m);
}

NH_TEST(connect_paths_are_not_cleaned) {
  nh_mux *m = MUX("CONNECT /a//b", "/a/{x}/b", "/{x}/{y...}");
  expect(m, "CONNECT", "", "/a//b", "CONNECT /a//b", "");
  expect(m, "CONNECT", "", "/a/z/b", "/a/{x}/b", "z");
  expect(m, "CONNECT", "", "//c", "/{x}/{y...}", ",c");
  expect(m, "CONNECT", "", "/a//c", "/{x}/{y...}", "a,/c");
  nh_mux_free(m);
  m = MUX("/a/{x}/b", "/{x}/", "/{x}/{y}/{z}");
  expect(m, "CONNECT", "", "/a//b", "/a/{x}/b", "");
  expect(m, "CONNECT", "", "//", "/{x}/", "");
  expect(m, "CONNECT", "", "///c", "/{x}/{y}/{z}", ",,c");
  nh_mux_free(m);
}

/* Go's TestFindHandler: cleaning redirects, subtree redirects, CONNECT. */
NH_TEST(find_handler) {
  nh_mux *m = MUX("/", "/foo/", "/foo", "/bar/", "//foo");
  static const struct {
    const char *method, *path;
    int status;
    const char *what; /* pattern or Location */
  } tests[] = {
      {"GET", "/", 200, "/"},
      {"GET", "//", 301, "/"},
      {"GET", "/foo/../bar/./..//baz", 301, "/baz"},
      {"GET", "/foo", 200, "/foo"},
      {"GET", "/foo/x", 200, "/foo/"},
      {"GET", "/bar/x", 200, "/bar/"},
      {"GET", "/bar", 301, "/bar/"},
      {"CONNECT", "", 404, NULL},
      {"CONNECT", "/", 200, "/"},
      {"CONNECT", "//", 200, "/"},
      {"CONNECT", "//foo", 200, "//foo"},
      {"CONNECT", "/foo/../bar/./..//baz", 200, "/foo/"},
      {"CONNECT", "/foo", 200, "/foo"},
      {"CONNECT", "/foo/x", 200, "/foo/"},
      {"CONNECT", "/bar/x", 200, "/bar/"},
      {"CONNECT", "/bar", 301, "/bar/"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh_mux_route res;
    nh_mux_match(m, tests[i].method, "example.com", tests[i].path, NULL, &res);
    const char *got = res.status == 200 ? res.pattern : res.status == 301 ? res.location : NULL;
    if (res.status != tests[i].status ||
        (tests[i].what && (!got || strcmp(got, tests[i].what) != 0)))
      NH_FAIL("%s %s: got %d %s, want %d %s", tests[i].method, tests[i].path, res.status,
              got ? got : "-", tests[i].status, tests[i].what ? tests[i].what : "-");
  }
  nh_mux_free(m);
}

NH_TEST(escaped_paths_and_patterns) {
  nh_mux *m = MUX("/a", "/%62", "/%7B/%7D", "/%x", "/v/{v}", "/r/{rest...}");
  static const char *tests[][2] = {
      {"/a", "/a"},          {"/%61", "/a"},          {"/b", "/%62"},
      {"/%62", "/%62"},      {"/{/}", "/%7B/%7D"},    {"/%7b/}", "/%7B/%7D"},
      {"/{/%7d", "/%7B/%7D"}, {"/%7B/%7D", "/%7B/%7D"}, {"/%25x", "/%x"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    expect(m, "GET", "", tests[i][0], tests[i][1], NULL);
  /* Values are unescaped per segment; a multi's rest as a whole. */
  expect(m, "GET", "", "/v/a%20b", "/v/{v}", "a b");
  expect(m, "GET", "", "/v/a%2Fb", "/v/{v}", "a/b");
  expect(m, "GET", "", "/v/100%", "/v/{v}", "100%"); /* malformed: kept */
  expect(m, "GET", "", "/r/x%2Fy/z%3F", "/r/{rest...}", "x/y/z?");
  nh_mux_free(m);
}

NH_TEST(method_not_allowed) {
  nh_mux *m = MUX("GET a.com/", "PUT b.com/", "POST /foo/{x}", "GET /r/{x}", "DELETE /r/{x}",
                  "POST /dir/");
  nh_mux_route res;
  static const struct {
    const char *method, *host, *path;
    int status;
    const char *allow;
  } tests[] = {
      {"GET", "", "/foo", 404, ""},
      {"GET", "", "/foo/bar", 405, "POST"},
      {"PUT", "a.com", "/foo/bar", 405, "GET, HEAD, POST"},
      {"GET", "b.com", "/bar", 405, "PUT"},
      {"PUT", "", "/r/1", 405, "DELETE, GET, HEAD"},
      {"GET", "", "/dir", 405, "POST"}, /* counting the "/dir/" redirect */
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    CHECK_EQ(nh_mux_match(m, tests[i].method, tests[i].host, tests[i].path, NULL, &res),
             NH_ENOENT);
    if (res.status != tests[i].status || strcmp(res.allow, tests[i].allow) != 0)
      NH_FAIL("%s %s%s: got %d \"%s\", want %d \"%s\"", tests[i].method, tests[i].host,
              tests[i].path, res.status, res.allow, tests[i].status, tests[i].allow);
  }
  nh_mux_free(m);
}

NH_TEST(host_patterns_win) {
  nh_mux *m = MUX("/", "/{x}", "example.com/", "GET example.com/{x}", "::1/v6");
  expect(m, "GET", "example.com", "/a", "GET example.com/{x}", "a");
  expect(m, "GET", "example.com:80", "/a/b", "example.com/", "");
  expect(m, "POST", "example.com", "/a", "example.com/", "");
  expect(m, "GET", "other.com", "/a", "/{x}", "a");
  expect(m, "GET", "", "/a", "/{x}", "a");
  /* As Go: the port is stripped with SplitHostPort, brackets and all. */
  expect(m, "GET", "[::1]:8080", "/v6", "::1/v6", "");
  expect(m, "GET", "[::1]", "/v6", "/{x}", "v6");
  nh_mux_free(m);
}

NH_TEST(register_errors) {
  nh_mux *m = nh_mux_new();
  CHECK_EQ(nh_mux_handle_func(m, "/a", noop, NULL), NH_OK);
  CHECK_STR(nh_mux_error(m), "");
  CHECK_EQ(nh_mux_handle_func(m, "", noop, NULL), NH_EINVAL);
  CHECK_CONTAINS(nh_mux_error(m), "empty pattern");
  CHECK_EQ(nh_mux_handle(m, "/", NH_HANDLER(NULL, NULL)), NH_EINVAL);
  CHECK_CONTAINS(nh_mux_error(m), "nil handler");
  CHECK_EQ(nh_mux_handle_func(m, "/{x", noop, NULL), NH_EINVAL);
  CHECK_CONTAINS(nh_mux_error(m), "parsing \"/{x\": at offset 1: bad wildcard segment");
  CHECK_EQ(nh_mux_handle_func(m, "/a", noop, NULL), NH_ECONFLICT);
  CHECK_CONTAINS(nh_mux_error(m), "conflicts with pattern \"/a\" (registered at ");
  CHECK_CONTAINS(nh_mux_error(m), "test_match.c:");
  CHECK_CONTAINS(nh_mux_error(m), "/a matches the same requests as /a");
  /* The failed registrations left nothing behind. */
  nh_mux_route res;
  CHECK_EQ(nh_mux_match(m, "GET", "", "/", NULL, &res), NH_ENOENT);
  CHECK_EQ(res.status, 404);
  nh_mux_free(m);

  m = nh_mux_new();
  CHECK_EQ(nh_mux_handle_func(m, "/a/{x}/", noop, NULL), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "/a/{y}/{z...}", noop, NULL), NH_ECONFLICT);
  CHECK_CONTAINS(nh_mux_error(m), "matches the same requests as");
  CHECK_EQ(nh_mux_handle_func(m, "GET /a/{x}", noop, NULL), NH_OK);
  int line = __LINE__ + 1;
  CHECK_EQ(nh_mux_handle_func(m, "GET /{y}/b", noop, NULL), NH_ECONFLICT);
  char want[256];
  snprintf(want, sizeof want, "pattern \"GET /{y}/b\" (registered at %s:%d) conflicts with "
                              "pattern \"GET /a/{x}\" (registered at ", __FILE__, line);
  CHECK_CONTAINS(nh_mux_error(m), want);
  CHECK_CONTAINS(nh_mux_error(m), "both match some paths, like \"/a/b\"");
  CHECK_CONTAINS(nh_mux_error(m), "GET /{y}/b matches \"/y/b\", but GET /a/{x} doesn't.");
  /* Different methods do not conflict; GET and HEAD overlap. */
  CHECK_EQ(nh_mux_handle_func(m, "POST /{y}/b", noop, NULL), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "HEAD /{y}/b", noop, NULL), NH_ECONFLICT);
  CHECK_CONTAINS(nh_mux_error(m), "conflicts with pattern \"GET /a/{x}\"");
  nh_mux_free(m);
}

/* Registration is refused once the handler was handed out. */
NH_TEST(register_after_handler_refused) {
  nh_mux *m = nh_mux_new();
  CHECK_EQ(nh_mux_handle_func(m, "/a", noop, NULL), NH_OK);
  nh_handler h = nh_mux_handler(m);
  CHECK(h.fn && h.data == m);
  CHECK_EQ(nh_mux_handle_func(m, "/b", noop, NULL), NH_EBUSY);
  CHECK_CONTAINS(nh_mux_error(m), "\"/b\"");
  CHECK_CONTAINS(nh_mux_error(m), "after the mux started serving");
  nh_mux_route res;
  CHECK_EQ(nh_mux_match(m, "GET", "", "/b", NULL, &res), NH_ENOENT);
  CHECK_EQ(nh_mux_match(m, "GET", "", "/a", NULL, &res), NH_OK);
  nh_mux_free(m);
}

NH_TEST(handler_data_of_the_route) {
  nh_mux *m = MUX("/one", "/two/{x}");
  nh_mux_route res;
  CHECK_EQ(nh_mux_match(m, "GET", "", "/two/2", NULL, &res), NH_OK);
  CHECK(res.handler.fn == noop);
  CHECK_EQ((intptr_t)res.handler.data, 2);
  CHECK_STR(res.names[0], "x");
  CHECK_STR(res.values[0], "2");
  nh_mux_free(m);
}

NH_TEST(options_star_and_long_paths) {
  nh_mux *m = MUX("/");
  nh_mux_route res;
  CHECK_EQ(nh_mux_match(m, "OPTIONS", "", "*", NULL, &res), NH_ENOENT);
  CHECK_EQ(res.status, 400);
  char *longp = malloc(8192);
  memset(longp, 'a', 8191);
  longp[0] = '/';
  longp[8191] = 0;
  CHECK_EQ(nh_mux_match(m, "GET", "", longp, NULL, &res), NH_ERANGE);
  free(longp);
  nh_mux_free(m);
}

/* Many routes: matching still finds the right one (the tree, not a scan,
 * is what the benchmark measures). */
NH_TEST(many_routes) {
  nh_mux *m = nh_mux_new();
  char pat[128], path[128];
  for (int i = 0; i < 2000; i++) {
    snprintf(pat, sizeof pat, "GET /api/r%d/{id}", i);
    CHECK_EQ(nh_mux_handle_func(m, pat, noop, (void *)(intptr_t)i), NH_OK);
    snprintf(pat, sizeof pat, "DELETE /api/r%d/{id}", i);
    CHECK_EQ(nh_mux_handle_func(m, pat, noop, (void *)(intptr_t)i), NH_OK);
  }
  for (int i = 0; i < 2000; i += 97) {
    nh_mux_route res;
    snprintf(path, sizeof path, "/api/r%d/x%d", i, i);
    CHECK_EQ(nh_mux_match(m, "GET", "", path, NULL, &res), NH_OK);
    CHECK_EQ((intptr_t)res.handler.data, i);
    snprintf(pat, sizeof pat, "x%d", i);
    CHECK_STR(res.values[0], pat);
  }
  nh_mux_free(m);
}

NH_TEST_MAIN()
