/* The TLS 1.2 cipher policy over loopback, against OpenSSL peers built in
 * this program: a nethttp server refuses clients offering only CBC (or
 * static-RSA, or DHE) suites and lets a client choose among the AEAD ones;
 * TLS 1.3 is untouched; a nethttp client refuses a server that has only
 * CBC suites and offers nothing but forward-secret AEAD suites in TLS 1.2.
 * The nethttp server runs on a one-loop runtime, the OpenSSL client on the
 * test's thread; the OpenSSL server on a thread of its own, the nethttp
 * client on the test's thread. */
#include "nettest.h"
#include "tls_peer.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/time.h>

#define HS_DEADLINE (5 * NH_SEC)
#define MAX_CONNS 16

/* The TLS 1.2 suites nethttp uses (Mozilla's intermediate profile). */
static const char *const aead12[] = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
};
#define NAEAD12 (sizeof aead12 / sizeof aead12[0])

/* ---- certificates ---- */

static nh_tls_testcert *testcert(void) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  return tc;
}

static char *path_in(const char *dir, const char *name) {
  char *p;
  CHECK(asprintf(&p, "%s/%s", dir, name) > 0);
  return p;
}

/* The test certificate is EC (ECDSA suites only): an RSA-2048 self-signed
 * one in the same directory serves the ECDHE-RSA suites. */
static void rsa_cert(nh_tls_testcert *tc, char **cert_pem, char **key_pem) {
  EVP_PKEY *key = EVP_RSA_gen(2048);
  CHECK(key != NULL);
  X509 *x = X509_new();
  CHECK(x != NULL);
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  CHECK(X509_sign(x, key, EVP_sha256()) > 0);
  *cert_pem = path_in(tc->dir, "rsa.pem");
  *key_pem = path_in(tc->dir, "rsa-key.pem");
  FILE *f = fopen(*cert_pem, "w");
  CHECK(f && PEM_write_X509(f, x) == 1);
  fclose(f);
  f = fopen(*key_pem, "w");
  CHECK(f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
  fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

static nh_tls_ctx *new_ctx(const nh_tls_config *cfg) {
  nh_tls_ctx *ctx;
  char *err = NULL;
  int e = nh_tls_config_new(cfg, &ctx, &err);
  if (e)
    NH_FAIL("nh_tls_config_new: %s: %s", nh_err_name(e), err ? err : "");
  return ctx;
}

static nh_tls_ctx *server_ctx(const char *cert, const char *key) {
  nh_tls_cert_file cf = {cert, key};
  nh_tls_config cfg = {.role = NH_TLS_SERVER, .certs = &cf, .ncerts = 1};
  return new_ctx(&cfg);
}

/* ---- a nethttp server on a runtime: handshake, "ok", close ---- */

typedef struct hs_result {
  int err; /* 0, or nh_tls_server's error */
  char reason[128];
  char cipher[64];
} hs_result;

typedef struct hs_srv {
  nh_tls_ctx *ctx;
  nh_fd *lfd;
  int port, nconns;
  hs_result res[MAX_CONNS]; /* by accept order; read after nh_runtime_free */
  nh_runtime *rt;
} hs_srv;

typedef struct hs_conn {
  hs_srv *s;
  hs_result *r;
  nh_fd *fd;
} hs_conn;

static void hs_serve(void *arg) {
  hs_conn *a = arg;
  nh_tls_conn *c;
  a->r->err = nh_tls_server(a->s->ctx, a->fd, nh_deadline_after(HS_DEADLINE), &c);
  if (a->r->err) {
    snprintf(a->r->reason, sizeof a->r->reason, "%s", nh_tls_last_error(NULL));
    nh_fd_close(a->fd);
  } else {
    snprintf(a->r->cipher, sizeof a->r->cipher, "%s", nh_tls_cipher(c));
    nh_tls_write(c, "ok", 2, nh_deadline_after(HS_DEADLINE));
    nh_tls_close(c);
  }
  free(a);
}

static void hs_accept(void *arg) {
  hs_srv *s = arg;
  for (int i = 0; i < s->nconns; i++) {
    int fd = nh_fd_accept(s->lfd, NULL, NULL, nh_deadline_after(30 * NH_SEC));
    CHECK(fd >= 0);
    hs_conn *a = malloc(sizeof *a);
    *a = (hs_conn){s, &s->res[i], NULL};
    CHECK_EQ(nh_fd_open(fd, &a->fd), NH_OK);
    CHECK_EQ(nh_go(hs_serve, a), NH_OK);
  }
  nh_fd_close(s->lfd);
}

/* Serves exactly nconns connections (the runtime ends with them). */
static void hs_start(hs_srv *s, nh_tls_ctx *ctx, int nconns) {
  memset(s, 0, sizeof *s);
  CHECK(nconns <= MAX_CONNS);
  s->ctx = ctx;
  s->nconns = nconns;
  int lfd = listen_on(AF_INET, 0, 64);
  CHECK(lfd >= 0);
  s->port = local_port(lfd);
  CHECK_EQ(nh_fd_open(lfd, &s->lfd), NH_OK);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  s->rt = nh_runtime_new(&cfg);
  CHECK(s->rt != NULL);
  CHECK_EQ(nh_runtime_go(s->rt, 0, hs_accept, s), NH_OK);
}

/* Waits for every connection's fiber, so s->res is complete. */
static void hs_stop(hs_srv *s) { nh_runtime_free(s->rt); }

/* ---- an OpenSSL client on this thread ---- */

typedef struct peer_result {
  int ok; /* handshake done and the server's "ok" read */
  char cipher[64];
  char version[16];
} peer_result;

static int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {10, 0}; /* a hang fails the case instead of stalling it */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* Connects with TLS 1.2 up to max_version, offering ciphers12 (TLS 1.2
 * suites; NULL: OpenSSL's default) and suites13 (TLS 1.3; NULL: default).
 * The certificate is not checked: the policy is the subject here. */
static peer_result openssl_client(int port, int max_version, const char *ciphers12,
                                  const char *suites13) {
  peer_result r = {0};
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  CHECK(ctx != NULL);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  if (ciphers12)
    CHECK_EQ(SSL_CTX_set_cipher_list(ctx, ciphers12), 1);
  if (suites13)
    CHECK_EQ(SSL_CTX_set_ciphersuites(ctx, suites13), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  int fd = tcp_connect(port);
  SSL *ssl = SSL_new(ctx);
  CHECK(ssl != NULL);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    char buf[2];
    /* Under TLS 1.3 the server decides after our Finished: its "ok"
     * tells that it accepted. */
    r.ok = SSL_read(ssl, buf, 2) == 2 && memcmp(buf, "ok", 2) == 0;
    snprintf(r.cipher, sizeof r.cipher, "%s", SSL_get_cipher_name(ssl));
    snprintf(r.version, sizeof r.version, "%s", SSL_get_version(ssl));
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  return r;
}

/* ---- an OpenSSL server on a thread: one connection ---- */

typedef struct peer_srv {
  SSL_CTX *ctx;
  int lfd, port;
  pthread_t th;
  int ok;
  char reason[128];   /* why SSL_accept failed */
  char offered[2048]; /* the client's suites, ':'-separated */
  char cipher[64];    /* the suite chosen */
} peer_srv;

static void *peer_srv_thread(void *arg) {
  peer_srv *s = arg;
  int fd;
  SSL *ssl = tls_peer_accept(s->lfd, s->ctx, 30, 10, &fd);
  CHECK(ssl != NULL);
  if (SSL_accept(ssl) == 1) {
    s->ok = 1;
    snprintf(s->cipher, sizeof s->cipher, "%s", SSL_get_cipher_name(ssl));
    STACK_OF(SSL_CIPHER) *sk = SSL_get_client_ciphers(ssl);
    size_t o = 0;
    for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk); i++)
      o += (size_t)snprintf(s->offered + o, sizeof s->offered - o, "%s:",
                            SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i)));
    SSL_shutdown(ssl);
  } else {
    const char *why = ERR_reason_error_string(ERR_peek_error());
    snprintf(s->reason, sizeof s->reason, "%s", why ? why : "");
  }
  ERR_clear_error();
  tls_peer_close(ssl, fd);
  return NULL;
}

/* A TLS 1.2-only server with tc's EC certificate and only ciphers12. */
static void peer_srv_start(peer_srv *s, nh_tls_testcert *tc, const char *ciphers12) {
  memset(s, 0, sizeof *s);
  s->ctx = SSL_CTX_new(TLS_server_method());
  CHECK(s->ctx != NULL);
  SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(s->ctx, TLS1_2_VERSION);
  CHECK_EQ(SSL_CTX_set_cipher_list(s->ctx, ciphers12), 1);
  CHECK_EQ(SSL_CTX_use_certificate_chain_file(s->ctx, tc->cert_pem), 1);
  CHECK_EQ(SSL_CTX_use_PrivateKey_file(s->ctx, tc->key_pem, SSL_FILETYPE_PEM), 1);
  s->lfd = listen_on(AF_INET, 0, 8);
  CHECK(s->lfd >= 0);
  s->port = local_port(s->lfd);
  CHECK_EQ(pthread_create(&s->th, NULL, peer_srv_thread, s), 0);
}

static void peer_srv_stop(peer_srv *s) {
  pthread_join(s->th, NULL);
  close(s->lfd);
  SSL_CTX_free(s->ctx);
}

/* The nethttp client's handshake with the peer server; the cipher when it
 * succeeds. */
static int nethttp_dial(nh_tls_ctx *cctx, int port, char *cipher, size_t cap) {
  nh_fd *fd;
  CHECK_EQ(nh_dial_tcp("127.0.0.1", port, nh_deadline_after(5 * NH_SEC), NULL, &fd), NH_OK);
  nh_tls_conn *c;
  int e = nh_tls_client(cctx, fd, "localhost", nh_deadline_after(HS_DEADLINE), &c);
  if (e) {
    nh_fd_close(fd);
    return e;
  }
  snprintf(cipher, cap, "%s", nh_tls_cipher(c));
  nh_tls_close(c);
  return 0;
}

/* ---- the server ---- */

/* TLS 1.2 clients with nothing acceptable: CBC with ECDHE (SHA-1 and
 * SHA-2 MACs), static-RSA key exchange with CBC and with GCM, and DHE. The
 * last one, the same server accepting an AEAD suite, shows the refusals are
 * the policy's. */
NH_TEST(tls_server_refuses_cbc_only_client) {
  nh_tls_testcert *tc = testcert();
  char *rsa_pem, *rsa_key;
  rsa_cert(tc, &rsa_pem, &rsa_key);
  static const char *const refused_ec[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"};
  static const char *const refused_rsa[] = {"ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA256",
                                            "AES128-SHA256", "AES128-GCM-SHA256",
                                            "DHE-RSA-AES128-GCM-SHA256"};
  struct {
    const char *cert, *key;
    const char *const *refused;
    int n;
    const char *good;
  } runs[] = {
      {tc->cert_pem, tc->key_pem, refused_ec, 2, "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {rsa_pem, rsa_key, refused_rsa, 5, "ECDHE-RSA-AES128-GCM-SHA256"},
  };
  for (size_t k = 0; k < 2; k++) {
    nh_tls_ctx *sctx = server_ctx(runs[k].cert, runs[k].key);
    hs_srv s;
    hs_start(&s, sctx, runs[k].n + 1);
    for (int i = 0; i < runs[k].n; i++) {
      peer_result r = openssl_client(s.port, TLS1_2_VERSION, runs[k].refused[i], NULL);
      if (r.ok)
        NH_FAIL("a TLS 1.2 client offering only %s was accepted (%s)", runs[k].refused[i],
                r.cipher);
    }
    peer_result r = openssl_client(s.port, TLS1_2_VERSION, runs[k].good, NULL);
    CHECK(r.ok);
    CHECK_STR(r.version, "TLSv1.2");
    CHECK_STR(r.cipher, runs[k].good);
    hs_stop(&s);
    for (int i = 0; i < runs[k].n; i++) {
      CHECK_EQ(s.res[i].err, NH_ETLS);
      CHECK_CONTAINS(s.res[i].reason, "no shared cipher");
    }
    CHECK_EQ(s.res[runs[k].n].err, 0);
    CHECK_STR(s.res[runs[k].n].cipher, runs[k].good);
    nh_tls_ctx_free(sctx);
  }
  free(rsa_pem);
  free(rsa_key);
  nh_tls_testcert_free(tc);
}

/* Every suite of the profile is accepted alone, for the certificate type
 * it fits; offered together, the client's order decides (no server
 * preference), so a client without AES instructions gets ChaCha20. */
NH_TEST(tls_server_accepts_aead_client_chooses) {
  nh_tls_testcert *tc = testcert();
  char *rsa_pem, *rsa_key;
  rsa_cert(tc, &rsa_pem, &rsa_key);
  for (int rsa = 0; rsa < 2; rsa++) {
    nh_tls_ctx *sctx = rsa ? server_ctx(rsa_pem, rsa_key) : server_ctx(tc->cert_pem, tc->key_pem);
    const char *kind = rsa ? "ECDHE-RSA-" : "ECDHE-ECDSA-";
    hs_srv s;
    hs_start(&s, sctx, 3 + 2);
    int n = 0;
    for (size_t i = 0; i < NAEAD12; i++) {
      if (strncmp(aead12[i], kind, strlen(kind)) != 0)
        continue;
      peer_result r = openssl_client(s.port, TLS1_2_VERSION, aead12[i], NULL);
      if (!r.ok)
        NH_FAIL("a TLS 1.2 client offering only %s was refused", aead12[i]);
      CHECK_STR(r.version, "TLSv1.2");
      CHECK_STR(r.cipher, aead12[i]);
      n++;
    }
    CHECK_EQ(n, 3);
    char chacha[64], gcm[64], list[160];
    snprintf(chacha, sizeof chacha, "%sCHACHA20-POLY1305", kind);
    snprintf(gcm, sizeof gcm, "%sAES256-GCM-SHA384", kind);
    snprintf(list, sizeof list, "%s:%s", chacha, gcm);
    peer_result r = openssl_client(s.port, TLS1_2_VERSION, list, NULL);
    CHECK(r.ok);
    CHECK_STR(r.cipher, chacha);
    snprintf(list, sizeof list, "%s:%s", gcm, chacha);
    r = openssl_client(s.port, TLS1_2_VERSION, list, NULL);
    CHECK(r.ok);
    CHECK_STR(r.cipher, gcm);
    hs_stop(&s);
    for (int i = 0; i < 5; i++)
      CHECK_EQ(s.res[i].err, 0);
    nh_tls_ctx_free(sctx);
  }
  free(rsa_pem);
  free(rsa_key);
  nh_tls_testcert_free(tc);
}

/* TLS 1.3 keeps OpenSSL's suites, each one accepted, whatever the client's
 * TLS 1.2 list (here CBC only): the TLS 1.2 policy does not reach it. */
NH_TEST(tls_server_tls13_unchanged) {
  nh_tls_testcert *tc = testcert();
  nh_tls_ctx *sctx = server_ctx(tc->cert_pem, tc->key_pem);
  static const char *const suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                       "TLS_CHACHA20_POLY1305_SHA256"};
  hs_srv s;
  hs_start(&s, sctx, 4);
  peer_result r = openssl_client(s.port, TLS1_3_VERSION, NULL, NULL);
  CHECK(r.ok);
  CHECK_STR(r.version, "TLSv1.3");
  for (int i = 0; i < 3; i++) {
    r = openssl_client(s.port, TLS1_3_VERSION, "ECDHE-ECDSA-AES128-SHA", suites[i]);
    if (!r.ok)
      NH_FAIL("a TLS 1.3 client offering %s was refused", suites[i]);
    CHECK_STR(r.version, "TLSv1.3");
    CHECK_STR(r.cipher, suites[i]);
  }
  hs_stop(&s);
  for (int i = 0; i < 4; i++)
    CHECK_EQ(s.res[i].err, 0);
  nh_tls_ctx_free(sctx);
  nh_tls_testcert_free(tc);
}

/* ---- the client ---- */

/* A TLS 1.2 server with only CBC suites gets no handshake from the client;
 * the same server with an AEAD suite does. */
NH_TEST(tls_client_refuses_cbc_only_server) {
  nh_tls_testcert *tc = testcert();
  nh_tls_config cfg = {.role = NH_TLS_CLIENT, .ca_file = tc->ca_pem};
  nh_tls_ctx *cctx = new_ctx(&cfg);
  static const char *const cbc[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256",
                                    "ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA"};
  char cipher[64];
  for (int i = 0; i < 3; i++) {
    peer_srv ps;
    peer_srv_start(&ps, tc, cbc[i]);
    int e = nethttp_dial(cctx, ps.port, cipher, sizeof cipher);
    peer_srv_stop(&ps);
    if (e != NH_ETLS)
      NH_FAIL("server with only %s: %s (want NH_ETLS)", cbc[i], nh_err_name(e));
    CHECK_CONTAINS(nh_tls_last_error(NULL), "handshake failure");
    CHECK(!ps.ok);
    CHECK_CONTAINS(ps.reason, "no shared cipher");
  }
  peer_srv ps;
  peer_srv_start(&ps, tc, "ECDHE-ECDSA-AES128-GCM-SHA256");
  CHECK_EQ(nethttp_dial(cctx, ps.port, cipher, sizeof cipher), NH_OK);
  peer_srv_stop(&ps);
  CHECK(ps.ok);
  CHECK_STR(cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  nh_tls_ctx_free(cctx);
  nh_tls_testcert_free(tc);
}

/* What the client offers, as a server willing to take anything sees it:
 * exactly the profile's six TLS 1.2 suites, and OpenSSL's three TLS 1.3
 * ones. */
NH_TEST(tls_client_offers_only_aead) {
  nh_tls_testcert *tc = testcert();
  nh_tls_config cfg = {.role = NH_TLS_CLIENT, .ca_file = tc->ca_pem};
  nh_tls_ctx *cctx = new_ctx(&cfg);
  peer_srv ps;
  peer_srv_start(&ps, tc, "ALL");
  char cipher[64];
  CHECK_EQ(nethttp_dial(cctx, ps.port, cipher, sizeof cipher), NH_OK);
  peer_srv_stop(&ps);
  CHECK(ps.ok);
  CHECK_STR(cipher, ps.cipher);
  char want[1024] = "";
  size_t o = 0;
  static const char *const tls13[] = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                      "TLS_AES_128_GCM_SHA256"};
  for (int i = 0; i < 3; i++)
    o += (size_t)snprintf(want + o, sizeof want - o, "%s:", tls13[i]);
  for (size_t i = 0; i < NAEAD12; i++)
    o += (size_t)snprintf(want + o, sizeof want - o, "%s:", aead12[i]);
  CHECK_STR(ps.offered, want);
  nh_tls_ctx_free(cctx);
  nh_tls_testcert_free(tc);
}

NH_TEST_MAIN()
