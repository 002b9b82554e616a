/* Profiling internals: the CPU profiler's sample log (profile_cpu.c) and
 * the contention table of mutex and block waits (profile_wait.c). The
 * debug layer turns both into pprof profiles. */
#ifndef NH_RUNTIME_PROFILE_H
#define NH_RUNTIME_PROFILE_H

#include <stdatomic.h>
#include <stdint.h>

#include "nethttp/time.h"

/* Frames kept per stack; deeper stacks are cut (the outermost are lost). */
enum { NH__PROF_DEPTH = 64 };

/* ---- CPU profile ----
 * A SIGPROF handler samples every thread of the process at hz per second
 * of process CPU time (setitimer ITIMER_PROF) and appends the interrupted
 * stack to a preallocated log: no allocation and no lock in the handler.
 * The handler walks frame pointers and trusts a frame only inside the
 * stack it was interrupted on: the running fiber's, or a loop thread's
 * (known from profile start). Other threads give their interrupted pc
 * alone. The handler stays installed after the first profile (a SIGPROF
 * still pending when the timer is disarmed must not kill the process);
 * with no profile running the timer is disarmed and no signal fires. */

/* Starts a profile of at most max_dur (it sizes the log). Returns 0,
 * NH_EBUSY when a profile is already running, NH_ENOMEM, or the errno of
 * sigaction/setitimer. Any thread; never from a signal handler. */
int nh__cpuprof_start(int hz, nh_dur max_dur);
/* Receives one sample: frames[0] is the interrupted pc, the rest are
 * return addresses, innermost first. */
typedef void (*nh__cpuprof_fn)(void *arg, void *const *frames, int n);
/* Stops the running profile: disarms the timer, waits for handlers still
 * running, hands every sample to fn (may be NULL), then frees the log.
 * *lost (may be NULL): samples dropped because the log was full. Returns 0,
 * or NH_EINVAL when no profile runs. Call it from the thread or fiber that
 * started the profile. */
int nh__cpuprof_stop(nh__cpuprof_fn fn, void *arg, uint64_t *lost);
/* 1 while a profile runs (started, not yet stopped). */
int nh__cpuprof_running(void);
/* SIGPROF signals the handler has seen since the process started, with a
 * profile running or not: a signal while none runs is a bug. */
uint64_t nh__cpuprof_signals(void);

/* ---- contention (mutex and block) profiles ----
 * A fiber or thread that had to wait on a mutex, semaphore, channel or
 * wait group is sampled (see nh_set_mutex_profile_fraction,
 * nh_set_block_profile_rate) with its stack and the time it waited. */
enum nh__wait_kind { NH__WAIT_MUTEX, NH__WAIT_SEM, NH__WAIT_CHAN, NH__WAIT_WG };

/* Either rate is on: a wait's start time is worth reading. */
extern _Atomic int nh__wait_prof_on;

/* The start of a wait, or 0 when contention profiling is off: the one
 * branch a wait costs when it is off. */
static inline nh_time nh__wait_prof_begin(void) {
  if (__builtin_expect(atomic_load_explicit(&nh__wait_prof_on, memory_order_relaxed), 0))
    return nh_now();
  return 0;
}
/* Records a wait that began at t0 (from nh__wait_prof_begin, 0: nothing
 * to do), sampling it per the rates. Call it outside any lock of the
 * primitive: it walks the caller's stack and may take the table's lock. */
void nh__wait_prof_end(enum nh__wait_kind kind, nh_time t0);

/* Which table: mutex waits only (sampled by the mutex fraction), or every
 * wait (sampled by the block rate). */
enum nh__wait_table { NH__WAITS_MUTEX, NH__WAITS_BLOCK };
/* One entry per distinct stack: how many waits and their total time, as
 * recorded (not scaled). */
typedef void (*nh__wait_prof_fn)(void *arg, void *const *frames, int n, int64_t count,
                                 int64_t delay_ns);
/* Visits the table's entries under its lock (fn must not wait on a
 * profiled primitive; NULL: none visited). Returns the rate the table is sampled at. */
int64_t nh__wait_prof_each(enum nh__wait_table t, nh__wait_prof_fn fn, void *arg);

#endif
