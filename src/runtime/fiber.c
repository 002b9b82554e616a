/* Fibers: creation, the switch in and out of the scheduler, parking and
 * waking, and how a fiber ends (return, or nh_panic).
 *
 * Life of a fiber: nh__fiber_spawn takes a pooled fiber (or maps a new stack),
 * builds a first frame that enters fiber_entry, and queues it. The loop's
 * scheduler resumes it with nh__fiber_resume; the fiber runs until it parks
 * (nh__fiber_park), yields, or ends. When it ends its deferred cleanups run,
 * it switches back to the scheduler for the last time, and the scheduler
 * recycles its stack. Fiber structs are never freed while their loop lives,
 * so a late wake aimed at a finished fiber only finds a newer park
 * generation and is ignored. */
#include "internal.h"
#include "sanitizer.h"
#include "trace.h"

#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>

static atomic_uint_fast64_t next_fiber_id;

struct nh__defer_node {
  void (*fn)(void *);
  void *arg;
  nh__list node; /* on the fiber's defers */
};

nh_fiber *nh__fiber_current(void) {
  nh_loop *l = nh__loop_current();
  return l ? l->current : NULL;
}

/* ---- stacks ---- */

static int map_stack(nh_loop *l, nh_fiber *f) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = (l->rt->cfg.stack_size + page - 1) & ~(page - 1);
  size_t guard = NH_STACK_GUARD_SIZE;
  char *m = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (m == MAP_FAILED)
    return NH_ENOMEM;
  if (mprotect(m, guard, PROT_NONE) != 0) {
    munmap(m, size + guard);
    return NH_ENOMEM;
  }
  f->map_base = m;
  f->map_size = size + guard;
  f->stack_lo = m + guard;
  f->stack_size = size;
  atomic_fetch_add_explicit(&l->rt->stacks_mapped, 1, memory_order_relaxed);
  return NH_OK;
}

static void unmap_stack(nh_loop *l, nh_fiber *f) {
  if (!f->map_base)
    return;
  munmap(f->map_base, f->map_size);
  f->map_base = f->stack_lo = NULL;
  atomic_fetch_sub_explicit(&l->rt->stacks_mapped, 1, memory_order_relaxed);
}

/* ---- switching ---- */

/* From a fiber to its loop's scheduler; returns when resumed. */
static void switch_to_scheduler(nh_fiber *f) {
  nh_loop *l = f->loop;
  nh__tsan_switch(l->tsan_sched);
  nh__asan_start(&f->asan_fake_stack, l->sched_stack_bottom, l->sched_stack_size);
  nh__switch(&f->sp, l->sched_sp);
  nh__asan_finish(f->asan_fake_stack, &l->sched_stack_bottom, &l->sched_stack_size);
}

static void run_defers(nh_fiber *f) {
  nh__list *n;
  while ((n = nh__list_first(&f->defers))) {
    nh__defer_node *d = nh__container_of(n, nh__defer_node, node);
    nh__list_remove(n);
    d->fn(d->arg);
    free(d);
  }
}

/* The fiber no longer owns what it owned: a panicking owner says so first
 * (its socket is in an unknown state), the last owner releases. */
static void drop_owned(nh_fiber *f) {
  for (int i = 0; i < f->nowned; i++) {
    nh__owned *o = f->owned[i];
    int last = --o->owners == 0;
    if (f->panicked && o->panicked)
      o->panicked(o, last);
    if (last && o->released)
      o->released(o);
  }
  f->nowned = 0;
}

/* The last switch of a fiber: it never comes back. */
__attribute__((noreturn)) static void fiber_exit(nh_fiber *f) {
  run_defers(f);
  drop_owned(f);
  f->state = NH__F_DEAD;
  nh_loop *l = f->loop;
  nh__tsan_switch(l->tsan_sched);
  /* NULL: this fiber's fake stack (ASan's use-after-return frames) dies. */
  nh__asan_start(NULL, l->sched_stack_bottom, l->sched_stack_size);
  nh__switch(&f->sp, l->sched_sp);
  __builtin_unreachable();
}

static void fiber_entry(void *p) {
  nh_fiber *f = p;
  nh__asan_finish(NULL, &f->loop->sched_stack_bottom, &f->loop->sched_stack_size);
  f->fn(f->arg);
  fiber_exit(f);
}

void nh__fiber_resume(nh_fiber *f) {
  nh_loop *l = f->loop;
  f->state = NH__F_RUNNING;
  l->current = f;
  atomic_store_explicit(&l->running, f, memory_order_relaxed);
  /* Single writer: a plain increment, not a locked one. */
  atomic_store_explicit(&l->resumes, atomic_load_explicit(&l->resumes, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  nh__tsan_switch(f->tsan_fiber);
  nh__asan_start(&l->asan_fake_stack, f->stack_lo, f->stack_size);
  nh__switch(&l->sched_sp, f->sp);
  nh__asan_finish(l->asan_fake_stack, NULL, NULL);
  l->current = NULL;
  atomic_store_explicit(&l->running, NULL, memory_order_relaxed);
  if (f->state == NH__F_DEAD)
    nh__fiber_recycle(f);
  else if (__builtin_expect(f->trim_park, 0))
    nh__fiber_stack_trim(f);
}

/* ---- creation and recycling ---- */

/* A fiber's id, entry and label are written by its loop's thread only,
 * and read by the watchdog's: a sequence lock instead of a mutex, as the
 * server relabels a fiber for every request. The writer makes the count
 * odd, stores with release (each store orders the odd count before it),
 * then makes it even again; a reader that saw any of the new stores sees
 * the count moved, and tries again (nh__fiber_peek). Atomic accesses
 * throughout, so no data race even while a copy is torn. */
static uint32_t label_begin(nh_fiber *f) {
  uint32_t seq = atomic_load_explicit(&f->label_seq, memory_order_relaxed) + 1;
  atomic_store_explicit(&f->label_seq, seq, memory_order_relaxed);
  return seq;
}

static void label_end(nh_fiber *f, uint32_t seq) {
  atomic_store_explicit(&f->label_seq, seq + 1, memory_order_release);
}

/* The label from buf: its first n bytes and a NUL (buf has 64 bytes). */
static void label_store(nh_fiber *f, const char *buf, size_t n) {
  uint32_t seq = label_begin(f);
  for (size_t i = 0; i * 8 <= n; i++) {
    uint64_t w;
    memcpy(&w, buf + i * 8, 8);
    __atomic_store_n(&f->label_words[i], w, __ATOMIC_RELEASE);
  }
  label_end(f, seq);
}

void nh__fiber_peek(nh_fiber *f, uint64_t *id, nh_fiber_fn *fn, char label[64]) {
  uint64_t words[8];
  for (int tries = 0; tries < 16; tries++) {
    uint32_t seq = atomic_load_explicit(&f->label_seq, memory_order_acquire);
    *id = __atomic_load_n(&f->id, __ATOMIC_ACQUIRE);
    *fn = __atomic_load_n(&f->fn, __ATOMIC_ACQUIRE);
    for (int i = 0; i < 8; i++)
      words[i] = __atomic_load_n(&f->label_words[i], __ATOMIC_ACQUIRE);
    if (!(seq & 1) && atomic_load_explicit(&f->label_seq, memory_order_relaxed) == seq)
      break;
  }
  memcpy(label, words, 64);
  label[63] = 0;
}

static int spawn(nh_loop *l, nh_fiber_fn fn, void *arg, nh_fiber **out) {
  nh_fiber *f = l->pool;
  if (f) {
    l->pool = f->pool_next;
    l->npool--;
    f->trimmed = 0;
  } else {
    f = l->spare;
    if (f)
      l->spare = f->pool_next;
    else if (!(f = calloc(1, sizeof *f)))
      return NH_ENOMEM;
    if (map_stack(l, f) != NH_OK) {
      f->pool_next = l->spare;
      l->spare = f;
      return NH_ENOMEM;
    }
    f->park_timer.slot = NH__TIMER_IDLE;
  }
  f->loop = l;
  f->arg = arg;
  f->ctx = NULL;
  nh__list_init(&f->defers);
  f->on_panic = NULL;
  f->nowned = 0;
  f->panicked = 0;
  f->wait_reason = NULL;
  f->parked_at = 0;
  f->in_handler = 0;
  f->origin_id = 0;
  f->origin[0] = 0;
  f->long_park_gen = 0;
  f->trim_park = 0;
  f->stack_trimmed_at = 0;
  /* What the watchdog reads about a running fiber changes inside a
   * sequence-lock section (see label_begin). */
  uint32_t seq = label_begin(f);
  __atomic_store_n(&f->id, atomic_fetch_add_explicit(&next_fiber_id, 1, memory_order_relaxed) + 1,
                   __ATOMIC_RELEASE);
  __atomic_store_n(&f->fn, fn, __ATOMIC_RELEASE);
  __atomic_store_n(&f->label_words[0], 0, __ATOMIC_RELEASE);
  label_end(f, seq);
  f->sp = nh__stack_init_frame(f->stack_lo + f->stack_size, fiber_entry, f);
  if (!f->tsan_fiber)
    f->tsan_fiber = nh__tsan_create();
  nh__list_push_front(&l->live, &f->live_node);
  l->nlive++;
  nh__loop_count(&l->fibers_live, 1);
  nh__loop_count(&l->fibers_started, 1);
  f->state = NH__F_RUNNABLE;
  if (nh__tracing())
    nh__trace_spawn(l, f);
  nh__runq_push(l, f);
  *out = f;
  return NH_OK;
}

int nh__fiber_spawn(nh_loop *l, nh_fiber_fn fn, void *arg) {
  nh_fiber *f;
  return spawn(l, fn, arg, &f);
}

/* Once a second, pooled stacks beyond the warm ones give their touched
 * pages back to the kernel (the mapping and its guard stay, so reuse needs
 * no system call, only page faults): a burst of fibers must not leave its
 * memory behind, and the hot path never pays for it. The pool is LIFO, so
 * the warm ones are the most recently used. */
void nh__fiber_pool_trim(nh_loop *l) {
  size_t i = 0;
  for (nh_fiber *f = l->pool; f; f = f->pool_next, i++) {
    if (i < NH__WARM_STACKS || f->trimmed)
      continue;
    madvise(f->stack_lo, f->stack_size, MADV_DONTNEED);
    f->trimmed = 1;
  }
}

void nh__fiber_recycle(nh_fiber *f) {
  nh_loop *l = f->loop;
  nh__list_remove(&f->live_node);
  l->nlive--;
  nh__loop_count(&l->fibers_live, -1);
  f->state = NH__F_FREE;
  f->ctx = NULL;
  f->sp = NULL;
  /* A panicked fiber never returned from its frames: clear their ASan
   * redzones before the stack is handed to another fiber. */
  if (f->panicked)
    nh__asan_unpoison(f->stack_lo, f->stack_size);
  if (l->npool < l->rt->cfg.fiber_pool) {
    f->pool_next = l->pool;
    l->pool = f;
    l->npool++;
  } else {
    unmap_stack(l, f);
    if (f->tsan_fiber) { /* TSan maps a trace per fiber: give it back too */
      nh__tsan_destroy(f->tsan_fiber);
      f->tsan_fiber = NULL;
    }
    f->pool_next = l->spare;
    l->spare = f;
  }
}

static void free_list(nh_loop *l, nh_fiber *f) {
  while (f) {
    nh_fiber *next = f->pool_next;
    unmap_stack(l, f);
    if (f->tsan_fiber)
      nh__tsan_destroy(f->tsan_fiber);
    free(f);
    f = next;
  }
}

void nh__fiber_pool_dispose(nh_loop *l) {
  free_list(l, l->pool);
  free_list(l, l->spare);
  l->pool = l->spare = NULL;
  l->npool = 0;
}

/* ---- parking ---- */

static void park_timer_fired(nh__timer *t) {
  nh_fiber *f = (nh_fiber *)((char *)t - offsetof(nh_fiber, park_timer));
  nh__fiber_wake(f, f->timer_gen, NH_ETIMEDOUT);
}

int nh__fiber_park(const char *reason, nh_time deadline) {
  nh_fiber *f = nh__fiber_current();
  nh_loop *l = f->loop;
  f->state = NH__F_PARKED;
  f->wait_reason = reason;
  f->parked_at = nh__loop_time(l); /* this turn's: shown in dumps, no clock read per park */
  if (nh__tracing())
    nh__trace_park(l, f, reason);
  if (deadline != NH_NO_DEADLINE) {
    f->timer_gen = f->park_gen;
    f->park_timer.cb = park_timer_fired;
    nh__timer_start(l, &f->park_timer, deadline);
  }
  switch_to_scheduler(f);
  if (nh__timer_armed(&f->park_timer))
    nh__timer_stop(l, &f->park_timer);
  f->wait_reason = NULL;
  return f->wake_result;
}

void nh__fiber_wake(nh_fiber *f, uint64_t gen, int result) {
  if (f->state != NH__F_PARKED || f->park_gen != gen)
    return;
  if (nh__tracing())
    nh__trace_wake(f->loop, f, gen);
  f->park_gen++;
  f->wake_result = result;
  f->state = NH__F_RUNNABLE;
  nh__runq_push(f->loop, f);
}

/* ---- public fiber API ---- */

int nh_go(nh_fiber_fn fn, void *arg) {
  nh_fiber *f = nh__fiber_current();
  if (!f)
    return NH_ENOTFIBER;
  nh_fiber *child;
  int e = spawn(f->loop, fn, arg, &child);
  if (e)
    return e;
  if (f->in_handler || f->origin_id) /* the leak watch follows it */
    nh__leak_watch_inherit(f, child);
  for (int i = 0; i < f->nowned; i++) { /* what the parent owns, it shares */
    child->owned[child->nowned++] = f->owned[i];
    f->owned[i]->owners++;
  }
  return NH_OK;
}

int nh_in_fiber(void) { return nh__fiber_current() != NULL; }

uint64_t nh_fiber_id(void) {
  nh_fiber *f = nh__fiber_current();
  return f ? f->id : 0;
}

void nh_fiber_set_label(const char *label) {
  nh_fiber *f = nh__fiber_current();
  if (!f)
    return;
  char buf[64] = "";
  size_t n = label ? strnlen(label, sizeof buf - 1) : 0;
  memcpy(buf, label ? label : "", n);
  buf[n] = 0;
  label_store(f, buf, n); /* the watchdog reads it */
}

void nh__fiber_set_label2(const char *a, size_t alen, const char *b, size_t blen) {
  nh_fiber *f = nh__fiber_current();
  if (!f)
    return;
  size_t max = sizeof f->label - 1;
  if (alen > max)
    alen = max;
  if (blen > max - alen - (alen < max))
    blen = max - alen - (alen < max);
  char buf[64];
  memcpy(buf, a, alen);
  size_t n = alen;
  if (n < max)
    buf[n++] = ' ';
  memcpy(buf + n, b, blen);
  buf[n + blen] = 0;
  label_store(f, buf, n + blen); /* the watchdog reads it */
}

nh_ctx *nh_fiber_ctx(void) {
  nh_fiber *f = nh__fiber_current();
  return f && f->ctx ? f->ctx : nh_ctx_background();
}

void nh_fiber_set_ctx(nh_ctx *ctx) {
  nh_fiber *f = nh__fiber_current();
  if (f)
    f->ctx = ctx;
}

void nh_yield(void) {
  nh_fiber *f = nh__fiber_current();
  if (!f) {
    sched_yield();
    return;
  }
  f->state = NH__F_RUNNABLE;
  nh__runq_push(f->loop, f);
  switch_to_scheduler(f);
}

int nh_sleep_until(nh_time deadline) {
  nh_time now = nh_now();
  if (deadline <= now)
    return NH_OK;
  if (!nh__fiber_current()) {
    struct timespec ts = {deadline / NH_SEC, deadline % NH_SEC};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
      ;
    return NH_OK;
  }
  nh__waiter w;
  nh__waiter_init(&w);
  int r = nh__waiter_park(&w, "sleep", deadline, NULL);
  if (r == NH_ETIMEDOUT) /* the sleep's own deadline, unless the ctx ended */
    return nh_ctx_err(nh_fiber_ctx());
  return r;
}

int nh_sleep(nh_dur d) { return d <= 0 ? NH_OK : nh_sleep_until(nh_deadline_after(d)); }

void nh__fiber_on_panic(void (*fn)(void *), void *arg) {
  nh_fiber *f = nh__fiber_current();
  if (f) {
    f->on_panic = fn;
    f->on_panic_arg = arg;
  }
}

int nh__fiber_own(nh__owned *o) {
  nh_fiber *f = nh__fiber_current();
  if (!f)
    return NH_ENOTFIBER;
  if (f->nowned == NH__FIBER_OWNED)
    return NH_ENOMEM;
  f->owned[f->nowned++] = o;
  o->owners++;
  return NH_OK;
}

nh_deferred *nh_defer(void (*fn)(void *), void *arg) {
  nh_fiber *f = nh__fiber_current();
  if (!f || !fn)
    return NULL;
  nh__defer_node *d = malloc(sizeof *d);
  if (!d)
    return NULL;
  d->fn = fn;
  d->arg = arg;
  nh__list_push_front(&f->defers, &d->node);
  return (nh_deferred *)d;
}

void nh_undefer(nh_deferred *h) {
  nh_fiber *f = nh__fiber_current();
  nh__defer_node *d = (nh__defer_node *)h;
  if (!f || !d)
    return;
  nh__list_remove(&d->node);
  free(d);
}

void nh_panic(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  /* The backtrace of the panicking fiber: "fn+0xoff (file.c:line)" for
   * each frame, named from the debug information (symbolize.c). */
  nh__symbolize_init();
  void *bt[24];
  int n = backtrace(bt, 24);
  char trace[4096];
  size_t len = 0;
  trace[0] = 0;
  for (int i = 1; i < n && len + 1 < sizeof trace; i++) {
    char name[160];
    nh_frame_name(bt[i], name, sizeof name);
    int w = snprintf(trace + len, sizeof trace - len, "%s%s", i > 1 ? " <- " : "", name);
    if (w < 0)
      break;
    len += (size_t)w;
  }

  nh_fiber *f = nh__fiber_current();
  if (!f) {
    NH_LOG(NULL, NH_LOG_ERROR, "panic outside a fiber, aborting", NH_LSTR("panic", msg),
           NH_LSTR("backtrace", trace));
    abort();
  }
  nh_loop *l = f->loop;
  char label[64]; /* its own label: this thread is the only writer */
  memcpy(label, f->label, sizeof label);
  label[sizeof label - 1] = 0;
  NH_LOG(nh__rt_logger(l->rt), NH_LOG_ERROR, "fiber panicked", NH_LSTR("panic", msg),
         NH_LINT("fiber", f->id), NH_LSTR("label", label), NH_LINT("loop", l->index),
         NH_LSTR("backtrace", trace));
  atomic_fetch_add_explicit(&l->rt->panics, 1, memory_order_relaxed);
  f->panicked = 1;
  if (f->on_panic) {
    void (*fn)(void *) = f->on_panic;
    f->on_panic = NULL;
    fn(f->on_panic_arg);
  }
  fiber_exit(f);
}
