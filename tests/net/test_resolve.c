/* The resolver: literals and localhost without DNS, a hosts file, a DNS
 * server on loopback, timeouts against a server that never answers, and
 * cancellation; from a fiber (whose loop must keep running) and from a
 * plain thread. */
#include "nettest.h"

static const dns_record records[] = {
    {"dual.test", AF_INET, "10.0.0.7"},
    {"dual.test", AF_INET6, "2001:db8::7"},
    {"v4only.test", AF_INET, "10.0.0.8"},
};

static int has_addr(const nh_addr_list *l, const char *want) {
  char buf[64];
  for (size_t i = 0; i < l->count; i++)
    if (strcmp(nh_addr_format(&l->addrs[i], buf, sizeof buf), want) == 0)
      return 1;
  return 0;
}

/* A resolver aimed at a UDP socket nobody reads: any DNS query hangs. */
typedef struct silent {
  int sock, port;
  char csv[64];
  nh_resolver_config cfg;
} silent;

static void silent_open(silent *s) {
  s->sock = udp_socket_bound(&s->port);
  s->cfg = (nh_resolver_config){.servers = server_csv(s->csv, sizeof s->csv, s->port),
                                .try_timeout = 10 * NH_SEC,
                                .tries = 1};
}

/* ---- literals and localhost never reach DNS ---- */

static void literals_body(void *arg) {
  (void)arg;
  silent s;
  silent_open(&s);
  nh_time dl = nh_deadline_after(5 * NH_SEC);
  nh_time t0 = nh_now();
  nh_addr_list *l;
  CHECK_EQ(nh_resolve_with(&s.cfg, "127.0.0.1", AF_UNSPEC, dl, &l), NH_OK);
  CHECK_EQ(l->count, 1);
  CHECK_EQ(l->addrs[0].u.sa.sa_family, AF_INET);
  CHECK(has_addr(l, "127.0.0.1"));
  nh_addr_list_free(l);
  const char *v6[] = {"::1", "[::1]"};
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(nh_resolve_with(&s.cfg, v6[i], AF_UNSPEC, dl, &l), NH_OK);
    CHECK_EQ(l->count, 1);
    CHECK_EQ(l->addrs[0].u.sa.sa_family, AF_INET6);
    CHECK_EQ(l->addrs[0].len, sizeof(struct sockaddr_in6));
    CHECK(has_addr(l, "::1"));
    nh_addr_list_free(l);
  }
  CHECK_EQ(nh_resolve_with(&s.cfg, "127.0.0.1", AF_INET6, dl, &l), NH_ENOHOST);
  CHECK(l == NULL);
  CHECK_EQ(nh_resolve_with(&s.cfg, "[::1]", AF_INET, dl, &l), NH_ENOHOST);

  CHECK_EQ(nh_resolve_with(&s.cfg, "localhost", AF_UNSPEC, dl, &l), NH_OK);
  CHECK(has_addr(l, "127.0.0.1") && has_addr(l, "::1"));
  nh_addr_list_free(l);
  CHECK_EQ(nh_resolve_with(&s.cfg, "api.LOCALHOST.", AF_INET, dl, &l), NH_OK);
  CHECK_EQ(l->count, 1);
  CHECK(has_addr(l, "127.0.0.1"));
  nh_addr_list_free(l);
  CHECK(ms_since(t0) < 3000); /* a DNS query would have hung for 5 s */
  CHECK_EQ(nh_resolve_with(&s.cfg, "", AF_UNSPEC, dl, &l), NH_EINVAL);
  CHECK_EQ(nh_resolve_with(&s.cfg, "x", 12345, dl, &l), NH_EINVAL);
  close(s.sock);
}

NH_TEST(literals_and_localhost_skip_dns_thread) { literals_body(NULL); }
NH_TEST(literals_and_localhost_skip_dns_fiber) { run_on_fiber(literals_body, NULL); }

/* ---- a DNS server on loopback ---- */

static void dns_body(void *arg) {
  (void)arg;
  dns_server *srv = dns_server_start(records, 3);
  char csv[64];
  nh_resolver_config cfg = {.servers = server_csv(csv, sizeof csv, srv->port), .no_hosts_file = 1};
  nh_time dl = nh_deadline_after(5 * NH_SEC);
  nh_addr_list *l;
  CHECK_EQ(nh_resolve_with(&cfg, "dual.test", AF_UNSPEC, dl, &l), NH_OK);
  CHECK_EQ(l->count, 2);
  CHECK(has_addr(l, "10.0.0.7") && has_addr(l, "2001:db8::7"));
  nh_addr_list_free(l);
  CHECK_EQ(nh_resolve_with(&cfg, "DUAL.test", AF_INET6, dl, &l), NH_OK);
  CHECK_EQ(l->count, 1);
  CHECK(has_addr(l, "2001:db8::7"));
  nh_addr_list_free(l);
  CHECK_EQ(nh_resolve_with(&cfg, "v4only.test", AF_INET, dl, &l), NH_OK);
  CHECK(has_addr(l, "10.0.0.8"));
  nh_addr_list_free(l);
  CHECK_EQ(nh_resolve_with(&cfg, "v4only.test", AF_INET6, dl, &l), NH_ENOHOST);
  CHECK_EQ(nh_resolve_with(&cfg, "missing.test", AF_UNSPEC, dl, &l), NH_ENOHOST);
  CHECK(l == NULL);
  dns_server_stop(srv);
}

NH_TEST(dns_server_answers_thread) { dns_body(NULL); }
NH_TEST(dns_server_answers_fiber) { run_on_fiber(dns_body, NULL); }

/* ---- a hosts file (CARES_HOSTS), consulted before DNS ---- */

NH_TEST(hosts_file_before_dns) {
  char path[] = "/tmp/nh_hostsXXXXXX";
  int fd = mkstemp(path);
  const char *text = "10.9.8.7 fromfile.test alias.test\n2001:db8::99 fromfile.test\n";
  CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  setenv("CARES_HOSTS", path, 1);
  silent s;
  silent_open(&s);
  nh_time t0 = nh_now();
  nh_addr_list *l;
  CHECK_EQ(nh_resolve_with(&s.cfg, "fromfile.test", AF_UNSPEC, nh_deadline_after(5 * NH_SEC), &l),
           NH_OK);
  CHECK(has_addr(l, "10.9.8.7") && has_addr(l, "2001:db8::99"));
  nh_addr_list_free(l);
  CHECK_EQ(nh_resolve_with(&s.cfg, "alias.test", AF_INET, nh_deadline_after(5 * NH_SEC), &l),
           NH_OK);
  CHECK_EQ(l->count, 1);
  nh_addr_list_free(l);
  CHECK(ms_since(t0) < 3000); /* answered from the file, not the silent server (5 s) */
  unsetenv("CARES_HOSTS");
  unlink(path);
  close(s.sock);
}

/* ---- a server that never answers: the deadline ends the lookup ---- */

static void timeout_body(void *arg) {
  (void)arg;
  silent s;
  silent_open(&s);
  s.cfg.no_hosts_file = 1;
  s.cfg.try_timeout = 10 * NH_SEC; /* only the deadline can end the first lookup */
  int fds = open_fds();
  nh_addr_list *l;
  nh_time t0 = nh_now();
  CHECK_EQ(nh_resolve_with(&s.cfg, "slow.test", AF_UNSPEC, nh_deadline_after(150 * NH_MSEC), &l),
           NH_ETIMEDOUT);
  nh_dur took = ms_since(t0);
  CHECK(took >= 140 && took < 5000);
  CHECK(l == NULL);
  CHECK_EQ(open_fds(), fds); /* the channel's sockets and epoll are gone */
  /* c-ares' own retry budget ends it too: one 100 ms try, one server. */
  s.cfg.try_timeout = 100 * NH_MSEC;
  t0 = nh_now();
  CHECK_EQ(nh_resolve_with(&s.cfg, "slow.test", AF_INET, NH_NO_DEADLINE, &l), NH_ETIMEDOUT);
  took = ms_since(t0);
  CHECK(took >= 90 && took < 5000); /* no deadline: only the retry budget ends it */
  CHECK_EQ(open_fds(), fds);
  close(s.sock);
}

NH_TEST(unanswered_lookup_times_out_thread) { timeout_body(NULL); }
NH_TEST(unanswered_lookup_times_out_fiber) { run_on_fiber(timeout_body, NULL); }

/* A server port that refuses (ICMP unreachable) fails at once, not at the
 * deadline: the error on c-ares' socket reaches it. */
NH_TEST(refusing_server_fails_fast) {
  int port;
  close(udp_socket_bound(&port));
  char csv[64];
  nh_resolver_config cfg = {.servers = server_csv(csv, sizeof csv, port), .no_hosts_file = 1};
  nh_addr_list *l;
  nh_time t0 = nh_now();
  int rc = nh_resolve_with(&cfg, "x.test", AF_UNSPEC, nh_deadline_after(5 * NH_SEC), &l);
  CHECK_EQ(rc, NH_EIO);
  CHECK(ms_since(t0) < 3000); /* not the 5 s deadline */
}

/* ---- on a fiber: cancellation, and the loop keeps running ---- */

typedef struct ticker {
  int stop;
  int ticks;
  nh_wg *done;
} ticker;

static void tick(void *arg) {
  ticker *t = arg;
  while (!t->stop) {
    nh_sleep(5 * NH_MSEC);
    t->ticks++;
  }
  nh_wg_done(t->done);
}

typedef struct canceller {
  nh_ctx *ctx;
  ticker *t;
  nh_time at;
} canceller;

/* Cancels the lookup once the ticker has ticked 3 times during it: the
 * lookup has started (this fiber only runs once the lookup parks) and the
 * loop goes on meanwhile. Were the loop blocked, nothing here would run
 * and the lookup would end at its deadline instead. */
static void cancel_later(void *arg) {
  canceller *c = arg;
  int from = c->t->ticks;
  for (int i = 0; i < 2000 && c->t->ticks - from < 3; i++)
    nh_sleep(5 * NH_MSEC);
  c->at = nh_now();
  nh_ctx_cancel(c->ctx);
}

static void cancel_body(void *arg) {
  (void)arg;
  silent s;
  silent_open(&s);
  s.cfg.no_hosts_file = 1;
  s.cfg.try_timeout = 10 * NH_SEC; /* c-ares' own timer cannot end it */
  int fds = open_fds();
  ticker t = {.done = nh_wg_new()};
  nh_wg_add(t.done, 1);
  CHECK_EQ(nh_go(tick, &t), NH_OK);

  canceller c = {.t = &t};
  CHECK_EQ(nh_ctx_with_cancel(NULL, &c.ctx), NH_OK);
  CHECK_EQ(nh_go(cancel_later, &c), NH_OK);
  nh_ctx *prev = nh_fiber_ctx();
  nh_fiber_set_ctx(c.ctx);
  nh_addr_list *l;
  int ticks_before = t.ticks;
  int rc = nh_resolve_with(&s.cfg, "hang.test", AF_UNSPEC, nh_deadline_after(10 * NH_SEC), &l);
  nh_time woke = nh_now();
  nh_fiber_set_ctx(prev);
  CHECK_EQ(rc, NH_ECANCELED);
  /* By the cancel, not at c-ares' next timer or the deadline (10 s). */
  CHECK(woke >= c.at && woke - c.at < 5 * NH_SEC);
  /* The lookup parked only this fiber: the ticker ran on the same loop. */
  CHECK(t.ticks - ticks_before >= 3);
  /* An already cancelled context does not even start a lookup. */
  nh_fiber_set_ctx(c.ctx);
  CHECK_EQ(nh_resolve_with(&s.cfg, "hang.test", AF_UNSPEC, NH_NO_DEADLINE, &l), NH_ECANCELED);
  nh_fiber_set_ctx(prev);
  t.stop = 1;
  nh_wg_wait(t.done, NH_NO_DEADLINE);
  nh_wg_free(t.done);
  nh_ctx_free(c.ctx);
  CHECK_EQ(open_fds(), fds);
  close(s.sock);
}

NH_TEST(cancel_ends_lookup_and_loop_keeps_running) { run_on_fiber(cancel_body, NULL); }

/* Lookups from many fibers of one loop at once, each on its own channel. */
typedef struct many {
  nh_resolver_config *cfg;
  int ok;
  nh_wg *wg;
} many;

static void one_lookup(void *arg) {
  many *m = arg;
  nh_addr_list *l;
  if (nh_resolve_with(m->cfg, "dual.test", AF_UNSPEC, nh_deadline_after(5 * NH_SEC), &l) == 0) {
    m->ok += l->count == 2;
    nh_addr_list_free(l);
  }
  nh_wg_done(m->wg);
}

static void concurrent_body(void *arg) {
  (void)arg;
  dns_server *srv = dns_server_start(records, 3);
  char csv[64];
  nh_resolver_config cfg = {.servers = server_csv(csv, sizeof csv, srv->port), .no_hosts_file = 1};
  many m = {.cfg = &cfg, .wg = nh_wg_new()};
  nh_wg_add(m.wg, 50);
  for (int i = 0; i < 50; i++)
    CHECK_EQ(nh_go(one_lookup, &m), NH_OK);
  nh_wg_wait(m.wg, NH_NO_DEADLINE);
  nh_wg_free(m.wg);
  CHECK_EQ(m.ok, 50);
  dns_server_stop(srv);
}

NH_TEST(concurrent_lookups_on_one_loop) { run_on_fiber(concurrent_body, NULL); }

NH_TEST_MAIN()
