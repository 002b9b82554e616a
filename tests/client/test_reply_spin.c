/* After sending a request the client looks for the answer for a moment
 * (reply_spin) before letting its thread sleep: from a plain thread and
 * from a fiber, the spin lasts until the answer comes, never longer than
 * reply_spin, and not at all when turned off. Shown by what the calling
 * thread does while a server takes its time to answer: whether it slept
 * (voluntary context switches) and the CPU time it spent. Other processes
 * taking the cores change neither how often it sleeps nor make it spend
 * more CPU, so the checks hold on a busy machine. */
#include "harness.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static nh_dur thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (nh_dur)ts.tv_sec * NH_SEC + ts.tv_nsec;
}

/* Times the calling thread gave up the CPU to wait (slept). */
static long thread_sleeps(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
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
  long sleeps;
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
  long sleeps0 = thread_sleeps();
  nh_time t0 = nh_now();
  sc->status = nh_client_get(c, url, &r);
  sc->took = nh_now() - t0;
  sc->cpu = thread_cpu() - cpu0;
  sc->sleeps = thread_sleeps() - sleeps0;
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
  CHECK(sc.sleeps >= 1);
  CHECK(sc.cpu < 30 * NH_MSEC);
}

/* A spin longer than the answer's delay keeps the thread busy until the
 * answer (it never sleeps), and no longer (it returns long before the
 * spin's 10 s). */
static void check_spins_until_answer(int on_fiber) {
  spin_case sc = {.answer_ms = 100, .reply_spin = 10 * NH_SEC};
  run_case(&sc, on_fiber);
  fprintf(stderr, "took %lld ms, cpu %lld ms, slept %ld times\n", (long long)(sc.took / NH_MSEC),
          (long long)(sc.cpu / NH_MSEC), sc.sleeps);
  CHECK(sc.took >= 100 * NH_MSEC && sc.took < 5 * NH_SEC);
  CHECK(sc.sleeps <= 1);
  CHECK(sc.cpu > 0);
}

/* Turned off, the thread sleeps at once. */
static void check_off(int on_fiber) {
  spin_case sc = {.answer_ms = 100, .reply_spin = NH_NO_TIMEOUT};
  run_case(&sc, on_fiber);
  CHECK(sc.took >= 100 * NH_MSEC);
  CHECK(sc.sleeps >= 1);
  CHECK(sc.cpu < 20 * NH_MSEC);
}

NH_TEST(plain_thread_spin_is_bounded) { check_bounded(0); }
NH_TEST(fiber_spin_is_bounded) { check_bounded(1); }
NH_TEST(plain_thread_spins_until_the_answer) { check_spins_until_answer(0); }
NH_TEST(fiber_spins_until_the_answer) { check_spins_until_answer(1); }
NH_TEST(plain_thread_spin_off) { check_off(0); }
NH_TEST(fiber_spin_off) { check_off(1); }

NH_TEST_MAIN()
