/* The server knows its WebSockets: a graceful shutdown sends each one a
 * close frame 1001 "going away" (while its handler is parked reading),
 * waits for the close handshakes until its deadline, and cuts the ones
 * that never answer then. Open WebSockets are a gauge (stats, /metrics)
 * and their fibers are named in the fiber dump. */
#include "harness.h"
#include "websocket/hand_raw.h"

#include <nethttp.h>
#include <nethttp/debug.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int g_reading;  /* handlers parked in nh_ws_read */
static atomic_int g_closed;   /* reads that ended with the peer's close */
static atomic_int g_failed;   /* reads that ended otherwise */
static atomic_int g_returned; /* handlers that returned */

static void reset(void) {
  atomic_store(&g_reading, 0);
  atomic_store(&g_closed, 0);
  atomic_store(&g_failed, 0);
  atomic_store(&g_returned, 0);
}

/* Reads until the connection ends, never writing on its own. */
static void reader(nh_response_writer *w, nh_request *r) {
  nh_ws *ws;
  if (nh_ws_accept(w, r, NULL, &ws) == NH_OK) {
    nh_ws_type t;
    const char *d;
    size_t n;
    int e;
    atomic_fetch_add(&g_reading, 1);
    while ((e = nh_ws_read(ws, &t, &d, &n, NH_NO_DEADLINE)) == NH_OK)
      ;
    atomic_fetch_add(e == NH_ECLOSED ? &g_closed : &g_failed, 1);
    nh_ws_free(ws);
  }
  atomic_fetch_add(&g_returned, 1);
}

static int64_t ws_open(nh_server *srv) {
  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  return st.websockets_open;
}

typedef struct shutdown_call {
  nh_server *srv;
  nh_dur timeout;
  int result;
} shutdown_call;

static void *shutdown_thread(void *p) {
  shutdown_call *sc = p;
  sc->result = nh_server_shutdown(sc->srv, nh_deadline_after(sc->timeout));
  return NULL;
}

static raw_conn *open_ws(int port) {
  raw_conn *c = raw_dial(port);
  hr_upgrade(c->fd, "/live", NULL);
  char head[4096];
  CHECK_EQ(hr_read_head(c, head, sizeof head), 101);
  return c;
}

/* The close frame a client gets: 1001 "going away", unmasked. */
static void expect_going_away(raw_conn *c) {
  char buf[256];
  size_t n;
  int masked = 1;
  CHECK_EQ(hr_read_frame(c, buf, sizeof buf, &n, &masked), 0x88);
  CHECK_EQ(masked, 0);
  CHECK_EQ(n, 12);
  CHECK_EQ((uint8_t)buf[0] << 8 | (uint8_t)buf[1], 1001);
  CHECK(!memcmp(buf + 2, "going away", 10));
}

/* Three open WebSockets: each client gets 1001 on the wire; two answer
 * the close and their handlers' reads end with NH_ECLOSED; the third
 * never answers and is cut at the shutdown's deadline (shutdown says it
 * had to force). The gauge counts 3, then 0. */
NH_TEST(shutdown_sends_going_away_and_cuts_the_silent_one) {
  reset();
  nh_test_server *ts = nh_test_server_new(reader, NULL, 1);
  nh_server *srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  raw_conn *c[3];
  for (int i = 0; i < 3; i++)
    c[i] = open_ws(port);
  CHECK_SOON(atomic_load(&g_reading) == 3);
  CHECK_EQ(ws_open(srv), 3);

  /* The fiber dump names them. */
  nh_fiber_info *fi;
  size_t nf;
  CHECK_EQ(nh_fiber_dump(nh_test_server_runtime(ts), &fi, &nf), NH_OK);
  int named = 0;
  for (size_t i = 0; i < nf; i++)
    named += !strcmp(fi[i].label, "websocket /live");
  free(fi);
  CHECK_EQ(named, 3);

  shutdown_call sc = {srv, 6 * NH_SEC, 0};
  nh_time t0 = nh_now();
  pthread_t th;
  pthread_create(&th, NULL, shutdown_thread, &sc);
  for (int i = 0; i < 3; i++)
    expect_going_away(c[i]);
  /* Two answer as RFC 6455 §5.5.1 asks: a close frame back (masked). */
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(hr_send_frame(c[i]->fd, 8, "\x03\xe9", 2, 1), 0);
    CHECK(raw_closed(c[i], 10000)); /* the server closes the TCP connection first */
  }
  CHECK_SOON(atomic_load(&g_closed) == 2);
  CHECK_SOON(ws_open(srv) == 1);
  CHECK_EQ(atomic_load(&g_returned), 2);
  /* The third says nothing: cut at the deadline. */
  CHECK(raw_closed(c[2], 10000));
  nh_dur at = nh_now() - t0;
  pthread_join(th, NULL);
  CHECK(at >= 5500 * NH_MSEC);
  CHECK_EQ(sc.result, NH_ETIMEDOUT);
  CHECK_SOON(atomic_load(&g_returned) == 3);
  CHECK_EQ(atomic_load(&g_failed), 1);
  CHECK_EQ(ws_open(srv), 0);
  for (int i = 0; i < 3; i++) {
    close(c[i]->fd);
    free(c[i]);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* When every client answers, shutdown returns as soon as the last
 * WebSocket is gone, well before its deadline, with no error. */
NH_TEST(shutdown_returns_when_all_answered) {
  reset();
  nh_test_server *ts = nh_test_server_new(reader, NULL, 2);
  nh_server *srv = nh_test_server_server(ts);
  raw_conn *c[3];
  for (int i = 0; i < 3; i++)
    c[i] = open_ws(nh_test_server_port(ts));
  CHECK_SOON(atomic_load(&g_reading) == 3);
  shutdown_call sc = {srv, 30 * NH_SEC, 0};
  nh_time t0 = nh_now();
  pthread_t th;
  pthread_create(&th, NULL, shutdown_thread, &sc);
  for (int i = 0; i < 3; i++) {
    expect_going_away(c[i]);
    CHECK_EQ(hr_send_frame(c[i]->fd, 8, "\x03\xe9", 2, 1), 0);
  }
  pthread_join(th, NULL);
  CHECK_EQ(sc.result, NH_OK);
  CHECK(nh_now() - t0 < 20 * NH_SEC);
  CHECK_EQ(atomic_load(&g_closed), 3);
  CHECK_EQ(ws_open(srv), 0);
  for (int i = 0; i < 3; i++) {
    close(c[i]->fd);
    free(c[i]);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A WebSocket the handler closes itself leaves the gauge; /metrics shows
 * the gauge. */
static void close_at_once(nh_response_writer *w, nh_request *r) {
  nh_ws *ws;
  if (nh_ws_accept(w, r, NULL, &ws) != NH_OK)
    return;
  nh_ws_type t;
  const char *d;
  size_t n;
  nh_ws_read(ws, &t, &d, &n, nh_deadline_after(10 * NH_SEC)); /* one message, then bye */
  nh_ws_close(ws, NH_WS_CLOSE_NORMAL, "done");
  nh_ws_free(ws);
  atomic_fetch_add(&g_returned, 1);
}

static nh_handler g_debug;

static void metrics_or_ws(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/metrics")) {
    nh_handler_serve(g_debug, w, r);
    return;
  }
  close_at_once(w, r);
}

NH_TEST(gauge_follows_open_websockets) {
  reset();
  nh_test_server *ts = nh_test_server_new(metrics_or_ws, NULL, 1);
  nh_server *srv = nh_test_server_server(ts);
  nh_debug_config dc = {.servers = &srv, .nservers = 1};
  g_debug = nh_debug_handler(&dc);
  raw_conn *c = open_ws(nh_test_server_port(ts));
  CHECK_SOON(ws_open(srv) == 1);
  raw_resp m = raw_roundtrip(nh_test_server_port(ts), "GET /metrics HTTP/1.1\r\nHost: h\r\n"
                                                       "Connection: close\r\n\r\n");
  CHECK_CONTAINS(m.body, "\nnethttp_server_websockets_open 1\n");
  raw_resp_free(&m);
  CHECK_EQ(hr_send_frame(c->fd, 1, "x", 1, 1), 0);
  char buf[64];
  size_t n;
  CHECK_EQ(hr_read_frame(c, buf, sizeof buf, &n, NULL), 0x88);
  CHECK_EQ(hr_send_frame(c->fd, 8, "\x03\xe8", 2, 1), 0);
  CHECK_SOON(atomic_load(&g_returned) == 1);
  CHECK_EQ(ws_open(srv), 0);
  m = raw_roundtrip(nh_test_server_port(ts), "GET /metrics HTTP/1.1\r\nHost: h\r\n"
                                             "Connection: close\r\n\r\n");
  CHECK_CONTAINS(m.body, "\nnethttp_server_websockets_open 0\n");
  raw_resp_free(&m);
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_debug_handler_free(g_debug);
}

/* nh_server_close (not graceful) sends nothing and ends them at once. */
NH_TEST(close_ends_websockets_at_once) {
  reset();
  nh_test_server *ts = nh_test_server_new(reader, NULL, 1);
  nh_server *srv = nh_test_server_server(ts);
  raw_conn *c = open_ws(nh_test_server_port(ts));
  CHECK_SOON(atomic_load(&g_reading) == 1);
  nh_server_close(srv);
  char buf[64];
  size_t n;
  CHECK_EQ(hr_read_frame(c, buf, sizeof buf, &n, NULL), -1); /* the end, no close frame */
  CHECK_SOON(atomic_load(&g_returned) == 1);
  CHECK_EQ(ws_open(srv), 0);
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A WebSocket accepted while a shutdown is under way (its request came
 * before the listeners closed) is told too. */
static atomic_int g_shutdown_began, g_late_started;

static void on_shutdown(void *arg) {
  (void)arg;
  atomic_store(&g_shutdown_began, 1);
}

static void late_reader(nh_response_writer *w, nh_request *r) {
  atomic_store(&g_late_started, 1);
  while (!atomic_load(&g_shutdown_began))
    nh_sleep(NH_MSEC);
  nh_sleep(100 * NH_MSEC); /* most likely after the server told the others */
  reader(w, r);
}

NH_TEST(websocket_accepted_during_shutdown_is_told) {
  reset();
  atomic_store(&g_shutdown_began, 0);
  atomic_store(&g_late_started, 0);
  nh_test_server *ts = nh_test_server_new(late_reader, NULL, 1);
  nh_server *srv = nh_test_server_server(ts);
  nh_server_on_shutdown(srv, on_shutdown, NULL);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  hr_upgrade(c->fd, "/late", NULL);
  /* The request is being served before the shutdown begins: a connection
   * not yet accepted by then would never be. */
  while (!atomic_load(&g_late_started))
    nh_sleep(NH_MSEC);
  shutdown_call sc = {srv, 20 * NH_SEC, 0};
  pthread_t th;
  pthread_create(&th, NULL, shutdown_thread, &sc);
  char head[4096];
  CHECK_EQ(hr_read_head(c, head, sizeof head), 101);
  expect_going_away(c);
  CHECK_EQ(hr_send_frame(c->fd, 8, "\x03\xe9", 2, 1), 0);
  pthread_join(th, NULL);
  CHECK_EQ(sc.result, NH_OK);
  CHECK_EQ(atomic_load(&g_closed), 1);
  CHECK_EQ(ws_open(srv), 0);
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
