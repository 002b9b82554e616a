/* Fibers: many of them, ordering, panics that stay inside one fiber. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <stdatomic.h>

static atomic_long finished;

static void count_and_exit(void *arg) {
  (void)arg;
  nh_yield(); /* every fiber parks at least once */
  atomic_fetch_add(&finished, 1);
}

/* 100,000 fibers created and finished, in waves: at most WAVE alive at once
 * keeps the test within vm.max_map_count (two mappings per live stack), and
 * within ThreadSanitizer's memory for per-fiber traces. */
#if defined(__SANITIZE_THREAD__)
enum { WAVE = 1000 };
#else
enum { WAVE = 10000 };
#endif

static void hundred_thousand(void *arg) {
  (void)arg;
  nh_leak_baseline *b = nh_leak_baseline_take(NULL);
  for (int wave = 0; wave < 100000 / WAVE; wave++) {
    long target = (wave + 1) * (long)WAVE;
    for (int i = 0; i < WAVE; i++)
      CHECK_EQ(nh_go(count_and_exit, NULL), NH_OK);
    while (atomic_load(&finished) < target)
      nh_yield();
  }
  CHECK_EQ(atomic_load(&finished), 100000);
  nh_runtime_stats st;
  nh_runtime_stats_get(nh_runtime_current(), &st);
  CHECK(st.fibers_started >= 100001);
  /* Finished fibers' stacks are pooled or unmapped, not leaked. */
  CHECK(st.stacks_mapped <= 1024 + 1);
  CHECK_EQ(nh_leak_check(b, NH_SEC, NULL), NH_OK);
}

NH_TEST(hundred_thousand_fibers) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  /* Starting 10,000 fibers in one go takes over 100 ms under ASan: that is a
   * real stall the watchdog would rightly report, so give it room here. */
  cfg.watchdog_threshold = 2 * NH_SEC;
  CHECK_EQ(nh_run(&cfg, hundred_thousand, NULL), NH_OK);
}

/* Yield is FIFO: three fibers yielding interleave a, b, c, a, b, c. */
static char order[64];
static atomic_int order_len;
static void yielder(void *arg) {
  for (int i = 0; i < 3; i++) {
    order[atomic_fetch_add(&order_len, 1)] = *(const char *)arg;
    nh_yield();
  }
}

static void yield_order_main(void *arg) {
  (void)arg;
  nh_go(yielder, "a");
  nh_go(yielder, "b");
  nh_go(yielder, "c");
}

NH_TEST(yield_round_robin) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  CHECK_EQ(nh_run(&cfg, yield_order_main, NULL), NH_OK);
  order[atomic_load(&order_len)] = 0;
  CHECK_STR(order, "abcabcabc");
}

/* nh_go needs a fiber; ids are unique and non-zero only on fibers. */
static uint64_t ids[2];
static void record_id(void *arg) { ids[(long)arg] = nh_fiber_id(); }
static void ids_main(void *arg) {
  (void)arg;
  nh_go(record_id, (void *)0L);
  nh_go(record_id, (void *)1L);
  CHECK(nh_in_fiber());
}

NH_TEST(fiber_ids_and_off_fiber_calls) {
  CHECK_EQ(nh_go(record_id, NULL), NH_ENOTFIBER);
  CHECK(!nh_in_fiber());
  CHECK_EQ(nh_fiber_id(), 0);
  CHECK_EQ(nh_run(NULL, ids_main, NULL), NH_OK);
  CHECK(ids[0] != 0 && ids[1] != 0 && ids[0] != ids[1]);
}

/* Panic isolation: the panicking fiber's defers run (newest first), it ends,
 * and its loop keeps running other fibers, including ones started later. */
static char defer_log[16];
static atomic_int defer_len;
static void note(void *arg) { defer_log[atomic_fetch_add(&defer_len, 1)] = *(const char *)arg; }
static atomic_int after_panic_ran, survivor_ticks;

void panicker(void *arg); /* not static: the backtrace names it */
void panicker(void *arg) {
  (void)arg;
  nh_fiber_set_label("doomed handler");
  nh_defer(note, "1");
  nh_deferred *dropped = nh_defer(note, "x");
  nh_defer(note, "2");
  nh_undefer(dropped);
  nh_sleep(5 * NH_MSEC);
  nh_panic("boom %d", 42);
}

static void survivor(void *arg) {
  (void)arg;
  for (int i = 0; i < 10; i++) {
    nh_sleep(2 * NH_MSEC);
    atomic_fetch_add(&survivor_ticks, 1);
  }
}

static void after_panic(void *arg) {
  (void)arg;
  atomic_store(&after_panic_ran, 1);
}

static void panic_main(void *arg) {
  (void)arg;
  nh_go(survivor, NULL);
  nh_go(panicker, NULL);
  nh_sleep(40 * NH_MSEC);
  nh_go(after_panic, NULL);
  nh_sleep(5 * NH_MSEC);
}

NH_TEST(panic_unwinds_only_its_fiber) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  cfg.logger = &cap->base;
  nh_runtime *rt = nh_runtime_new(&cfg);
  CHECK(rt);
  nh_wg *done = nh_wg_new();
  nh_wg_add(done, 1);
  run_on(rt, panic_main, NULL, done);
  CHECK_EQ(nh_wg_wait(done, nh_deadline_after(10 * NH_SEC)), NH_OK);
  nh_runtime_stats st;
  nh_runtime_stats_get(rt, &st);
  CHECK_EQ(st.panics, 1);
  nh_runtime_free(rt);
  nh_wg_free(done);
  defer_log[atomic_load(&defer_len)] = 0;
  CHECK_STR(defer_log, "21");
  CHECK_EQ(atomic_load(&survivor_ticks), 10);
  CHECK_EQ(atomic_load(&after_panic_ran), 1);
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "fiber panicked");
  CHECK_CONTAINS(text, "panic=\"boom 42\"");
  CHECK_CONTAINS(text, "label=\"doomed handler\"");
  CHECK_CONTAINS(text, "backtrace=");
  CHECK_CONTAINS(text, "panicker");
  free(text);
  capture_log_free(cap);
}

/* A panic in the fiber nh_run started still lets nh_run return. */
static void main_panics(void *arg) {
  (void)arg;
  nh_panic("main gave up");
}

NH_TEST(nh_run_returns_after_main_panics) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.logger = &cap->base;
  CHECK_EQ(nh_run(&cfg, main_panics, NULL), NH_OK);
  char *text = capture_log_text(cap);
  CHECK_CONTAINS(text, "main gave up");
  free(text);
  capture_log_free(cap);
}

/* A fiber's stack really is the configured size and usable to the end. */
static void deep(void *arg) {
  volatile char big[200 * 1024];
  for (size_t i = 0; i < sizeof big; i += 4096)
    big[i] = (char)i;
  *(int *)arg = big[4096] == (char)4096;
}

static void deep_main(void *arg) { nh_go(deep, arg); }

NH_TEST(stack_size_is_usable) {
  int ok = 0;
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  cfg.stack_size = 512 * 1024;
  CHECK_EQ(nh_run(&cfg, deep_main, &ok), NH_OK);
  CHECK_EQ(ok, 1);
}

NH_TEST_MAIN()
