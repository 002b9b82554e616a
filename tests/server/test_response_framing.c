/* How responses are framed on the wire: HEAD and 204/304 without a body,
 * the sniffed Content-Type, a body larger than the write buffer chunked,
 * and a client leaving in the middle of a large response. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>

/* HEAD: same headers as GET, no body; 204 and 304 carry no body. */
static void statuses(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strcmp(p, "/204")) {
    nh_resp_write_header(w, 204);
    CHECK_EQ(nh_resp_write(w, "x", 1), NH_ENOTSUP);
  } else if (!strcmp(p, "/304")) {
    nh_header_set(nh_resp_header(w), "ETag", "\"v1\"");
    nh_resp_write_header(w, 304);
  } else if (!strcmp(p, "/html")) {
    nh_resp_write_string(w, "<!DOCTYPE html><html><body>hi</body></html>");
  } else {
    nh_resp_write_string(w, "some body");
  }
}

NH_TEST(head_204_304_and_sniffing) {
  nh_test_server *ts = nh_test_server_new(statuses, NULL, 1);
  int port = nh_test_server_port(ts);
  raw_conn *c = raw_dial(port);
  raw_resp r;
  CHECK(raw_sends(c->fd, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /html HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 1), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Length"), "9");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 204);
  CHECK(raw_header(&r, "Content-Length") == NULL);
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 304);
  CHECK_STR(raw_header(&r, "Etag"), "\"v1\"");
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "text/html; charset=utf-8");
  raw_resp_free(&r);
  CHECK(!raw_closed(c, 50)); /* every one of them kept the connection */
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A body larger than the write buffer is chunked; bytes arrive intact. */
static void big(nh_response_writer *w, nh_request *r) {
  static char block[7000];
  for (size_t i = 0; i < sizeof block; i++)
    block[i] = (char)('a' + i % 26);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(nh_resp_write(w, block, sizeof block), (ssize_t)sizeof block);
}

NH_TEST(large_body_is_chunked) {
  nh_test_server *ts = nh_test_server_new(big, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  for (int round = 0; round < 2; round++) {
    CHECK(raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_STR(raw_header(&r, "Transfer-Encoding"), "chunked");
    CHECK_EQ(r.blen, 700000);
    for (size_t i = 0; i < r.blen; i++)
      if (r.body[i] != (char)('a' + (i % 7000) % 26))
        NH_FAIL("byte %zu differs", i);
    raw_resp_free(&r);
  }
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A client that leaves in the middle of a large response must cost an
 * EPIPE in that handler, never the process (SIGPIPE), and the server goes
 * on serving. */
static void huge(nh_response_writer *w, nh_request *r) {
  static char block[65536];
  if (!strcmp(nh_request_path(r), "/small")) {
    nh_resp_write_string(w, "still here");
    return;
  }
  for (int i = 0; i < 1000; i++)
    if (nh_resp_write(w, block, sizeof block) < 0)
      return;
}

NH_TEST(client_vanishes_mid_response) {
  nh_test_server *ts = nh_test_server_new(huge, NULL, 1);
  for (int i = 0; i < 20; i++) {
    int fd = raw_connect(nh_test_server_port(ts));
    raw_sends(fd, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
    char b[1000];
    CHECK(recv(fd, b, sizeof b, 0) > 0);
    struct linger lg = {1, 0}; /* reset: the server's next write fails */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
  }
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_STR(r.body, "still here");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
