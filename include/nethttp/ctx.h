/* nethttp/ctx.h — Go's context: deadline, cancellation, values, as a tree.
 *
 * Cancelling a context cancels all its descendants. A deadline is inherited
 * and can only get earlier down the tree. Contexts are thread-safe: a context
 * made on one loop may be cancelled from any thread, and every fiber parked
 * under it wakes at once with NH_ECANCELED (or NH_ETIMEDOUT at the deadline).
 *
 * Ownership: each nh_ctx_with_* returns a context the caller owns and must
 * release with nh_ctx_free, which also cancels it (Go's `defer cancel()`).
 * A child keeps its parent's storage alive, so releasing in any order is
 * safe. */
#ifndef NETHTTP_CTX_H
#define NETHTTP_CTX_H

#include "nethttp/export.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_ctx nh_ctx;

/* nh_ctx_background is the root: never cancelled, no deadline, no values.
 * Static; nh_ctx_free on it does nothing. */
NH_API nh_ctx *nh_ctx_background(void);

/* Children. parent NULL means background. Return 0 or NH_ENOMEM. */
NH_API int nh_ctx_with_cancel(nh_ctx *parent, nh_ctx **out);
NH_API int nh_ctx_with_deadline(nh_ctx *parent, nh_time deadline, nh_ctx **out);
NH_API int nh_ctx_with_timeout(nh_ctx *parent, nh_dur timeout, nh_ctx **out);
NH_API int nh_ctx_with_value(nh_ctx *parent, const void *key, void *value, nh_ctx **out);

/* nh_ctx_cancel cancels ctx and its descendants; idempotent; any thread. */
NH_API void nh_ctx_cancel(nh_ctx *ctx);

/* nh_ctx_free cancels ctx and drops the caller's reference. NULL is a no-op. */
NH_API void nh_ctx_free(nh_ctx *ctx);

/* nh_ctx_err: 0 while live, NH_ECANCELED once cancelled, NH_ETIMEDOUT once
 * its deadline passed. */
NH_API int nh_ctx_err(nh_ctx *ctx);

/* nh_ctx_deadline: the effective deadline, NH_NO_DEADLINE if none. */
NH_API nh_time nh_ctx_deadline(nh_ctx *ctx);

/* nh_ctx_value looks key up from ctx towards the root; NULL if absent. */
NH_API void *nh_ctx_value(nh_ctx *ctx, const void *key);

/* nh_ctx_wait parks the fiber (or blocks the thread) until ctx is done and
 * returns nh_ctx_err(ctx). */
NH_API int nh_ctx_wait(nh_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
