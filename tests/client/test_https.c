/* The client over TLS: verification, pooled TLS connections reused across
 * loops, and seed bug 12 — two transports with different trust, against
 * two servers that take the same host and port in turn, never share a
 * connection and each accepts only the server it trusts. */
#include "harness.h"
#include "scripted.h"

#include <arpa/inet.h>
#include <nethttp.h>
#include <poll.h>
#include <nethttp/httptest.h>
#include <nethttp/tls.h>
#include <stdatomic.h>
#include <unistd.h>

/* ---- a small HTTPS server on fibers: answers every request with its name ---- */

typedef struct tls_server {
  nh_runtime *rt;
  nh_tls_ctx *ctx;
  nh_fd *lfd;
  int port;
  const char *name;
  atomic_int handshakes;
  atomic_int listening; /* set by the loop once lfd and port are */
} tls_server;

typedef struct tls_client_conn {
  tls_server *s;
  int fd;
} tls_client_conn;

static void serve_conn(void *arg) {
  tls_client_conn *cc = arg;
  tls_server *s = cc->s;
  nh_fd *fd;
  nh_tls_conn *c;
  if (nh_fd_open(cc->fd, &fd) != NH_OK) {
    free(cc);
    return;
  }
  free(cc);
  if (nh_tls_server(s->ctx, fd, nh_deadline_after(10 * NH_SEC), &c) != NH_OK) {
    nh_fd_close(fd);
    return;
  }
  atomic_fetch_add(&s->handshakes, 1);
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = nh_tls_read(c, buf + len, sizeof buf - 1 - len, nh_deadline_after(5 * NH_SEC));
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = 0;
    char *end;
    while ((end = strstr(buf, "\r\n\r\n"))) { /* requests without bodies */
      char resp[256];
      int m = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                       strlen(s->name), s->name);
      if (nh_tls_write(c, resp, (size_t)m, nh_deadline_after(10 * NH_SEC)) < 0)
        goto out;
      size_t used = (size_t)(end + 4 - buf);
      memmove(buf, buf + used, len - used + 1);
      len -= used;
    }
  }
out:
  nh_tls_abort(c);
}

static void accept_loop(void *arg) {
  tls_server *s = arg;
  for (;;) {
    int fd = nh_fd_accept(s->lfd, NULL, NULL, NH_NO_DEADLINE);
    if (fd < 0)
      return; /* closed */
    tls_client_conn *cc = malloc(sizeof *cc);
    cc->s = s;
    cc->fd = fd;
    nh_go(serve_conn, cc);
  }
}

static void open_listener(void *arg) {
  tls_server *s = arg;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  CHECK_EQ(listen(fd, 64), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  s->port = ntohs(a.sin_port);
  CHECK_EQ(nh_fd_open(fd, &s->lfd), NH_OK);
  atomic_store(&s->listening, 1);
  nh_go(accept_loop, s);
}

static void close_listener(void *arg) { nh_fd_close(((tls_server *)arg)->lfd); }

/* port 0 picks one. */
static tls_server *tls_server_start(const nh_tls_testcert *tc, const char *name, int port) {
  tls_server *s = calloc(1, sizeof *s);
  s->name = name;
  s->port = port;
  nh_tls_cert_file cert = {tc->cert_pem, tc->key_pem};
  nh_tls_config cfg = {0};
  cfg.role = NH_TLS_SERVER;
  cfg.certs = &cert;
  cfg.ncerts = 1;
  cfg.alpn = "http/1.1"; /* it speaks HTTP/1.1 only: a client offering h2 first gets this */
  char *err = NULL;
  CHECK_EQ(nh_tls_config_new(&cfg, &s->ctx, &err), NH_OK);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  s->rt = nh_runtime_new(&rc);
  nh_runtime_go(s->rt, 0, open_listener, s);
  CHECK_SOON(atomic_load(&s->listening));
  return s;
}

/* Stops accepting; open connections end when their clients close them. */
static void tls_server_stop(tls_server *s) {
  nh_runtime_go(s->rt, 0, close_listener, s);
  nh_runtime_free(s->rt);
  nh_tls_ctx_free(s->ctx);
  free(s);
}

static nh_transport *transport_trusting(const char *ca_file) {
  nh_tls_config tls = {0};
  tls.ca_file = ca_file;
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.tls = &tls;
  return nh_transport_new(&cfg); /* copies tls: the struct may go now */
}

static int get(nh_transport *t, const char *url, char **body) {
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  nh_response *r;
  *body = NULL;
  int e = nh_client_get(c, url, &r);
  if (e == NH_OK) {
    e = nh_response_read_all(r, 1 << 16, body, NULL);
    nh_response_close(r);
  }
  nh_client_free(c);
  return e;
}

NH_TEST(https_verified_and_pooled) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  tls_server *s = tls_server_start(tc, "server-a", 0);
  nh_transport *t = transport_trusting(tc->ca_pem);
  char url[128], *body;
  for (int i = 0; i < 20; i++) {
    snprintf(url, sizeof url, "https://%s:%d/x", i % 2 ? "localhost" : "127.0.0.1", s->port);
    CHECK_EQ(get(t, url, &body), NH_OK);
    CHECK_STR(body, "server-a");
    free(body);
  }
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 2); /* one per host name, each reused */
  CHECK_EQ(atomic_load(&s->handshakes), 2);
  /* A transport with the system roots does not trust the throwaway CA. */
  nh_transport *sys = nh_transport_new(NULL);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/x", s->port);
  CHECK_EQ(get(sys, url, &body), NH_ECERT);
  nh_transport_free(sys);
  nh_transport_free(t);
  tls_server_stop(s);
  nh_tls_testcert_free(tc);
}

/* Seed bug 12. */
NH_TEST(different_trust_never_shares_a_connection) {
  nh_tls_testcert *ca_a, *ca_b;
  CHECK_EQ(nh_tls_testcert_new(NULL, &ca_a), NH_OK);
  CHECK_EQ(nh_tls_testcert_new(NULL, &ca_b), NH_OK);
  nh_transport *ta = transport_trusting(ca_a->ca_pem), *tb = transport_trusting(ca_b->ca_pem);
  tls_server *s = tls_server_start(ca_a, "server-a", 0);
  int port = s->port;
  char url[128], *body;
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  CHECK_EQ(get(ta, url, &body), NH_OK);
  CHECK_STR(body, "server-a");
  free(body);
  CHECK_EQ(get(tb, url, &body), NH_ECERT); /* B does not trust A's server */
  tls_server_stop(s);
  /* The same host and port, now served under B's certificate. */
  s = tls_server_start(ca_b, "server-b", port);
  CHECK_EQ(s->port, port);
  CHECK_EQ(get(tb, url, &body), NH_OK);
  CHECK_STR(body, "server-b");
  free(body);
  CHECK_EQ(get(ta, url, &body), NH_ECERT); /* A's pooled connection is gone; B's server refused */
  /* A clone keeps its original's trust. */
  nh_transport *tb2 = nh_transport_clone(tb);
  CHECK_EQ(get(tb2, url, &body), NH_OK);
  CHECK_STR(body, "server-b");
  free(body);
  nh_transport_stats st;
  nh_transport_stats_get(tb2, &st);
  CHECK_EQ(st.dials, 1); /* its own pool */
  nh_transport_free(tb2);
  tls_server_stop(s);
  nh_transport_free(ta);
  nh_transport_free(tb);
  nh_tls_testcert_free(ca_a);
  nh_tls_testcert_free(ca_b);
}

/* Fibers of two loops share a pool of TLS connections: a connection one
 * loop used is reused by the other. */
typedef struct fan {
  nh_transport *t;
  char url[128];
  atomic_int ok;
  atomic_int first_error;
} fan;

static void fan_worker(void *arg) {
  fan *f = arg;
  for (int i = 0; i < 25; i++) {
    char *body;
    int e = get(f->t, f->url, &body);
    if (e == NH_OK && body && !strcmp(body, "server-a"))
      atomic_fetch_add(&f->ok, 1);
    else if (e != NH_OK)
      atomic_store(&f->first_error, e);
    free(body);
  }
}

NH_TEST(tls_connections_reused_across_loops) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  tls_server *s = tls_server_start(tc, "server-a", 0);
  fan f = {transport_trusting(tc->ca_pem), "", 0, 0};
  snprintf(f.url, sizeof f.url, "https://127.0.0.1:%d/", s->port);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  for (int i = 0; i < 8; i++)
    nh_runtime_go(rt, -1, fan_worker, &f);
  nh_runtime_free(rt);
  if (atomic_load(&f.first_error))
    fprintf(stderr, "a request failed: %s\n", nh_strerror(atomic_load(&f.first_error)));
  CHECK_EQ(atomic_load(&f.ok), 8 * 25);
  nh_transport_stats st;
  nh_transport_stats_get(f.t, &st);
  CHECK(st.dials <= 8);
  CHECK(st.reused >= 8 * 25 - 8);
  nh_transport_free(f.t);
  tls_server_stop(s);
  nh_tls_testcert_free(tc);
}

/* https through a proxy: a CONNECT tunnel, then TLS with the target. */
NH_TEST(https_through_a_connect_proxy) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  tls_server *s = tls_server_start(tc, "server-a", 0);
  script_tunnel_log log = {{0}, 0};
  scripted *proxy = scripted_start(script_tunnel, &log);
  char purl[128], url[128], *body;
  snprintf(purl, sizeof purl, "http://u:p@127.0.0.1:%d", proxy->port);
  nh_tls_config tls = {0};
  tls.ca_file = tc->ca_pem;
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.tls = &tls;
  cfg.proxy_url = purl;
  nh_transport *t = nh_transport_new(&cfg);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/in/tunnel", s->port);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(get(t, url, &body), NH_OK);
    CHECK_STR(body, "server-a");
    free(body);
  }
  char want[128];
  snprintf(want, sizeof want, "CONNECT 127.0.0.1:%d HTTP/1.1\r\n", s->port);
  CHECK_CONTAINS(log.connect, want);
  CHECK_CONTAINS(log.connect, "Proxy-Authorization: Basic dTpw\r\n"); /* u:p */
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1); /* the tunnel is pooled like any connection */
  nh_transport_free(t);
  scripted_stop(proxy);
  tls_server_stop(s);
  nh_tls_testcert_free(tc);
}

/* Go's NewTLSServer + Server.Client: an HTTPS test server and a client
 * that already trusts it. */
static void hello_tls(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "secure hello"); }

NH_TEST(test_server_client_trusts_its_server) {
  nh_test_server *ts = nh_test_server_new_tls(hello_tls, NULL, 1);
  CHECK(ts);
  CHECK(!strncmp(nh_test_server_url(ts), "https://", 8));
  nh_client *c = nh_test_server_client(ts);
  CHECK(c);
  CHECK(c == nh_test_server_client(ts));
  for (int i = 0; i < 3; i++) {
    nh_response *r;
    CHECK_EQ(nh_client_get(c, nh_test_server_url(ts), &r), NH_OK);
    char *body;
    CHECK_EQ(nh_response_read_all(r, 100, &body, NULL), NH_OK);
    CHECK_STR(body, "secure hello");
    free(body);
    nh_response_close(r);
  }
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.dials, 1);
  /* Another client, with the system roots, does not trust it. */
  nh_client *other = nh_client_new(NULL);
  nh_response *r;
  CHECK_EQ(nh_client_get(other, nh_test_server_url(ts), &r), NH_ECERT);
  nh_client_free(other);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The default TLS context (system roots) is made by the first https
 * request. Loading it parks the fiber; several fibers of one loop asking
 * at once must not block the loop while one of them waits for it (they
 * did when the load ran under a thread mutex: the loop stopped, and with
 * it the wake-up of the loading fiber). Each gets its answer: the test
 * server's certificate is not among the system's roots. */
typedef struct first_use {
  nh_client *c;
  const char *url;
  atomic_int certs, others;
} first_use;

static void first_use_get(void *arg) {
  first_use *f = arg;
  nh_response *r = NULL;
  int e = nh_client_get(f->c, f->url, &r);
  if (r)
    nh_response_close(r);
  atomic_fetch_add(e == NH_ECERT ? &f->certs : &f->others, 1);
}

NH_TEST(default_tls_context_made_by_fibers_of_one_loop) {
  nh_test_server *ts = nh_test_server_new_tls(hello_tls, NULL, 1);
  CHECK(ts);
  first_use f = {.c = nh_client_new(NULL), .url = nh_test_server_url(ts)};
  CHECK(f.c);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  nh_runtime *rt = nh_runtime_new(&rc);
  for (int i = 0; i < 4; i++)
    CHECK_EQ(nh_runtime_go(rt, 0, first_use_get, &f), NH_OK);
  for (int i = 0; i < 2000 && atomic_load(&f.certs) + atomic_load(&f.others) < 4; i++)
    usleep(10000); /* 20 s at most: a stuck loop fails here, not at the suite's timeout */
  CHECK_EQ(atomic_load(&f.certs), 4);
  CHECK_EQ(atomic_load(&f.others), 0);
  nh_runtime_free(rt);
  nh_client_free(f.c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
