/* nh_error, nh_not_found, nh_redirect and nh_strip_prefix over real
 * sockets. */
#include "support.h"

static void fail_teapot(nh_response_writer *w, nh_request *r) {
  /* Headers of some other content, which nh_error must not keep lying. */
  nh_header_set(nh_resp_header(w), "Content-Length", "999");
  nh_header_set(nh_resp_header(w), "Content-Type", "application/json");
  nh_header_set(nh_resp_header(w), "X-Kept", "yes");
  nh_error(w, "no coffee here", 418);
}

NH_TEST(error_sets_plain_text_and_nosniff) {
  nh_test_server *ts = serve_handler(NH_HANDLER(fail_teapot, NULL), 1);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 418);
  CHECK_STR(r.body, "no coffee here\n");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  CHECK_STR(raw_header(&r, "X-Content-Type-Options"), "nosniff");
  CHECK_STR(raw_header(&r, "Content-Length"), "15");
  CHECK_STR(raw_header(&r, "X-Kept"), "yes");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static void not_found(nh_response_writer *w, nh_request *r) { nh_not_found(w, r); }

NH_TEST(not_found_body) {
  nh_test_server *ts = serve_handler(NH_HANDLER(not_found, NULL), 1);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 404);
  CHECK_STR(r.body, "404 page not found\n");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The target comes from the query: /some/path?to=URL&code=N. */
static void redirector(nh_response_writer *w, nh_request *r) {
  const char *q = nh_request_query(r);
  char to[256] = "";
  int code = 302;
  const char *t = strstr(q, "to=");
  if (t)
    snprintf(to, sizeof to, "%.*s", (int)strcspn(t + 3, "&"), t + 3);
  const char *c = strstr(q, "code=");
  if (c)
    code = atoi(c + 5);
  /* "%20" stands for a space, "%3F" for '?', "%C3%A9" for a non-ASCII é. */
  char dec[256];
  size_t n = 0;
  for (size_t i = 0; to[i]; i++) {
    if (to[i] == '%' && to[i + 1] && to[i + 2]) {
      char hx[3] = {to[i + 1], to[i + 2], 0};
      dec[n++] = (char)strtol(hx, NULL, 16);
      i += 2;
    } else {
      dec[n++] = to[i];
    }
  }
  dec[n] = 0;
  if (strstr(q, "ct=1"))
    nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_redirect(w, r, dec, code);
}

static raw_resp get(nh_test_server *ts, const char *method, const char *target) {
  char req[512];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method,
           target);
  return raw_roundtrip(nh_test_server_port(ts), req);
}

NH_TEST(redirect_location_and_status) {
  nh_test_server *ts = serve_handler(NH_HANDLER(redirector, NULL), 1);
  struct {
    const char *target, *location;
    int status;
  } cases[] = {
      /* absolute URLs are left alone */
      {"/a/b?to=http://example.com/x/../y&code=301", "http://example.com/x/../y", 301},
      {"/a/b?to=//other.host/p", "//other.host/p", 302},
      /* rooted paths are cleaned */
      {"/a/b?to=/x/./y/../z&code=307", "/x/z", 307},
      {"/a/b?to=/x/y/", "/x/y/", 302},
      /* relative paths resolve against the request's directory */
      {"/a/b?to=c", "/a/c", 302},
      {"/a/b/?to=c", "/a/b/c", 302},
      {"/a/b?to=../c/", "/c/", 302},
      {"/a/b?to=../../../c", "/c", 302},
      {"/a/b?to=c%3Fq=1", "/a/c?q=1", 302},
      {"/a/b?to=", "/a/", 302},
      /* non-ASCII bytes are escaped in the Location */
      {"/a/b?to=/caf%C3%A9&code=308", "/caf%C3%A9", 308},
      /* something url.Parse refuses is passed through untouched */
      {"/a/b?to=1a:b", "1a:b", 302},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw_resp r = get(ts, "GET", cases[i].target);
    CHECK_EQ(r.status, cases[i].status);
    CHECK_STR(raw_header(&r, "Location"), cases[i].location);
    raw_resp_free(&r);
  }
  /* GET: an HTML body with the escaped link; HEAD: the type, no body;
   * POST: neither; a handler's own Content-Type: no body. */
  raw_resp r = get(ts, "GET", "/a/b?to=/x%3Fa=1%26b=%3C2%3E&code=301");
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "/x?a=1&b=<2>");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/html; charset=utf-8");
  CHECK_STR(r.body, "<a href=\"/x?a=1&amp;b=&lt;2&gt;\">Moved Permanently</a>.\n\n");
  raw_resp_free(&r);
  r = get(ts, "HEAD", "/a/b?to=/y");
  CHECK_EQ(r.status, 302);
  CHECK_STR(raw_header(&r, "Content-Type"), "text/html; charset=utf-8");
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  r = get(ts, "POST", "/a/b?to=/y&code=303");
  CHECK_EQ(r.status, 303);
  CHECK(raw_header(&r, "Content-Type") == NULL);
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  r = get(ts, "GET", "/a/b?to=/y&ct=1");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain");
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static void show_path(nh_response_writer *w, nh_request *r) {
  nh_resp_printf(w, "path=%s target=%s", nh_request_path(r), nh_request_target(r));
}

typedef struct outer_seen {
  nh_handler inner;
} outer_seen;

/* Checks that the wrapper gives the path back to the handler outside it. */
static void outer(nh_response_writer *w, nh_request *r) {
  outer_seen *o = nh_request_handler_data(r);
  const char *before = nh_request_path(r);
  char saved[256];
  snprintf(saved, sizeof saved, "%s", before);
  nh_handler_serve(o->inner, w, r);
  nh_resp_printf(w, " outer=%s", nh_request_path(r));
  if (strcmp(saved, nh_request_path(r)) != 0)
    nh_resp_printf(w, " CHANGED");
}

NH_TEST(strip_prefix_paths_and_404) {
  nh_handler strip = nh_strip_prefix("/api", NH_HANDLER(show_path, NULL));
  CHECK(strip.fn);
  outer_seen o = {strip};
  nh_test_server *ts = serve_handler(NH_HANDLER(outer, &o), 1);
  raw_resp r = get(ts, "GET", "/api/users/7?x=1");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "path=/users/7 target=/api/users/7?x=1 outer=/api/users/7");
  raw_resp_free(&r);
  r = get(ts, "GET", "/api");
  CHECK_STR(r.body, "path= target=/api outer=/api");
  raw_resp_free(&r);
  r = get(ts, "GET", "/apix");
  CHECK_STR(r.body, "path=x target=/apix outer=/apix");
  raw_resp_free(&r);
  r = get(ts, "GET", "/other/api");
  CHECK_EQ(r.status, 404);
  CHECK_CONTAINS(r.body, "404 page not found\n outer=/other/api");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(strip);
  nh_handler_free(NH_HANDLER(show_path, NULL)); /* not a wrapper: left alone */
}

NH_TEST_MAIN()
