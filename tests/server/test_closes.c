/* Close reasons: each way a connection ends, provoked over a real socket,
 * moves its own counter in nh_server_stats.closes[] by exactly one and no
 * other; the DEBUG record of the close names the reason and the state in
 * words. */
#include "harness.h"
#include "rawclient.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

static void ok(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "ok");
}

static int64_t closes_total(const nh_server_stats *st) {
  int64_t n = 0;
  for (int i = 0; i < NH_CLOSE__COUNT; i++)
    n += st->closes[i];
  return n;
}

/* Waits (10 s at most) until want connections were let go of, then checks
 * they all count under reason, and that nothing else moved. */
static void expect_closes(nh_test_server *ts, nh_close_reason reason, int64_t want) {
  nh_server_stats st;
  for (int i = 0; i < 1000; i++) {
    nh_server_stats_get(nh_test_server_server(ts), &st);
    if (closes_total(&st) >= want)
      break;
    usleep(10 * 1000);
  }
  usleep(50 * 1000); /* a second, wrong count would show by now */
  nh_server_stats_get(nh_test_server_server(ts), &st);
  for (int i = 0; i < NH_CLOSE__COUNT; i++)
    if (st.closes[i] != (i == (int)reason ? want : 0))
      NH_FAIL("closes[%s] = %lld, want %lld", nh_close_reason_name((nh_close_reason)i),
              (long long)st.closes[i], (long long)(i == (int)reason ? want : 0));
}

/* One request whose response is read (if expect_status), then the server
 * is expected to close the connection for reason. */
static void one_exchange(nh_handler_fn h, nh_server_config *cfg, const char *req,
                         int expect_status, nh_close_reason reason) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  cfg->logger = &cap->base;
  nh_test_server *ts = nh_test_server_new(h, cfg, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  CHECK_EQ(raw_sends(c->fd, req), 0);
  if (expect_status) {
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, expect_status);
    raw_resp_free(&r);
  }
  CHECK(raw_closed(c, 5000)); /* the server, not this side, closed it */
  expect_closes(ts, reason, 1);
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  char *text = capture_log_text(cap);
  char want[64];
  snprintf(want, sizeof want, "reason=%s", nh_close_reason_name(reason));
  CHECK_CONTAINS(text, "connection closed");
  CHECK_CONTAINS(text, want);
  CHECK(!strstr(text, "state=0") && !strstr(text, "state=1") && !strstr(text, "state=2"));
  free(text);
  capture_log_free(cap);
}

NH_TEST(names) {
  CHECK_STR(nh_conn_state_name(NH_CONN_ACTIVE), "active");
  CHECK_STR(nh_conn_state_name(NH_CONN_CLOSED), "closed");
  CHECK_STR(nh_conn_state_name((nh_conn_state)99), "unknown");
  CHECK_STR(nh_close_reason_name(NH_CLOSE_TIMEOUT_READ), "timeout_read");
  CHECK_STR(nh_close_reason_name(NH_CLOSE__COUNT), "unknown");
  for (int i = 0; i < NH_CLOSE__COUNT; i++)
    CHECK(strcmp(nh_close_reason_name((nh_close_reason)i), "unknown") != 0);
}

NH_TEST(close_done_on_connection_close) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  one_exchange(ok, &cfg, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200,
               NH_CLOSE_DONE);
}

NH_TEST(close_error_reply) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  one_exchange(ok, &cfg, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400,
               NH_CLOSE_ERROR_REPLY);
}

static void capped(nh_response_writer *w, nh_request *r) {
  nh_request_limit_body(r, 10);
  char buf[64];
  while (nh_request_read(r, buf, sizeof buf) > 0)
    ;
  (void)w; /* the server answers 413 */
}

NH_TEST(close_body_too_large) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  one_exchange(capped, &cfg,
               "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "20\r\n0123456789abcdef0123456789abcdef\r\n0\r\n\r\n",
               413, NH_CLOSE_BODY_TOO_LARGE);
}

NH_TEST(close_drain_overflow) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_body_drain = 16;
  /* A body larger than the drain limit, left unread by the handler. */
  one_exchange(ok, &cfg, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", 200,
               NH_CLOSE_DRAIN_OVERFLOW);
}

NH_TEST(close_timeout_header) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_header_timeout = 200 * NH_MSEC;
  one_exchange(ok, &cfg, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 408, NH_CLOSE_TIMEOUT_HEADER);
}

static void read_all(nh_response_writer *w, nh_request *r) {
  char buf[64];
  while (nh_request_read(r, buf, sizeof buf) > 0)
    ;
  nh_resp_write_header(w, 408);
}

NH_TEST(close_timeout_read) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_timeout = 300 * NH_MSEC;
  one_exchange(read_all, &cfg, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nsome",
               408, NH_CLOSE_TIMEOUT_READ);
}

NH_TEST(close_timeout_idle) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.idle_timeout = 200 * NH_MSEC;
  one_exchange(ok, &cfg, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200, NH_CLOSE_TIMEOUT_IDLE);
}

static void firehose(nh_response_writer *w, nh_request *r) {
  static char block[65536];
  (void)r;
  ssize_t n = 0;
  for (int i = 0; i < 2000 && n >= 0; i++)
    n = nh_resp_write(w, block, sizeof block);
}

NH_TEST(close_timeout_write) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.write_timeout = 300 * NH_MSEC;
  nh_test_server *ts = nh_test_server_new(firehose, &cfg, 1);
  int fd = raw_connect(nh_test_server_port(ts));
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  raw_sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  expect_closes(ts, NH_CLOSE_TIMEOUT_WRITE, 1); /* reading nothing meanwhile */
  close(fd);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The client ends a kept-alive connection. */
NH_TEST(close_by_client) {
  nh_test_server *ts = nh_test_server_new(ok, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  close(c->fd);
  free(c);
  expect_closes(ts, NH_CLOSE_CLIENT, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static void hijacker(nh_response_writer *w, nh_request *r) {
  (void)r;
  int fd;
  char *rest;
  size_t nrest;
  CHECK_EQ(nh_resp_hijack(w, &fd, &rest, &nrest), NH_OK);
  free(rest);
  nh_fd *f;
  nh_fd_open(fd, &f);
  nh_fd_write(f, "raw\n", 4, nh_deadline_after(NH_SEC));
  nh_fd_close(f);
}

NH_TEST(close_hijacked) {
  nh_test_server *ts = nh_test_server_new(hijacker, NULL, 1);
  int fd = raw_connect(nh_test_server_port(ts));
  raw_sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  char buf[16];
  CHECK_EQ(recv(fd, buf, sizeof buf, MSG_WAITALL), 4);
  expect_closes(ts, NH_CLOSE_HIJACKED, 1);
  close(fd);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* At max_conns, a new connection makes room by closing the idle one. */
NH_TEST(close_shed) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_conns = 1;
  nh_test_server *ts = nh_test_server_new(ok, &cfg, 1);
  int port = nh_test_server_port(ts);
  raw_conn *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  a->fd = raw_connect(port);
  raw_sends(a->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(a, &r, 0), 0); /* a is idle now */
  raw_resp_free(&r);
  b->fd = raw_connect(port);
  CHECK(raw_closed(a, 5000));
  expect_closes(ts, NH_CLOSE_SHED, 1);
  raw_sends(b->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); /* b is served */
  CHECK_EQ(raw_read(b, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  close(a->fd);
  close(b->fd);
  free(a);
  free(b);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static void panicker(nh_response_writer *w, nh_request *r) {
  (void)w;
  (void)r;
  nh_panic("on purpose");
}

NH_TEST(close_panic) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  one_exchange(panicker, &cfg, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 500, NH_CLOSE_PANIC);
}

NH_TEST_MAIN()
