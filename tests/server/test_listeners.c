/* Listeners: IPv6, a Unix socket and an inherited descriptor on one
 * server, and a descriptor that is not listening refused. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
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

NH_TEST_MAIN()
