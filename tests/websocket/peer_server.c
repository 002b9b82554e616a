/* nethttp's WebSocket server for the peer clients of
 * tests/peers/websocket/run.sh (python3-websockets, Node's ws, gorilla),
 * speaking the protocol described in tests/peers/websocket/py_server.py:
 * data messages echoed with their type; /small limits messages to 1000
 * bytes; permessage-deflate accepted when offered; text commands "!close
 * CODE REASON", "!ping PAYLOAD", "!frag", "!badutf8", "!big N", "!ext".
 * Prints "port N" once listening and "closed PATH CODE REASON" as each
 * WebSocket ends. On SIGTERM it shuts down gracefully (every WebSocket is
 * sent close 1001), prints "shutdown returned RC" and then stays alive
 * (until killed, at most 120 s), so that a client sees its connection
 * closed by the shutdown, not by the process's exit. Public API only. */
#include <nethttp.h>
#include <nethttp/websocket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char frag[3001];

typedef struct pong_reply {
  nh_ws *ws;
  size_t len;
  char text[5 + 125 + 1];
} pong_reply;

static void send_pong_reply(void *arg) {
  pong_reply *p = arg;
  nh_ws_write(p->ws, NH_WS_TEXT, p->text, p->len, NH_NO_DEADLINE);
  free(p);
}

/* A pong arrives during a read: the reply is written from its own fiber,
 * not from inside the read. */
static void on_pong(nh_ws *ws, const void *data, size_t len, void *arg) {
  (void)arg;
  pong_reply *p = malloc(sizeof *p);
  if (!p || len > 125) {
    free(p);
    return;
  }
  p->ws = ws;
  p->len = (size_t)snprintf(p->text, sizeof p->text, "pong %.*s", (int)len, (const char *)data);
  if (nh_go(send_pong_reply, p) != 0)
    free(p);
}

/* Runs one command; returns 1 when the WebSocket is done (closed). */
static int command(nh_ws *ws, const char *msg, size_t len) {
  const char *arg = memchr(msg, ' ', len);
  size_t vlen = arg ? (size_t)(arg - msg) : len;
  arg = arg ? arg + 1 : msg + len;
  if (vlen == 6 && !memcmp(msg, "!close", 6)) {
    char *end;
    long code = strtol(arg, &end, 10);
    nh_ws_close(ws, (int)code, *end == ' ' ? end + 1 : end);
    return 1;
  }
  if (vlen == 5 && !memcmp(msg, "!ping", 5)) {
    nh_ws_ping(ws, arg, strlen(arg), NH_NO_DEADLINE);
  } else if (vlen == 5 && !memcmp(msg, "!frag", 5)) {
    nh_ws_write_frame(ws, NH_WS_TEXT, 1, 0, frag, 1000, NH_NO_DEADLINE);
    nh_ws_write_frame(ws, NH_WS_TEXT, 0, 0, frag + 1000, 1000, NH_NO_DEADLINE);
    nh_ws_write_frame(ws, NH_WS_TEXT, 0, 1, frag + 2000, 1000, NH_NO_DEADLINE);
  } else if (vlen == 8 && !memcmp(msg, "!badutf8", 8)) {
    /* nethttp refuses to send text that is not UTF-8, even frame by
     * frame: it says so to the client instead. */
    int rc = nh_ws_write_frame(ws, NH_WS_TEXT, 1, 1, "abc\xff", 4, NH_NO_DEADLINE);
    if (rc == NH_EINVAL) {
      static const char s[] = "refused: nh_ws_write_frame returned NH_EINVAL for text that is not UTF-8";
      nh_ws_write(ws, NH_WS_TEXT, s, sizeof s - 1, NH_NO_DEADLINE);
    }
  } else if (vlen == 4 && !memcmp(msg, "!big", 4)) {
    size_t n = strtoul(arg, NULL, 10);
    char *b = malloc(n + 1);
    if (b) {
      memset(b, 'x', n);
      nh_ws_write(ws, NH_WS_BINARY, b, n, NH_NO_DEADLINE);
      free(b);
    }
  } else if (vlen == 4 && !memcmp(msg, "!ext", 4)) {
    const char *s = nh_ws_compressed(ws) ? "permessage-deflate" : "none";
    nh_ws_write(ws, NH_WS_TEXT, s, strlen(s), NH_NO_DEADLINE);
  } else {
    nh_ws_write(ws, NH_WS_TEXT, msg, len, NH_NO_DEADLINE);
  }
  return 0;
}

static void handler(nh_response_writer *w, nh_request *r) {
  char path[128];
  snprintf(path, sizeof path, "%s", nh_request_path(r));
  nh_ws_options opt = NH_WS_OPTIONS_DEFAULT;
  opt.compression = 1;
  if (!strncmp(nh_request_path(r), "/small", 6))
    opt.max_message = opt.max_frame = 1000;
  nh_ws *ws;
  if (nh_ws_accept(w, r, &opt, &ws) != 0)
    return;
  nh_ws_on_pong(ws, on_pong, NULL);
  for (;;) {
    nh_ws_type type;
    const char *data;
    size_t len;
    int rc = nh_ws_read(ws, &type, &data, &len, NH_NO_DEADLINE);
    if (rc != 0)
      break;
    if (type == NH_WS_TEXT && len > 0 && data[0] == '!') {
      if (command(ws, data, len))
        break;
    } else if (nh_ws_write(ws, type, data, len, NH_NO_DEADLINE) != 0) {
      break;
    }
  }
  const char *reason = "";
  int code = nh_ws_close_status(ws, &reason);
  printf("closed %s %d %s\n", path, code, reason ? reason : "");
  fflush(stdout);
  nh_ws_free(ws);
}

int main(void) {
  for (int i = 0; i < 3000; i++)
    frag[i] = (char)('0' + i % 10);
  setvbuf(stdout, NULL, _IOLBF, 0);
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = handler;
  nh_server *srv = nh_server_new(rt, &cfg);
  if (!srv || nh_server_listen(srv, "127.0.0.1:0") != NH_OK)
    return 1;
  printf("port %d\n", nh_server_port(srv));
  int rc = nh_server_run(srv, NULL, 20 * NH_SEC);
  printf("shutdown returned %d\n", rc);
  for (int i = 0; i < 120; i++)
    sleep(1);
  nh_server_free(srv);
  nh_runtime_free(rt);
  return 0;
}
