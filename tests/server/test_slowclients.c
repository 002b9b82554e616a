/* Slow clients (seed bug 11): slowloris, slow body, slow read, each with
 * twice as many slow connections as the server's descriptor limit allows,
 * while a probe keeps sending normal requests. Every normal request must
 * succeed, and slow connections must be closed at their deadlines. */
#include "harness.h"
#include "rawclient.h"
#include "childserver.h"

#include <fcntl.h>
#include <nethttp.h>
#include <sys/resource.h>

enum { FD_LIMIT = 256, SLOW = 2 * FD_LIMIT, PROBES = 60 };

/* The slowest a probe may be. Generous: under the slow-read flood the loop
 * spends real time filling 512 socket buffers, more so in sanitizer builds
 * (about 1 s at worst with AddressSanitizer, 2-3 s with ThreadSanitizer,
 * whose copies are several times slower), and that is CPU time, which
 * other processes on the machine can double. Still below the slow
 * connections' deadlines (SLOW_DEADLINE): a probe is never served only
 * because they timed out. */
#define SLOW_DEADLINE (10 * NH_SEC)
#if defined(__SANITIZE_THREAD__)
#define PROBE_WORST (9 * NH_SEC)
#else
#define PROBE_WORST (6 * NH_SEC)
#endif

static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strcmp(p, "/upload")) { /* reads the whole body */
    char buf[4096];
    while (nh_request_read(r, buf, sizeof buf) > 0)
      ;
  } else if (!strcmp(p, "/big")) { /* a response bigger than socket buffers */
    static char block[65536];
    for (int i = 0; i < 64; i++)
      if (nh_resp_write(w, block, sizeof block) < 0)
        return;
    return;
  }
  nh_resp_write_string(w, "ok");
}

static void raise_own_limit(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

/* Opens a non-blocking connection (slow clients must not block the test). */
static int open_slow(int port) {
  int fd = raw_connect(port);
  if (fd >= 0) {
    int small = 2048;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return fd;
}

typedef enum { LORIS, SLOW_BODY, SLOW_READ } attack;

static void start_attack(int fd, attack a) {
  const char *start = a == LORIS       ? "GET / HTTP/1.1\r\nHost: x\r\n"
                      : a == SLOW_BODY ? "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                                       : "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  send(fd, start, strlen(start), MSG_NOSIGNAL);
}

static void trickle(int fd, attack a) {
  if (a == LORIS)
    send(fd, "X-a: b\r\n", 8, MSG_NOSIGNAL);
  else if (a == SLOW_BODY)
    send(fd, "z", 1, MSG_NOSIGNAL);
  /* SLOW_READ: read nothing at all */
}

static void run_attack(attack a, const char *name) {
  raise_own_limit();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_header_timeout = SLOW_DEADLINE - NH_SEC;
  cfg.read_timeout = SLOW_DEADLINE;
  cfg.write_timeout = SLOW_DEADLINE;
  child_server cs = child_server_start(handler, cfg, FD_LIMIT);
  CHECK(cs.port > 0);
  static int slow[SLOW];
  for (int i = 0; i < SLOW; i++) {
    slow[i] = open_slow(cs.port);
    CHECK(slow[i] >= 0); /* the kernel's backlog accepts them all */
    start_attack(slow[i], a);
  }
  int ok = 0, failed = 0;
  nh_dur worst = 0;
  nh_time t0 = nh_now();
  for (int p = 0; p < PROBES; p++) {
    nh_time s = nh_now();
    raw_resp r = raw_roundtrip(cs.port, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n");
    nh_dur took = nh_now() - s;
    if (took > worst)
      worst = took;
    if (r.status == 200 && r.body && !strcmp(r.body, "ok"))
      ok++;
    else
      failed++;
    raw_resp_free(&r);
    for (int i = 0; i < SLOW; i++) /* the attackers keep going */
      if (slow[i] >= 0 && p % 10 == 0)
        trickle(slow[i], a);
    usleep(50 * 1000);
  }
  nh_dur elapsed = nh_now() - t0;
  /* After their deadlines, the slow connections are gone: the last one was
   * admitted at the latest when the probes ended, so all must be closed
   * within a deadline and 5 s from now. */
  int still_open = SLOW;
  nh_time until = nh_now() + SLOW_DEADLINE + 5 * NH_SEC;
  while (still_open && nh_now() < until) {
    usleep(200 * 1000);
    still_open = 0;
    for (int i = 0; i < SLOW; i++) {
      if (slow[i] < 0)
        continue;
      char b[65536];
      ssize_t n;
      while ((n = recv(slow[i], b, sizeof b, MSG_DONTWAIT)) > 0)
        ;
      if (n < 0 && errno == EAGAIN) {
        still_open++;
        continue;
      }
      close(slow[i]);
      slow[i] = -1;
    }
  }
  for (int i = 0; i < SLOW; i++)
    if (slow[i] >= 0)
      close(slow[i]);
  nh_server_stats st = child_server_stop(&cs);
  fprintf(stderr,
          "%s: %d/%d probes ok (worst %lld ms, %lld ms in all); %d of %d slow still open; "
          "shed %lld idle + %lld slow; timeouts header %lld read %lld write %lld\n",
          name, ok, PROBES, (long long)(worst / NH_MSEC), (long long)(elapsed / NH_MSEC),
          still_open, SLOW, (long long)st.shed_idle, (long long)st.shed_reading,
          (long long)st.timeouts_header, (long long)st.timeouts_read,
          (long long)st.timeouts_write);
  CHECK_EQ(failed, 0);
  CHECK(worst < PROBE_WORST);
  CHECK_EQ(still_open, 0);
}

NH_TEST(slowloris_twice_the_fd_limit) { run_attack(LORIS, "slowloris"); }
NH_TEST(slow_body_twice_the_fd_limit) { run_attack(SLOW_BODY, "slow body"); }
NH_TEST(slow_read_twice_the_fd_limit) { run_attack(SLOW_READ, "slow read"); }

NH_TEST_MAIN()
