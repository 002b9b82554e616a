/* The TLS layer over loopback: handshakes and echo on fibers and from a
 * plain thread, ALPN, verification (names, IPs, untrusted CAs, the testing
 * skip), per-configuration keys, SNI, mTLS, the server's handshake
 * deadline, reload, session resumption, deadlines and cancellation, and
 * independent peers (openssl s_client, curl). Certificates are made at run
 * time by nh_tls_testcert_new. */
#include "net/tls_internal.h" /* nh__tls_ticket_rotate */
#include "nettest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define HS_DEADLINE (5 * NH_SEC)

/* ---- certificates and contexts ---- */

static nh_tls_testcert *testcert(const char *const *hosts) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(hosts, &tc), NH_OK);
  return tc;
}

static nh_tls_ctx *new_ctx(const nh_tls_config *cfg) {
  nh_tls_ctx *ctx;
  char *err = NULL;
  int e = nh_tls_config_new(cfg, &ctx, &err);
  if (e)
    NH_FAIL("nh_tls_config_new: %s: %s", nh_err_name(e), err ? err : "");
  CHECK(err == NULL);
  return ctx;
}

static nh_tls_ctx *server_ctx(const char *cert, const char *key) {
  nh_tls_cert_file cf = {cert, key};
  /* The echo server speaks HTTP/1 (a server's default ALPN offers h2). */
  nh_tls_config cfg = {.role = NH_TLS_SERVER, .certs = &cf, .ncerts = 1, .alpn = "http/1.1"};
  return new_ctx(&cfg);
}

static nh_tls_ctx *client_ctx(const char *ca_file) {
  nh_tls_config cfg = {.role = NH_TLS_CLIENT, .ca_file = ca_file};
  return new_ctx(&cfg);
}

/* ---- an echo server on a fiber: one fiber per connection ---- */

typedef struct echo_srv {
  nh_tls_ctx *ctx;
  nh_fd *lfd;
  int port;
  int max_conns; /* stop after this many accepts (0: until lfd is closed) */
  int http;      /* answer one HTTP request instead of echoing */
  int handshakes_ok, handshakes_failed, last_err;
  int peer_verified;
  char last_reason[256];
  char alpn[64];
  char server_name[64];
  nh_wg *live; /* the accept loop and every connection's fiber */
} echo_srv;

typedef struct conn_arg {
  echo_srv *s;
  nh_fd *fd;
} conn_arg;

static void serve_http(nh_tls_conn *c) {
  char req[4096];
  size_t got = 0;
  while (got < sizeof req - 1) {
    ssize_t n = nh_tls_read(c, req + got, sizeof req - 1 - got, nh_deadline_after(5 * NH_SEC));
    if (n <= 0)
      return;
    got += (size_t)n;
    req[got] = '\0';
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  static const char resp[] =
      "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nhello tls";
  struct iovec iov[2] = {{(void *)resp, 40}, {(void *)(resp + 40), sizeof resp - 1 - 40}};
  nh_tls_writev(c, iov, 2, nh_deadline_after(5 * NH_SEC));
}

static void echo_conn(void *arg) {
  conn_arg *a = arg;
  echo_srv *s = a->s;
  nh_fd *fd = a->fd;
  free(a);
  nh_tls_conn *c;
  int e = nh_tls_server(s->ctx, fd, nh_deadline_after(HS_DEADLINE), &c);
  if (e) {
    s->handshakes_failed++;
    s->last_err = e;
    snprintf(s->last_reason, sizeof s->last_reason, "%s", nh_tls_last_error(NULL));
    nh_fd_close(fd);
    nh_wg_done(s->live);
    return;
  }
  s->handshakes_ok++;
  s->peer_verified = nh_tls_peer_verified(c);
  snprintf(s->alpn, sizeof s->alpn, "%s", nh_tls_alpn(c));
  const char *sn = nh_tls_server_name(c);
  snprintf(s->server_name, sizeof s->server_name, "%s", sn ? sn : "");
  if (s->http) {
    serve_http(c);
  } else {
    char buf[16384];
    ssize_t n;
    while ((n = nh_tls_read(c, buf, sizeof buf, nh_deadline_after(10 * NH_SEC))) > 0)
      if (nh_tls_write(c, buf, (size_t)n, nh_deadline_after(10 * NH_SEC)) != n)
        break;
  }
  nh_tls_close(c);
  nh_wg_done(s->live);
}

static void accept_loop(void *arg) {
  echo_srv *s = arg;
  for (int i = 0; !s->max_conns || i < s->max_conns; i++) {
    int fd = nh_fd_accept(s->lfd, NULL, NULL, NH_NO_DEADLINE);
    if (fd < 0)
      break; /* closed by srv_stop: lfd is gone */
    conn_arg *a = malloc(sizeof *a);
    a->s = s;
    CHECK_EQ(nh_fd_open(fd, &a->fd), NH_OK);
    nh_wg_add(s->live, 1);
    CHECK_EQ(nh_go(echo_conn, a), NH_OK);
  }
  if (s->lfd && s->max_conns) {
    nh_fd_close(s->lfd);
    s->lfd = NULL;
  }
  nh_wg_done(s->live);
}

static void srv_init(echo_srv *s, nh_tls_ctx *ctx) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  int lfd = listen_on(AF_INET, 0, 64);
  CHECK(lfd >= 0);
  s->port = local_port(lfd);
  CHECK_EQ(nh_fd_open(lfd, &s->lfd), NH_OK);
  s->live = nh_wg_new();
  nh_wg_add(s->live, 1);
}

/* On a fiber: serve on the caller's loop until srv_stop. */
static void srv_start(echo_srv *s, nh_tls_ctx *ctx) {
  srv_init(s, ctx);
  CHECK_EQ(nh_go(accept_loop, s), NH_OK);
}

/* Stops accepting and waits for every connection's fiber: they write into
 * s, which lives on the caller's stack. */
static void srv_stop(echo_srv *s) {
  if (s->lfd)
    nh_fd_close(s->lfd);
  s->lfd = NULL;
  CHECK_EQ(nh_wg_wait(s->live, nh_deadline_after(5 * NH_SEC)), NH_OK);
  nh_wg_free(s->live);
}

/* ---- a client ---- */

static int dial_tls(nh_tls_ctx *ctx, int port, const char *host, nh_tls_conn **out) {
  nh_fd *fd;
  CHECK_EQ(nh_dial_tcp("127.0.0.1", port, nh_deadline_after(5 * NH_SEC), NULL, &fd), NH_OK);
  int e = nh_tls_client(ctx, fd, host, nh_deadline_after(HS_DEADLINE), out);
  if (e)
    nh_fd_close(fd);
  return e;
}

static void read_full(nh_tls_conn *c, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = nh_tls_read(c, buf + got, n - got, nh_deadline_after(5 * NH_SEC));
    if (r <= 0)
      NH_FAIL("read: %zd (%s) after %zu of %zu: %s", r, nh_err_name((int)r), got, n,
              nh_tls_last_error(c));
    got += (size_t)r;
  }
}

static void roundtrip(nh_tls_conn *c, const char *msg) {
  size_t n = strlen(msg);
  CHECK_EQ(nh_tls_write(c, msg, n, nh_deadline_after(5 * NH_SEC)), n);
  char buf[256];
  CHECK(n < sizeof buf);
  read_full(c, buf, n);
  CHECK(memcmp(buf, msg, n) == 0);
}

/* ---- handshake and echo ---- */

typedef struct big_arg {
  nh_tls_conn *c;
  const unsigned char *data;
  size_t n;
  ssize_t result;
} big_arg;

/* Many small pieces and a few large ones: writev gathers the small. */
static void big_writer(void *arg) {
  big_arg *b = arg;
  struct iovec *iov = calloc(4096, sizeof *iov);
  int cnt = 0;
  size_t off = 0;
  while (off < b->n) {
    size_t len = cnt % 50 == 49 ? 40000 : 1 + (size_t)cnt % 300;
    if (len > b->n - off)
      len = b->n - off;
    iov[cnt++] = (struct iovec){(void *)(b->data + off), len};
    off += len;
    CHECK(cnt < 4096);
  }
  b->result = nh_tls_writev(b->c, iov, cnt, nh_deadline_after(10 * NH_SEC));
  free(iov);
}

static void echo_body(void *arg) {
  (void)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);
  echo_srv s;
  srv_start(&s, sctx);

  const char *hosts[] = {"127.0.0.1", "localhost", "[::1]", "localhost."};
  for (int i = 0; i < 4; i++) {
    nh_tls_conn *c;
    int e = dial_tls(cctx, s.port, hosts[i], &c);
    if (e)
      NH_FAIL("%s: %s: %s", hosts[i], nh_err_name(e), nh_tls_last_error(NULL));
    CHECK(nh_tls_peer_verified(c));
    CHECK_STR(nh_tls_alpn(c), "http/1.1");
    roundtrip(c, "hello over TLS");
    roundtrip(c, "and back again");
    /* A record read in part leaves the rest decrypted inside. */
    CHECK_EQ(nh_tls_write(c, "12345", 5, nh_deadline_after(NH_SEC)), 5);
    char one[5];
    read_full(c, one, 1);
    CHECK_EQ(nh_tls_pending(c), 4);
    CHECK_EQ(nh_tls_read_pending(c), 1);
    read_full(c, one + 1, 4);
    CHECK(memcmp(one, "12345", 5) == 0);
    CHECK_EQ(nh_tls_pending(c), 0);
    /* Everything that came was consumed: an idle wait may begin. */
    CHECK_EQ(nh_tls_read_pending(c), 0);
    nh_tls_close(c);
  }
  CHECK_EQ(s.handshakes_ok, 4);
  CHECK_STR(s.server_name, "localhost"); /* the last one; IPs send no SNI */

  /* 2 MiB each way at once: a writer fiber and this reader share one
   * connection, and both sides wait for the socket many times. */
  nh_tls_conn *c;
  CHECK_EQ(dial_tls(cctx, s.port, "localhost", &c), NH_OK);
  size_t n = 2u << 20;
  unsigned char *data = malloc(n), *back = malloc(n);
  for (size_t i = 0; i < n; i++)
    data[i] = (unsigned char)(i * 7 + i / 4096);
  big_arg b = {c, data, n, 0};
  CHECK_EQ(nh_go(big_writer, &b), NH_OK);
  read_full(c, (char *)back, n);
  CHECK_EQ(b.result, n);
  CHECK(memcmp(data, back, n) == 0);
  nh_tls_close(c);
  free(data);
  free(back);

  srv_stop(&s);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_handshake_echo_fiber) { run_on_fiber(echo_body, NULL); }

/* ---- ALPN ---- */

static void alpn_body(void *arg) {
  (void)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_cert_file cf = {tc->cert_pem, tc->key_pem};
  nh_tls_config scfg = {.role = NH_TLS_SERVER, .certs = &cf, .ncerts = 1, .alpn = "h2,http/1.1"};
  nh_tls_ctx *sctx = new_ctx(&scfg);
  echo_srv s;
  srv_start(&s, sctx);
  struct {
    const char *client, *want;
  } cases[] = {{"http/1.1", "http/1.1"},
               {"h2,http/1.1", "h2"},
               {"http/1.1,h2", "h2"},
               {"spdy/3", ""},
               {"", ""}};
  for (int i = 0; i < 5; i++) {
    nh_tls_config ccfg = {.role = NH_TLS_CLIENT, .ca_file = tc->ca_pem, .alpn = cases[i].client};
    nh_tls_ctx *cctx = new_ctx(&ccfg);
    nh_tls_conn *c;
    CHECK_EQ(dial_tls(cctx, s.port, "localhost", &c), NH_OK);
    CHECK_STR(nh_tls_alpn(c), cases[i].want);
    roundtrip(c, "x"); /* the server has recorded its side by now */
    CHECK_STR(s.alpn, cases[i].want);
    nh_tls_close(c);
    nh_tls_ctx_free(cctx);
  }
  nh_tls_config bad = {.role = NH_TLS_CLIENT, .alpn = "h2,,http/1.1"};
  nh_tls_ctx *ctx;
  char *err;
  CHECK_EQ(nh_tls_config_new(&bad, &ctx, &err), NH_EINVAL);
  CHECK_CONTAINS(err, "ALPN");
  free(err);
  srv_stop(&s);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_alpn) { run_on_fiber(alpn_body, NULL); }

/* ---- verification: names, the testing skip, untrusted CAs ---- */

static void verify_body(void *arg) {
  (void)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_testcert *other = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  srv_start(&s, sctx);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);
  nh_tls_conn *c = NULL;

  /* The name must match; so must an IP literal, against IP SANs. */
  CHECK_EQ(dial_tls(cctx, s.port, "wrong.example", &c), NH_ECERT);
  CHECK(c == NULL);
  CHECK_CONTAINS(nh_tls_last_error(NULL), "hostname mismatch");
  CHECK_EQ(dial_tls(cctx, s.port, "127.0.0.2", &c), NH_ECERT);
  CHECK_CONTAINS(nh_tls_last_error(NULL), "IP address mismatch");
  CHECK_EQ(dial_tls(cctx, s.port, "", &c), NH_EINVAL);
  /* server_name overrides the dialed host. */
  nh_tls_config ov = {.role = NH_TLS_CLIENT, .ca_file = tc->ca_pem, .server_name = "localhost"};
  nh_tls_ctx *octx = new_ctx(&ov);
  CHECK_EQ(dial_tls(octx, s.port, "wrong.example", &c), NH_OK);
  CHECK(nh_tls_peer_verified(c));
  roundtrip(c, "override");
  nh_tls_close(c);
  nh_tls_ctx_free(octx);

  /* The skip accepts it and says so. */
  nh_tls_config skip = {
      .role = NH_TLS_CLIENT, .ca_file = tc->ca_pem, .insecure_skip_verify_FOR_TESTING_ONLY = 1};
  nh_tls_ctx *sk = new_ctx(&skip);
  CHECK_EQ(dial_tls(sk, s.port, "wrong.example", &c), NH_OK);
  CHECK_EQ(nh_tls_peer_verified(c), 0);
  roundtrip(c, "skipped");
  nh_tls_close(c);
  CHECK_EQ(dial_tls(sk, s.port, "localhost", &c), NH_OK);
  CHECK_EQ(nh_tls_peer_verified(c), 1);
  nh_tls_close(c);
  nh_tls_ctx_free(sk);

  /* Another CA, and the system's roots, do not know this server. */
  nh_tls_ctx *octa = client_ctx(other->ca_pem);
  CHECK_EQ(dial_tls(octa, s.port, "localhost", &c), NH_ECERT);
  CHECK_CONTAINS(nh_tls_last_error(NULL), "local issuer");
  nh_tls_ctx_free(octa);
  nh_tls_ctx *sys = client_ctx(NULL);
  CHECK_EQ(dial_tls(sys, s.port, "localhost", &c), NH_ECERT);
  nh_tls_ctx_free(sys);

  /* A CA bundle with both CAs trusts both. */
  char bundle[4096];
  snprintf(bundle, sizeof bundle, "%s/bundle.pem", other->dir);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cat %s %s > %s", other->ca_pem, tc->ca_pem, bundle);
  CHECK_EQ(system(cmd), 0);
  nh_tls_ctx *both = client_ctx(bundle);
  CHECK_EQ(dial_tls(both, s.port, "localhost", &c), NH_OK);
  nh_tls_close(c);
  nh_tls_ctx_free(both);
  /* The server saw each refusal as the client's alert, not a timeout. */
  CHECK(s.handshakes_failed >= 4);
  CHECK_EQ(s.last_err, NH_ETLS);
  CHECK_CONTAINS(s.last_reason, "alert");

  srv_stop(&s);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(other);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_verify_names_and_cas) { run_on_fiber(verify_body, NULL); }

/* ---- configuration errors ---- */

NH_TEST(tls_config_errors) {
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_testcert *other = testcert(NULL);
  nh_tls_ctx *ctx = (nh_tls_ctx *)1;
  char *err = NULL;
  nh_tls_config none = {.role = NH_TLS_SERVER};
  CHECK_EQ(nh_tls_config_new(&none, &ctx, &err), NH_EINVAL);
  CHECK(ctx == NULL);
  CHECK_CONTAINS(err, "at least one certificate");
  free(err);
  nh_tls_cert_file missing = {"/nonexistent/cert.pem", tc->key_pem};
  nh_tls_config m = {.role = NH_TLS_SERVER, .certs = &missing, .ncerts = 1};
  CHECK_EQ(nh_tls_config_new(&m, &ctx, &err), NH_ENOENT);
  CHECK_CONTAINS(err, "/nonexistent/cert.pem");
  free(err);
  nh_tls_cert_file mismatched = {tc->cert_pem, other->key_pem};
  m.certs = &mismatched;
  CHECK_EQ(nh_tls_config_new(&m, &ctx, &err), NH_ETLS);
  CHECK_CONTAINS(err, "does not match");
  free(err);
  nh_tls_cert_file notpem = {tc->key_pem, tc->key_pem};
  m.certs = &notpem;
  CHECK_EQ(nh_tls_config_new(&m, &ctx, &err), NH_ETLS);
  free(err);
  nh_tls_config v = {.role = NH_TLS_CLIENT, .min_version = 0x0301};
  CHECK_EQ(nh_tls_config_new(&v, &ctx, NULL), NH_EINVAL);
  nh_tls_config ca = {.role = NH_TLS_CLIENT, .ca_file = "/nonexistent/ca.pem"};
  CHECK_EQ(nh_tls_config_new(&ca, &ctx, &err), NH_ENOENT);
  free(err);
  nh_tls_testcert_free(other);
  nh_tls_testcert_free(tc);
}

/* ---- the identity key: different CA bundles never share connections ---- */

static void key_body(void *arg) {
  (void)arg;
  nh_tls_testcert *a = testcert(NULL), *b = testcert(NULL);
  nh_tls_ctx *ka = client_ctx(a->ca_pem), *kb = client_ctx(b->ca_pem);
  nh_tls_ctx *ka2 = client_ctx(a->ca_pem);
  CHECK_EQ(strlen(nh_tls_ctx_key(ka)), 64);
  CHECK(strcmp(nh_tls_ctx_key(ka), nh_tls_ctx_key(kb)) != 0);
  CHECK_STR(nh_tls_ctx_key(ka), nh_tls_ctx_key(ka2));
  /* Any field that changes what is accepted changes the key. */
  nh_tls_config variants[] = {
      {.role = NH_TLS_CLIENT, .ca_file = a->ca_pem, .server_name = "localhost"},
      {.role = NH_TLS_CLIENT, .ca_file = a->ca_pem, .insecure_skip_verify_FOR_TESTING_ONLY = 1},
      {.role = NH_TLS_CLIENT, .ca_file = a->ca_pem, .alpn = "h2,http/1.1"},
      {.role = NH_TLS_CLIENT, .ca_file = a->ca_pem, .min_version = NH_TLS_VERSION_1_3},
      {.role = NH_TLS_CLIENT, .ca_file = a->ca_pem, .client_cert = {a->cert_pem, a->key_pem}},
      {.role = NH_TLS_CLIENT},
  };
  for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
    nh_tls_ctx *v = new_ctx(&variants[i]);
    CHECK(strcmp(nh_tls_ctx_key(v), nh_tls_ctx_key(ka)) != 0);
    nh_tls_ctx_free(v);
  }
  /* The same path with other contents is another configuration. */
  char copy[4096];
  snprintf(copy, sizeof copy, "%s/copied-ca.pem", a->dir);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cp %s %s", a->ca_pem, copy);
  CHECK_EQ(system(cmd), 0);
  nh_tls_ctx *c1 = client_ctx(copy);
  snprintf(cmd, sizeof cmd, "cp %s %s", b->ca_pem, copy);
  CHECK_EQ(system(cmd), 0);
  nh_tls_ctx *c2 = client_ctx(copy);
  CHECK(strcmp(nh_tls_ctx_key(c1), nh_tls_ctx_key(c2)) != 0);
  nh_tls_ctx_free(c1);
  nh_tls_ctx_free(c2);

  /* Each accepts only its own server. */
  echo_srv sa, sb;
  nh_tls_ctx *sca = server_ctx(a->cert_pem, a->key_pem), *scb = server_ctx(b->cert_pem, b->key_pem);
  srv_start(&sa, sca);
  srv_start(&sb, scb);
  nh_tls_conn *c;
  CHECK_EQ(dial_tls(ka, sa.port, "localhost", &c), NH_OK);
  nh_tls_close(c);
  CHECK_EQ(dial_tls(ka, sb.port, "localhost", &c), NH_ECERT);
  CHECK_EQ(dial_tls(kb, sb.port, "localhost", &c), NH_OK);
  nh_tls_close(c);
  CHECK_EQ(dial_tls(kb, sa.port, "localhost", &c), NH_ECERT);
  srv_stop(&sa);
  srv_stop(&sb);
  nh_tls_ctx_free(sca);
  nh_tls_ctx_free(scb);
  nh_tls_ctx_free(ka);
  nh_tls_ctx_free(ka2);
  nh_tls_ctx_free(kb);
  nh_tls_testcert_free(a);
  nh_tls_testcert_free(b);
}

NH_TEST(tls_ctx_key_per_ca_bundle) { run_on_fiber(key_body, NULL); }

/* ---- SNI picks the certificate ---- */

static void sni_body(void *arg) {
  (void)arg;
  const char *a_hosts[] = {"a.test", NULL}, *b_hosts[] = {"b.test", "*.b.test", NULL};
  nh_tls_testcert *tc = testcert(a_hosts);
  char *bcert, *bkey;
  CHECK_EQ(nh_tls_testcert_leaf(tc, "b", b_hosts, &bcert, &bkey), NH_OK);
  nh_tls_cert_file certs[] = {{tc->cert_pem, tc->key_pem}, {bcert, bkey}};
  nh_tls_config scfg = {.role = NH_TLS_SERVER, .certs = certs, .ncerts = 2};
  nh_tls_ctx *sctx = new_ctx(&scfg);
  echo_srv s;
  srv_start(&s, sctx);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);
  /* Verification passes only if the matching certificate came back. */
  const char *ok[] = {"a.test", "b.test", "www.b.test"};
  for (int i = 0; i < 3; i++) {
    nh_tls_conn *c;
    int e = dial_tls(cctx, s.port, ok[i], &c);
    if (e)
      NH_FAIL("%s: %s: %s", ok[i], nh_err_name(e), nh_tls_last_error(NULL));
    roundtrip(c, ok[i]);
    CHECK_STR(s.server_name, ok[i]);
    nh_tls_close(c);
  }
  /* An unknown name gets the default (a.test), which does not match. */
  nh_tls_conn *c;
  CHECK_EQ(dial_tls(cctx, s.port, "c.test", &c), NH_ECERT);
  srv_stop(&s);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  free(bcert);
  free(bkey);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_sni_picks_certificate) { run_on_fiber(sni_body, NULL); }

/* ---- mTLS ---- */

/* After a client handshake the server may still refuse (TLS 1.3 sends its
 * verdict after the client's Finished): a round trip tells. */
static int try_roundtrip(nh_tls_ctx *ctx, int port) {
  nh_tls_conn *c;
  int e = dial_tls(ctx, port, "localhost", &c);
  if (e)
    return e;
  ssize_t w = nh_tls_write(c, "hi", 2, nh_deadline_after(NH_SEC));
  char buf[2];
  ssize_t r = w == 2 ? nh_tls_read(c, buf, 2, nh_deadline_after(5 * NH_SEC)) : w;
  nh_tls_close(c);
  return r == 2 ? 0 : r == 0 ? NH_ECONNRESET : (int)r;
}

static void mtls_body(void *arg) {
  (void)arg;
  nh_tls_testcert *srv = testcert(NULL);
  const char *client_hosts[] = {"client.test", NULL};
  nh_tls_testcert *cli = testcert(client_hosts);
  nh_tls_testcert *stranger = testcert(client_hosts);
  nh_tls_cert_file cf = {srv->cert_pem, srv->key_pem};
  nh_tls_config scfg = {.role = NH_TLS_SERVER,
                        .certs = &cf,
                        .ncerts = 1,
                        .client_auth = NH_TLS_REQUIRE_CLIENT_CERT,
                        .client_ca_file = cli->ca_pem};
  nh_tls_ctx *sctx = new_ctx(&scfg);
  echo_srv s;
  srv_start(&s, sctx);

  /* Required and absent: refused. */
  nh_tls_ctx *anon = client_ctx(srv->ca_pem);
  CHECK(try_roundtrip(anon, s.port) != 0);
  CHECK_EQ(s.handshakes_ok, 0);
  CHECK_EQ(s.last_err, NH_ECERT);
  nh_tls_ctx_free(anon);

  /* Presented by a stranger's CA: refused. */
  nh_tls_config bad = {.role = NH_TLS_CLIENT,
                       .ca_file = srv->ca_pem,
                       .client_cert = {stranger->cert_pem, stranger->key_pem}};
  nh_tls_ctx *bctx = new_ctx(&bad);
  CHECK(try_roundtrip(bctx, s.port) != 0);
  CHECK_EQ(s.handshakes_ok, 0);
  CHECK_EQ(s.last_err, NH_ECERT);
  nh_tls_ctx_free(bctx);

  /* Presented and trusted: accepted and verified. */
  nh_tls_config good = {
      .role = NH_TLS_CLIENT, .ca_file = srv->ca_pem, .client_cert = {cli->cert_pem, cli->key_pem}};
  nh_tls_ctx *gctx = new_ctx(&good);
  CHECK_EQ(try_roundtrip(gctx, s.port), 0);
  CHECK_EQ(s.handshakes_ok, 1);
  CHECK_EQ(s.peer_verified, 1);
  nh_tls_ctx_free(gctx);

  srv_stop(&s);
  nh_tls_ctx_free(sctx);

  /* Optional: anonymous clients pass, unverified. */
  scfg.client_auth = NH_TLS_VERIFY_IF_GIVEN;
  sctx = new_ctx(&scfg);
  srv_start(&s, sctx);
  anon = client_ctx(srv->ca_pem);
  CHECK_EQ(try_roundtrip(anon, s.port), 0);
  CHECK_EQ(s.peer_verified, 0);
  nh_tls_ctx_free(anon);
  srv_stop(&s);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(stranger);
  nh_tls_testcert_free(cli);
  nh_tls_testcert_free(srv);
}

NH_TEST(tls_mtls_required_and_presented) { run_on_fiber(mtls_body, NULL); }

/* ---- the server's handshake deadline ---- */

typedef struct hs_race {
  nh_tls_ctx *cctx;
  int port;
  nh_time done_at;
} hs_race;

static void good_client(void *arg) {
  hs_race *h = arg;
  nh_tls_conn *c;
  CHECK_EQ(dial_tls(h->cctx, h->port, "localhost", &c), NH_OK);
  roundtrip(c, "meanwhile");
  h->done_at = nh_now();
  nh_tls_close(c);
}

static void silent_body(void *arg) {
  (void)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_cert_file cf = {tc->cert_pem, tc->key_pem};
  nh_tls_config scfg = {
      .role = NH_TLS_SERVER, .certs = &cf, .ncerts = 1, .handshake_timeout = 2 * NH_SEC};
  nh_tls_ctx *sctx = new_ctx(&scfg);
  echo_srv s;
  srv_start(&s, sctx);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);

  nh_fd *silent;
  nh_time t0 = nh_now(); /* before the accept that starts the deadline */
  CHECK_EQ(nh_dial_tcp("127.0.0.1", s.port, nh_deadline_after(NH_SEC), NULL, &silent), NH_OK);
  hs_race h = {cctx, s.port, 0};
  CHECK_EQ(nh_go(good_client, &h), NH_OK);
  char buf[64];
  ssize_t r = nh_fd_read(silent, buf, sizeof buf, nh_deadline_after(10 * NH_SEC));
  nh_time closed_at = nh_now();
  nh_dur took = ms_since(t0);
  CHECK(r == 0 || r == NH_ECONNRESET); /* closed by the server */
  /* At the handshake deadline (the server's clock may lag a loop turn),
   * not at this read's. */
  CHECK(took >= 1950 && took < 8000);
  /* The good client was served while the silent one waited. */
  CHECK(h.done_at != 0 && h.done_at < closed_at);
  CHECK_EQ(s.handshakes_ok, 1);
  CHECK_EQ(s.handshakes_failed, 1);
  CHECK_EQ(s.last_err, NH_ETIMEDOUT);
  nh_fd_close(silent);
  srv_stop(&s);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_server_handshake_deadline) { run_on_fiber(silent_body, NULL); }

/* ---- plain HTTP to a TLS port: refused at once, with a reason ---- */

static void garbage_body(void *arg) {
  (void)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  srv_start(&s, sctx);
  nh_fd *fd;
  CHECK_EQ(nh_dial_tcp("127.0.0.1", s.port, nh_deadline_after(NH_SEC), NULL, &fd), NH_OK);
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK_EQ(nh_fd_write(fd, req, sizeof req - 1, nh_deadline_after(NH_SEC)), sizeof req - 1);
  nh_time t0 = nh_now();
  char buf[256];
  ssize_t r;
  while ((r = nh_fd_read(fd, buf, sizeof buf, nh_deadline_after(5 * NH_SEC))) > 0)
    ; /* an alert, then the close */
  CHECK(r == 0 || r == NH_ECONNRESET);
  CHECK(ms_since(t0) < 4000); /* at once, not at the read's 5 s deadline */
  CHECK_EQ(s.handshakes_failed, 1);
  CHECK_EQ(s.last_err, NH_ETLS);
  CHECK_CONTAINS(s.last_reason, "http request");
  nh_fd_close(fd);
  /* A client that leaves before its ClientHello: the end of the stream. */
  CHECK_EQ(nh_dial_tcp("127.0.0.1", s.port, nh_deadline_after(NH_SEC), NULL, &fd), NH_OK);
  nh_fd_close(fd);
  CHECK_SOON(s.handshakes_failed >= 2);
  CHECK_EQ(s.handshakes_failed, 2);
  CHECK_EQ(s.last_err, NH_EEOF);
  srv_stop(&s);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_plain_http_refused) { run_on_fiber(garbage_body, NULL); }

/* ---- reload ---- */

static void copy_file(const char *from, const char *to) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cp %s %s.tmp && mv %s.tmp %s", from, to, to, to);
  CHECK_EQ(system(cmd), 0);
}

static void reload_body(void *arg) {
  (void)arg;
  const char *a_hosts[] = {"a.test", NULL}, *b_hosts[] = {"b.test", NULL};
  nh_tls_testcert *tc = testcert(a_hosts);
  char *bcert, *bkey;
  CHECK_EQ(nh_tls_testcert_leaf(tc, "b", b_hosts, &bcert, &bkey), NH_OK);
  char live[4096], live_key[4096];
  snprintf(live, sizeof live, "%s/live.pem", tc->dir);
  snprintf(live_key, sizeof live_key, "%s/live-key.pem", tc->dir);
  copy_file(tc->cert_pem, live);
  copy_file(tc->key_pem, live_key);
  nh_tls_ctx *sctx = server_ctx(live, live_key);
  char key_before[65];
  snprintf(key_before, sizeof key_before, "%s", nh_tls_ctx_key(sctx));
  echo_srv s;
  srv_start(&s, sctx);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);

  nh_tls_conn *old;
  CHECK_EQ(dial_tls(cctx, s.port, "a.test", &old), NH_OK);
  roundtrip(old, "before");

  copy_file(bcert, live);
  copy_file(bkey, live_key);
  char *err = NULL;
  CHECK_EQ(nh_tls_ctx_reload(sctx, &err), NH_OK);
  CHECK(err == NULL);
  CHECK_STR(nh_tls_ctx_key(sctx), key_before);
  /* Full handshakes only: a.test's cached session would still resume. */
  nh_tls_config fresh = {
      .role = NH_TLS_CLIENT, .ca_file = tc->ca_pem, .session_cache_size = NH_TLS_NO_SESSION_CACHE};
  nh_tls_ctx *fctx = new_ctx(&fresh);
  nh_tls_conn *c;
  CHECK_EQ(dial_tls(fctx, s.port, "b.test", &c), NH_OK);
  roundtrip(c, "new certificate");
  nh_tls_close(c);
  CHECK_EQ(dial_tls(fctx, s.port, "a.test", &c), NH_ECERT);
  roundtrip(old, "the old connection still works");

  /* A broken file: reload fails, the last good certificate stays. */
  FILE *f = fopen(live, "w");
  fputs("not a certificate\n", f);
  fclose(f);
  CHECK_EQ(nh_tls_ctx_reload(sctx, &err), NH_ETLS);
  CHECK_CONTAINS(err, "live.pem");
  free(err);
  CHECK_EQ(dial_tls(fctx, s.port, "b.test", &c), NH_OK);
  roundtrip(c, "still b");
  nh_tls_close(c);
  roundtrip(old, "and the old one");
  nh_tls_close(old);

  srv_stop(&s);
  nh_tls_ctx_free(fctx);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  free(bcert);
  free(bkey);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_reload_new_connections_only) { run_on_fiber(reload_body, NULL); }

/* ---- session resumption (tickets, the client's cache) ---- */

static void resume_body(void *arg) {
  int min_version = *(int *)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  srv_start(&s, sctx);
  nh_tls_config ccfg = {.role = NH_TLS_CLIENT, .ca_file = tc->ca_pem, .min_version = min_version};
  nh_tls_ctx *cctx = new_ctx(&ccfg);
  nh_tls_config nocache = {
      .role = NH_TLS_CLIENT, .ca_file = tc->ca_pem, .session_cache_size = NH_TLS_NO_SESSION_CACHE};
  nh_tls_ctx *nctx = new_ctx(&nocache);
  for (int i = 0; i < 3; i++) {
    nh_tls_conn *c, *n;
    CHECK_EQ(dial_tls(cctx, s.port, "localhost", &c), NH_OK);
    CHECK_EQ(nh_tls_session_reused(c), i > 0);
    CHECK(nh_tls_peer_verified(c));
    roundtrip(c, "resume"); /* TLS 1.3 tickets come after the handshake */
    nh_tls_close(c);
    CHECK_EQ(dial_tls(nctx, s.port, "localhost", &n), NH_OK);
    CHECK_EQ(nh_tls_session_reused(n), 0);
    roundtrip(n, "fresh");
    nh_tls_close(n);
  }
  /* Tickets survive a reload and the next day's key; a week later their
   * key is gone and the handshake is a full one. */
  nh_tls_conn *c;
  CHECK_EQ(nh_tls_ctx_reload(sctx, NULL), NH_OK);
  CHECK_EQ(nh__tls_ticket_rotate(sctx), NH_OK);
  CHECK_EQ(dial_tls(cctx, s.port, "localhost", &c), NH_OK);
  CHECK_EQ(nh_tls_session_reused(c), 1);
  roundtrip(c, "renewed");
  nh_tls_close(c);
  for (int i = 0; i < 7; i++)
    CHECK_EQ(nh__tls_ticket_rotate(sctx), NH_OK);
  CHECK_EQ(dial_tls(cctx, s.port, "localhost", &c), NH_OK);
  CHECK_EQ(nh_tls_session_reused(c), 0);
  roundtrip(c, "full handshake");
  nh_tls_close(c);
  /* Sessions are per name: another name starts afresh. */
  CHECK_EQ(dial_tls(cctx, s.port, "127.0.0.1", &c), NH_OK);
  CHECK_EQ(nh_tls_session_reused(c), 0);
  nh_tls_close(c);
  srv_stop(&s);
  nh_tls_ctx_free(nctx);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_session_resumption) {
  int v = NH_TLS_VERSION_1_3;
  run_on_fiber(resume_body, &v);
}

/* ---- deadlines and cancellation on reads ---- */

static void cancel_later(void *arg) {
  nh_sleep(100 * NH_MSEC);
  nh_ctx_cancel(arg);
}

static void deadline_body(void *arg) {
  (void)arg;
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  srv_start(&s, sctx);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);
  nh_tls_conn *c;
  CHECK_EQ(dial_tls(cctx, s.port, "localhost", &c), NH_OK);
  char buf[16];
  nh_time t0 = nh_now();
  CHECK_EQ(nh_tls_read(c, buf, sizeof buf, nh_deadline_after(150 * NH_MSEC)), NH_ETIMEDOUT);
  CHECK(ms_since(t0) >= 140);
  roundtrip(c, "after a timeout");

  nh_ctx *ctx, *prev = nh_fiber_ctx();
  CHECK_EQ(nh_ctx_with_cancel(prev, &ctx), NH_OK);
  nh_fiber_set_ctx(ctx);
  CHECK_EQ(nh_go(cancel_later, ctx), NH_OK);
  t0 = nh_now();
  CHECK_EQ(nh_tls_read(c, buf, sizeof buf, NH_NO_DEADLINE), NH_ECANCELED);
  CHECK(ms_since(t0) >= 90);
  nh_fiber_set_ctx(prev);
  nh_ctx_free(ctx);
  nh_tls_close(c);

  /* A handshake against a server that never answers ends at its deadline. */
  int lfd = listen_on(AF_INET, 0, 4);
  nh_fd *fd;
  CHECK_EQ(nh_dial_tcp("127.0.0.1", local_port(lfd), nh_deadline_after(NH_SEC), NULL, &fd), NH_OK);
  t0 = nh_now();
  CHECK_EQ(nh_tls_client(cctx, fd, "localhost", nh_deadline_after(200 * NH_MSEC), &c),
           NH_ETIMEDOUT);
  CHECK(ms_since(t0) >= 190 && ms_since(t0) < 8000); /* only its deadline ends it */
  nh_fd_close(fd);
  close(lfd);

  srv_stop(&s);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_read_deadline_and_cancel) { run_on_fiber(deadline_body, NULL); }

/* ---- a plain-thread client against a server on a runtime ---- */

static nh_runtime *serve_on_runtime(echo_srv *s, nh_tls_ctx *ctx, int max_conns, int http) {
  srv_init(s, ctx);
  s->max_conns = max_conns;
  s->http = http;
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  nh_runtime *rt = nh_runtime_new(&cfg);
  CHECK(rt != NULL);
  CHECK_EQ(nh_runtime_go(rt, 0, accept_loop, s), NH_OK);
  return rt;
}

NH_TEST(tls_plain_thread_client) {
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  nh_runtime *rt = serve_on_runtime(&s, sctx, 1, 0);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);
  nh_tls_conn *c;
  CHECK(!nh_in_fiber());
  CHECK_EQ(dial_tls(cctx, s.port, "127.0.0.1", &c), NH_OK);
  roundtrip(c, "from a plain thread");
  struct iovec iov[3] = {{"a", 1}, {"bc", 2}, {"def", 3}};
  CHECK_EQ(nh_tls_writev(c, iov, 3, nh_deadline_after(NH_SEC)), 6);
  char buf[6];
  read_full(c, buf, 6);
  CHECK(memcmp(buf, "abcdef", 6) == 0);
  nh_time t0 = nh_now();
  CHECK_EQ(nh_tls_read(c, buf, 1, nh_deadline_after(100 * NH_MSEC)), NH_ETIMEDOUT);
  CHECK(ms_since(t0) >= 90);
  nh_tls_close(c);
  nh_runtime_free(rt);
  nh_wg_free(s.live);
  CHECK_EQ(s.handshakes_ok, 1);
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

/* ---- one context shared by fibers of several loops ---- */

typedef struct shared_arg {
  nh_tls_ctx *cctx;
  int port;
  atomic_int ok, reused;
} shared_arg;

static void shared_client(void *arg) {
  shared_arg *a = arg;
  for (int i = 0; i < 2; i++) {
    nh_tls_conn *c;
    CHECK_EQ(dial_tls(a->cctx, a->port, "localhost", &c), NH_OK);
    roundtrip(c, "shared");
    atomic_fetch_add(&a->reused, nh_tls_session_reused(c));
    nh_tls_close(c);
    atomic_fetch_add(&a->ok, 1);
  }
}

NH_TEST(tls_ctx_shared_across_loops) {
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  nh_tls_ctx *cctx = client_ctx(tc->ca_pem);
  echo_srv s;
  srv_init(&s, sctx);
  s.max_conns = 16;
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 3;
  nh_runtime *rt = nh_runtime_new(&cfg);
  CHECK(rt != NULL);
  CHECK_EQ(nh_runtime_go(rt, 0, accept_loop, &s), NH_OK);
  shared_arg a = {.cctx = cctx, .port = s.port};
  for (int i = 0; i < 8; i++)
    CHECK_EQ(nh_runtime_go(rt, 1 + i % 2, shared_client, &a), NH_OK);
  nh_runtime_free(rt);
  nh_wg_free(s.live);
  CHECK_EQ(atomic_load(&a.ok), 16);
  CHECK_EQ(s.handshakes_ok, 16);
  CHECK(atomic_load(&a.reused) >= 1); /* second rounds find the cache */
  nh_tls_ctx_free(cctx);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

/* ---- independent peers ---- */

typedef struct child {
  pid_t pid;
  int in, out; /* its stdin (ours to write), its stdout (ours to read) */
} child;

static child spawn(char *const argv[]) {
  int pin[2], pout[2];
  CHECK_EQ(pipe2(pin, O_CLOEXEC), 0);
  CHECK_EQ(pipe2(pout, O_CLOEXEC), 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    dup2(pout[1], 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(pin[0]);
  close(pout[1]);
  return (child){pid, pin[1], pout[0]};
}

/* Reads the child's output until it contains want, it ends, or 10 s pass. */
static int read_until(child *ch, char *buf, size_t cap, const char *want) {
  size_t got = 0;
  nh_time deadline = nh_deadline_after(10 * NH_SEC);
  buf[0] = '\0';
  while (got < cap - 1 && !strstr(buf, want)) {
    nh_dur left = deadline - nh_now();
    struct pollfd p = {.fd = ch->out, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, (int)(left / NH_MSEC) + 1) <= 0)
      return 0;
    ssize_t n = read(ch->out, buf + got, cap - 1 - got);
    if (n <= 0)
      break;
    got += (size_t)n;
    buf[got] = '\0';
  }
  return strstr(buf, want) != NULL;
}

static int child_end(child *ch, int kill_it) {
  if (kill_it)
    kill(ch->pid, SIGTERM);
  close(ch->in);
  close(ch->out);
  int st = 0;
  CHECK_EQ(waitpid(ch->pid, &st, 0), ch->pid);
  return st;
}

NH_TEST(tls_openssl_s_client_peer) {
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  nh_runtime *rt = serve_on_runtime(&s, sctx, 1, 0);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", s.port);
  char *argv[] = {"openssl",
                  "s_client",
                  "-connect",
                  addr,
                  "-CAfile",
                  tc->ca_pem,
                  "-servername",
                  "localhost",
                  "-verify_hostname",
                  "localhost",
                  "-verify_return_error",
                  "-alpn",
                  "http/1.1",
                  "-quiet",
                  NULL};
  child ch = spawn(argv);
  CHECK_EQ(write(ch.in, "ping from s_client\n", 19), 19);
  char out[8192];
  if (!read_until(&ch, out, sizeof out, "ping from s_client"))
    NH_FAIL("no echo from the server; s_client said: %s", out);
  child_end(&ch, 1);
  nh_runtime_free(rt);
  nh_wg_free(s.live);
  CHECK_EQ(s.handshakes_ok, 1);
  CHECK_STR(s.alpn, "http/1.1");
  CHECK_STR(s.server_name, "localhost");
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST(tls_curl_peer) {
  nh_tls_testcert *tc = testcert(NULL);
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  echo_srv s;
  nh_runtime *rt = serve_on_runtime(&s, sctx, 2, 1);
  char url[128], resolve[128];
  snprintf(url, sizeof url, "https://localhost:%d/", s.port);
  snprintf(resolve, sizeof resolve, "localhost:%d:127.0.0.1", s.port);
  char *argv[] = {"curl",     "-sS",       "--max-time", "10", "--cacert",
                  tc->ca_pem, "--resolve", resolve,      url,  NULL};
  child ch = spawn(argv);
  char out[8192];
  CHECK(read_until(&ch, out, sizeof out, "hello tls"));
  CHECK_EQ(child_end(&ch, 0), 0);
  /* By IP, against the certificate's IP SAN. */
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
  char *argv2[] = {"curl", "-sS", "--max-time", "10", "--cacert", tc->ca_pem, url, NULL};
  ch = spawn(argv2);
  CHECK(read_until(&ch, out, sizeof out, "hello tls"));
  CHECK_EQ(child_end(&ch, 0), 0);
  nh_runtime_free(rt);
  nh_wg_free(s.live);
  CHECK_EQ(s.handshakes_ok, 2);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

NH_TEST_MAIN()
