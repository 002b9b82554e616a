/* PROXY protocol refusals, over real sockets: every malformed shape, an
 * oversized header, a stall past the read-header deadline, an untrusted
 * source under REQUIRED and a missing header from a trusted one each close
 * the connection without an answer, count in proxy_refused and under the
 * close reason "proxy" (a stall: timeout_header), and log the reason at
 * DEBUG with the peer's address. A shutdown does not wait for a header. */
#include <stdatomic.h>

#include "proxyclient.h"

static atomic_int handled;

static void ok(nh_response_writer *w, nh_request *r) {
  (void)r;
  atomic_fetch_add(&handled, 1);
  nh_resp_write_string(w, "ok");
}

static atomic_int hook_news;
static void on_state(const nh_conn_info *c, nh_conn_state s, void *user) {
  (void)c, (void)user;
  if (s == NH_CONN_NEW || s == NH_CONN_CLOSED)
    atomic_fetch_add(&hook_news, 1);
}

/* Sends bytes (and a request after them), expects the server to close
 * with no response, and the refusal to be counted under reason. */
static void expect_refused(psrv *p, const void *b, size_t n, int64_t *count, nh_close_reason reason) {
  raw_conn *c = raw_dial(p->port);
  CHECK(c->fd >= 0);
  raw_send(c->fd, b, n); /* may fail: the server may have closed already */
  raw_sends(c->fd, GET_REQ);
  /* EOF or reset, never a response. */
  char buf[64];
  ssize_t got = recv(c->fd, buf, sizeof buf, 0);
  CHECK(got <= 0);
  raw_hang_up(c);
  ++*count;
  nh_server_stats st;
  for (int i = 0; i < 1000; i++) {
    st = psrv_stats(p);
    if (st.proxy_refused >= *count)
      break;
    usleep(10 * 1000);
  }
  CHECK_EQ(st.proxy_refused, *count);
  CHECK_SOON(psrv_stats(p).closes[reason] >= 1);
}

NH_TEST(malformed_headers_close_and_count) {
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.conn_state = on_state;
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.1"};
  psrv_start_cfg(&p, "127.0.0.1:0", &o, &cfg, ok);
  int64_t n = 0;

  /* v1: a line over 107 bytes (valid fields, padded with spaces would be
   * malformed anyway: this one is long through its UNKNOWN tail). */
  char longv1[160];
  memset(longv1, 'a', sizeof longv1);
  memcpy(longv1, "PROXY UNKNOWN ", 14);
  memcpy(longv1 + 106, "\r\n", 2); /* CRLF at 106: 108 bytes */
  expect_refused(&p, longv1, 108, &n, NH_CLOSE_PROXY);
  /* No CRLF within 107 bytes at all. */
  expect_refused(&p, longv1, sizeof longv1, &n, NH_CLOSE_PROXY);
  /* A 107-byte UNKNOWN line is still fine. */
  memcpy(longv1 + 105, "\r\n", 2);
  raw_resp r = proxied(p.port, longv1, 107, GET_REQ);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);

  const char *bad_v1[] = {
      "PROXY TCP4 198.51.100.22 203.0.113.1 35646\r\n",        /* a field short */
      "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80 9\r\n",   /* a field over */
      "PROXY TCP4 198.51.100.22  203.0.113.1 35646 80\r\n",    /* two spaces */
      "PROXY TCP4 198.51.100.256 203.0.113.1 35646 80\r\n",    /* octet > 255 */
      "PROXY TCP4 2001:db8::1 203.0.113.1 35646 80\r\n",       /* v6 under TCP4 */
      "PROXY TCP6 198.51.100.22 2001:db8::1 35646 80\r\n",     /* v4 under TCP6 */
      "PROXY TCP4 198.51.100.22 203.0.113.1 65536 80\r\n",     /* port too big */
      "PROXY TCP4 198.51.100.22 203.0.113.1 035646 80\r\n",    /* leading zero */
      "PROXY TCP4 198.51.100.22 203.0.113.1 -1 80\r\n",        /* sign */
      "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\n",       /* bare LF */
      "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\r\n",   /* CR CR */
      "PROXY UDP4 198.51.100.22 203.0.113.1 35646 80\r\n",     /* protocol */
      "PROXY tcp4 198.51.100.22 203.0.113.1 35646 80\r\n",     /* case */
      "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80 \r\n",    /* trailing space */
      "PROXY \r\n",
  };
  for (size_t i = 0; i < sizeof bad_v1 / sizeof bad_v1[0]; i++)
    expect_refused(&p, bad_v1[i], strlen(bad_v1[i]), &n, NH_CLOSE_PROXY);

  pp2 h;
  /* v2: the length over the cap (2048), whatever follows. */
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  uint8_t pad[2100] = {0};
  pp2_tlv(&h, 0x04, pad, sizeof pad);
  expect_refused(&p, h.b, pp2_end(&h), &n, NH_CLOSE_PROXY);
  /* Wrong signature: one byte off, the rest of a good header. */
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_end(&h);
  h.b[11] = 0x0B;
  expect_refused(&p, h.b, h.n, &n, NH_CLOSE_PROXY);
  /* Version 1 in the binary header; command 2; family 4; protocol 3. */
  const uint8_t bad_vc[][2] = {{0x11, 0x11}, {0x22, 0x11}, {0x21, 0x41}, {0x21, 0x13}};
  for (size_t i = 0; i < 4; i++) {
    pp2_begin(&h, 1, bad_vc[i][1]);
    h.b[12] = bad_vc[i][0];
    pp2_inet(&h);
    expect_refused(&p, h.b, pp2_end(&h), &n, NH_CLOSE_PROXY);
  }
  /* Truncated address blocks: INET with 11 bytes, INET6 with 12, UNIX
   * with 108. */
  const struct {
    uint8_t fam;
    size_t len;
  } trunc[] = {{0x11, 11}, {0x21, 12}, {0x31, 108}};
  for (size_t i = 0; i < 3; i++) {
    pp2_begin(&h, 1, trunc[i].fam);
    pp2_put(&h, pad, trunc[i].len);
    expect_refused(&p, h.b, pp2_end(&h), &n, NH_CLOSE_PROXY);
  }
  /* A TLV running past the header's end. */
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x02, "example.com", 11);
  h.n -= 3; /* the header's length now cuts into the value */
  expect_refused(&p, h.b, pp2_end(&h), &n, NH_CLOSE_PROXY);
  /* A bad CRC32C. */
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x02, "example.com", 11);
  expect_refused(&p, h.b, pp2_end_crc(&h, 1), &n, NH_CLOSE_PROXY);
  /* An SSL TLV shorter than its fixed part; a UNIQUE_ID over 128 bytes. */
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x20, "\x01\0\0", 3);
  expect_refused(&p, h.b, pp2_end(&h), &n, NH_CLOSE_PROXY);
  pp2_begin(&h, 1, 0x11);
  pp2_inet(&h);
  pp2_tlv(&h, 0x05, pad, 129);
  expect_refused(&p, h.b, pp2_end(&h), &n, NH_CLOSE_PROXY);

  /* A missing header from a trusted source: a plain request. */
  expect_refused(&p, "", 0, &n, NH_CLOSE_PROXY);

  CHECK_EQ(atomic_load(&handled), 1); /* the one good header only */
  CHECK_SOON(atomic_load(&hook_news) == 2); /* its NEW and CLOSED; no refused one */
  psrv_stop(&p);
  CHECK_CONTAINS(p.log, "\"msg\":\"PROXY header refused\"");
  CHECK_CONTAINS(p.log, "\"reason\":\"v1: line longer than 107 bytes\"");
  CHECK_CONTAINS(p.log, "\"reason\":\"v2: header longer than the cap\"");
  CHECK_CONTAINS(p.log, "\"reason\":\"v2: address block shorter than its family needs\"");
  CHECK_CONTAINS(p.log, "\"reason\":\"v2: CRC32C mismatch\"");
  CHECK_CONTAINS(p.log, "\"reason\":\"no PROXY header\"");
  CHECK_CONTAINS(p.log, "\"remote\":\"127.0.0.1:");
  psrv_free_log(&p);
}

NH_TEST(untrusted_source_under_required_is_closed_at_once) {
  psrv p;
  atomic_store(&handled, 0);
  psrv_start(&p, NH_PROXY_REQUIRED, "10.0.0.0/8,::1", ok);
  int64_t n = 0;
  /* Even with a well-formed header. */
  const char *v1 = "PROXY TCP4 198.51.100.22 203.0.113.1 35646 80\r\n";
  expect_refused(&p, v1, strlen(v1), &n, NH_CLOSE_PROXY);
  /* And without sending anything: closed before a byte. */
  raw_conn *c = raw_dial(p.port);
  CHECK(raw_closed(c, 10000));
  raw_hang_up(c);
  CHECK_SOON(psrv_stats(&p).proxy_refused == 2);
  CHECK_EQ(atomic_load(&handled), 0);
  psrv_stop(&p);
  CHECK_CONTAINS(p.log, "\"reason\":\"untrusted source\"");
  psrv_free_log(&p);
}

NH_TEST(stall_past_the_read_header_deadline_closes) {
  atomic_store(&handled, 0);
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_header_timeout = 300 * NH_MSEC;
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.1"};
  psrv_start_cfg(&p, "127.0.0.1:0", &o, &cfg, ok);
  /* Part of a header, then nothing: closed, counted as a refusal and a
   * header timeout. */
  const char *part = "PROXY TCP4 198.51.";
  raw_conn *c = raw_dial(p.port);
  CHECK_EQ(raw_sends(c->fd, part), 0);
  CHECK(raw_closed(c, 10000));
  raw_hang_up(c);
  /* Nothing at all. */
  c = raw_dial(p.port);
  CHECK(raw_closed(c, 10000));
  raw_hang_up(c);
  CHECK_SOON(psrv_stats(&p).proxy_refused == 2);
  CHECK_SOON(psrv_stats(&p).closes[NH_CLOSE_TIMEOUT_HEADER] == 2);
  CHECK_EQ(psrv_stats(&p).timeouts_header, 2);
  CHECK_EQ(atomic_load(&handled), 0);
  psrv_stop(&p);
  CHECK_CONTAINS(p.log, "\"reason\":\"header incomplete at the read-header deadline\"");
  psrv_free_log(&p);
}

NH_TEST(shutdown_does_not_wait_for_a_header) {
  psrv p;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_header_timeout = 60 * NH_SEC; /* far beyond the shutdown's deadline */
  nh_listen_options o = {.proxy = NH_PROXY_REQUIRED, .proxy_trusted = "127.0.0.1"};
  psrv_start_cfg(&p, "127.0.0.1:0", &o, &cfg, ok);
  raw_conn *c = raw_dial(p.port);
  CHECK_EQ(raw_sends(c->fd, "PROXY TCP4 "), 0);
  CHECK_SOON(psrv_stats(&p).accepted == 1);
  /* Like a connection still in its TLS handshake: closed, not waited for. */
  CHECK_EQ(nh_server_shutdown(p.srv, nh_deadline_after(30 * NH_SEC)), NH_OK);
  CHECK(raw_closed(c, 10000));
  CHECK_EQ(psrv_stats(&p).closes[NH_CLOSE_SHUTDOWN], 1);
  raw_hang_up(c);
  nh_server_free(p.srv);
  nh_handler_free(p.h);
  nh_runtime_free(p.rt);
  nh_logger_free(p.lg);
  fclose(p.mem);
  psrv_free_log(&p);
}

NH_TEST_MAIN()
