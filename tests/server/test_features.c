/* Listeners (IPv6, Unix, an inherited descriptor), per-request deadlines,
 * ConnContext values, shutdown hooks, response splitting refused, 1xx. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>
#include <sys/un.h>

static void hello(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "hi"); }

static nh_server *start(nh_runtime *rt, nh_handler_fn h, nh_server_config *cfg, const char *addr) {
  nh_server_config d = NH_SERVER_CONFIG_DEFAULT;
  if (!cfg)
    cfg = &d;
  cfg->handler = h;
  nh_server *srv = nh_server_new(rt, cfg);
  CHECK(srv);
  if (addr)
    CHECK_EQ(nh_server_listen(srv, addr), NH_OK);
  return srv;
}

static int ask(int fd, const char *req, char *out, size_t cap) {
  raw_send(fd, req, strlen(req));
  size_t got = 0;
  ssize_t n;
  while (got < cap - 1 && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0) {
    got += (size_t)n;
    out[got] = 0;
    if (strstr(out, "\r\n\r\nhi"))
      break;
  }
  out[got] = 0;
  close(fd);
  return (int)got;
}

NH_TEST(ipv6_unix_and_inherited_listeners) {
  nh_runtime *rt = nh_runtime_new(NULL);
  char path[] = "/tmp/nh-test-XXXXXX";
  CHECK(mkdtemp(path));
  char sock[128], unix_addr[160];
  snprintf(sock, sizeof sock, "%s/s.sock", path);
  snprintf(unix_addr, sizeof unix_addr, "unix:%s", sock);
  nh_server *srv = start(rt, hello, NULL, "[::1]:0");
  CHECK_EQ(nh_server_listen(srv, unix_addr), NH_OK);
  /* An inherited socket, as from systemd or a parent process. */
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(lfd, (struct sockaddr *)&sa, sizeof sa);
  listen(lfd, 16);
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  CHECK_EQ(nh_server_listen_fd(srv, lfd), NH_OK);
  CHECK_EQ(nh_server_start(srv), NH_OK);
  char addr[64];
  nh_server_addr(srv, addr, sizeof addr);
  CHECK(!strncmp(addr, "[::1]:", 6));
  char buf[512];
  /* IPv6 */
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)nh_server_port(srv)),
                            .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  CHECK_EQ(connect(fd, (struct sockaddr *)&s6, sizeof s6), 0);
  ask(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
  CHECK_CONTAINS(buf, "200 OK");
  /* Unix */
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  strcpy(un.sun_path, sock);
  CHECK_EQ(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
  ask(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
  CHECK_CONTAINS(buf, "200 OK");
  /* Inherited */
  fd = raw_connect(ntohs(sa.sin_port));
  ask(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
  CHECK_CONTAINS(buf, "200 OK");
  /* Not a listening socket: refused. */
  int plain = socket(AF_INET, SOCK_STREAM, 0);
  nh_server *other = start(rt, hello, NULL, NULL);
  CHECK_EQ(nh_server_listen_fd(other, plain), NH_EINVAL);
  nh_server_free(other);
  close(plain);
  CHECK_EQ(nh_server_shutdown(srv, nh_deadline_after(NH_SEC)), NH_OK);
  nh_server_free(srv);
  nh_runtime_free(rt);
  unlink(sock);
  rmdir(path);
}

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
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(port);
  char head[128];
  snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n", path);
  raw_sends(c->fd, head);
  for (int i = 0; i < 6; i++) { /* 6 bytes over 1.2 s: 4 read timeouts */
    usleep(200 * 1000);
    raw_send(c->fd, "x", 1);
  }
  raw_read(c, r, 0);
  close(c->fd);
  free(c);
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

/* A handler cannot split a response with CR/LF in a header; 103 Early
 * Hints go out before the final answer. */
static void headers(nh_response_writer *w, nh_request *r) {
  nh_header *h = nh_resp_header(w);
  CHECK_EQ(nh_header_set(h, "X-Evil", "a\r\nSet-Cookie: stolen=1"), NH_EINVAL);
  CHECK_EQ(nh_header_set(h, "Bad Name", "v"), NH_EINVAL);
  nh_header_set(h, "Link", "</style.css>; rel=preload");
  nh_resp_write_header(w, 103);
  nh_header_del(h, "Link");
  nh_resp_write_string(w, "final");
}

NH_TEST(no_response_splitting_and_early_hints) {
  nh_test_server *ts = nh_test_server_new(headers, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 103);
  CHECK_STR(raw_header(&r, "Link"), "</style.css>; rel=preload");
  raw_resp_free(&r);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "final");
  CHECK(raw_header(&r, "Set-Cookie") == NULL);
  CHECK(raw_header(&r, "X-Evil") == NULL);
  raw_resp_free(&r);
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
