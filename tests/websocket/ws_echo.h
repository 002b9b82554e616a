/* Echo on one side of an nh_ws, one message there and back on the other,
 * and a client transport for a TLS test server: shared by the WebSocket
 * tests. Needs harness.h (CHECK). */
#ifndef NH_TESTS_WEBSOCKET_WS_ECHO_H
#define NH_TESTS_WEBSOCKET_WS_ECHO_H

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <string.h>

/* Writes each message back as it came, until a read (10 s idle) or a
 * write fails. */
static inline void ws_echo_until_end(nh_ws *ws) {
  nh_ws_type t;
  const char *d;
  size_t n;
  while (nh_ws_read(ws, &t, &d, &n, nh_deadline_after(10 * NH_SEC)) == NH_OK)
    if (nh_ws_write(ws, t, d, n, NH_NO_DEADLINE) != NH_OK)
      break;
}

/* Reads one message (20 s at most) and checks its type and bytes, then
 * the NUL after them. */
static inline void ws_expect(nh_ws *ws, nh_ws_type type, const char *msg, size_t len) {
  nh_ws_type t;
  const char *d;
  size_t n;
  CHECK_EQ(nh_ws_read(ws, &t, &d, &n, nh_deadline_after(20 * NH_SEC)), NH_OK);
  CHECK_EQ(t, type);
  CHECK_EQ(n, len);
  CHECK(memcmp(d, msg, len) == 0);
  CHECK_EQ(d[n], 0);
}

/* Sends one message and checks that the same one comes back. */
static inline void ws_round_trip(nh_ws *ws, nh_ws_type type, const char *msg, size_t len) {
  CHECK_EQ(nh_ws_write(ws, type, msg, len, NH_NO_DEADLINE), NH_OK);
  ws_expect(ws, type, msg, len);
}

/* A transport trusting ts's certificate authority, speaking http_version
 * (NH_HTTP_AUTO: h2 offered to https servers). nh_transport_free it. */
static inline nh_transport *ws_transport_for(nh_test_server *ts, int http_version) {
  nh_tls_config tls = {0};
  tls.ca_file = nh_test_server_ca_file(ts);
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.tls = &tls;
  cfg.http_version = http_version;
  nh_transport *t = nh_transport_new(&cfg);
  CHECK(t);
  return t;
}

#endif
