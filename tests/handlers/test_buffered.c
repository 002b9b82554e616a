/* The buffered response writer: status and headers stay changeable until
 * the response commits (seed bug 9), and nh_resp_reset starts over. */
#include "support.h"

static raw_resp get(nh_test_server *ts, const char *path) {
  char req[256];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
  return raw_roundtrip(nh_test_server_port(ts), req);
}

static int result_reset, result_reset_after_flush;

static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  nh_header *h = nh_resp_header(w);
  if (!strcmp(p, "/bug9")) {
    /* The seed's handler, made right: decided 200, then found an error. */
    CHECK_EQ(nh_resp_buffer(w, 64 * 1024), NH_OK);
    nh_header_set(h, "Content-Type", "application/json");
    nh_resp_write_header(w, 200);
    nh_resp_write_string(w, "{\"user\":");
    CHECK_EQ(nh_resp_reset(w), NH_OK);
    CHECK_EQ(nh_resp_status(w), 0);
    nh_header_set(h, "X-Error", "lookup failed");
    nh_error(w, "lookup failed", 500);
  } else if (!strcmp(p, "/late-status")) {
    CHECK_EQ(nh_resp_buffer(w, 1024), NH_OK);
    nh_resp_write_string(w, "partial"); /* implicit 200 */
    nh_resp_write_header(w, 202);       /* still changeable */
    nh_header_set(h, "X-Late", "1");
    CHECK_EQ(nh_resp_committed(w), 0);
  } else if (!strcmp(p, "/big")) {
    /* Held beyond the connection's 16 KiB write buffer. */
    CHECK_EQ(nh_resp_buffer(w, 1 << 20), NH_OK);
    char chunk[1000];
    memset(chunk, 'b', sizeof chunk);
    for (int i = 0; i < 100; i++)
      CHECK_EQ(nh_resp_write(w, chunk, sizeof chunk), 1000);
    nh_resp_write_header(w, 203);
  } else if (!strcmp(p, "/overflow")) {
    /* Past max_bytes it commits: the status is then fixed. */
    CHECK_EQ(nh_resp_buffer(w, 10), NH_OK);
    nh_resp_write_string(w, "12345");
    nh_resp_write_string(w, "67890abcdefghijklmno");
    nh_resp_flush(w);
    CHECK_EQ(nh_resp_committed(w), 1);
    nh_resp_write_header(w, 500); /* superfluous: ignored */
    CHECK_EQ(nh_resp_reset(w), NH_ENOTSUP);
  } else if (!strcmp(p, "/plain-reset")) {
    /* Without nh_resp_buffer: uncommitted bytes can still be discarded. */
    nh_resp_write_string(w, "oops");
    result_reset = nh_resp_reset(w);
    nh_error(w, "bad input", 400);
  } else if (!strcmp(p, "/flushed")) {
    nh_resp_write_string(w, "sent");
    nh_resp_flush(w);
    result_reset_after_flush = nh_resp_reset(w);
  } else if (!strcmp(p, "/length")) {
    /* A Content-Length that the held body outgrew is dropped, not sent. */
    CHECK_EQ(nh_resp_buffer(w, 1024), NH_OK);
    nh_header_set(h, "Content-Length", "3");
    nh_resp_write_string(w, "longer than three");
  }
}

NH_TEST(buffered_status_and_reset) {
  nh_test_server *ts = serve_handler(NH_HANDLER(handler, NULL), 1);
  raw_resp r = get(ts, "/bug9");
  CHECK_EQ(r.status, 500);
  CHECK_STR(r.body, "lookup failed\n");
  CHECK_STR(raw_header(&r, "X-Error"), "lookup failed");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  raw_resp_free(&r);

  r = get(ts, "/late-status");
  CHECK_EQ(r.status, 202);
  CHECK_STR(r.body, "partial");
  CHECK_STR(raw_header(&r, "X-Late"), "1");
  CHECK_STR(raw_header(&r, "Content-Length"), "7");
  raw_resp_free(&r);

  r = get(ts, "/big");
  CHECK_EQ(r.status, 203);
  CHECK_EQ(r.blen, 100000);
  CHECK_STR(raw_header(&r, "Content-Length"), "100000");
  CHECK(raw_header(&r, "Transfer-Encoding") == NULL);
  raw_resp_free(&r);

  r = get(ts, "/overflow");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "1234567890abcdefghijklmno");
  CHECK_STR(raw_header(&r, "Transfer-Encoding"), "chunked");
  raw_resp_free(&r);

  r = get(ts, "/plain-reset");
  CHECK_EQ(result_reset, NH_OK);
  CHECK_EQ(r.status, 400);
  CHECK_STR(r.body, "bad input\n");
  raw_resp_free(&r);

  r = get(ts, "/flushed");
  CHECK_EQ(result_reset_after_flush, NH_ENOTSUP);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "sent");
  raw_resp_free(&r);

  r = get(ts, "/length");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "longer than three");
  CHECK_STR(raw_header(&r, "Content-Length"), "17");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Keep-alive survives all of it: the same connection serves them in turn. */
NH_TEST(buffered_keeps_connection) {
  nh_test_server *ts = serve_handler(NH_HANDLER(handler, NULL), 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  const char *paths[] = {"/bug9", "/big", "/late-status", "/overflow", "/length"};
  int want[] = {500, 203, 202, 200, 200};
  for (int i = 0; i < 5; i++) {
    char req[128];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
    CHECK(raw_sends(c->fd, req) == 0);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, want[i]);
    raw_resp_free(&r);
  }
  CHECK(!raw_closed(c, 50));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
