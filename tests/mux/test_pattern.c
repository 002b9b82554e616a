/* Patterns: parsing, precedence relations, conflicts and how they are
 * described. The tables follow Go's net/http pattern_test.go. */
#include "harness.h"
#include "util/url_internal.h"

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

#include <nethttp.h>

#include "mux/pattern.h"

static nh__pattern *must_parse(const char *s) {
  char err[256];
  nh__pattern *p = nh__pattern_parse(s, err, sizeof err);
  if (!p)
    NH_FAIL("parse \"%s\": %s", s, err);
  return p;
}

/* Segments written as "lit:a", "wild:w", "multi:", "multi:rest". */
static void check_segs(const char *in, const char *method, const char *host, int n,
                       const char *const *want) {
  nh__pattern *p = must_parse(in);
  CHECK_STR(p->method, method);
  CHECK_STR(p->host, host);
  if (p->nsegs != n)
    NH_FAIL("\"%s\": %d segments, want %d", in, p->nsegs, n);
  for (int i = 0; i < n; i++) {
    const nh__seg *s = &p->segs[i];
    char got[128];
    snprintf(got, sizeof got, "%s:%.*s",
             s->multi  ? "multi"
             : s->wild ? "wild"
                       : "lit",
             (int)s->len, s->s);
    if (strcmp(got, want[i]) != 0)
      NH_FAIL("\"%s\" segment %d: got %s, want %s", in, i, got, want[i]);
  }
  nh__pattern_free(p);
}

#define SEGS(in, method, host, ...)                                                                \
  check_segs(in, method, host, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)),      \
             (const char *[]){__VA_ARGS__})

NH_TEST(parse) {
  SEGS("/", "", "", "multi:");
  SEGS("/a", "", "", "lit:a");
  SEGS("/a/", "", "", "lit:a", "multi:");
  SEGS("/path/to/something", "", "", "lit:path", "lit:to", "lit:something");
  SEGS("/{w1}/lit/{w2}", "", "", "wild:w1", "lit:lit", "wild:w2");
  SEGS("/{w1}/lit/{w2}/", "", "", "wild:w1", "lit:lit", "wild:w2", "multi:");
  SEGS("example.com/", "", "example.com", "multi:");
  SEGS("GET /", "GET", "", "multi:");
  SEGS("POST example.com/foo/{w}", "POST", "example.com", "lit:foo", "wild:w");
  SEGS("/{$}", "", "", "lit:/");
  SEGS("DELETE example.com/a/{foo12}/{$}", "DELETE", "example.com", "lit:a", "wild:foo12", "lit:/");
  SEGS("/foo/{$}", "", "", "lit:foo", "lit:/");
  SEGS("/{a}/foo/{rest...}", "", "", "wild:a", "lit:foo", "multi:rest");
  SEGS("//", "", "", "lit:", "multi:");
  SEGS("/foo///./../bar", "", "", "lit:foo", "lit:", "lit:", "lit:.", "lit:..", "lit:bar");
  SEGS("a.com/foo//", "", "a.com", "lit:foo", "lit:", "multi:");
  SEGS("/%61%62/%7b/%", "", "", "lit:ab", "lit:{", "lit:%");
  SEGS("GET\t  /", "GET", "", "multi:");
  SEGS("POST \t  example.com/foo/{w}", "POST", "example.com", "lit:foo", "wild:w");
  SEGS("DELETE    \texample.com/a/{foo12}/{$}", "DELETE", "example.com", "lit:a", "wild:foo12",
       "lit:/");
}

NH_TEST(parse_errors) {
  static const struct {
    const char *in, *contains;
  } tests[] = {
      {"", "empty pattern"},
      {"A=B /", "at offset 0: invalid method"},
      {" ", "at offset 1: host/path missing /"},
      {"/{w}x", "at offset 1: bad wildcard segment"},
      {"/x{w}", "at offset 1: bad wildcard segment"},
      {"/{wx", "at offset 1: bad wildcard segment"},
      {"/a/{/}/c", "at offset 3: bad wildcard segment"},
      {"/a/{%61}/c", "at offset 3: bad wildcard name"}, /* names are not unescaped */
      {"/{a$}", "at offset 1: bad wildcard name"},
      {"/{}", "at offset 1: empty wildcard"},
      {"POST a.com/x/{}/y", "at offset 13: empty wildcard"},
      {"/{...}", "at offset 1: empty wildcard"},
      {"/{$...}", "at offset 1: bad wildcard"},
      {"/{$}/", "at offset 1: {$} not at end"},
      {"/{$}/x", "at offset 1: {$} not at end"},
      {"/abc/{$}/x", "at offset 5: {$} not at end"},
      {"/{a...}/", "at offset 1: {...} wildcard not at end"},
      {"/{a...}/x", "at offset 1: {...} wildcard not at end"},
      {"{a}/b", "at offset 0: host contains '{' (missing initial '/'?)"},
      {"/a/{x}/b/{x...}", "at offset 9: duplicate wildcard name"},
      {"GET //", "at offset 4: non-CONNECT pattern with unclean path"},
      {"GET /a/../b", "unclean path"},
      {"/{9x}", "bad wildcard name"},
      {"/{", "bad wildcard segment"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    char err[256] = "";
    nh__pattern *p = nh__pattern_parse(tests[i].in, err, sizeof err);
    if (p)
      NH_FAIL("\"%s\" parsed, want error containing \"%s\"", tests[i].in, tests[i].contains);
    if (!strstr(err, tests[i].contains))
      NH_FAIL("\"%s\": got \"%s\", want \"%s\"", tests[i].in, err, tests[i].contains);
  }
  /* Unclean paths are allowed without a method and with CONNECT. */
  nh__pattern_free(must_parse("CONNECT /a//b"));
  nh__pattern_free(must_parse("/a/./b"));
}

static const char *rel_name(nh__rel r) {
  static const char *names[] = {"equivalent", "moreGeneral", "moreSpecific", "disjoint",
                                "overlaps"};
  return names[r];
}

static nh__rel inverse_rel(nh__rel r) {
  return r == NH__REL_MORE_GENERAL    ? NH__REL_MORE_SPECIFIC
         : r == NH__REL_MORE_SPECIFIC ? NH__REL_MORE_GENERAL
                                      : r;
}

#define EQ NH__REL_EQUIVALENT
#define GEN NH__REL_MORE_GENERAL
#define SPEC NH__REL_MORE_SPECIFIC
#define DIS NH__REL_DISJOINT
#define OVL NH__REL_OVERLAPS

NH_TEST(compare_methods) {
  static const struct {
    const char *p1, *p2;
    nh__rel want;
  } tests[] = {
      {"/", "/", EQ},           {"GET /", "GET /", EQ},   {"HEAD /", "HEAD /", EQ},
      {"POST /", "POST /", EQ}, {"GET /", "POST /", DIS}, {"GET /", "/", SPEC},
      {"HEAD /", "/", SPEC},    {"GET /", "HEAD /", GEN},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh__pattern *a = must_parse(tests[i].p1), *b = must_parse(tests[i].p2);
    nh__rel got = nh__pattern_compare_methods(a, b), back = nh__pattern_compare_methods(b, a);
    if (got != tests[i].want || back != inverse_rel(tests[i].want))
      NH_FAIL("%s vs %s: got %s / %s, want %s", tests[i].p1, tests[i].p2, rel_name(got),
              rel_name(back), rel_name(tests[i].want));
    nh__pattern_free(a);
    nh__pattern_free(b);
  }
}

NH_TEST(compare_paths) {
  static const struct {
    const char *p1, *p2;
    nh__rel want;
  } tests[] = {
      /* A literal is more specific than anything it overlaps, except itself. */
      {"/a", "/a", EQ},
      {"/a", "/b", DIS},
      {"/a", "/", SPEC},
      {"/a", "/{$}", DIS},
      {"/a", "/{x}", SPEC},
      {"/a", "/{x...}", SPEC},
      {"/b/a", "/b/a", EQ},
      {"/b/a", "/b/b", DIS},
      {"/b/a", "/b/", SPEC},
      {"/b/a", "/b/{$}", DIS},
      {"/b/a", "/b/{x}", SPEC},
      {"/b/a", "/b/{x...}", SPEC},
      {"/{z}/a", "/{z}/a", EQ},
      {"/{z}/a", "/{z}/b", DIS},
      {"/{z}/a", "/{z}/", SPEC},
      {"/{z}/a", "/{z}/{$}", DIS},
      {"/{z}/a", "/{z}/{x}", SPEC},
      {"/{z}/a", "/{z}/{x...}", SPEC},
      /* Single wildcard on the left. */
      {"/{z}", "/a", GEN},
      {"/{z}", "/a/b", DIS},
      {"/{z}", "/{$}", DIS},
      {"/{z}", "/{x}", EQ},
      {"/{z}", "/", SPEC},
      {"/{z}", "/{x...}", SPEC},
      {"/b/{z}", "/b/a", GEN},
      {"/b/{z}", "/b/a/b", DIS},
      {"/b/{z}", "/b/{$}", DIS},
      {"/b/{z}", "/b/{x}", EQ},
      {"/b/{z}", "/b/", SPEC},
      {"/b/{z}", "/b/{x...}", SPEC},
      /* Trailing slash on the left. */
      {"/", "/a", GEN},
      {"/", "/a/b", GEN},
      {"/", "/{$}", GEN},
      {"/", "/{x}", GEN},
      {"/", "/", EQ},
      {"/", "/{x...}", EQ},
      {"/b/", "/b/a", GEN},
      {"/b/", "/b/a/b", GEN},
      {"/b/", "/b/{$}", GEN},
      {"/b/", "/b/{x}", GEN},
      {"/b/", "/b/", EQ},
      {"/b/", "/b/{x...}", EQ},
      {"/{z}/", "/{z}/a", GEN},
      {"/{z}/", "/{z}/a/b", GEN},
      {"/{z}/", "/{z}/{$}", GEN},
      {"/{z}/", "/{z}/{x}", GEN},
      {"/{z}/", "/{z}/", EQ},
      {"/{z}/", "/a/", GEN},
      {"/{z}/", "/{z}/{x...}", EQ},
      {"/{z}/", "/a/{x...}", GEN},
      {"/a/{z}/", "/{z}/a/", OVL},
      {"/a/{z}/b/", "/{x}/c/{y...}", OVL},
      /* Multi wildcard on the left. */
      {"/{m...}", "/a", GEN},
      {"/{m...}", "/a/b", GEN},
      {"/{m...}", "/{$}", GEN},
      {"/{m...}", "/{x}", GEN},
      {"/{m...}", "/", EQ},
      {"/{m...}", "/{x...}", EQ},
      {"/b/{m...}", "/b/a", GEN},
      {"/b/{m...}", "/b/a/b", GEN},
      {"/b/{m...}", "/b/{$}", GEN},
      {"/b/{m...}", "/b/{x}", GEN},
      {"/b/{m...}", "/b/", EQ},
      {"/b/{m...}", "/b/{x...}", EQ},
      {"/b/{m...}", "/a/{x...}", DIS},
      {"/{z}/{m...}", "/{z}/a", GEN},
      {"/{z}/{m...}", "/{z}/a/b", GEN},
      {"/{z}/{m...}", "/{z}/{$}", GEN},
      {"/{z}/{m...}", "/{z}/{x}", GEN},
      {"/{z}/{m...}", "/{w}/", EQ},
      {"/{z}/{m...}", "/a/", GEN},
      {"/{z}/{m...}", "/{z}/{x...}", EQ},
      {"/{z}/{m...}", "/a/{x...}", GEN},
      {"/a/{m...}", "/a/b/{y...}", GEN},
      {"/a/{m...}", "/a/{x}/{y...}", GEN},
      {"/a/{z}/{m...}", "/a/b/{y...}", GEN},
      {"/a/{z}/{m...}", "/{z}/a/", OVL},
      {"/a/{z}/{m...}", "/{z}/b/{y...}", OVL},
      {"/a/{z}/b/{m...}", "/{x}/c/{y...}", OVL},
      {"/a/{z}/a/{m...}", "/{x}/b", DIS},
      /* Dollar on the left. */
      {"/{$}", "/a", DIS},
      {"/{$}", "/a/b", DIS},
      {"/{$}", "/{$}", EQ},
      {"/{$}", "/{x}", DIS},
      {"/{$}", "/", SPEC},
      {"/{$}", "/{x...}", SPEC},
      {"/b/{$}", "/b", DIS},
      {"/b/{$}", "/b/a", DIS},
      {"/b/{$}", "/b/a/b", DIS},
      {"/b/{$}", "/b/{$}", EQ},
      {"/b/{$}", "/b/{x}", DIS},
      {"/b/{$}", "/b/", SPEC},
      {"/b/{$}", "/b/{x...}", SPEC},
      {"/b/{$}", "/b/c/{x...}", DIS},
      {"/b/{x}/a/{$}", "/{x}/c/{y...}", OVL},
      {"/{x}/b/{$}", "/a/{x}/{y}", DIS},
      {"/{x}/b/{$}", "/a/{x}/c", DIS},
      {"/{z}/{$}", "/{z}/a", DIS},
      {"/{z}/{$}", "/{z}/a/b", DIS},
      {"/{z}/{$}", "/{z}/{$}", EQ},
      {"/{z}/{$}", "/{z}/{x}", DIS},
      {"/{z}/{$}", "/{z}/", SPEC},
      {"/{z}/{$}", "/a/", OVL},
      {"/{z}/{$}", "/a/{x...}", OVL},
      {"/{z}/{$}", "/{z}/{x...}", SPEC},
      {"/a/{z}/{$}", "/{z}/a/", OVL},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh__pattern *a = must_parse(tests[i].p1), *b = must_parse(tests[i].p2);
    CHECK_EQ(nh__pattern_compare_paths(a, a), EQ);
    CHECK_EQ(nh__pattern_compare_paths(b, b), EQ);
    nh__rel got = nh__pattern_compare_paths(a, b), back = nh__pattern_compare_paths(b, a);
    if (got != tests[i].want)
      NH_FAIL("%s vs %s: got %s, want %s", tests[i].p1, tests[i].p2, rel_name(got),
              rel_name(tests[i].want));
    if (back != inverse_rel(tests[i].want))
      NH_FAIL("%s vs %s: got %s, want %s", tests[i].p2, tests[i].p1, rel_name(back),
              rel_name(inverse_rel(tests[i].want)));
    nh__pattern_free(a);
    nh__pattern_free(b);
  }
}

NH_TEST(conflicts_with) {
  static const struct {
    const char *p1, *p2;
    int want;
  } tests[] = {
      {"/a", "/a", 1},
      {"/a", "/ab", 0},
      {"/a/b/cd", "/a/b/cd", 1},
      {"/a/b/cd", "/a/b/c", 0},
      {"/a/b/c", "/a/c/c", 0},
      {"/{x}", "/{y}", 1},
      {"/{x}", "/a", 0},
      {"/{x}/{y}", "/{x}/a", 0},
      {"/{x}/{y}", "/{x}/a/b", 0},
      {"/{x}", "/a/{y}", 0},
      {"/{x}/{y}", "/{x}/a/", 0},
      {"/{x}", "/a/{y...}", 0},
      {"/{x}/a/{y}", "/{x}/a/{y...}", 0},
      {"/{x}/{y}", "/{x}/a/{$}", 0},
      {"/{x}/{y}/{$}", "/{x}/a/{$}", 0},
      {"/a/{x}", "/{x}/b", 1},
      {"/", "GET /", 0},
      {"/", "GET /foo", 0},
      {"GET /", "GET /foo", 0},
      {"GET /", "/foo", 1},
      {"GET /foo", "HEAD /", 1},
      /* Hosts: a host pattern is more specific than any hostless one. */
      {"a.com/", "/", 0},
      {"a.com/{x}", "/a", 0},
      {"a.com/a/{x}", "a.com/{y}/b", 1},
      {"a.com/a/{x}", "b.com/{y}/b", 0},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh__pattern *a = must_parse(tests[i].p1), *b = must_parse(tests[i].p2);
    if (nh__pattern_conflicts(a, b) != tests[i].want ||
        nh__pattern_conflicts(b, a) != tests[i].want)
      NH_FAIL("conflicts(%s, %s) != %d", tests[i].p1, tests[i].p2, tests[i].want);
    nh__pattern_free(a);
    nh__pattern_free(b);
  }
}

NH_TEST(describe_conflict) {
  static const struct {
    const char *p1, *p2, *want;
  } tests[] = {
      {"/a/{x}", "/a/{y}", "the same requests"},
      {"/", "/{m...}", "the same requests"},
      {"/a/{x}", "/{y}/b", "both match some paths"},
      {"/a", "GET /{x}",
       "matches more methods than GET /{x}, but has a more specific path pattern"},
      {"GET /a", "HEAD /",
       "matches more methods than HEAD /, but has a more specific path pattern"},
      {"POST /", "/a", "matches fewer methods than /a, but has a more general path pattern"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh__pattern *a = must_parse(tests[i].p1), *b = must_parse(tests[i].p2);
    char got[1024];
    nh__pattern_describe_conflict(a, b, got, sizeof got);
    if (!strstr(got, tests[i].want))
      NH_FAIL("%s vs %s: \"%s\" lacks \"%s\"", tests[i].p1, tests[i].p2, got, tests[i].want);
    nh__pattern_free(a);
    nh__pattern_free(b);
  }
}

NH_TEST(common_path) {
  static const char *tests[][3] = {
      {"/a/{x}", "/{x}/a", "/a/a"},
      {"/a/{z}/", "/{z}/a/", "/a/a/"},
      {"/a/{z}/{m...}", "/{z}/a/", "/a/a/"},
      {"/{z}/{$}", "/a/", "/a/"},
      {"/{z}/{$}", "/a/{x...}", "/a/"},
      {"/a/{z}/{$}", "/{z}/a/", "/a/a/"},
      {"/a/{x}/b/{y...}", "/{x}/c/{y...}", "/a/c/b/"},
      {"/a/{x}/b/", "/{x}/c/{y...}", "/a/c/b/"},
      {"/a/{x}/b/{$}", "/{x}/c/{y...}", "/a/c/b/"},
      {"/a/{z}/{x...}", "/{z}/b/{y...}", "/a/b/"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh__pattern *a = must_parse(tests[i][0]), *b = must_parse(tests[i][1]);
    CHECK_EQ(nh__pattern_compare_paths(a, b), OVL);
    char got[256];
    nh__pattern_common_path(a, b, got, sizeof got);
    if (strcmp(got, tests[i][2]) != 0)
      NH_FAIL("%s vs %s: got %s, want %s", tests[i][0], tests[i][1], got, tests[i][2]);
    nh__pattern_free(a);
    nh__pattern_free(b);
  }
}

NH_TEST(difference_path) {
  static const char *tests[][3] = {
      {"/a/{x}", "/{x}/a", "/a/x"},
      {"/{x}/a", "/a/{x}", "/x/a"},
      {"/a/{z}/", "/{z}/a/", "/a/z/"},
      {"/{z}/a/", "/a/{z}/", "/z/a/"},
      {"/{a}/a/", "/a/{z}/", "/ax/a/"},
      {"/a/{z}/{x...}", "/{z}/b/{y...}", "/a/z/"},
      {"/{z}/b/{y...}", "/a/{z}/{x...}", "/z/b/"},
      {"/a/b/", "/a/b/c", "/a/b/"},
      {"/a/b/{x...}", "/a/b/c", "/a/b/"},
      {"/a/b/{x...}", "/a/b/c/d", "/a/b/"},
      {"/a/b/{x...}", "/a/b/c/d/", "/a/b/"},
      {"/a/{z}/{m...}", "/{z}/a/", "/a/z/"},
      {"/{z}/a/", "/a/{z}/{m...}", "/z/a/"},
      {"/{z}/{$}", "/a/", "/z/"},
      {"/a/", "/{z}/{$}", "/a/x"},
      {"/{z}/{$}", "/a/{x...}", "/z/"},
      {"/a/{foo...}", "/{z}/{$}", "/a/foo"},
      {"/a/{z}/{$}", "/{z}/a/", "/a/z/"},
      {"/{z}/a/", "/a/{z}/{$}", "/z/a/x"},
      {"/a/{x}/b/{y...}", "/{x}/c/{y...}", "/a/x/b/"},
      {"/{x}/c/{y...}", "/a/{x}/b/{y...}", "/x/c/"},
      {"/a/{c}/b/", "/{x}/c/{y...}", "/a/cx/b/"},
      {"/{x}/c/{y...}", "/a/{c}/b/", "/x/c/"},
      {"/a/{x}/b/{$}", "/{x}/c/{y...}", "/a/x/b/"},
      {"/{x}/c/{y...}", "/a/{x}/b/{$}", "/x/c/"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    nh__pattern *a = must_parse(tests[i][0]), *b = must_parse(tests[i][1]);
    nh__rel r = nh__pattern_compare_paths(a, b);
    CHECK(r == OVL || r == GEN);
    char got[256];
    nh__pattern_difference_path(a, b, got, sizeof got);
    if (strcmp(got, tests[i][2]) != 0)
      NH_FAIL("%s vs %s: got %s, want %s", tests[i][0], tests[i][1], got, tests[i][2]);
    nh__pattern_free(a);
    nh__pattern_free(b);
  }
}

NH_TEST(clean_path) {
  static const char *tests[][2] = {
      {"//", "/"},
      {"/x", "/x"},
      {"//x", "/x"},
      {"x//", "/x/"},
      {"a//b/////c", "/a/b/c"},
      {"/foo/../bar/./..//baz", "/baz"},
      {"", "/"},
      {"/..", "/"},
      {"/a/..", "/"},
      {"/a/b/../", "/a/"},
      {"/./", "/"},
      {"/a/./b/.", "/a/b"},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    char out[64];
    nh__clean_path(tests[i][0], out);
    if (strcmp(out, tests[i][1]) != 0)
      NH_FAIL("clean(%s) = %s, want %s", tests[i][0], out, tests[i][1]);
    CHECK(nh__mux_path_is_clean(out));
    CHECK_EQ(nh__mux_path_is_clean(tests[i][0]), !strcmp(tests[i][0], tests[i][1]));
  }
}

NH_TEST_MAIN()
