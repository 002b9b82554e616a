/* hello_debug: the hello-world server of the benchmarks behind a mux, with
 * or without request metrics and a debug listener, for bench/debug/run.sh.
 *
 *   hello_debug --addr HOST:PORT [--threads N] [--debug-addr HOST:PORT]
 *
 * With --debug-addr: request metrics on (the default) and nh_debug_handler
 * served on that address, on the same runtime. Without it: metrics off
 * (disable_metrics) and no debug listener. Either way "GET /" is routed by
 * the mux pattern "/" and answered "hello, world\n" (13 bytes, text/plain).
 * Runs until SIGINT or SIGTERM. */
#include <nethttp.h>
#include <nethttp/debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hello(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_resp_write(w, "hello, world\n", 13);
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1:8080", *debug_addr = NULL;
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--addr"))
      addr = argv[i + 1];
    else if (!strcmp(argv[i], "--threads"))
      rc.loops = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--debug-addr"))
      debug_addr = argv[i + 1];
  }
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_mux *mux = nh_mux_new();
  if (!rt || !mux || nh_mux_handle_func(mux, "/", hello, NULL) != NH_OK)
    return 1;
  nh_handler mh = nh_mux_handler(mux);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = mh.fn;
  cfg.handler_data = mh.data;
  cfg.disable_metrics = debug_addr == NULL;
  nh_server *srv = nh_server_new(rt, &cfg);
  if (!srv)
    return 1;
  nh_server *dbg = NULL;
  nh_handler dh = {0};
  if (debug_addr) {
    nh_debug_config dc = {.servers = &srv, .nservers = 1};
    dh = nh_debug_handler(&dc);
    nh_server_config dcfg = NH_SERVER_CONFIG_DEFAULT;
    dcfg.handler = dh.fn;
    dcfg.handler_data = dh.data;
    dcfg.disable_metrics = 1; /* scrapes are not the figures measured */
    dbg = nh_server_new(rt, &dcfg);
    if (!dh.fn || !dbg || nh_server_listen(dbg, debug_addr) != NH_OK ||
        nh_server_start(dbg) != NH_OK) {
      fprintf(stderr, "hello_debug: cannot serve the debug listener on %s\n", debug_addr);
      return 1;
    }
  }
  int r = nh_server_run(srv, addr, 10 * NH_SEC); /* until SIGINT/SIGTERM */
  if (dbg) {
    nh_server_shutdown(dbg, nh_deadline_after(NH_SEC));
    nh_server_free(dbg);
    nh_debug_handler_free(dh);
  }
  nh_server_free(srv);
  nh_mux_free(mux);
  nh_runtime_free(rt);
  return r == NH_OK ? 0 : 1;
}
