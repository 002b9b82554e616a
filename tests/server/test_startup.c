/* A server that cannot start says why: nh_server_new without a handler,
 * nh_server_listen with a malformed address, nh_server_run on a port that
 * is taken each log the problem and return NULL or a negative code. */
#include "harness.h"
#include "runtime/support.h"

#include <arpa/inet.h>
#include <nethttp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static nh_runtime *one_loop(void) {
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  return nh_runtime_new(&rc);
}

NH_TEST(new_without_handler_says_so) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime *rt = one_loop();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.logger = &cap->base;
  CHECK(nh_server_new(rt, &cfg) == NULL);
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "ERROR");
  CHECK_CONTAINS(text, "no handler");
  free(text);
  /* And nh_server_run of what it returned does not crash. */
  CHECK_EQ(nh_server_run(NULL, "127.0.0.1:0", NH_SEC), NH_EINVAL);
  nh_runtime_free(rt);
  capture_log_free(cap);
}

static void ok(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "ok");
}

static void check_listen(nh_server *srv, capture_log *cap, const char *addr, int want,
                         const char *problem) {
  CHECK_EQ(nh_server_listen(srv, addr), want);
  char *text = capture_log_text(cap);
  char line[160];
  snprintf(line, sizeof line, "\"cannot listen\" addr=%s error=\"%s\"", addr, problem);
  CHECK_CONTAINS(text, line);
  free(text);
}

NH_TEST(listen_with_a_malformed_address_says_which) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime *rt = one_loop();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = ok;
  cfg.logger = &cap->base;
  nh_server *srv = nh_server_new(rt, &cfg);
  CHECK(srv);
  check_listen(srv, cap, "localhost", NH_EINVAL,
               "malformed address: want HOST:PORT, :PORT, [::1]:PORT or unix:/path");
  check_listen(srv, cap, "127.0.0.1:http", NH_EINVAL,
               "malformed port: want a number from 0 to 65535");
  check_listen(srv, cap, "127.0.0.1:70000", NH_EINVAL,
               "malformed port: want a number from 0 to 65535");
  CHECK_EQ(nh_server_listen(srv, "127.0.0.1:0"), NH_OK); /* the server is still usable */
  nh_server_free(srv);
  nh_runtime_free(rt);
  capture_log_free(cap);
}

/* The README's program on a taken port: nh_server_run returns at once with
 * NH_EADDRINUSE and the log names the address and the error. */
NH_TEST(run_on_a_taken_port_logs_address_and_error) {
  int taken = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(taken, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(listen(taken, 1), 0);
  socklen_t len = sizeof sa;
  getsockname(taken, (struct sockaddr *)&sa, &len);
  char addr[32];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sa.sin_port));

  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime *rt = one_loop();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = ok;
  cfg.logger = &cap->base;
  nh_server *srv = nh_server_new(rt, &cfg);
  CHECK_EQ(nh_server_run(srv, addr, NH_SEC), NH_EADDRINUSE);
  char *text = capture_log_text(cap);
  char line[160];
  snprintf(line, sizeof line, "ERROR \"cannot listen\" addr=%s error=\"address already in use\"",
           addr);
  CHECK_CONTAINS(text, line);
  CHECK_CONTAINS(text, "code=NH_EADDRINUSE");
  free(text);
  nh_server_free(srv);
  nh_runtime_free(rt);
  capture_log_free(cap);
  close(taken);
}

NH_TEST_MAIN()
