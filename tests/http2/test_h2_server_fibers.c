/* HTTP/2 stream fibers as a person debugging a server sees them: the fiber
 * dump names each stream's handler by stream ID, method and path, and the
 * connection's own fiber apart; and what HTTP/2 cannot do (hijack) is
 * refused to the handler, which can still answer normally. Over TLS with
 * ALPN h2, with nethttp's own client. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "harness.h"
#include "nethttp/client.h"
#include "nethttp/errors.h"
#include "nethttp/httptest.h"
#include "nethttp/runtime.h"
#include "nethttp/server.h"

static atomic_int started, release_it;

static void handler(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/hijack")) {
    int fd = -1;
    char *buf = NULL;
    size_t n = 0;
    int e = nh_resp_hijack(w, &fd, &buf, &n);
    nh_resp_printf(w, "hijack: %s", e == NH_ENOTSUP ? "not supported" : "taken");
    return;
  }
  atomic_store(&started, 1);
  /* Parked until the test has looked (bounded: 10 s). */
  for (int i = 0; i < 1000 && !atomic_load(&release_it); i++)
    nh_sleep(10 * NH_MSEC);
  nh_resp_printf(w, "%s", nh_request_proto(r));
}

typedef struct call {
  nh_test_server *ts;
  const char *path;
  int status;
  char proto[16];
  char *body;
} call;

static void *get(void *arg) {
  call *c = arg;
  char url[160];
  snprintf(url, sizeof url, "%s%s", nh_test_server_url(c->ts), c->path);
  nh_response *r;
  if (nh_client_get(nh_test_server_client(c->ts), url, &r) != NH_OK)
    return NULL;
  c->status = nh_response_status(r);
  snprintf(c->proto, sizeof c->proto, "%s", nh_response_proto(r));
  nh_response_read_all(r, 4096, &c->body, NULL);
  nh_response_close(r);
  return NULL;
}

NH_TEST(fiber_dump_names_stream_id_method_and_path) {
  atomic_store(&started, 0);
  atomic_store(&release_it, 0);
  nh_test_server *ts = nh_test_server_new_tls(handler, NULL, 1);
  CHECK(ts);
  call c = {ts, "/slow/report", 0, "", NULL};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, get, &c), 0);
  for (int i = 0; i < 2000 && !atomic_load(&started); i++)
    nh_sleep(5 * NH_MSEC);
  CHECK(atomic_load(&started));

  nh_fiber_info *fi = NULL;
  size_t n = 0;
  CHECK_EQ(nh_fiber_dump(nh_test_server_runtime(ts), &fi, &n), NH_OK);
  int stream = 0, conn = 0;
  for (size_t i = 0; i < n; i++) {
    if (strstr(fi[i].label, "h2 #1 GET") && strstr(fi[i].label, "/slow/report")) {
      stream++;
      CHECK_STR(fi[i].state, "sleep"); /* the handler's own wait, as it is */
    }
    if (!strcmp(fi[i].label, "h2 connection"))
      conn++;
  }
  free(fi);
  CHECK_EQ(stream, 1);
  CHECK_EQ(conn, 1);

  atomic_store(&release_it, 1);
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK_EQ(c.status, 200);
  CHECK_STR(c.proto, "HTTP/2.0");
  CHECK_STR(c.body, "HTTP/2.0"); /* the handler saw the same protocol */
  free(c.body);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(hijack_is_refused_and_the_handler_answers) {
  nh_test_server *ts = nh_test_server_new_tls(handler, NULL, 1);
  CHECK(ts);
  call c = {ts, "/hijack", 0, "", NULL};
  get(&c);
  CHECK_EQ(c.status, 200);
  CHECK_STR(c.proto, "HTTP/2.0");
  CHECK_STR(c.body, "hijack: not supported");
  free(c.body);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
