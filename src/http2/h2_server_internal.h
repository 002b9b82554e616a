/* What the files of the HTTP/2 server share: the connection and the
 * stream's private state. See h2_server.h for the whole. */
#ifndef NH_HTTP2_H2_SERVER_INTERNAL_H
#define NH_HTTP2_H2_SERVER_INTERNAL_H

#include <nghttp2/nghttp2.h>

#include "http2/h2_mem.h"
#include "http2/h2_server.h"
#include "runtime/internal.h"
#include "util/list.h"

/* A 1xx response waiting for the connection's fiber. */
typedef struct nh__h2_interim {
  struct nh__h2_interim *next;
  nghttp2_nv *nva;
  size_t nnv;
} nh__h2_interim;

/* A named field offset pair in a stream's header buffer. */
typedef struct nh__h2_field {
  uint32_t name, value; /* offsets in hbuf; NUL-terminated */
  uint32_t nlen, vlen;
} nh__h2_field;

/* Request body bytes a stream reads and drops after its complete response
 * (RFC 9113 8.1) before it resets the stream to stop the rest. */
#define NH__H2_DRAIN_MAX (64 * 1024)

typedef struct nh__h2_sstream {
  nh__h2_stream pub; /* first */
  nh__h2_conn *c;
  nh__list work_node;  /* on c->work: something for the session */
  nh__list queue_node; /* on c->queue: waiting for a handler slot */
  nh__list all_node;   /* on c->all */
  struct nh__h2_sstream *next_spare; /* on c->spare, once freed */
  int in_work, in_queue;
  int in_session;   /* nghttp2 has the stream open */
  int fiber_alive;  /* its handler fiber runs */
  int started;      /* a handler fiber was started */
  int refused;      /* REFUSED_STREAM it (opened after the final GOAWAY) */
  /* The request head. */
  char *hbuf;
  size_t hlen, hcap, hbytes; /* hbytes: the header list's size (RFC 9113 6.5.2) */
  nh__h2_field *fields;
  uint32_t nfields, fcap;
  int64_t method, path, authority, scheme, protocol; /* offsets, -1 absent */
  int too_large;
  int expect_continue;
  int end_stream_recv; /* the request body is complete */
  /* Request trailers as received: "name\0value\0" pairs, ntrail of them,
   * given to the exchange when its handler reads the body's end. */
  char *tbuf;
  size_t tlen, tcap;
  uint32_t ntrail;
  /* The request body: bytes received, not yet read by the handler. */
  char *ibuf;
  size_t ioff, ilen, icap;
  size_t consumed; /* read by the handler, not yet told to nghttp2 */
  nh__waiter rw;
  int r_parked;
  int continue_sent;
  int body_refused;
  /* The response. */
  nh__h2_interim *interim, **interim_tail;
  nghttp2_nv *nva; /* the final head, in nvmem */
  size_t nnv;
  void *nvmem; /* kept when the struct is reused */
  size_t nvmemcap;
  int head_pending; /* nva waits for nghttp2_submit_response */
  int head_given;   /* the final head was handed over */
  int has_body;     /* a data provider follows the head */
  char *obuf;
  size_t ooff, olen, ocap;
  int out_end;  /* the handler wrote its last body byte */
  nghttp2_nv *tnva; /* response trailers: sent when the body ends */
  size_t tnnv;
  int eof_sent; /* nghttp2 took the last of it */
  int deferred; /* the data provider waits for bytes */
  nh__waiter ww;
  int w_parked;
  int rst_pending;
  uint32_t rst_code;
  int closed; /* nghttp2 closed it (ended or reset) */
  uint32_t close_code;
  int panicked;
  int handler_done;
  /* The response is complete and the request is not: what the client
   * still sends is read and dropped (its window given back), up to
   * NH__H2_DRAIN_MAX bytes, then the stream is reset NO_ERROR. */
  int draining;
  size_t drained;
  char static_body[64]; /* the server's own short answers */
} nh__h2_sstream;

#define SS(p) ((nh__h2_sstream *)(p))


struct nh__h2_conn {
  const nh__h2_host *host;
  nh__stream *io;
  const char *remote;
  void *owner;
  nh_ctx *ctx;
  nh_loop *loop;
  nghttp2_session *ng;
  nh__h2_mem mem; /* ng's memory */
  nh__waiter w;
  int parked, kicked;
  nh__list work;  /* streams with work for the session */
  nh__list queue; /* streams waiting for a handler slot, oldest first */
  nh__list all;   /* every stream not yet freed */
  uint32_t nqueued, running, nstreams;
  uint32_t ndraining; /* of nstreams, those only draining a request body */
  nh__h2_sstream *spare; /* freed streams kept for reuse (nspare of them) */
  nh__h2_sstream *hs;    /* the stream whose request head is coming in */
  uint32_t nspare;
  nh_time preface_deadline;  /* 0 once the client's SETTINGS came */
  nh_time settings_deadline; /* our SETTINGS unacknowledged until; 0: acked */
  nh_time idle_since;        /* no handler running since; 0 while one runs */
  int shutdown_phase;        /* 0; 1 GOAWAY(2^31-1) and PING sent; 2 final GOAWAY */
  nh_time final_goaway_at;   /* phase 1: the final GOAWAY goes at the latest then */
  int32_t goaway_last;       /* phase 2: the last stream ID served */
  uint32_t empty_frames;
  int dead;     /* no more reading; write what is queued and end */
  int abusive;  /* ended for abuse: counted and logged once */
  char *rbuf;
  int drained; /* the last read emptied the socket (see read_input) */
  /* Output not yet taken by the socket: [woff, wlen) of wbuf. */
  char *wbuf;
  size_t woff, wlen, wcap;
  size_t wretry;     /* TLS: the length of a write that said NH_EAGAIN,
                        which must be offered again as it was */
  nh_time wstall_at; /* output waiting since; 0 when none waits */
};

/* h2_server_session.c */
/* Start s's handler fiber (it takes a handler slot). */
void nh__h2_stream_start(nh__h2_conn *c, nh__h2_sstream *s);
/* A stream struct for c, on c->all (a spare one reused, or a new one);
 * NULL when out of memory. */
nh__h2_sstream *nh__h2_stream_new(nh__h2_conn *c);
/* Free s now (off every list; kept as a spare when it can be). */
void nh__h2_stream_free(nh__h2_sstream *s);
/* The data provider that pulls s's response body. */
nghttp2_data_provider nh__h2_provider(nh__h2_sstream *s);
/* Shutdown's second step: the GOAWAY naming the last stream served. */
void nh__h2_final_goaway(nh__h2_conn *c);
/* Put s on the connection's work list and wake the connection's fiber. */
void nh__h2_stream_kick(nh__h2_sstream *s);
/* Wake the connection's fiber. */
void nh__h2_conn_wake(nh__h2_conn *c);
/* Free s if nothing holds it any more. */
void nh__h2_stream_maybe_free(nh__h2_sstream *s);
/* nghttp2's pull of response bytes for s. */
ssize_t nh__h2_data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user);

/* h2_server_io.c: the connection's output, written without parking, so
 * that the connection's fiber goes on reading while a client does not read
 * (its floods of PINGs and SETTINGS then meet nghttp2's cap on queued
 * acknowledgements). */
/* Append n bytes to the output. NH_OK or NH_ENOMEM. */
int nh__h2_out_put(nh__h2_conn *c, const void *data, size_t n);
/* Take frames from nghttp2 and write what the socket takes. NH_OK when
 * all is out, NH_EAGAIN when output waits for the socket, or an error
 * (the connection must end; its close reason is noted). */
int nh__h2_out_send(nh__h2_conn *c);
/* The connection ends: send what is queued, waiting at most a second. */
void nh__h2_out_last(nh__h2_conn *c);
/* When output that waits must have moved, or NH_NO_DEADLINE. */
nh_time nh__h2_out_deadline(const nh__h2_conn *c);

/* h2_server_recv.c */
/* The server session with its callbacks and options, into c->ng. */
int nh__h2_session_new(nh__h2_conn *c);
/* Keep a request trailer field of s. 0, or an nghttp2 error code. */
int nh__h2_trailer_field(nh__h2_conn *c, nh__h2_sstream *s, const uint8_t *name, size_t nlen,
                         const uint8_t *value, size_t vlen);

/* h2_server_stream.c */
extern const nh__proto_ops nh__h2_ops;
/* Wake the handler parked reading (rw) or writing (ww). */
void nh__h2_stream_wake_reader(nh__h2_sstream *s);
void nh__h2_stream_wake_writer(nh__h2_sstream *s);
/* The handler fiber of s: runs its exchange through the host. */
void nh__h2_stream_main(void *arg);

/* h2_server_limits.c */
/* nghttp2's options for a server session per the host's limits. */
int nh__h2_options(const nh__h2_host *h, nghttp2_option **out);
/* Send our SETTINGS and open the connection window. */
int nh__h2_settings(nh__h2_conn *c);
/* End the connection for abuse: count ev, log at DEBUG with the peer, send
 * GOAWAY with code. */
void nh__h2_abuse(nh__h2_conn *c, int ev, uint32_t code, const char *what);
/* Account for a header field of s; returns 0, or an nghttp2 error code to
 * return from the callback (the connection is being ended). */
int nh__h2_header_budget(nh__h2_conn *c, nh__h2_sstream *s, size_t nlen, size_t vlen);
/* A frame that carries nothing: 1 if it was one too many (connection ending). */
int nh__h2_empty_frame(nh__h2_conn *c);

#endif
