/* The debug handler answers only requests that arrived on a loopback
 * address or a Unix socket, unless allow_non_loopback: checked over real
 * sockets on a wildcard listener (the kernel tells the local address), on
 * listeners bound to one address, and on a Unix socket. */
#include "harness.h"
#include "dbgpeer.h"

static char sock_path[108];

static void unix_path(void) {
  snprintf(sock_path, sizeof sock_path, "/tmp/nh-debug-guard-%d.sock", (int)getpid());
}

static int server_port(nh_server *srv) { return nh_server_port(srv); }

NH_TEST(loopback_and_unix_are_served) {
  nh_runtime *rt = nh_runtime_new(NULL);
  CHECK(rt);
  unix_path();
  char unix_addr[160];
  snprintf(unix_addr, sizeof unix_addr, "unix:%s", sock_path);
  nh_handler h = nh_debug_handler(&(nh_debug_config){.runtime = rt});
  /* A wildcard listener first (local address by getsockname), then a
   * Unix socket. */
  const char *addrs[] = {":0", unix_addr, NULL};
  nh_server *srv = debug_server_start(rt, h, addrs);
  CHECK(srv);
  char a[64];
  snprintf(a, sizeof a, "127.0.0.1:%d", server_port(srv));
  peer_resp r = peer_get(a, "/debug/vars", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "\"memstats\"");
  peer_free(&r);
  snprintf(a, sizeof a, "[::1]:%d", server_port(srv));
  r = peer_get(a, "/debug/vars", NULL);
  if (r.status != -1) /* a host without IPv6 loopback cannot connect at all */
    CHECK_EQ(r.status, 200);
  peer_free(&r);
  r = peer_get(unix_addr, "/debug/fibers", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "fiber profile: total");
  peer_free(&r);
  /* An unknown page behind the guard is still 404. */
  snprintf(a, sizeof a, "127.0.0.1:%d", server_port(srv));
  r = peer_get(a, "/debug/nothing-here", NULL);
  CHECK_EQ(r.status, 404);
  peer_free(&r);
  debug_server_stop(srv);
  nh_debug_handler_free(h);
  nh_runtime_free(rt);
  unlink(sock_path);
}

/* The same server, reached on this host's non-loopback address: 403 on a
 * wildcard listener and on one bound to that address; served once
 * allow_non_loopback is set. */
static void non_loopback_case(int allow, int expect) {
  char host[64];
  if (!peer_non_loopback_ipv4(host, sizeof host))
    NH_SKIP("this host has no non-loopback IPv4 address to arrive on");
  nh_runtime *rt = nh_runtime_new(NULL);
  CHECK(rt);
  nh_handler h = nh_debug_handler(&(nh_debug_config){.runtime = rt, .allow_non_loopback = allow});
  char bound[96];
  snprintf(bound, sizeof bound, "%s:0", host);
  const char *wild[] = {":0", NULL}, *one[] = {bound, NULL};
  nh_server *srvs[2] = {debug_server_start(rt, h, wild), debug_server_start(rt, h, one)};
  for (int i = 0; i < 2; i++) {
    CHECK(srvs[i]);
    char a[96];
    snprintf(a, sizeof a, "%s:%d", host, server_port(srvs[i]));
    peer_resp r = peer_get(a, "/debug/vars", NULL);
    CHECK_EQ(r.status, expect);
    if (expect == 403)
      CHECK_CONTAINS(r.body, "loopback");
    else
      CHECK_CONTAINS(r.body, "\"cmdline\"");
    peer_free(&r);
    if (i == 0) { /* and the wildcard one still serves loopback */
      snprintf(a, sizeof a, "127.0.0.1:%d", server_port(srvs[i]));
      r = peer_get(a, "/debug/vars", NULL);
      CHECK_EQ(r.status, 200);
      peer_free(&r);
    }
    debug_server_stop(srvs[i]);
  }
  nh_debug_handler_free(h);
  nh_runtime_free(rt);
}

NH_TEST(non_loopback_is_forbidden) { non_loopback_case(0, 403); }

NH_TEST(allow_non_loopback_serves_it) { non_loopback_case(1, 200); }

NH_TEST(loopback_address_words) {
  CHECK(nh_debug_addr_is_loopback("127.0.0.1:6060"));
  CHECK(nh_debug_addr_is_loopback("127.3.2.1:1"));
  CHECK(nh_debug_addr_is_loopback("[::1]:6060"));
  CHECK(nh_debug_addr_is_loopback("[::ffff:127.0.0.1]:6060"));
  CHECK(nh_debug_addr_is_loopback("localhost:6060"));
  CHECK(nh_debug_addr_is_loopback("unix:/run/x.sock"));
  CHECK(nh_debug_addr_is_loopback("/run/x.sock"));
  CHECK(!nh_debug_addr_is_loopback(":6060"));
  CHECK(!nh_debug_addr_is_loopback("0.0.0.0:6060"));
  CHECK(!nh_debug_addr_is_loopback("[::]:6060"));
  CHECK(!nh_debug_addr_is_loopback("192.0.2.2:6060"));
  CHECK(!nh_debug_addr_is_loopback("128.0.0.1:6060"));
  CHECK(!nh_debug_addr_is_loopback("example.com:6060"));
  CHECK(!nh_debug_addr_is_loopback(""));
}

NH_TEST_MAIN()
