/* The HTTP/2 client's streams as the server sees them, against the
 * scripted python server (h2_peer.py): the request's fields on the wire,
 * flow control that follows the caller's reads, an early close that
 * resets the stream and keeps the connection, and a second connection
 * when the first carries the server's maximum of concurrent streams. */
#include "h2_peer.h"

#include <nethttp.h>

static nh_client *h2c_client(nh_transport **tp, uint32_t window) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.http_version = NH_HTTP_2;
  cfg.h2_stream_window = window;
  *tp = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = *tp;
  return nh_client_new(&cc);
}

static ssize_t read_abc(void *arg, void *buf, size_t cap) {
  int *left = arg;
  if (!*left || cap < 3)
    return 0;
  (*left)--;
  memcpy(buf, "abc", 3);
  return 3;
}

NH_TEST(request_fields_on_the_wire) {
  h2_peer *p = h2_peer_python("echo");
  nh_transport *t;
  nh_client *c = h2c_client(&t, 0);
  nh_client_request *req = nh_client_request_new("POST", h2_peer_url(p, "/a/b?q=1&r=2"));
  nh_header *h = nh_client_request_header(req);
  nh_header_set(h, "X-Mixed-Case", "Value");
  /* Lower-cased eight bytes at a time: letters at both ends of the
   * alphabet, and the token characters next to them left alone. */
  nh_header_set(h, "X-ZAYBZ`^_~Az-Long-Name9", "v");
  nh_header_set(h, "Connection", "keep-alive");
  nh_header_set(h, "Keep-Alive", "timeout=5");
  nh_header_set(h, "Upgrade", "websocket");
  nh_header_set(h, "TE", "gzip");
  CHECK_EQ(nh_client_request_set_body_string(req, "12345"), NH_OK);
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  CHECK_EQ(nh_response_content_length(r), 5);
  nh_response_close(r);
  nh_client_request_free(req);
  H2_PEER_SAW(p, "conn 0 stream 1 body 5 12345");
  CHECK_EQ(h2_peer_count(p, "stream 1 POST /a/b?q=1&r=2"), 1);
  CHECK_EQ(h2_peer_count(p, "header :scheme: http\n"), 1);
  char auth[64];
  snprintf(auth, sizeof auth, "header :authority: 127.0.0.1:%d\n", p->port);
  CHECK_EQ(h2_peer_count(p, auth), 1);
  CHECK_EQ(h2_peer_count(p, "header x-mixed-case: Value\n"), 1); /* lower-cased */
  CHECK_EQ(h2_peer_count(p, "header x-zaybz`^_~az-long-name9: v\n"), 1);
  CHECK_EQ(h2_peer_count(p, "header content-length: 5\n"), 1);
  /* Connection-specific fields are not sent (RFC 9113 8.2.2). */
  CHECK_EQ(h2_peer_count(p, "header connection"), 0);
  CHECK_EQ(h2_peer_count(p, "header keep-alive"), 0);
  CHECK_EQ(h2_peer_count(p, "header upgrade"), 0);
  CHECK_EQ(h2_peer_count(p, "header te"), 0);
  CHECK_EQ(h2_peer_count(p, "header host"), 0);
  /* A body of unknown length goes without content-length, ended by
   * END_STREAM. */
  int left = 3;
  req = nh_client_request_new("POST", h2_peer_url(p, "/unknown"));
  CHECK_EQ(nh_client_request_set_body_reader(req, read_abc, NULL, &left, -1), NH_OK);
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_content_length(r), 9);
  nh_response_close(r);
  nh_client_request_free(req);
  H2_PEER_SAW(p, "conn 0 stream 3 body 9 abcabcabc");
  CHECK_EQ(h2_peer_count(p, "stream 3 header content-length"), 0);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

/* The server's last "sent S N": how many body bytes it managed to send. */
static long sent_so_far(h2_peer *p) {
  long n = -1;
  pthread_mutex_lock(&p->mu);
  for (const char *at = p->text; at && (at = strstr(at, "conn 0 sent 1 ")); at++)
    n = atol(at + 14);
  pthread_mutex_unlock(&p->mu);
  return n;
}

NH_TEST(unread_response_holds_at_most_its_window) {
  h2_peer *p = h2_peer_python("window");
  nh_transport *t;
  nh_client *c = h2c_client(&t, 65536);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/big"), &r), NH_OK);
  CHECK_EQ(nh_response_content_length(r), 1 << 20);
  /* Nothing read yet: the server stops at the stream's window. */
  H2_PEER_SAW(p, "conn 0 sent 1 65536\n");
  nh_sleep(200 * NH_MSEC); /* a chance to send more, which it must not have */
  CHECK_EQ(sent_so_far(p), 65536);
  /* Reading lets the rest come, window by window. */
  char buf[16384];
  long total = 0;
  ssize_t n;
  while ((n = nh_response_read(r, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++)
      CHECK(buf[i] == 'x');
    total += n;
  }
  CHECK_EQ(n, 0);
  CHECK_EQ(total, 1 << 20);
  CHECK_SOON(sent_so_far(p) == 1 << 20);
  nh_response_close(r);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(early_close_resets_the_stream_and_keeps_the_connection) {
  h2_peer *p = h2_peer_python("hold");
  nh_transport *t;
  nh_client *c = h2c_client(&t, 0);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/held"), &r), NH_OK);
  char buf[4];
  CHECK_EQ(nh_response_read(r, buf, sizeof buf), 4);
  nh_response_close(r); /* the rest never comes: no drain, a reset */
  H2_PEER_SAW(p, "conn 0 reset 1 8\n"); /* RST_STREAM CANCEL */
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/again"), &r), NH_OK);
  nh_response_close(r);
  H2_PEER_SAW(p, "conn 0 stream 3 GET /again");
  H2_PEER_SAW(p, "conn 0 reset 3 8\n");
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

typedef struct two {
  nh_client *c;
  const char *url;
  int status;
} two;

static void *get_one(void *arg) {
  two *w = arg;
  nh_response *r;
  if (nh_client_get(w->c, w->url, &r) == NH_OK) {
    w->status = nh_response_status(r);
    nh_response_close(r);
  }
  return NULL;
}

NH_TEST(full_connection_makes_the_pool_open_another) {
  h2_peer *p = h2_peer_python("maxstreams");
  nh_transport *t;
  nh_client *c = h2c_client(&t, 0);
  /* The first request: the connection learns MAX_CONCURRENT_STREAMS 1. */
  nh_response *r;
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/first"), &r), NH_OK);
  nh_response_close(r);
  /* Two at once: the server answers only when both are open, so they must
   * be on two connections. */
  two a = {c, h2_peer_url(p, "/a"), 0}, b = {c, h2_peer_url(p, "/b"), 0};
  char ua[256], ub[256];
  snprintf(ua, sizeof ua, "%s", a.url);
  snprintf(ub, sizeof ub, "%s", h2_peer_url(p, "/b"));
  a.url = ua;
  b.url = ub;
  pthread_t ta, tb;
  pthread_create(&ta, NULL, get_one, &a);
  pthread_create(&tb, NULL, get_one, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  CHECK_EQ(a.status, 200);
  CHECK_EQ(b.status, 200);
  H2_PEER_SAW(p, "conn 1 open");
  CHECK_EQ(h2_peer_count(p, "conn 2 open"), 0);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 2);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

static nh_client_request *expecting(const h2_peer *p, const char *body) {
  nh_client_request *req = nh_client_request_new("PUT", h2_peer_url(p, "/up"));
  nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  CHECK_EQ(nh_client_request_set_body_string(req, body), NH_OK);
  return req;
}

NH_TEST(expect_continue_sends_the_body_after_the_100) {
  h2_peer *p = h2_peer_python("expect");
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.http_version = NH_HTTP_2;
  cfg.expect_continue_timeout = 60 * NH_SEC; /* only the 100 can let the body go */
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  nh_client_request *req = expecting(p, "after-100");
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  char *b;
  CHECK_EQ(nh_response_read_all(r, 1024, &b, NULL), NH_OK);
  CHECK_STR(b, "after-100");
  free(b);
  nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(expect_continue_final_answer_spares_the_body) {
  h2_peer *p = h2_peer_python("expect417");
  nh_transport *t;
  nh_client *c = h2c_client(&t, 0);
  nh_client_request *req = expecting(p, "never-sent");
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 417);
  nh_response_close(r);
  nh_client_request_free(req);
  H2_PEER_SAW(p, "conn 0 reset 1 8\n"); /* the stream ends without its body */
  CHECK_EQ(h2_peer_count(p, "body"), 0);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST_MAIN()
