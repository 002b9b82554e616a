/* Wrapper states, nh_handler_free, chains, and running a handler on a
 * child fiber. */
#include "wrap.h"

#include <stdlib.h>
#include <string.h>

#include "nethttp/sync.h"

static void wrap_entry(nh_response_writer *w, nh_request *r) {
  nh__wrap *self = nh_request_handler_data(r);
  self->serve(self, w, r);
}

void *nh__wrap_new(size_t size, nh_handler next,
                   void (*serve)(nh__wrap *, nh_response_writer *, nh_request *),
                   void (*release)(nh__wrap *)) {
  if (!next.fn)
    return NULL;
  nh__wrap *x = calloc(1, size);
  if (!x)
    return NULL;
  x->serve = serve;
  x->release = release;
  x->next = next;
  return x;
}

nh_handler nh__wrap_handler(void *state) {
  return state ? NH_HANDLER(wrap_entry, state) : NH_HANDLER(NULL, NULL);
}

void *nh__wrap_of(nh_handler h, void (*serve)(nh__wrap *, nh_response_writer *, nh_request *)) {
  if (h.fn != wrap_entry || !h.data)
    return NULL;
  nh__wrap *x = h.data;
  return !serve || x->serve == serve ? x : NULL;
}

void nh_handler_free(nh_handler h) {
  nh__wrap *x = nh__wrap_of(h, NULL);
  if (!x)
    return;
  if (x->release)
    x->release(x);
  free(x);
}

/* ---- a user's handler made freeable ---- */

typedef struct owning {
  nh__wrap base;
  void (*free_data)(void *data);
} owning;

static void owning_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  nh_handler_serve(self->next, w, r);
}

static void owning_release(nh__wrap *self) {
  owning *o = (owning *)self;
  if (o->free_data)
    o->free_data(self->next.data);
}

nh_handler nh_handler_owning(nh_handler h, void (*free_data)(void *data)) {
  owning *o = nh__wrap_new(sizeof *o, h, owning_serve, owning_release);
  if (o)
    o->free_data = free_data;
  return nh__wrap_handler(o);
}

/* ---- chains ---- */

typedef struct chain_mw {
  nh_middleware_fn fn;
  const void *arg;
} chain_mw;

struct nh_chain {
  chain_mw *mws;
  size_t n, cap;
  nh_handler *owned;
  size_t nowned, capowned;
};

nh_chain *nh_chain_new(void) { return calloc(1, sizeof(nh_chain)); }

int nh_chain_use(nh_chain *ch, nh_middleware_fn fn, const void *arg) {
  if (!ch || !fn)
    return NH_EINVAL;
  if (ch->n == ch->cap) {
    size_t cap = ch->cap ? ch->cap * 2 : 8;
    chain_mw *m = realloc(ch->mws, cap * sizeof *m);
    if (!m)
      return NH_ENOMEM;
    ch->mws = m;
    ch->cap = cap;
  }
  ch->mws[ch->n++] = (chain_mw){fn, arg};
  return NH_OK;
}

int nh_chain_own(nh_chain *ch, nh_handler h) {
  if (!ch || !h.fn)
    return NH_EINVAL;
  if (ch->nowned == ch->capowned) {
    size_t cap = ch->capowned ? ch->capowned * 2 : 8;
    nh_handler *o = realloc(ch->owned, cap * sizeof *o);
    if (!o)
      return NH_ENOMEM;
    ch->owned = o;
    ch->capowned = cap;
  }
  ch->owned[ch->nowned++] = h;
  return NH_OK;
}

nh_handler nh_chain_then(nh_chain *ch, nh_handler h) {
  if (!ch || !h.fn)
    return NH_HANDLER(NULL, NULL);
  size_t mark = ch->nowned;
  /* The first middleware added is the outermost: wrap from the last. */
  for (size_t i = ch->n; i-- > 0;) {
    nh_handler next = ch->mws[i].fn(h, ch->mws[i].arg);
    if (!next.fn || nh_chain_own(ch, next) != NH_OK) {
      nh_handler_free(next);
      while (ch->nowned > mark) /* undo this call's wrappers only */
        nh_handler_free(ch->owned[--ch->nowned]);
      return NH_HANDLER(NULL, NULL);
    }
    h = next;
  }
  return h;
}

void nh_chain_free(nh_chain *ch) {
  if (!ch)
    return;
  for (size_t i = 0; i < ch->nowned; i++)
    nh_handler_free(ch->owned[i]);
  free(ch->owned);
  free(ch->mws);
  free(ch);
}

/* ---- child fibers ---- */

struct nh__child {
  nh_handler h;
  nh_response_writer *w;
  nh_request *r;
  nh_ctx *ctx;
  nh_sem *done; /* released once the child's fiber ends, however */
  int returned;
  int waited;   /* the parent already took the release */
  uint64_t fiber;
  char label[64];
};

static void child_ended(void *arg) {
  nh__child *c = arg;
  nh_sem_release(c->done);
}

static void child_main(void *arg) {
  nh__child *c = arg;
  nh_fiber_set_ctx(c->ctx);
  nh_fiber_set_label(c->label);
  c->fiber = nh_fiber_id();
  /* Deferred cleanups run on return and on nh_panic alike. Out of memory
   * for it, the parent would wait forever on a panic: run without it, and
   * signal by hand on return. */
  nh_deferred *d = nh_defer(child_ended, c);
  nh_handler_serve(c->h, c->w, c->r);
  c->returned = 1;
  if (!d)
    nh_sem_release(c->done);
}

nh__child *nh__child_start(nh_handler h, nh_response_writer *w, nh_request *r, nh_ctx *ctx) {
  if (!nh_in_fiber())
    return NULL;
  nh__child *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->done = nh_sem_new(0);
  if (!c->done) {
    free(c);
    return NULL;
  }
  c->h = h;
  c->w = w;
  c->r = r;
  c->ctx = ctx ? ctx : nh_fiber_ctx();
  const char *m = nh_request_method(r), *p = nh_request_path(r);
  size_t ml = strlen(m) > 16 ? 16 : strlen(m);
  size_t pl = strlen(p) > sizeof c->label - ml - 2 ? sizeof c->label - ml - 2 : strlen(p);
  memcpy(c->label, m, ml);
  c->label[ml] = ' ';
  memcpy(c->label + ml + 1, p, pl);
  c->label[ml + 1 + pl] = 0;
  if (nh_go(child_main, c) != NH_OK) {
    nh_sem_free(c->done);
    free(c);
    return NULL;
  }
  return c;
}

int nh__child_wait(nh__child *c, nh_time deadline) {
  int e = nh_sem_acquire(c->done, deadline);
  if (e == NH_OK)
    c->waited = 1;
  return e;
}

int nh__child_finish(nh__child *c, uint64_t *fiber) {
  if (!c->waited) {
    /* The request lives until the outermost handler returns, so the parent
     * must outlast the child even when its own context was cancelled. */
    nh_ctx *saved = nh_fiber_ctx();
    nh_fiber_set_ctx(NULL);
    nh_sem_acquire(c->done, NH_NO_DEADLINE);
    nh_fiber_set_ctx(saved);
  }
  int returned = c->returned;
  if (fiber)
    *fiber = c->fiber;
  nh_sem_free(c->done);
  free(c);
  return returned;
}
