/* PROXY protocol on a listener, over real sockets: the header's client
 * address becomes the request's remote address (handler, access log,
 * connection hook), its destination the local address; LOCAL, UNSPEC and
 * UNKNOWN keep the socket's; TLVs reach the handler; a header sent a byte
 * at a time works; the bytes after it are intact; OPTIONAL with and
 * without a header. */
#include <stdatomic.h>

#include "proxyclient.h"

/* "remote|local|version|has_addr" and the TLVs the handler sees. */
static void echo(nh_response_writer *w, nh_request *r) {
  char local[112];
  if (nh_request_local_addr(r, local, sizeof local) != NH_OK)
    snprintf(local, sizeof local, "?");
  const nh_proxy_info *p = nh_request_proxy(r);
  nh_resp_printf(w, "%s|%s|%d|%d", nh_request_remote_addr(r), local, p ? p->version : 0,
                 p ? p->has_addr : -1);
  if (p && p->tlvs) {
    const unsigned char *v = NULL;
    size_t n = 0;
    int custom = nh_proxy_tlv(p, 0xE1, &v, &n);
    char uid[64] = "";
    for (size_t i = 0; i < p->unique_id_len && i < 20; i++)
      snprintf(uid + 2 * i, 3, "%02x", p->unique_id[i]);
    nh_resp_printf(w, "|alpn=%s|auth=%s|uid=%s|ssl=%d/%u/%u|ver=%s|cn=%s|cipher=%s|sig=%s|key=%s|e1=%.*s",
                   p->alpn ? p->alpn : "-", p->authority ? p->authority : "-", uid, p->ssl,
                   p->ssl_client, p->ssl_verify, p->ssl_version ? p->ssl_version : "-",
                   p->ssl_cn ? p->ssl_cn : "-", p->ssl_cipher ? p->ssl_cipher : "-",
                   p->ssl_sig_alg ? p->ssl_sig_alg : "-", p->ssl_key_alg ? p->ssl_key_alg : "-",
                   custom ? (int)n : 1, custom ? (const char *)v : "-");
  }
}

static char hook_remote[64], ctx_remote[64];
static atomic_int hook_news;

static void on_state(const nh_conn_info *c, nh_conn_state s, void *user) {
  (void)user;
  if (s == NH_CONN_NEW) {
    snprintf(hook_remote, sizeof hook_remote, "%s", c->remote_addr);
    atomic_fetch_add(&hook_news, 1);
  }
}

static nh_ctx *on_conn(nh_ctx *base, const nh_conn_info *c, void *user) {
  (void)user;
  snprintf(ctx_remote, sizeof ctx_remote, "%s", c->remote_addr);
  return base;
}

NH_TEST(v1_tcp4_and_tcp6_addresses_reach_handler_log_and_hooks) {
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.conn_state = on_state;
  cfg.conn_context = on_conn;
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.0/8"};
  psrv_start_cfg(&p, "127.0.0.1:0", &o, &cfg, echo);

  const char *v1 = "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\n";
  raw_resp r = proxied(p.port, v1, strlen(v1), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "198.51.100.22:35646|203.0.113.1:80|1|1");
  raw_resp_free(&r);
  CHECK_SOON(atomic_load(&hook_news) == 1);
  CHECK_STR(hook_remote, "198.51.100.22:35646"); /* NEW waited for the header */
  CHECK_STR(ctx_remote, "198.51.100.22:35646");

  v1 = "PROXY TCP6 2001:db8::1 2001:db8::2 65535 443\r\n";
  r = proxied(p.port, v1, strlen(v1), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "[2001:db8::1]:65535|[2001:db8::2]:443|1|1");
  raw_resp_free(&r);

  /* UNKNOWN: the socket's own addresses stay. */
  v1 = "PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 x y\r\n";
  r = proxied(p.port, v1, strlen(v1), GET_REQ);
  CHECK_EQ(r.status, 200);
  char want[64];
  snprintf(want, sizeof want, "|127.0.0.1:%d|1|0", p.port);
  CHECK(!strncmp(r.body, "127.0.0.1:", 10));
  CHECK_CONTAINS(r.body, want);
  raw_resp_free(&r);
  CHECK_SOON(atomic_load(&hook_news) == 3);

  nh_server_stats st = psrv_stats(&p);
  CHECK_EQ(st.proxy_refused, 0);
  psrv_stop(&p);
  /* The access log names the header's client. */
  CHECK_CONTAINS(p.log, "\"remote\":\"198.51.100.22:35646\"");
  CHECK_CONTAINS(p.log, "\"remote\":\"[2001:db8::1]:65535\"");
  psrv_free_log(&p);
}

NH_TEST(v2_inet_inet6_unix_local_unspec) {
  psrv p;
  psrv_start(&p, NH_PROXY_REQUIRED, "10.0.0.0/8, 127.0.0.1", echo);
  pp2 h;
  pp2_begin(&h, 1, 0x11); /* PROXY, INET/STREAM */
  pp2_inet(&h);
  raw_resp r = proxied(p.port, h.b, pp2_end(&h), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "203.0.113.7:51234|192.0.2.10:443|2|1");
  raw_resp_free(&r);

  pp2_begin(&h, 1, 0x21); /* INET6 */
  uint8_t a6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x07, [16] = 0x20, 0x01, 0x0d, 0xb8, [31] = 0x08,
                    [32] = 0x01, 0x02, 0x00, 0x50};
  pp2_put(&h, a6, sizeof a6);
  r = proxied(p.port, h.b, pp2_end(&h), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "[2001:db8::7]:258|[2001:db8::8]:80|2|1");
  raw_resp_free(&r);

  pp2_begin(&h, 1, 0x31); /* UNIX */
  uint8_t un[216] = {0};
  strcpy((char *)un, "/run/client.sock");
  strcpy((char *)un + 108, "/run/front.sock");
  pp2_put(&h, un, sizeof un);
  r = proxied(p.port, h.b, pp2_end(&h), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "/run/client.sock|/run/front.sock|2|1");
  raw_resp_free(&r);

  char want[64];
  snprintf(want, sizeof want, "|127.0.0.1:%d|2|0", p.port);
  /* LOCAL (a health check), with an address block that must be ignored. */
  pp2_begin(&h, 0, 0x11);
  pp2_inet(&h);
  r = proxied(p.port, h.b, pp2_end(&h), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK(!strncmp(r.body, "127.0.0.1:", 10));
  CHECK_CONTAINS(r.body, want);
  raw_resp_free(&r);
  /* PROXY with family UNSPEC: the socket's addresses too. */
  pp2_begin(&h, 1, 0x00);
  r = proxied(p.port, h.b, pp2_end(&h), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK(!strncmp(r.body, "127.0.0.1:", 10));
  CHECK_CONTAINS(r.body, want);
  raw_resp_free(&r);

  CHECK_EQ(psrv_stats(&p).proxy_refused, 0);
  psrv_stop(&p);
  CHECK_CONTAINS(p.log, "\"remote\":\"203.0.113.7:51234\"");
  CHECK_CONTAINS(p.log, "\"remote\":\"/run/client.sock\"");
  psrv_free_log(&p);
}

NH_TEST(v2_tlvs_reach_the_handler) {
  psrv p;
  psrv_start(&p, NH_PROXY_REQUIRED, "127.0.0.1", echo);
  pp2 h;
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x01, "h2", 2);
  pp2_tlv(&h, 0x02, "example.com", 11);
  pp2_tlv(&h, 0x04, "\0\0\0", 3); /* NOOP */
  uint8_t uid[4] = {0xde, 0xad, 0xbe, 0xef};
  pp2_tlv(&h, 0x05, uid, 4);
  uint8_t ssl[128];
  size_t sn = 0;
  ssl[sn++] = 0x07;                                 /* SSL | CERT_CONN | CERT_SESS */
  ssl[sn++] = 0, ssl[sn++] = 0, ssl[sn++] = 0, ssl[sn++] = 0; /* verified */
  const struct {
    uint8_t t;
    const char *v;
  } subs[] = {{0x21, "TLSv1.3"}, {0x22, "client1"}, {0x23, "TLS_AES_128_GCM_SHA256"},
              {0x24, "SHA256"}, {0x25, "EC256"}};
  for (size_t i = 0; i < 5; i++) {
    size_t n = strlen(subs[i].v);
    ssl[sn++] = subs[i].t, ssl[sn++] = 0, ssl[sn++] = (uint8_t)n;
    memcpy(ssl + sn, subs[i].v, n);
    sn += n;
  }
  pp2_tlv(&h, 0x20, ssl, sn);
  pp2_tlv(&h, 0xE1, "custom", 6);
  raw_resp r = proxied(p.port, h.b, pp2_end_crc(&h, 0), GET_REQ); /* and a good CRC32C */
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "203.0.113.7:51234|192.0.2.10:443|2|1|alpn=h2|auth=example.com|uid=deadbeef"
                    "|ssl=1/7/0|ver=TLSv1.3|cn=client1|cipher=TLS_AES_128_GCM_SHA256|sig=SHA256"
                    "|key=EC256|e1=custom");
  raw_resp_free(&r);
  CHECK_EQ(psrv_stats(&p).proxy_refused, 0);
  psrv_stop(&p);
  psrv_free_log(&p);
}

/* Each byte its own segment (TCP_NODELAY), a pause between: the server
 * waits for the rest rather than refusing a part. */
static raw_resp trickled(int port, const uint8_t *hdr, size_t n) {
  raw_resp r;
  memset(&r, 0, sizeof r);
  raw_conn *c = raw_dial(port);
  for (size_t i = 0; i < n && c->fd >= 0; i++) {
    CHECK_EQ(raw_send(c->fd, (const char *)hdr + i, 1), 0);
    usleep(2000);
  }
  if (raw_sends(c->fd, GET_REQ) == 0)
    raw_read(c, &r, 0);
  raw_hang_up(c);
  return r;
}

NH_TEST(header_a_byte_at_a_time) {
  psrv p;
  psrv_start(&p, NH_PROXY_REQUIRED, "127.0.0.1", echo);
  const char *v1 = "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\n";
  raw_resp r = trickled(p.port, (const uint8_t *)v1, strlen(v1));
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "198.51.100.22:35646|203.0.113.1:80|1|1");
  raw_resp_free(&r);
  pp2 h;
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x02, "example.com", 11);
  r = trickled(p.port, h.b, pp2_end(&h));
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "203.0.113.7:51234|192.0.2.10:443|2|1|alpn=-|auth=example.com|uid="
                    "|ssl=0/0/0|ver=-|cn=-|cipher=-|sig=-|key=-|e1=-");
  raw_resp_free(&r);
  CHECK_EQ(psrv_stats(&p).proxy_refused, 0);
  psrv_stop(&p);
  psrv_free_log(&p);
}

/* "METHOD /path|remote": a byte of the request taken with the header
 * would show in the method. */
static void line(nh_response_writer *w, nh_request *r) {
  nh_resp_printf(w, "%s %s|%s", nh_request_method(r), nh_request_path(r), nh_request_remote_addr(r));
}

NH_TEST(pipelined_requests_after_the_header_are_intact) {
  psrv p;
  psrv_start(&p, NH_PROXY_REQUIRED, "127.0.0.1", line);
  /* One write: the header and two requests, the peek sees them all. */
  char all[512];
  snprintf(all, sizeof all, "%s%s%s", "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\n",
           "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", GET_REQ);
  raw_conn *c = raw_dial(p.port);
  CHECK_EQ(raw_sends(c->fd, all), 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "GET /a|198.51.100.22:35646");
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "GET /x|198.51.100.22:35646"); /* same connection, same header */
  raw_resp_free(&r);
  raw_hang_up(c);
  CHECK_EQ(psrv_stats(&p).requests, 2);
  psrv_stop(&p);
  psrv_free_log(&p);
}

NH_TEST(optional_with_and_without_a_header) {
  psrv p;
  psrv_start(&p, NH_PROXY_OPTIONAL, "127.0.0.1", echo);
  const char *v1 = "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\n";
  raw_resp r = proxied(p.port, v1, strlen(v1), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "198.51.100.22:35646|203.0.113.1:80|1|1");
  raw_resp_free(&r);
  r = raw_roundtrip(p.port, GET_REQ);
  CHECK_EQ(r.status, 200);
  char want[64];
  snprintf(want, sizeof want, "|127.0.0.1:%d|0|-1", p.port); /* no header: no info */
  CHECK(!strncmp(r.body, "127.0.0.1:", 10));
  CHECK_CONTAINS(r.body, want);
  raw_resp_free(&r);
  CHECK_EQ(psrv_stats(&p).proxy_refused, 0);
  psrv_stop(&p);
  psrv_free_log(&p);

  /* From an untrusted source a header is not one: its bytes are the
   * request's, and a plain request is served with the socket's address. */
  psrv_start(&p, NH_PROXY_OPTIONAL, "10.0.0.0/8", echo);
  r = proxied(p.port, v1, strlen(v1), GET_REQ);
  CHECK_EQ(r.status, 400);
  raw_resp_free(&r);
  r = raw_roundtrip(p.port, GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK(!strncmp(r.body, "127.0.0.1:", 10));
  raw_resp_free(&r);
  CHECK_EQ(psrv_stats(&p).proxy_refused, 0);
  psrv_stop(&p);
  psrv_free_log(&p);
}

NH_TEST(dual_stack_listener_matches_ipv4_networks) {
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.0/8"};
  psrv_start_cfg(&p, ":0", &o, &cfg, echo); /* IPv4 peers seen as ::ffff:127.0.0.1 */
  const char *v1 = "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\n";
  raw_resp r = proxied(p.port, v1, strlen(v1), GET_REQ);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "198.51.100.22:35646|203.0.113.1:80|1|1");
  raw_resp_free(&r);
  CHECK_EQ(psrv_stats(&p).proxy_refused, 0);
  psrv_stop(&p);
  psrv_free_log(&p);
}

NH_TEST(malformed_trusted_list_is_refused_at_listen) {
  nh_runtime *rt = nh_runtime_new(NULL);
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  nh_logger *lg = nh_logger_json_new(mem, NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = echo;
  cfg.logger = lg;
  nh_server *srv = nh_server_new(rt, &cfg);
  const char *bad[] = {"10.0.0.0/33", "10.0.0.0/8,,127.0.0.1", "::1/129", "localhost",
                       "10.0.0.0/08", "1.2.3.4/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = bad[i]};
    CHECK_EQ(nh_server_listen_with(srv, "127.0.0.1:0", &o), NH_EINVAL);
  }
  nh_listen_options good = {.proxy = NH_PROXY_REQUIRED,
                            .proxy_trusted = "10.0.0.0/8, 192.168.1.1,::1/128,2001:db8::/32"};
  CHECK_EQ(nh_server_listen_with(srv, "127.0.0.1:0", &good), NH_OK);
  nh_server_free(srv);
  nh_runtime_free(rt);
  nh_logger_free(lg);
  fclose(mem);
  CHECK_CONTAINS(out, "malformed PROXY trusted source");
  CHECK_CONTAINS(out, "10.0.0.0/33");
  free(out);
}

NH_TEST_MAIN()
