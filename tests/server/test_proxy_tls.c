/* PROXY protocol before TLS, over real sockets: the header and the
 * ClientHello leave in one segment, the server reads exactly the header
 * and the handshake finds its ClientHello intact; the handler sees the
 * header's address. */
#include <netinet/tcp.h>
#include <nethttp/tls.h>
#include <openssl/ssl.h>

#include "proxyclient.h"

static void echo(nh_response_writer *w, nh_request *r) {
  const nh_proxy_info *p = nh_request_proxy(r);
  nh_resp_printf(w, "%s|%s|%s", nh_request_remote_addr(r), p && p->authority ? p->authority : "-",
                 nh_request_proto(r));
}

/* Connect, send hdr held back (MSG_MORE) so that the ClientHello joins it,
 * shake hands, GET, read the response into out. Returns the status. */
static int tls_get(int port, const uint8_t *hdr, size_t n, char *out, size_t cap) {
  int fd = raw_connect(port);
  CHECK(fd >= 0);
  int zero = 0;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero);
  CHECK_EQ(send(fd, hdr, n, MSG_MORE | MSG_NOSIGNAL), (ssize_t)n);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  int status = -1;
  if (SSL_connect(ssl) == 1) {
    const char *req = GET_REQ;
    CHECK_EQ(SSL_write(ssl, req, (int)strlen(req)), (int)strlen(req));
    size_t len = 0;
    int k;
    while (len < cap - 1 && (k = SSL_read(ssl, out + len, (int)(cap - 1 - len))) > 0)
      len += (size_t)k;
    out[len] = 0;
    status = atoi(out + 9);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return status;
}

NH_TEST(header_then_tls_handshake_over_the_same_bytes) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  nh_tls_cert_file certs[] = {{tc->cert_pem, tc->key_pem}};
  nh_tls_config tcfg = {.role = NH_TLS_SERVER, .certs = certs, .ncerts = 1};
  nh_tls_ctx *tls = NULL;
  CHECK_EQ(nh_tls_config_new(&tcfg, &tls, NULL), NH_OK);
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.tls = tls;
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.1/32"};
  psrv_start_cfg(&p, "127.0.0.1:0", &o, &cfg, echo);

  char out[4096];
  pp2 h;
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x02, "front.example", 13);
  CHECK_EQ(tls_get(p.port, h.b, pp2_end_crc(&h, 0), out, sizeof out), 200);
  CHECK_CONTAINS(out, "\r\n\r\n203.0.113.7:51234|front.example|HTTP/1.1");
  const char *v1 = "PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n";
  CHECK_EQ(tls_get(p.port, (const uint8_t *)v1, strlen(v1), out, sizeof out), 200);
  CHECK_CONTAINS(out, "\r\n\r\n[2001:db8::1]:4000|-|HTTP/1.1");
  /* No header: the ClientHello is not one, the connection closes. */
  CHECK_EQ(tls_get(p.port, (const uint8_t *)"", 0, out, sizeof out), -1);
  nh_server_stats st = psrv_stats(&p);
  CHECK_EQ(st.proxy_refused, 1);
  CHECK_EQ(st.tls_handshake_errors, 0);
  psrv_stop(&p);
  CHECK_CONTAINS(p.log, "\"remote\":\"203.0.113.7:51234\"");
  psrv_free_log(&p);
  nh_tls_ctx_free(tls);
  nh_tls_testcert_free(tc);
}

NH_TEST_MAIN()
