/* A runtime being freed: its loops run until their last fiber ends and
 * take new fibers meanwhile; a loop that has ended refuses them, and none
 * is ever accepted and then dropped. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <stdatomic.h>

#include "runtime/freeing.h"

typedef struct freeing {
  uint64_t id;
  atomic_int started; /* the first fiber runs */
  atomic_int posted;  /* fibers accepted by nh__runtime_go_by_id */
  atomic_int ran;     /* of those, how many ran */
  atomic_int refused; /* NH_ESHUTDOWN seen */
  atomic_int other;   /* any other answer */
} freeing;

static void count_run(void *arg) { atomic_fetch_add(&((freeing *)arg)->ran, 1); }

static void start_on_own_loop(void *arg) {
  freeing *f = arg;
  f->id = runtime_id_here();
  atomic_store(&f->started, 1);
  wait_runtime_freeing(f->id);
  int e = nh__runtime_go_by_id(f->id, 0, count_run, f);
  atomic_fetch_add(e == NH_OK ? &f->posted : &f->other, 1);
}

NH_TEST(loop_of_a_runtime_being_freed_takes_fibers_until_it_ends) {
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  nh_runtime *rt = nh_runtime_new(&rc);
  freeing f = {0};
  CHECK_EQ(nh_runtime_go(rt, 0, start_on_own_loop, &f), NH_OK);
  CHECK_SOON(atomic_load(&f.started));
  uint64_t id = f.id;
  nh_runtime_free(rt); /* waits for both fibers */
  CHECK_EQ(atomic_load(&f.other), 0);
  CHECK_EQ(atomic_load(&f.posted), 1);
  CHECK_EQ(atomic_load(&f.ran), 1);
  CHECK_EQ(nh__runtime_go_by_id(id, 0, count_run, &f), NH_ESHUTDOWN); /* freed */
  CHECK_EQ(atomic_load(&f.ran), 1);
}

/* Has loop l ended (its inbox closed)? */
static int loop_ended(nh_loop *l) {
  pthread_mutex_lock(&l->inbox_lock);
  int closed = l->inbox_closed;
  pthread_mutex_unlock(&l->inbox_lock);
  return closed;
}

/* Loop 0 keeps a fiber that posts to loop 1, which has none: a post made
 * while the runtime is being freed either runs or is refused, and once
 * loop 1 has ended (it does while loop 0 still runs) posts are refused. */
static void post_to_other_loop(void *arg) {
  freeing *f = arg;
  nh_runtime *rt = nh__loop_current()->rt;
  f->id = runtime_id_here();
  atomic_store(&f->started, 1);
  wait_runtime_freeing(f->id);
  int e = nh__runtime_go_by_id(f->id, 1, count_run, f);
  atomic_fetch_add(e == NH_OK ? &f->posted : e == NH_ESHUTDOWN ? &f->refused : &f->other, 1);
  for (int i = 0; i < 5000 && !loop_ended(&rt->loops[1]); i++)
    nh_sleep(2 * NH_MSEC); /* nothing posted meanwhile: loop 1 ends once idle */
  e = nh__runtime_go_by_id(f->id, 1, count_run, f);
  atomic_fetch_add(e == NH_ESHUTDOWN ? &f->refused : &f->other, 1);
}

NH_TEST(ended_loop_refuses_fibers_and_loses_none) {
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  freeing f = {0};
  CHECK_EQ(nh_runtime_go(rt, 0, post_to_other_loop, &f), NH_OK);
  CHECK_SOON(atomic_load(&f.started));
  nh_runtime_free(rt);
  CHECK_EQ(atomic_load(&f.other), 0);
  CHECK(atomic_load(&f.refused) >= 1); /* the post after the end, and maybe the first */
  CHECK_EQ(atomic_load(&f.posted) + atomic_load(&f.refused), 2);
  CHECK_EQ(atomic_load(&f.ran), atomic_load(&f.posted));
}

NH_TEST_MAIN()
