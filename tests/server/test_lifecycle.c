/* Timeouts, connection states and hooks, graceful shutdown, hijack, and
 * the promise that idle connections hold no fiber. */
#include "harness.h"
#include "rawclient.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <stdatomic.h>

static void ok(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "ok"); }

static nh_dur since(nh_time t0) { return nh_now() - t0; }

/* The server closes c, not before lo ms after t0 (t0 is taken before
 * whatever starts the server's deadline) and within 10 s (a sanity bound,
 * many times any timeout here); then the socket is closed here too. */
static void check_closed_after(raw_conn *c, nh_time t0, int lo) {
  CHECK(raw_closed(c, 10000));
  CHECK(since(t0) >= lo * NH_MSEC);
  close(c->fd);
}

/* Read-header timeout: a client that sends half a head is answered 408 and
 * closed at the deadline; idle timeout closes a quiet keep-alive
 * connection. */
NH_TEST(read_header_and_idle_timeouts) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_header_timeout = 200 * NH_MSEC;
  cfg.idle_timeout = 300 * NH_MSEC;
  nh_test_server *ts = nh_test_server_new(ok, &cfg, 1);
  int port = nh_test_server_port(ts);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(port);
  nh_time t0 = nh_now();
  raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 408);
  raw_resp_free(&r);
  check_closed_after(c, t0, 200);
  /* A new connection that never sends a byte is closed at the same
   * read-header deadline (no 408: there was no request). */
  t0 = nh_now(); /* before the connect: the deadline starts at the accept */
  c->fd = raw_connect(port);
  c->len = 0;
  check_closed_after(c, t0, 200);
  /* Idle: one request, then silence. */
  c->fd = raw_connect(port);
  t0 = nh_now(); /* before the request: idleness starts after the answer */
  raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(raw_read(c, &r, 0), 0);
  raw_resp_free(&r);
  check_closed_after(c, t0, 300);
  free(c);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.timeouts_header, 2);
  CHECK_EQ(st.timeouts_idle, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The idle timeout counts from the last response, however many requests
 * came before: requests 100 ms apart keep a connection with a 1 s idle
 * timeout open past two timeouts' worth of time, and it closes 1 s after
 * the last answer. (The gaps are a tenth of the timeout so that a busy
 * machine's late wake-ups do not open a gap as long as the timeout.) */
NH_TEST(idle_timeout_counts_from_the_last_response) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.idle_timeout = NH_SEC;
  nh_test_server *ts = nh_test_server_new(ok, &cfg, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  nh_time first = nh_now();
  nh_time last = first;
  enum { REQUESTS = 25 };
  for (int i = 0; i < REQUESTS; i++) {
    if (i)
      usleep(100 * 1000);
    last = nh_now(); /* before the request: idleness starts after the answer */
    raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0); /* still open: answered */
    CHECK_EQ(r.status, 200);
    raw_resp_free(&r);
  }
  CHECK(nh_now() - first >= 2 * NH_SEC); /* well past the first timeout */
  check_closed_after(c, last, 1000);
  free(c);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.timeouts_idle, 1);
  CHECK_EQ(st.requests, REQUESTS);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Read timeout on a slow body; the handler gets NH_ETIMEDOUT. */
static atomic_int body_result;
static void slow_body(nh_response_writer *w, nh_request *r) {
  char buf[100];
  ssize_t n;
  while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
    ;
  atomic_store(&body_result, (int)n);
  nh_resp_write_header(w, 408);
}

NH_TEST(read_timeout_on_slow_body) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_timeout = 300 * NH_MSEC;
  nh_test_server *ts = nh_test_server_new(slow_body, &cfg, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_sends(c->fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nsome");
  nh_time t0 = nh_now();
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 408);
  raw_resp_free(&r);
  CHECK(since(t0) < 10 * NH_SEC); /* the read deadline, not the client, ended it */
  CHECK_EQ(atomic_load(&body_result), NH_ETIMEDOUT);
  CHECK(raw_closed(c, 10000));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Write timeout: a client that never reads a large response is cut off at
 * the write deadline. */
static atomic_int write_result;
static void firehose(nh_response_writer *w, nh_request *r) {
  static char block[65536];
  ssize_t n = 0;
  for (int i = 0; i < 2000 && n >= 0; i++)
    n = nh_resp_write(w, block, sizeof block);
  atomic_store(&write_result, (int)n);
}

NH_TEST(write_timeout_on_slow_reader) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.write_timeout = 300 * NH_MSEC;
  nh_test_server *ts = nh_test_server_new(firehose, &cfg, 1);
  int fd = raw_connect(nh_test_server_port(ts));
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  raw_sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  /* Read nothing: the handler's writes end at the write deadline. */
  CHECK_SOON(atomic_load(&write_result) != 0);
  CHECK_EQ(atomic_load(&write_result), NH_ETIMEDOUT);
  nh_server_stats st;
  CHECK_SOON((nh_server_stats_get(nh_test_server_server(ts), &st), st.timeouts_write == 1));
  close(fd);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Connection states: NEW -> ACTIVE -> IDLE -> ACTIVE -> CLOSED, with the
 * gauges following; a slow hook is reported. */
static _Atomic char seq[64]; /* written by the loop, read by the test */
static atomic_int seqlen;
static void hook(const nh_conn_info *c, nh_conn_state s, void *user) {
  const char *letters = "NAIHC";
  int i = atomic_fetch_add(&seqlen, 1);
  if (i < 63)
    seq[i] = letters[s];
  if (s == NH_CONN_IDLE && user)
    usleep(30 * 1000); /* a slow hook */
}

NH_TEST(conn_states_and_slow_hook) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.conn_state = hook;
  cfg.conn_state_user = (void *)1;
  cfg.logger = &cap->base;
  nh_test_server *ts = nh_test_server_new(ok, &cfg, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_resp r;
  for (int i = 0; i < 2; i++) {
    raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(raw_read(c, &r, 0), 0);
    raw_resp_free(&r);
    CHECK_SOON(atomic_load(&seqlen) >= 3 + 2 * i); /* back to IDLE ("NAI", "NAIAI") */
  }
  nh_server_stats st;
  CHECK_SOON((nh_server_stats_get(nh_test_server_server(ts), &st), st.conns_idle == 1));
  CHECK_EQ(st.conns_active, 0);
  close(c->fd);
  free(c);
  CHECK_SOON((nh_server_stats_get(nh_test_server_server(ts), &st), st.closed == 1));
  CHECK_EQ(st.conns_idle, 0);
  CHECK_EQ(st.accepted, 1);
  CHECK_EQ(st.closed, 1);
  CHECK_EQ(st.requests, 2);
  CHECK(st.slow_hooks >= 1);
  char got[64];
  int n = atomic_load(&seqlen);
  for (int i = 0; i < n && i < 63; i++)
    got[i] = seq[i];
  got[n < 63 ? n : 63] = 0;
  CHECK_STR(got, "NAIAIC"); /* an idle connection that ends goes straight to CLOSED */
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "slow connection-state hook");
  free(text);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  capture_log_free(cap);
}

/* Seed bug 9: a second WriteHeader is ignored on the wire and logged with
 * the caller's file:line. */
static int double_line;
static void double_write_header(nh_response_writer *w, nh_request *r) {
  nh_resp_write_header(w, 201);
  double_line = __LINE__ + 1;
  nh_resp_write_header(w, 500); /* the mistake */
  nh_resp_write_string(w, "created");
}

NH_TEST(superfluous_write_header_logged_with_caller) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.logger = &cap->base;
  nh_test_server *ts = nh_test_server_new(double_write_header, &cfg, 1);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 201);
  CHECK_STR(r.body, "created");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "superfluous nh_resp_write_header call ignored");
  char want[96];
  snprintf(want, sizeof want, "caller=test_lifecycle.c:%d first_caller=test_lifecycle.c:%d",
           double_line, double_line - 2);
  CHECK_CONTAINS(text, want);
  CHECK_CONTAINS(text, "status=500 sent=201");
  free(text);
  capture_log_free(cap);
}

/* Idle keep-alive connections hold no fiber: 200 of them, and only the
 * acceptor fiber is alive. */
NH_TEST(idle_connections_hold_no_fiber) {
  nh_test_server *ts = nh_test_server_new(ok, NULL, 1);
  int port = nh_test_server_port(ts);
  enum { N = 200 };
  static raw_conn conns[N];
  for (int i = 0; i < N; i++) {
    conns[i].fd = raw_connect(port);
    conns[i].len = 0;
    raw_sends(conns[i].fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  raw_resp r;
  for (int i = 0; i < N; i++) {
    CHECK_EQ(raw_read(&conns[i], &r, 0), 0);
    raw_resp_free(&r);
  }
  nh_server_stats st;
  CHECK_SOON((nh_server_stats_get(nh_test_server_server(ts), &st), st.conns_idle == N));
  nh_runtime_stats rs;
  CHECK_SOON((nh_runtime_stats_get(nh_test_server_runtime(ts), &rs), rs.fibers_live == 1));
  /* the acceptor only, while all N are still idle */
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.conns_idle, N);
  for (int i = 0; i < N; i++)
    close(conns[i].fd);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Graceful shutdown under load: in-flight requests complete, idle
 * connections close, new connections are refused, serve returns
 * NH_ESERVERCLOSED, nothing leaks. */
static atomic_int in_handler, finished;
static void slow(nh_response_writer *w, nh_request *r) {
  atomic_fetch_add(&in_handler, 1);
  nh_sleep(300 * NH_MSEC);
  nh_resp_write_string(w, "done");
  atomic_fetch_add(&finished, 1);
}

typedef struct serve_arg {
  nh_server *srv;
  int result;
} serve_arg;
static void *serve_thread(void *p) {
  serve_arg *a = p;
  a->result = nh_server_serve(a->srv);
  return NULL;
}

typedef struct inflight {
  int port;
  int status;
  char body[16];
} inflight;
static void *client_thread(void *p) {
  inflight *f = p;
  raw_resp r = raw_roundtrip(f->port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  f->status = r.status;
  snprintf(f->body, sizeof f->body, "%s", r.body ? r.body : "");
  raw_resp_free(&r);
  return NULL;
}

NH_TEST(graceful_shutdown_under_load) {
  nh_test_server *ts = nh_test_server_new(slow, NULL, 2);
  nh_server *srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  serve_arg sa = {srv, 0};
  pthread_t st;
  pthread_create(&st, NULL, serve_thread, &sa);
  enum { N = 20 };
  inflight f[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    f[i] = (inflight){port, 0, ""};
    pthread_create(&th[i], NULL, client_thread, &f[i]);
  }
  raw_conn *idle = calloc(1, sizeof *idle); /* an idle keep-alive one too */
  while (atomic_load(&in_handler) < N)
    usleep(1000);
  CHECK_EQ(nh_server_shutdown(srv, nh_deadline_after(5 * NH_SEC)), NH_OK);
  /* It returned once every in-flight handler had finished. */
  CHECK_EQ(atomic_load(&finished), N);
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ(f[i].status, 200);
    CHECK_STR(f[i].body, "done");
  }
  CHECK_EQ(atomic_load(&finished), N);
  pthread_join(st, NULL);
  CHECK_EQ(sa.result, NH_ESERVERCLOSED);
  CHECK_EQ(raw_connect(port), -1); /* refused */
  free(idle);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Shutdown with a deadline: a handler that will not finish has its context
 * cancelled at the deadline, and shutdown reports NH_ETIMEDOUT. */
static atomic_int stuck_result, stuck_entered;
static void stuck(nh_response_writer *w, nh_request *r) {
  atomic_store(&stuck_entered, 1);
  atomic_store(&stuck_result, nh_sleep(60 * NH_SEC));
}

NH_TEST(shutdown_deadline_cancels_handlers) {
  nh_test_server *ts = nh_test_server_new(stuck, NULL, 1);
  int fd = raw_connect(nh_test_server_port(ts));
  raw_sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_SOON(atomic_load(&stuck_entered));
  nh_time t0 = nh_now();
  CHECK_EQ(nh_server_shutdown(nh_test_server_server(ts), nh_deadline_after(200 * NH_MSEC)),
           NH_ETIMEDOUT);
  CHECK(since(t0) < 10 * NH_SEC); /* not the handler's 60 s */
  CHECK_SOON(atomic_load(&stuck_result) != 0);
  CHECK_EQ(atomic_load(&stuck_result), NH_ECANCELED);
  close(fd);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Hijack: the handler takes the socket and speaks its own protocol. */
static void hijacker(nh_response_writer *w, nh_request *r) {
  int fd;
  char *rest;
  size_t nrest;
  CHECK_EQ(nh_resp_hijack(w, &fd, &rest, &nrest), NH_OK);
  CHECK_EQ(nrest, 5);
  CHECK(!memcmp(rest, "extra", 5));
  free(rest);
  nh_fd *f;
  nh_fd_open(fd, &f);
  nh_fd_write(f, "raw hello\n", 10, nh_deadline_after(NH_SEC));
  nh_fd_close(f);
}

NH_TEST(hijack_hands_over_the_socket) {
  nh_test_server *ts = nh_test_server_new(hijacker, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_sends(c->fd, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\nextra");
  char buf[64] = "";
  size_t got = 0;
  ssize_t n;
  while ((n = recv(c->fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
    got += (size_t)n;
  buf[got] = 0;
  CHECK_STR(buf, "raw hello\n");
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.hijacked, 1);
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
