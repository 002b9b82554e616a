/* nethttp/sync.h — fiber-aware synchronization.
 *
 * Each primitive parks a waiting fiber (its loop runs others) or blocks a
 * waiting plain thread, and may be shared by fibers of different loops and
 * plain threads at once. Waits that take a deadline also end when the
 * calling fiber's context is done (NH_ETIMEDOUT / NH_ECANCELED). Waiters are
 * served first come, first served. All objects: _new returns NULL when out
 * of memory; _free of NULL does nothing; freeing one with waiters is a bug. */
#ifndef NETHTTP_SYNC_H
#define NETHTTP_SYNC_H

#include <stddef.h>

#include "nethttp/export.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mutex: lock hands ownership straight to the next waiter on unlock. */
typedef struct nh_mutex nh_mutex;
NH_API nh_mutex *nh_mutex_new(void);
NH_API void nh_mutex_free(nh_mutex *m);
NH_API void nh_mutex_lock(nh_mutex *m);
NH_API int nh_mutex_trylock(nh_mutex *m); /* 0 or NH_EBUSY */
NH_API void nh_mutex_unlock(nh_mutex *m);

/* Counting semaphore: the production guide's in-flight limiter. */
typedef struct nh_sem nh_sem;
NH_API nh_sem *nh_sem_new(long permits);
NH_API void nh_sem_free(nh_sem *s);
/* Returns 0, NH_ETIMEDOUT (deadline), NH_ECANCELED (fiber context). */
NH_API int nh_sem_acquire(nh_sem *s, nh_time deadline);
NH_API int nh_sem_try_acquire(nh_sem *s); /* 0 or NH_EBUSY */
NH_API void nh_sem_release(nh_sem *s);
NH_API long nh_sem_available(nh_sem *s);

/* Wait group: wait until a counter returns to zero (shutdown waiting). */
typedef struct nh_wg nh_wg;
NH_API nh_wg *nh_wg_new(void);
NH_API void nh_wg_free(nh_wg *wg);
NH_API void nh_wg_add(nh_wg *wg, long delta); /* panics (nh_panic) below zero */
NH_API void nh_wg_done(nh_wg *wg);
NH_API int nh_wg_wait(nh_wg *wg, nh_time deadline); /* 0, NH_ETIMEDOUT, NH_ECANCELED */

/* Bounded channel of pointers (Go's `chan T` with a buffer; capacity 0 is an
 * unbuffered rendezvous). Closing wakes every waiter; receives drain what is
 * buffered and then return NH_ECLOSED; sends on a closed channel return
 * NH_ECLOSED. */
typedef struct nh_chan nh_chan;
NH_API nh_chan *nh_chan_new(size_t capacity);
NH_API void nh_chan_free(nh_chan *ch);
NH_API int nh_chan_send(nh_chan *ch, void *value, nh_time deadline);
NH_API int nh_chan_recv(nh_chan *ch, void **value, nh_time deadline);
NH_API int nh_chan_try_send(nh_chan *ch, void *value); /* 0, NH_EFULL, NH_ECLOSED */
NH_API int nh_chan_try_recv(nh_chan *ch, void **value); /* 0, NH_EAGAIN, NH_ECLOSED */
NH_API void nh_chan_close(nh_chan *ch);
NH_API size_t nh_chan_len(nh_chan *ch);

#ifdef __cplusplus
}
#endif
#endif
