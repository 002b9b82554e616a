/* One connection, many requests, over real sockets: a hello answered in
 * full, keep-alive and pipelining, Connection: close honored, and
 * HTTP/1.0 kept alive only when it asks. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

static atomic_int calls;

static void hello(nh_response_writer *w, nh_request *r) {
  atomic_fetch_add(&calls, 1);
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_resp_write(w, "hello, world\n", 13);
}

NH_TEST(hello_world) {
  nh_test_server *ts = nh_test_server_new(hello, NULL, 1);
  CHECK(ts);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hello, world\n");
  CHECK_STR(raw_header(&r, "Content-Length"), "13");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain");
  CHECK(raw_header(&r, "Date") != NULL);
  CHECK(!strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17));
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Keep-alive and pipelining: three requests in one write, three responses
 * in order, on one connection that stays open. */
static void echo_path(nh_response_writer *w, nh_request *r) {
  nh_resp_printf(w, "%s %s", nh_request_method(r), nh_request_path(r));
}

NH_TEST(keep_alive_and_pipelining) {
  nh_test_server *ts = nh_test_server_new(echo_path, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  CHECK(raw_sends(c->fd, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                         "\r\n" /* an empty line between requests is ignored */
                         "GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello") == 0);
  const char *want[] = {"GET /a", "GET /b", "POST /c"};
  for (int i = 0; i < 3; i++) {
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, want[i]);
    CHECK(raw_header(&r, "Connection") == NULL);
    raw_resp_free(&r);
  }
  CHECK(!raw_closed(c, 50));
  /* And again later on the same connection, after it went idle. */
  usleep(30 * 1000);
  CHECK(raw_sends(c->fd, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "GET /d");
  raw_resp_free(&r);
  /* Connection: close is honored: answer, then close. */
  CHECK(raw_sends(c->fd, "GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(raw_header(&r, "Connection"), "close");
  raw_resp_free(&r);
  CHECK(raw_closed(c, 1000));
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(http10_keep_alive_only_when_asked) {
  nh_test_server *ts = nh_test_server_new(echo_path, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  raw_resp r;
  CHECK(raw_sends(c->fd, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "GET /k");
  CHECK_STR(raw_header(&r, "Connection"), "keep-alive");
  CHECK_STR(raw_header(&r, "Content-Length"), "6");
  raw_resp_free(&r);
  CHECK(!raw_closed(c, 50));
  CHECK(raw_sends(c->fd, "GET /plain HTTP/1.0\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "GET /plain");
  raw_resp_free(&r);
  CHECK(raw_closed(c, 1000));
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
