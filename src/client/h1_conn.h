/* HTTP/1.1 on a client connection: the state behind nh__h1_cconn_ops,
 * shared by the files that implement them (conn.c: the head on the wire
 * and the reads; send.c: the body; h1_ops.c: the exchange and the table).
 *
 * HTTP/1 carries one exchange at a time, so the one stream lives in the
 * connection's state: starting a request costs no allocation. */
#ifndef NH_CLIENT_H1_CONN_H
#define NH_CLIENT_H1_CONN_H

#include "http1/h1_response.h"
#include "internal.h"

typedef struct nh__h1c {
  nh__cstream s;        /* the exchange in flight */
  nh__h1_response in;   /* the response being read */
  int in_flight;        /* s is started and not closed */
  int head_ready;       /* the final head was read while the body was sent */
  int head_request;     /* the request is HEAD: no body follows the answer */
} nh__h1c;

static inline nh__h1c *nh__h1c_of(const nh__cconn *c) { return (nh__h1c *)c->proto; }

/* conn.c */
/* Sends the request head; s->sent_any tells whether a byte of it reached
 * the socket (a failure before that may be retried). */
int nh__h1c_send_head(nh__cconn *c, nh_client_request *req, nh_time deadline);
/* One read into the response buffer: 0, NH_EEOF, or an error. */
int nh__h1c_fill(nh__cconn *c, nh__h1_response *in, nh_time deadline);
/* Reads a response head, skipping 1xx (but returning a 100 if asked); a
 * head begun earlier is carried on. */
int nh__h1c_read_head(nh__cconn *c, int stop_at_100, nh_time deadline);
/* Without waiting: reads what has arrived and parses it as the response
 * head (1xx skipped). 1: a final head is complete; 0: not yet (all input
 * so far consumed); or an error (NH_ECONNRESET if the server closed). */
int nh__h1c_poll_head(nh__cconn *c);
/* One read of body bytes: count, 0 at the end, or an error. */
ssize_t nh__h1c_read_body(nh__cconn *c, void *out, size_t cap, nh_time deadline);

/* send.c: the request body. With watch, the answer is looked for while
 * the socket is full: NH__EARLY_ANSWER when a final answer came first (its
 * head is parsed; the rest of the body was not sent). Else NH_OK once it
 * is all sent, or an error (of the body's source, or of the connection). */
#define NH__EARLY_ANSWER 1
int nh__h1c_send_body(nh__cconn *c, nh_client_request *req, int watch, nh_time deadline);

#endif
