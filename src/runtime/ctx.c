/* Contexts: a tree of cancellation scopes with deadlines and values.
 *
 * Cancellation travels down the tree under each node's lock (parent before
 * child, the only lock order used here), waking every waiter parked under
 * each node. Deadlines need no timers of their own: a node's deadline is the
 * earliest on its path to the root, computed once at creation; a waiter arms
 * its park timer for it, and nh_ctx_err reports NH_ETIMEDOUT lazily once it
 * has passed. Nodes are reference counted: the owner holds one reference and
 * each child holds one on its parent. */
#include "internal.h"

#include <stdlib.h>

struct nh_ctx {
  atomic_int refs;
  pthread_mutex_t mu;
  nh_ctx *parent;
  int err; /* under mu: 0, NH_ECANCELED (deadlines are computed) */
  atomic_int done; /* err != 0, readable without the lock */
  nh_time deadline;
  const void *key;
  void *value;
  nh__list children; /* under mu */
  nh__list sibling;  /* on the parent's children, under the parent's mu */
  nh__waitq waiters;
  int is_background;
};

static nh_ctx background = {.refs = 1,
                            .mu = PTHREAD_MUTEX_INITIALIZER,
                            .deadline = NH_NO_DEADLINE,
                            .children = {&background.children, &background.children},
                            .waiters = NH__WAITQ_INIT(background.waiters),
                            .is_background = 1};

nh_ctx *nh_ctx_background(void) { return &background; }

static void ctx_release(nh_ctx *c) {
  while (c && !c->is_background && atomic_fetch_sub(&c->refs, 1) == 1) {
    nh_ctx *parent = c->parent;
    pthread_mutex_destroy(&c->mu);
    free(c);
    c = parent; /* drop the reference the child held */
  }
}

/* Cancel c and its subtree; caller holds c->mu. */
static void cancel_locked(nh_ctx *c, int err) {
  if (c->err)
    return;
  c->err = err;
  atomic_store_explicit(&c->done, 1, memory_order_release);
  nh__waiter *w;
  while ((w = nh__waitq_pop(&c->waiters)))
    nh__waiter_wake(w, err);
  nh__list *it, *tmp;
  nh__list_each_safe(&c->children, it, tmp) {
    nh_ctx *ch = nh__container_of(it, nh_ctx, sibling);
    pthread_mutex_lock(&ch->mu);
    cancel_locked(ch, err);
    pthread_mutex_unlock(&ch->mu);
  }
}

static int ctx_new(nh_ctx *parent, nh_time deadline, const void *key, void *value,
                   nh_ctx **out) {
  if (!parent)
    parent = &background;
  /* malloc and a struct assignment, not calloc (nor malloc + memset, which
   * compilers turn into calloc): glibc's calloc skips the per-thread cache,
   * and the server makes one of these for every request. */
  nh_ctx *c = malloc(sizeof *c);
  if (!c)
    return NH_ENOMEM;
  *c = (nh_ctx){.parent = parent,
                .deadline = deadline < parent->deadline ? deadline : parent->deadline,
                .key = key,
                .value = value};
  atomic_init(&c->refs, 1);
  pthread_mutex_init(&c->mu, NULL);
  nh__list_init(&c->children);
  nh__waitq_init(&c->waiters);
  if (!parent->is_background) {
    atomic_fetch_add(&parent->refs, 1);
    pthread_mutex_lock(&parent->mu);
    nh__list_push_front(&parent->children, &c->sibling);
    if (parent->err) /* born under a cancelled parent: cancelled already */
      c->err = parent->err, atomic_store(&c->done, 1);
    pthread_mutex_unlock(&parent->mu);
  }
  *out = c;
  return NH_OK;
}

int nh_ctx_with_cancel(nh_ctx *parent, nh_ctx **out) {
  return ctx_new(parent, NH_NO_DEADLINE, NULL, NULL, out);
}

int nh_ctx_with_deadline(nh_ctx *parent, nh_time deadline, nh_ctx **out) {
  return ctx_new(parent, deadline, NULL, NULL, out);
}

int nh_ctx_with_timeout(nh_ctx *parent, nh_dur timeout, nh_ctx **out) {
  return ctx_new(parent, nh_deadline_after(timeout), NULL, NULL, out);
}

int nh_ctx_with_value(nh_ctx *parent, const void *key, void *value, nh_ctx **out) {
  return ctx_new(parent, NH_NO_DEADLINE, key, value, out);
}

void nh_ctx_cancel(nh_ctx *c) {
  if (!c || c->is_background)
    return;
  pthread_mutex_lock(&c->mu);
  cancel_locked(c, NH_ECANCELED);
  pthread_mutex_unlock(&c->mu);
}

void nh_ctx_free(nh_ctx *c) {
  if (!c || c->is_background)
    return;
  nh_ctx_cancel(c);
  nh_ctx *p = c->parent;
  if (!p->is_background) {
    pthread_mutex_lock(&p->mu);
    nh__list_remove(&c->sibling);
    pthread_mutex_unlock(&p->mu);
  }
  /* Children that outlive c were cancelled with it and keep its storage
   * alive through their parent reference until they are freed too. */
  ctx_release(c);
}

int nh__ctx_reusable(nh_ctx *c) {
  return c && !c->is_background && !c->key && atomic_load(&c->refs) == 1 &&
         !atomic_load_explicit(&c->done, memory_order_acquire);
}

int nh_ctx_err(nh_ctx *c) {
  if (!c || c->is_background)
    return NH_OK;
  if (atomic_load_explicit(&c->done, memory_order_acquire))
    return NH_ECANCELED;
  if (c->deadline != NH_NO_DEADLINE && nh_now() >= c->deadline)
    return NH_ETIMEDOUT;
  return NH_OK;
}

nh_time nh_ctx_deadline(nh_ctx *c) { return c ? c->deadline : NH_NO_DEADLINE; }

void *nh_ctx_value(nh_ctx *c, const void *key) {
  for (; c && !c->is_background; c = c->parent)
    if (c->key == key && key)
      return c->value;
  return NULL;
}

/* A watcher holds a reference: the owner may cancel and free the context
 * the moment it wants to stop a fiber ("defer cancel()"), while that fiber
 * is still on its way out of the wait. */
int nh__ctx_watch(nh_ctx *c, nh__waiter *w) {
  int e = nh_ctx_err(c);
  if (e)
    return e;
  pthread_mutex_lock(&c->mu);
  e = c->err;
  if (!e) {
    nh__waitq_push(&c->waiters, w);
    atomic_fetch_add(&c->refs, 1);
  }
  pthread_mutex_unlock(&c->mu);
  return e;
}

void nh__ctx_unwatch(nh_ctx *c, nh__waiter *w) {
  pthread_mutex_lock(&c->mu);
  nh__waitq_remove(&c->waiters, w);
  pthread_mutex_unlock(&c->mu);
  ctx_release(c);
}

int nh_ctx_wait(nh_ctx *c) {
  if (!c || c->is_background)
    return NH_EINVAL; /* would wait forever */
  nh__waiter w;
  nh__waiter_init(&w);
  int r = nh__waiter_park(&w, "ctx done", NH_NO_DEADLINE, c);
  (void)r;
  return nh_ctx_err(c);
}
