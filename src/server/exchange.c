/* An exchange's life, the same over every protocol: begin (the request
 * built from the protocol's head, the writer readied), the handler (the
 * caller runs it), end (the response completed, the protocol asked whether
 * its connection goes on, the request's callbacks, context and memory
 * released). */
#include "exchange.h"

#include <string.h>

void nh__exchange_init(nh__exchange *x, nh__proto *proto, const nh__exchange_env *env) {
  memset(x, 0, offsetof(nh__exchange, arena));
  x->proto = proto;
  x->env = env;
  proto->arena = &x->arena;
  proto->req_fields = &x->req.header;
  nh__arena_init(&x->arena, x->arena_first, sizeof x->arena_first);
  x->req.magic = x->resp.magic = 0; /* no exchange yet (see panicked) */
  x->rm_method = -1;
}

int nh__exchange_begin(nh__exchange *x, const nh__req_head *head) {
  x->proto->trailer = NULL;
  x->proto->resp_trailer = NULL;
  int st = nh__request_build(x, head);
  if (st) {
    x->req.magic = NH__DEAD_MAGIC;
    return st;
  }
  nh__resp_init(x, &x->resp);
  if (x->env->metrics) {
    x->rm_method = nh__rm_method_index(x->req.method);
    x->rm_t0 = nh_now();
    nh__rm_begin(x->env->metrics, x->rm_method);
  }
  return 0;
}

void nh__exchange_meter_end(nh__exchange *x, int status) {
  if (x->rm_method < 0)
    return;
  nh__rm_end(x->env->metrics, x->rm_method, &x->req, status, nh_now() - x->rm_t0);
  x->rm_method = -1;
}

/* The request's context ends with its handler (Go). */
static void end_ctx(nh__exchange *x) {
  nh_request *r = &x->req;
  nh_fiber_set_ctx(NULL);
  if (x->req_ctx_out)
    *x->req_ctx_out = NULL;
  if (r->ctx)
    nh_ctx_free(r->ctx);
  r->ctx = NULL;
}

int nh__exchange_end(nh__exchange *x) {
  nh_response_writer *w = &x->resp;
  int outcome = NH__X_HIJACKED;
  if (!w->hijacked) {
    int ok = nh__resp_finish(w) == NH_OK;
    outcome = x->proto->ops->finish(x->proto, ok) ? NH__X_KEEP : NH__X_CLOSE;
  }
  nh__exchange_meter_end(x, w->status ? w->status : w->hijacked ? 0 : 200);
  nh__request_end(&x->req);
  x->req.magic = NH__DEAD_MAGIC;
  w->magic = NH__DEAD_MAGIC;
  end_ctx(x);
  nh__arena_reset(&x->arena);
  return outcome;
}

void nh__exchange_panicked(nh__exchange *x) {
  nh_response_writer *w = &x->resp;
  if (w->magic == NH__RESP_MAGIC && !w->committed && !w->hijacked) {
    static const char body[] = "Internal Server Error\n";
    nh__head h = {.status = 500,
                  .content_type = "text/plain; charset=utf-8",
                  .length = sizeof body - 1,
                  .body = !w->head_request, /* HEAD: the length, no body */
                  .length_known = 1,
                  .close = 1};
    x->proto->write_deadline = nh_deadline_after(NH_SEC);
    x->proto->ops->write_head(x->proto, &h, &(struct iovec){(void *)body, sizeof body - 1}, 1,
                              1);
  }
  /* A panic answers 500 unless the head was sent. */
  nh__exchange_meter_end(x, w->magic == NH__RESP_MAGIC && w->committed ? w->status : 500);
  if (x->req.magic == NH__REQ_MAGIC) {
    nh__request_end(&x->req);
    end_ctx(x);
  }
  nh__exchange_dispose(x);
}

void nh__exchange_dispose(nh__exchange *x) {
  nh__arena_dispose(&x->arena);
  nh__bufpool_put(x->env->wbufs, x->wbuf);
  x->wbuf = NULL;
}
