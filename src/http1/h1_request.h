/* HTTP/1.x request parsing: bytes in, a request head and body bytes out.
 * Responses too (nh__h1_resp_init), for the client.
 * No I/O: the server feeds it what it read, so it can be unit-tested and
 * fuzzed on its own. Built on llhttp (strict mode), plus the checks llhttp
 * leaves to its user (RFC 9112): obs-fold, header-name tokens, trailing
 * whitespace, the HTTP version, Transfer-Encoding other than chunked, Host,
 * header count and size, chunk-extension size. */
#ifndef NH_HTTP1_H1_REQUEST_H
#define NH_HTTP1_H1_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "util/arena.h"
#include "util/header_internal.h"

/* Cap on chunk-extension bytes per chunk (Go's CVE-2023-39326 class). */
#define NH__H1_MAX_CHUNK_EXT 4096
/* Chunked overhead as a whole (Go's fix for CVE-2023-39326): each chunk may
 * carry 16 bytes of size line and extensions plus twice its data; past
 * that the excess adds up, and 16 KiB of it ends the body. */
#define NH__H1_CHUNK_FREE_OVERHEAD 16
#define NH__H1_MAX_CHUNK_EXCESS (16 * 1024)
/* Cap on the trailer section of a chunked body. */
#define NH__H1_MAX_TRAILER_BYTES (64 * 1024)

typedef struct nh__h1_span {
  uint32_t off, len; /* offsets into the connection's buffer */
} nh__h1_span;

typedef struct nh__h1_field {
  nh__h1_span name, value;
} nh__h1_field;

typedef enum nh__h1_phase { NH__H1_HEAD, NH__H1_BODY, NH__H1_DONE, NH__H1_FAILED } nh__h1_phase;

typedef struct nh__h1_req {
  llhttp_t ll;
  nh__h1_phase phase;
  char *base; /* buffer the spans refer to (set before each feed) */
  /* limits */
  int max_fields;
  int canonical_names; /* requests: put each name in Go's canonical form in
                          place while checking it (set after init; kept) */
  /* head */
  int line_state; /* requests: 0 no byte yet, 1 in the request line, 2 line parsed */
  uint32_t line_start, line_scan; /* where the line starts; where to look for its LF */
  nh__h1_span method, target;
  nh__h1_field *fields; /* caller-provided array of max_fields */
  int nfields;
  int last_was_value; /* the last piece seen was a value: a name starts a field */
  int too_many_fields; /* one field more than max_fields began: 431 at its name's end */
  int major, minor;
  int64_t content_length; /* -1: none given */
  int chunked;
  int keep_alive;
  int expect_continue;
  /* body */
  char *out; /* where on_body copies (body phase) */
  size_t out_len;
  size_t ext_bytes;
  int chunk_paused;       /* llhttp stopped at a chunk's size line */
  uint64_t body_in;       /* body bytes of input consumed before this feed */
  uint64_t data_end;      /* input offset where the last chunk's data ended */
  int64_t chunk_excess;   /* overhead beyond the free allowance */
  size_t trailer_bytes;
  char last_byte;         /* the last byte of the previous body feed */
  nh_header *trailer; /* NULL: trailers are dropped */
  nh__arena *trailer_arena;
  const char *trailer_key; /* pending trailer name (copied) */
  const char *trailer_value; /* pending trailer value (copied) */
  /* responses (a client's parser, nh__h1_resp_init) */
  int is_response;
  int head_request;  /* the request was HEAD: no body follows the head */
  int status_code;   /* of the response */
  nh__h1_span reason_phrase;
  int until_close;   /* no length given: the body ends when the connection does */
  /* failure */
  int status;         /* HTTP status to answer with when FAILED */
  const char *reason; /* short static description */
} nh__h1_req;

void nh__h1_req_init(nh__h1_req *p, nh__h1_field *fields, int max_fields);
/* The same parser for responses (a client reading a server's answer).
 * Before each response, nh__h1_req_next, then set head_request if the
 * request was HEAD. A 1xx response is a head alone: parse the next head. */
void nh__h1_resp_init(nh__h1_req *p, nh__h1_field *fields, int max_fields);
/* The connection ended: completes a body that runs until close. Returns 0
 * if the message is now complete, -1 if it was cut short. */
int nh__h1_finish(nh__h1_req *p);
/* Ready for the next message on the same connection. */
void nh__h1_req_next(nh__h1_req *p);

/* Parse head bytes buf[*pos, len). Returns 0 if more input is needed (all of
 * it consumed), 1 when the head is complete (*pos just past it; spans valid
 * in buf), or -1 on error (p->status, p->reason say what to answer). */
int nh__h1_parse_head(nh__h1_req *p, char *buf, size_t *pos, size_t len);

/* Does the message have a body to read? (after the head; for a response
 * this includes a body that runs until the connection closes) */
int nh__h1_has_body(const nh__h1_req *p);

/* Decode body bytes from buf[*pos, len) into out (at most cap bytes of
 * output; at most cap bytes of input are consumed). Returns the bytes
 * produced (0 is possible, e.g. a chunk header alone), or -1 on bad framing.
 * p->phase becomes NH__H1_DONE after the last byte of the body (trailers
 * included). */
long nh__h1_parse_body(nh__h1_req *p, char *buf, size_t *pos, size_t len, char *out, size_t cap);

/* Bytes left of a body framed by Content-Length, once its head is parsed;
 * 0 for a chunked body, one that runs to the close, or none. */
uint64_t nh__h1_body_left(const nh__h1_req *p);

/* Account for n body bytes the caller read straight into body (at most
 * nh__h1_body_left of them): the parser counts them, nothing is copied.
 * Returns n, or -1 as nh__h1_parse_body. */
long nh__h1_parse_body_in_place(nh__h1_req *p, char *body, size_t n);

/* The span as a pointer into base. */
static inline char *nh__h1_at(const nh__h1_req *p, nh__h1_span s) { return p->base + s.off; }

#endif
