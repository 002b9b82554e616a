/* What a program hooks into the server: a handler's own read deadline
 * (ResponseController), ConnContext values, shutdown hooks. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

/* ResponseController: a handler extends its own read deadline past the
 * server's read timeout for a slow upload; another request does not. */
static void upload(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/long"))
    nh_resp_set_read_deadline(w, nh_deadline_after(10 * NH_SEC));
  char buf[64];
  ssize_t n, total = 0;
  while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
    total += n;
  nh_resp_printf(w, "%zd %s", total, n == 0 ? "ok" : nh_err_name((int)n));
}

static void slow_upload(int port, const char *path, raw_resp *r) {
  raw_conn *c = raw_dial(port);
  char head[128];
  snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n", path);
  raw_sends(c->fd, head);
  for (int i = 0; i < 6; i++) { /* 6 bytes over 1.2 s: 4 read timeouts */
    usleep(200 * 1000);
    raw_send(c->fd, "x", 1);
  }
  raw_read(c, r, 0);
  raw_hang_up(c);
}

NH_TEST(per_request_read_deadline) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_timeout = 300 * NH_MSEC;
  nh_test_server *ts = nh_test_server_new(upload, &cfg, 1);
  raw_resp r;
  slow_upload(nh_test_server_port(ts), "/long", &r);
  CHECK_STR(r.body, "6 ok");
  raw_resp_free(&r);
  slow_upload(nh_test_server_port(ts), "/short", &r);
  CHECK_CONTAINS(r.body, "NH_ETIMEDOUT");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ConnContext: a value set per connection reaches every request on it. */
static int conn_key;
static char conn_remote[64]; /* the test makes one connection */
static nh_ctx *conn_context(nh_ctx *base, const nh_conn_info *c, void *user) {
  nh_ctx *ctx;
  snprintf(conn_remote, sizeof conn_remote, "%s", c->remote_addr);
  nh_ctx_with_value(base, &conn_key, conn_remote, &ctx);
  return ctx;
}
static void show_conn(nh_response_writer *w, nh_request *r) {
  char *remote = nh_ctx_value(nh_request_ctx(r), &conn_key);
  nh_resp_printf(w, "%d", remote && !strcmp(remote, nh_request_remote_addr(r)));
}
static atomic_int hook_ran;
static void on_shutdown(void *arg) { atomic_fetch_add(&hook_ran, 1); }

NH_TEST(conn_context_and_shutdown_hooks) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.conn_context = conn_context;
  nh_test_server *ts = nh_test_server_new(show_conn, &cfg, 1);
  CHECK_EQ(nh_server_on_shutdown(nh_test_server_server(ts), on_shutdown, NULL), NH_OK);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_STR(r.body, "1");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  CHECK_EQ(atomic_load(&hook_ran), 1);
}

NH_TEST_MAIN()
