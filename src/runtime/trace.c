/* The scheduler trace: the records each loop appends to its own buffer
 * while the trace is on, and the start and stop around them (trace.h).
 *
 * Why the buffers need no lock: the starter fills in and empties them
 * while the flag is off (and every loop has run past the previous stop),
 * then sets the flag with release; a loop re-reads the flag with acquire
 * before its first write, so it sees the emptied buffer. The stop clears
 * the flag and posts a message to every loop; a loop runs it only between
 * two records, so once all have answered no write is in progress or to
 * come, and the buffers may be read from any thread. */
#include "internal.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

atomic_int nh__trace_on;
static atomic_int trace_busy;

/* Room for a record of size bytes in l's buffer, or NULL (no trace, or
 * full: counted). Loop thread only. */
static nh__trace_rec *rec_alloc(nh_loop *l, int kind, size_t size) {
  if (!atomic_load_explicit(&nh__trace_on, memory_order_acquire))
    return NULL;
  nh__trace_buf *b = l->trace;
  if (!b)
    return NULL; /* a loop of a runtime that is not being traced */
  if (b->cap - b->len < size) {
    b->dropped++;
    return NULL;
  }
  nh__trace_rec *r = (nh__trace_rec *)(b->data + b->len);
  b->len += size;
  memset(r, 0, sizeof *r);
  r->kind = (uint16_t)kind;
  r->size = (uint16_t)size;
  atomic_store_explicit(&b->written, atomic_load_explicit(&b->written, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  return r;
}

static uint64_t current_id(const nh_loop *l) { return l->current ? l->current->id : 0; }

void nh__trace_run(nh_loop *l, nh_fiber *f, nh_time begin) {
  nh_time end = nh_now();
  size_t n = strnlen(f->label, sizeof f->label - 1);
  size_t size = (sizeof(nh__trace_rec) + n + 1 + 7) & ~(size_t)7;
  nh__trace_rec *r = rec_alloc(l, NH__TR_RUN, size);
  if (!r)
    return;
  r->ts = (uint64_t)begin;
  r->dur = (uint64_t)(end - begin);
  r->fiber = f->id;
  r->ptr = (const void *)f->fn;
  if (f->trace_woken) {
    r->cause = NH__TR_WOKEN;
    r->arg = f->trace_wake_gen;
    f->trace_woken = 0;
  }
  char *label = (char *)(r + 1);
  memcpy(label, f->label, n);
  label[n] = 0;
}

void nh__trace_park(nh_loop *l, nh_fiber *f, const char *reason) {
  nh__trace_rec *r = rec_alloc(l, NH__TR_PARK, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)nh_now();
  r->fiber = f->id;
  r->arg = f->park_gen;
  r->ptr = reason;
}

void nh__trace_wake(nh_loop *l, nh_fiber *f, uint64_t gen) {
  nh__trace_rec *r = rec_alloc(l, NH__TR_WAKE, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)nh_now();
  r->fiber = f->id;
  r->arg = gen;
  r->by = current_id(l);
  r->cause = (uint16_t)(r->by ? NH__TR_BY_FIBER : l->trace_phase ? l->trace_phase : NH__TR_BY_LOOP);
  f->trace_woken = 1;
  f->trace_wake_gen = gen;
}

void nh__trace_spawn(nh_loop *l, nh_fiber *f) {
  nh__trace_rec *r = rec_alloc(l, NH__TR_SPAWN, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)nh_now();
  r->fiber = f->id;
  r->arg = f->park_gen;
  r->by = current_id(l);
  r->cause = (uint16_t)(r->by ? NH__TR_BY_FIBER : l->trace_phase ? l->trace_phase : NH__TR_BY_LOOP);
  f->trace_woken = 1; /* its first run ends the arrow */
  f->trace_wake_gen = f->park_gen;
}

void nh__trace_wake_remote(nh_fiber *f, uint64_t gen) {
  nh_loop *l = nh__loop_current();
  if (!l)
    return; /* a plain thread has no buffer: the woken loop records it */
  nh__trace_rec *r = rec_alloc(l, NH__TR_WAKE_REMOTE, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)nh_now();
  r->fiber = __atomic_load_n(&f->id, __ATOMIC_ACQUIRE);
  r->arg = gen;
  r->by = current_id(l);
  r->loop = (uint16_t)f->loop->index;
}

void nh__trace_turn(nh_loop *l) {
  nh__trace_rec *r = rec_alloc(l, NH__TR_TURN, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)nh_now();
  r->arg = ++l->trace->turns;
}

void nh__trace_poll(nh_loop *l, nh_time begin, int events) {
  nh_time end = nh_now();
  nh__trace_rec *r = rec_alloc(l, NH__TR_POLL, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)begin;
  r->dur = (uint64_t)(end - begin);
  r->arg = events > 0 ? (uint64_t)events : 0;
}

void nh__trace_timer(nh_loop *l, const void *cb) {
  nh__trace_rec *r = rec_alloc(l, NH__TR_TIMER, sizeof *r);
  if (!r)
    return;
  r->ts = (uint64_t)nh_now();
  r->ptr = cb;
}

void nh__trace_loop_dispose(nh_loop *l) {
  if (!l->trace)
    return;
  free(l->trace->data);
  free(l->trace);
  l->trace = NULL;
}

/* ---- start and stop ---- */

int nh__trace_start(nh_runtime *rt, size_t per_loop, nh_time *started) {
  int idle = 0;
  if (!atomic_compare_exchange_strong(&trace_busy, &idle, 1))
    return NH_EBUSY;
  for (int i = 0; i < rt->nloops; i++) {
    nh_loop *l = &rt->loops[i];
    if (!l->trace) {
      nh__trace_buf *b = calloc(1, sizeof *b);
      char *data = b ? malloc(per_loop) : NULL;
      if (!data) {
        free(b);
        atomic_store(&trace_busy, 0);
        return NH_ENOMEM;
      }
      b->data = data;
      b->cap = per_loop;
      __atomic_store_n(&l->trace, b, __ATOMIC_RELEASE); /* nh__trace_written reads it */
    }
    l->trace->len = 0;
    l->trace->dropped = 0;
    l->trace->turns = 0;
  }
  *started = nh_now(); /* before the flag: no record is older */
  atomic_store_explicit(&nh__trace_on, 1, memory_order_release);
  return NH_OK;
}

typedef struct stop_barrier {
  atomic_int left;
  nh__waiter w;
} stop_barrier;

static void stop_ack(nh_loop *l, void *arg) {
  (void)l;
  stop_barrier *b = arg;
  if (atomic_fetch_sub_explicit(&b->left, 1, memory_order_acq_rel) == 1)
    nh__waiter_wake(&b->w, NH_OK); /* b is not touched after this */
}

void nh__trace_stop(nh_runtime *rt) {
  atomic_store_explicit(&nh__trace_on, 0, memory_order_release);
  stop_barrier b;
  atomic_init(&b.left, rt->nloops);
  nh__waiter_init(&b.w);
  int posted = 0;
  for (int i = 0; i < rt->nloops; i++) {
    if (nh__loop_post(&rt->loops[i], stop_ack, &b) == NH_OK) {
      posted++;
      continue;
    }
    /* Out of memory: that loop cannot be waited for; count it as done. */
    atomic_fetch_sub_explicit(&b.left, 1, memory_order_acq_rel);
  }
  if (!posted)
    return;
  /* Not cancellable (background context, no deadline): the acks point at
   * b, which lives on this stack. Only the last ack wakes it. */
  nh__waiter_park(&b.w, "trace: stopping", NH_NO_DEADLINE, nh_ctx_background());
}

void nh__trace_end(void) { atomic_store(&trace_busy, 0); }

int nh__trace_busy(void) { return atomic_load(&trace_busy); }

const nh__trace_buf *nh__trace_buf_of(nh_runtime *rt, int i) {
  return i >= 0 && i < rt->nloops ? rt->loops[i].trace : NULL;
}

uint64_t nh__trace_written(nh_runtime *rt) {
  uint64_t n = 0;
  for (int i = 0; i < rt->nloops; i++) {
    /* The buffer pointer is set before a trace starts and kept for the
     * loop's life; the count is read atomically. */
    nh__trace_buf *b = __atomic_load_n(&rt->loops[i].trace, __ATOMIC_ACQUIRE);
    if (b)
      n += atomic_load_explicit(&b->written, memory_order_relaxed);
  }
  return n;
}
