/* The fiber census (runtime/census.h): each loop counts its own fibers by
 * state; the sum matches what the test made, taken from a plain thread or
 * from a fiber, and comes back to nothing once they end. */
#include "harness.h"
#include "runtime/census.h"
#include "runtime/internal.h"

#include <nethttp.h>

enum { SLEEPERS = 10 };

/* Parked in sleep until the context is cancelled. */
static void sleeper(void *arg) {
  nh_fiber_set_ctx(arg);
  nh_sleep(60 * NH_SEC);
}

typedef struct from_fiber {
  nh__fiber_census c;
  int r;
  nh_wg *done;
} from_fiber;

static void take(void *arg) {
  from_fiber *f = arg;
  f->r = nh__fiber_census_take(NULL, &f->c);
  nh_wg_done(f->done);
}

static void census_now(nh_runtime *rt, nh__fiber_census *c) {
  CHECK_EQ(nh__fiber_census_take(rt, c), NH_OK);
  CHECK_EQ(c->loops_answered, 2);
}

NH_TEST(census_counts_fibers_by_state) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 2;
  nh_runtime *rt = nh_runtime_new(&cfg);
  CHECK(rt);
  nh__fiber_census c;
  census_now(rt, &c);
  CHECK_EQ(c.live, 0);
  CHECK_EQ(c.parked, 0);

  nh_ctx *stop;
  CHECK_EQ(nh_ctx_with_cancel(NULL, &stop), NH_OK);
  for (int i = 0; i < SLEEPERS; i++)
    CHECK_EQ(nh_runtime_go(rt, -1, sleeper, stop), NH_OK);
  /* Started fibers run until they park: wait for that event. */
  CHECK_SOON((census_now(rt, &c), c.parked == SLEEPERS));
  CHECK_EQ(c.live, SLEEPERS);
  CHECK_EQ(c.running, 0);
  CHECK_EQ(c.runnable, 0);
  CHECK(c.stack_bytes >= (int64_t)SLEEPERS * (int64_t)rt->cfg.stack_size);

  /* From a fiber: the taker is parked while the loops count, so it is
   * one more parked fiber. */
  from_fiber f = {.done = nh_wg_new()};
  CHECK(f.done);
  nh_wg_add(f.done, 1);
  CHECK_EQ(nh_runtime_go(rt, 0, take, &f), NH_OK);
  CHECK_EQ(nh_wg_wait(f.done, nh_deadline_after(10 * NH_SEC)), NH_OK);
  CHECK_EQ(f.r, NH_OK);
  CHECK_EQ(f.c.live, SLEEPERS + 1);
  CHECK_EQ(f.c.parked, SLEEPERS + 1);
  CHECK_EQ(f.c.loops_answered, 2);
  nh_wg_free(f.done);

  nh_ctx_cancel(stop);
  CHECK_SOON((census_now(rt, &c), c.live == 0));
  CHECK_EQ(c.parked, 0);
  CHECK(c.stack_bytes > 0); /* the finished fibers' stacks wait in the pools */
  nh_ctx_free(stop);
  nh_runtime_free(rt);
}

NH_TEST_MAIN()
