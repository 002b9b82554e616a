/* ALPN from the transport's configuration, over real TLS on loopback.
 *
 * The peer is a small blocking OpenSSL server of the test's own (not
 * nethttp's), so what it records is what went over the wire: the client's
 * offer as its select callback saw it. Its own protocol list and what it
 * does when nothing matches are set per case, as a server may: choose one
 * of the client's protocols, choose none (OpenSSL's NOACK: the handshake
 * goes on without ALPN, and HTTP/1.1 is spoken), or refuse the handshake. */
#include "harness.h"
#include "tls_peer.h"

#include <arpa/inet.h>
#include <nethttp.h>
#include <nethttp/tls.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

typedef struct alpn_server {
  SSL_CTX *ctx;
  int lfd, port;
  pthread_t th;
  unsigned char protos[64]; /* the server's list, wire format */
  unsigned protos_len;
  int refuse; /* no common protocol: a fatal alert instead of NOACK */
  unsigned char offer[256]; /* the client's offer, wire format */
  unsigned offer_len;
  int offered; /* the callback ran */
  int handshake_ok;
  char request[1024]; /* the request head it read */
} alpn_server;

static int select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  alpn_server *s = arg;
  memcpy(s->offer, in, inlen);
  s->offer_len = inlen;
  s->offered = 1;
  /* The server's preference first, among what the client offered. */
  if (SSL_select_next_proto((unsigned char **)out, outlen, s->protos, s->protos_len, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_OK;
  return s->refuse ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

/* Serves one connection: the handshake, one request head, one answer. */
static void *serve_one(void *arg) {
  alpn_server *s = arg;
  int fd;
  SSL *ssl = tls_peer_accept(s->lfd, s->ctx, 20, 20, &fd);
  if (!ssl)
    return NULL;
  if (SSL_accept(ssl) == 1) {
    s->handshake_ok = 1;
    size_t len = 0;
    while (len < sizeof s->request - 1 && !strstr(s->request, "\r\n\r\n")) {
      int n = SSL_read(ssl, s->request + len, (int)(sizeof s->request - 1 - len));
      if (n <= 0)
        break;
      len += (size_t)n;
      s->request[len] = 0;
    }
    if (strstr(s->request, "\r\n\r\n")) {
      static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      SSL_write(ssl, resp, (int)sizeof resp - 1);
      SSL_shutdown(ssl);
    }
  }
  tls_peer_close(ssl, fd);
  ERR_clear_error();
  return NULL;
}

/* protos: the server's list in wire format ("\x08http/1.1"). */
static alpn_server *server_start(const nh_tls_testcert *tc, const char *protos, int refuse) {
  /* OpenSSL writes with plain send(): a client that hung up (as one that
   * refuses the chosen protocol does) must not kill the process. */
  signal(SIGPIPE, SIG_IGN);
  alpn_server *s = calloc(1, sizeof *s);
  s->ctx = SSL_CTX_new(TLS_server_method());
  CHECK(s->ctx != NULL);
  CHECK_EQ(SSL_CTX_use_certificate_chain_file(s->ctx, tc->cert_pem), 1);
  CHECK_EQ(SSL_CTX_use_PrivateKey_file(s->ctx, tc->key_pem, SSL_FILETYPE_PEM), 1);
  s->protos_len = (unsigned)strlen(protos);
  memcpy(s->protos, protos, s->protos_len);
  s->refuse = refuse;
  SSL_CTX_set_alpn_select_cb(s->ctx, select_cb, s);
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
  CHECK_EQ(listen(s->lfd, 8), 0);
  socklen_t len = sizeof a;
  getsockname(s->lfd, (struct sockaddr *)&a, &len);
  s->port = ntohs(a.sin_port);
  CHECK_EQ(pthread_create(&s->th, NULL, serve_one, s), 0);
  return s;
}

/* Waits for the one connection to end (what it recorded stays readable). */
static void server_join(alpn_server *s) { pthread_join(s->th, NULL); }

static void server_free(alpn_server *s) {
  close(s->lfd);
  SSL_CTX_free(s->ctx);
  free(s);
}

/* A transport trusting tc's CA, offering alpn (NULL: the default). */
static nh_transport *transport_offering(const nh_tls_testcert *tc, const char *const *alpn) {
  nh_tls_config tls = {0};
  tls.ca_file = tc->ca_pem;
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.tls = &tls;
  cfg.alpn = alpn;
  return nh_transport_new(&cfg);
}

/* GET https://127.0.0.1:port/ through t: the error, and the body on success. */
static int get(nh_transport *t, int port, char **body) {
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  char url[64];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  nh_response *r;
  *body = NULL;
  int e = nh_client_get(c, url, &r);
  if (e == NH_OK) {
    CHECK_EQ(nh_response_status(r), 200);
    e = nh_response_read_all(r, 1024, body, NULL);
    nh_response_close(r);
  }
  nh_client_free(c);
  return e;
}

static nh_tls_testcert *testcert(void) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  return tc;
}

/* One GET through a transport offering offer (NULL: the default) to a
 * server that chooses http/1.1; answered "ok". Returns the finished server,
 * with what it was offered. */
static alpn_server *get_through(nh_tls_testcert *tc, const char *const *offer) {
  alpn_server *s = server_start(tc, "\x08http/1.1", 0);
  nh_transport *t = transport_offering(tc, offer);
  CHECK(t != NULL);
  char *body;
  CHECK_EQ(get(t, s->port, &body), NH_OK);
  CHECK_STR(body, "ok"); /* the server chose http/1.1: spoken as such */
  free(body);
  nh_transport_free(t);
  server_join(s);
  CHECK(s->offered);
  return s;
}

/* Go's DefaultTransport: h2 first, then http/1.1 (a server choosing
 * http/1.1 is spoken to in HTTP/1.1). */
NH_TEST(default_offer_is_h2_then_http11) {
  nh_tls_testcert *tc = testcert();
  alpn_server *s = get_through(tc, NULL);
  CHECK_EQ(s->offer_len, 12);
  CHECK(memcmp(s->offer, "\x02h2\x08http/1.1", 12) == 0);
  server_free(s);
  nh_tls_testcert_free(tc);
}

/* http_version NH_HTTP_1 offers http/1.1 alone. */
NH_TEST(http1_only_offers_http11_alone) {
  nh_tls_testcert *tc = testcert();
  alpn_server *s = server_start(tc, "\x08http/1.1", 0);
  nh_tls_config tls = {0};
  tls.ca_file = tc->ca_pem;
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.tls = &tls;
  cfg.http_version = NH_HTTP_1;
  nh_transport *t = nh_transport_new(&cfg);
  char *body;
  CHECK_EQ(get(t, s->port, &body), NH_OK);
  CHECK_STR(body, "ok");
  free(body);
  nh_transport_free(t);
  server_join(s);
  CHECK_EQ(s->offer_len, 9);
  CHECK(memcmp(s->offer, "\x08http/1.1", 9) == 0);
  server_free(s);
  nh_tls_testcert_free(tc);
}

NH_TEST(configured_offer_is_what_the_server_sees) {
  nh_tls_testcert *tc = testcert();
  static const char *const offer[] = {"x-next/1", "http/1.1", NULL};
  alpn_server *s = get_through(tc, offer);
  static const unsigned char wire[] = "\x08x-next/1\x08http/1.1";
  CHECK_EQ(s->offer_len, sizeof wire - 1);
  CHECK(memcmp(s->offer, wire, sizeof wire - 1) == 0);
  CHECK_CONTAINS(s->request, "GET / HTTP/1.1\r\n");
  server_free(s);
  nh_tls_testcert_free(tc);
}

NH_TEST(server_choosing_an_unspoken_protocol_is_refused) {
  nh_tls_testcert *tc = testcert();
  /* The server prefers a protocol the client offered but has no code for. */
  alpn_server *s = server_start(tc, "\x08x-next/1\x08http/1.1", 0);
  static const char *const offer[] = {"http/1.1", "x-next/1", NULL};
  nh_transport *t = transport_offering(tc, offer);
  char *body;
  CHECK_EQ(get(t, s->port, &body), NH_ENOTSUP);
  CHECK(body == NULL);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.open_now, 0); /* closed, not pooled */
  nh_transport_free(t);
  server_join(s);
  CHECK(s->handshake_ok);
  server_free(s);
  nh_tls_testcert_free(tc);
}

NH_TEST(no_common_protocol_server_acks_none_http11_spoken) {
  nh_tls_testcert *tc = testcert();
  alpn_server *s = server_start(tc, "\x08x-other/1", 0); /* NOACK: no ALPN in its answer */
  nh_transport *t = transport_offering(tc, NULL);
  char *body;
  CHECK_EQ(get(t, s->port, &body), NH_OK);
  CHECK_STR(body, "ok");
  free(body);
  nh_transport_free(t);
  server_join(s);
  CHECK(s->handshake_ok);
  server_free(s);
  nh_tls_testcert_free(tc);
}

NH_TEST(no_common_protocol_server_refuses_handshake_fails) {
  nh_tls_testcert *tc = testcert();
  alpn_server *s = server_start(tc, "\x08x-other/1", 1); /* fatal alert (no_application_protocol) */
  nh_transport *t = transport_offering(tc, NULL);
  char *body;
  CHECK_EQ(get(t, s->port, &body), NH_ETLS); /* the alert ends the handshake */
  CHECK(body == NULL);
  nh_transport_free(t);
  server_join(s);
  CHECK(s->offered);
  CHECK(!s->handshake_ok);
  server_free(s);
  nh_tls_testcert_free(tc);
}

NH_TEST(bad_offer_lists_are_refused) {
  static const char *const empty_name[] = {"", NULL};
  static const char *const comma[] = {"h2,http/1.1", NULL};
  char long_name[300];
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = 0;
  const char *const too_long[] = {long_name, NULL};
  const char *const *bad[] = {empty_name, comma, too_long};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
    cfg.alpn = bad[i];
    CHECK(nh_transport_new(&cfg) == NULL);
  }
}

NH_TEST_MAIN()
