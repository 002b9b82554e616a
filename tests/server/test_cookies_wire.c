/* Cookies, query values and Basic authentication over real sockets: what a
 * client sends reaches the handler, and Set-Cookie lines leave the server
 * exactly as formatted. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>

/* The handler answers with what it saw, one fact per line, and sets
 * cookies of its own. */
static void inspect(nh_response_writer *w, nh_request *r) {
  const nh_cookies *all = nh_request_cookies(r);
  CHECK(all == nh_request_cookies(r)); /* parsed once per request */
  const nh_values *q = nh_request_query_values(r);
  CHECK(q == nh_request_query_values(r));
  const char *user = "", *pass = "";
  int auth = nh_request_basic_auth(r, &user, &pass);

  nh_cookie session = {.name = "session", .value = "abc123", .path = "/", .http_only = 1,
                       .secure = 1, .same_site = NH_SAMESITE_LAX, .max_age = 3600};
  nh_cookie spaced = {.name = "note", .value = "a b", .has_expires = 1, .expires = 1257894000};
  nh_cookie gone = {.name = "old", .value = "", .max_age = -1};
  nh_cookie evil = {.name = "x", .value = "1\r\nX-Injected: yes"};
  CHECK_EQ(nh_resp_set_cookie(w, &session), 0);
  CHECK_EQ(nh_resp_set_cookie(w, &spaced), 0);
  CHECK_EQ(nh_resp_set_cookie(w, &gone), 0);
  CHECK_EQ(nh_resp_set_cookie(w, &evil), NH_EINVAL);

  nh_resp_printf(w, "cookies=%zu\n", nh_cookies_len(all));
  for (size_t i = 0; i < nh_cookies_len(all); i++) {
    const nh_cookie *c = nh_cookies_at(all, i);
    nh_resp_printf(w, "cookie %s=%s%s\n", c->name, c->value, c->quoted ? " (quoted)" : "");
  }
  const char *id = nh_request_cookie(r, "id");
  nh_resp_printf(w, "id=%s\n", id ? id : "(none)");
  const char *tags[4];
  size_t ntags = nh_values_get_all(q, "tag", tags, 4);
  nh_resp_printf(w, "tags=%zu", ntags);
  for (size_t i = 0; i < ntags && i < 4; i++)
    nh_resp_printf(w, " [%s]", tags[i]);
  const char *name = nh_request_query_value(r, "name");
  nh_resp_printf(w, "\nname=%s\n", name ? name : "(none)");
  nh_resp_printf(w, "auth=%d user=%s pass=%s\n", auth, user, pass);
}

NH_TEST(cookies_query_and_auth_reach_handler) {
  nh_test_server *ts = nh_test_server_new(inspect, NULL, 1);
  CHECK(ts);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts),
                             "GET /p?tag=a&name=J%C3%B6rg+M&tag=b%26c&bad=%zz HTTP/1.1\r\n"
                             "Host: x\r\n"
                             "Cookie: id=42; theme=\"dark\"; bad name=1\r\n"
                             "Authorization: basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
                             "Cookie: lang=en\r\n"
                             "\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "cookies=3\n"
                    "cookie id=42\n"
                    "cookie theme=dark (quoted)\n"
                    "cookie lang=en\n"
                    "id=42\n"
                    "tags=2 [a] [b&c]\n"
                    "name=J\xc3\xb6rg M\n"
                    "auth=0 user=Aladdin pass=open sesame\n");
  /* The Set-Cookie lines, byte for byte, in the order they were set. */
  CHECK_CONTAINS(r.head, "\r\nSet-Cookie: session=abc123; Path=/; Max-Age=3600; HttpOnly; "
                         "Secure; SameSite=Lax\r\n"
                         "Set-Cookie: note=\"a b\"; Expires=Tue, 10 Nov 2009 23:00:00 GMT\r\n"
                         "Set-Cookie: old=; Max-Age=0\r\n");
  CHECK(strstr(r.head, "X-Injected") == NULL);
  CHECK(strstr(r.head, "Set-Cookie: x=") == NULL);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(no_cookies_no_query_no_auth) {
  nh_test_server *ts = nh_test_server_new(inspect, NULL, 1);
  CHECK(ts);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts),
                             "GET / HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer token\r\n\r\n");
  CHECK_EQ(r.status, 200);
  char want[256];
  snprintf(want, sizeof want,
           "cookies=0\nid=(none)\ntags=0\nname=(none)\nauth=%d user= pass=\n", NH_ENOENT);
  CHECK_STR(r.body, want);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Per-request state does not leak into the next request on a kept-alive
 * connection: each request parses its own cookies and query. */
static void echo_cookie(nh_response_writer *w, nh_request *r) {
  const char *v = nh_request_cookie(r, "n");
  const char *q = nh_request_query_value(r, "q");
  nh_resp_printf(w, "%s/%s", v ? v : "-", q ? q : "-");
}

NH_TEST(state_is_per_request_on_keep_alive) {
  nh_test_server *ts = nh_test_server_new(echo_cookie, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  CHECK(c->fd >= 0);
  CHECK_EQ(raw_sends(c->fd, "GET /?q=1 HTTP/1.1\r\nHost: x\r\nCookie: n=first\r\n\r\n"
                            "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                            "GET /?q=3 HTTP/1.1\r\nHost: x\r\nCookie: n=third\r\n\r\n"),
           0);
  const char *want[] = {"first/1", "-/-", "third/3"};
  for (int i = 0; i < 3; i++) {
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, want[i]);
    raw_resp_free(&r);
  }
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
