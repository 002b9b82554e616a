/* The access log (the guide's pattern 4), without wrapping the writer:
 * status and bytes are read from it after the handler, so flushing,
 * sendfile and hijacking work as they do without the log. */
#include <string.h>

#include "nethttp/status.h"
#include "wrap.h"

typedef struct access_wrap {
  nh__wrap base;
  nh_logger *log;
} access_wrap;

static void access_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  access_wrap *x = (access_wrap *)self;
  nh_time start = nh_now();
  const char *method = nh_request_method(r), *path = nh_request_path(r);
  nh_handler_serve(x->base.next, w, r);
  nh_dur took = nh_now() - start;
  int hijacked = nh_resp_hijacked(w);
  int status = nh_resp_status(w);
  if (!status && !hijacked) /* what the server will send for it */
    status = nh_request_body_limit_hit(r) && !nh_resp_written(w)
                 ? NH_STATUS_REQUEST_ENTITY_TOO_LARGE
                 : NH_STATUS_OK;
  const char *id = nh_request_id(r);
  nh_logger *lg = x->log ? x->log : nh_request_logger(r);
  nh_log_field f[9];
  size_t n = 0;
  f[n++] = NH_LSTR("method", method);
  f[n++] = NH_LSTR("path", path);
  f[n++] = NH_LINT("status", status);
  f[n++] = NH_LINT("bytes", nh_resp_written(w));
  f[n++] = NH_LDUR("duration", took);
  f[n++] = NH_LSTR("remote", nh_request_remote_addr(r));
  if (id && x->log) /* the request's own logger adds it by itself */
    f[n++] = NH_LSTR("request_id", id);
  if (hijacked)
    f[n++] = NH_LINT("hijacked", 1);
  nh_log_write(lg, NH_LOG_INFO, NULL, 0, "access", f, n);
}

nh_handler nh_with_access_log(nh_handler next, nh_logger *lg) {
  access_wrap *x = nh__wrap_new(sizeof *x, next, access_serve, NULL);
  if (x)
    x->log = lg;
  return nh__wrap_handler(x);
}

nh_handler nh_mw_access_log(nh_handler next, const void *logger) {
  return nh_with_access_log(next, (nh_logger *)logger);
}
