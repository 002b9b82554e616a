/* What layers above the server (src/handlers/) may do to a request or a
 * response writer beyond the public API, without seeing the exchange:
 * detached writers (TimeoutHandler), cutting a committed response short
 * (recovery), per-request slots keyed by an address the caller owns, and
 * the server's logger. */
#ifndef NH_SERVER_HOOKS_H
#define NH_SERVER_HOOKS_H

#include "nethttp/log.h"
#include "nethttp/server.h"

/* A second writer for w's request that holds status, headers and body in
 * memory and never sends (request memory; Go's timeoutWriter). NULL when
 * out of memory. */
nh_response_writer *nh__resp_detached(nh_response_writer *w);
/* From now on, calls on detached writer d fail with err (after its owner
 * answered on its own). */
void nh__resp_detached_fail(nh_response_writer *d, int err);
/* Send what detached writer d holds through w: its headers replace w's of
 * the same name, then its status (200 if none) and its body. */
void nh__resp_detached_copy(nh_response_writer *d, nh_response_writer *w);
/* d is done with: a handler that kept it gets an error, as after its
 * request. */
void nh__resp_detached_end(nh_response_writer *d);
/* A committed response that cannot be completed: leave its body unfinished
 * and end the connection (or stream), so the client sees it cut short. */
void nh__resp_abort(nh_response_writer *w);
/* The request's body may be in use by another fiber: the server must not
 * read it to drain it, so if it is unread the connection will not be
 * reused. */
void nh__resp_body_elsewhere(nh_response_writer *w);

/* A per-request slot for the layer that owns key (any address of its
 * own): NULL until set. Set returns NH_ENOMEM when every slot is taken. */
void *nh__request_ext_get(const nh_request *r, const void *key);
int nh__request_ext_set(nh_request *r, const void *key, void *value);
/* The logger of the server serving r (the default logger if none). */
nh_logger *nh__request_server_logger(const nh_request *r);
/* The context nh_request_set_ctx gave r (NULL if none), and putting one
 * back after the fiber that set it is gone. */
nh_ctx *nh__request_user_ctx(const nh_request *r);
void nh__request_restore_user_ctx(nh_request *r, nh_ctx *ctx);

/* A filter between a handler and its response writer (response
 * compression): while set, the handler's nh_resp_write_header (for 200 and
 * above), write, sendfile, flush and hijack go to it, and so does the
 * writer's end of the response if the filter is still set then. Calls the
 * filter makes on w go to the writer itself. nh_resp_reset calls reset and
 * removes the filter (a recoverer's 500 goes out unfiltered), as does a
 * hijack the filter allowed (hijack returned 0). */
typedef struct nh__resp_filter {
  void (*write_header)(void *st, nh_response_writer *w, int status);
  ssize_t (*write)(void *st, nh_response_writer *w, const void *p, size_t n);
  int (*sendfile)(void *st, nh_response_writer *w, int fd, off_t offset, size_t len);
  int (*flush)(void *st, nh_response_writer *w);
  int (*hijack)(void *st, nh_response_writer *w);
  void (*reset)(void *st, nh_response_writer *w);
  int (*finish)(void *st, nh_response_writer *w);
} nh__resp_filter;
/* NH_EBUSY if w has a filter already, NH_ENOTSUP once it committed or was
 * hijacked. f and st are borrowed until the filter is removed. */
int nh__resp_set_filter(nh_response_writer *w, const nh__resp_filter *f, void *st);
/* Runs the filter's finish (if one is set) and removes it: 0 or its error. */
int nh__resp_end_filter(nh_response_writer *w);

#endif
