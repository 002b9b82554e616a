/* The client and its Transport over real sockets: pooling, framing,
 * timeouts, retries, redirects, gzip, and the seed bugs 1, 2 and 4. */
#include "harness.h"
#include "runtime/support.h"
#include "scripted.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <zlib.h>

static nh_dur since(nh_time t0) { return nh_now() - t0; }

static char *get_body(nh_client *c, const char *url, int *status) {
  nh_response *r;
  int e = nh_client_get(c, url, &r);
  if (e) {
    *status = e;
    return NULL;
  }
  *status = nh_response_status(r);
  char *body = NULL;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &body, NULL), NH_OK);
  nh_response_close(r);
  return body;
}

static void hello(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "hello"); }

/* Bodies read to the end give their connection back at once: 1,000
 * sequential requests use one connection (seed bug 1's fd leak cannot
 * happen by forgetting a drain). */
NH_TEST(bodies_read_to_eof_reuse_one_connection) {
  nh_test_server *ts = nh_test_server_new(hello, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  char url[128];
  snprintf(url, sizeof url, "%s/x", nh_test_server_url(ts));
  for (int i = 0; i < 1000; i++) {
    nh_response *r;
    CHECK_EQ(nh_client_get(c, url, &r), NH_OK);
    char buf[64];
    ssize_t n = nh_response_read(r, buf, sizeof buf);
    CHECK_EQ(n, 5);
    CHECK_EQ(nh_response_read(r, buf, sizeof buf), 0); /* EOF: back to the pool here */
    nh_transport_stats st;
    nh_transport_stats_get(nh_client_transport(c), &st);
    CHECK_EQ(st.idle_now, 1);
    nh_response_close(r);
  }
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.reused, 999);
  nh_server_stats ss;
  nh_server_stats_get(nh_test_server_server(ts), &ss);
  CHECK_EQ(ss.accepted, 1);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Seed bug 1: a response never closed is reported with the file:line of
 * the request that made it. */
NH_TEST(unclosed_response_reported_with_request_location) {
  nh_test_server *ts = nh_test_server_new(hello, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  nh_response *r1, *r2;
  int line = __LINE__ + 1;
  CHECK_EQ(nh_client_get(c, nh_test_server_url(ts), &r1), NH_OK);
  CHECK_EQ(nh_client_get(c, nh_test_server_url(ts), &r2), NH_OK);
  nh_response_close(r2);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  CHECK_EQ(nh_transport_leak_report(nh_client_transport(c), f), 1);
  fclose(f);
  char want[128];
  snprintf(want, sizeof want, "test_transport.c:%d", line);
  CHECK_CONTAINS(text, want);
  CHECK_CONTAINS(text, "never closed");
  free(text);
  nh_response_close(r1);
  CHECK_EQ(nh_transport_leak_report(nh_client_transport(c), NULL), 0);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Seed bug 2: a server that accepts and never answers ends in a timeout.
 * The defaults hold one (30 s, checked here), and a zeroed configuration
 * gets them; a short one shows the wire behavior. */
static void blackhole(int fd, int i, void *arg) { script_wait_eof(fd); }

NH_TEST(blackholed_server_times_out) {
  nh_transport_config d = NH_TRANSPORT_CONFIG_DEFAULT;
  CHECK_EQ(d.response_header_timeout, 30 * NH_SEC);
  CHECK_EQ(d.dial_timeout, 30 * NH_SEC);
  CHECK_EQ(d.body_stall_timeout, 30 * NH_SEC);
  scripted *s = scripted_start(blackhole, NULL);
  nh_transport_config cfg = {0}; /* zero: every default */
  cfg.response_header_timeout = 300 * NH_MSEC;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  nh_response *r;
  nh_time t0 = nh_now();
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/"), &r), NH_ETIMEDOUT);
  nh_dur took = since(t0);
  CHECK(took >= 300 * NH_MSEC && took < 10 * NH_SEC); /* this timeout, not a 30 s default */
  /* The client's total timeout cuts it too. */
  nh_client_free(c);
  cc.timeout = 200 * NH_MSEC;
  cfg.response_header_timeout = 0;
  nh_transport *t2 = nh_transport_new(&cfg);
  cc.transport = t2;
  c = nh_client_new(&cc);
  t0 = nh_now();
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/"), &r), NH_ETIMEDOUT);
  took = since(t0);
  CHECK(took >= 200 * NH_MSEC && took < 10 * NH_SEC);
  nh_client_free(c);
  nh_transport_free(t);
  nh_transport_free(t2);
  scripted_stop(s);
}

/* A body that stalls mid-way ends with NH_ETIMEDOUT after the stall
 * timeout, not never. */
static void stall_body(int fd, int i, void *arg) {
  char buf[4096];
  if (script_read_request(fd, buf, sizeof buf) <= 0)
    return;
  script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  script_wait_eof(fd);
}

NH_TEST(stalled_body_read_times_out) {
  scripted *s = scripted_start(stall_body, NULL);
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.body_stall_timeout = 250 * NH_MSEC;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/"), &r), NH_OK);
  char buf[200];
  CHECK_EQ(nh_response_read(r, buf, sizeof buf), 7);
  nh_time t0 = nh_now();
  CHECK_EQ(nh_response_read(r, buf, sizeof buf), NH_ETIMEDOUT);
  nh_dur took = since(t0);
  CHECK(took >= 250 * NH_MSEC && took < 10 * NH_SEC); /* not the 30 s default */
  nh_response_close(r);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.open_now, 0); /* a failed body closes its connection */
  nh_client_free(c);
  nh_transport_free(t);
  scripted_stop(s);
}

/* A context cancelled from another thread interrupts a fiber waiting for a
 * response head at once. */
typedef struct cancel_case {
  const char *url;
  nh_ctx *ctx;
  nh_runtime *rt;
  int result;
  nh_time cancelled_at, returned_at;
} cancel_case;

static void fiber_get(void *arg) {
  cancel_case *cc = arg;
  nh_client *c = nh_client_new(NULL);
  nh_client_request *req = nh_client_request_new("GET", cc->url);
  nh_client_request_set_ctx(req, cc->ctx);
  nh_response *r;
  cc->result = nh_client_do(c, req, &r);
  cc->returned_at = nh_now();
  if (cc->result == NH_OK)
    nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
}

/* Cancels once the fiber waits on its socket: for the head, which the
 * server never sends (or still for the connect, on a slow machine). */
static void *cancel_later(void *arg) {
  cancel_case *cc = arg;
  CHECK_EQ(wait_parked(cc->rt, "IO wait", 1), 1);
  cc->cancelled_at = nh_now();
  nh_ctx_cancel(cc->ctx);
  return NULL;
}

NH_TEST(context_cancel_interrupts_a_fiber_at_once) {
  scripted *s = scripted_start(blackhole, NULL);
  nh_runtime *rt = nh_runtime_new(NULL);
  cancel_case cc = {.url = scripted_url(s, "/"), .rt = rt};
  nh_ctx_with_cancel(NULL, &cc.ctx);
  pthread_t th;
  nh_runtime_go(rt, 0, fiber_get, &cc);
  pthread_create(&th, NULL, cancel_later, &cc);
  pthread_join(th, NULL);
  nh_runtime_free(rt); /* waits for the fiber */
  /* Only the cancel ends a wait on a server that never answers. */
  CHECK_EQ(cc.result, NH_ECANCELED);
  CHECK(cc.returned_at >= cc.cancelled_at && cc.returned_at - cc.cancelled_at < 5 * NH_SEC);
  nh_ctx_free(cc.ctx);
  scripted_stop(s);
}

/* Seed bug 4: no Content-Type is guessed for a body; the post helper sets
 * the one it is given. */
typedef struct capture {
  char req[8192];
  long len;
} capture;

static void capture_one(int fd, int i, void *arg) {
  capture *cap = arg;
  cap->len = script_read_request(fd, cap->req, sizeof cap->req);
  script_send(fd, "HTTP/1.1 204 No Content\r\n\r\n");
  script_wait_eof(fd);
}

NH_TEST(no_content_type_is_guessed) {
  capture cap = {0};
  scripted *s = scripted_start(capture_one, &cap);
  nh_client *c = nh_client_new(NULL);
  nh_client_request *req = nh_client_request_new("POST", scripted_url(s, "/up"));
  nh_client_request_set_body_string(req, "{\"a\":1}");
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 204);
  nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
  scripted_stop(s);
  CHECK(cap.len > 0);
  CHECK(strcasestr(cap.req, "Content-Type") == NULL);
  CHECK_CONTAINS(cap.req, "POST /up HTTP/1.1\r\n");
  CHECK_CONTAINS(cap.req, "Content-Length: 7\r\n");
  CHECK_CONTAINS(cap.req, "\r\n\r\n{\"a\":1}");

  capture cap2 = {0};
  s = scripted_start(capture_one, &cap2);
  c = nh_client_new(NULL);
  CHECK_EQ(nh_client_post(c, scripted_url(s, "/j"), "application/json", "{}", 2, &r), NH_OK);
  nh_response_close(r);
  nh_client_free(c);
  scripted_stop(s);
  CHECK_CONTAINS(cap2.req, "Content-Type: application/json\r\n");
}

/* Framing of responses: chunked with trailers, a body until close, HEAD
 * with a length, 204, and an interim 103 skipped. */
static void framings(int fd, int i, void *arg) {
  char buf[4096];
  long n;
  while ((n = script_read_request(fd, buf, sizeof buf)) > 0) {
    if (strstr(buf, "GET /chunked "))
      script_send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
                      "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n");
    else if (strstr(buf, "HEAD /head "))
      script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    else if (strstr(buf, "GET /204 "))
      script_send(fd, "HTTP/1.1 204 No Content\r\n\r\n");
    else if (strstr(buf, "GET /early "))
      script_send(fd, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    else if (strstr(buf, "GET /close ")) {
      script_send(fd, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
      return; /* closing ends the body */
    }
  }
}

NH_TEST(response_framings) {
  scripted *s = scripted_start(framings, NULL);
  nh_client *c = nh_client_new(NULL);
  int st;
  nh_response *r;
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/chunked"), &r), NH_OK);
  CHECK_EQ(nh_response_content_length(r), -1);
  CHECK(nh_response_trailer(r) == NULL);
  char *body;
  CHECK_EQ(nh_response_read_all(r, 100, &body, NULL), NH_OK);
  CHECK_STR(body, "hello world");
  free(body);
  CHECK_STR(nh_header_get(nh_response_trailer(r), "X-Sum"), "42");
  nh_response_close(r);

  nh_client_request *req = nh_client_request_new("HEAD", scripted_url(s, "/head"));
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_content_length(r), 1234);
  char b[8];
  CHECK_EQ(nh_response_read(r, b, sizeof b), 0);
  nh_response_close(r);
  nh_client_request_free(req);

  body = get_body(c, scripted_url(s, "/204"), &st);
  CHECK_EQ(st, 204);
  CHECK_STR(body, "");
  free(body);
  body = get_body(c, scripted_url(s, "/early"), &st);
  CHECK_EQ(st, 200);
  CHECK_STR(body, "ok");
  free(body);
  nh_transport_stats ts;
  nh_transport_stats_get(nh_client_transport(c), &ts);
  CHECK_EQ(ts.dials, 1); /* all of the above on one connection */
  body = get_body(c, scripted_url(s, "/close"), &st);
  CHECK_EQ(st, 200);
  CHECK_STR(body, "until the end");
  free(body);
  nh_transport_stats_get(nh_client_transport(c), &ts);
  CHECK_EQ(ts.idle_now, 0); /* a body that ran until close cannot be reused */
  nh_client_free(c);
  scripted_stop(s);
}

/* A pooled connection that the server closes right as the next request
 * arrives (it read the request, then hung up without answering): the
 * request is sent once more on a fresh connection if it is replayable as
 * Go has it: GET, HEAD, OPTIONS, TRACE, or any method with an
 * Idempotency-Key. A POST or a PUT without one may have been acted on, so
 * its error goes to the caller instead of a second copy to the server. */
static void one_then_hang_up(int fd, int i, void *arg) {
  char buf[4096];
  if (script_read_request(fd, buf, sizeof buf) <= 0)
    return;
  script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  /* Read the next request, then close without answering (the race of a
   * server's idle timeout with a client's reuse). */
  script_read_request(fd, buf, sizeof buf);
}

/* method with a small byte body (none for GET), an Idempotency-Key if key. */
static int send_once(nh_client *c, const char *method, const char *url, const char *key) {
  nh_client_request *req = nh_client_request_new(method, url);
  CHECK(req);
  if (strcmp(method, "GET") != 0)
    CHECK_EQ(nh_client_request_set_body_string(req, "abc"), NH_OK);
  if (key)
    CHECK_EQ(nh_header_set(nh_client_request_header(req), "Idempotency-Key", key), NH_OK);
  nh_response *r = NULL;
  int e = nh_client_do(c, req, &r);
  if (e == NH_OK) {
    e = nh_response_status(r);
    nh_response_close(r);
  }
  nh_client_request_free(req);
  return e;
}

/* The transport's resends and dials so far. */
static void check_retries_and_dials(nh_client *c, int64_t retries, int64_t dials) {
  nh_transport_stats ts;
  nh_transport_stats_get(nh_client_transport(c), &ts);
  CHECK_EQ(ts.retries, retries);
  CHECK_EQ(ts.dials, dials);
}

NH_TEST(stale_pooled_connection_retried_only_when_replayable) {
  scripted *s = scripted_start(one_then_hang_up, NULL);
  nh_client *c = nh_client_new(NULL);
  /* Connection 1: /1 answered; /2 meets the hang-up and goes again on connection 2. */
  CHECK_EQ(send_once(c, "GET", scripted_url(s, "/1"), NULL), 200);
  CHECK_EQ(send_once(c, "GET", scripted_url(s, "/2"), NULL), 200);
  check_retries_and_dials(c, 1, 2);
  /* A POST on connection 2 meets the hang-up: not sent again. */
  CHECK_EQ(send_once(c, "POST", scripted_url(s, "/3"), NULL), NH_ECONNRESET);
  check_retries_and_dials(c, 1, 2);
  /* Connection 3: /4 answered; a POST with an Idempotency-Key meets the
   * hang-up and is sent again on connection 4. */
  CHECK_EQ(send_once(c, "GET", scripted_url(s, "/4"), NULL), 200);
  CHECK_EQ(send_once(c, "POST", scripted_url(s, "/5"), "k-5"), 200);
  check_retries_and_dials(c, 2, 4);
  /* A PUT (idempotent by RFC 9110, not retried by Go) on connection 4. */
  CHECK_EQ(send_once(c, "PUT", scripted_url(s, "/6"), NULL), NH_ECONNRESET);
  check_retries_and_dials(c, 2, 4);
  nh_client_free(c);
  scripted_stop(s);
}

/* Two pooled connections that both hang up on their next request (a
 * restarting server closes all its idle ones at once): a GET goes again on
 * the second, then on a new connection, as Go's roundTrip loop does for as
 * long as the connection that failed was a reused one. */
NH_TEST(stale_pooled_connections_retried_until_a_new_one) {
  scripted *s = scripted_start(one_then_hang_up, NULL);
  nh_client *c = nh_client_new(NULL);
  /* Two connections in the pool: the first response is held open while
   * the second request is made. */
  nh_response *r1 = NULL, *r2 = NULL;
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/1"), &r1), NH_OK);
  CHECK_EQ(nh_client_get(c, scripted_url(s, "/2"), &r2), NH_OK);
  CHECK_EQ(nh_response_status(r1), 200);
  CHECK_EQ(nh_response_status(r2), 200);
  nh_response_close(r1);
  nh_response_close(r2);
  nh_transport_stats ts;
  nh_transport_stats_get(nh_client_transport(c), &ts);
  CHECK_EQ(ts.idle_now, 2);
  check_retries_and_dials(c, 0, 2);
  CHECK_EQ(send_once(c, "GET", scripted_url(s, "/3"), NULL), 200);
  check_retries_and_dials(c, 2, 3);
  /* A POST meets the hang-up on the new connection: not sent again. */
  CHECK_EQ(send_once(c, "POST", scripted_url(s, "/4"), NULL), NH_ECONNRESET);
  check_retries_and_dials(c, 2, 3);
  nh_client_free(c);
  scripted_stop(s);
}

static void answer_then_close(int fd, int i, void *arg) {
  char buf[4096];
  if (script_read_request(fd, buf, sizeof buf) <= 0)
    return;
  script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  usleep(20 * 1000); /* then close: the client sees EOF on the idle socket */
}

NH_TEST(idle_connection_closed_by_server_is_not_reused) {
  scripted *s = scripted_start(answer_then_close, NULL);
  nh_client *c = nh_client_new(NULL);
  int st;
  free(get_body(c, scripted_url(s, "/1"), &st));
  CHECK_SOON(atomic_load(&s->ended) == 1); /* the server has closed it */
  /* The pool looks at a connection idle for 250 ms or more before reusing
   * it (a fresher one is trusted): idle longer than that. */
  usleep(300 * 1000);
  free(get_body(c, scripted_url(s, "/2"), &st));
  CHECK_EQ(st, 200);
  nh_transport_stats ts;
  nh_transport_stats_get(nh_client_transport(c), &ts);
  CHECK_EQ(ts.dials, 2);
  CHECK_EQ(ts.retries, 0); /* noticed before use, not after */
  nh_client_free(c);
  scripted_stop(s);
}

/* Closing early: a small unread body is drained and the connection kept;
 * a large one closes it. */
static void sized(nh_response_writer *w, nh_request *r) {
  size_t n = strcmp(nh_request_path(r), "/big") == 0 ? 4 << 20 : 100 << 10;
  char *b = calloc(1, n);
  nh_resp_write(w, b, n);
  free(b);
}

NH_TEST(early_close_drains_small_bodies_and_drops_large_ones) {
  nh_test_server *ts = nh_test_server_new(sized, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  char url[128];
  nh_response *r;
  snprintf(url, sizeof url, "%s/small", nh_test_server_url(ts));
  CHECK_EQ(nh_client_get(c, url, &r), NH_OK);
  nh_response_close(r);
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.idle_now, 1);
  snprintf(url, sizeof url, "%s/big", nh_test_server_url(ts));
  CHECK_EQ(nh_client_get(c, url, &r), NH_OK);
  nh_response_close(r);
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.idle_now, 0);
  CHECK_EQ(st.closed_unread_body, 1);
  CHECK_EQ(st.dials, 1);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Transparent gzip: asked for on the caller's behalf, decoded for it; a
 * caller that asks itself gets the bytes as sent. */
static void gzipper(nh_response_writer *w, nh_request *r) {
  const char *ae = nh_header_get(nh_request_header(r), "Accept-Encoding");
  const char *text = "compressed hello, compressed hello, compressed hello";
  if (!ae || !strstr(ae, "gzip")) {
    nh_resp_write_string(w, text);
    return;
  }
  unsigned char out[512];
  z_stream z = {0};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  z.next_in = (unsigned char *)text;
  z.avail_in = (uInt)strlen(text);
  z.next_out = out;
  z.avail_out = sizeof out;
  deflate(&z, Z_FINISH);
  size_t n = sizeof out - z.avail_out;
  deflateEnd(&z);
  nh_header_set(nh_resp_header(w), "Content-Encoding", "gzip");
  nh_resp_write(w, out, n);
}

NH_TEST(transparent_gzip) {
  nh_test_server *ts = nh_test_server_new(gzipper, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, nh_test_server_url(ts), &r), NH_OK);
  CHECK(nh_response_uncompressed(r));
  CHECK(nh_header_get(nh_response_header(r), "Content-Encoding") == NULL);
  char *body;
  CHECK_EQ(nh_response_read_all(r, 1000, &body, NULL), NH_OK);
  CHECK_STR(body, "compressed hello, compressed hello, compressed hello");
  free(body);
  nh_response_close(r);
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.idle_now, 1); /* the gzip end also ended the body */
  nh_client_request *req = nh_client_request_new("GET", nh_test_server_url(ts));
  nh_header_set(nh_client_request_header(req), "Accept-Encoding", "gzip");
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK(!nh_response_uncompressed(r));
  CHECK_STR(nh_header_get(nh_response_header(r), "Content-Encoding"), "gzip");
  nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Redirects: 302 turns POST into GET, 307 replays the body, the chain is
 * cut after 10, and Authorization does not follow to another host. */
static void redirector(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  char loc[160], body[2048] = "";
  if (!strcmp(p, "/302") || !strcmp(p, "/307")) {
    nh_header_set(nh_resp_header(w), "Location", "/echo");
    nh_resp_write_header(w, atoi(p + 1));
    return;
  }
  if (!strncmp(p, "/loop/", 6)) {
    snprintf(loc, sizeof loc, "/loop/%d", atoi(p + 6) + 1);
    nh_header_set(nh_resp_header(w), "Location", loc);
    nh_resp_write_header(w, 302);
    return;
  }
  if (!strcmp(p, "/other")) { /* same server, another host name */
    snprintf(loc, sizeof loc, "http://localhost:%s/echo", strrchr(nh_request_host(r), ':') + 1);
    nh_header_set(nh_resp_header(w), "Location", loc);
    nh_resp_write_header(w, 302);
    return;
  }
  ssize_t n = nh_request_read(r, body, sizeof body - 1);
  body[n > 0 ? n : 0] = 0;
  const char *auth = nh_header_get(nh_request_header(r), "Authorization");
  nh_resp_printf(w, "%s %s auth=%s", nh_request_method(r), body, auth ? auth : "-");
}

NH_TEST(redirects_as_go) {
  nh_test_server *ts = nh_test_server_new(redirector, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  char url[160];
  nh_response *r;
  char *body;
  snprintf(url, sizeof url, "%s/302", nh_test_server_url(ts));
  CHECK_EQ(nh_client_post(c, url, "text/plain", "data", 4, &r), NH_OK);
  CHECK_EQ(nh_response_read_all(r, 1000, &body, NULL), NH_OK);
  CHECK_STR(body, "GET  auth=-");
  CHECK_CONTAINS(nh_response_url(r), "/echo");
  free(body);
  nh_response_close(r);
  snprintf(url, sizeof url, "%s/307", nh_test_server_url(ts));
  CHECK_EQ(nh_client_post(c, url, "text/plain", "data", 4, &r), NH_OK);
  CHECK_EQ(nh_response_read_all(r, 1000, &body, NULL), NH_OK);
  CHECK_STR(body, "POST data auth=-");
  free(body);
  nh_response_close(r);
  snprintf(url, sizeof url, "%s/loop/0", nh_test_server_url(ts));
  CHECK_EQ(nh_client_get(c, url, &r), NH_ETOOMANYREDIRECTS);
  snprintf(url, sizeof url, "%s/other", nh_test_server_url(ts));
  nh_client_request *req = nh_client_request_new("GET", url);
  nh_header_set(nh_client_request_header(req), "Authorization", "Bearer secret");
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_read_all(r, 1000, &body, NULL), NH_OK);
  CHECK_STR(body, "GET  auth=-");
  free(body);
  nh_response_close(r);
  nh_client_request_free(req);
  snprintf(url, sizeof url, "%s/echo", nh_test_server_url(ts));
  req = nh_client_request_new("GET", url);
  nh_header_set(nh_client_request_header(req), "Authorization", "Bearer secret");
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_read_all(r, 1000, &body, NULL), NH_OK);
  CHECK_STR(body, "GET  auth=Bearer secret");
  free(body);
  nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Expect: 100-continue: the body waits for 100 Continue, and is never sent
 * when the server answers first. */
static void expect_server(int fd, int i, void *arg) {
  capture *cap = arg;
  char buf[4096];
  long n = recv(fd, buf, sizeof buf - 1, 0); /* the head alone */
  if (n <= 0)
    return;
  buf[n] = 0;
  if (strstr(buf, "/refuse")) {
    script_send(fd, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    usleep(100 * 1000);
    struct pollfd pfd = {fd, POLLIN, 0};
    cap->len = poll(&pfd, 1, 0) > 0 ? recv(fd, cap->req, sizeof cap->req, MSG_DONTWAIT) : 0;
    return;
  }
  script_send(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  n = recv(fd, cap->req, sizeof cap->req - 1, 0);
  cap->len = n;
  /* One request per connection: the next one comes on a new connection
   * (a PUT met by a hang-up would not be sent again). */
  script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  script_wait_eof(fd);
}

NH_TEST(expect_continue) {
  capture cap = {0};
  scripted *s = scripted_start(expect_server, &cap);
  nh_client *c = nh_client_new(NULL);
  nh_client_request *req = nh_client_request_new("PUT", scripted_url(s, "/ok"));
  nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  nh_client_request_set_body_string(req, "the body");
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  nh_response_close(r);
  nh_client_request_free(req);
  CHECK_EQ(cap.len, 8);
  CHECK(!memcmp(cap.req, "the body", 8));
  cap.len = -1;
  req = nh_client_request_new("PUT", scripted_url(s, "/refuse"));
  nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  nh_client_request_set_body_string(req, "never sent");
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 413);
  nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
  scripted_stop(s);
  CHECK_EQ(cap.len, 0);
}

/* From fibers: many concurrent callers on two loops share a bounded pool;
 * max_conns_per_host makes callers wait instead of dialing. */
typedef struct fan {
  const char *url;
  nh_client *c;
  atomic_int ok;
} fan;

static void fan_worker(void *arg) {
  fan *f = arg;
  for (int i = 0; i < 20; i++) {
    int st;
    char *b = get_body(f->c, f->url, &st);
    if (st == 200 && b && !strcmp(b, "hello"))
      atomic_fetch_add(&f->ok, 1);
    free(b);
  }
}

NH_TEST(concurrent_fibers_share_a_bounded_pool) {
  nh_test_server *ts = nh_test_server_new(hello, NULL, 1);
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.max_conns_per_host = 4;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  fan f = {nh_test_server_url(ts), nh_client_new(&cc), 0};
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  for (int i = 0; i < 32; i++)
    nh_runtime_go(rt, -1, fan_worker, &f);
  nh_runtime_free(rt);
  CHECK_EQ(atomic_load(&f.ok), 32 * 20);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK(st.dials <= 4);
  nh_client_free(f.c);
  nh_transport_free(t);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Two transports (two TLS configurations) never share a connection: the
 * pool key holds the configuration, and a clone starts with its own pool. */
NH_TEST(pool_key_separates_tls_configurations) {
  nh_test_server *ts = nh_test_server_new(hello, NULL, 1);
  nh_transport_config a = NH_TRANSPORT_CONFIG_DEFAULT, b = a;
  char key_a[] = "trust:ca-A", key_b[] = "trust:ca-B";
  a.tls_config_key = key_a;
  b.tls_config_key = key_b;
  nh_transport *ta = nh_transport_new(&a), *tb = nh_transport_new(&b);
  key_a[7] = 'X'; /* the transport copied its configuration */
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = ta;
  nh_client *ca = nh_client_new(&cc);
  cc.transport = tb;
  nh_client *cb = nh_client_new(&cc);
  int st;
  free(get_body(ca, nh_test_server_url(ts), &st));
  free(get_body(cb, nh_test_server_url(ts), &st));
  free(get_body(ca, nh_test_server_url(ts), &st));
  nh_transport_stats sa, sb;
  nh_transport_stats_get(ta, &sa);
  nh_transport_stats_get(tb, &sb);
  CHECK_EQ(sa.dials, 1);
  CHECK_EQ(sa.reused, 1);
  CHECK_EQ(sb.dials, 1);
  nh_transport *tc = nh_transport_clone(ta);
  cc.transport = tc;
  nh_client *cclone = nh_client_new(&cc);
  free(get_body(cclone, nh_test_server_url(ts), &st));
  nh_transport_stats sc;
  nh_transport_stats_get(tc, &sc);
  CHECK_EQ(sc.dials, 1);
  nh_client_free(ca);
  nh_client_free(cb);
  nh_client_free(cclone);
  nh_transport_free(ta);
  nh_transport_free(tb);
  nh_transport_free(tc);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Through a proxy: requests go to it in absolute form with the proxy's
 * credentials; connections to it are pooled under the proxy's key. */
static void proxy_server(int fd, int i, void *arg) {
  capture *cap = arg;
  char buf[4096];
  long n;
  while ((n = script_read_request(fd, buf, sizeof buf)) > 0) {
    memcpy(cap->req, buf, (size_t)n + 1 < sizeof cap->req ? (size_t)n + 1 : sizeof cap->req);
    cap->len = n;
    script_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied");
  }
}

NH_TEST(plain_http_through_a_proxy) {
  capture cap = {0};
  scripted *proxy = scripted_start(proxy_server, &cap);
  char purl[128];
  snprintf(purl, sizeof purl, "http://user:pa%%20ss@127.0.0.1:%d", proxy->port);
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.proxy_url = purl;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  int st;
  char *body = get_body(c, "http://example.invalid:8080/a/b?q=1#frag", &st);
  CHECK_EQ(st, 200);
  CHECK_STR(body, "proxied");
  free(body);
  CHECK_CONTAINS(cap.req, "GET http://example.invalid:8080/a/b?q=1 HTTP/1.1\r\n");
  CHECK_CONTAINS(cap.req, "Host: example.invalid:8080\r\n");
  CHECK_CONTAINS(cap.req, "Proxy-Authorization: Basic dXNlcjpwYSBzcw==\r\n"); /* user:pa ss */
  body = get_body(c, "http://other.invalid/x", &st);
  CHECK_EQ(st, 200);
  free(body);
  CHECK_CONTAINS(cap.req, "GET http://other.invalid/x HTTP/1.1\r\n");
  nh_transport_stats ts;
  nh_transport_stats_get(t, &ts);
  CHECK_EQ(ts.dials, 2); /* pooled per target behind the proxy, as Go */
  nh_client_free(c);
  nh_transport_free(t);
  scripted_stop(proxy);
}

/* From the environment: loopback is never proxied, other hosts are. */
NH_TEST(proxy_from_environment) {
  capture cap = {0};
  scripted *proxy = scripted_start(proxy_server, &cap);
  nh_test_server *ts = nh_test_server_new(hello, NULL, 1);
  char purl[64];
  snprintf(purl, sizeof purl, "127.0.0.1:%d", proxy->port); /* no scheme: http:// */
  setenv("HTTP_PROXY", purl, 1);
  unsetenv("NO_PROXY");
  unsetenv("no_proxy");
  nh_transport_config cfg = {0}; /* proxy_url NULL: the environment, read now */
  nh_transport *t = nh_transport_new(&cfg);
  unsetenv("HTTP_PROXY");
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  int st;
  char *body = get_body(c, nh_test_server_url(ts), &st);
  CHECK_STR(body, "hello"); /* direct */
  free(body);
  body = get_body(c, "http://far.invalid/p", &st);
  CHECK_STR(body, "proxied");
  free(body);
  CHECK_CONTAINS(cap.req, "GET http://far.invalid/p HTTP/1.1\r\n");
  nh_client_free(c);
  nh_transport_free(t);
  scripted_stop(proxy);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
