/* nethttp's WebSocket client against the peer servers of
 * tests/peers/websocket/run.sh (python3-websockets, Node's ws, gorilla),
 * which speak the protocol described in tests/peers/websocket/py_server.py.
 *   peer_client BASE    (BASE = ws://127.0.0.1:PORT)
 * Runs the same scenarios as the peer clients (py_client.py): prints "ok
 * STEP" per step and "expect PATH CODE REASON" for each close the server must
 * report ("*": any reason); exits 1 at the first failure. Public API only. */
#include <nethttp.h>
#include <nethttp/websocket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int codes[] = {1000, 1001, 1003, 1007, 1008, 1009, 1011, 3000, 4999};
static const char *base;
static char frag[3001];
static int failed;

#define FAIL(...)                                                                              \
  do {                                                                                         \
    printf("FAIL " __VA_ARGS__);                                                               \
    printf("\n");                                                                              \
    failed = 1;                                                                                \
    return -1;                                                                                 \
  } while (0)
#define TRY(x)                                                                                 \
  do {                                                                                         \
    if ((x) < 0)                                                                               \
      return -1;                                                                               \
  } while (0)

static nh_time soon(void) { return nh_deadline_after(60 * NH_SEC); }

static int dial(const char *path, const nh_ws_options *opt, nh_ws **ws, nh_response **resp) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", base, path);
  int rc = nh_ws_dial(NULL, url, opt, soon(), ws, resp);
  if (rc != 0)
    FAIL("dial %s: %s", url, nh_strerror(rc));
  return 0;
}

static int expect_msg(nh_ws *ws, nh_ws_type type, const void *data, size_t len, const char *step) {
  nh_ws_type t;
  const char *d;
  size_t n;
  int rc = nh_ws_read(ws, &t, &d, &n, soon());
  if (rc != 0)
    FAIL("%s: read: %s", step, nh_strerror(rc));
  if (t != type || n != len || memcmp(d, data, len) != 0)
    FAIL("%s: got type %d, %zu bytes, not type %d, %zu bytes", step, t, n, type, len);
  return 0;
}

static int echo(nh_ws *ws, nh_ws_type type, const void *data, size_t len, const char *step) {
  int rc = nh_ws_write(ws, type, data, len, soon());
  if (rc != 0)
    FAIL("%s: write: %s", step, nh_strerror(rc));
  TRY(expect_msg(ws, type, data, len, step));
  printf("ok %s\n", step);
  return 0;
}

static int send_text(nh_ws *ws, const char *s) {
  int rc = nh_ws_write(ws, NH_WS_TEXT, s, strlen(s), soon());
  if (rc != 0)
    FAIL("write %s: %s", s, nh_strerror(rc));
  return 0;
}

/* Reads until the read fails; returns its error. */
static int read_to_end(nh_ws *ws) {
  for (;;) {
    nh_ws_type t;
    const char *d;
    size_t n;
    int rc = nh_ws_read(ws, &t, &d, &n, soon());
    if (rc != 0)
      return rc;
  }
}

static char pong[128];
static void on_pong(nh_ws *ws, const void *data, size_t len, void *arg) {
  (void)ws, (void)arg;
  snprintf(pong, sizeof pong, "%.*s", (int)len, (const char *)data);
}

static int plain(void) {
  nh_ws *ws;
  TRY(dial("/echo/plain", NULL, &ws, NULL));
  if (nh_ws_compressed(ws))
    FAIL("compression on though not offered");
  static const char utf8[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";
  TRY(echo(ws, NH_WS_TEXT, utf8, sizeof utf8 - 1, "text"));
  unsigned char bin[256];
  for (int i = 0; i < 256; i++)
    bin[i] = (unsigned char)i;
  TRY(echo(ws, NH_WS_BINARY, bin, sizeof bin, "binary"));
  TRY(echo(ws, NH_WS_TEXT, "", 0, "empty text"));
  TRY(echo(ws, NH_WS_BINARY, "", 0, "empty binary"));
  size_t bn = 300 * 1024;
  unsigned char *big = malloc(bn);
  for (size_t i = 0; i < bn; i++)
    big[i] = (unsigned char)(i * 7 % 251);
  int rc = echo(ws, NH_WS_BINARY, big, bn, "large 300 KB");
  free(big);
  TRY(rc);
  if (nh_ws_write_frame(ws, NH_WS_TEXT, 1, 0, frag, 1000, soon()) != 0 ||
      nh_ws_write_frame(ws, NH_WS_TEXT, 0, 0, frag + 1000, 1000, soon()) != 0 ||
      nh_ws_write_frame(ws, NH_WS_TEXT, 0, 1, frag + 2000, 1000, soon()) != 0)
    FAIL("fragments sent: write failed");
  TRY(expect_msg(ws, NH_WS_TEXT, frag, 3000, "fragments sent"));
  printf("ok fragments sent\n");
  TRY(send_text(ws, "!frag"));
  TRY(expect_msg(ws, NH_WS_TEXT, frag, 3000, "fragments received"));
  printf("ok fragments received\n");
  nh_ws_on_pong(ws, on_pong, NULL);
  if (nh_ws_ping(ws, "are you there", 13, soon()) != 0)
    FAIL("ping: write failed");
  TRY(echo(ws, NH_WS_TEXT, "after the ping", 14, "echo after ping"));
  if (strcmp(pong, "are you there"))
    FAIL("ping: pong \"%s\"", pong);
  printf("ok ping answered\n");
  TRY(send_text(ws, "!ping from-server"));
  TRY(expect_msg(ws, NH_WS_TEXT, "pong from-server", 16, "server ping answered"));
  printf("ok server ping answered\n");
  if (nh_ws_write(ws, NH_WS_TEXT, "abc\xff", 4, soon()) != NH_EINVAL)
    FAIL("invalid UTF-8 text was not refused by nh_ws_write");
  printf("ok invalid UTF-8 refused by nh_ws_write\n");
  rc = nh_ws_close(ws, 1000, "bye");
  nh_ws_free(ws);
  if (rc != 0)
    FAIL("close: %s", nh_strerror(rc));
  printf("expect /echo/plain 1000 bye\n");
  return 0;
}

static int compressed(void) {
  nh_ws_options opt = NH_WS_OPTIONS_DEFAULT;
  opt.compression = 1;
  nh_ws *ws;
  nh_response *resp = NULL;
  TRY(dial("/echo/deflate", &opt, &ws, &resp));
  const char *ext = resp ? nh_header_get(nh_response_header(resp), "Sec-WebSocket-Extensions") : NULL;
  int agreed = ext && strstr(ext, "permessage-deflate");
  nh_response_close(resp); /* the 101 has no body: this frees it */
  if (!agreed || !nh_ws_compressed(ws)) {
    nh_ws_free(ws);
    FAIL("compression: not negotiated (%s, nh_ws_compressed %d)", agreed ? "in the 101" : "not in the 101",
         nh_ws_compressed(ws));
  }
  TRY(send_text(ws, "!ext"));
  TRY(expect_msg(ws, NH_WS_TEXT, "permessage-deflate", 18, "compression: the server's view"));
  size_t n = 18 * 2000;
  char *txt = malloc(n + 1);
  for (size_t i = 0; i < n; i += 18)
    memcpy(txt + i, "compressible text ", 18);
  int rc = echo(ws, NH_WS_TEXT, txt, n, "compressed text");
  free(txt);
  TRY(rc);
  n = 300 * 1024;
  unsigned char *low = malloc(n);
  for (size_t i = 0; i < n; i++)
    low[i] = (unsigned char)(i % 16);
  rc = echo(ws, NH_WS_BINARY, low, n, "compressed binary 300 KB");
  free(low);
  TRY(rc);
  TRY(echo(ws, NH_WS_TEXT, "short", 5, "compressed short text"));
  rc = nh_ws_close(ws, 1000, "");
  nh_ws_free(ws);
  if (rc != 0)
    FAIL("compressed close: %s", nh_strerror(rc));
  printf("expect /echo/deflate 1000 *\n");
  return 0;
}

static int closes(void) {
  char buf[64], want[32], path[32];
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    nh_ws *ws;
    snprintf(path, sizeof path, "/echo/server-%d", codes[i]);
    TRY(dial(path, NULL, &ws, NULL));
    snprintf(buf, sizeof buf, "!close %d server-%d", codes[i], codes[i]);
    snprintf(want, sizeof want, "server-%d", codes[i]);
    TRY(send_text(ws, buf));
    int rc = read_to_end(ws);
    const char *reason = NULL;
    int code = nh_ws_close_status(ws, &reason);
    int same = rc == NH_ECLOSED && code == codes[i] && reason && !strcmp(reason, want);
    if (!same) {
      printf("FAIL server close %d: read %s, status %d \"%s\"\n", codes[i], nh_strerror(rc), code,
             reason ? reason : "(null)");
      nh_ws_free(ws);
      failed = 1;
      return -1;
    }
    nh_ws_free(ws);
  }
  printf("ok close codes from the server\n");
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    nh_ws *ws;
    snprintf(path, sizeof path, "/echo/client-%d", codes[i]);
    TRY(dial(path, NULL, &ws, NULL));
    snprintf(want, sizeof want, "client-%d", codes[i]);
    int rc = nh_ws_close(ws, codes[i], want);
    nh_ws_free(ws);
    if (rc != 0)
      FAIL("client close %d: %s", codes[i], nh_strerror(rc));
    printf("expect %s %d %s\n", path, codes[i], want);
  }
  printf("ok close codes to the server\n");
  return 0;
}

static int protocol_errors(void) {
  nh_ws *ws;
  TRY(dial("/echo/badutf8", NULL, &ws, NULL));
  TRY(send_text(ws, "!badutf8"));
  int rc = read_to_end(ws);
  nh_ws_free(ws);
  if (rc != NH_EBADREQUEST)
    FAIL("invalid UTF-8 received: read %s, not NH_EBADREQUEST", nh_strerror(rc));
  printf("expect /echo/badutf8 1007 *\nok invalid UTF-8 received\n");

  TRY(dial("/small", NULL, &ws, NULL));
  char *b = malloc(2000);
  memset(b, 'y', 2000);
  rc = nh_ws_write(ws, NH_WS_BINARY, b, 2000, soon());
  free(b);
  if (rc != 0)
    FAIL("oversize sent: write %s", nh_strerror(rc));
  rc = read_to_end(ws);
  const char *why;
  int code = nh_ws_close_status(ws, &why);
  nh_ws_free(ws);
  if (rc != NH_ECLOSED || code != 1009)
    FAIL("oversize sent: read %s, close %d, not 1009", nh_strerror(rc), code);
  printf("ok oversize sent: 1009\n");

  nh_ws_options opt = NH_WS_OPTIONS_DEFAULT;
  opt.max_message = 1000;
  TRY(dial("/echo/big", &opt, &ws, NULL));
  TRY(send_text(ws, "!big 2000"));
  rc = read_to_end(ws);
  nh_ws_free(ws);
  if (rc != NH_EBADREQUEST)
    FAIL("oversize received: read %s, not NH_EBADREQUEST", nh_strerror(rc));
  printf("expect /echo/big 1009 *\nok oversize received\n");
  return 0;
}

static void run(void *arg) {
  (void)arg;
  if (plain() == 0 && compressed() == 0 && closes() == 0)
    protocol_errors();
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: peer_client ws://HOST:PORT\n");
    return 2;
  }
  base = argv[1];
  for (int i = 0; i < 3000; i++)
    frag[i] = (char)('0' + i % 10);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (nh_run(NULL, run, NULL) != 0)
    return 1;
  return failed;
}
