/* What every handler wrapper made in src/handlers/ shares: one entry
 * function (so nh_handler_free can tell a wrapper from a user's handler
 * safely) and a state block that starts with this header. */
#ifndef NH_HANDLERS_WRAP_H
#define NH_HANDLERS_WRAP_H

#include "nethttp/errors.h"
#include "nethttp/handlers.h"
#include "nethttp/middleware.h"

typedef struct nh__wrap nh__wrap;
struct nh__wrap {
  void (*serve)(nh__wrap *self, nh_response_writer *w, nh_request *r);
  void (*release)(nh__wrap *self); /* frees what the wrapper owns besides itself */
  nh_handler next;
};

/* Allocate a wrapper state of size bytes (zeroed, header filled in) and the
 * handler that runs it. NULL when out of memory. */
void *nh__wrap_new(size_t size, nh_handler next,
                   void (*serve)(nh__wrap *self, nh_response_writer *w, nh_request *r),
                   void (*release)(nh__wrap *self));
nh_handler nh__wrap_handler(void *state);
/* The state behind h if h is a wrapper whose entry is serve, else NULL. */
void *nh__wrap_of(nh_handler h, void (*serve)(nh__wrap *, nh_response_writer *, nh_request *));

/* A handler run on a child fiber of the calling one (the recoverer, the
 * timeout handler): a panic there ends that fiber only, and its parent can
 * stop waiting at a deadline. nh__child_start starts h under ctx (NULL: the
 * caller's context); NULL if no fiber could be started (h did not run). */
typedef struct nh__child nh__child;
nh__child *nh__child_start(nh_handler h, nh_response_writer *w, nh_request *r, nh_ctx *ctx);
/* Wait until the child returns or deadline passes / the caller's context
 * ends: 0 when it returned (or panicked), else NH_ETIMEDOUT / NH_ECANCELED. */
int nh__child_wait(nh__child *c, nh_time deadline);
/* Wait for the child's end regardless of contexts, then free it. Returns 1
 * if the handler returned normally, 0 if it panicked; *fiber (if not NULL)
 * is the child fiber's id, to find its panic report. */
int nh__child_finish(nh__child *c, uint64_t *fiber);

#endif
