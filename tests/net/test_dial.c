/* The dialer over loopback: success with the socket options set, refused,
 * a deadline against a full accept queue, Happy Eyeballs between ::1 and
 * 127.0.0.1, cancellation, no such host; from a fiber and a plain thread. */
#include "nettest.h"
#include "runtime/support.h"

#include <netinet/tcp.h>

static int peer_family(nh_fd *f) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  CHECK_EQ(getpeername(nh_fd_get(f), (struct sockaddr *)&ss, &l), 0);
  return ss.ss_family;
}

static int sockopt(nh_fd *f, int level, int name) {
  int v = -1;
  socklen_t l = sizeof v;
  CHECK_EQ(getsockopt(nh_fd_get(f), level, name, &v, &l), 0);
  return v;
}

/* A port with nothing listening on either loopback family. */
static int closed_port(void) {
  for (int i = 0; i < 20; i++) {
    int fd = listen_on(AF_INET, 0, 1);
    int port = local_port(fd);
    close(fd);
    int v6 = listen_on(AF_INET6, port, 1);
    if (v6 >= 0) {
      close(v6);
      return port;
    }
  }
  NH_FAIL("no free port");
}

/* ---- success: bytes flow, options set ---- */

static void success_body(void *arg) {
  (void)arg;
  int lfd = listen_on(AF_INET, 0, 16);
  int port = local_port(lfd);
  nh_fd *f;
  CHECK_EQ(nh_dial_tcp("127.0.0.1", port, nh_deadline_after(5 * NH_SEC), NULL, &f), NH_OK);
  CHECK_EQ(sockopt(f, IPPROTO_TCP, TCP_NODELAY), 1);
  CHECK_EQ(sockopt(f, SOL_SOCKET, SO_KEEPALIVE), 1);
  CHECK_EQ(sockopt(f, IPPROTO_TCP, TCP_KEEPINTVL), 15);
  CHECK_EQ(sockopt(f, IPPROTO_TCP, TCP_KEEPIDLE), 15);
  int c = accept(lfd, NULL, NULL);
  CHECK(c >= 0);
  CHECK_EQ(nh_fd_write(f, "ping", 4, nh_deadline_after(NH_SEC)), 4);
  char buf[8];
  CHECK_EQ(read(c, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "ping", 4) == 0);
  close(c);
  nh_fd_close(f);

  nh_dial_options opt = {.keep_alive = 30 * NH_SEC};
  CHECK_EQ(nh_dial_tcp("localhost", port, nh_deadline_after(5 * NH_SEC), &opt, &f), NH_OK);
  CHECK_EQ(peer_family(f), AF_INET);
  CHECK_EQ(sockopt(f, IPPROTO_TCP, TCP_KEEPINTVL), 30);
  nh_fd_close(f);
  opt.keep_alive = NH_NO_TIMEOUT;
  CHECK_EQ(nh_dial_tcp("127.0.0.1", port, nh_deadline_after(5 * NH_SEC), &opt, &f), NH_OK);
  CHECK_EQ(sockopt(f, SOL_SOCKET, SO_KEEPALIVE), 0);
  CHECK_EQ(sockopt(f, IPPROTO_TCP, TCP_NODELAY), 1);
  nh_fd_close(f);
  CHECK_EQ(nh_dial_tcp("127.0.0.1", 0, NH_NO_DEADLINE, NULL, &f), NH_EINVAL);
  CHECK_EQ(nh_dial_tcp("127.0.0.1", 70000, NH_NO_DEADLINE, NULL, &f), NH_EINVAL);
  close(lfd);
}

NH_TEST(dial_success_thread) { success_body(NULL); }
NH_TEST(dial_success_fiber) { run_on_fiber(success_body, NULL); }

/* ---- refused ---- */

static void refused_body(void *arg) {
  (void)arg;
  int port = closed_port();
  nh_fd *f = NULL;
  nh_time t0 = nh_now();
  CHECK_EQ(nh_dial_tcp("127.0.0.1", port, nh_deadline_after(5 * NH_SEC), NULL, &f),
           NH_ECONNREFUSED);
  CHECK(f == NULL);
  /* Both families refuse: the first error is reported, at once (not at
   * the 5 s deadline: this bound is a sanity one). */
  CHECK_EQ(nh_dial_tcp("localhost", port, nh_deadline_after(5 * NH_SEC), NULL, &f),
           NH_ECONNREFUSED);
  CHECK(ms_since(t0) < 3000);
}

NH_TEST(dial_refused_thread) { refused_body(NULL); }
NH_TEST(dial_refused_fiber) { run_on_fiber(refused_body, NULL); }

/* ---- deadline: a listener whose accept queue is full never answers ---- */

static void timeout_body(void *arg) {
  (void)arg;
  blackhole b = {.lfd = listen_on(AF_INET, 0, 0)};
  blackhole_fill(&b, AF_INET);
  int fds = open_fds();
  nh_fd *f = NULL;
  nh_time t0 = nh_now();
  CHECK_EQ(nh_dial_tcp("127.0.0.1", local_port(b.lfd), nh_deadline_after(200 * NH_MSEC), NULL, &f),
           NH_ETIMEDOUT);
  nh_dur took = ms_since(t0);
  CHECK(took >= 190 && took < 4000); /* the deadline ended it: nothing else would */
  CHECK(f == NULL);
  CHECK_EQ(open_fds(), fds);
  blackhole_close(&b);
}

NH_TEST(dial_timeout_thread) { timeout_body(NULL); }
NH_TEST(dial_timeout_fiber) { run_on_fiber(timeout_body, NULL); }

/* ---- Happy Eyeballs: a name with ::1 first and 127.0.0.1 second ---- */

static const dns_record both[] = {
    {"both.test", AF_INET6, "::1"},
    {"both.test", AF_INET, "127.0.0.1"},
};

typedef struct he_case {
  nh_resolver_config cfg;
  char csv[64];
  int port;
} he_case;

static void he_setup(he_case *h, dns_server *srv) {
  h->cfg = (nh_resolver_config){.servers = server_csv(h->csv, sizeof h->csv, srv->port),
                                .no_hosts_file = 1};
  nh_addr_list *l;
  CHECK_EQ(nh_resolve_with(&h->cfg, "both.test", AF_UNSPEC, nh_deadline_after(5 * NH_SEC), &l),
           NH_OK);
  CHECK_EQ(l->count, 2);
  CHECK_EQ(l->addrs[0].u.sa.sa_family, AF_INET6); /* so ::1 is tried first */
  nh_addr_list_free(l);
}

/* ::1 refuses, 127.0.0.1 answers: v4 at once, from either kind of caller. */
static void he_refused_body(void *arg) {
  (void)arg;
  dns_server *srv = dns_server_start(both, 2);
  he_case h;
  he_setup(&h, srv);
  int lfd = -1, port = 0;
  for (int i = 0; i < 20 && lfd < 0; i++) {
    port = closed_port();
    lfd = listen_on(AF_INET, port, 16);
  }
  nh_fd *f;
  /* A fallback delay far longer than the dial takes, even on a busy
   * machine: v4 starts at the refusal, not at the delay. */
  nh_dial_options opt = {.resolver = &h.cfg, .fallback_delay = 5 * NH_SEC};
  nh_time t0 = nh_now();
  CHECK_EQ(nh_dial_tcp("both.test", port, nh_deadline_after(10 * NH_SEC), &opt, &f), NH_OK);
  CHECK(ms_since(t0) < 4000); /* before the fallback delay */
  CHECK_EQ(peer_family(f), AF_INET);
  nh_fd_close(f);
  close(lfd);
  dns_server_stop(srv);
}

NH_TEST(happy_eyeballs_v6_refused_thread) { he_refused_body(NULL); }
NH_TEST(happy_eyeballs_v6_refused_fiber) { run_on_fiber(he_refused_body, NULL); }

/* ::1 is a blackhole: on a fiber, v4 starts after the fallback delay and
 * wins; the v6 attempt is cancelled and its socket closed. */
static void he_blackhole_body(void *arg) {
  (void)arg;
  dns_server *srv = dns_server_start(both, 2);
  he_case h;
  he_setup(&h, srv);
  blackhole b = {.lfd = -1};
  int lfd = -1;
  for (int i = 0; i < 20 && b.lfd < 0; i++) {
    lfd = listen_on(AF_INET, 0, 16);
    b.lfd = listen_on(AF_INET6, local_port(lfd), 0);
    if (b.lfd < 0)
      close(lfd);
  }
  CHECK(b.lfd >= 0);
  blackhole_fill(&b, AF_INET6);
  int fds = open_fds();
  nh_fd *f;
  nh_dial_options opt = {.resolver = &h.cfg, .fallback_delay = 100 * NH_MSEC};
  nh_time t0 = nh_now();
  CHECK_EQ(nh_dial_tcp("both.test", local_port(lfd), nh_deadline_after(5 * NH_SEC), &opt, &f),
           NH_OK);
  nh_dur took = ms_since(t0);
  CHECK(took >= 95 && took < 4000); /* the fallback delay, not the 5 s deadline */
  CHECK_EQ(peer_family(f), AF_INET);
  nh_fd_close(f);
  CHECK_SOON(open_fds() == fds); /* the losing attempt ends on its own fiber */
  close(lfd);
  blackhole_close(&b);
  dns_server_stop(srv);
}

NH_TEST(happy_eyeballs_v6_blackhole_fiber) { run_on_fiber(he_blackhole_body, NULL); }

/* On a plain thread the same name is dialed serially: ::1 gets its share of
 * the deadline (at least Go's 2 s floor, capped by what is left), then v4. */
NH_TEST(serial_fallback_v6_blackhole_thread) {
  dns_server *srv = dns_server_start(both, 2);
  he_case h;
  he_setup(&h, srv);
  blackhole b = {.lfd = -1};
  int lfd = -1;
  for (int i = 0; i < 20 && b.lfd < 0; i++) {
    lfd = listen_on(AF_INET, 0, 16);
    b.lfd = listen_on(AF_INET6, local_port(lfd), 0);
    if (b.lfd < 0)
      close(lfd);
  }
  blackhole_fill(&b, AF_INET6);
  nh_fd *f;
  nh_dial_options opt = {.resolver = &h.cfg};
  nh_time t0 = nh_now();
  CHECK_EQ(nh_dial_tcp("both.test", local_port(lfd), nh_deadline_after(5 * NH_SEC), &opt, &f),
           NH_OK);
  nh_dur took = ms_since(t0);
  /* 2.5 s share for ::1, then v4 at once: before the 5 s deadline. */
  CHECK(took >= 1900 && took < 5000);
  CHECK_EQ(peer_family(f), AF_INET);
  nh_fd_close(f);
  close(lfd);
  blackhole_close(&b);
  dns_server_stop(srv);
}

/* ---- cancellation: the fiber's context ends a pending dial ---- */

typedef struct canceller {
  nh_ctx *ctx;
  nh_time at;
} canceller;

/* Cancels once both attempts wait for their connects. */
static void cancel_later(void *arg) {
  canceller *c = arg;
  CHECK_EQ(wait_parked(nh_runtime_current(), "IO wait: write", 2), 2);
  c->at = nh_now();
  nh_ctx_cancel(c->ctx);
}

static void cancel_body(void *arg) {
  (void)arg;
  dns_server *srv = dns_server_start(both, 2);
  he_case h;
  he_setup(&h, srv);
  /* Both families blackholed: two racing attempts to cancel. */
  blackhole b4 = {.lfd = -1}, b6 = {.lfd = -1};
  for (int i = 0; i < 20 && b6.lfd < 0; i++) {
    b4.lfd = listen_on(AF_INET, 0, 0);
    b6.lfd = listen_on(AF_INET6, local_port(b4.lfd), 0);
    if (b6.lfd < 0)
      close(b4.lfd);
  }
  blackhole_fill(&b4, AF_INET);
  blackhole_fill(&b6, AF_INET6);
  int fds = open_fds();
  canceller c;
  CHECK_EQ(nh_ctx_with_cancel(NULL, &c.ctx), NH_OK);
  CHECK_EQ(nh_go(cancel_later, &c), NH_OK);
  nh_ctx *prev = nh_fiber_ctx();
  nh_fiber_set_ctx(c.ctx);
  nh_fd *f = NULL;
  nh_dial_options opt = {.resolver = &h.cfg, .fallback_delay = 20 * NH_MSEC};
  int rc = nh_dial_tcp("both.test", local_port(b4.lfd), nh_deadline_after(10 * NH_SEC), &opt, &f);
  nh_time woke = nh_now();
  nh_fiber_set_ctx(prev);
  CHECK_EQ(rc, NH_ECANCELED);
  CHECK(f == NULL);
  /* Woken by the cancel, long before the 10 s deadline. */
  CHECK(woke >= c.at && woke - c.at < 5 * NH_SEC);
  CHECK_SOON(open_fds() == fds);
  nh_ctx_free(c.ctx);
  blackhole_close(&b4);
  blackhole_close(&b6);
  dns_server_stop(srv);
}

NH_TEST(cancel_ends_racing_dial_fiber) { run_on_fiber(cancel_body, NULL); }

/* ---- no such host ---- */

static void nohost_body(void *arg) {
  (void)arg;
  dns_server *srv = dns_server_start(both, 2);
  char csv[64];
  nh_resolver_config cfg = {.servers = server_csv(csv, sizeof csv, srv->port), .no_hosts_file = 1};
  nh_dial_options opt = {.resolver = &cfg};
  nh_fd *f = NULL;
  CHECK_EQ(nh_dial_tcp("nowhere.test", 80, nh_deadline_after(5 * NH_SEC), &opt, &f), NH_ENOHOST);
  CHECK(f == NULL);
  CHECK_STR(nh_err_name(NH_ENOHOST), "NH_ENOHOST");
  CHECK_STR(nh_strerror(NH_ENOHOST), "no such host");
  dns_server_stop(srv);
}

NH_TEST(no_such_host_thread) { nohost_body(NULL); }
NH_TEST(no_such_host_fiber) { run_on_fiber(nohost_body, NULL); }

NH_TEST_MAIN()
