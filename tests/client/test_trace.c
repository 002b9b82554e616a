/* The client's trace (nh_client_trace): the hooks fire once each, in
 * Go's httptrace order, for a new connection over plain HTTP and over
 * TLS; a reused connection skips the lookup, the connect and the
 * handshake; a failed connect reports its error; a request without a
 * trace is unaffected. Over real loopback sockets. */
#include "harness.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <nethttp/tls.h>
#include <string.h>

typedef struct events {
  char seq[256]; /* one letter per hook, in the order called */
  char conn_addr[128];
  int connect_err, dns_err, reused, wrote_err;
  char tls_version[32], tls_cipher[64], tls_alpn[16], subject[256];
  nh_time t_conn, t_wrote, t_first;
} events;

static void add(events *e, char c) {
  size_t n = strlen(e->seq);
  if (n + 1 < sizeof e->seq)
    e->seq[n] = c;
}
static void on_get_conn(void *u, const char *hp) {
  (void)hp;
  add(u, 'G');
}
static void on_dns(void *u, int err) {
  ((events *)u)->dns_err = err;
  add(u, 'D');
}
static void on_connect(void *u, const char *addr, int err) {
  events *e = u;
  snprintf(e->conn_addr, sizeof e->conn_addr, "%s", addr);
  e->connect_err = err;
  e->t_conn = nh_now();
  add(e, 'C');
}
static void on_tls(void *u, const struct nh_tls_conn *tls, int err) {
  events *e = u;
  if (!err && tls) {
    snprintf(e->tls_version, sizeof e->tls_version, "%s", nh_tls_version(tls));
    snprintf(e->tls_cipher, sizeof e->tls_cipher, "%s", nh_tls_cipher(tls));
    snprintf(e->tls_alpn, sizeof e->tls_alpn, "%s", nh_tls_alpn(tls));
    nh_tls_peer_name(tls, 0, e->subject, sizeof e->subject);
  }
  add(e, err ? 't' : 'T');
}
static void on_got_conn(void *u, int reused) {
  ((events *)u)->reused = reused;
  add(u, reused ? 'r' : 'N');
}
static void on_wrote(void *u, int err) {
  events *e = u;
  e->wrote_err = err;
  e->t_wrote = nh_now();
  add(e, 'W');
}
static void on_first(void *u) {
  events *e = u;
  e->t_first = nh_now();
  add(e, 'F');
}

static nh_client_trace trace_for(events *e) {
  memset(e, 0, sizeof *e);
  return (nh_client_trace){.user = e, .get_conn = on_get_conn, .dns_done = on_dns,
                           .connect_done = on_connect, .tls_done = on_tls, .got_conn = on_got_conn,
                           .wrote_request = on_wrote, .got_first_byte = on_first};
}

static void slow_hello(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_sleep(20 * NH_MSEC); /* the first byte comes clearly after the request was written */
  nh_resp_write_string(w, "hello");
}

static int get_traced(nh_client *c, const char *url, const nh_client_trace *tr, char *body,
                      size_t cap) {
  nh_client_request *req = nh_client_request_new("POST", url);
  if (!req)
    return NH_ENOMEM;
  nh_client_request_set_body_string(req, "payload");
  nh_client_request_set_trace(req, tr);
  nh_response *r;
  int e = nh_client_do(c, req, &r);
  if (!e) {
    ssize_t n = nh_response_read(r, body, cap - 1);
    body[n > 0 ? n : 0] = 0;
    nh_response_close(r);
  }
  nh_client_request_free(req);
  return e;
}

NH_TEST(trace_plain_new_then_reused) {
  nh_test_server *ts = nh_test_server_new(slow_hello, NULL, 1);
  CHECK(ts);
  nh_client *c = nh_client_new(NULL);
  events ev;
  nh_client_trace tr = trace_for(&ev);
  char body[64], want[64];
  CHECK_EQ(get_traced(c, nh_test_server_url(ts), &tr, body, sizeof body), NH_OK);
  CHECK_STR(body, "hello");
  CHECK_STR(ev.seq, "GDCNWF"); /* no TLS over plain HTTP */
  snprintf(want, sizeof want, "127.0.0.1:%d", nh_test_server_port(ts));
  CHECK_STR(ev.conn_addr, want);
  CHECK_EQ(ev.connect_err, 0);
  CHECK_EQ(ev.dns_err, 0);
  CHECK_EQ(ev.wrote_err, 0);
  CHECK(ev.t_conn <= ev.t_wrote);
  CHECK(ev.t_first >= ev.t_wrote); /* the answer came after the request was written */
  /* The same connection again: no lookup, connect or handshake. */
  tr = trace_for(&ev);
  CHECK_EQ(get_traced(c, nh_test_server_url(ts), &tr, body, sizeof body), NH_OK);
  CHECK_STR(ev.seq, "GrWF");
  CHECK_EQ(ev.reused, 1);
  /* Without a trace nothing is called (ev stays as it was). */
  CHECK_EQ(get_traced(c, nh_test_server_url(ts), NULL, body, sizeof body), NH_OK);
  CHECK_STR(ev.seq, "GrWF");
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(trace_tls_handshake) {
  nh_test_server *ts = nh_test_server_new_tls(slow_hello, NULL, 1);
  CHECK(ts);
  nh_client *c = nh_test_server_client(ts);
  events ev;
  nh_client_trace tr = trace_for(&ev);
  char body[64];
  CHECK_EQ(get_traced(c, nh_test_server_url(ts), &tr, body, sizeof body), NH_OK);
  CHECK_STR(body, "hello");
  CHECK_STR(ev.seq, "GDCTNWF");
  CHECK(!strncmp(ev.tls_version, "TLSv1.", 6));
  CHECK(ev.tls_cipher[0] != 0);
  CHECK_STR(ev.tls_alpn, "h2"); /* offered first by the client, served by nethttp */
  CHECK(strstr(ev.subject, "127.0.0.1") || strstr(ev.subject, "localhost") || ev.subject[0]);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(trace_refused_connect) {
  /* A port that was just free: nothing listens there. */
  nh_test_server *ts = nh_test_server_new(slow_hello, NULL, 1);
  CHECK(ts);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", nh_test_server_port(ts));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_client *c = nh_client_new(NULL);
  events ev;
  nh_client_trace tr = trace_for(&ev);
  char body[8];
  CHECK_EQ(get_traced(c, url, &tr, body, sizeof body), NH_ECONNREFUSED);
  CHECK_STR(ev.seq, "GDC");
  CHECK_EQ(ev.connect_err, NH_ECONNREFUSED);
  nh_client_free(c);
}

NH_TEST_MAIN()
