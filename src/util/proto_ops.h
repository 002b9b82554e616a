/* The seam between a request/response exchange and the protocol that
 * carries it (HTTP/1 on a connection, an HTTP/2 stream, the in-memory
 * recorder).
 *
 * The exchange (src/server/) keeps Go's semantics: when the head commits,
 * which headers go, whether the length is known, whether a body may follow.
 * It says *what* through this table; the protocol decides *how* (a status
 * line or a HEADERS frame, chunked or close-delimited or DATA frames, when
 * a connection can carry another request). Declared here, below both the
 * protocols and the server, so that each protocol implements it without
 * knowing the server, and the server calls it without knowing the
 * protocol. */
#ifndef NH_UTIL_PROTO_OPS_H
#define NH_UTIL_PROTO_OPS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "nethttp/time.h"
#include "util/arena.h"
#include "util/header_internal.h"

typedef struct nh__proto nh__proto;
/* A TLS stream (net layer), handed over by a hijack: only its name here. */
struct nh_tls_conn;

/* A request head as a protocol decoded it. The strings stay valid until
 * the exchange ends. */
typedef struct nh__req_head {
  char *method, *target; /* target writable: the exchange splits it */
  uint32_t method_len;
  const char *proto;     /* "HTTP/1.1", as sent */
  int major, minor;
  /* The fields, in the map the exchange gave (nh__proto.req_fields): names
   * and values NUL-terminated, the names writable so the exchange can put
   * them in canonical form where they lie. */
  nh_header *fields;
  int names_canonical;    /* the names are in canonical form already */
  int64_t content_length; /* -1: unknown until the body ends */
  const char *transfer_encoding; /* as Go's Request.TransferEncoding: the
                                    coding that framed the body, or NULL */
  int has_body;           /* body bytes follow the head */
} nh__req_head;

/* A response head, as the exchange decided it. */
typedef struct nh__head {
  int status;
  const nh_header *fields;  /* sent as they are, but for Transfer-Encoding
                               (framing is the protocol's) and, with
                               drop_length, Content-Length */
  const char *date;         /* a Date to add (fields have none; an
                               IMF-fixdate of NH_HTTP_DATE_LEN), or NULL */
  const char *content_type; /* a Content-Type to add, or NULL */
  int64_t length;           /* a Content-Length to add, -1 for none */
  int drop_length;          /* the fields' Content-Length stays off the wire */
  int body;                 /* body bytes may follow the head (not HEAD,
                               1xx, 204, 304): the protocol frames them */
  int length_known;         /* the body's length is stated (length above or
                               the fields' Content-Length): no framing */
  int close;                /* the exchange wants no further request on the
                               connection (a length it could not keep...) */
  int trailers;             /* the response declares trailers (a Trailer
                               field, or "Trailer:" keys, kept out of
                               fields): frame the body so they can follow
                               it (HTTP/1.1: chunked, length left out as
                               Go does, unless the fields state one) */
} nh__head;

typedef struct nh__proto_ops {
  /* Body bytes into buf: a count, 0 at the end of the body, or an error
   * (NH_EBADREQUEST for bad framing). Parks. */
  ssize_t (*read_body)(nh__proto *p, void *buf, size_t cap);
  /* Commit the head, with the first body bytes (body, nbody: may be 0) in
   * the same write where the protocol can. end: nothing follows but
   * resp_trailer (as for write_data). Parks. */
  int (*write_head)(nh__proto *p, const nh__head *h, const struct iovec *body, int nbody,
                    int end);
  /* Body bytes after the head; end: this is the last of them (an empty
   * iov array with end completes the body), and resp_trailer follows
   * them if the framing can carry it. Parks. */
  int (*write_data)(nh__proto *p, const struct iovec *iov, int n, int end);
  /* A file's bytes as body (after the head); NULL: the exchange reads the
   * file and uses write_data. Parks. */
  int (*sendfile)(nh__proto *p, int fd, off_t offset, size_t len);
  /* Hold small writes back until cork(p, 0), so a head goes with the
   * bytes that follow it (NULL: nothing to do). */
  void (*cork)(nh__proto *p, int on);
  /* An interim response (100 Continue, 103 Early Hints) with fields. */
  int (*send_1xx)(nh__proto *p, int status, const nh_header *fields);
  /* The exchange will read no more of the request body (a cap on it was
   * hit): the protocol must not wait for the rest, nor drain it. */
  void (*refuse_body)(nh__proto *p);
  /* Push out what the protocol holds back. */
  int (*flush)(nh__proto *p);
  /* The handler is done and the body complete (ok: the exchange ended
   * cleanly). Returns 1 if the connection can carry another request. */
  int (*finish)(nh__proto *p, int ok);
  /* The response was committed and cannot be completed: make the client
   * see it cut short (close the connection, reset the stream). */
  void (*abort)(nh__proto *p);
  /* Hand the connection to the handler: plain (tls NULL) or TLS. buffered:
   * a malloc'd copy of bytes read past the request, if not NULL. Returns
   * NH_ENOTSUP where there is no connection to take. */
  int (*hijack)(nh__proto *p, int want_tls, int *fd, struct nh_tls_conn **tls,
                char **buffered, size_t *nbuffered);
} nh__proto_ops;

/* What every protocol's per-exchange state starts with. */
struct nh__proto {
  const nh__proto_ops *ops;
  nh_time read_deadline, write_deadline; /* the handler may move them */
  nh__arena *arena;   /* the exchange's memory, for heads */
  nh_header *trailer; /* where request trailers go (the exchange's), or NULL */
  const nh_header *resp_trailer; /* the response's trailers (the exchange's,
                                    names canonical and allowed in a
                                    trailer), set before the write that
                                    ends the body; NULL: none */
  int body_done;      /* the protocol read the request body to its end (or
                         there is none): set with the last bytes, before
                         a read says 0 */
  nh_header *req_fields; /* where a request head's fields go (the
                            exchange's): the protocol inits and fills it */
};

#endif
