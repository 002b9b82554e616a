/* Fibers by state, counted by each loop on its own thread (see census.h). */
#include "census.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* On loop l's thread: its own fibers into slot. */
static void count(nh_loop *l, void *slot, const void *arg) {
  (void)arg;
  nh__fiber_census *c = slot;
  for (nh__list *n = l->live.next; n != &l->live; n = n->next) {
    nh_fiber *f = nh__container_of(n, nh_fiber, live_node);
    c->live++;
    c->running += f->state == NH__F_RUNNING;
    c->runnable += f->state == NH__F_RUNNABLE;
    c->parked += f->state == NH__F_PARKED;
    c->stack_bytes += f->map_base ? (int64_t)f->stack_size : 0;
  }
  for (nh_fiber *f = l->pool; f; f = f->pool_next)
    c->stack_bytes += f->map_base ? (int64_t)f->stack_size : 0;
  c->loops_answered = 1;
}

int nh__fiber_census_take(nh_runtime *rt, nh__fiber_census *out) {
  memset(out, 0, sizeof *out);
  if (!rt)
    rt = nh_runtime_current();
  if (!rt)
    return NH_EINVAL;
  nh__fiber_census *per = calloc((size_t)rt->nloops, sizeof *per);
  if (!per)
    return NH_ENOMEM;
  int e = nh__loops_gather(rt, count, NULL, 0, per, sizeof *per, NULL, NH_SEC);
  if (e == NH_ENOMEM) {
    free(per);
    return e;
  }
  for (int i = 0; i < rt->nloops; i++) {
    out->live += per[i].live;
    out->running += per[i].running;
    out->runnable += per[i].runnable;
    out->parked += per[i].parked;
    out->stack_bytes += per[i].stack_bytes;
    out->loops_answered += per[i].loops_answered;
  }
  free(per);
  return e;
}
