/* The access log (the guide's pattern 4), without wrapping the writer:
 * status and bytes are read from it after the handler, so flushing,
 * sendfile and hijacking work as they do without the log.
 *
 * A handler that panics never returns here. The line is then written when
 * the request ends (nh_request_on_end), after the 500 went out, whether a
 * recovery wrapper outside this one answered or the server did. */
#include <string.h>

#include "nethttp/status.h"
#include "wrap.h"

typedef struct access_wrap {
  nh__wrap base;
  nh_logger *log;
} access_wrap;

typedef struct access_entry {
  access_wrap *x;
  nh_response_writer *w;
  nh_request *r;
  const char *method, *path;
  nh_time start;
  int logged;
} access_entry;

static void access_write(access_entry *e, int panicked) {
  access_wrap *x = e->x;
  nh_response_writer *w = e->w;
  nh_request *r = e->r;
  const char *method = e->method, *path = e->path;
  e->logged = 1;
  nh_dur took = nh_now() - e->start;
  int hijacked = nh_resp_hijacked(w);
  int status = nh_resp_status(w);
  if (panicked && !nh_resp_committed(w)) /* the server's own 500 went out */
    status = NH_STATUS_INTERNAL_SERVER_ERROR;
  else if (!status && !hijacked) /* what the server will send for it */
    status = nh_request_body_limit_hit(r) && !nh_resp_written(w)
                 ? NH_STATUS_REQUEST_ENTITY_TOO_LARGE
                 : NH_STATUS_OK;
  const char *id = nh_request_id(r);
  nh_logger *lg = x->log ? x->log : nh_request_logger(r);
  nh_log_field f[11];
  size_t n = 0;
  f[n++] = NH_LSTR("method", method);
  f[n++] = NH_LSTR("path", path);
  f[n++] = NH_LINT("status", status);
  f[n++] = NH_LINT("bytes", nh_resp_written(w));
  f[n++] = NH_LDUR("duration", took);
  f[n++] = NH_LSTR("remote", nh_request_remote_addr(r));
  f[n++] = NH_LSTR("proto", nh_request_proto(r)); /* "HTTP/2.0": a static string */
  if (id && x->log) /* the request's own logger adds it by itself */
    f[n++] = NH_LSTR("request_id", id);
  if (hijacked)
    f[n++] = NH_LINT("hijacked", 1);
  if (panicked)
    f[n++] = NH_LINT("panicked", 1);
  nh_log_write(lg, NH_LOG_INFO, NULL, 0, "access", f, n);
}

static void access_at_end(void *arg) {
  access_entry *e = arg;
  if (!e->logged) /* the handler panicked */
    access_write(e, 1);
}

static void access_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  access_entry local, *e = nh_request_alloc(r, sizeof *e);
  if (!e || nh_request_on_end(r, access_at_end, e) != NH_OK)
    e = &local; /* out of memory: no line if it panics */
  *e = (access_entry){(access_wrap *)self, w, r, nh_request_method(r), nh_request_path(r),
                      nh_now(), 0};
  nh_handler_serve(e->x->base.next, w, r);
  access_write(e, 0);
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
