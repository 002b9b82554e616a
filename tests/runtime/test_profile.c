/* The profilers under the runtime, without the debug pages: the SIGPROF
 * sampler finds a fiber burning CPU and walks its stack up to the fiber's
 * entry; contention sampling records a mutex wait with the waiter's stack
 * only while a rate is set. Built under ThreadSanitizer too. */
#include "harness.h"
#include "runtime/internal.h"
#include "runtime/profile.h"

#include <nethttp.h>
#include <stdatomic.h>
#include <time.h>

static int frames_name(void *const *frames, int n, int from, const char *name) {
  for (int i = from; i < n; i++) {
    char buf[256];
    nh__symbol_name((const char *)frames[i] - (i > 0), buf, sizeof buf, 0);
    if (strstr(buf, name))
      return 1;
  }
  return 0;
}

__attribute__((noinline)) uint64_t profile_test_spin(int ms) {
  struct timespec t0, t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  volatile uint64_t x = 0;
  do {
    /* Milliseconds of work between two reads of the clock, which may be
     * a system call: the samples land here, not in the kernel. */
    for (int i = 0; i < 1000000; i++)
      x = x * 31 + (uint64_t)i;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
  return x;
}

/* 400 ms of CPU at 100 Hz is about 40 samples. On a crowded machine far
 * fewer may come (a tick that finds the last signal still pending is
 * merged with it): the spin goes on, 100 ms at a time, until 20 signals
 * came or 4 s of CPU were spent. */
__attribute__((noinline)) void profile_test_fiber(void *arg) {
  (void)arg;
  uint64_t base = nh__cpuprof_signals();
  for (int i = 0; i < 40 && (i < 4 || nh__cpuprof_signals() - base < 20); i++)
    profile_test_spin(100);
  __asm__ volatile("" ::: "memory"); /* no tail call: this frame stays on the stack */
}

typedef struct tally {
  int samples, in_spin, walked_to_fiber;
} tally;

static void count(void *arg, void *const *frames, int n) {
  tally *t = arg;
  t->samples++;
  if (frames_name(frames, n > 3 ? 3 : n, 0, "profile_test_spin")) {
    t->in_spin++;
    if (frames_name(frames, n, 1, "profile_test_fiber"))
      t->walked_to_fiber++;
  }
}

NH_TEST(cpu_sampler_walks_a_fiber_stack) {
  CHECK_EQ(nh__cpuprof_start(100, 10 * NH_SEC), 0);
  CHECK_EQ(nh__cpuprof_start(100, 10 * NH_SEC), NH_EBUSY);
  CHECK(nh__cpuprof_running());
  /* No watchdog: its stall report would name frames, a CPU cost of its
   * own in the profile. */
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  cfg.watchdog_threshold = NH_NO_TIMEOUT;
  CHECK_EQ(nh_run(&cfg, profile_test_fiber, NULL), 0);
  tally t = {0};
  uint64_t lost = 1;
  CHECK_EQ(nh__cpuprof_stop(count, &t, &lost), 0);
  CHECK_EQ(nh__cpuprof_stop(NULL, NULL, NULL), NH_EINVAL);
  CHECK(!nh__cpuprof_running());
  CHECK_EQ(lost, 0);
  /* At least 400 ms of the fiber's CPU at 100 Hz (profile_test_fiber):
   * nearly all samples in the spin, the process's only work. */
  fprintf(stderr, "samples %d, in spin %d, walked to the fiber %d\n", t.samples, t.in_spin,
          t.walked_to_fiber);
  CHECK(t.samples >= 10);
  CHECK(t.in_spin >= t.samples * 8 / 10);
  CHECK(t.walked_to_fiber >= t.in_spin * 8 / 10);
}

static nh_mutex *mu;
static nh_wg *wg;

__attribute__((noinline)) void profile_test_locker(void *arg) {
  (void)arg;
  nh_mutex_lock(mu);
  nh_sleep(2 * NH_MSEC);
  nh_mutex_unlock(mu);
  nh_wg_done(wg);
}

typedef struct waits {
  int64_t count, delay;
  int named;
} waits;

static void sum(void *arg, void *const *frames, int n, int64_t count, int64_t delay) {
  waits *w = arg;
  w->count += count;
  w->delay += delay;
  if (frames_name(frames, n, 1, "profile_test_locker"))
    w->named += (int)count;
}

static void contend(void *arg) {
  (void)arg;
  enum { FIBERS = 8 };
  nh_wg_add(wg, FIBERS);
  for (int i = 0; i < FIBERS; i++)
    CHECK_EQ(nh_go(profile_test_locker, NULL), 0);
  CHECK_EQ(nh_wg_wait(wg, NH_NO_DEADLINE), 0);
}

NH_TEST(contention_sampled_only_while_a_rate_is_set) {
  mu = nh_mutex_new();
  wg = nh_wg_new();
  waits before = {0}, off = {0}, on = {0}, block = {0};
  nh__wait_prof_each(NH__WAITS_MUTEX, sum, &before);
  CHECK_EQ(nh_run(NULL, contend, NULL), 0);
  CHECK_EQ(nh__wait_prof_each(NH__WAITS_MUTEX, sum, &off), 0);
  CHECK_EQ(off.count, before.count); /* off: nothing recorded */
  CHECK_EQ(nh_set_mutex_profile_fraction(1), 0);
  CHECK_EQ(nh_set_block_profile_rate(1), 0);
  CHECK_EQ(nh_run(NULL, contend, NULL), 0);
  CHECK_EQ(nh_set_mutex_profile_fraction(0), 1);
  CHECK_EQ(nh_set_block_profile_rate(0), 1);
  nh__wait_prof_each(NH__WAITS_MUTEX, sum, &on);
  nh__wait_prof_each(NH__WAITS_BLOCK, sum, &block);
  /* 8 fibers on one loop take turns: 7 of them wait (the wait group's
   * waiter too, in the block table). */
  CHECK_EQ(on.count - before.count, 7);
  CHECK(on.delay - before.delay >= 7 * 2 * NH_MSEC);
  CHECK_EQ(on.named - before.named, 7);
  CHECK(block.count >= 8);
  nh_mutex_free(mu);
  nh_wg_free(wg);
}

NH_TEST_MAIN()
