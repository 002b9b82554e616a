/* The HTTP/2 client's timeouts are HTTP/1's: the response header timeout,
 * the request's context, and the body stall timeout each end one request
 * by resetting its stream (RST_STREAM CANCEL, as the scripted server
 * sees), and the connection goes on carrying the next ones. */
#include "h2_peer.h"

#include <nethttp.h>

static nh_transport *h2c_transport(nh_dur header_timeout, nh_dur stall) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.http_version = NH_HTTP_2;
  cfg.response_header_timeout = header_timeout;
  cfg.body_stall_timeout = stall;
  return nh_transport_new(&cfg);
}

NH_TEST(response_header_timeout_and_context_reset_the_stream_only) {
  h2_peer *p = h2_peer_python("nohead");
  nh_transport *t = h2c_transport(300 * NH_MSEC, 0);
  nh_client *c = h2_client_of(t);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/slow"), &r), NH_ETIMEDOUT);
  H2_PEER_SAW(p, "conn 0 reset 1 8\n");
  /* The request's context: its deadline cuts the wait the same way. */
  nh_ctx *ctx;
  CHECK_EQ(nh_ctx_with_timeout(NULL, 200 * NH_MSEC, &ctx), NH_OK);
  nh_client_request *req = nh_client_request_new("GET", h2_peer_url(p, "/slow2"));
  nh_client_request_set_ctx(req, ctx);
  int e = nh_client_do(c, req, &r);
  CHECK(e == NH_ETIMEDOUT || e == NH_ECANCELED);
  nh_client_request_free(req);
  nh_ctx_free(ctx);
  H2_PEER_SAW(p, "conn 0 reset 3 8\n");
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1); /* the connection outlived both */
  CHECK_EQ(st.retries, 0);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(body_stall_timeout_resets_the_stream) {
  h2_peer *p = h2_peer_python("hold");
  nh_transport *t = h2c_transport(0, 300 * NH_MSEC);
  nh_client *c = h2_client_of(t);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/held"), &r), NH_OK);
  char buf[64];
  CHECK_EQ(nh_response_read(r, buf, sizeof buf), 10);
  CHECK_EQ(nh_response_read(r, buf, sizeof buf), NH_ETIMEDOUT);
  H2_PEER_SAW(p, "conn 0 reset 1 8\n");
  nh_response_close(r);
  CHECK_EQ(nh_client_get(c, h2_peer_url(p, "/next"), &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  nh_response_close(r);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST_MAIN()
