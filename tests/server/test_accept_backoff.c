/* The accept loop when descriptors run out: it backs off, logs each retry,
 * and serves the waiting client once descriptors are free again. */
#include "harness.h"
#include "rawclient.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>

static void ok(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "ok"); }

/* With every descriptor taken and nothing to shed, accept backs off (5 ms,
 * doubling), logs each retry, and serves the waiting client once
 * descriptors are free again. */
NH_TEST(accept_backs_off_when_descriptors_run_out) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.logger = &cap->base;
  nh_test_server *ts = nh_test_server_new(ok, &cfg, 1);
  int port = nh_test_server_port(ts);
  /* One request first, and its connection closed on the server's side too:
   * the acceptor is running and no descriptor of the server's is still to
   * be closed, so none frees up while every one is taken below. */
  raw_resp warm = raw_roundtrip(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_EQ(warm.status, 200);
  raw_resp_free(&warm);
  nh_server_stats st;
  nh_time until = nh_deadline_after(10 * NH_SEC);
  do {
    usleep(10 * 1000);
    nh_server_stats_get(nh_test_server_server(ts), &st);
  } while (st.closed < 1 && nh_now() < until);
  CHECK_EQ(st.closed, 1);
  struct rlimit saved;
  getrlimit(RLIMIT_NOFILE, &saved);
  struct rlimit low = {256, saved.rlim_max};
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* before filling */
  CHECK(client >= 0);
  int fillers[256], nfill = 0;
  while (nfill < 256) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      break;
    fillers[nfill++] = fd;
  }
  CHECK(nfill > 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(connect(client, (struct sockaddr *)&a, sizeof a), 0); /* the kernel queues it */
  raw_sends(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  /* Three failed accepts take 5 + 10 ms of back-off; a loaded machine may
   * take longer to get there, so look until they are counted (or 10 s). */
  until = nh_deadline_after(10 * NH_SEC);
  do {
    usleep(10 * 1000);
    nh_server_stats_get(nh_test_server_server(ts), &st);
  } while (st.accept_errors < 3 && nh_now() < until);
  CHECK(st.accept_errors >= 3);
  while (nfill)
    close(fillers[--nfill]);
  setrlimit(RLIMIT_NOFILE, &saved);
  nh_time t0 = nh_now();
  raw_conn c = {.fd = client};
  raw_resp r;
  CHECK_EQ(raw_read(&c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  /* At most one back-off step later: the step doubles up to 1 s, and on a
   * busy machine it may have grown before the descriptors came back. */
  CHECK(nh_now() - t0 < 3 * NH_SEC);
  raw_resp_free(&r);
  close(client);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "accept error; retrying");
  CHECK_CONTAINS(text, "too many open files");
  CHECK_CONTAINS(text, "delay=5ms");
  CHECK_CONTAINS(text, "delay=10ms");
  free(text);
  capture_log_free(cap);
}

NH_TEST_MAIN()
