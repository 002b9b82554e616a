/* The test server: a real server on an ephemeral loopback port, with a
 * leak check when it closes (see httptest.h).
 *
 * Live test servers are kept in a list: a server made while another runs
 * marks both as overlapping, and then each one's leak check counts only the
 * descriptors it can tell are its own (sockets of its port), not those the
 * other made meanwhile. The list also names, at exit, the servers never
 * closed. */
#include "nethttp/client.h"
#include "nethttp/httptest.h"
#include "runtime/internal.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

struct nh_test_server {
  nh_test_server *live_prev, *live_next;
  const char *file; /* where it was made */
  int line;
  atomic_int overlapped; /* another test server ran while it did */
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

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static nh_test_server *live;

static void report_never_closed(void) {
  pthread_mutex_lock(&live_mu);
  for (nh_test_server *ts = live; ts; ts = ts->live_next)
    fprintf(stderr,
            "nethttp: test server %s made at %s:%d was never closed; its port, runtime and "
            "connections stayed open until exit (call nh_test_server_close)\n",
            ts->url, ts->file ? ts->file : "?", ts->line);
  pthread_mutex_unlock(&live_mu);
  fflush(stderr);
}

static void live_add(nh_test_server *ts) {
  static int at_exit_set;
  pthread_mutex_lock(&live_mu);
  if (!at_exit_set)
    at_exit_set = atexit(report_never_closed) == 0;
  for (nh_test_server *o = live; o; o = o->live_next)
    atomic_store(&o->overlapped, 1);
  if (live)
    atomic_store(&ts->overlapped, 1);
  ts->live_next = live;
  if (live)
    live->live_prev = ts;
  live = ts;
  pthread_mutex_unlock(&live_mu);
}

static void live_remove(nh_test_server *ts) {
  pthread_mutex_lock(&live_mu);
  if (ts->live_prev)
    ts->live_prev->live_next = ts->live_next;
  else if (live == ts)
    live = ts->live_next;
  if (ts->live_next)
    ts->live_next->live_prev = ts->live_prev;
  ts->live_prev = ts->live_next = NULL;
  pthread_mutex_unlock(&live_mu);
}

static int sockaddr_port(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)a)->sin_port);
  if (a->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
  return -1;
}

/* Whether a descriptor opened while ts ran is one of its own: a socket of
 * its port (accepted, listening, or a client's to it); anything else only
 * if no other test server ran at the same time to have made it. */
static int made_by(int fd, void *arg) {
  nh_test_server *ts = arg;
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) == 0 && sockaddr_port(&a) >= 0) {
    if (sockaddr_port(&a) == ts->port)
      return 1;
    len = sizeof a;
    if (getpeername(fd, (struct sockaddr *)&a, &len) == 0 && sockaddr_port(&a) == ts->port)
      return 1;
  }
  return !atomic_load(&ts->overlapped);
}

nh_test_server *(nh_test_server_new)(nh_handler_fn handler, const nh_server_config *cfg,
                                     int loops) {
  return nh_test_server_new_at(handler, cfg, loops, NULL, 0);
}

nh_test_server *nh_test_server_new_at(nh_handler_fn handler, const nh_server_config *cfg,
                                      int loops, const char *file, int line) {
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
    if (ts->baseline) {
      FILE *devnull = fopen("/dev/null", "w");
      nh_leak_check(ts->baseline, 0, devnull); /* only to free it */
      if (devnull)
        fclose(devnull);
    }
    nh_runtime_free(ts->rt);
    free(ts);
    return NULL;
  }
  ts->port = nh_server_port(ts->srv);
  snprintf(ts->url, sizeof ts->url, "http://127.0.0.1:%d", ts->port);
  ts->file = file;
  ts->line = line;
  live_add(ts);
  return ts;
}

nh_test_server *(nh_test_server_new_tls)(nh_handler_fn handler, const nh_server_config *cfg,
                                         int loops) {
  return nh_test_server_new_tls_at(handler, cfg, loops, NULL, 0);
}

nh_test_server *nh_test_server_new_tls_at(nh_handler_fn handler, const nh_server_config *cfg,
                                          int loops, const char *file, int line) {
  nh_tls_testcert *tc = NULL;
  if (nh_tls_testcert_new(NULL, &tc) != NH_OK)
    return NULL;
  nh_tls_cert_file cert = {tc->cert_pem, tc->key_pem};
  /* ALPN offers h2 only where the server serves it. */
  nh_tls_config tcfg = {.role = NH_TLS_SERVER, .certs = &cert, .ncerts = 1,
                        .alpn = cfg && cfg->http2.disable ? "http/1.1" : NULL};
  nh_tls_ctx *tls = NULL;
  if (nh_tls_config_new(&tcfg, &tls, NULL) != NH_OK) {
    nh_tls_testcert_free(tc);
    return NULL;
  }
  nh_server_config sc = NH_SERVER_CONFIG_DEFAULT;
  if (cfg)
    sc = *cfg;
  sc.tls = tls;
  nh_test_server *ts = nh_test_server_new_at(handler, &sc, loops, file, line);
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
  live_remove(ts);
  /* The client's pooled connections go first, or they would count as the
   * server's idle connections and as leaked descriptors. */
  nh_client_free(ts->client);
  nh_transport_free(ts->client_transport);
  int r = nh_server_shutdown(ts->srv, nh_deadline_after(5 * NH_SEC));
  nh_server_free(ts->srv);
  int fibers_left = 0;
  int leaks = nh__leak_check_scoped(ts->baseline, 2 * NH_SEC, report, made_by, ts, &fibers_left);
  /* Freeing the runtime waits for its fibers: with some left it would
   * hang, so then it stays. Leftover descriptors do not hold it. */
  if (!fibers_left)
    nh_runtime_free(ts->rt);
  tls_free(ts);
  free(ts);
  return leaks != NH_OK ? leaks : r;
}
