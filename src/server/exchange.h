/* One request/response exchange on a connection: the state a serving fiber
 * keeps while it reads a request, runs the handler and writes the answer.
 * Shared by conn.c (the loop around it), request.c and response.c. */
#ifndef NH_SERVER_EXCHANGE_H
#define NH_SERVER_EXCHANGE_H

#include "internal.h"

#define NH__REQ_MAGIC 0x52455131u  /* "REQ1" while the handler may use it */
#define NH__RESP_MAGIC 0x52535031u /* "RSP1" */
#define NH__DEAD_MAGIC 0xdeadbeefu

typedef struct nh__serve nh__serve;

/* Slots for per-request state of optional layers, made on first use. */
enum { NH__EXT_FORM, NH__EXT_COOKIES, NH__EXT_QUERY, NH__EXT_LOGGER, NH__EXT_REQUEST_ID,
       NH__EXT_COUNT };

struct nh_request {
  uint32_t magic;
  nh__serve *s;
  const char *method, *target, *path, *query, *host, *proto;
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
  /* State of optional layers (forms, cookies, ...), keyed by NH__EXT_*. */
  void *ext[NH__EXT_COUNT];
};

struct nh_response_writer {
  uint32_t magic;
  nh__serve *s;
  nh_header header;
  int status;        /* chosen (WriteHeader or implicit 200); 0 before */
  int committed;     /* status line and headers are on the wire */
  int chunked;       /* body framed with chunked encoding */
  int close_after;   /* framing forces the connection to close */
  int no_body;       /* HEAD, 1xx, 204, 304 */
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
  nh_time write_deadline;
  /* Holding the response back (nh_resp_buffer, or a detached writer). */
  size_t buffer_max; /* nh_resp_buffer: body bytes held before committing; 0 off */
  int own_body;      /* body is this writer's malloc'd buffer, freed at request end */
  int detached;      /* never sends: its owner copies the result (TimeoutHandler) */
  int fail_err;      /* a detached writer whose owner gave up: calls fail with it */
};

struct nh__serve {
  nh__conn *c;
  nh__srv_loop *sl;
  nh_server *srv;
  char *buf; /* read buffer: [0, head_end) the current head, then body and
                pipelined bytes up to len; pos = next unparsed byte */
  size_t cap, len, pos, head_end;
  int short_read; /* the last read did not fill the buffer: socket drained */
  nh__h1_field *fields;
  nh_time header_deadline, read_deadline;
  int continue_sent;
  int body_done;
  int body_error;
  char *wbuf; /* body buffer for the response */
  size_t wcap;
  struct nh__wire *rec; /* recorder: bytes go here instead of a socket */
  char *retired; /* the first read buffer, kept while the request's strings
                    point into it after the body needed a bigger one */
  size_t retired_cap;
  /* Below: set up by their own init functions, not zeroed per request. */
  nh__h1_req parser;
  nh__arena arena;
  char arena_first[1024];
  nh_request req;
  nh_response_writer resp;
};

/* A deadline d from now, on the loop's clock when there is a loop (a
 * recorder has none). */
static inline nh_time nh__serve_deadline(const nh__serve *s, nh_dur d) {
  return s->sl->loop ? nh__loop_deadline(s->sl->loop, d) : nh_deadline_after(d);
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

/* Zero the part of a serve state that needs it (the rest has init calls). */
#define NH__SERVE_ZERO(s) memset((s), 0, offsetof(nh__serve, parser))

/* A growable byte buffer the recorder writes to. */
typedef struct nh__wire {
  char *p;
  size_t len, cap;
} nh__wire;
int nh__wire_append(nh__wire *w, const void *data, size_t n);

/* conn.c: end of a request's use of a retired buffer. */
void nh__serve_release_retired(nh__serve *s);
/* conn.c: the handler took the connection: socket fd, or the TLS stream tls
 * over it (NULL for a plain one). The calling fiber owns it (nh__owned). */
void nh__conn_hijacked(nh__conn *c, int fd, nh_tls_conn *tls);

/* request.c */
int nh__request_build(nh__serve *s);
/* Reads the whole body, at most cap bytes (NH_EBODYTOOLARGE beyond), into
 * a malloc'd buffer. */
int nh__request_read_all(nh_request *r, size_t cap, char **out, size_t *len);
/* The request is over: run its nh_request_on_end callbacks. */
void nh__request_end(nh_request *r);
/* Reads and discards what is left of the body, up to limit bytes of
 * input. Returns 1 if the body was consumed to its end, 0 if not. */
int nh__request_drain(nh__serve *s, size_t limit);

/* response.c: a writer still in use (else the misuse is logged). */
int nh__resp_alive(const nh_response_writer *w, const char *what, const char *file, int line);
/* response_held.c: holding a response back. */
int nh__resp_holding(const nh_response_writer *w);
void nh__resp_settle_held(nh_response_writer *w);
int nh__resp_hold_room(nh_response_writer *w, size_t need);
int nh__resp_sendfile_held(nh_response_writer *w, int fd, off_t offset, size_t len);
/* response.c */
void nh__resp_init(nh__serve *s, nh_response_writer *w);
/* After the handler: send whatever is left and the end of the body.
 * Returns 0, or an error (the connection must close). */
int nh__resp_finish(nh_response_writer *w);
/* The server's own answer to a request it refused (400, 408, 413, 431, 501,
 * 505): short text body, Connection: close; the head alone (with the
 * body's Content-Length) if the request line was parsed as HEAD. */
void nh__resp_send_error(nh__serve *s, int status, const char *reason);
/* Whether the request in s's buffer has HEAD for its method (the method
 * read whole, even if the rest of the head was refused). */
int nh__serve_is_head(const nh__serve *s);
/* Half-close and drain briefly before closing, so the last answer is not
 * lost to a reset. */
void nh__conn_linger(nh__conn *c);
/* Send 100 Continue now. */
int nh__resp_send_continue(nh__serve *s);
/* A second writer for w's request that holds status, headers and body in
 * memory and never sends (request arena; Go's timeoutWriter). */
nh_response_writer *nh__resp_detached(nh_response_writer *w);
/* From now on, calls on detached writer d fail with err (after its owner
 * answered on its own). */
void nh__resp_detached_fail(nh_response_writer *d, int err);
/* Send what detached writer d holds through w: its headers replace w's of
 * the same name, then its status (200 if none) and its body. */
void nh__resp_detached_copy(nh_response_writer *d, nh_response_writer *w);
/* A committed response that cannot be completed: leave its body unfinished
 * and close the connection, so the client sees a truncated response. */
void nh__resp_abort(nh_response_writer *w);

#endif
