/* max_conns_per_ip on a PROXY listener counts the client the header names,
 * not the proxy: every connection comes from the proxy's one address, and
 * the limit still tells clients apart. Over the limit a connection is
 * closed once its header is read, before its request is answered, and
 * counted; one without an address (LOCAL) counts as the proxy's. */
#include "harness.h"
#include "rawclient.h"
#include "proxyclient.h"

#include <nethttp.h>

static void hello(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "hello");
}

/* A kept connection that sent hdr and was answered once. */
static raw_conn *held(int port, const char *hdr, const char *what) {
  raw_conn *c = raw_dial(port);
  raw_resp r;
  if (raw_sends(c->fd, hdr) != 0 || raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") != 0 ||
      raw_read(c, &r, 0) != 0)
    NH_FAIL("%s: no answer", what);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  return c;
}

/* A connection that sent hdr and a request, and got no byte back. */
static void refused(int port, const char *hdr, const char *what) {
  raw_conn *c = raw_dial(port);
  raw_resp r;
  memset(&r, 0, sizeof r);
  if (raw_sends(c->fd, hdr) == 0 && raw_sends(c->fd, GET_REQ) == 0 && raw_read(c, &r, 0) == 0)
    NH_FAIL("%s: answered %d, want closed", what, r.status);
  raw_resp_free(&r);
  raw_hang_up(c);
}

NH_TEST(the_limit_counts_the_client_the_proxy_names) {
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_conns_per_ip = 1;
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.1"};
  psrv_start_cfg(&p, "127.0.0.1:0", &o, &cfg, hello);
  const char *alice = "PROXY TCP4 198.51.100.1 203.0.113.1 40000 80\r\n";
  const char *bob = "PROXY TCP4 198.51.100.2 203.0.113.1 40001 80\r\n";
  raw_conn *a = held(p.port, alice, "alice");
  raw_conn *b = held(p.port, bob, "bob, from the same proxy");
  refused(p.port, alice, "alice's second");
  /* The client sees the close before the server has counted it. */
  CHECK_SOON(psrv_stats(&p).closes[NH_CLOSE_PER_IP] == 1);
  CHECK_EQ(psrv_stats(&p).refused_per_ip, 1);
  /* alice's first connection gives its count back when it closes. */
  raw_hang_up(a);
  for (int i = 0; i < 10000 && psrv_stats(&p).closed < 2; i++)
    nh_sleep(NH_MSEC);
  raw_conn *a2 = held(p.port, alice, "alice after her first closed");
  raw_hang_up(a2);
  raw_hang_up(b);
  psrv_stop(&p);
  CHECK_CONTAINS(p.log, "over max_conns_per_ip");
  CHECK_CONTAINS(p.log, "198.51.100.1:");
  psrv_free_log(&p);
}
NH_TEST_MAIN()
