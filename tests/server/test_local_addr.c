/* nh_request_local_addr over real sockets: the address each request
 * arrived on, for a listener bound to one address, a wildcard one (the
 * kernel's answer, IPv4 clients unmapped) and a Unix socket; and
 * nh_conn_info.local_addr in the connection-state hook. */
#include <stdatomic.h>

#include "harness.h"
#include "debug/dbgpeer.h"

static void echo_local(nh_response_writer *w, nh_request *r) {
  char a[112];
  int e = nh_request_local_addr(r, a, sizeof a);
  char tiny[4];
  int small = nh_request_local_addr(r, tiny, sizeof tiny);
  nh_resp_printf(w, "%s|%s|%s", e == NH_OK ? a : nh_err_name(e), nh_err_name(small),
                 nh_request_remote_addr(r));
}

static char hook_local[112];
static atomic_int hooked;

static void on_state(const nh_conn_info *c, nh_conn_state s, void *user) {
  if (s == NH_CONN_NEW && !atomic_load(&hooked)) {
    snprintf(hook_local, sizeof hook_local, "%s", c->local_addr);
    atomic_store(&hooked, 1);
  }
}

NH_TEST(local_addr_of_bound_wildcard_and_unix_listeners) {
  nh_runtime *rt = nh_runtime_new(NULL);
  CHECK(rt);
  char sock[108], unix_addr[160];
  snprintf(sock, sizeof sock, "/tmp/nh-local-addr-%d.sock", (int)getpid());
  snprintf(unix_addr, sizeof unix_addr, "unix:%s", sock);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = echo_local;
  cfg.conn_state = on_state;
  nh_server *one = nh_server_new(rt, &cfg), *wild = nh_server_new(rt, &cfg);
  CHECK(one && wild);
  CHECK_EQ(nh_server_listen(one, "127.0.0.1:0"), NH_OK);
  CHECK_EQ(nh_server_listen(wild, ":0"), NH_OK);
  CHECK_EQ(nh_server_listen(wild, unix_addr), NH_OK);
  CHECK_EQ(nh_server_start(one), NH_OK);
  CHECK_EQ(nh_server_start(wild), NH_OK);

  char a[64], want[128];
  snprintf(a, sizeof a, "127.0.0.1:%d", nh_server_port(one));
  peer_resp r = peer_get(a, "/", NULL);
  CHECK_EQ(r.status, 200);
  snprintf(want, sizeof want, "%s|NH_EINVAL|127.0.0.1:", a);
  CHECK(!strncmp(r.body, want, strlen(want)));
  peer_free(&r);
  CHECK_SOON(atomic_load(&hooked));
  CHECK_STR(hook_local, a); /* the listener's address */

  snprintf(a, sizeof a, "127.0.0.1:%d", nh_server_port(wild));
  r = peer_get(a, "/", NULL);
  CHECK_EQ(r.status, 200);
  snprintf(want, sizeof want, "%s|NH_EINVAL|", a); /* not [::ffff:127.0.0.1]:port */
  CHECK(!strncmp(r.body, want, strlen(want)));
  peer_free(&r);

  snprintf(a, sizeof a, "[::1]:%d", nh_server_port(wild));
  r = peer_get(a, "/", NULL);
  if (r.status != -1) { /* a host without IPv6 loopback cannot connect at all */
    snprintf(want, sizeof want, "%s|NH_EINVAL|", a);
    CHECK(!strncmp(r.body, want, strlen(want)));
  }
  peer_free(&r);

  r = peer_get(unix_addr, "/", NULL);
  CHECK_EQ(r.status, 200);
  snprintf(want, sizeof want, "%s|NH_EINVAL|@", sock);
  CHECK_STR(r.body, want);
  peer_free(&r);

  CHECK_EQ(nh_server_shutdown(one, nh_deadline_after(5 * NH_SEC)), NH_OK);
  CHECK_EQ(nh_server_shutdown(wild, nh_deadline_after(5 * NH_SEC)), NH_OK);
  nh_server_free(one);
  nh_server_free(wild);
  nh_runtime_free(rt);
  unlink(sock);
}

/* A recorded request never arrived on a socket. */
NH_TEST(recorded_request_has_no_local_addr) {
  nh_recorder *rec = nh_recorder_serve(echo_local, NULL, "GET", "/", NULL, NULL);
  CHECK(rec);
  CHECK_EQ(nh_recorder_status(rec), 200);
  size_t len;
  CHECK_CONTAINS(nh_recorder_body(rec, &len), "NH_ENOTSUP|NH_ENOTSUP|192.0.2.1:1234");
  nh_recorder_free(rec);
}

NH_TEST_MAIN()
