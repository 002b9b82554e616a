/* An HTTP/1.x response as a client reads it: bytes in, a head and body
 * bytes out (RFC 9112). No I/O: the caller reads into the room this gives
 * (nh__h1_response_room), says how much came (nh__h1_response_fed), and asks for
 * the head or body again. Built on the llhttp parser of h1_request.h.
 *
 * The head: 1xx interim answers are skipped (a 100 is returned when the
 * caller waits for one); the head may not grow past max_head bytes. The
 * body: framed by Content-Length, chunked (trailers into a header map), or
 * running until the connection closes (nh__h1_response_eof ends it). */
#ifndef NH_HTTP1_H1_RESPONSE_H
#define NH_HTTP1_H1_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "http1/h1_request.h"
#include "nethttp/header.h"
#include "util/arena.h"

#define NH__H1_RESPONSE_BUF 16384       /* the input buffer's first size */
#define NH__H1_RESPONSE_MAX_FIELDS 256 /* header fields kept per head */

typedef struct nh__h1_response {
  nh__h1_req parser;
  char *buf; /* input: [pos, len) not yet parsed */
  size_t cap, len, pos;
  size_t max_head;  /* head bytes allowed (the client's max_response_header_bytes) */
  int head_open;    /* a head is being parsed (begun at head_start) */
  size_t head_start;
  nh__arena arena;  /* the trailers' strings */
  nh__h1_field fields[NH__H1_RESPONSE_MAX_FIELDS];
} nh__h1_response;

/* Sets r up with its input buffer: 0 or NH_ENOMEM. */
int nh__h1_response_init(nh__h1_response *r, size_t max_head);
void nh__h1_response_dispose(nh__h1_response *r);
/* Between two exchanges: the buffer emptied, the trailers' memory reused. */
void nh__h1_response_idle(nh__h1_response *r);

/* Room for more input: *at and *n to read into. Input all consumed by a
 * body starts the buffer over; a head that does not fit grows it, up to
 * max_head (then NH_EBADRESPONSE). 0 or an error. */
int nh__h1_response_room(nh__h1_response *r, char **at, size_t *n);
/* n bytes were read into the room. */
static inline void nh__h1_response_fed(nh__h1_response *r, size_t n) { r->len += n; }
/* Input bytes buffered and not parsed yet. */
static inline int nh__h1_response_buffered(const nh__h1_response *r) { return r->pos < r->len; }
/* Bytes of the head being parsed (0: no byte of a response came yet). */
static inline size_t nh__h1_response_head_bytes(const nh__h1_response *r) { return r->len - r->head_start; }

/* Parses the buffered bytes as the response head, carrying on with a head
 * begun earlier; 1xx heads are skipped, a 100 returned if stop_at_100.
 * head_request: the request was HEAD (no body follows). 1: a head is
 * complete; 0: more bytes are needed; or NH_EBADRESPONSE. */
int nh__h1_response_head(nh__h1_response *r, int head_request, int stop_at_100);

/* The head just parsed. */
static inline int nh__h1_response_status(const nh__h1_response *r) { return r->parser.status_code; }
/* "HTTP/1.1" into out (at least 12 bytes). */
void nh__h1_response_proto(const nh__h1_response *r, char *out);
/* Adds the head's fields to h (strings copied: the buffer is reused);
 * invalid values are dropped. 0 or NH_ENOMEM. */
int nh__h1_response_fields(const nh__h1_response *r, nh_header *h);
/* The body's length: -1 when chunked or until the close; for a HEAD
 * request, what a GET would have had. */
int64_t nh__h1_response_content_length(const nh__h1_response *r);
/* The connection may carry another exchange after this one. */
static inline int nh__h1_response_keep_alive(const nh__h1_response *r) { return r->parser.keep_alive; }
/* A body follows the head (it may run until the close). */
static inline int nh__h1_response_has_body(const nh__h1_response *r) { return nh__h1_has_body(&r->parser); }
static inline int nh__h1_response_chunked(const nh__h1_response *r) { return r->parser.chunked; }
/* Trailers of a chunked body go to t (strings in r's arena); NULL drops them. */
void nh__h1_response_set_trailer(nh__h1_response *r, nh_header *t);

/* Decodes buffered body bytes into out: the count (> 0), 0 at the end of
 * the body, NH_EAGAIN when more input is needed (all of it consumed), or
 * NH_EBADRESPONSE on bad framing. */
long nh__h1_response_body(nh__h1_response *r, char *out, size_t cap);
/* The input ended: 0 if that completes a body running until the close,
 * NH_ECONNRESET if the body was cut short. */
int nh__h1_response_eof(nh__h1_response *r);

#endif
