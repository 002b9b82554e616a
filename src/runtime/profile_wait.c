/* Contention profiles: waits on mutexes, semaphores, channels and wait
 * groups, sampled, kept in two tables keyed by the waiter's stack (Go's
 * mutex and block profiles, which record the same figures: how many waits
 * and how long they took).
 *
 * Nothing here runs unless a rate is set: the primitives read
 * nh__wait_prof_on once per wait. A sampled wait walks the waiter's own
 * frame pointers (a fiber's stack is bounded exactly; a plain thread uses
 * glibc's backtrace) and adds to its stack's entry under the table's lock. */
#include "internal.h"
#include "profile.h"

#include <execinfo.h>
#include <stdlib.h>
#include <string.h>

_Atomic int nh__wait_prof_on;
static _Atomic int mutex_fraction;
static _Atomic int64_t block_rate;

/* Entries per table: a program has few distinct wait sites; past this,
 * new stacks are dropped and counted. */
enum { BUCKETS = 1024, MAX_ENTRIES = 4096 };

typedef struct entry {
  struct entry *next;
  uint64_t hash;
  int64_t count, delay;
  int n;
  void *frames[];
} entry;

typedef struct table {
  pthread_mutex_t lk;
  entry *buckets[BUCKETS];
  int nentries;
  int64_t dropped;
} table;

static table tables[2] = {{.lk = PTHREAD_MUTEX_INITIALIZER}, {.lk = PTHREAD_MUTEX_INITIALIZER}};

static void update_on(void) {
  int on = atomic_load(&mutex_fraction) > 0 || atomic_load(&block_rate) > 0;
  atomic_store(&nh__wait_prof_on, on);
}

int nh_set_mutex_profile_fraction(int rate) {
  if (rate < 0)
    return atomic_load(&mutex_fraction);
  int old = atomic_exchange(&mutex_fraction, rate);
  update_on();
  return old;
}

int64_t nh_set_block_profile_rate(int64_t rate_ns) {
  if (rate_ns < 0)
    return atomic_load(&block_rate);
  int64_t old = atomic_exchange(&block_rate, rate_ns);
  update_on();
  return old;
}

static uint64_t rand64(void) {
  static __thread uint64_t s;
  if (!s)
    s = (uint64_t)nh_now() ^ (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

/* The caller's stack, from the frame of the primitive that waited. */
__attribute__((noinline)) static int capture(void **out, int max) {
  nh_fiber *f = nh__fiber_current();
  if (!f) {
    int n = backtrace(out, max);
    /* Its first frames are capture and nh__wait_prof_end: drop them. */
    if (n > 2) {
      memmove(out, out + 2, (size_t)(n - 2) * sizeof *out);
      return n - 2;
    }
    return 0;
  }
  uintptr_t lo = (uintptr_t)f->stack_lo, hi = lo + f->stack_size;
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  int n = 0, skip = 1; /* the return into nh__wait_prof_end */
  while (n < max && fp >= lo && fp + 2 * sizeof(void *) <= hi && (fp & 7) == 0) {
    const uintptr_t *rec = (const uintptr_t *)fp;
    if (!rec[1])
      break;
    if (skip)
      skip--;
    else
      out[n++] = (void *)rec[1];
    if (rec[0] <= fp)
      break;
    fp = rec[0];
  }
  return n;
}

static uint64_t hash_frames(void *const *frames, int n) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < n; i++) {
    h ^= (uint64_t)(uintptr_t)frames[i];
    h *= 1099511628211ull;
  }
  return h;
}

static void table_add(table *t, void *const *frames, int n, int64_t delay) {
  uint64_t h = hash_frames(frames, n);
  pthread_mutex_lock(&t->lk);
  entry **slot = &t->buckets[h % BUCKETS], *e;
  for (e = *slot; e; e = e->next)
    if (e->hash == h && e->n == n && memcmp(e->frames, frames, (size_t)n * sizeof *frames) == 0)
      break;
  if (!e && t->nentries < MAX_ENTRIES && (e = calloc(1, sizeof *e + (size_t)n * sizeof *frames))) {
    e->hash = h;
    e->n = n;
    memcpy(e->frames, frames, (size_t)n * sizeof *frames);
    e->next = *slot;
    *slot = e;
    t->nentries++;
  }
  if (e) {
    e->count++;
    e->delay += delay;
  } else {
    t->dropped++;
  }
  pthread_mutex_unlock(&t->lk);
}

__attribute__((noinline)) void nh__wait_prof_end(enum nh__wait_kind kind, nh_time t0) {
  int64_t delay = nh_now() - t0;
  if (delay < 0)
    delay = 0;
  int in_mutex = 0, in_block = 0;
  int frac = atomic_load_explicit(&mutex_fraction, memory_order_relaxed);
  if (kind == NH__WAIT_MUTEX && frac > 0)
    in_mutex = frac == 1 || rand64() % (uint64_t)frac == 0;
  int64_t rate = atomic_load_explicit(&block_rate, memory_order_relaxed);
  if (rate > 0)
    in_block = delay >= rate || (int64_t)(rand64() % (uint64_t)rate) < delay;
  if (!in_mutex && !in_block)
    return;
  void *frames[NH__PROF_DEPTH];
  int n = capture(frames, NH__PROF_DEPTH);
  if (n <= 0)
    return;
  if (in_mutex)
    table_add(&tables[NH__WAITS_MUTEX], frames, n, delay);
  if (in_block)
    table_add(&tables[NH__WAITS_BLOCK], frames, n, delay);
}

int64_t nh__wait_prof_each(enum nh__wait_table which, nh__wait_prof_fn fn, void *arg) {
  table *t = &tables[which];
  pthread_mutex_lock(&t->lk);
  for (int b = 0; fn && b < BUCKETS; b++)
    for (entry *e = t->buckets[b]; e; e = e->next)
      fn(arg, e->frames, e->n, e->count, e->delay);
  pthread_mutex_unlock(&t->lk);
  return which == NH__WAITS_MUTEX ? atomic_load(&mutex_fraction) : atomic_load(&block_rate);
}
