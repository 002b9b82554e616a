/* After sending a request the client looks for the answer for a moment
 * (reply_spin) before letting its thread sleep: from a plain thread and
 * from a fiber, the spin lasts until the answer comes, never longer than
 * reply_spin, and not at all when turned off. Shown by the CPU time the
 * calling thread spends while a server takes its time to answer. */
#include "harness.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static nh_dur thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (nh_dur)ts.tv_sec * NH_SEC + ts.tv_nsec;
}

/* Answers after the number of milliseconds in the path ("/150"). */
static void late(nh_response_writer *w, nh_request *r) {
  nh_sleep(atoi(nh_request_path(r) + 1) * NH_MSEC);
  nh_resp_write_string(w, "ok");
}

typedef struct spin_case {
  const char *base;  /* the server's URL */
  int answer_ms;     /* how late it answers */
  nh_dur reply_spin; /* the transport's setting (0 = default) */
  int status;
  nh_dur cpu, took;
} spin_case;

static void one_request(void *arg) {
  spin_case *sc = arg;
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.reply_spin = sc->reply_spin;
  nh_transport *t = nh_transport_new(&tc);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  char url[256];
  snprintf(url, sizeof url, "%s/%d", sc->base, sc->answer_ms);
  /* A first request dials: the one measured reuses the connection. */
  nh_response *r;
  CHECK_EQ(nh_client_get(c, sc->base, &r), NH_OK);
  char *body = NULL;
  CHECK_EQ(nh_response_read_all(r, 1024, &body, NULL), NH_OK);
  free(body);
  nh_response_close(r);
  nh_dur cpu0 = thread_cpu();
  nh_time t0 = nh_now();
  sc->status = nh_client_get(c, url, &r);
  sc->took = nh_now() - t0;
  sc->cpu = thread_cpu() - cpu0;
  if (sc->status == NH_OK) {
    sc->status = nh_response_status(r);
    nh_response_close(r);
  }
  nh_client_free(c);
  nh_transport_free(t);
}

static void run_case(spin_case *sc, int on_fiber) {
  nh_test_server *ts = nh_test_server_new(late, NULL, 1);
  sc->base = nh_test_server_url(ts);
  if (on_fiber)
    CHECK_EQ(nh_run(NULL, one_request, sc), NH_OK);
  else
    one_request(sc);
  CHECK_EQ(sc->status, 200);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The default spin (50 us) is over long before a 150 ms answer: the
 * thread sleeps for the rest. */
static void check_bounded(int on_fiber) {
  spin_case sc = {.answer_ms = 150};
  run_case(&sc, on_fiber);
  CHECK(sc.took >= 150 * NH_MSEC);
  CHECK(sc.cpu < 30 * NH_MSEC);
}

/* A spin longer than the answer's delay keeps the thread busy until the
 * answer, and no longer. */
static void check_spins_until_answer(int on_fiber) {
  spin_case sc = {.answer_ms = 100, .reply_spin = 3 * NH_SEC};
  run_case(&sc, on_fiber);
  CHECK(sc.took >= 100 * NH_MSEC && sc.took < 1500 * NH_MSEC);
  CHECK(sc.cpu >= 25 * NH_MSEC);
}

/* Turned off, the thread sleeps at once. */
static void check_off(int on_fiber) {
  spin_case sc = {.answer_ms = 100, .reply_spin = NH_NO_TIMEOUT};
  run_case(&sc, on_fiber);
  CHECK(sc.took >= 100 * NH_MSEC);
  CHECK(sc.cpu < 20 * NH_MSEC);
}

NH_TEST(plain_thread_spin_is_bounded) { check_bounded(0); }
NH_TEST(fiber_spin_is_bounded) { check_bounded(1); }
NH_TEST(plain_thread_spins_until_the_answer) { check_spins_until_answer(0); }
NH_TEST(fiber_spins_until_the_answer) { check_spins_until_answer(1); }
NH_TEST(plain_thread_spin_off) { check_off(0); }
NH_TEST(fiber_spin_off) { check_off(1); }

NH_TEST_MAIN()
