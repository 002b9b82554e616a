/* ws_echo: nethttp's side of bench/websocket/run.sh. Every path upgrades
 * to a WebSocket (nh_ws_accept, no compression), then each message is read
 * and written back with its type.
 *   ws_echo --addr 127.0.0.1:PORT --threads 1
 * The read idle timeout is off (NH_NO_TIMEOUT), as gorilla's and ws's
 * servers have none by default: the idle-memory run holds its sockets
 * longer than the default minute on a slow machine. */
#include <nethttp.h>
#include <nethttp/websocket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void echo(nh_response_writer *w, nh_request *r) {
  nh_ws_options opt = NH_WS_OPTIONS_DEFAULT;
  opt.read_idle_timeout = NH_NO_TIMEOUT;
  nh_ws *ws;
  if (nh_ws_accept(w, r, &opt, &ws) != 0)
    return;
  nh_ws_type type;
  const char *data;
  size_t len;
  while (nh_ws_read(ws, &type, &data, &len, NH_NO_DEADLINE) == 0)
    if (nh_ws_write(ws, type, data, len, NH_NO_DEADLINE) != 0)
      break;
  nh_ws_free(ws);
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1:18390";
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--addr"))
      addr = argv[i + 1];
    else if (!strcmp(argv[i], "--threads"))
      rc.loops = atoi(argv[i + 1]);
  }
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = echo;
  nh_server *srv = nh_server_new(rt, &cfg);
  int r = nh_server_run(srv, addr, 10 * NH_SEC); /* until SIGINT/SIGTERM */
  if (r && r != NH_ETIMEDOUT)
    fprintf(stderr, "ws_echo: %s: %s\n", addr, nh_strerror(r));
  nh_server_free(srv);
  nh_runtime_free(rt);
  return r == NH_OK ? 0 : 1;
}
