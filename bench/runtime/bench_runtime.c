/* bench_runtime: what a fiber costs, against ucontext measured in the same
 * run on the same pinned core.
 *
 *   1. one context switch: nh__switch vs swapcontext, ping-pong between two
 *      contexts (a round trip is two switches);
 *   2. a yield through the scheduler: two fibers on one loop, nh_yield;
 *   3. a fiber's life, create -> run -> exit: nh_go from a fiber, vs
 *      makecontext+swapcontext on a preallocated stack, vs pthread_create
 *      + join for scale.
 * Each figure is the median of 5 repetitions, and each repetition first
 * checks that the operations it timed all ran (counted as they run): a
 * figure is never printed for work that did not happen. */

#include "runtime/internal.h"

#include <nethttp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

enum { REPS = 5, SWITCHES = 10000000, LIVES = 1000000, THREADS = 20000 };

/* Aborts unless the timed loop did `want` operations. */
static void check_ran(const char *what, long long got, long long want) {
  if (got != want) {
    fprintf(stderr, "bench_runtime: %s ran %lld operations, not %lld: no figure\n", what, got, want);
    exit(1);
  }
}

static nh_dur median(nh_dur *v) {
  for (int i = 0; i < REPS; i++)
    for (int j = i + 1; j < REPS; j++)
      if (v[j] < v[i]) {
        nh_dur t = v[i];
        v[i] = v[j];
        v[j] = t;
      }
  return v[REPS / 2];
}

static void pin(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0, &set);
  sched_setaffinity(0, sizeof set, &set);
}

static char *new_stack(size_t size) {
  char *s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (s == MAP_FAILED)
    abort();
  return s;
}

/* ---- 1. raw switch ---- */
static void *main_sp, *co_sp;
static volatile long nh_rounds;
static void nh_partner(void *arg) {
  for (;;) {
    nh_rounds++;
    nh__switch(&co_sp, main_sp);
  }
}

static nh_dur bench_nh_switch(void) {
  char *stack = new_stack(65536);
  co_sp = nh__stack_init_frame(stack + 65536, nh_partner, NULL);
  nh_rounds = 0;
  nh_time t0 = nh_now();
  for (int i = 0; i < SWITCHES / 2; i++)
    nh__switch(&main_sp, co_sp);
  nh_dur d = nh_now() - t0;
  check_ran("nh__switch round trips", nh_rounds, SWITCHES / 2);
  munmap(stack, 65536);
  return d;
}

static ucontext_t uc_main, uc_co;
static volatile long uc_rounds;
static void uc_partner(void) {
  for (;;) {
    uc_rounds++;
    swapcontext(&uc_co, &uc_main);
  }
}

static nh_dur bench_swapcontext(void) {
  char *stack = new_stack(65536);
  getcontext(&uc_co);
  uc_co.uc_stack.ss_sp = stack;
  uc_co.uc_stack.ss_size = 65536;
  uc_co.uc_link = NULL;
  makecontext(&uc_co, uc_partner, 0);
  uc_rounds = 0;
  nh_time t0 = nh_now();
  for (int i = 0; i < SWITCHES / 2; i++)
    swapcontext(&uc_main, &uc_co);
  nh_dur d = nh_now() - t0;
  check_ran("swapcontext round trips", uc_rounds, SWITCHES / 2);
  munmap(stack, 65536);
  return d;
}

/* ---- 2. yield through the scheduler ---- */
/* Every yield is counted, the waiting main fiber's too (all three take
 * turns on the one loop): the figure is the time over the yields done.
 * Both counters are reset for each repetition; one left over from the
 * last would end the wait at once and time nothing. */
enum { YIELDS = 2000000 };
static atomic_int yielders_done;
static long yields_done;
static void yielder(void *arg) {
  for (int i = 0; i < YIELDS / 2; i++) {
    nh_yield();
    yields_done++;
  }
  atomic_fetch_add(&yielders_done, 1);
}
static nh_dur yield_took;
static void yield_main(void *arg) {
  atomic_store(&yielders_done, 0);
  yields_done = 0;
  nh_time t0 = nh_now();
  nh_go(yielder, NULL);
  nh_go(yielder, NULL);
  while (atomic_load(&yielders_done) < 2) {
    nh_yield();
    yields_done++;
  }
  yield_took = nh_now() - t0;
}

/* ---- 3. lives ---- */
static long done;
static void trivial(void *arg) { done++; }
static nh_dur lives_took;
static void lives_main(void *arg) {
  nh_time t0 = nh_now();
  for (long batch = 0; batch < LIVES / 1000; batch++) {
    for (int i = 0; i < 1000; i++)
      nh_go(trivial, NULL);
    while (done < (batch + 1) * 1000)
      nh_yield();
  }
  lives_took = nh_now() - t0;
}

static char *uc_stack;
static void uc_trivial(void) { done++; }
static nh_dur bench_uc_lives(void) {
  done = 0;
  nh_time t0 = nh_now();
  for (long i = 0; i < LIVES; i++) {
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = uc_stack;
    uc_co.uc_stack.ss_size = 65536;
    uc_co.uc_link = &uc_main;
    makecontext(&uc_co, uc_trivial, 0);
    swapcontext(&uc_main, &uc_co);
  }
  nh_dur d = nh_now() - t0;
  check_ran("ucontext lives", done, LIVES);
  return d;
}

static atomic_long threads_ran;
static void *thread_trivial(void *arg) {
  atomic_fetch_add(&threads_ran, 1);
  return arg;
}
static nh_dur bench_threads(void) {
  atomic_store(&threads_ran, 0);
  nh_time t0 = nh_now();
  for (int i = 0; i < THREADS; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, thread_trivial, NULL) != 0)
      break;
    pthread_join(t, NULL);
  }
  nh_dur d = nh_now() - t0;
  check_ran("pthread lives", atomic_load(&threads_ran), THREADS);
  return d;
}

int main(void) {
  pin();
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  rc.watchdog_threshold = NH_NO_TIMEOUT;
  nh_dur a[REPS], b[REPS], y[REPS], l[REPS], u[REPS], t[REPS];
  long yields[REPS];
  uc_stack = new_stack(65536);
  for (int r = 0; r < REPS; r++) {
    a[r] = bench_nh_switch();
    b[r] = bench_swapcontext();
    yield_took = 0;
    if (nh_run(&rc, yield_main, NULL) != NH_OK) /* the runtime's loop thread is pinned too */
      check_ran("nh_run for yields", 0, 1);
    check_ran("yielding fibers", atomic_load(&yielders_done), 2);
    if (yields_done < YIELDS)
      check_ran("nh_yield calls", yields_done, YIELDS);
    y[r] = yield_took;
    yields[r] = yields_done;
    done = 0;
    lives_took = 0;
    if (nh_run(&rc, lives_main, NULL) != NH_OK)
      check_ran("nh_run for lives", 0, 1);
    check_ran("fiber lives", done, LIVES);
    l[r] = lives_took;
    u[r] = bench_uc_lives();
    t[r] = bench_threads();
  }
  double sw = (double)median(a) / SWITCHES, uc = (double)median(b) / SWITCHES;
  /* Per yield done (the main fiber's included), in picoseconds for the
   * median, then back to nanoseconds. */
  nh_dur per_yield_ps[REPS];
  for (int r = 0; r < REPS; r++)
    per_yield_ps[r] = y[r] * 1000 / yields[r];
  double yi = (double)median(per_yield_ps) / 1000;
  double li = (double)median(l) / LIVES, ul = (double)median(u) / LIVES;
  double th = (double)median(t) / THREADS;
  printf("| measure | nethttp | ucontext | ratio |\n|---|---:|---:|---:|\n");
  printf("| context switch | %.1f ns (nh__switch) | %.1f ns (swapcontext) | %.1fx cheaper |\n", sw, uc, uc / sw);
  printf("| yield through the scheduler | %.1f ns (nh_yield) | | |\n", yi);
  printf("| fiber create -> run -> exit | %.1f ns (nh_go) | %.1f ns (makecontext+swapcontext) | %.1fx |\n", li, ul, ul / li);
  printf("| thread create -> run -> join | | %.0f ns (pthread_create+join) | %.0fx nh_go |\n", th, th / li);
  printf("\nmetric switch_ns=%.2f swapcontext_ns=%.2f ratio=%.2f\n", sw, uc, uc / sw);
  printf("metric yield_ns=%.2f\n", yi);
  printf("metric fiber_life_ns=%.2f ucontext_life_ns=%.2f pthread_life_ns=%.0f\n", li, ul, th);
  return 0;
}
