/* nethttp/offload.h — run truly blocking work off the loops.
 *
 * A blocking database driver or a CPU-heavy call would stall every fiber of
 * its loop. nh_offload runs it on a small thread pool while the calling fiber
 * parks, then resumes the fiber with the result. */
#ifndef NETHTTP_OFFLOAD_H
#define NETHTTP_OFFLOAD_H

#include "nethttp/export.h"
#include "nethttp/ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*nh_offload_fn)(void *arg);

/* nh_offload runs fn(arg) on the runtime's offload pool and returns its
 * result. If ctx (NULL = the fiber's context) ends first, it returns
 * NH_ECANCELED or NH_ETIMEDOUT at once; fn is then skipped if it had not
 * started, or left to finish on its thread with its result discarded, so
 * arg must stay valid until fn returns. Off-fiber, fn runs on the caller's
 * thread. Returns NH_ENOMEM if the job could not be queued. */
NH_API int nh_offload(nh_ctx *ctx, nh_offload_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
