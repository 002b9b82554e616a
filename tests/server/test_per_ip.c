/* max_conns_per_ip over real sockets: past the limit a new connection from
 * the same address is closed at once, with no byte of response, and
 * counted; a connection that closes gives its count back; addresses count
 * apart (127.0.0.1 and 127.0.0.2), an IPv4 client of a dual-stack listener
 * counts as its IPv4 address, Unix-socket peers are not limited, and a
 * hijacked connection no longer counts. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>
#include <sys/un.h>
#include <time.h>

static void hello(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "hello");
}

static void pause_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* A connection from source address src (NULL: any); fails the test if
 * it cannot be made. */
static raw_conn *dial_from(const char *src, int port) {
  raw_conn *c = raw_dial_from(src, port);
  if (c->fd < 0)
    NH_FAIL("connect from %s: %s", src ? src : "any", strerror(errno));
  return c;
}

/* One request on c, answered "hello"; c stays open. */
static void served(raw_conn *c, const char *what) {
  raw_resp r;
  if (raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") != 0 || raw_read(c, &r, 0) != 0)
    NH_FAIL("%s: no answer (closed or reset)", what);
  if (r.status != 200 || strcmp(r.body, "hello"))
    NH_FAIL("%s: status %d body %s", what, r.status, r.body);
  raw_resp_free(&r);
}

/* c was closed by the server without a byte: EOF or a reset, within 10 s
 * (asked before it sends anything, so nothing it sent can be answered). */
static void refused(raw_conn *c, const char *what) {
  struct pollfd p = {c->fd, POLLIN, 0};
  if (poll(&p, 1, 10000) <= 0)
    NH_FAIL("%s: still open after 10 s", what);
  char b[64];
  ssize_t n = recv(c->fd, b, sizeof b, 0);
  if (n > 0)
    NH_FAIL("%s: got %zd bytes, want none", what, n);
}

static nh_server_stats stats(nh_server *srv) {
  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  return st;
}

/* Waits (10 s at most) until the server has let go of `closed` connections. */
static void wait_closed(nh_server *srv, int64_t closed) {
  for (int i = 0; i < 10000 && stats(srv).closed < closed; i++)
    pause_ms(1);
  CHECK_EQ(stats(srv).closed, closed);
}

NH_TEST(third_connection_from_one_address_is_closed_then_served_after_one_closes) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_conns_per_ip = 2;
  nh_test_server *ts = nh_test_server_new(hello, &cfg, 2);
  CHECK(ts != NULL);
  nh_server *srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);
  raw_conn *a = dial_from(NULL, port), *b = dial_from(NULL, port);
  served(a, "first");
  served(b, "second");
  raw_conn *c = dial_from(NULL, port);
  refused(c, "third");
  raw_hang_up(c);
  nh_server_stats st = stats(srv);
  CHECK_EQ(st.refused_per_ip, 1);
  CHECK_EQ(st.accepted, 2);
  served(a, "first, again"); /* the refusal touched no one else */
  /* Once the server has seen one of the two close, a new one is served. */
  raw_hang_up(a);
  wait_closed(srv, 1);
  raw_conn *d = dial_from(NULL, port);
  served(d, "after a close");
  raw_conn *e = dial_from(NULL, port);
  refused(e, "third again");
  raw_hang_up(e);
  CHECK_EQ(stats(srv).refused_per_ip, 2);
  raw_hang_up(b);
  raw_hang_up(d);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

NH_TEST(two_loopback_addresses_are_counted_apart) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_conns_per_ip = 1;
  nh_test_server *ts = nh_test_server_new(hello, &cfg, 2);
  CHECK(ts != NULL);
  int port = nh_test_server_port(ts);
  raw_conn *one = dial_from("127.0.0.1", port), *two = dial_from("127.0.0.2", port);
  served(one, "127.0.0.1");
  served(two, "127.0.0.2");
  raw_conn *one_more = dial_from("127.0.0.1", port);
  refused(one_more, "second from 127.0.0.1");
  raw_conn *two_more = dial_from("127.0.0.2", port);
  refused(two_more, "second from 127.0.0.2");
  CHECK_EQ(stats(nh_test_server_server(ts)).refused_per_ip, 2);
  raw_hang_up(one_more);
  raw_hang_up(two_more);
  raw_hang_up(one);
  raw_hang_up(two);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

/* Two listeners: a dual-stack ":0", where an IPv4 client shows as
 * ::ffff:127.0.0.1, and a socket of ours on 127.0.0.1. */
NH_TEST(ipv4_client_of_a_dual_stack_listener_counts_as_its_ipv4_address) {
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = hello;
  cfg.max_conns_per_ip = 1;
  nh_server *srv = nh_server_new(rt, &cfg);
  CHECK(srv != NULL);
  if (nh_server_listen(srv, ":0") != 0)
    NH_SKIP("no dual-stack IPv6 listener on this machine");
  int dual_port = nh_server_port(srv);
  int v4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  CHECK_EQ(bind(v4, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(listen(v4, 16), 0);
  CHECK_EQ(getsockname(v4, (struct sockaddr *)&sa, &len), 0);
  int v4_port = ntohs(sa.sin_port);
  CHECK_EQ(nh_server_listen_fd(srv, v4), 0); /* the server's now */
  CHECK_EQ(nh_server_start(srv), 0);
  raw_conn *plain = dial_from("127.0.0.1", v4_port);
  served(plain, "IPv4 listener, as 127.0.0.1");
  raw_conn *mapped = dial_from("127.0.0.1", dual_port);
  refused(mapped, "dual-stack listener, as ::ffff:127.0.0.1");
  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  CHECK_EQ(st.refused_per_ip, 1);
  raw_hang_up(mapped);
  raw_hang_up(plain);
  /* Once that one is gone, the same client is served on the other. */
  for (int i = 0; i < 10000 && (nh_server_stats_get(srv, &st), st.closed < 1); i++)
    pause_ms(1);
  CHECK_EQ(st.closed, 1);
  mapped = dial_from("127.0.0.1", dual_port);
  served(mapped, "dual-stack listener after the close");
  raw_hang_up(mapped);
  nh_server_shutdown(srv, nh_deadline_after(5 * NH_SEC));
  nh_server_free(srv);
  nh_runtime_free(rt);
}

static int unix_dial(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
  if (connect(fd, (struct sockaddr *)&un, sizeof un) != 0)
    NH_FAIL("connect %s: %s", path, strerror(errno));
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

NH_TEST(unix_socket_peers_are_not_limited) {
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = hello;
  cfg.max_conns_per_ip = 1;
  nh_server *srv = nh_server_new(rt, &cfg);
  char path[64], addr[80];
  snprintf(path, sizeof path, "/tmp/nh_per_ip_%d.sock", (int)getpid());
  snprintf(addr, sizeof addr, "unix:%s", path);
  CHECK_EQ(nh_server_listen(srv, addr), 0);
  CHECK_EQ(nh_server_start(srv), 0);
  raw_conn *c[3];
  for (int i = 0; i < 3; i++) {
    c[i] = calloc(1, sizeof *c[i]);
    c[i]->fd = unix_dial(path);
    served(c[i], "a Unix-socket client");
  }
  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  CHECK_EQ(st.refused_per_ip, 0);
  for (int i = 0; i < 3; i++)
    raw_hang_up(c[i]);
  nh_server_shutdown(srv, nh_deadline_after(5 * NH_SEC));
  nh_server_free(srv);
  nh_runtime_free(rt);
  unlink(path);
}

/* The hijacking handler keeps the socket until the test lets it go. */
static atomic_int hijacked_fd = -1;

static void hijacker(nh_response_writer *w, nh_request *r) {
  if (strcmp(nh_request_path(r), "/hijack")) {
    hello(w, r);
    return;
  }
  int fd;
  char *buf;
  size_t n;
  if (nh_resp_hijack(w, &fd, &buf, &n) != 0)
    return;
  free(buf);
  const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nhijacked";
  if (write(fd, resp, strlen(resp)) < 0)
    close(fd);
  else
    atomic_store(&hijacked_fd, fd);
}

NH_TEST(hijacked_connection_no_longer_counts) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_conns_per_ip = 1;
  nh_test_server *ts = nh_test_server_new(hijacker, &cfg, 1);
  CHECK(ts != NULL);
  int port = nh_test_server_port(ts);
  raw_conn *h = dial_from(NULL, port);
  raw_resp r;
  CHECK_EQ(raw_sends(h->fd, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(h, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hijacked");
  raw_resp_free(&r);
  /* The hijacked socket is still open, and the owner's: a new connection
   * from the same address is served. */
  raw_conn *c = dial_from(NULL, port);
  served(c, "after a hijack");
  raw_conn *d = dial_from(NULL, port);
  refused(d, "second ordinary connection");
  raw_hang_up(d);
  raw_hang_up(c);
  int fd = atomic_exchange(&hijacked_fd, -1);
  CHECK(fd >= 0);
  close(fd);
  raw_hang_up(h);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

NH_TEST_MAIN()
