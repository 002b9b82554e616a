/* The mux over real sockets: 404, 405 with Allow, HEAD through GET,
 * redirects with their Location, decoded path values, host patterns, the
 * route's own handler data, registration refused once serving, and many
 * clients at once. */
#include "harness.h"
#include "server/rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <stdatomic.h>

/* Answers "<data>|<pattern>|<method>|id=<id>|path=<path>". */
static void echo(nh_response_writer *w, nh_request *r) {
  const char *id = nh_request_path_value(r, "id"), *path = nh_request_path_value(r, "path");
  const char *data = nh_request_handler_data(r);
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_resp_printf(w, "%s|%s|%s|id=%s|path=%s", data ? data : "-", nh_request_pattern(r),
                 nh_request_method(r), id ? id : "-", path ? path : "-");
}

static nh_mux *app(void) {
  nh_mux *m = nh_mux_new();
  CHECK(m);
  CHECK_EQ(nh_mux_handle_func(m, "GET /items/{id}", echo, "get-item"), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "DELETE /items/{id}", echo, "del-item"), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "/files/{path...}", echo, "files"), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "/dir/", echo, "dir"), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "/{$}", echo, "root"), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "api.example.com/", echo, "api"), NH_OK);
  CHECK_EQ(nh_mux_handle_func(m, "GET /a/c", echo, "ac"), NH_OK);
  return m;
}

static nh_test_server *serve(nh_mux *m) {
  nh_handler h = nh_mux_handler(m);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = h.fn;
  cfg.handler_data = h.data;
  nh_test_server *ts = nh_test_server_new(NULL, &cfg, 2);
  CHECK(ts);
  return ts;
}

static raw_resp get(nh_test_server *ts, const char *method, const char *target, const char *host) {
  char req[1024];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, target, host);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), req);
  CHECK(r.complete);
  return r;
}

static void finish(nh_test_server *ts, nh_mux *m) {
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_mux_free(m);
}

NH_TEST(not_found) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "GET", "/nope", "x");
  CHECK_EQ(r.status, 404);
  CHECK_STR(r.body, "404 page not found\n");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  CHECK_STR(raw_header(&r, "X-Content-Type-Options"), "nosniff");
  raw_resp_free(&r);
  /* "/{$}" is the root alone. */
  r = get(ts, "GET", "/", "x");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "root|/{$}|GET|id=-|path=-");
  raw_resp_free(&r);
  finish(ts, m);
}

static void custom_404(nh_response_writer *w, nh_request *r) {
  nh_resp_write_header(w, 404);
  nh_resp_printf(w, "no %s here (%s)", nh_request_path(r), (char *)nh_request_handler_data(r));
}

NH_TEST(custom_not_found) {
  nh_mux *m = app();
  nh_mux_set_not_found(m, NH_HANDLER(custom_404, "mine"));
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "GET", "/nope", "x");
  CHECK_EQ(r.status, 404);
  CHECK_STR(r.body, "no /nope here (mine)");
  raw_resp_free(&r);
  finish(ts, m);
}

NH_TEST(method_not_allowed_lists_allow) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "POST", "/items/7", "x");
  CHECK_EQ(r.status, 405);
  CHECK_STR(raw_header(&r, "Allow"), "DELETE, GET, HEAD");
  CHECK_STR(r.body, "Method Not Allowed\n");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  raw_resp_free(&r);
  r = get(ts, "DELETE", "/items/7", "x");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "del-item|DELETE /items/{id}|DELETE|id=7|path=-");
  raw_resp_free(&r);
  finish(ts, m);
}

NH_TEST(head_served_by_get) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "HEAD", "/items/7", "x");
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.blen, 0);
  /* The GET handler ran for HEAD: its body length is announced. */
  CHECK_STR(raw_header(&r, "Content-Length"),
            "41"); /* "get-item|GET /items/{id}|HEAD|id=7|path=-" */
  raw_resp_free(&r);
  finish(ts, m);
}

NH_TEST(redirects_keep_the_query) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "GET", "/dir?x=1&y=2", "x");
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "/dir/?x=1&y=2");
  CHECK_STR(r.body, "<a href=\"/dir/?x=1&amp;y=2\">Moved Permanently</a>.\n\n");
  raw_resp_free(&r);
  /* Unclean paths: 301 to the cleaned one. */
  r = get(ts, "GET", "/a//b/../c?q=1", "x");
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "/a/c?q=1");
  raw_resp_free(&r);
  r = get(ts, "GET", "/./dir/./x", "x");
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "/dir/x");
  raw_resp_free(&r);
  /* Not for POST either way: a redirect without a body. */
  r = get(ts, "POST", "/dir", "x");
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "/dir/");
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  /* And the redirect target is served. */
  r = get(ts, "GET", "/dir/", "x");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "dir|/dir/|GET|id=-|path=-");
  raw_resp_free(&r);
  finish(ts, m);
}

NH_TEST(path_values_decoded) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "GET", "/items/a%20b%2Fc?z=1", "x");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "get-item|GET /items/{id}|GET|id=a b/c|path=-");
  raw_resp_free(&r);
  r = get(ts, "PUT", "/files/x/y%2Fz/%41.txt", "x");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "files|/files/{path...}|PUT|id=-|path=x/y/z/A.txt");
  raw_resp_free(&r);
  finish(ts, m);
}

NH_TEST(host_patterns) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "GET", "/items/1", "api.example.com");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "api|api.example.com/|GET|id=-|path=-");
  raw_resp_free(&r);
  r = get(ts, "GET", "/items/1", "api.example.com:8080");
  CHECK_STR(r.body, "api|api.example.com/|GET|id=-|path=-");
  raw_resp_free(&r);
  r = get(ts, "GET", "/items/1", "www.example.com");
  CHECK_STR(r.body, "get-item|GET /items/{id}|GET|id=1|path=-");
  raw_resp_free(&r);
  /* Absolute-form targets route on their own host. */
  r = get(ts, "GET", "http://api.example.com/x", "api.example.com");
  CHECK_STR(r.body, "api|api.example.com/|GET|id=-|path=-");
  raw_resp_free(&r);
  finish(ts, m);
}

static _Atomic int logged_busy;
static char logged_pattern[64];

static void capture(nh_logger *lg, const nh_log_record *rec) {
  if (rec->level < NH_LOG_ERROR || !strstr(rec->msg, "registration after serving"))
    return;
  for (size_t i = 0; i < rec->nfields; i++)
    if (!strcmp(rec->fields[i].key, "pattern"))
      snprintf(logged_pattern, sizeof logged_pattern, "%s", rec->fields[i].v.s);
  atomic_fetch_add(&logged_busy, 1);
}

NH_TEST(register_after_serving_refused) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "GET", "/items/1", "x");
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  nh_logger lg = {.write = capture, .min_level = NH_LOG_DEBUG};
  nh_log_set_default(&lg);
  CHECK_EQ(nh_mux_handle_func(m, "GET /late", echo, "late"), NH_EBUSY);
  nh_log_set_default(NULL);
  CHECK_EQ(atomic_load(&logged_busy), 1);
  CHECK_STR(logged_pattern, "GET /late");
  CHECK_CONTAINS(nh_mux_error(m), "\"GET /late\"");
  r = get(ts, "GET", "/late", "x");
  CHECK_EQ(r.status, 404);
  raw_resp_free(&r);
  finish(ts, m);
}

NH_TEST(options_star_is_bad_request) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  raw_resp r = get(ts, "OPTIONS", "*", "x");
  CHECK_EQ(r.status, 400);
  raw_resp_free(&r);
  finish(ts, m);
}

/* Many clients on two loops at once, each on a keep-alive connection, every
 * answer checked: matching shares the tree without locks. */
static int g_port;

static void *client(void *arg) {
  intptr_t k = (intptr_t)arg;
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(g_port);
  long bad = c->fd < 0;
  for (int i = 0; i < 200 && !bad; i++) {
    char req[256], want[256];
    snprintf(req, sizeof req, "GET /items/%ld-%d HTTP/1.1\r\nHost: x\r\n\r\n", (long)k, i);
    snprintf(want, sizeof want, "get-item|GET /items/{id}|GET|id=%ld-%d|path=-", (long)k, i);
    raw_resp r;
    if (raw_sends(c->fd, req) != 0 || raw_read(c, &r, 0) != 0 || r.status != 200 ||
        strcmp(r.body, want) != 0)
      bad = 1;
    raw_resp_free(&r);
  }
  close(c->fd);
  free(c);
  return (void *)bad;
}

NH_TEST(concurrent_clients) {
  nh_mux *m = app();
  nh_test_server *ts = serve(m);
  g_port = nh_test_server_port(ts);
  pthread_t t[8];
  for (intptr_t i = 0; i < 8; i++)
    CHECK_EQ(pthread_create(&t[i], NULL, client, (void *)i), 0);
  for (int i = 0; i < 8; i++) {
    void *bad;
    pthread_join(t[i], &bad);
    CHECK(bad == NULL);
  }
  finish(ts, m);
}

NH_TEST_MAIN()
