/* Responses without a body on the wire (RFC 9110 §6.4.1): HEAD, 1xx, 204
 * and 304. Whichever way a handler sends (buffered, flushed, streamed,
 * sendfile, through TimeoutHandler, nh_resp_buffer, the recovery
 * middleware, or the server's own error answer), not one byte follows the
 * head and no framing is chosen for a body that is not there: a client
 * that pipelines reads the next response right after the head, on a
 * connection that stays open. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/fileserver.h>
#include <nethttp/handlers.h>
#include <nethttp/httptest.h>
#include <nethttp/middleware.h>

#include <fcntl.h>

#define STREAM_LEN 50000
#define FILE_LEN 20000

static int file_fd = -1;
static nh_handler timeout_ok, timeout_late, recovered;

static void make_file(void) {
  char path[] = "/tmp/nh_bodyless_XXXXXX";
  file_fd = mkstemp(path);
  unlink(path);
  char buf[FILE_LEN];
  for (int i = 0; i < FILE_LEN; i++)
    buf[i] = (char)('a' + i % 26);
  CHECK_EQ(write(file_fd, buf, sizeof buf), FILE_LEN);
}

static void write_n(nh_response_writer *w, size_t n, int flush_every) {
  char piece[1000];
  memset(piece, 'x', sizeof piece);
  for (size_t i = 0; i * sizeof piece < n; i++) {
    nh_resp_write(w, piece, sizeof piece);
    if (flush_every && i % (size_t)flush_every == 0)
      nh_resp_flush(w);
  }
}

static void inner_ok(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "inner body");
}

static void inner_late(nh_response_writer *w, nh_request *r) {
  (void)w;
  (void)r;
  nh_sleep(30 * NH_SEC); /* until the timeout cancels its context */
}

static void inner_panics(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "partial, held"); /* not committed: reset to 500 */
  nh_panic("handler fails on purpose");
}

static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  nh_header *h = nh_resp_header(w);
  if (!strcmp(p, "/plain")) {
    nh_resp_write_string(w, "hello");
  } else if (!strcmp(p, "/stream")) {
    write_n(w, STREAM_LEN, 10); /* flushed as it goes: chunked for GET */
  } else if (!strcmp(p, "/big")) {
    write_n(w, STREAM_LEN, 0); /* past the write buffer, never flushed */
  } else if (!strcmp(p, "/flush-first")) {
    nh_resp_flush(w);
    nh_resp_write_string(w, "after the flush");
  } else if (!strcmp(p, "/sendfile")) {
    CHECK_EQ(nh_resp_sendfile(w, file_fd, 0, FILE_LEN), NH_OK);
  } else if (!strcmp(p, "/write-then-sendfile")) {
    nh_resp_write_string(w, "before ");
    nh_resp_flush(w);
    CHECK_EQ(nh_resp_sendfile(w, file_fd, 0, FILE_LEN), NH_OK);
  } else if (!strcmp(p, "/content")) {
    nh_serve_content(w, r, "a.txt", 0, file_fd, FILE_LEN);
  } else if (!strcmp(p, "/timeout")) {
    nh_handler_serve(timeout_ok, w, r);
  } else if (!strcmp(p, "/timeout-late")) {
    nh_handler_serve(timeout_late, w, r);
  } else if (!strcmp(p, "/panic")) {
    nh_handler_serve(recovered, w, r);
  } else if (!strcmp(p, "/panic-bare")) {
    nh_panic("no recovery middleware");
  } else if (!strcmp(p, "/buffered")) {
    CHECK_EQ(nh_resp_buffer(w, 1 << 20), NH_OK);
    write_n(w, STREAM_LEN, 0);
    nh_header_set(h, "X-Decided", "late"); /* still changeable */
  } else if (!strcmp(p, "/buffered-over")) {
    CHECK_EQ(nh_resp_buffer(w, 4000), NH_OK);
    write_n(w, STREAM_LEN, 0); /* past its limit: streams */
  } else if (!strcmp(p, "/204") || !strcmp(p, "/304")) {
    nh_header_set(h, "Transfer-Encoding", "chunked");
    if (p[1] == '2')
      nh_header_set(h, "Content-Length", "5");
    nh_resp_write_header(w, p[1] == '2' ? 204 : 304);
    CHECK_EQ(nh_resp_write(w, "body!", 5), NH_ENOTSUP);
    nh_resp_flush(w);
    CHECK_EQ(nh_resp_write(w, "more", 4), NH_ENOTSUP);
  } else if (!strcmp(p, "/103")) {
    nh_header_set(h, "Link", "</style.css>; rel=preload");
    nh_header_set(h, "Content-Length", "5");
    nh_resp_write_header(w, 103);
    nh_resp_write_header(w, 200);
    nh_resp_write_string(w, "final");
  } else {
    nh_resp_write_header(w, 404);
  }
}

static nh_test_server *start(void) {
  if (file_fd < 0)
    make_file();
  timeout_ok = nh_timeout_handler(NH_HANDLER(inner_ok, NULL), 10 * NH_SEC, NULL);
  timeout_late = nh_timeout_handler(NH_HANDLER(inner_late, NULL), 50 * NH_MSEC, NULL);
  recovered = nh_with_recover(NH_HANDLER(inner_panics, NULL), NULL);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_header_bytes = 4096; /* for a 431 */
  nh_test_server *ts = nh_test_server_new(handler, &cfg, 1);
  CHECK(ts != NULL);
  return ts;
}

static void stop(nh_test_server *ts) {
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  close(file_fd); /* made by start(): each case leaves nothing open */
  file_fd = -1;
  nh_handler_free(timeout_ok);
  nh_handler_free(timeout_late);
  nh_handler_free(recovered);
}

static raw_conn *dial(nh_test_server *ts) {
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  CHECK(c->fd >= 0);
  return c;
}

/* The bytes right after a bodyless head are the next status line. */
static void next_is_status_line(raw_conn *c, const char *what) {
  while (c->len < 9)
    if (raw_fill(c) < 0)
      NH_FAIL("%s: connection ended after the head", what);
  if (memcmp(c->buf, "HTTP/1.1 ", 9))
    NH_FAIL("%s: bytes after the head: \"%.20s\"", what, c->buf);
}

/* Right after a bodyless head: the answer to the GET /plain pipelined
 * behind it. */
static void plain_follows(raw_conn *c, const char *what) {
  next_is_status_line(c, what);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "hello");
  raw_resp_free(&r);
}

/* The head of a bodyless answer: no chunked framing, and kept alive. */
static void check_bodyless_head(const raw_resp *r, const char *what) {
  if (raw_header(r, "Transfer-Encoding"))
    NH_FAIL("%s: Transfer-Encoding on a bodyless response: %s", what, r->head);
  const char *conn = raw_header(r, "Connection");
  if (conn && !strcasecmp(conn, "close"))
    NH_FAIL("%s: closed without cause: %s", what, r->head);
}

/* HEAD path, then GET path and GET /plain pipelined behind it on one
 * connection: the HEAD's head has want_len as Content-Length (NULL: none),
 * its GET has the same length of body, and the connection lives on. */
static void head_then_get(nh_test_server *ts, const char *path, int status, const char *want_len,
                          size_t get_len) {
  raw_conn *c = dial(ts);
  char req[512];
  snprintf(req, sizeof req,
           "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\nGET %s HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n",
           path, path);
  CHECK_EQ(raw_sends(c->fd, req), 0);
  raw_resp r;
  if (raw_read(c, &r, 1) != 0)
    NH_FAIL("HEAD %s: no answer", path);
  if (r.status != status)
    NH_FAIL("HEAD %s: status %d, want %d", path, r.status, status);
  check_bodyless_head(&r, path);
  const char *cl = raw_header(&r, "Content-Length");
  if (want_len ? !cl || strcmp(cl, want_len) : cl != NULL)
    NH_FAIL("HEAD %s: Content-Length %s, want %s", path, cl ? cl : "none",
            want_len ? want_len : "none");
  raw_resp_free(&r);
  next_is_status_line(c, path);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  if (r.status != status || r.blen != get_len)
    NH_FAIL("GET %s: status %d with %zu bytes, want %d with %zu", path, r.status, r.blen, status,
            get_len);
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hello");
  raw_resp_free(&r);
  CHECK(!raw_closed(c, 50));
  raw_hang_up(c);
}

NH_TEST(head_plain_and_large_writes) {
  nh_test_server *ts = start();
  head_then_get(ts, "/plain", 200, "5", 5);
  head_then_get(ts, "/big", 200, "50000", STREAM_LEN);
  stop(ts);
}

/* The case a streaming handler (flush, chunked for GET) used to get wrong:
 * Transfer-Encoding: chunked and a "0" chunk after the HEAD's head. */
NH_TEST(head_flushed_stream_has_no_chunked_framing) {
  nh_test_server *ts = start();
  head_then_get(ts, "/stream", 200, NULL, STREAM_LEN);
  head_then_get(ts, "/flush-first", 200, NULL, strlen("after the flush"));
  /* The GET of the same handler is chunked, so the HEAD above did take
   * the streaming path. */
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_STR(raw_header(&r, "Transfer-Encoding"), "chunked");
  CHECK_EQ(r.blen, STREAM_LEN);
  raw_resp_free(&r);
  stop(ts);
}

/* HTTP/1.0 with keep-alive: a length unknown at the head would end a GET's
 * body with the close; a HEAD's has nothing to end, so it stays open. */
NH_TEST(head_http10_stream_keeps_connection) {
  nh_test_server *ts = start();
  raw_conn *c = dial(ts);
  CHECK_EQ(raw_sends(c->fd, "HEAD /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                            "GET /plain HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
           0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 1), 0);
  CHECK_EQ(r.status, 200);
  check_bodyless_head(&r, "HEAD /stream HTTP/1.0");
  CHECK_STR(raw_header(&r, "Connection"), "keep-alive");
  raw_resp_free(&r);
  plain_follows(c, "HEAD /stream HTTP/1.0");
  CHECK(!raw_closed(c, 50));
  raw_hang_up(c);
  stop(ts);
}

NH_TEST(head_sendfile_and_serve_content) {
  nh_test_server *ts = start();
  head_then_get(ts, "/sendfile", 200, "20000", FILE_LEN);
  /* Bytes written first, then a file: chunked for GET, nothing for HEAD. */
  head_then_get(ts, "/write-then-sendfile", 200, NULL, strlen("before ") + FILE_LEN);
  head_then_get(ts, "/content", 200, "20000", FILE_LEN);
  /* A multi-range answer (multipart/byteranges) to HEAD. */
  raw_conn *c = dial(ts);
  CHECK_EQ(raw_sends(c->fd, "HEAD /content HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9,100-109\r\n\r\n"
                            "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"),
           0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 1), 0);
  CHECK_EQ(r.status, 206);
  check_bodyless_head(&r, "HEAD ranges");
  raw_resp_free(&r);
  plain_follows(c, "HEAD ranges");
  raw_hang_up(c);
  stop(ts);
}

NH_TEST(head_through_timeout_handler) {
  nh_test_server *ts = start();
  head_then_get(ts, "/timeout", 200, "10", strlen("inner body"));
  /* In time or not: the 503 the wrapper sends at the deadline, too. */
  char len[16];
  snprintf(len, sizeof len, "%zu",
           strlen("<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"));
  head_then_get(ts, "/timeout-late", 503, len, strtoul(len, NULL, 10));
  stop(ts);
}

NH_TEST(head_recovered_panic_and_buffered_writer) {
  nh_test_server *ts = start();
  head_then_get(ts, "/panic", 500, "22", strlen("Internal Server Error\n"));
  head_then_get(ts, "/buffered", 200, "50000", STREAM_LEN);
  head_then_get(ts, "/buffered-over", 200, "50000", STREAM_LEN); /* all counted, none sent */
  stop(ts);
}

/* 204 and 304, for GET and HEAD, from a handler that sets framing headers
 * and tries to write and flush a body. */
NH_TEST(no_body_statuses_send_nothing_after_the_head) {
  nh_test_server *ts = start();
  const char *paths[] = {"/204", "/304"};
  const char *methods[] = {"GET", "HEAD"};
  for (int i = 0; i < 2; i++)
    for (int m = 0; m < 2; m++) {
      raw_conn *c = dial(ts);
      char req[256];
      snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n",
               methods[m], paths[i]);
      CHECK_EQ(raw_sends(c->fd, req), 0);
      raw_resp r;
      CHECK_EQ(raw_read(c, &r, 1), 0);
      CHECK_EQ(r.status, atoi(paths[i] + 1));
      check_bodyless_head(&r, req);
      if (raw_header(&r, "Content-Length") && i == 0)
        NH_FAIL("%s: Content-Length on a 204", req);
      raw_resp_free(&r);
      plain_follows(c, req);
      CHECK(!raw_closed(c, 50));
      raw_hang_up(c);
    }
  stop(ts);
}

/* 103 Early Hints, then the final answer: the 103 carries the handler's
 * Link but none of its framing headers; HTTP/1.0 clients get no 1xx. */
NH_TEST(informational_then_final) {
  nh_test_server *ts = start();
  for (int head = 0; head < 2; head++) {
    raw_conn *c = dial(ts);
    CHECK_EQ(raw_sends(c->fd, head ? "HEAD /103 HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n"
                                   : "GET /103 HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n"),
             0);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 1), 0);
    CHECK_EQ(r.status, 103);
    CHECK_STR(raw_header(&r, "Link"), "</style.css>; rel=preload");
    CHECK(raw_header(&r, "Content-Length") == NULL);
    CHECK(raw_header(&r, "Transfer-Encoding") == NULL);
    raw_resp_free(&r);
    next_is_status_line(c, "after 103");
    CHECK_EQ(raw_read(c, &r, head), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(raw_header(&r, "Content-Length"), "5");
    if (!head)
      CHECK_STR(r.body, "final");
    raw_resp_free(&r);
    plain_follows(c, "after the final answer");
    raw_hang_up(c);
  }
  raw_conn *c = dial(ts);
  CHECK_EQ(raw_sends(c->fd, "GET /103 HTTP/1.0\r\n\r\n"), 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "final");
  raw_resp_free(&r);
  raw_hang_up(c);
  stop(ts);
}

/* The server's own answers to a refused HEAD: the head with the length the
 * text would have, then the close, and no byte between. */
static void refused_head(nh_test_server *ts, const char *req, int status) {
  raw_conn *c = dial(ts);
  CHECK_EQ(raw_sends(c->fd, req), 0);
  raw_resp r;
  if (raw_read(c, &r, 1) != 0)
    NH_FAIL("%s: no answer", req);
  if (r.status != status)
    NH_FAIL("%s: status %d, want %d", req, r.status, status);
  const char *cl = raw_header(&r, "Content-Length");
  CHECK(cl && atoi(cl) > 0);
  CHECK_STR(raw_header(&r, "Connection"), "close");
  raw_resp_free(&r);
  if (c->len)
    NH_FAIL("%s: %zu body bytes after a HEAD's head: \"%.*s\"", req, c->len, (int)c->len, c->buf);
  CHECK(raw_closed(c, 5000));
  raw_hang_up(c);
}

NH_TEST(head_server_error_answers_have_no_body) {
  nh_test_server *ts = start();
  refused_head(ts, "HEAD /plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
  refused_head(ts, "HEAD /plain HTTP/1.1\r\n\r\n", 400);
  refused_head(ts, "HEAD /plain HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400);
  char big[8192];
  snprintf(big, sizeof big, "HEAD /plain HTTP/1.1\r\nHost: x\r\nX-Big: %07000d\r\n\r\n", 0);
  refused_head(ts, big, 431);
  refused_head(ts, "HEAD /panic-bare HTTP/1.1\r\nHost: x\r\n\r\n", 500);
  /* A GET still gets the text. */
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET /plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
  CHECK_EQ(r.status, 501);
  CHECK(r.blen > 0);
  raw_resp_free(&r);
  stop(ts);
}

NH_TEST_MAIN()
