/* Panic recovery (the guide's pattern 2). The handler runs on a child
 * fiber: nh_panic ends that fiber only, and this wrapper, still alive on
 * the connection's fiber, answers for it. */
#include <stdatomic.h>
#include <stdlib.h>

#include "server/exchange.h"
#include "wrap.h"

typedef struct recover_wrap {
  nh__wrap base;
  nh_logger *log;
  _Atomic int64_t panics;
} recover_wrap;

static void recover_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  recover_wrap *x = (recover_wrap *)self;
  nh_ctx *user_ctx = r->user_ctx;
  nh__child *c = nh__child_start(x->base.next, w, r, NULL);
  if (!c) { /* no fiber (the recorder) or no memory: unprotected */
    nh_handler_serve(x->base.next, w, r);
    return;
  }
  uint64_t fiber = 0;
  if (nh__child_finish(c, &fiber))
    return;
  atomic_fetch_add_explicit(&x->panics, 1, memory_order_relaxed);
  r->user_ctx = user_ctx; /* a context it set may be gone with it */
  int committed = nh_resp_committed(w), hijacked = nh_resp_hijacked(w);
  const char *id = nh_request_id(r);
  nh_logger *lg = x->log ? x->log : nh_request_logger(r);
  nh_log_field f[8];
  size_t n = 0;
  f[n++] = NH_LSTR("method", nh_request_method(r));
  f[n++] = NH_LSTR("path", nh_request_path(r));
  if (id && x->log) /* the request's own logger adds it by itself */
    f[n++] = NH_LSTR("request_id", id);
  f[n++] = NH_LINT("fiber", fiber);
  f[n++] = NH_LINT("committed", committed);
  f[n++] = NH_LINT("hijacked", hijacked);
  f[n++] = NH_LSTR("see", "the fiber's panic message and backtrace, logged just before");
  nh_log_write(lg, NH_LOG_ERROR, __FILE__, __LINE__, "handler panicked", f, n);
  if (hijacked)
    return;
  if (!committed && nh_resp_reset(w) == NH_OK)
    nh_error(w, "Internal Server Error", 500);
  else
    nh__resp_abort(w);
}

nh_handler nh_with_recover(nh_handler next, nh_logger *lg) {
  recover_wrap *x = nh__wrap_new(sizeof *x, next, recover_serve, NULL);
  if (x)
    x->log = lg;
  return nh__wrap_handler(x);
}

int64_t nh_recover_panics(nh_handler h) {
  recover_wrap *x = nh__wrap_of(h, recover_serve);
  return x ? atomic_load(&x->panics) : 0;
}

nh_handler nh_mw_recover(nh_handler next, const void *logger) {
  return nh_with_recover(next, (nh_logger *)logger);
}
