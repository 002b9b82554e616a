/* One request/response exchange, whatever protocol carries it: the
 * request, the response writer, the request's memory and context, the
 * body and write state, and the protocol's state (proto), reached through
 * its table of operations (util/proto_ops.h). request.c and response.c
 * keep Go's semantics here and call only those operations; the protocol
 * (src/http1/, the recorder in src/httptest/) sets an exchange up with
 * nh__exchange_begin and ends it with nh__exchange_end. */
#ifndef NH_SERVER_EXCHANGE_H
#define NH_SERVER_EXCHANGE_H

#include "nethttp/server.h"
#include "runtime/internal.h"
#include "util/arena.h"
#include "util/bufpool.h"
#include "util/dynbuf.h"
#include "util/header_internal.h"
#include "util/proto_ops.h"
#include "metrics.h"

#define NH__REQ_MAGIC 0x52455131u  /* "REQ1" while the handler may use it */
#define NH__RESP_MAGIC 0x52535031u /* "RSP1" */
#define NH__DEAD_MAGIC 0xdeadbeefu

typedef struct nh__exchange nh__exchange;

/* Slots for per-request state of the server's own optional layers (forms,
 * cookies, query values), made on first use. Layers above the server use
 * keyed slots (hooks.h). */
enum { NH__EXT_FORM, NH__EXT_COOKIES, NH__EXT_QUERY, NH__EXT_COUNT };
/* Keyed slots a request offers the layers above the server. */
#define NH__EXT_KEYED 4

struct nh_request {
  uint32_t magic;
  nh__exchange *s;
  const char *method, *target, *path, *query, *host, *proto;
  int major, minor;
  nh_header header;
  nh_header *trailer;
  int64_t content_length;
  const char *transfer_encoding;
  nh_ctx *ctx;
  nh_ctx *user_ctx; /* set by nh_request_set_ctx (borrowed), else NULL */
  void *handler_data; /* the running nh_handler's data */
  int has_handler_data;
  /* Set by a mux: the pattern that matched and its wildcard values. */
  const char *pattern;
  struct nh__path_value *path_values;
  int npath_values, path_values_cap;
  struct nh__on_end *on_end; /* run when the request ends, newest first */
  int64_t body_limit;        /* nh_request_limit_body; -1 none */
  int64_t body_consumed;     /* body bytes handed to the handler */
  int body_limit_hit;
  void *ext[NH__EXT_COUNT];
  struct {
    const void *key;
    void *value;
  } keyed[NH__EXT_KEYED];
};

struct nh_response_writer {
  uint32_t magic;
  nh__exchange *s;
  nh_header header;
  int status;        /* chosen (WriteHeader or implicit 200); 0 before */
  int committed;     /* the head was handed to the protocol */
  int close_after;   /* the exchange wants no further request on the connection */
  int no_body;       /* 1xx, 204, 304 */
  int head_request;
  int failed;        /* a write failed: the connection must close */
  int hijacked;
  int64_t declared_length; /* Content-Length set by the handler, -1 none */
  int64_t written;         /* body bytes accepted from the handler */
  uint32_t header_version; /* header map version at WriteHeader */
  const char *wh_file;     /* where WriteHeader was called */
  const char *sniffed_type; /* a file body's sniffed type, sent if none was set */
  int wh_line;
  char *body;   /* buffered body bytes not yet sent */
  size_t blen, bcap;
  /* Holding the response back (nh_resp_buffer, or a detached writer). */
  size_t buffer_max; /* nh_resp_buffer: body bytes held before committing; 0 off */
  int own_body;      /* body is this writer's malloc'd buffer, freed at request end */
  int detached;      /* never sends: its owner copies the result (TimeoutHandler) */
  int fail_err;      /* a detached writer whose owner gave up: calls fail with it */
  nh__dynbuf *held;  /* own_body: the buffer body points into (request memory) */
  /* A filter between the handler and this writer (hooks.h), and whether
   * the call running now came from it. */
  const struct nh__resp_filter *filter;
  void *filter_st;
  int in_filter;
};

/* Who runs exchanges: what the request and writer need from outside,
 * shared by every exchange of a loop (or a recorder). */
typedef struct nh__exchange_env {
  nh_logger *log;
  void *handler_data;    /* nh_request_handler_data's default */
  nh_loop *loop;         /* the serving loop (its clock), or NULL */
  nh__bufpool *wbufs;    /* response body buffers of NH__WRITE_BUF bytes */
  nh_dur write_timeout;
  nh__req_metrics *metrics; /* the loop's request figures; NULL: none kept */
} nh__exchange_env;

struct nh__exchange {
  nh__proto *proto;
  const nh__exchange_env *env;
  const char *remote;   /* the client's address */
  struct nh__sconn *conn; /* the server connection (NULL: a recorder) */
  nh_ctx *conn_ctx;     /* the parent of the request's context (NULL: none) */
  nh_ctx **req_ctx_out; /* told the request's context, so a close can cancel
                           it (may be NULL) */
  int body_error; /* a read of it failed: the error */
  int rm_method;  /* metered: its method's index (metrics.h); -1: not */
  nh_time rm_t0;  /* when it began, if metered */
  char *wbuf;     /* body buffer for the response */
  size_t wcap;
  /* Below: set up by nh__exchange_init, not zeroed per request. */
  nh__arena arena;
  char arena_first[1024];
  nh_request req;
  nh_response_writer resp;
};

#define NH__WRITE_BUF 16384 /* a response body buffer */

/* How an exchange ended. */
enum { NH__X_CLOSE, NH__X_KEEP, NH__X_HIJACKED };

/* exchange.c */
/* Ready x for exchanges over proto, for env (both outlive x); the caller
 * sets remote, conn_ctx and req_ctx_out. */
void nh__exchange_init(nh__exchange *x, nh__proto *proto, const nh__exchange_env *env);
/* Build the request from head and ready the writer. Returns 0, or the
 * HTTP status to refuse the request with (no exchange then). */
int nh__exchange_begin(nh__exchange *x, const nh__req_head *head);
/* After the handler: complete the response, ask the protocol whether the
 * connection may carry another request (NH__X_KEEP) or not (NH__X_CLOSE;
 * NH__X_HIJACKED if the handler took it), end the request (its on_end
 * callbacks, its context, its memory). Parks. */
int nh__exchange_end(nh__exchange *x);
/* Count the exchange in its loop's request figures (metrics.h) as ended
 * with status, unless it is not metered or was counted already. For an
 * exchange that ends without nh__exchange_end or _panicked. */
void nh__exchange_meter_end(nh__exchange *x, int status);
/* The handler panicked: a 500 if nothing was sent, then the request ends.
 * The connection must close. */
void nh__exchange_panicked(nh__exchange *x);
/* Free what x holds (its memory, its write buffer). */
void nh__exchange_dispose(nh__exchange *x);

/* A deadline d from now, on the loop's clock when there is a loop. */
static inline nh_time nh__exchange_deadline(const nh__exchange *x, nh_dur d) {
  return x->env->loop ? nh__loop_deadline(x->env->loop, d) : nh_deadline_after(d);
}

/* Zero a request or response writer but for its header map: the map's
 * inline entries are most of the struct, nh__header_init sets up the rest,
 * and this runs for every request. */
#define NH__ZERO_BUT_HEADER(p, type)                                                           \
  do {                                                                                         \
    size_t hdr_at_ = offsetof(type, header), hdr_end_ = hdr_at_ + sizeof(nh_header);           \
    memset((p), 0, hdr_at_);                                                                   \
    memset((char *)(p) + hdr_end_, 0, sizeof(type) - hdr_end_);                                \
  } while (0)

/* request.c */
/* Build x's request from a protocol's head. Returns 0 or an HTTP status. */
int nh__request_build(nh__exchange *x, const nh__req_head *head);
/* Reads the whole body, at most cap bytes (NH_EBODYTOOLARGE beyond), into
 * a malloc'd buffer. */
int nh__request_read_all(nh_request *r, size_t cap, char **out, size_t *len);
/* The request is over: run its nh_request_on_end callbacks. */
void nh__request_end(nh_request *r);

/* response.c: a writer still in use (else the misuse is logged). */
int nh__resp_alive(const nh_response_writer *w, const char *what, const char *file, int line);
void nh__resp_init(nh__exchange *x, nh_response_writer *w);
/* After the handler: send whatever is left and the end of the body.
 * Returns 0, or an error (the connection must close). */
int nh__resp_finish(nh_response_writer *w);
/* response_trailer.c: trailers. Whether w declares any: a Trailer field
 * in its head, or "Trailer:" keys (*prefixed: some in the head's map). */
int nh__resp_declares_trailers(nh_response_writer *w, int *prefixed);
/* w's header map without its "Trailer:" keys, for the head (request
 * memory); NULL: no memory. */
const nh_header *nh__resp_head_fields(nh_response_writer *w);
/* The trailers to send at the end of the body, in request memory, or
 * NULL for none. */
nh_header *nh__resp_trailers(nh_response_writer *w);
/* response_held.c: holding a response back. */
int nh__resp_holding(const nh_response_writer *w);
/* The handler's call goes to the writer's filter (hooks.h) first. */
static inline int nh__resp_filtered(const nh_response_writer *w) {
  return w->filter && !w->in_filter;
}
void nh__resp_settle_held(nh_response_writer *w);
int nh__resp_hold_room(nh_response_writer *w, size_t need);
int nh__resp_sendfile_held(nh_response_writer *w, int fd, off_t offset, size_t len);

#include "hooks.h"

#endif
