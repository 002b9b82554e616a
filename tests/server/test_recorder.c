/* Handler unit tests without a socket, and misuse after a handler returns. */
#include "harness.h"
#include "rawclient.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <stdatomic.h>
#include <nethttp/httptest.h>

static void greet(nh_response_writer *w, nh_request *r) {
  char name[64] = "";
  ssize_t n = nh_request_read(r, name, sizeof name - 1);
  if (n > 0)
    name[n] = 0;
  nh_header_set(nh_resp_header(w), "X-Method", nh_request_method(r));
  nh_resp_write_header(w, 201);
  nh_resp_printf(w, "hello %s from %s (%s)", name, nh_request_path(r), (char *)nh_request_handler_data(r));
}

NH_TEST(recorder_captures_status_headers_body) {
  nh_recorder *rec = nh_recorder_serve(greet, "unit", "POST", "/greet?x=1", "X-A: b\r\n", "ana");
  CHECK(rec);
  CHECK_EQ(nh_recorder_status(rec), 201);
  CHECK_STR(nh_header_get(nh_recorder_header(rec), "X-Method"), "POST");
  CHECK_STR(nh_header_get(nh_recorder_header(rec), "Content-Type"), "text/plain; charset=utf-8");
  CHECK(nh_header_get(nh_recorder_header(rec), "Date") != NULL);
  size_t len;
  CHECK_STR(nh_recorder_body(rec, &len), "hello ana from /greet (unit)");
  CHECK_EQ(len, strlen("hello ana from /greet (unit)"));
  CHECK_CONTAINS(nh_recorder_wire(rec, NULL), "HTTP/1.1 201 Created\r\n");
  nh_recorder_free(rec);
  /* A malformed request is refused before any handler runs. */
  CHECK(nh_recorder_serve(greet, NULL, "GET", "no-slash", NULL, NULL) == NULL);
}

static void streams(nh_response_writer *w, nh_request *r) {
  for (int i = 0; i < 3; i++) {
    nh_resp_printf(w, "event %d\n", i);
    nh_resp_flush(w);
  }
}

NH_TEST(recorder_sees_chunked_streaming) {
  nh_recorder *rec = nh_recorder_serve(streams, NULL, "GET", "/events", NULL, NULL);
  CHECK_STR(nh_header_get(nh_recorder_header(rec), "Transfer-Encoding"), "chunked");
  CHECK_STR(nh_recorder_body(rec, NULL), "event 0\nevent 1\nevent 2\n");
  nh_recorder_free(rec);
}

/* Mistake 4 of the production guide: using the writer after the handler
 * returned. It is refused and reported, never undefined. */
static nh_response_writer *stashed;
static void stash(nh_response_writer *w, nh_request *r) {
  stashed = w;
  nh_resp_write_string(w, "ok");
}

/* The connection going idle comes after its request has ended; told
 * through an atomic, the test thread is ordered after that end. */
static atomic_int went_idle;
static void on_state(const nh_conn_info *c, nh_conn_state s, void *user) {
  if (s == NH_CONN_IDLE)
    atomic_store(&went_idle, 1);
}

NH_TEST(writer_used_after_handler_is_reported) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_log_set_default(&cap->base);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.conn_state = on_state;
  nh_test_server *ts = nh_test_server_new(stash, &cfg, 1);
  int fd = raw_connect(nh_test_server_port(ts));
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = fd;
  raw_sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  raw_resp_free(&r);
  /* Once the connection is idle the handler is certainly over; the
   * connection is kept, so its fiber's memory still holds the writer. */
  CHECK_SOON(atomic_load(&went_idle));
  CHECK_EQ(nh_resp_write(stashed, "late", 4), NH_EINVAL);
  close(fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_log_set_default(NULL);
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "response writer used after its handler returned");
  CHECK_CONTAINS(text, "test_recorder.c");
  free(text);
  capture_log_free(cap);
}

NH_TEST_MAIN()
