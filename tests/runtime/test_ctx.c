/* Contexts: the tree, deadlines, values, waiting, and cancel across threads. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <pthread.h>

NH_TEST(cancel_propagates_down_not_up) {
  nh_ctx *root, *mid, *leaf, *sibling;
  CHECK_EQ(nh_ctx_with_cancel(NULL, &root), NH_OK);
  nh_ctx_with_cancel(root, &mid);
  nh_ctx_with_cancel(mid, &leaf);
  nh_ctx_with_cancel(root, &sibling);
  nh_ctx_cancel(mid);
  CHECK_EQ(nh_ctx_err(mid), NH_ECANCELED);
  CHECK_EQ(nh_ctx_err(leaf), NH_ECANCELED);
  CHECK_EQ(nh_ctx_err(root), NH_OK);
  CHECK_EQ(nh_ctx_err(sibling), NH_OK);
  /* A child born under a cancelled parent starts cancelled. */
  nh_ctx *late;
  nh_ctx_with_cancel(mid, &late);
  CHECK_EQ(nh_ctx_err(late), NH_ECANCELED);
  /* Freeing in any order is safe: parents outlive children internally. */
  nh_ctx_free(mid);
  nh_ctx_free(root);
  CHECK_EQ(nh_ctx_err(sibling), NH_ECANCELED);
  nh_ctx_free(leaf);
  nh_ctx_free(late);
  nh_ctx_free(sibling);
  nh_ctx_free(NULL);
  nh_ctx_free(nh_ctx_background());
  CHECK_EQ(nh_ctx_err(nh_ctx_background()), NH_OK);
}

/* The outer deadline is far (1 s) so that the inner one (10 ms) has surely
 * passed, and the outer one surely not, after a short sleep even on a busy
 * machine; the checks are on which deadline ended what. */
NH_TEST(deadlines_inherit_and_only_shrink) {
  nh_ctx *outer, *inner, *looser;
  nh_time t0 = nh_now(); /* before the deadlines' clocks start */
  nh_ctx_with_timeout(NULL, NH_SEC, &outer);
  nh_ctx_with_timeout(outer, 10 * NH_MSEC, &inner);
  nh_ctx_with_timeout(outer, 10 * NH_SEC, &looser);
  CHECK(nh_ctx_deadline(inner) < nh_ctx_deadline(outer));
  CHECK_EQ(nh_ctx_deadline(looser), nh_ctx_deadline(outer));
  CHECK_EQ(nh_ctx_deadline(nh_ctx_background()), NH_NO_DEADLINE);
  CHECK_EQ(nh_ctx_err(inner), NH_OK);
  nh_sleep(12 * NH_MSEC);
  CHECK_EQ(nh_ctx_err(inner), NH_ETIMEDOUT);
  CHECK_EQ(nh_ctx_err(outer), NH_OK);
  CHECK_EQ(nh_ctx_wait(looser), NH_ETIMEDOUT); /* a plain thread waits too */
  /* It waited for the outer deadline, not its own 10 s. */
  CHECK(nh_now() >= nh_ctx_deadline(outer));
  CHECK(nh_now() - t0 < 5 * NH_SEC);
  CHECK_EQ(nh_ctx_err(outer), NH_ETIMEDOUT);
  nh_ctx_free(inner);
  nh_ctx_free(looser);
  nh_ctx_free(outer);
}

static int key_a, key_b;
NH_TEST(values_resolve_nearest_first) {
  nh_ctx *a, *b, *a2, *c;
  nh_ctx_with_value(NULL, &key_a, "a1", &a);
  nh_ctx_with_value(a, &key_b, "b1", &b);
  nh_ctx_with_value(b, &key_a, "a2", &a2);
  nh_ctx_with_cancel(a2, &c);
  CHECK_STR(nh_ctx_value(c, &key_a), "a2");
  CHECK_STR(nh_ctx_value(c, &key_b), "b1");
  CHECK_STR(nh_ctx_value(b, &key_a), "a1");
  CHECK(nh_ctx_value(c, &c) == NULL);
  CHECK(nh_ctx_value(nh_ctx_background(), &key_a) == NULL);
  nh_ctx_free(c);
  nh_ctx_free(a2);
  nh_ctx_free(b);
  nh_ctx_free(a);
}

/* Many fibers on several loops wait on one context; one cancel from a plain
 * thread wakes all of them at once. */
enum { WAITERS = 200 };
typedef struct many {
  nh_ctx *ctx;
  nh_wg *wg;
  int results[WAITERS];
  nh_time woke[WAITERS];
} many;
static many M;

static void ctx_waiter(void *arg) {
  long i = (long)arg;
  nh_fiber_set_label("ctx waiter");
  M.results[i] = nh_ctx_wait(M.ctx);
  M.woke[i] = nh_now();
  nh_wg_done(M.wg);
}

NH_TEST(one_cancel_wakes_every_waiter_on_every_loop) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 3;
  nh_runtime *rt = nh_runtime_new(&cfg);
  nh_ctx_with_cancel(NULL, &M.ctx);
  M.wg = nh_wg_new();
  nh_wg_add(M.wg, WAITERS);
  for (long i = 0; i < WAITERS; i++)
    CHECK_EQ(nh_runtime_go(rt, -1, ctx_waiter, (void *)i), NH_OK);
  /* All of them parked on the context before the one cancel. */
  CHECK_EQ(wait_parked(rt, "ctx done", WAITERS), WAITERS);
  nh_time t0 = nh_now();
  nh_ctx_cancel(M.ctx);
  CHECK_EQ(nh_wg_wait(M.wg, nh_deadline_after(10 * NH_SEC)), NH_OK);
  for (int i = 0; i < WAITERS; i++) {
    CHECK_EQ(M.results[i], NH_ECANCELED);
    CHECK(M.woke[i] >= t0); /* woken by the cancel, not before it */
  }
  nh_runtime_free(rt);
  nh_wg_free(M.wg);
  nh_ctx_free(M.ctx);
}

/* The fiber's context bounds every blocking call it makes. */
static int sleep_result;
static nh_dur sleep_took;
static void bounded(void *arg) {
  nh_ctx *ctx;
  nh_time t0 = nh_now(); /* before the deadline's clock starts */
  nh_ctx_with_timeout(NULL, 15 * NH_MSEC, &ctx);
  nh_fiber_set_ctx(ctx);
  sleep_result = nh_sleep(10 * NH_SEC);
  sleep_took = nh_now() - t0;
  nh_fiber_set_ctx(NULL);
  nh_ctx_free(ctx);
}

NH_TEST(fiber_ctx_bounds_blocking_calls) {
  CHECK_EQ(nh_run(NULL, bounded, NULL), NH_OK);
  CHECK_EQ(sleep_result, NH_ETIMEDOUT);
  /* The 15 ms context, not the 10 s sleep, ended it. */
  CHECK(sleep_took >= 15 * NH_MSEC && sleep_took < 5 * NH_SEC);
}

NH_TEST_MAIN()
