/* Fibers by state, counted by each loop on its own thread (see census.h). */
#include "census.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct census_req {
  pthread_mutex_t mu;
  int refs;
  nh__fiber_census sum;
  nh_wg *wg;
} census_req;

static void req_unref(census_req *r) {
  pthread_mutex_lock(&r->mu);
  int last = --r->refs == 0;
  pthread_mutex_unlock(&r->mu);
  if (!last)
    return;
  nh_wg_free(r->wg);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

static void count(nh_loop *l, void *arg) {
  census_req *r = arg;
  nh__fiber_census c = {0};
  for (nh__list *n = l->live.next; n != &l->live; n = n->next) {
    nh_fiber *f = nh__container_of(n, nh_fiber, live_node);
    c.live++;
    c.running += f->state == NH__F_RUNNING;
    c.runnable += f->state == NH__F_RUNNABLE;
    c.parked += f->state == NH__F_PARKED;
    c.stack_bytes += f->map_base ? (int64_t)f->stack_size : 0;
  }
  for (nh_fiber *f = l->pool; f; f = f->pool_next)
    c.stack_bytes += f->map_base ? (int64_t)f->stack_size : 0;
  pthread_mutex_lock(&r->mu);
  r->sum.live += c.live;
  r->sum.running += c.running;
  r->sum.runnable += c.runnable;
  r->sum.parked += c.parked;
  r->sum.stack_bytes += c.stack_bytes;
  r->sum.loops_answered++;
  pthread_mutex_unlock(&r->mu);
  nh_wg_done(r->wg);
  req_unref(r);
}

int nh__fiber_census_take(nh_runtime *rt, nh__fiber_census *out) {
  memset(out, 0, sizeof *out);
  if (!rt)
    rt = nh_runtime_current();
  if (!rt)
    return NH_EINVAL;
  census_req *r = calloc(1, sizeof *r);
  if (!r || !(r->wg = nh_wg_new())) {
    free(r);
    return NH_ENOMEM;
  }
  pthread_mutex_init(&r->mu, NULL);
  r->refs = 1;
  for (int i = 0; i < rt->nloops; i++) {
    pthread_mutex_lock(&r->mu);
    r->refs++;
    pthread_mutex_unlock(&r->mu);
    nh_wg_add(r->wg, 1);
    if (nh__loop_post(&rt->loops[i], count, r) != NH_OK) {
      nh_wg_done(r->wg);
      req_unref(r);
    }
  }
  nh_wg_wait(r->wg, nh_deadline_after(NH_SEC));
  /* A loop that answers late adds to the sum after this copy: harmless,
   * the request lives until its last reference goes. */
  pthread_mutex_lock(&r->mu);
  *out = r->sum;
  pthread_mutex_unlock(&r->mu);
  int stalled = out->loops_answered < rt->nloops;
  req_unref(r);
  return stalled ? NH_ESTALL : NH_OK;
}
