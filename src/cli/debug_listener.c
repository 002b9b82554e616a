/* --debug-addr: the debug pages on their own listener, beside the public
 * server and on the same runtime, as Go programs mount net/http/pprof on
 * a private port. See flags.h. */
#include "flags.h"

#include <nethttp/debug.h>
#include <stdlib.h>
#include <string.h>

int debug_listener_start(debug_listener *dl, const server_flags *f, nh_runtime *rt, nh_server *pub,
                         nh_logger *log) {
  memset(dl, 0, sizeof *dl);
  if (!f->debug_addr)
    return 0;
  char addr[512];
  /* A bare path is a Unix socket. */
  snprintf(addr, sizeof addr, "%s%s", f->debug_addr[0] == '/' ? "unix:" : "", f->debug_addr);
  if (!f->debug_allow_remote && !nh_debug_addr_is_loopback(addr)) {
    fprintf(stderr,
            "nethttp: --debug-addr %s is not a loopback address or a Unix socket; the debug "
            "pages show stacks, memory and timings, so they listen on 127.0.0.1:PORT, "
            "[::1]:PORT or unix:/path (--debug-allow-remote serves them anywhere)\n",
            f->debug_addr);
    return -1;
  }
  nh_server *servers[1] = {pub};
  nh_debug_config dc = {.runtime = rt, .servers = servers, .nservers = 1,
                        .allow_non_loopback = f->debug_allow_remote};
  dl->pages = nh_debug_handler(&dc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = dl->pages.fn;
  cfg.handler_data = dl->pages.data;
  cfg.logger = log;
  dl->srv = dl->pages.fn ? nh_server_new(rt, &cfg) : NULL;
  int e = NH_ENOMEM;
  if (!dl->srv || (e = nh_server_listen(dl->srv, addr)) != NH_OK ||
      (e = nh_server_start(dl->srv)) != NH_OK) {
    fprintf(stderr, "nethttp: --debug-addr %s: %s\n", f->debug_addr, nh_strerror(e));
    if (dl->srv)
      nh_server_free(dl->srv);
    nh_debug_handler_free(dl->pages);
    memset(dl, 0, sizeof *dl);
    return -1;
  }
  char where[128] = "";
  nh_server_addr(dl->srv, where, sizeof where);
  NH_LOG(log, NH_LOG_INFO, "debug pages", NH_LSTR("addr", where),
         NH_LSTR("pages", "/debug/ (the live page, linking the others) /metrics"));
  return 0;
}

void debug_listener_stop(debug_listener *dl, const server_flags *f) {
  if (!dl->srv)
    return;
  nh_server_shutdown(dl->srv, nh_deadline_after(f->shutdown_timeout));
  nh_server_free(dl->srv);
  nh_debug_handler_free(dl->pages);
  memset(dl, 0, sizeof *dl);
}
