/* The scheduler trace: what each loop did, recorded as compact binary
 * records in a buffer per loop, for /debug/trace.
 *
 * One global flag says whether a trace runs. The hooks in the scheduler's
 * hot paths (fiber switch, park, wake, loop turn, epoll wait, timer fire)
 * test it with one predictable branch and do nothing more when it is off.
 * While it is on, each loop appends records to its own buffer from its own
 * thread only, so no lock is taken; a wake aimed at another loop is
 * recorded on the waker's buffer. A full buffer drops records and counts
 * them. A trace is one at a time in the process: nh__trace_start and
 * nh__trace_stop bracket it, and the stop waits until every loop has seen
 * the flag go off, so the buffers can then be read from any thread. */
#ifndef NH_RUNTIME_TRACE_H
#define NH_RUNTIME_TRACE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nethttp/runtime.h"
#include "nethttp/time.h"

struct nh_loop;
struct nh_fiber;

/* Non-zero while a trace runs (relaxed reads on the hot paths). */
extern atomic_int nh__trace_on;

static inline int nh__tracing(void) {
  return __builtin_expect(atomic_load_explicit(&nh__trace_on, memory_order_relaxed) != 0, 0);
}

/* The record kinds. */
enum {
  NH__TR_RUN = 1,     /* a fiber ran from ts for dur (label follows) */
  NH__TR_PARK,        /* a fiber parked: ptr is its reason */
  NH__TR_WAKE,        /* a fiber of this loop was made runnable */
  NH__TR_WAKE_REMOTE, /* this loop woke a fiber of loop `loop` */
  NH__TR_TURN,        /* a loop turn began: arg is its number */
  NH__TR_POLL,        /* epoll waited from ts for dur: arg events */
  NH__TR_TIMER,       /* a timer fired: ptr is its callback */
  NH__TR_SPAWN,       /* a fiber was started (made runnable first) */
};

/* What made a fiber runnable (NH__TR_WAKE's cause). */
enum {
  NH__TR_BY_FIBER = 1, /* a fiber of the same loop (by) */
  NH__TR_BY_IO,        /* a descriptor became ready */
  NH__TR_BY_TIMER,     /* a deadline passed */
  NH__TR_BY_INBOX,     /* another thread (a message in the inbox) */
  NH__TR_BY_LOOP,      /* the scheduler otherwise */
};

/* NH__TR_RUN's flags: the run is the first after a wake whose flow key is
 * (fiber, arg). */
#define NH__TR_WOKEN 1u

typedef struct nh__trace_rec {
  uint64_t ts;     /* nh_now() */
  uint64_t dur;    /* RUN, POLL */
  uint64_t fiber;  /* RUN, PARK, WAKE, WAKE_REMOTE: the fiber's id */
  uint64_t arg;    /* WAKE*, RUN: park generation; TURN: number; POLL: events */
  uint64_t by;     /* WAKE, WAKE_REMOTE: the waking fiber's id, 0 if none */
  const void *ptr; /* PARK: reason (a string); TIMER: callback; RUN: entry */
  uint16_t kind;
  uint16_t size;  /* bytes, this header and what follows, a multiple of 8 */
  uint16_t cause; /* WAKE, SPAWN: NH__TR_BY_*; RUN: NH__TR_WOKEN */
  uint16_t loop;  /* WAKE_REMOTE: the woken fiber's loop */
  /* RUN: the fiber's label, NUL-terminated, then padding */
} nh__trace_rec;

/* One loop's records. The loop's thread alone writes them while a trace
 * runs; anyone reads them between nh__trace_stop and nh__trace_end. */
typedef struct nh__trace_buf {
  char *data;
  size_t cap, len;
  uint64_t dropped;                /* records that did not fit */
  atomic_uint_fast64_t written;    /* records ever written (never reset) */
  uint64_t turns;
} nh__trace_buf;

/* ---- hooks (loop thread) ---- */
/* The start of an epoll wait, or 0 when no trace runs. */
static inline nh_time nh__trace_poll_begin(void) { return nh__tracing() ? nh_now() : 0; }
/* f ran from begin until now (the turn's traced path, loop.c). */
void nh__trace_run(struct nh_loop *l, struct nh_fiber *f, nh_time begin);
void nh__trace_park(struct nh_loop *l, struct nh_fiber *f, const char *reason);
/* f is being woken out of park generation gen. */
void nh__trace_wake(struct nh_loop *l, struct nh_fiber *f, uint64_t gen);
/* f was just started, by the current fiber or the scheduler. */
void nh__trace_spawn(struct nh_loop *l, struct nh_fiber *f);
/* Any thread: a wake of f (generation gen) posted to f's loop. Recorded
 * only when the caller is itself a loop's thread. */
void nh__trace_wake_remote(struct nh_fiber *f, uint64_t gen);
void nh__trace_turn(struct nh_loop *l);
void nh__trace_poll(struct nh_loop *l, nh_time begin, int events);
void nh__trace_timer(struct nh_loop *l, const void *cb);
/* Frees l's buffer (loop disposal). */
void nh__trace_loop_dispose(struct nh_loop *l);

/* ---- taking a trace ---- */
/* nh__trace_start makes sure every loop of rt has an empty buffer of
 * per_loop bytes (the size of the first trace stays) and turns the trace
 * on; *started is a time no record precedes. Returns 0, NH_EBUSY while
 * another trace runs anywhere in the process, or NH_ENOMEM. Thread-safe. */
int nh__trace_start(nh_runtime *rt, size_t per_loop, nh_time *started);
/* nh__trace_stop turns the trace off and waits (parking a fiber, or
 * blocking a plain thread) until each of rt's loops has run past the
 * moment it did, so that none writes any more. Call once after a start. */
void nh__trace_stop(nh_runtime *rt);
/* nh__trace_end releases the trace for the next one (after reading). */
void nh__trace_end(void);
/* A trace runs (started and not yet ended). Thread-safe. */
int nh__trace_busy(void);
/* Loop i's buffer (NULL if it never traced). Readable between stop and
 * end. */
const nh__trace_buf *nh__trace_buf_of(nh_runtime *rt, int i);
/* Records rt's loops ever wrote, summed (thread-safe, for tests). */
uint64_t nh__trace_written(nh_runtime *rt);

#endif
