/* Panic recovery (the guide's pattern 2). The handler runs on a child
 * fiber: nh_panic ends that fiber only, and this wrapper, still alive on
 * the connection's fiber, answers for it. */
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

#include "server/hooks.h"
#include "wrap.h"

typedef struct recover_wrap {
  nh__wrap base;
  nh_logger *log;
  _Atomic int64_t panics;
} recover_wrap;

/* Headers that describe the body the handler meant to send: the 500 has a
 * body of its own. */
static int describes_body(const char *key) {
  static const char *const names[] = {"Etag", "Last-Modified", "Transfer-Encoding", "Trailer",
                                      "Accept-Ranges"};
  if (!strncasecmp(key, "Content-", 8))
    return 1;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcasecmp(key, names[i]))
      return 1;
  return 0;
}

/* Answer 500 in place of what the handler had not sent, keeping the
 * headers set before the panic (a request ID, CORS, cookies) except those
 * about its body. The strings stay in the request's memory after reset. */
static void answer_500(nh_response_writer *w, nh_request *r) {
  nh_header *h = nh_resp_header(w);
  size_t n = nh_header_len(h), k = 0;
  const char **kept = n ? nh_request_alloc(r, 2 * n * sizeof *kept) : NULL;
  for (size_t i = 0; kept && i < n; i++) {
    const char *key, *value;
    if (nh_header_at(h, i, &key, &value) == NH_OK && !describes_body(key)) {
      kept[k++] = key;
      kept[k++] = value;
    }
  }
  if (nh_resp_reset(w) != NH_OK) {
    nh__resp_abort(w);
    return;
  }
  for (size_t i = 0; i < k; i += 2)
    nh_header_add(h, kept[i], kept[i + 1]);
  nh_error(w, "Internal Server Error", 500);
}

static void recover_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  recover_wrap *x = (recover_wrap *)self;
  nh_ctx *user_ctx = nh__request_user_ctx(r);
  nh__child *c = nh__child_start(x->base.next, w, r, NULL);
  if (!c) { /* no fiber (the recorder) or no memory: unprotected */
    nh_handler_serve(x->base.next, w, r);
    return;
  }
  uint64_t fiber = 0;
  if (nh__child_finish(c, &fiber))
    return;
  atomic_fetch_add_explicit(&x->panics, 1, memory_order_relaxed);
  nh__request_restore_user_ctx(r, user_ctx); /* a context it set may be gone with it */
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
  if (!committed)
    answer_500(w, r);
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
