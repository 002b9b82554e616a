/* The test server: a real server on an ephemeral loopback port, with a
 * leak check when it closes (see httptest.h). */
#include "internal.h"
#include "nethttp/client.h"
#include "nethttp/httptest.h"

#include <stdio.h>
#include <stdlib.h>

struct nh_test_server {
  nh_runtime *rt;
  nh_server *srv;
  nh_leak_baseline *baseline;
  int port;
  char url[64];
  nh_tls_testcert *tc; /* HTTPS: owned with tls */
  nh_tls_ctx *tls;
  nh_transport *client_transport; /* nh_test_server_client's */
  nh_client *client;
};

nh_test_server *nh_test_server_new(nh_handler_fn handler, const nh_server_config *cfg,
                                   int loops) {
  nh_test_server *ts = calloc(1, sizeof *ts);
  if (!ts)
    return NULL;
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = loops > 0 ? loops : 2;
  nh_server_config sc = NH_SERVER_CONFIG_DEFAULT;
  if (cfg)
    sc = *cfg;
  if (handler)
    sc.handler = handler;
  ts->rt = nh_runtime_new(&rc);
  ts->baseline = ts->rt ? nh_leak_baseline_take(ts->rt) : NULL;
  ts->srv = ts->rt ? nh_server_new(ts->rt, &sc) : NULL;
  if (!ts->srv || nh_server_listen(ts->srv, "127.0.0.1:0") != NH_OK ||
      nh_server_start(ts->srv) != NH_OK) {
    nh_server_free(ts->srv);
    if (ts->baseline)
      nh_leak_check(ts->baseline, 0, fopen("/dev/null", "w"));
    nh_runtime_free(ts->rt);
    free(ts);
    return NULL;
  }
  ts->port = nh_server_port(ts->srv);
  snprintf(ts->url, sizeof ts->url, "http://127.0.0.1:%d", ts->port);
  return ts;
}

nh_test_server *nh_test_server_new_tls(nh_handler_fn handler, const nh_server_config *cfg,
                                       int loops) {
  nh_tls_testcert *tc = NULL;
  if (nh_tls_testcert_new(NULL, &tc) != NH_OK)
    return NULL;
  nh_tls_cert_file cert = {tc->cert_pem, tc->key_pem};
  nh_tls_config tcfg = {.role = NH_TLS_SERVER, .certs = &cert, .ncerts = 1};
  nh_tls_ctx *tls = NULL;
  if (nh_tls_config_new(&tcfg, &tls, NULL) != NH_OK) {
    nh_tls_testcert_free(tc);
    return NULL;
  }
  nh_server_config sc = NH_SERVER_CONFIG_DEFAULT;
  if (cfg)
    sc = *cfg;
  sc.tls = tls;
  nh_test_server *ts = nh_test_server_new(handler, &sc, loops);
  if (!ts) {
    nh_tls_ctx_free(tls);
    nh_tls_testcert_free(tc);
    return NULL;
  }
  ts->tc = tc;
  ts->tls = tls;
  snprintf(ts->url, sizeof ts->url, "https://127.0.0.1:%d", ts->port);
  return ts;
}

const char *nh_test_server_ca_file(const nh_test_server *ts) {
  return ts->tc ? ts->tc->ca_pem : NULL;
}
nh_tls_ctx *nh_test_server_tls(nh_test_server *ts) { return ts->tls; }
nh_tls_testcert *nh_test_server_testcert(nh_test_server *ts) { return ts->tc; }

static void tls_free(nh_test_server *ts) {
  nh_tls_ctx_free(ts->tls);
  nh_tls_testcert_free(ts->tc);
}

nh_server *nh_test_server_server(nh_test_server *ts) { return ts->srv; }
nh_runtime *nh_test_server_runtime(nh_test_server *ts) { return ts->rt; }
int nh_test_server_port(const nh_test_server *ts) { return ts->port; }
const char *nh_test_server_url(const nh_test_server *ts) { return ts->url; }

nh_client *nh_test_server_client(nh_test_server *ts) {
  if (ts->client)
    return ts->client;
  nh_tls_config tls = {0};
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.proxy_url = ""; /* a test server is always reached directly */
  if (ts->tc) {
    tls.ca_file = ts->tc->ca_pem;
    tc.tls = &tls;
  }
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  if (!(ts->client_transport = nh_transport_new(&tc)))
    return NULL;
  cc.transport = ts->client_transport;
  ts->client = nh_client_new(&cc);
  return ts->client;
}

int nh_test_server_close(nh_test_server *ts, FILE *report) {
  /* The client's pooled connections go first, or they would count as the
   * server's idle connections and as leaked descriptors. */
  nh_client_free(ts->client);
  nh_transport_free(ts->client_transport);
  int r = nh_server_shutdown(ts->srv, nh_deadline_after(5 * NH_SEC));
  nh_server_free(ts->srv);
  int leaks = nh_leak_check(ts->baseline, 2 * NH_SEC, report);
  if (leaks != NH_OK) {
    tls_free(ts);
    free(ts);
    return leaks;
  }
  nh_runtime_free(ts->rt);
  tls_free(ts);
  free(ts);
  return r;
}
