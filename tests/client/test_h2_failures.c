/* The HTTP/2 client when the server refuses or goes away, against the
 * scripted python server (h2_peer.py): requests the server never
 * processed (GOAWAY past them, REFUSED_STREAM) are sent again once, on a
 * new connection, even a POST; a stream the server reset otherwise is not;
 * a peer that goes silent is found by PING and its requests fail. */
#include "h2_peer.h"

#include <nethttp.h>

static nh_transport *h2c_transport(nh_dur read_idle, nh_dur ping) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.http_version = NH_HTTP_2;
  if (read_idle)
    cfg.h2_read_idle_timeout = read_idle;
  if (ping)
    cfg.h2_ping_timeout = ping;
  return nh_transport_new(&cfg);
}

static char *body_of(nh_client *c, nh_client_request *req, int *status) {
  nh_response *r;
  int e = nh_client_do(c, req, &r);
  if (e)
    return NULL;
  *status = nh_response_status(r);
  char *b = NULL;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &b, NULL), NH_OK);
  nh_response_close(r);
  return b;
}

NH_TEST(goaway_past_a_stream_retries_it_once_on_a_new_connection) {
  h2_peer *p = h2_peer_python("goaway");
  nh_transport *t = h2c_transport(0, 0);
  nh_client *c = h2_client_of(t);
  int status = 0;
  nh_client_request *req = nh_client_request_new("GET", h2_peer_url(p, "/first"));
  char *b = body_of(c, req, &status);
  CHECK(b != NULL);
  CHECK_EQ(status, 200);
  free(b);
  nh_client_request_free(req);
  /* The second stream on that connection meets GOAWAY(last = 1): the
   * server never processed it, so even a POST goes again. */
  req = nh_client_request_new("POST", h2_peer_url(p, "/second"));
  CHECK_EQ(nh_client_request_set_body_string(req, "post-body"), NH_OK);
  b = body_of(c, req, &status);
  CHECK(b != NULL);
  CHECK_EQ(status, 200);
  CHECK_STR(b, "post-body");
  free(b);
  nh_client_request_free(req);
  H2_PEER_SAW(p, "conn 1 stream 1 body 9 post-body");
  CHECK_EQ(h2_peer_count(p, "conn 0 stream 3 POST /second"), 1); /* refused there */
  CHECK_EQ(h2_peer_count(p, "POST /second"), 2);                  /* once again, not more */
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 2);
  CHECK_EQ(st.retries, 1);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(refused_stream_retries_on_a_new_connection) {
  h2_peer *p = h2_peer_python("refuse");
  nh_transport *t = h2c_transport(0, 0);
  nh_client *c = h2_client_of(t);
  int status = 0;
  nh_client_request *req = nh_client_request_new("PUT", h2_peer_url(p, "/x"));
  CHECK_EQ(nh_client_request_set_body_string(req, "put-body"), NH_OK);
  char *b = body_of(c, req, &status);
  CHECK(b != NULL);
  CHECK_EQ(status, 200);
  CHECK_STR(b, "put-body");
  free(b);
  nh_client_request_free(req);
  H2_PEER_SAW(p, "conn 1 stream 1 body 8 put-body");
  CHECK_EQ(h2_peer_count(p, "PUT /x"), 2);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.retries, 1);
  CHECK_EQ(st.dials, 2);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

/* A reader without a rewind: the body cannot be sent twice. */
static ssize_t read_once(void *arg, void *buf, size_t cap) {
  int *left = arg;
  if (!*left)
    return 0;
  *left = 0;
  memcpy(buf, "once", 4);
  return 4;
}

NH_TEST(refused_stream_with_a_body_that_cannot_replay_fails) {
  h2_peer *p = h2_peer_python("refuse");
  nh_transport *t = h2c_transport(0, 0);
  nh_client *c = h2_client_of(t);
  int left = 1;
  nh_client_request *req = nh_client_request_new("POST", h2_peer_url(p, "/y"));
  CHECK_EQ(nh_client_request_set_body_reader(req, read_once, NULL, &left, -1), NH_OK);
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_ECONNRESET);
  nh_client_request_free(req);
  H2_PEER_SAW(p, "conn 0 stream 1 body 4 once");
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.retries, 0);
  CHECK_EQ(st.dials, 1); /* not sent again anywhere */
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(stream_reset_with_an_error_is_not_retried) {
  h2_peer *p = h2_peer_python("reset");
  nh_transport *t = h2c_transport(0, 0);
  nh_client *c = h2_client_of(t);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/z"), &r), NH_ECONNRESET);
  H2_PEER_SAW(p, "conn 0 stream 1 GET /z");
  /* The connection itself is fine: the next request uses it. */
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/w"), &r), NH_ECONNRESET);
  H2_PEER_SAW(p, "conn 0 stream 3 GET /w");
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.retries, 0);
  CHECK_EQ(st.dials, 1);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(silent_peer_is_found_by_ping_and_its_request_fails) {
  h2_peer *p = h2_peer_python("silent");
  /* Short, so the case is quick; the response header timeout (30 s) is
   * far beyond them, so what ends the request is the PING. */
  nh_transport *t = h2c_transport(200 * NH_MSEC, 300 * NH_MSEC);
  nh_client *c = h2_client_of(t);
  nh_time start = nh_now();
  nh_response *r;
  int e = nh_client_get(c, h2_peer_url(p, "/hang"), &r);
  nh_dur took = nh_now() - start;
  CHECK(e == NH_ETIMEDOUT);
  CHECK(took < 20 * NH_SEC);
  H2_PEER_SAW(p, "conn 0 ping");
  /* The dead connection is not reused: the next request dials again. */
  e = nh_client_get(c, h2_peer_url(p, "/hang2"), &r);
  CHECK(e == NH_ETIMEDOUT);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 2);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST_MAIN()
