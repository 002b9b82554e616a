/* Trimming a parked fiber's stack (stack_trim.c): a fiber that went deep
 * once and then parks after nh__fiber_trim_on_park has no resident page
 * left below its saved stack pointer (asked with mincore), while one that
 * parks the same way without asking keeps them; the trimmed fiber's own
 * frames are intact when it wakes, and it can go deep again. */
#include "harness.h"
#include "runtime/internal.h"
#include "support.h"

#include <alloca.h>
#include <nethttp.h>
#include <sys/mman.h>
#include <unistd.h>

enum { DEEP = 64 * 1024 };

/* Touches DEEP bytes of stack below the caller, a byte per page at least. */
__attribute__((noinline)) static int go_deep(int seed) {
  volatile char *p = alloca(DEEP);
  for (size_t i = 0; i < DEEP; i += 512)
    p[i] = (char)(seed + (int)i);
  int sum = 0;
  for (size_t i = 0; i < DEEP; i += 4096)
    sum += p[i];
  return sum;
}

typedef struct sleeper {
  int trim;
  nh_ctx *ctx;
  nh_fiber *self;
  int woke_ok; /* its frame intact after the wake, and deep again worked */
  nh_wg *done;
} sleeper;

static void sleeper_run(void *arg) {
  sleeper *s = arg;
  char mine[1024]; /* lives above the parked stack pointer */
  for (size_t i = 0; i < sizeof mine; i++)
    mine[i] = (char)(i * 7 + 1);
  go_deep(s->trim);
  s->self = nh__fiber_current();
  nh_fiber_set_ctx(s->ctx);
  if (s->trim)
    nh__fiber_trim_on_park();
  nh_sleep(60 * NH_SEC); /* until the context is cancelled */
  int ok = 1;
  for (size_t i = 0; i < sizeof mine; i++)
    ok &= mine[i] == (char)(i * 7 + 1);
  go_deep(3);
  s->woke_ok = ok;
  nh_fiber_set_ctx(NULL);
  nh_wg_done(s->done);
}

/* Resident pages of f's stack below the page its stack pointer is in. */
static long resident_below_sp(const nh_fiber *f) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)f->stack_lo, end = (uintptr_t)f->sp & ~(uintptr_t)(page - 1);
  size_t n = (end - lo) / page;
  unsigned char *vec = malloc(n + 1);
  CHECK(vec != NULL);
  CHECK_EQ(mincore((void *)lo, end - lo, vec), 0);
  long r = 0;
  for (size_t i = 0; i < n; i++)
    r += vec[i] & 1;
  free(vec);
  return r;
}

typedef struct look {
  sleeper *a, *b;
  long a_below, b_below;
  nh_wg *done;
} look;

/* On the sleepers' loop, the only thread that may look at their stacks. */
static void look_run(void *arg) {
  look *l = arg;
  l->a_below = resident_below_sp(l->a->self);
  l->b_below = resident_below_sp(l->b->self);
  nh_wg_done(l->done);
}

NH_TEST(parked_stack_gives_back_pages_below_sp) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  nh_runtime *rt = nh_runtime_new(&cfg);
  CHECK(rt);
  nh_ctx *ctx;
  CHECK_EQ(nh_ctx_with_cancel(nh_ctx_background(), &ctx), NH_OK);
  nh_wg *done = nh_wg_new();
  sleeper a = {.trim = 1, .ctx = ctx, .done = done};
  sleeper b = {.trim = 0, .ctx = ctx, .done = done};
  nh_wg_add(done, 2);
  CHECK_EQ(nh_runtime_go(rt, 0, sleeper_run, &a), NH_OK);
  CHECK_EQ(nh_runtime_go(rt, 0, sleeper_run, &b), NH_OK);
  CHECK_EQ(wait_parked(rt, "sleep", 2), 2);

  look l = {.a = &a, .b = &b, .done = nh_wg_new()};
  nh_wg_add(l.done, 1);
  CHECK_EQ(nh_runtime_go(rt, 0, look_run, &l), NH_OK);
  CHECK_EQ(nh_wg_wait(l.done, nh_deadline_after(10 * NH_SEC)), NH_OK);
  /* The untrimmed one still holds what go_deep touched (most of 16
   * pages); the trimmed one holds nothing below its stack pointer. */
  CHECK(l.b_below >= 12);
  CHECK_EQ(l.a_below, 0);

  nh_ctx_cancel(ctx);
  CHECK_EQ(nh_wg_wait(done, nh_deadline_after(10 * NH_SEC)), NH_OK);
  CHECK(a.woke_ok);
  CHECK(b.woke_ok);
  nh_wg_free(l.done);
  nh_wg_free(done);
  nh_ctx_free(ctx);
  nh_runtime_free(rt);
}

NH_TEST_MAIN()
