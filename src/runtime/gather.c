/* Asking every loop the same question on its own thread (see
 * nh__loops_gather): a loop's fibers, pools and stacks are only ever read
 * by that loop, so a question about all of them is posted to each loop
 * and the answers are collected here.
 *
 * The request is shared with the loops and counted: a caller that stops
 * waiting (a stalled loop) leaves it to the last loop that answers, which
 * hands its late answer to drop and frees the request. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct gather_req {
  pthread_mutex_t mu;
  int refs;
  int closed; /* the caller took the answers */
  void (*fn)(nh_loop *l, void *slot, const void *arg);
  void (*drop)(void *slot);
  size_t slot_size;
  char *slots;    /* nloops slots */
  char *answered; /* one flag per loop */
  void *arg;
  nh_wg *wg;
} gather_req;

static void req_unref(gather_req *r) {
  pthread_mutex_lock(&r->mu);
  int last = --r->refs == 0;
  pthread_mutex_unlock(&r->mu);
  if (!last)
    return;
  nh_wg_free(r->wg);
  pthread_mutex_destroy(&r->mu);
  free(r->slots);
  free(r->answered);
  free(r->arg);
  free(r);
}

static void answer(nh_loop *l, void *p) {
  gather_req *r = p;
  char *slot = calloc(1, r->slot_size);
  if (slot)
    r->fn(l, slot, r->arg);
  pthread_mutex_lock(&r->mu);
  int late = r->closed;
  if (!late && slot) {
    memcpy(r->slots + (size_t)l->index * r->slot_size, slot, r->slot_size);
    r->answered[l->index] = 1;
  }
  pthread_mutex_unlock(&r->mu);
  if (late && slot && r->drop)
    r->drop(slot);
  free(slot);
  nh_wg_done(r->wg);
  req_unref(r);
}

int nh__loops_gather(nh_runtime *rt, void (*fn)(nh_loop *l, void *slot, const void *arg),
                     const void *arg, size_t arg_size, void *slots, size_t slot_size,
                     void (*drop)(void *slot), nh_dur timeout) {
  size_t n = (size_t)rt->nloops;
  memset(slots, 0, n * slot_size);
  gather_req *r = calloc(1, sizeof *r);
  if (!r)
    return NH_ENOMEM;
  r->fn = fn;
  r->drop = drop;
  r->slot_size = slot_size;
  r->slots = calloc(n, slot_size);
  r->answered = calloc(n, 1);
  r->arg = malloc(arg_size ? arg_size : 1);
  r->wg = nh_wg_new();
  if (!r->slots || !r->answered || !r->arg || !r->wg) {
    nh_wg_free(r->wg);
    free(r->slots);
    free(r->answered);
    free(r->arg);
    free(r);
    return NH_ENOMEM;
  }
  if (arg_size)
    memcpy(r->arg, arg, arg_size);
  pthread_mutex_init(&r->mu, NULL);
  r->refs = 1;
  for (size_t i = 0; i < n; i++) {
    pthread_mutex_lock(&r->mu);
    r->refs++;
    pthread_mutex_unlock(&r->mu);
    nh_wg_add(r->wg, 1);
    if (nh__loop_post(&rt->loops[i], answer, r) != NH_OK) {
      nh_wg_done(r->wg);
      req_unref(r);
    }
  }
  nh_wg_wait(r->wg, nh_deadline_after(timeout));
  pthread_mutex_lock(&r->mu);
  r->closed = 1;
  int stalled = 0;
  for (size_t i = 0; i < n; i++)
    stalled |= !r->answered[i];
  memcpy(slots, r->slots, n * slot_size);
  pthread_mutex_unlock(&r->mu);
  req_unref(r);
  return stalled ? NH_ESTALL : NH_OK;
}

static void list_drop(void *slot) { free(((nh__gather_list *)slot)->items); }

int nh__loops_gather_list(nh_runtime *rt, void (*fn)(nh_loop *l, void *slot, const void *arg),
                          const void *arg, size_t arg_size, size_t elem_size, void **out,
                          size_t *n, nh_dur timeout) {
  *out = NULL;
  *n = 0;
  nh__gather_list *per = calloc((size_t)rt->nloops, sizeof *per);
  if (!per)
    return NH_ENOMEM;
  int e = nh__loops_gather(rt, fn, arg, arg_size, per, sizeof *per, list_drop, timeout);
  if (e == NH_ENOMEM) {
    free(per);
    return e;
  }
  size_t total = 0;
  for (int i = 0; i < rt->nloops; i++)
    total += per[i].n;
  char *all = total ? malloc(total * elem_size) : NULL;
  for (int i = 0; i < rt->nloops; i++) {
    if (all && per[i].n)
      memcpy(all + *n * elem_size, per[i].items, per[i].n * elem_size);
    if (all)
      *n += per[i].n;
    free(per[i].items);
  }
  free(per);
  if (total && !all)
    return NH_ENOMEM;
  *out = all;
  return e;
}
