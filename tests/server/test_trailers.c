/* Response trailers over HTTP/1 (Go's semantics): names declared in a
 * Trailer field and set after the body, "Trailer:Name" keys set at any
 * time, forbidden names dropped, a declared name never set left out, the
 * body chunked so they can follow it (no Content-Length worked out), a
 * Content-Length of the handler's own kept (and then no trailers, as Go),
 * none for HTTP/1.0 or HEAD. Seen on the wire by a raw client and by curl
 * --raw; the recorder's nh_recorder_trailer. */
#include "harness.h"
#include "rawclient.h"
#include "runtime/support.h"

#include <fcntl.h>
#include <nethttp.h>
#include <nethttp/httptest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

static void handler(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  nh_header *h = nh_resp_header(w);
  if (!strcmp(path, "/declared")) {
    /* Two Trailer fields, one a list; one name never set. */
    nh_header_set(h, "Trailer", "X-Sum, X-Never");
    nh_header_add(h, "Trailer", "X-Rows");
    nh_resp_write_string(w, "hello ");
    nh_resp_flush(w);
    nh_resp_write_string(w, "world");
    nh_header_set(h, "X-Sum", "42");
    nh_header_add(h, "X-Rows", "1");
    nh_header_add(h, "X-Rows", "2");
  } else if (!strcmp(path, "/whole")) {
    /* A body sent whole at the end: still chunked, no Content-Length. */
    nh_header_set(h, "Trailer", "X-Sum");
    nh_resp_write_string(w, "small");
    nh_header_set(h, "X-Sum", "7");
  } else if (!strcmp(path, "/prefix")) {
    nh_resp_write_string(w, "streamed");
    nh_resp_flush(w); /* the head is on the wire */
    CHECK_EQ(nh_header_set(h, "Trailer:X-Late", "after the head"), NH_OK);
    CHECK_EQ(nh_header_set(h, "trailer:x-lower-case", "yes"), NH_OK);
    /* Changes to other fields after the head are not made on the wire. */
    nh_header_set(h, "X-Too-Late", "no");
    CHECK_STR(nh_header_get(h, "Trailer:X-Late"), "after the head");
  } else if (!strcmp(path, "/prefix-early")) {
    /* Set before the head: it stays out of the head. */
    nh_header_set(h, "Trailer:X-Early", "e");
    nh_resp_write_string(w, "body");
  } else if (!strcmp(path, "/forbidden")) {
    nh_header_set(h, "Trailer", "Content-Length, Host, If-Match, X-Ok, Transfer-Encoding");
    nh_resp_write_string(w, "body");
    nh_resp_flush(w);
    nh_header_set(h, "Content-Length", "99");
    nh_header_set(h, "Host", "evil");
    nh_header_set(h, "If-Match", "*");
    nh_header_set(h, "X-Ok", "fine");
    nh_header_set(h, "Trailer:Authorization", "secret");
    nh_header_set(h, "Trailer:Cache-Control", "no-store");
  } else if (!strcmp(path, "/length")) {
    nh_header_set(h, "Trailer", "X-Sum");
    nh_header_set(h, "Content-Length", "5");
    nh_resp_write_string(w, "hello");
    nh_header_set(h, "X-Sum", "1");
  } else {
    nh_resp_write_string(w, "plain");
  }
}

/* Sends req on a new connection and reads until the server closes it (the
 * request asks it to, or HTTP/1.0 ends the body so). A malloc'd string. */
static char *exchange(int port, const char *req) {
  int fd = raw_connect(port);
  CHECK(fd >= 0);
  CHECK(raw_sends(fd, req) == 0);
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap + 1);
  for (int waited = 0; waited < 10000;) {
    struct pollfd p = {fd, POLLIN, 0};
    int k = poll(&p, 1, 100);
    if (k == 0) {
      waited += 100;
      continue;
    }
    ssize_t n = read(fd, out + len, cap - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    CHECK(len < cap);
  }
  out[len] = 0;
  close(fd);
  return out;
}

/* The head (up to and with its empty line) of a response text. */
static char *head_of(const char *resp) {
  const char *end = strstr(resp, "\r\n\r\n");
  CHECK(end);
  return strndup(resp, (size_t)(end - resp) + 4);
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && !memcmp(s + n - t, tail, t);
}

NH_TEST(declared_trailers_follow_the_last_chunk) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  int port = nh_test_server_port(ts);
  char *resp = exchange(port, "GET /declared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char *head = head_of(resp);
  /* The Trailer fields go with the head, as the handler set them. */
  CHECK_CONTAINS(head, "\r\nTrailer: X-Sum, X-Never\r\n");
  CHECK_CONTAINS(head, "\r\nTrailer: X-Rows\r\n");
  CHECK_CONTAINS(head, "\r\nTransfer-Encoding: chunked\r\n");
  CHECK(!strstr(head, "Content-Length"));
  /* The values set after the body, after the last chunk; X-Never was
   * never set and is left out. */
  CHECK(ends_with(resp, "\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\nX-Sum: 42\r\nX-Rows: 1\r\n"
                        "X-Rows: 2\r\n\r\n"));
  CHECK(!strstr(resp, "X-Never:"));
  free(head);
  free(resp);

  /* All of it buffered until the handler returned: chunked all the same,
   * no Content-Length worked out (Go). */
  resp = exchange(port, "GET /whole HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  head = head_of(resp);
  CHECK(!strstr(head, "Content-Length"));
  CHECK_CONTAINS(head, "Transfer-Encoding: chunked");
  CHECK(ends_with(resp, "\r\n\r\n5\r\nsmall\r\n0\r\nX-Sum: 7\r\n\r\n"));
  free(head);
  free(resp);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(trailer_prefix_keys_after_the_head) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  int port = nh_test_server_port(ts);
  char *resp = exchange(port, "GET /prefix HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char *head = head_of(resp);
  CHECK(!strstr(head, "X-Late"));
  CHECK(!strstr(head, "X-Too-Late"));
  CHECK(ends_with(resp, "\r\n8\r\nstreamed\r\n0\r\nX-Late: after the head\r\n"
                        "X-Lower-Case: yes\r\n\r\n"));
  CHECK(!strstr(resp, "X-Too-Late"));
  free(head);
  free(resp);

  /* A prefixed key set before the head never reaches the head. */
  resp = exchange(port, "GET /prefix-early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  head = head_of(resp);
  CHECK(!strstr(head, "Trailer"));
  CHECK(!strstr(head, "X-Early"));
  CHECK_CONTAINS(head, "Transfer-Encoding: chunked");
  CHECK(ends_with(resp, "\r\n4\r\nbody\r\n0\r\nX-Early: e\r\n\r\n"));
  free(head);
  free(resp);

  /* HEAD: no body, no trailers, and no prefixed key in the head. */
  resp = exchange(port, "HEAD /prefix-early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(!strstr(resp, "X-Early"));
  CHECK(ends_with(resp, "\r\n\r\n"));
  CHECK(!strstr(resp, "\r\n0\r\n"));
  free(resp);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(forbidden_trailer_names_are_dropped) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  char *resp = exchange(nh_test_server_port(ts),
                        "GET /forbidden HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char *head = head_of(resp);
  CHECK(!strstr(head, "\r\nContent-Length:"));
  CHECK(ends_with(resp, "\r\n4\r\nbody\r\n0\r\nX-Ok: fine\r\n\r\n"));
  CHECK(!strstr(resp, "evil"));
  CHECK(!strstr(resp, "secret"));
  CHECK(!strstr(resp, "no-store"));
  free(head);
  free(resp);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(http10_gets_no_trailers) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  char *resp = exchange(nh_test_server_port(ts), "GET /declared HTTP/1.0\r\nHost: x\r\n\r\n");
  char *head = head_of(resp);
  CHECK(!strstr(head, "chunked"));
  CHECK_CONTAINS(head, "Connection: close");
  /* The body as written, ended by the close: no chunk framing, no fields. */
  CHECK(ends_with(resp, "\r\n\r\nhello world"));
  CHECK(!strstr(resp, "X-Sum: 42"));
  free(head);
  free(resp);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Go keeps a Content-Length the handler set: the body is not chunked, so
 * no trailers can follow it, and the connection is kept. */
NH_TEST(handler_content_length_is_kept_without_trailers) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  CHECK(c->fd >= 0);
  raw_resp r;
  CHECK(raw_sends(c->fd, "GET /length HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(raw_header(&r, "Content-Length"), "5");
  CHECK(!raw_header(&r, "Transfer-Encoding"));
  CHECK_STR(r.body, "hello");
  raw_resp_free(&r);
  /* Nothing followed the 5 bytes: the next response parses cleanly. */
  CHECK(raw_sends(c->fd, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "plain");
  raw_resp_free(&r);
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* curl --raw shows the chunked body as it came, trailer section included. */
NH_TEST(curl_raw_sees_the_trailer_section) {
  if (system("command -v curl >/dev/null 2>&1") != 0)
    NH_SKIP("curl not installed");
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  char url[64], out[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/declared", nh_test_server_port(ts));
  snprintf(out, sizeof out, "/tmp/nh_trailers_curl_%d", (int)getpid());
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    execlp("curl", "curl", "-sS", "--raw", "--http1.1", "-o", "-", url, (char *)NULL);
    _exit(127);
  }
  int status = -1, done = 0;
  for (int i = 0; i < 1000 && !done; i++) {
    done = waitpid(pid, &status, WNOHANG) == pid;
    if (!done)
      usleep(10 * 1000);
  }
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  CHECK(done && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  FILE *f = fopen(out, "rb");
  CHECK(f);
  char got[512];
  size_t n = fread(got, 1, sizeof got - 1, f);
  got[n] = 0;
  fclose(f);
  unlink(out);
  CHECK_STR(got, "6\r\nhello \r\n5\r\nworld\r\n0\r\nX-Sum: 42\r\nX-Rows: 1\r\nX-Rows: 2\r\n\r\n");
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Setting a trailer after the head is no late edit of the head: only the
 * change to another field (X-Too-Late in /prefix) is reported. */
NH_TEST(trailer_values_are_not_late_header_edits) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.logger = &cap->base;
  nh_test_server *ts = nh_test_server_new(handler, &cfg, 1);
  int port = nh_test_server_port(ts);
  free(exchange(port, "GET /declared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  free(exchange(port, "GET /forbidden HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  char *text = capture_log_text(cap);
  CHECK(!strstr(text, "changed after nh_resp_write_header"));
  free(text);
  capture_log_free(cap);

  cap = capture_log_new(NH_LOG_DEBUG);
  cfg.logger = &cap->base;
  ts = nh_test_server_new(handler, &cfg, 1);
  free(exchange(nh_test_server_port(ts),
                "GET /prefix HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  text = capture_log_text(cap);
  CHECK_CONTAINS(text, "changed after nh_resp_write_header");
  free(text);
  capture_log_free(cap);
}

/* Go's ResponseRecorder.Result().Trailer. */
NH_TEST(recorder_keeps_the_trailers) {
  nh_recorder *rec = nh_recorder_serve(handler, NULL, "GET", "/forbidden", NULL, NULL);
  CHECK(rec);
  nh_header *t = nh_recorder_trailer(rec);
  CHECK_EQ(nh_header_len(t), 1);
  CHECK_STR(nh_header_get(t, "X-Ok"), "fine");
  CHECK(!nh_header_get(nh_recorder_header(rec), "Content-Length"));
  size_t n;
  const char *wire = nh_recorder_wire(rec, &n);
  CHECK(ends_with(wire, "0\r\nX-Ok: fine\r\n\r\n"));
  nh_recorder_free(rec);

  rec = nh_recorder_serve(handler, NULL, "GET", "/prefix", NULL, NULL);
  CHECK(rec);
  t = nh_recorder_trailer(rec);
  CHECK_STR(nh_header_get(t, "X-Late"), "after the head");
  CHECK(!nh_header_get(nh_recorder_header(rec), "Trailer:X-Late"));
  nh_recorder_free(rec);

  rec = nh_recorder_serve(handler, NULL, "GET", "/other", NULL, NULL);
  CHECK(rec);
  CHECK_EQ(nh_header_len(nh_recorder_trailer(rec)), 0);
  nh_recorder_free(rec);
}

NH_TEST_MAIN()
