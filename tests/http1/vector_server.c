/* nethttp serving the request vectors' handler (tests/http1/echo.h) for
 * tests/http1/differential.sh. Prints "port N" once listening on
 * 127.0.0.1:0; runs until SIGTERM. */
#include "echo.h"

#include <nethttp.h>
#include <stdio.h>

int main(void) {
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = hv_handler;
  nh_server *srv = nh_server_new(rt, &cfg);
  if (!srv || nh_server_listen(srv, "127.0.0.1:0") != NH_OK)
    return 1;
  printf("port %d\n", nh_server_port(srv));
  fflush(stdout);
  int r = nh_server_run(srv, NULL, 5 * NH_SEC);
  nh_server_free(srv);
  nh_runtime_free(rt);
  return r == NH_OK ? 0 : 1;
}
