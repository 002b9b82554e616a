/* The server's opening handshake over a real socket: each refusal's
 * status (as gorilla's Upgrader answers), the 101's bytes (the accept
 * key, the subprotocol picked, the extension answer, the handler's own
 * fields), the bytes a client sends with its request reaching the
 * WebSocket, HTTPS, and HTTP/2 refused. */
#include "harness.h"
#include "websocket/hand_raw.h"
#include "websocket/ws_echo.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

#include "websocket/ws_internal.h"

/* ---- a handler that accepts with the options of the case ---- */

static nh_ws_options g_opt;
static int g_set_cookie;       /* the handler sets a field for the 101 */
static int g_set_extensions;   /* ... a Sec-WebSocket-Extensions of its own */
static atomic_int g_result = 1; /* nh_ws_accept's answer (1: not called) */
static atomic_int g_is_upgrade = -1;
static atomic_int g_done;       /* the handler returned */

static void reset(void) {
  g_opt = NH_WS_OPTIONS_DEFAULT;
  g_set_cookie = g_set_extensions = 0;
  atomic_store(&g_result, 1);
  atomic_store(&g_is_upgrade, -1);
  atomic_store(&g_done, 0);
}

/* Accepts, then echoes messages until the peer closes. */
static void accept_echo(nh_response_writer *w, nh_request *r) {
  atomic_store(&g_is_upgrade, nh_ws_is_upgrade(r));
  if (g_set_cookie)
    nh_header_set(nh_resp_header(w), "Set-Cookie", "session=abc");
  if (g_set_extensions)
    nh_header_set(nh_resp_header(w), "Sec-WebSocket-Extensions", "x-mine");
  nh_ws *ws = NULL;
  int e = nh_ws_accept(w, r, &g_opt, &ws);
  atomic_store(&g_result, e);
  if (e == NH_OK) {
    ws_echo_until_end(ws);
    nh_ws_free(ws);
  }
  atomic_store(&g_done, 1);
}

/* Sends request as is, reads the answer's head (and body): the status. */
static int answer_to(int port, const char *request, char *head, size_t cap, raw_resp *body) {
  raw_conn *c = raw_dial(port);
  raw_sends(c->fd, request);
  int st = raw_read(c, body, 0);
  if (st == 0)
    snprintf(head, cap, "%s", body->head);
  raw_hang_up(c);
  return st == 0 ? body->status : -1;
}

/* On a new connection, the upgrade request for /ws with extra header
 * lines; checks the answer's status is want and leaves its head in head
 * (4096 bytes). The connection is the caller's (hang_up). */
static raw_conn *upgrade(int port, const char *extra, char *head, int want) {
  raw_conn *c = raw_dial(port);
  hr_upgrade(c->fd, "/ws", extra);
  CHECK_EQ(hr_read_head(c, head, 4096), want);
  return c;
}

/* Hangs up, then waits for the handler to return. */
static void hang_up(raw_conn *c) {
  raw_hang_up(c);
  CHECK_SOON(atomic_load(&g_done));
}

typedef struct refusal {
  const char *why;
  const char *request;
  int status;
} refusal;

#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPG "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define V13 "Sec-WebSocket-Version: 13\r\n"

static const refusal refusals[] = {
    {"POST", "POST /ws HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n" UPG KEY V13 "\r\n", 405},
    {"HTTP/1.0", "GET /ws HTTP/1.0\r\nHost: h\r\n" UPG KEY V13 "\r\n", 400},
    {"no Connection: upgrade",
     "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" KEY V13
     "\r\n",
     400},
    {"no Upgrade: websocket",
     "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" KEY V13 "\r\n", 400},
    {"no version", "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG KEY "\r\n", 400},
    {"version 8", "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG KEY "Sec-WebSocket-Version: 8\r\n\r\n",
     426},
    {"no key", "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG V13 "\r\n", 400},
    {"key of 15 bytes",
     "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG V13 "Sec-WebSocket-Key: MTIzNDU2Nzg5MDEyMzQ1\r\n\r\n",
     400},
    {"key not base64",
     "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG V13 "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n\r\n",
     400},
    {"two keys", "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG V13 KEY KEY "\r\n", 400},
    {"cross origin",
     "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG V13 KEY "Origin: http://evil.example\r\n\r\n", 403},
    {"origin on another port",
     "GET /ws HTTP/1.1\r\nHost: h:80\r\n" UPG V13 KEY "Origin: http://h:81\r\n\r\n", 403},
};

/* Each bad handshake gets its status, a plain-text body with the status
 * text (as Go's http.Error), Sec-WebSocket-Version: 13 (426 needs it),
 * and nh_ws_accept returns NH_EBADREQUEST: the handler just returns. */
NH_TEST(each_refusal_gets_its_status) {
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  int port = nh_test_server_port(ts);
  for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
    reset();
    char head[8192];
    raw_resp body;
    int st = answer_to(port, refusals[i].request, head, sizeof head, &body);
    if (st != refusals[i].status)
      NH_FAIL("%s: status %d, want %d", refusals[i].why, st, refusals[i].status);
    CHECK_STR(raw_header(&body, "Sec-WebSocket-Version"), "13");
    CHECK_STR(raw_header(&body, "Content-Type"), "text/plain; charset=utf-8");
    char want[64];
    snprintf(want, sizeof want, "%s\n", nh_status_text(st));
    CHECK_STR(body.body, want);
    if (st == 405)
      CHECK_STR(raw_header(&body, "Allow"), "GET");
    raw_resp_free(&body);
    CHECK_SOON(atomic_load(&g_done));
    CHECK_EQ(atomic_load(&g_result), NH_EBADREQUEST);
    /* nh_ws_is_upgrade looks at the method and the two tokens only. */
    int asks = strncmp(refusals[i].why, "no ", 3) != 0 || !strcmp(refusals[i].why, "no version") ||
               !strcmp(refusals[i].why, "no key");
    CHECK_EQ(atomic_load(&g_is_upgrade), asks && strcmp(refusals[i].why, "POST") != 0);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A Sec-WebSocket-Extensions the handler set itself is refused (500), as
 * gorilla does: extensions are negotiated, not imposed. */
NH_TEST(handler_extension_field_is_refused) {
  reset();
  g_set_extensions = 1;
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  char head[8192];
  raw_resp body;
  int st = answer_to(nh_test_server_port(ts), "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG KEY V13 "\r\n",
                     head, sizeof head, &body);
  CHECK_EQ(st, 500);
  raw_resp_free(&body);
  CHECK_SOON(atomic_load(&g_done));
  CHECK_EQ(atomic_load(&g_result), NH_EBADREQUEST);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The origin hook decides instead of the same-origin default. */
static int only_trusted(const nh_request *r, void *arg) {
  const char *o = nh_header_get(nh_request_header((nh_request *)r), "Origin");
  return o && !strcmp(o, arg);
}

NH_TEST(origin_hook_decides) {
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  int port = nh_test_server_port(ts);
  const char *origins[] = {"https://trusted.example", "https://other.example"};
  for (int i = 0; i < 2; i++) {
    reset();
    g_opt.check_origin = only_trusted;
    g_opt.check_origin_arg = (void *)"https://trusted.example";
    char extra[128], head[4096];
    snprintf(extra, sizeof extra, "Origin: %s\r\n", origins[i]);
    hang_up(upgrade(port, extra, head, i == 0 ? 101 : 403));
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The 101 of RFC 6455's example: its accept key, Upgrade and Connection,
 * the handler's own field, no subprotocol or extension not asked for.
 * Token lists are read across fields and case: "keep-alive, Upgrade"
 * split over two Connection fields, "WebSocket". A same-origin Origin is
 * accepted. */
NH_TEST(switching_protocols_bytes) {
  reset();
  g_set_cookie = 1;
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  char req[512];
  snprintf(req, sizeof req,
           "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: WebSocket\r\n"
           "Connection: keep-alive\r\nConnection: Upgrade\r\nOrigin: http://127.0.0.1:%d\r\n"
           KEY V13 "\r\n",
           nh_test_server_port(ts), nh_test_server_port(ts));
  raw_sends(c->fd, req);
  char head[4096];
  CHECK_EQ(hr_read_head(c, head, sizeof head), 101);
  CHECK(!strncmp(head, "HTTP/1.1 101 Switching Protocols\r\n", 34));
  CHECK_STR(raw_field(head, "Upgrade"), "websocket");
  CHECK_STR(raw_field(head, "Connection"), "Upgrade");
  CHECK_STR(raw_field(head, "Sec-WebSocket-Accept"), HR_RFC_ACCEPT);
  CHECK_STR(raw_field(head, "Set-Cookie"), "session=abc");
  CHECK(!raw_field(head, "Sec-WebSocket-Protocol"));
  CHECK(!raw_field(head, "Sec-WebSocket-Extensions"));
  CHECK(!raw_field(head, "Content-Length"));
  CHECK(!raw_field(head, "Transfer-Encoding"));
  CHECK_EQ(atomic_load(&g_is_upgrade), 1);
  /* The connection is a WebSocket now: a masked text frame comes back
   * unmasked, then the close handshake. */
  CHECK_EQ(hr_send_frame(c->fd, 1, "hello", 5, 1), 0);
  char buf[256];
  size_t n;
  int masked;
  CHECK_EQ(hr_read_frame(c, buf, sizeof buf, &n, &masked), 0x81);
  CHECK_EQ(n, 5);
  CHECK_STR(buf, "hello");
  CHECK_EQ(masked, 0);
  CHECK_EQ(hr_send_frame(c->fd, 8, "\x03\xe8", 2, 1), 0);
  CHECK_EQ(hr_read_frame(c, buf, sizeof buf, &n, &masked), 0x88);
  CHECK_EQ(n, 2);
  CHECK_EQ((uint8_t)buf[0] << 8 | (uint8_t)buf[1], 1000);
  CHECK_SOON(atomic_load(&g_done));
  CHECK_EQ(atomic_load(&g_result), NH_OK);
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A frame sent in the same write as the request (before the 101) is read
 * from the bytes the server had already buffered past the request. */
NH_TEST(frame_sent_with_the_request_is_read) {
  reset();
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  char req[4096];
  int n = snprintf(req, sizeof req, "GET /ws HTTP/1.1\r\nHost: h\r\n" UPG KEY V13 "\r\n");
  /* + a masked "early" text frame, built by hand */
  const uint8_t key[4] = {1, 2, 3, 4};
  req[n++] = (char)0x81;
  req[n++] = (char)(0x80 | 5);
  memcpy(req + n, key, 4);
  n += 4;
  for (int i = 0; i < 5; i++)
    req[n++] = (char)("early"[i] ^ key[i % 4]);
  CHECK_EQ(raw_send(c->fd, req, (size_t)n), 0);
  char head[4096], buf[64];
  CHECK_EQ(hr_read_head(c, head, sizeof head), 101);
  size_t len;
  CHECK_EQ(hr_read_frame(c, buf, sizeof buf, &len, NULL), 0x81);
  CHECK_STR(buf, "early");
  hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The server's first preference that the client offered wins, whatever
 * the client's order; none in common: no subprotocol, still 101. */
NH_TEST(subprotocol_is_the_servers_first_offered) {
  static const char *const prefs[] = {"v2.chat", "v1.chat", NULL};
  struct {
    const char *offer, *want;
  } cases[] = {
      {"Sec-WebSocket-Protocol: v1.chat, v2.chat\r\n", "v2.chat"},
      {"Sec-WebSocket-Protocol: other\r\nSec-WebSocket-Protocol: v1.chat\r\n", "v1.chat"},
      {"Sec-WebSocket-Protocol: V2.CHAT, mqtt\r\n", NULL}, /* case-sensitive */
      {"", NULL},
  };
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reset();
    g_opt.subprotocols = prefs;
    char head[4096];
    raw_conn *c = upgrade(nh_test_server_port(ts), cases[i].offer, head, 101);
    const char *got = raw_field(head, "Sec-WebSocket-Protocol");
    if (cases[i].want)
      CHECK_STR(got, cases[i].want);
    else
      CHECK(!got);
    hang_up(c);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* permessage-deflate: answered when the server allows it (the client's
 * offers across fields), absent when it does not. */
NH_TEST(extension_answer) {
  nh_test_server *ts = nh_test_server_new(accept_echo, NULL, 1);
  for (int on = 0; on < 2; on++) {
    reset();
    g_opt.compression = on;
    char head[4096];
    raw_conn *c = upgrade(nh_test_server_port(ts),
                          "Sec-WebSocket-Extensions: x-unknown\r\n"
                          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
                          head, 101);
    const char *ext = raw_field(head, "Sec-WebSocket-Extensions");
    if (on) {
      CHECK(ext);
      CHECK(!strncmp(ext, "permessage-deflate", 18));
      CHECK(!strstr(ext, "x-unknown"));
    } else {
      CHECK(!ext);
    }
    hang_up(c);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Over HTTPS the handshake hijacks the TLS stream: a client of the
 * library's own completes it and echoes through TLS. */
NH_TEST(handshake_over_tls) {
  reset();
  nh_test_server *ts = nh_test_server_new_tls(accept_echo, NULL, 1);
  nh_transport *t = ws_transport_for(ts, NH_HTTP_AUTO);
  char url[128];
  snprintf(url, sizeof url, "wss://127.0.0.1:%d/secure", nh_test_server_port(ts));
  nh_ws *ws;
  CHECK_EQ(nh_ws_dial(t, url, NULL, nh_deadline_after(10 * NH_SEC), &ws, NULL), NH_OK);
  ws_round_trip(ws, NH_WS_BINARY, "\x00\x01\x02", 3);
  CHECK_EQ(nh_ws_close(ws, NH_WS_CLOSE_NORMAL, ""), NH_OK);
  nh_ws_free(ws);
  CHECK_SOON(atomic_load(&g_done));
  CHECK_EQ(atomic_load(&g_result), NH_OK);
  nh_transport_free(t);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* HTTP/2 has no Upgrade (and RFC 8441 is not spoken): 501, NH_ENOTSUP. */
NH_TEST(http2_is_refused) {
  reset();
  nh_test_server *ts = nh_test_server_new_tls(accept_echo, NULL, 1);
  nh_transport *t = ws_transport_for(ts, NH_HTTP_2);
  nh_client_config ccfg = {.transport = t};
  nh_client *cl = nh_client_new(&ccfg);
  char url[128];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/ws", nh_test_server_port(ts));
  nh_response *r;
  CHECK_EQ(nh_client_get(cl, url, &r), NH_OK);
  CHECK_STR(nh_response_proto(r), "HTTP/2.0");
  CHECK_EQ(nh_response_status(r), 501);
  nh_response_close(r);
  CHECK_SOON(atomic_load(&g_done));
  CHECK_EQ(atomic_load(&g_result), NH_ENOTSUP);
  nh_client_free(cl);
  nh_transport_free(t);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* RFC 6455 §1.3's example key and answer. */
NH_TEST(accept_key_of_the_rfc_example) {
  char out[29];
  nh__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
  CHECK_STR(out, HR_RFC_ACCEPT);
}

NH_TEST_MAIN()
