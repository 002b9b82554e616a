/* max_conns is one limit for the whole server, whichever loops hold the
 * connections, and a client arriving at the limit is served: the server's
 * oldest idle keep-alive connection is closed (gracefully) to make room,
 * even when it lives on another loop than the one that accepted. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>
#include <time.h>

#define LOOPS 4
#define LIMIT 8
#define EXTRA 4
#define RUNS 20
#define OLD (LIMIT + EXTRA)

static atomic_int open_now, open_max;
/* Which loop took each connection, by the client's port. */
static atomic_int loop_by_port[65536];

static void on_state(const nh_conn_info *c, nh_conn_state s, void *user) {
  (void)user;
  if (s == NH_CONN_NEW) {
    int n = atomic_fetch_add(&open_now, 1) + 1;
    for (int m = atomic_load(&open_max); n > m && !atomic_compare_exchange_weak(&open_max, &m, n);)
      ;
    const char *colon = strrchr(c->remote_addr, ':');
    if (colon)
      atomic_store(&loop_by_port[atoi(colon + 1) & 0xffff], c->loop + 1);
  } else if (s == NH_CONN_CLOSED || s == NH_CONN_HIJACKED) {
    atomic_fetch_sub(&open_now, 1);
  }
}

static void hello(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "hello");
}

static void pause_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits (10 s at most) until the server holds `idle` idle connections. */
static int wait_idle(nh_server *srv, int64_t idle) {
  nh_server_stats st;
  for (int i = 0; i < 10000; i++) {
    nh_server_stats_get(srv, &st);
    if (st.conns_idle == idle)
      return 1;
    pause_ms(1);
  }
  return 0;
}

static int wait_none_open(nh_server *srv) {
  nh_server_stats st;
  for (int i = 0; i < 10000; i++) {
    nh_server_stats_get(srv, &st);
    if (st.conns_new + st.conns_active + st.conns_idle == 0)
      return 1;
    pause_ms(1);
  }
  return 0;
}

/* 1 if the server closed c with a FIN (not a reset) within wait_ms. */
static int closed_gracefully(raw_conn *c, int wait_ms) {
  struct pollfd p = {c->fd, POLLIN, 0};
  if (poll(&p, 1, wait_ms) <= 0)
    return 0;
  char b;
  return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int client_port(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  return ntohs(sa.sin_port);
}

/* A new connection with one request answered; the connection stays open. */
static raw_conn *open_answered(int port, const char *what, int run) {
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(port);
  if (c->fd < 0)
    NH_FAIL("run %d: %s: connect failed", run, what);
  raw_resp r;
  if (raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") != 0 || raw_read(c, &r, 0) != 0)
    NH_FAIL("run %d: %s: no answer (closed or reset)", run, what);
  if (r.status != 200 || strcmp(r.body, "hello"))
    NH_FAIL("run %d: %s: status %d", run, what, r.status);
  raw_resp_free(&r);
  return c;
}

NH_TEST(new_client_at_the_limit_evicts_oldest_idle_on_any_loop) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_conns = LIMIT;
  cfg.conn_state = on_state;
  nh_test_server *ts = nh_test_server_new(hello, &cfg, LOOPS);
  CHECK(ts != NULL);
  nh_server *srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  int loops_used = 0, cross_loop = 0;
  nh_server_stats st;
  for (int run = 0; run < RUNS; run++) {
    nh_server_stats_get(srv, &st);
    int64_t shed0 = st.shed_idle;
    raw_conn *old[OLD];
    /* Each one goes idle before the next arrives, so "oldest" is plain. */
    for (int i = 0; i < OLD; i++) {
      old[i] = open_answered(port, "an old client", run);
      if (!wait_idle(srv, i + 1 < LIMIT ? i + 1 : LIMIT))
        NH_FAIL("run %d: connection %d never went idle", run, i);
    }
    /* Past the limit, each newcomer closed the oldest, the first EXTRA,
     * with a FIN: they had no request in flight. */
    for (int i = 0; i < OLD; i++) {
      int closed = i < EXTRA ? closed_gracefully(old[i], 5000) : raw_closed(old[i], 0);
      if (closed != (i < EXTRA))
        NH_FAIL("run %d: old connection %d %s", run, i, closed ? "closed" : "still open");
    }
    /* One more: answered every time, and it costs the oldest left. */
    raw_conn *fresh = open_answered(port, "the new client", run);
    if (!closed_gracefully(old[EXTRA], 5000))
      NH_FAIL("run %d: the oldest idle connection was not the one closed", run);
    for (int i = EXTRA + 1; i < OLD; i++)
      if (raw_closed(old[i], 0))
        NH_FAIL("run %d: old connection %d closed too", run, i);
    nh_server_stats_get(srv, &st);
    CHECK_EQ(st.shed_idle - shed0, EXTRA + 1);
    CHECK_EQ(st.conns_new + st.conns_active + st.conns_idle, LIMIT);
    int fresh_loop = atomic_load(&loop_by_port[client_port(fresh->fd)]);
    int evicted_loop = atomic_load(&loop_by_port[client_port(old[EXTRA]->fd)]);
    CHECK(fresh_loop > 0 && evicted_loop > 0);
    cross_loop += fresh_loop != evicted_loop;
    for (int i = 0; i < OLD; i++) {
      loops_used |= 1 << (atomic_load(&loop_by_port[client_port(old[i]->fd)]) - 1);
      close(old[i]->fd);
      free(old[i]);
    }
    close(fresh->fd);
    free(fresh);
    if (!wait_none_open(srv))
      NH_FAIL("run %d: connections left open at the server", run);
  }
  fprintf(stderr, "loops used: %#x; evictions across loops: %d of %d\n", loops_used, cross_loop,
          RUNS);
  CHECK(atomic_load(&open_max) <= LIMIT); /* never more open, at any moment */
  CHECK(loops_used != 0 && (loops_used & (loops_used - 1)) != 0); /* more than one loop */
  CHECK(cross_loop > 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
