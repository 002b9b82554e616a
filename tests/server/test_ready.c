/* Readiness, liveness and the drain delay over real sockets: readiness is
 * 200 while the server serves and 503 from the start of shutdown, liveness
 * stays 200; during the drain delay the server still accepts and serves
 * (new connections, keep-alive ones, requests in flight); the delay ends
 * at nh_server_close, at the shutdown's deadline, or at once for a
 * shutdown that skips it. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* src/server/internal.h: the shutdown a restart by handover uses. */
int nh__server_shutdown(nh_server *srv, nh_time deadline, int skip_delay);

static nh_server *g_srv;
static atomic_int slow_started;
static nh_chan *slow_release;

static void router(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strcmp(p, "/ready")) {
    nh_handler_serve(nh_server_ready_handler(g_srv), w, r);
  } else if (!strcmp(p, "/live")) {
    nh_handler_serve(nh_server_live_handler(g_srv), w, r);
  } else if (!strcmp(p, "/slow")) {
    atomic_store(&slow_started, 1);
    void *v;
    nh_chan_recv(slow_release, &v, nh_deadline_after(60 * NH_SEC));
    nh_resp_write_string(w, "slow");
  } else {
    nh_resp_write_string(w, "hello");
  }
}

static void pause_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* A request on a new connection: its response (closed after). */
static raw_resp fetch(int port, const char *method, const char *path) {
  char req[256];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, path);
  raw_resp r = raw_roundtrip(port, req);
  if (!r.status)
    NH_FAIL("%s %s: no response", method, path);
  return r;
}

static void expect(int port, const char *method, const char *path, int status, const char *body) {
  raw_resp r = fetch(port, method, path);
  if (r.status != status || strcmp(r.body ? r.body : "", body))
    NH_FAIL("%s %s: %d \"%s\", want %d \"%s\"", method, path, r.status, r.body, status, body);
  const char *cc = raw_header(&r, "Cache-Control");
  if (strncmp(path, "/ready", 6) == 0 || strncmp(path, "/live", 5) == 0) {
    if (!cc || strcmp(cc, "no-store"))
      NH_FAIL("%s %s: Cache-Control %s", method, path, cc ? cc : "(none)");
    if (status == 503 && (!raw_header(&r, "Connection") ||
                          strcasecmp(raw_header(&r, "Connection"), "close")))
      NH_FAIL("%s %s: 503 without Connection: close", method, path);
  }
  raw_resp_free(&r);
}

static void served_on(raw_conn *c, const char *path, const char *body) {
  char req[128];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
  raw_resp r;
  if (raw_sends(c->fd, req) != 0 || raw_read(c, &r, 0) != 0)
    NH_FAIL("GET %s: no answer on a kept connection", path);
  if (r.status != 200 || strcmp(r.body, body))
    NH_FAIL("GET %s: %d %s", path, r.status, r.body);
  raw_resp_free(&r);
}

typedef struct shutdown_call {
  nh_server *srv;
  nh_time deadline;
  int result;
  atomic_int done;
} shutdown_call;

static void *shutdown_thread(void *arg) {
  shutdown_call *c = arg;
  c->result = nh_server_shutdown(c->srv, c->deadline);
  atomic_store(&c->done, 1);
  return NULL;
}

/* Waits (10 s at most) for flag. */
static int soon(atomic_int *flag) {
  for (int i = 0; i < 10000 && !atomic_load(flag); i++)
    pause_ms(1);
  return atomic_load(flag);
}

static char *slurp(FILE *f) {
  fflush(f);
  long n = ftell(f);
  char *s = calloc(1, (size_t)n + 1);
  rewind(f);
  if (fread(s, 1, (size_t)n, f) != (size_t)n)
    s[0] = 0;
  return s;
}

static int connect_refused(int port) {
  int fd = raw_connect(port);
  if (fd >= 0)
    close(fd);
  return fd < 0;
}

NH_TEST(ready_turns_503_at_shutdown_while_live_and_requests_are_served_during_the_delay) {
  FILE *logf = tmpfile();
  nh_logger *log = nh_logger_text_new(logf, NH_LOG_INFO);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.drain_delay = 60 * NH_SEC; /* ended by nh_server_close below */
  cfg.logger = log;
  slow_release = nh_chan_new(0);
  atomic_store(&slow_started, 0);
  nh_test_server *ts = nh_test_server_new(router, &cfg, 2);
  CHECK(ts != NULL);
  nh_server *srv = g_srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);

  CHECK_EQ(nh_server_draining(srv), 0);
  expect(port, "GET", "/ready", 200, "ready\n");
  expect(port, "HEAD", "/ready", 200, "");
  expect(port, "GET", "/live", 200, "alive\n");
  raw_conn *kept = raw_dial(port);
  served_on(kept, "/", "hello");
  raw_conn *slow = raw_dial(port);
  CHECK_EQ(raw_sends(slow->fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK(soon(&slow_started));

  shutdown_call call = {srv, nh_deadline_after(120 * NH_SEC), -1, 0};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, shutdown_thread, &call), 0);
  for (int i = 0; i < 10000 && !nh_server_draining(srv); i++)
    pause_ms(1);
  CHECK_EQ(nh_server_draining(srv), 1);

  /* Draining: readiness says so, everything else is served as before. */
  expect(port, "GET", "/ready", 503, "draining\n");
  expect(port, "HEAD", "/ready", 503, "");
  expect(port, "GET", "/live", 200, "alive\n");
  expect(port, "GET", "/", 200, "hello");
  served_on(kept, "/", "hello");
  served_on(kept, "/live", "alive\n");
  nh_chan_close(slow_release);
  raw_resp r;
  CHECK_EQ(raw_read(slow, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "slow");
  raw_resp_free(&r);
  CHECK_EQ(atomic_load(&call.done), 0); /* still in its delay */

  /* Close ends the delay at once. */
  nh_server_close(srv);
  CHECK(soon(&call.done));
  pthread_join(th, NULL);
  CHECK(connect_refused(port));
  raw_hang_up(kept);
  raw_hang_up(slow);
  CHECK_EQ(call.result, 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
  nh_chan_free(slow_release);
  char *text = slurp(logf);
  CHECK_CONTAINS(text, "draining");
  CHECK_CONTAINS(text, "delay=");
  free(text);
  nh_logger_free(log);
  fclose(logf);
}

NH_TEST(drain_delay_ends_at_the_shutdown_deadline) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.drain_delay = 120 * NH_SEC;
  nh_test_server *ts = nh_test_server_new(router, &cfg, 1);
  CHECK(ts != NULL);
  nh_server *srv = g_srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  expect(port, "GET", "/ready", 200, "ready\n");
  nh_time t0 = nh_now();
  /* The deadline bounds the whole shutdown, the delay included. */
  CHECK_EQ(nh_server_shutdown(srv, nh_deadline_after(300 * NH_MSEC)), 0);
  CHECK(nh_now() - t0 < 60 * NH_SEC);
  CHECK(nh_now() - t0 >= 300 * NH_MSEC); /* it did drain until then */
  CHECK(connect_refused(port));
  CHECK_EQ(nh_server_draining(srv), 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

NH_TEST(shutdown_that_skips_the_delay_ends_a_delay_in_progress) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.drain_delay = 120 * NH_SEC;
  nh_test_server *ts = nh_test_server_new(router, &cfg, 1);
  CHECK(ts != NULL);
  nh_server *srv = g_srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  shutdown_call call = {srv, nh_deadline_after(240 * NH_SEC), -1, 0};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, shutdown_thread, &call), 0);
  for (int i = 0; i < 10000 && !nh_server_draining(srv); i++)
    pause_ms(1);
  expect(port, "GET", "/ready", 503, "draining\n");
  CHECK_EQ(nh__server_shutdown(srv, nh_deadline_after(60 * NH_SEC), 1), 0);
  CHECK(connect_refused(port));
  CHECK(soon(&call.done));
  pthread_join(th, NULL);
  CHECK_EQ(call.result, 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

NH_TEST(without_a_delay_shutdown_stops_accepting_at_once) {
  nh_test_server *ts = nh_test_server_new(router, NULL, 1);
  CHECK(ts != NULL);
  nh_server *srv = g_srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  expect(port, "GET", "/ready", 200, "ready\n");
  CHECK_EQ(nh_server_shutdown(srv, nh_deadline_after(60 * NH_SEC)), 0);
  CHECK_EQ(nh_server_draining(srv), 1);
  CHECK(connect_refused(port));
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

NH_TEST_MAIN()
