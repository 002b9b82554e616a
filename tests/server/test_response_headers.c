/* Response headers as a handler sets them: CR/LF cannot split a response,
 * 103 Early Hints go out before the final answer, and a change made after
 * the status was sent is ignored on the wire and reported with the line
 * that made it. */
#include "harness.h"
#include "rawclient.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <fcntl.h>
#include <stdatomic.h>

/* A handler cannot split a response with CR/LF in a header; 103 Early
 * Hints go out before the final answer. */
static void headers(nh_response_writer *w, nh_request *r) {
  nh_header *h = nh_resp_header(w);
  CHECK_EQ(nh_header_set(h, "X-Evil", "a\r\nSet-Cookie: stolen=1"), NH_EINVAL);
  CHECK_EQ(nh_header_set(h, "Bad Name", "v"), NH_EINVAL);
  nh_header_set(h, "Link", "</style.css>; rel=preload");
  nh_resp_write_header(w, 103);
  nh_header_del(h, "Link");
  nh_resp_write_string(w, "final");
}

NH_TEST(no_response_splitting_and_early_hints) {
  nh_test_server *ts = nh_test_server_new(headers, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 103);
  CHECK_STR(raw_header(&r, "Link"), "</style.css>; rel=preload");
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "final");
  CHECK(raw_header(&r, "Set-Cookie") == NULL);
  CHECK(raw_header(&r, "X-Evil") == NULL);
  raw_resp_free(&r);
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A header changed after the status was sent is ignored on the wire and
 * reported with the file:line of the change, not only of WriteHeader. */
static int late_line;
static void late_header(nh_response_writer *w, nh_request *r) {
  nh_resp_write_header(w, 202);
  late_line = __LINE__ + 1;
  nh_header_set(nh_resp_header(w), "X-Late", "1");
  nh_resp_write_string(w, "accepted");
}

NH_TEST(late_header_change_reported_where_it_was_made) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.logger = &cap->base;
  nh_test_server *ts = nh_test_server_new(late_header, &cfg, 1);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 202);
  CHECK(raw_header(&r, "X-Late") == NULL);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  char *text = capture_log_text(cap);
  char want[64];
  snprintf(want, sizeof want, "changed_at=test_response_headers.c:%d", late_line);
  CHECK_CONTAINS(text, "response headers changed after nh_resp_write_header were ignored");
  CHECK_CONTAINS(text, want);
  snprintf(want, sizeof want, "write_header_at=test_response_headers.c:%d", late_line - 2);
  CHECK_CONTAINS(text, want);
  free(text);
  capture_log_free(cap);
}

/* The status sent implicitly by a body write is blamed on the line that
 * wrote, whichever call it was: nh_resp_write_string, nh_resp_printf,
 * nh_resp_flush, nh_resp_sendfile; and the status of nh_error and
 * nh_resp_json_error on the line that called them. The log is JSON here. */
static atomic_int implicit_kind, implicit_line;
static void implicit_status(nh_response_writer *w, nh_request *r) {
  switch (atomic_load(&implicit_kind)) {
  case 0:
    atomic_store(&implicit_line, __LINE__ + 1);
    nh_resp_write_string(w, "hello");
    break;
  case 1:
    atomic_store(&implicit_line, __LINE__ + 1);
    nh_resp_printf(w, "%s", "hello");
    break;
  case 2:
    atomic_store(&implicit_line, __LINE__ + 1);
    nh_resp_flush(w);
    break;
  case 3:
    atomic_store(&implicit_line, __LINE__ + 1);
    nh_error(w, "no", 400);
    break;
  case 4:
    atomic_store(&implicit_line, __LINE__ + 1);
    nh_resp_json_error(w, 409, "conflict");
    break;
  default: {
    int fd = open("/proc/self/exe", O_RDONLY);
    atomic_store(&implicit_line, __LINE__ + 1);
    nh_resp_sendfile(w, fd, 0, 5);
    close(fd);
  }
  }
  nh_header_set(nh_resp_header(w), "X-Late", "1");
}

NH_TEST(implicit_status_blamed_on_the_writing_line) {
  static const int statuses[] = {200, 200, 200, 400, 409, 200};
  for (int kind = 0; kind < 6; kind++) {
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    nh_logger *lg = nh_logger_json_new(mem, NH_LOG_DEBUG);
    nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
    cfg.logger = lg;
    atomic_store(&implicit_kind, kind);
    nh_test_server *ts = nh_test_server_new(implicit_status, &cfg, 1);
    raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(r.status, statuses[kind]);
    CHECK(raw_header(&r, "X-Late") == NULL);
    raw_resp_free(&r);
    CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
    fclose(mem);
    char want[80];
    snprintf(want, sizeof want, "\"write_header_at\":\"test_response_headers.c:%d\"",
             atomic_load(&implicit_line));
    CHECK_CONTAINS(out, "response headers changed after nh_resp_write_header were ignored");
    CHECK_CONTAINS(out, want);
    CHECK(!strstr(out, "_at\":\"response.c:")); /* not the library's own line */
    free(out);
    nh_logger_free(lg);
  }
}

NH_TEST_MAIN()
