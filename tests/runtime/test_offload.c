/* The offload pool: blocking work runs elsewhere while the loop goes on. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static pthread_t loop_thread;
static atomic_int ran_elsewhere, ticks, ticks_while_blocked;
static int blocking_work(void *arg) {
  if (!pthread_equal(pthread_self(), loop_thread))
    atomic_store(&ran_elsewhere, 1);
  usleep(100 * 1000); /* a blocking call, 100 ms */
  /* The loop goes on meanwhile: the ticker on it ticks while this thread
   * is still blocked (up to 10 s, however busy the machine is). */
  for (int i = 0; i < 1000 && atomic_load(&ticks) < 3; i++)
    usleep(10 * 1000);
  atomic_store(&ticks_while_blocked, atomic_load(&ticks));
  return (int)(long)arg * 2;
}

static void ticker(void *arg) {
  for (int i = 0; i < 20; i++) {
    nh_sleep(5 * NH_MSEC);
    atomic_fetch_add(&ticks, 1);
  }
}

static void offload_main(void *arg) {
  (void)arg;
  loop_thread = pthread_self();
  nh_go(ticker, NULL);
  nh_time t0 = nh_now();
  CHECK_EQ(nh_offload(NULL, blocking_work, (void *)21L), 42);
  CHECK(nh_now() - t0 >= 100 * NH_MSEC);
  /* The loop kept running the ticker while the work blocked a thread. */
  CHECK(atomic_load(&ticks_while_blocked) >= 3);
  CHECK_EQ(atomic_load(&ran_elsewhere), 1);
}

NH_TEST(offload_keeps_loop_running) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  CHECK_EQ(nh_run(&cfg, offload_main, NULL), NH_OK);
}

/* Cancelling the wait returns at once; a job that has started finishes on
 * its own (one not yet started is skipped, as documented, so the cancel
 * waits for the job's start). Events in order, no clock windows: the job
 * runs until the test lets it end. */
static atomic_int slow_started, slow_release, slow_done;
static int slow_job(void *arg) {
  (void)arg;
  atomic_store(&slow_started, 1);
  while (!atomic_load(&slow_release))
    usleep(1000);
  atomic_store(&slow_done, 1);
  return 0;
}

static void cancel_when_started(void *arg) {
  while (!atomic_load(&slow_started))
    nh_sleep(NH_MSEC);
  nh_ctx_cancel(arg);
}

static void cancel_main(void *arg) {
  (void)arg;
  nh_ctx *ctx;
  CHECK_EQ(nh_ctx_with_cancel(NULL, &ctx), NH_OK);
  nh_go(cancel_when_started, ctx);
  CHECK_EQ(nh_offload(ctx, slow_job, NULL), NH_ECANCELED);
  CHECK_EQ(atomic_load(&slow_started), 1);
  CHECK_EQ(atomic_load(&slow_done), 0); /* returned while the job still ran */
  nh_ctx_free(ctx);
  atomic_store(&slow_release, 1);
  while (!atomic_load(&slow_done)) /* bounded by the test's timeout */
    nh_sleep(NH_MSEC);
}

NH_TEST(offload_wait_is_cancellable) { CHECK_EQ(nh_run(NULL, cancel_main, NULL), NH_OK); }

/* Off-fiber, the function just runs on the caller's thread. */
NH_TEST(offload_off_fiber_runs_inline) {
  loop_thread = pthread_self();
  atomic_store(&ran_elsewhere, 0);
  CHECK_EQ(nh_offload(NULL, blocking_work, (void *)5L), 10);
  CHECK_EQ(atomic_load(&ran_elsewhere), 0);
}

NH_TEST_MAIN()
