/* Hijacked connections at the server's edges: shutdown waits for a socket
 * its owner keeps and ends it at the deadline, close ends it at once, and a
 * panic in the handler or in the fiber it handed the socket to closes it. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* A handler that takes the socket and keeps it, like a WebSocket would. */
static atomic_int hijacked_fd = -1;
static void keep_socket(nh_response_writer *w, nh_request *r) {
  int fd;
  char *rest;
  size_t nrest;
  CHECK_EQ(nh_resp_hijack(w, &fd, &rest, &nrest), NH_OK);
  free(rest);
  atomic_store(&hijacked_fd, fd);
}

static int hijack_one(int port) {
  int fd = raw_connect(port);
  raw_sends(fd, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 2000 && atomic_load(&hijacked_fd) < 0; i++)
    usleep(1000);
  CHECK(atomic_load(&hijacked_fd) >= 0);
  return fd;
}

/* Milliseconds until the peer closes fd (EOF or reset), at most wait_ms. */
static long ms_until_closed(int fd, int wait_ms) {
  raw_conn c = {.fd = fd};
  nh_time t0 = nh_now();
  if (!raw_closed(&c, wait_ms))
    return -1;
  return (long)((nh_now() - t0) / NH_MSEC);
}

typedef struct shutdown_call {
  nh_server *srv;
  nh_dur timeout;
  int result;
  nh_time took;
} shutdown_call;

static void *shutdown_thread(void *p) {
  shutdown_call *sc = p;
  nh_time t0 = nh_now();
  sc->result = nh_server_shutdown(sc->srv, nh_deadline_after(sc->timeout));
  sc->took = nh_now() - t0;
  return NULL;
}

/* Shutdown waits for a hijacked socket its owner keeps, and shuts it down
 * at the deadline: the client sees the end then, and shutdown says it had
 * to force. */
NH_TEST(shutdown_ends_kept_hijacked_socket_at_deadline) {
  atomic_store(&hijacked_fd, -1);
  nh_test_server *ts = nh_test_server_new(keep_socket, NULL, 1);
  int client = hijack_one(nh_test_server_port(ts));
  shutdown_call sc = {nh_test_server_server(ts), 300 * NH_MSEC, 0, 0};
  nh_time t0 = nh_now(); /* before the shutdown's deadline starts */
  pthread_t th;
  pthread_create(&th, NULL, shutdown_thread, &sc);
  raw_conn c = {.fd = client};
  CHECK(raw_closed(&c, 10000));
  nh_dur at = nh_now() - t0;
  pthread_join(th, NULL);
  /* Not before the deadline (the server's clock may lag by a loop turn). */
  CHECK(at >= 250 * NH_MSEC && at < 10 * NH_SEC);
  CHECK_EQ(sc.result, NH_ETIMEDOUT);
  close(client);
  close(atomic_load(&hijacked_fd));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Told by a shutdown hook, the owner closes its socket: shutdown returns
 * as soon as it notices, with no error. */
static void owner_closes(void *arg) {
  (void)arg;
  int fd = atomic_exchange(&hijacked_fd, -1);
  if (fd >= 0)
    close(fd);
}

NH_TEST(shutdown_waits_for_owner_to_close_hijacked_socket) {
  atomic_store(&hijacked_fd, -1);
  nh_test_server *ts = nh_test_server_new(keep_socket, NULL, 1);
  int client = hijack_one(nh_test_server_port(ts));
  nh_server_on_shutdown(nh_test_server_server(ts), owner_closes, NULL);
  shutdown_call sc = {nh_test_server_server(ts), 5 * NH_SEC, 0, 0};
  shutdown_thread(&sc);
  CHECK_EQ(sc.result, NH_OK); /* not forced at the 5 s deadline */
  CHECK(sc.took < 4 * NH_SEC);
  CHECK(ms_until_closed(client, 10000) >= 0);
  close(client);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* nh_server_close shuts a hijacked socket down at once. */
NH_TEST(close_shuts_hijacked_socket_down) {
  atomic_store(&hijacked_fd, -1);
  nh_test_server *ts = nh_test_server_new(keep_socket, NULL, 1);
  int client = hijack_one(nh_test_server_port(ts));
  nh_server_close(nh_test_server_server(ts));
  /* Shutdown would wait for the owner, which keeps it: only the close
   * ends it. */
  long ms = ms_until_closed(client, 10000);
  CHECK(ms >= 0);
  close(client);
  close(atomic_load(&hijacked_fd));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A handler panics after taking the socket, like the WebSocket handler of
 * Go's seed that forgot to close its connection: the panic ends that fiber
 * only, the socket nobody holds any more is closed (the client sees the
 * end), the hijacked gauge drops, and shutdown has nothing to wait for. */
static void hijack_then_panic(nh_response_writer *w, nh_request *r) {
  int fd;
  CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_OK);
  static const char hi[] = "hello";
  CHECK_EQ(send(fd, hi, 5, MSG_NOSIGNAL), 5);
  nh_panic("oops after hijack");
}

/* Waits (bounded) until the server's hijacked gauge is back to want. */
static int64_t hijacked_gauge_settles(nh_server *srv, int64_t want) {
  nh_server_stats st;
  for (int i = 0; i < 2000; i++) {
    nh_server_stats_get(srv, &st);
    if (st.conns_hijacked == want)
      break;
    usleep(1000);
  }
  return st.conns_hijacked;
}

/* Reads exactly n bytes from a blocking test socket (at most 5 s). */
static void read_exactly(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    CHECK(poll(&p, 1, 5000) == 1);
    ssize_t k = recv(fd, buf + got, n - got, 0);
    CHECK(k > 0);
    got += (size_t)k;
  }
}

static void check_shutdown_is_clean(nh_test_server *ts) {
  nh_server *srv = nh_test_server_server(ts);
  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  CHECK_EQ(st.hijacked, 1);
  /* Nothing is left for shutdown to wait for: a kept socket would hold it
   * until the deadline and make it return NH_ETIMEDOUT. */
  shutdown_call sc = {srv, 10 * NH_SEC, 0, 0};
  shutdown_thread(&sc);
  CHECK_EQ(sc.result, NH_OK);
  /* The leak check finds no descriptor left behind. */
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(panic_after_hijack_closes_the_socket) {
  nh_test_server *ts = nh_test_server_new(hijack_then_panic, NULL, 1);
  int client = raw_connect(nh_test_server_port(ts));
  raw_sends(client, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  char got[6] = "";
  read_exactly(client, got, 5);
  CHECK_STR(got, "hello");
  CHECK(ms_until_closed(client, 5000) >= 0);
  close(client);
  nh_server *srv = nh_test_server_server(ts);
  CHECK_EQ(hijacked_gauge_settles(srv, 0), 0);
  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  CHECK_EQ(st.handler_panics, 1);
  check_shutdown_is_clean(ts);
}

/* The handler hands the socket to a fiber it starts (a WebSocket reader);
 * that fiber owns it now, and panics: the socket is closed all the same. */
static void echo_once_then_panic(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[16];
  ssize_t n = -1;
  for (int i = 0; i < 5000 && n <= 0; i++) {
    n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0)
      nh_sleep(NH_MSEC);
  }
  CHECK(n > 0);
  CHECK_EQ(send(fd, buf, (size_t)n, MSG_NOSIGNAL), n);
  nh_panic("oops in the reader");
}

static void hijack_to_reader(nh_response_writer *w, nh_request *r) {
  int fd;
  CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_OK);
  CHECK_EQ(nh_go(echo_once_then_panic, (void *)(intptr_t)fd), NH_OK);
}

NH_TEST(panic_in_fiber_that_owns_hijacked_socket_closes_it) {
  nh_test_server *ts = nh_test_server_new(hijack_to_reader, NULL, 1);
  int client = raw_connect(nh_test_server_port(ts));
  raw_sends(client, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  nh_server *srv = nh_test_server_server(ts);
  /* The handler has returned: the socket is the reader's alone. */
  nh_server_stats st;
  for (int i = 0; i < 2000; i++) {
    nh_server_stats_get(srv, &st);
    if (st.hijacked == 1)
      break;
    usleep(1000);
  }
  CHECK_EQ(st.hijacked, 1);
  raw_sends(client, "ping");
  char got[5] = "";
  read_exactly(client, got, 4);
  CHECK_STR(got, "ping");
  CHECK(ms_until_closed(client, 5000) >= 0);
  close(client);
  CHECK_EQ(hijacked_gauge_settles(srv, 0), 0);
  nh_runtime_stats rs;
  nh_runtime_stats_get(nh_test_server_runtime(ts), &rs);
  CHECK_EQ(rs.panics, 1);
  check_shutdown_is_clean(ts);
}

NH_TEST_MAIN()
