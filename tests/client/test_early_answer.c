/* A server that answers before it has read the request body (seeds 3 and
 * 14: 413, 401, 403, 202 for an upload it will not take) and then closes.
 * The client returns that answer, status and body, as Go's Transport does,
 * stops sending the rest of the body, and does not reuse the connection.
 * Over plain TCP and TLS, with and without Expect: 100-continue, against
 * nethttp's own server and scripted servers that never read at all. */
#include "harness.h"
#include "answer.h"
#include "scripted.h"

#include <nethttp.h>
#include <nethttp/httptest.h>

#define MIB (1 << 20)

/* ---- a body source that counts what the client took from it ---- */

typedef struct source {
  int64_t size, given;
} source;

static ssize_t source_read(void *arg, void *buf, size_t cap) {
  source *s = arg;
  size_t n = (size_t)(s->size - s->given) < cap ? (size_t)(s->size - s->given) : cap;
  memset(buf, 'u', n);
  s->given += (int64_t)n;
  return (ssize_t)n;
}

/* ---- nethttp's own server: /reject/CODE answers without reading ---- */

/* /reject/CODE returns at once (the server then closes: too much body
 * left to drain); /hold/CODE sends its answer and keeps the connection,
 * reading nothing, until the client leaves (5 s at most). */
static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  int hold = !strncmp(p, "/hold/", 6);
  if (hold || !strncmp(p, "/reject/", 8)) {
    int code = atoi(p + (hold ? 6 : 8));
    char msg[64], len[24];
    snprintf(msg, sizeof msg, "rejected %d without reading\n", code);
    snprintf(len, sizeof len, "%zu", strlen(msg));
    nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
    nh_header_set(nh_resp_header(w), "Content-Length", len); /* complete before the hold */
    nh_resp_write_header(w, code);
    nh_resp_write_string(w, msg);
    if (hold) {
      nh_resp_flush(w);
      /* The client leaving cancels the handler's context: the sleep ends. */
      for (int i = 0; i < 250 && nh_sleep(20 * NH_MSEC) == NH_OK; i++)
        ;
    }
    return;
  }
  nh_resp_write_string(w, "hello");
}

static int64_t accepted(nh_test_server *ts) {
  nh_server_stats ss;
  nh_server_stats_get(nh_test_server_server(ts), &ss);
  return ss.accepted;
}

static int64_t dials(nh_client *c) {
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  return st.dials;
}

/* POSTs size bytes (length known, or chunked) to path; checks the early
 * answer exactly. Returns how much of the body the client took. */
static int64_t post_to(nh_client *c, const char *base, const char *how, int code, int64_t size,
                       int chunked, int expect) {
  char url[256], want[64];
  snprintf(url, sizeof url, "%s/%s/%d", base, how, code);
  snprintf(want, sizeof want, "rejected %d without reading\n", code);
  source src = {.size = size};
  nh_client_request *req = nh_client_request_new("POST", url);
  CHECK(req != NULL);
  CHECK_EQ(nh_client_request_set_body_reader(req, source_read, NULL, &src, chunked ? -1 : size),
           NH_OK);
  if (expect)
    nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  nh_response *resp;
  int e = nh_client_do(c, req, &resp);
  if (e)
    NH_FAIL("POST %s (%lld bytes): %s", url, (long long)size, nh_strerror(e));
  expect_answer(resp, code, want);
  nh_client_request_free(req);
  return src.given;
}

static int64_t post_rejected(nh_client *c, const char *base, int code, int64_t size, int chunked,
                             int expect) {
  return post_to(c, base, "reject", code, size, chunked, expect);
}

/* The request after an early answer goes on a new connection. */
static void next_on_new_connection(nh_client *c, nh_test_server *ts) {
  int64_t d = dials(c), a = accepted(ts);
  char url[256];
  snprintf(url, sizeof url, "%s/hello", nh_test_server_url(ts));
  nh_response *resp;
  CHECK_EQ(nh_client_get(c, url, &resp), NH_OK);
  expect_answer(resp, 200, "hello");
  CHECK_EQ(dials(c), d + 1);
  for (int i = 0; i < 200 && accepted(ts) < a + 1; i++)
    usleep(10 * 1000); /* the server counts it on its own loop */
  CHECK_EQ(accepted(ts), a + 1);
}

static void own_server_checks(nh_test_server *ts) {
  nh_client *c = nh_test_server_client(ts);
  const char *base = nh_test_server_url(ts);
  /* The same upload three times, as the failure was every time. */
  for (int i = 0; i < 3; i++) {
    post_rejected(c, base, 413, 6 * MIB + i * MIB, 0, 0);
    next_on_new_connection(c, ts);
  }
  const int codes[] = {401, 403, 202};
  for (int i = 0; i < 3; i++) {
    post_rejected(c, base, codes[i], 5 * MIB, 0, 0);
    next_on_new_connection(c, ts);
  }
  post_rejected(c, base, 413, 8 * MIB, 1, 0); /* chunked */
  next_on_new_connection(c, ts);
  /* A server that answers and then reads nothing: the answer is seen
   * while the writes are blocked, and the rest of the body is not sent. */
  CHECK(post_to(c, base, "hold", 413, 8 * MIB, 0, 0) < 8 * MIB);
  next_on_new_connection(c, ts);
  CHECK(post_to(c, base, "hold", 403, 8 * MIB, 1, 0) < 8 * MIB);
  next_on_new_connection(c, ts);
  /* Expect: 100-continue: the server answers without asking for the body,
   * and closes; not a byte of the body is sent. */
  CHECK_EQ(post_rejected(c, base, 413, 8 * MIB, 0, 1), 0);
  next_on_new_connection(c, ts);
  CHECK_EQ(post_rejected(c, base, 401, 5 * MIB, 1, 1), 0);
  next_on_new_connection(c, ts);
}

static void own_server_checks_fiber(void *ts) { own_server_checks(ts); }

/* on_fiber: the client runs on a fiber of its own runtime, where waiting
 * for either direction parks on the loop's epoll; else on this thread,
 * where it is poll(2). */
static void own_server(int tls, int on_fiber) {
  /* HTTP/1.1 over TLS too: an early answer ends an HTTP/1 connection (over
   * HTTP/2 it ends only its stream, see tests/client/test_h2_flow.c). */
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.http2.disable = 1;
  nh_test_server *ts = tls ? nh_test_server_new_tls(handler, &cfg, 1) : nh_test_server_new(handler, NULL, 1);
  CHECK(ts != NULL);
  if (on_fiber)
    CHECK_EQ(nh_run(NULL, own_server_checks_fiber, ts), NH_OK);
  else
    own_server_checks(ts);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(own_server_answers_early_plain) { own_server(0, 0); }

NH_TEST(own_server_answers_early_tls) { own_server(1, 0); }

NH_TEST(own_server_answers_early_plain_fiber) { own_server(0, 1); }

NH_TEST(own_server_answers_early_tls_fiber) { own_server(1, 1); }

/* ---- a server that never reads the body and never closes ---- */

/* Connection 0: reads the head, answers 413 with a keep-alive framing
 * (no Connection: close), then reads nothing more until the client leaves.
 * Later connections: a plain answer to each request. */
static void never_reads(int fd, int i, void *arg) {
  (void)arg;
  char buf[65536];
  if (i == 0) {
    size_t len = 0;
    while (len < sizeof buf - 1) {
      ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
      if (n <= 0)
        return;
      len += (size_t)n;
      buf[len] = 0;
      if (strstr(buf, "\r\n\r\n"))
        break;
    }
    script_send(fd, "HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\n"
                    "Content-Length: 10\r\n\r\ntoo large\n");
    /* Not a byte more is read: the client must see the answer while its
     * writes are blocked, and go. Its close ends this connection. */
    struct pollfd pfd = {fd, POLLRDHUP, 0};
    poll(&pfd, 1, 10000);
    return;
  }
  long n;
  while ((n = script_read_request(fd, buf, sizeof buf)) > 0)
    script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static void scripted_early_on(scripted *s, int chunked) {
  nh_client *c = nh_client_new(NULL);
  source src = {.size = 8 * MIB};
  nh_client_request *req = nh_client_request_new("PUT", scripted_url(s, "/upload"));
  CHECK_EQ(nh_client_request_set_body_reader(req, source_read, NULL, &src, chunked ? -1 : src.size),
           NH_OK);
  nh_response *resp;
  CHECK_EQ(nh_client_do(c, req, &resp), NH_OK);
  expect_answer(resp, 413, "too large\n");
  nh_client_request_free(req);
  /* The rest of the body was not sent: the socket buffers hold a few MiB
   * at most, and the server took none of it. */
  CHECK(src.given < src.size);
  /* The answer's framing said keep-alive, but the request's was cut: the
   * connection is closed, and the next request dials. */
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.idle_now, 0);
  nh_response *r2;
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/next"), &r2), NH_OK);
  CHECK_EQ(nh_response_status(r2), 200);
  nh_response_close(r2);
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.dials, 2);
  nh_client_free(c);
  CHECK_EQ(atomic_load(&s->conns), 2);
}

static void scripted_early_fiber(void *s) { scripted_early_on(s, 0); }

static void scripted_early(int chunked, int on_fiber) {
  scripted *s = scripted_start(never_reads, NULL);
  if (on_fiber)
    CHECK_EQ(nh_run(NULL, scripted_early_fiber, s), NH_OK);
  else
    scripted_early_on(s, chunked);
  scripted_stop(s);
}

NH_TEST(server_that_never_reads_length_body) { scripted_early(0, 0); }

NH_TEST(server_that_never_reads_chunked_body) { scripted_early(1, 0); }

NH_TEST(server_that_never_reads_from_a_fiber) { scripted_early(0, 1); }

/* ---- Expect: 100-continue met by a final answer that keeps the connection ---- */

typedef struct taken {
  atomic_long body;
} taken;

/* Answers 200 at once, without 100 Continue and without Connection: close;
 * then reads the body it is owed (as a server that keeps the connection
 * must), and answers the next request on the same connection. */
static void answer_then_read(int fd, int i, void *arg) {
  taken *tk = arg;
  char buf[65536];
  size_t len = 0;
  char *end = NULL;
  while (!end && len < sizeof buf - 1) {
    ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (n <= 0)
      return;
    len += (size_t)n;
    buf[len] = 0;
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end || i != 0)
    return;
  long want = atol(strcasestr(buf, "\r\nContent-Length:") + 17);
  script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  long got = (long)(len - (size_t)(end + 4 - buf));
  while (got < want) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 5000) <= 0)
      break;
    ssize_t n = recv(fd, buf, (size_t)(want - got) < sizeof buf ? (size_t)(want - got) : sizeof buf, 0);
    if (n <= 0)
      break;
    got += n;
  }
  atomic_store(&tk->body, got);
  long n;
  while ((n = script_read_request(fd, buf, sizeof buf)) > 0)
    script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
}

NH_TEST(expect_final_answer_keeping_the_connection_gets_the_body) {
  taken tk = {0};
  scripted *s = scripted_start(answer_then_read, &tk);
  nh_client *c = nh_client_new(NULL);
  source src = {.size = 1 * MIB};
  nh_client_request *req = nh_client_request_new("PUT", scripted_url(s, "/x"));
  nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  CHECK_EQ(nh_client_request_set_body_reader(req, source_read, NULL, &src, src.size), NH_OK);
  nh_response *resp;
  CHECK_EQ(nh_client_do(c, req, &resp), NH_OK);
  expect_answer(resp, 200, "ok");
  nh_client_request_free(req);
  CHECK_EQ(src.given, src.size);
  /* As Go: the body went out, so the connection carries the next request. */
  nh_response *r2;
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/y"), &r2), NH_OK);
  char *body = NULL;
  CHECK_EQ(nh_response_read_all(r2, 64, &body, NULL), NH_OK);
  CHECK_STR(body, "next");
  free(body);
  nh_response_close(r2);
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.reused, 1);
  nh_client_free(c);
  scripted_stop(s);
  CHECK_EQ(atomic_load(&tk.body), 1 * MIB);
}

NH_TEST_MAIN()
