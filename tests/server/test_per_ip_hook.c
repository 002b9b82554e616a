/* The accept hook over real sockets: it sees every connection's remote and
 * local addresses and its listener's name before anything is read; a
 * nonzero answer closes the connection at once (no response), counted and
 * logged; a slow hook is logged and counted. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <time.h>

static void hello(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "hello");
}

typedef struct seen {
  pthread_mutex_t mu;
  int calls;
  char remote[8][128], local[8][128], listener[8][128];
  int remote_family[8];
  int refused;
  int sleep_ms; /* how long each call takes */
} seen;

/* Refuses connections from 127.0.0.2; records what it was shown. */
static int hook(const nh_accept_info *a, void *user) {
  seen *s = user;
  pthread_mutex_lock(&s->mu);
  int i = s->calls++;
  if (i < 8) {
    snprintf(s->remote[i], sizeof s->remote[i], "%s", a->remote_addr);
    snprintf(s->local[i], sizeof s->local[i], "%s", a->local_addr);
    snprintf(s->listener[i], sizeof s->listener[i], "%s", a->listener);
    s->remote_family[i] = a->remote->sa_family;
  }
  const struct sockaddr_in *in = (const struct sockaddr_in *)a->remote;
  int refuse = a->remote->sa_family == AF_INET && ntohl(in->sin_addr.s_addr) == 0x7f000002;
  s->refused += refuse;
  pthread_mutex_unlock(&s->mu);
  if (s->sleep_ms) {
    struct timespec ts = {0, s->sleep_ms * 1000000L};
    nanosleep(&ts, NULL);
  }
  return refuse;
}

/* A connection from source address src (NULL: any); fails the test if
 * it cannot be made. */
static raw_conn *dial_from(const char *src, int port) {
  raw_conn *c = raw_dial_from(src, port);
  if (c->fd < 0)
    NH_FAIL("connect from %s: %s", src ? src : "any", strerror(errno));
  return c;
}

static int local_port(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  return ntohs(sa.sin_port);
}

/* The whole of a file written by a logger. */
static char *slurp(FILE *f) {
  fflush(f);
  long n = ftell(f);
  char *s = calloc(1, (size_t)n + 1);
  rewind(f);
  if (fread(s, 1, (size_t)n, f) != (size_t)n)
    s[0] = 0;
  return s;
}

NH_TEST(hook_sees_addresses_and_refuses_one_with_no_response) {
  seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  FILE *logf = tmpfile();
  nh_logger *log = nh_logger_text_new(logf, NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.accept_hook = hook;
  cfg.accept_hook_user = &s;
  cfg.logger = log;
  nh_test_server *ts = nh_test_server_new(hello, &cfg, 2);
  CHECK(ts != NULL);
  nh_server *srv = nh_test_server_server(ts);
  int port = nh_test_server_port(ts);

  raw_conn *ok = dial_from("127.0.0.1", port);
  raw_resp r;
  CHECK_EQ(raw_sends(ok->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(ok, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);

  raw_conn *no = dial_from("127.0.0.2", port);
  int no_port = local_port(no->fd);
  struct pollfd p = {no->fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  char b[64];
  CHECK(recv(no->fd, b, sizeof b, 0) <= 0); /* closed, not a byte of response */

  char want_ok[64], want_no[64], want_local[64];
  snprintf(want_ok, sizeof want_ok, "127.0.0.1:%d", local_port(ok->fd));
  snprintf(want_no, sizeof want_no, "127.0.0.2:%d", no_port);
  snprintf(want_local, sizeof want_local, "127.0.0.1:%d", port);
  pthread_mutex_lock(&s.mu);
  CHECK_EQ(s.calls, 2);
  CHECK_EQ(s.refused, 1);
  CHECK_STR(s.remote[0], want_ok);
  CHECK_STR(s.remote[1], want_no);
  CHECK_EQ(s.remote_family[0], AF_INET);
  CHECK_STR(s.local[0], want_local);
  CHECK_STR(s.listener[1], want_local);
  pthread_mutex_unlock(&s.mu);

  nh_server_stats st;
  nh_server_stats_get(srv, &st);
  CHECK_EQ(st.refused_by_hook, 1);
  CHECK_EQ(st.accepted, 1); /* the refused one was never served */
  /* The one accepted is untouched. */
  CHECK_EQ(raw_sends(ok->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(ok, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  raw_hang_up(no);
  raw_hang_up(ok);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
  char *text = slurp(logf);
  CHECK_CONTAINS(text, "connection refused at accept");
  CHECK_CONTAINS(text, want_no);
  CHECK_CONTAINS(text, "reason=hook");
  free(text);
  nh_logger_free(log);
  fclose(logf);
}

/* The hook on a wildcard listener is told the exact local address. */
NH_TEST(hook_on_a_wildcard_listener_sees_the_exact_local_address) {
  seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = hello;
  cfg.accept_hook = hook;
  cfg.accept_hook_user = &s;
  nh_server *srv = nh_server_new(rt, &cfg);
  CHECK_EQ(nh_server_listen(srv, "0.0.0.0:0"), 0);
  CHECK_EQ(nh_server_start(srv), 0);
  int port = nh_server_port(srv);
  raw_conn *c = dial_from("127.0.0.1", port);
  raw_resp r;
  CHECK_EQ(raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  char want_local[64], want_listener[64];
  snprintf(want_local, sizeof want_local, "127.0.0.1:%d", port);
  snprintf(want_listener, sizeof want_listener, "0.0.0.0:%d", port);
  pthread_mutex_lock(&s.mu);
  CHECK_EQ(s.calls, 1);
  CHECK_STR(s.local[0], want_local);
  CHECK_STR(s.listener[0], want_listener);
  pthread_mutex_unlock(&s.mu);
  raw_hang_up(c);
  nh_server_shutdown(srv, nh_deadline_after(5 * NH_SEC));
  nh_server_free(srv);
  nh_runtime_free(rt);
}

NH_TEST(slow_hook_is_logged_and_counted) {
  seen s = {.mu = PTHREAD_MUTEX_INITIALIZER, .sleep_ms = 30};
  FILE *logf = tmpfile();
  nh_logger *log = nh_logger_text_new(logf, NH_LOG_INFO);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.accept_hook = hook;
  cfg.accept_hook_user = &s;
  cfg.logger = log;
  cfg.slow_hook_threshold = 5 * NH_MSEC;
  nh_test_server *ts = nh_test_server_new(hello, &cfg, 1);
  CHECK(ts != NULL);
  int port = nh_test_server_port(ts);
  raw_conn *c = dial_from("127.0.0.1", port);
  raw_resp r;
  CHECK_EQ(raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200); /* slow, but served */
  raw_resp_free(&r);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.slow_hooks, 1);
  raw_hang_up(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
  char *text = slurp(logf);
  CHECK_CONTAINS(text, "slow accept hook");
  free(text);
  nh_logger_free(log);
  fclose(logf);
}

NH_TEST_MAIN()
