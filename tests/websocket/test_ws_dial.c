/* The client's opening handshake: against the library's own server (ws
 * and wss, subprotocols, compression on and off), through a CONNECT
 * proxy, the request's bytes as a scripted server sees them, and every
 * answer a client must refuse (not 101, a wrong accept key, a subprotocol
 * or extension it did not offer). */
#include "harness.h"
#include "client/scripted.h"
#include "websocket/hand_raw.h"
#include "websocket/ws_echo.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>
#include <stdio.h>

#include "websocket/ws_internal.h"

/* ---- our server: echo, with the case's options ---- */

static nh_ws_options g_opt;
static atomic_int g_compressed = -1;

static void echo(nh_response_writer *w, nh_request *r) {
  nh_ws *ws;
  if (nh_ws_accept(w, r, &g_opt, &ws) != NH_OK)
    return;
  atomic_store(&g_compressed, nh_ws_compressed(ws));
  ws_echo_until_end(ws);
  nh_ws_free(ws);
}

static void ws_url(char *buf, size_t cap, const char *scheme, int port, const char *path) {
  snprintf(buf, cap, "%s://127.0.0.1:%d%s", scheme, port, path);
}

static void close_and_free(nh_ws *ws) {
  CHECK_EQ(nh_ws_close(ws, NH_WS_CLOSE_NORMAL, "bye"), NH_OK);
  CHECK_EQ(nh_ws_close_status(ws, NULL), NH_WS_CLOSE_NORMAL);
  nh_ws_free(ws);
}

NH_TEST(dial_ws_and_echo) {
  g_opt = NH_WS_OPTIONS_DEFAULT;
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  char url[128];
  ws_url(url, sizeof url, "ws", nh_test_server_port(ts), "/echo?x=1");
  nh_ws *ws;
  nh_response *resp;
  CHECK_EQ(nh_ws_dial(NULL, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, &resp), NH_OK);
  CHECK_EQ(nh_response_status(resp), 101);
  CHECK(nh_header_get(nh_response_header(resp), "Sec-WebSocket-Accept"));
  nh_response_close(resp);
  CHECK_STR(nh_ws_subprotocol(ws), "");
  CHECK_EQ(nh_ws_compressed(ws), 0);
  ws_round_trip(ws, NH_WS_TEXT, "hello", 5);
  char big[70000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 7);
  ws_round_trip(ws, NH_WS_BINARY, big, sizeof big);
  close_and_free(ws);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(dial_wss_with_the_transports_tls) {
  g_opt = NH_WS_OPTIONS_DEFAULT;
  nh_test_server *ts = nh_test_server_new_tls(echo, NULL, 1);
  char url[128];
  ws_url(url, sizeof url, "wss", nh_test_server_port(ts), "/echo");
  nh_ws *ws;
  /* The default transport has the system's roots: the test CA is not
   * among them. */
  CHECK_EQ(nh_ws_dial(NULL, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_ECERT);
  nh_transport *t = ws_transport_for(ts, NH_HTTP_AUTO); /* offers h2 to https servers */
  CHECK_EQ(nh_ws_dial(t, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
  ws_round_trip(ws, NH_WS_TEXT, "over tls", 8);
  close_and_free(ws);
  nh_transport_free(t);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(subprotocol_negotiated) {
  static const char *const server[] = {"b", "a", NULL};
  static const char *const client[] = {"a", "b", NULL};
  static const char *const unknown[] = {"z", NULL};
  g_opt = NH_WS_OPTIONS_DEFAULT;
  g_opt.subprotocols = server;
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  char url[128];
  ws_url(url, sizeof url, "ws", nh_test_server_port(ts), "/p");
  nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
  o.subprotocols = client;
  nh_ws *ws;
  CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
  CHECK_STR(nh_ws_subprotocol(ws), "b");
  close_and_free(ws);
  o.subprotocols = unknown; /* none in common: still a WebSocket, without one */
  CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
  CHECK_STR(nh_ws_subprotocol(ws), "");
  close_and_free(ws);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Compression is on only when both sides want it. */
NH_TEST(compression_on_and_off) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  char url[128];
  ws_url(url, sizeof url, "ws", nh_test_server_port(ts), "/z");
  char text[4096];
  for (size_t i = 0; i < sizeof text; i++)
    text[i] = "abcdefgh"[i % 8];
  for (int server = 0; server < 2; server++)
    for (int client = 0; client < 2; client++) {
      g_opt = NH_WS_OPTIONS_DEFAULT;
      g_opt.compression = server;
      atomic_store(&g_compressed, -1);
      nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
      o.compression = client;
      nh_ws *ws;
      CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
      CHECK_EQ(nh_ws_compressed(ws), server && client);
      ws_round_trip(ws, NH_WS_TEXT, text, sizeof text);
      CHECK_EQ(atomic_load(&g_compressed), server && client);
      close_and_free(ws);
    }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- scripted servers: the request's bytes, and bad answers ---- */

typedef struct script {
  const char *answer; /* printf format, %s = the right accept key */
  const char *frame;  /* bytes sent right after the answer, in the same write */
  size_t nframe;
  char request[4096]; /* what came */
  atomic_int got;
} script;

static void answer(int fd, int i, void *arg) {
  (void)i;
  script *s = arg;
  long n = script_read_request(fd, s->request, sizeof s->request);
  if (n <= 0)
    return;
  atomic_store(&s->got, 1);
  char key[64] = "", accept[29] = "";
  const char *k = strstr(s->request, "Sec-WebSocket-Key: ");
  if (k)
    sscanf(k + 19, "%63[^\r]", key);
  nh__ws_accept_key(key, accept);
  char out[4096];
  int len = snprintf(out, sizeof out, s->answer, accept);
  if (s->frame) {
    memcpy(out + len, s->frame, s->nframe);
    len += (int)s->nframe;
  }
  send(fd, out, (size_t)len, MSG_NOSIGNAL);
  /* Hold the connection until the client closes it. */
  char b[256];
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (recv(fd, b, sizeof b, 0) > 0)
    ;
}

#define GOOD_101                                                                             \
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"        \
  "Sec-WebSocket-Accept: %s\r\n"

/* The request: GET of the path and query, Host, the Upgrade fields with a
 * fresh 16-byte key each time, the subprotocols, the deflate offer, the
 * caller's own fields; and the bytes right behind the 101 are the
 * WebSocket's first frame. */
NH_TEST(request_bytes_and_frame_behind_the_101) {
  static const char *const protos[] = {"chat", "superchat", NULL};
  script s = {.answer = GOOD_101 "\r\n", .frame = "\x81\x02hi", .nframe = 4};
  scripted *srv = scripted_start(answer, &s);
  char url[128];
  ws_url(url, sizeof url, "ws", srv->port, "/path/x?q=1#frag");
  nh_header *h = nh_header_new();
  nh_header_set(h, "Authorization", "Bearer t");
  nh_header_set(h, "Origin", "http://example.com");
  nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
  o.subprotocols = protos;
  o.compression = 1;
  o.header = h;
  nh_ws *ws;
  nh_response *resp = NULL;
  /* The server answers without a subprotocol and without deflate: both
   * are allowed (none chosen). */
  CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, &resp), NH_OK);
  nh_response_close(resp);
  const char *req = s.request;
  CHECK(!strncmp(req, "GET /path/x?q=1 HTTP/1.1\r\n", 26));
  char host[64];
  snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", srv->port);
  CHECK_CONTAINS(req, host);
  CHECK_CONTAINS(req, "\r\nUpgrade: websocket\r\n");
  CHECK_CONTAINS(req, "\r\nConnection: Upgrade\r\n");
  CHECK_CONTAINS(req, "\r\nSec-WebSocket-Version: 13\r\n");
  CHECK_CONTAINS(req, "\r\nSec-WebSocket-Protocol: chat, superchat\r\n");
  CHECK_CONTAINS(req, "\r\nSec-WebSocket-Extensions: permessage-deflate");
  CHECK_CONTAINS(req, "\r\nAuthorization: Bearer t\r\n");
  CHECK_CONTAINS(req, "\r\nOrigin: http://example.com\r\n");
  CHECK(!strstr(req, "frag"));
  char key[64] = "";
  unsigned char raw[64];
  sscanf(strstr(req, "Sec-WebSocket-Key: ") + 19, "%63[^\r]", key);
  CHECK_EQ(strlen(key), 24);
  CHECK_EQ(nh_base64_decode(NH_BASE64_STD, key, 24, raw, sizeof raw), 16);
  ws_expect(ws, NH_WS_TEXT, "hi", 2);
  nh_ws_free(ws);
  /* A second dial sends another key. */
  char first[64];
  strcpy(first, key);
  CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
  sscanf(strstr(s.request, "Sec-WebSocket-Key: ") + 19, "%63[^\r]", key);
  CHECK(strcmp(first, key) != 0);
  nh_ws_free(ws);
  /* A field the handshake owns may not come from the caller. */
  nh_header_set(h, "Sec-WebSocket-Key", "x");
  CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_EINVAL);
  nh_header_free(h);
  scripted_stop(srv);
}

typedef struct bad_answer {
  const char *why;
  const char *answer;
  int offer_proto, offer_deflate;
} bad_answer;

static const bad_answer bad_answers[] = {
    {"wrong accept key",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n%.0s",
     0, 0},
    {"no accept key",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n%.0s",
     0, 0},
    {"no Upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n",
     0, 0},
    {"no Connection: upgrade", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Sec-WebSocket-Accept: %s\r\n\r\n",
     0, 0},
    {"subprotocol not offered", GOOD_101 "Sec-WebSocket-Protocol: other\r\n\r\n", 1, 0},
    {"subprotocol when none offered", GOOD_101 "Sec-WebSocket-Protocol: chat\r\n\r\n", 0, 0},
    {"extension not offered", GOOD_101 "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 0,
     0},
    {"unknown extension", GOOD_101 "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n", 0,
     1},
};

NH_TEST(bad_101_answers_are_refused) {
  static const char *const protos[] = {"chat", NULL};
  for (size_t i = 0; i < sizeof bad_answers / sizeof bad_answers[0]; i++) {
    script s = {.answer = bad_answers[i].answer};
    scripted *srv = scripted_start(answer, &s);
    char url[128];
    ws_url(url, sizeof url, "ws", srv->port, "/");
    nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
    o.subprotocols = bad_answers[i].offer_proto ? protos : NULL;
    o.compression = bad_answers[i].offer_deflate;
    nh_ws *ws = (nh_ws *)1;
    nh_response *resp = NULL;
    int e = nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, &resp);
    if (e != NH_EBADRESPONSE)
      NH_FAIL("%s: %s", bad_answers[i].why, nh_strerror(e));
    CHECK(ws == NULL);
    CHECK(resp);
    CHECK_EQ(nh_response_status(resp), 101);
    nh_response_close(resp);
    scripted_stop(srv);
  }
}

/* A refusal is an ordinary response: status, header and body are the
 * caller's to read. */
static void not_found(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_header_set(nh_resp_header(w), "X-Why", "no socket here");
  nh_resp_write_header(w, 404);
  nh_resp_write_string(w, "nothing to upgrade");
}

NH_TEST(non_101_answer_is_returned) {
  nh_test_server *ts = nh_test_server_new(not_found, NULL, 1);
  char url[128];
  ws_url(url, sizeof url, "ws", nh_test_server_port(ts), "/none");
  nh_ws *ws = (nh_ws *)1;
  nh_response *resp = NULL;
  CHECK_EQ(nh_ws_dial(NULL, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, &resp),
           NH_EBADRESPONSE);
  CHECK(ws == NULL);
  CHECK_EQ(nh_response_status(resp), 404);
  CHECK_STR(nh_header_get(nh_response_header(resp), "X-Why"), "no socket here");
  char *body;
  CHECK_EQ(nh_response_read_all(resp, 1000, &body, NULL), NH_OK);
  CHECK_STR(body, "nothing to upgrade");
  free(body);
  nh_response_close(resp);
  /* Not asked for: nothing is left open either. */
  CHECK_EQ(nh_ws_dial(NULL, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, NULL),
           NH_EBADRESPONSE);
  /* A server that refuses the handshake itself (here: a cross origin). */
  g_opt = NH_WS_OPTIONS_DEFAULT;
  nh_test_server *ws_srv = nh_test_server_new(echo, NULL, 1);
  ws_url(url, sizeof url, "ws", nh_test_server_port(ws_srv), "/echo");
  nh_header *h = nh_header_new();
  nh_header_set(h, "Origin", "http://elsewhere.example");
  nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
  o.header = h;
  CHECK_EQ(nh_ws_dial(NULL, url, &o, nh_deadline_after(10 * NH_SEC), &ws, &resp),
           NH_EBADRESPONSE);
  CHECK_EQ(nh_response_status(resp), 403);
  nh_response_close(resp);
  nh_header_free(h);
  CHECK_EQ(nh_test_server_close(ws_srv, NULL), NH_OK);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(bad_urls) {
  nh_ws *ws;
  const char *urls[] = {"http://127.0.0.1/", "ws://user:pw@127.0.0.1/", "ws:///nohost", "nonsense"};
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
    CHECK_EQ(nh_ws_dial(NULL, urls[i], NULL, nh_deadline_after(NH_SEC), &ws, NULL), NH_EINVAL);
}

/* ---- through a CONNECT proxy ---- */

/* ws:// and wss:// both go through a tunnel (a proxy would not forward an
 * Upgrade as a plain request), with the proxy's credentials. */
NH_TEST(through_a_connect_proxy) {
  g_opt = NH_WS_OPTIONS_DEFAULT;
  for (int secure = 0; secure < 2; secure++) {
    script_tunnel_log log;
    memset(&log, 0, sizeof log);
    scripted *proxy = scripted_start(script_tunnel, &log);
    nh_test_server *ts = secure ? nh_test_server_new_tls(echo, NULL, 1)
                                : nh_test_server_new(echo, NULL, 1);
    char purl[128], url[128];
    snprintf(purl, sizeof purl, "http://u:p@127.0.0.1:%d", proxy->port);
    nh_tls_config tls = {0};
    tls.ca_file = secure ? nh_test_server_ca_file(ts) : NULL;
    nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
    cfg.tls = secure ? &tls : NULL;
    cfg.proxy_url = purl;
    nh_transport *t = nh_transport_new(&cfg);
    ws_url(url, sizeof url, secure ? "wss" : "ws", nh_test_server_port(ts), "/via/proxy");
    nh_ws *ws;
    CHECK_EQ(nh_ws_dial(t, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
    ws_round_trip(ws, NH_WS_TEXT, "tunnelled", 9);
    close_and_free(ws);
    char want[128];
    snprintf(want, sizeof want, "CONNECT 127.0.0.1:%d HTTP/1.1\r\n", nh_test_server_port(ts));
    CHECK_CONTAINS(log.connect, want);
    CHECK_CONTAINS(log.connect, "Proxy-Authorization: Basic dTpw\r\n"); /* u:p */
    CHECK_EQ(atomic_load(&log.tunnels), 1);
    nh_transport_free(t);
    CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
    scripted_stop(proxy);
  }
}

NH_TEST_MAIN()
