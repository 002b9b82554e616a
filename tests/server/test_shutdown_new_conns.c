/* A graceful shutdown (as after a handover, when another process goes on
 * accepting from the same socket) serves a connection it accepted just
 * before, whose request had not arrived yet, instead of closing it; one
 * that stays silent is closed after a moment. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <pthread.h>

static void hello(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "hi"); }

typedef struct job {
  nh_server *srv;
  int result;
} job;

static void *shut(void *arg) {
  job *j = arg;
  j->result = nh_server_shutdown(j->srv, nh_deadline_after(20 * NH_SEC));
  return NULL;
}

static nh_server *start(nh_runtime *rt) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = hello;
  cfg.read_header_timeout = 30 * NH_SEC; /* longer than any wait here */
  nh_server *srv = nh_server_new(rt, &cfg);
  CHECK(srv);
  CHECK_EQ(nh_server_listen(srv, "127.0.0.1:0"), NH_OK);
  CHECK_EQ(nh_server_start(srv), NH_OK);
  return srv;
}

static void wait_accepted(nh_server *srv, int64_t n) {
  nh_server_stats st;
  for (int i = 0; i < 4000; i++) {
    nh_server_stats_get(srv, &st);
    if (st.accepted >= n)
      return;
    usleep(5000);
  }
  CHECK_EQ(st.accepted, n);
}

/* Once the listener refuses, shutdown has stopped accepting and made its
 * first pass over the idle connections. */
static void wait_refused(int port) {
  for (int i = 0; i < 4000; i++) {
    int fd = raw_connect(port);
    if (fd < 0)
      return;
    close(fd);
    usleep(5000);
  }
  CHECK(!"the listener still accepts");
}

NH_TEST(shutdown_serves_a_request_that_was_on_its_way) {
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server *srv = start(rt);
  int port = nh_server_port(srv);
  raw_conn *c = raw_dial(port);
  CHECK(c->fd >= 0);
  wait_accepted(srv, 1);
  job j = {srv, 1};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, shut, &j), 0);
  wait_refused(port);
  CHECK_EQ(raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hi");
  CHECK_CONTAINS(r.head, "Connection: close"); /* shutting down: not kept */
  raw_resp_free(&r);
  CHECK(raw_closed(c, 5000));
  raw_hang_up(c);
  pthread_join(th, NULL);
  CHECK_EQ(j.result, NH_OK);
  nh_server_free(srv);
  nh_runtime_free(rt);
}

NH_TEST(shutdown_closes_a_silent_new_connection_after_a_moment) {
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server *srv = start(rt);
  raw_conn *c = raw_dial(nh_server_port(srv));
  CHECK(c->fd >= 0);
  wait_accepted(srv, 1);
  nh_time t0 = nh_now();
  CHECK_EQ(nh_server_shutdown(srv, nh_deadline_after(20 * NH_SEC)), NH_OK);
  CHECK(nh_now() - t0 < 15 * NH_SEC); /* neither the deadline nor the read-header timeout */
  CHECK(raw_closed(c, 5000));
  raw_hang_up(c);
  nh_server_free(srv);
  nh_runtime_free(rt);
}

NH_TEST_MAIN()
