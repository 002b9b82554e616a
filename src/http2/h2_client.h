/* HTTP/2 as a client speaks it (RFC 9113), on nghttp2: one connection
 * (nh__h2c) carrying many streams (nh__h2s) for callers on any loop or
 * plain thread at once. No knowledge of the client's pool or requests:
 * the connection is given the socket's reads and writes (nh__h2c_io) and
 * its settings (nh__h2c_config); a stream is given its pseudo-header
 * values, a header map and its body in pieces.
 *
 * Who does what (h2_client_io.c has the details): one I/O fiber (on the
 * loop that dialed) or I/O thread (dialed from a plain thread) per
 * connection owns the socket (and its TLS) and alone reads and writes it;
 * callers submit streams and read their responses under the session's
 * lock (an nh_mutex, fair to fibers and threads) and wait on their
 * stream's semaphore, which the I/O side posts. */
#ifndef NH_HTTP2_H2_CLIENT_H
#define NH_HTTP2_H2_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nethttp/header.h"
#include "nethttp/time.h"

/* The socket as the connection uses it, from its I/O thread only. */
typedef struct nh__h2c_io {
  void *arg;
  /* One attempt each: a count, NH_EAGAIN, 0 at EOF (read), or an error.
   * try_write writes all or NH_EAGAIN, after which the same bytes are
   * offered again (OpenSSL's rule: a plain socket may write part). */
  ssize_t (*try_read)(void *arg, void *buf, size_t n);
  ssize_t (*try_write)(void *arg, const void *buf, size_t n);
  /* Bytes already decrypted and buffered above the socket (TLS), or NULL. */
  int (*pending)(void *arg);
  int fd; /* the raw descriptor, polled for readiness */
  /* The descriptor on the dialing loop when the dialer is a fiber: the
   * connection's I/O then runs as a fiber of that loop (fd unused).
   * NULL: an I/O thread polls fd. */
  struct nh_fd *nfd;
} nh__h2c_io;

typedef struct nh__h2c_config {
  uint32_t stream_window; /* our SETTINGS_INITIAL_WINDOW_SIZE: what an unread response may hold */
  uint32_t conn_window;   /* the connection's receive window */
  uint32_t max_header_list; /* SETTINGS_MAX_HEADER_LIST_SIZE we announce */
  nh_dur read_idle;       /* no frame for this long: PING (NH_NO_TIMEOUT: never) */
  nh_dur ping_timeout;    /* no frame this long after the PING: the connection is dead */
} nh__h2c_config;

typedef struct nh__h2c nh__h2c;
typedef struct nh__h2s nh__h2s;

/* Errors beside NH_E* codes: the server never processed the stream
 * (GOAWAY past it, REFUSED_STREAM), so it may be sent again, on a new
 * connection. */
#define NH__H2_REFUSED (-4900)

/* Sends the connection preface and SETTINGS and starts the I/O thread
 * (or, with io->nfd, the I/O fiber on the calling fiber's loop), which
 * owns io from now on. 0, NH_ENOMEM or an error of pthread. */
int nh__h2c_new(const nh__h2c_config *cfg, const nh__h2c_io *io, nh__h2c **out);
/* Stops the I/O thread or fiber (waits for it: it exits at once) and
 * frees the connection. Every stream must be closed first. Any thread or
 * fiber; with an I/O fiber still running, its runtime must be alive (it
 * is: nh_runtime_free waits for that fiber, which ends once the
 * connection has no stream). */
void nh__h2c_free(nh__h2c *c);
/* Can it take another stream, with in_use streams lent out? Reads only
 * atomics: callable under the pool's lock. */
int nh__h2c_can_take(const nh__h2c *c, int in_use);
/* The connection can carry no more streams (GOAWAY, error, dead peer). */
int nh__h2c_unusable(const nh__h2c *c);

/* A request's head: the pseudo-header values and the fields (names
 * lower-cased and connection-specific ones dropped here, RFC 9113 8.2.2).
 * content_length >= 0 adds content-length; has_body: DATA follows (sent
 * with nh__h2s_write, ended with nh__h2s_end). */
typedef struct nh__h2_req {
  const char *method, *scheme, *authority, *path;
  const nh_header *header;
  const char *const *extra; /* more name, value pairs (NULL-terminated), or NULL */
  int64_t content_length;
  int has_body;
} nh__h2_req;

/* Opens a stream. NH__H2_REFUSED if the connection cannot take it; 0,
 * NH_ENOMEM or NH_EINVAL. Does not park (beyond the session's lock). */
int nh__h2s_open(nh__h2c *c, const nh__h2_req *req, nh__h2s **out);
/* Hands body bytes to the stream, waiting while its send buffer is full
 * (flow control). 0, NH_ETIMEDOUT, NH_ECANCELED, or the stream's error.
 * NH__H2_ANSWERED when the final response came and the stream is closed
 * for sending: the rest of the body is not wanted. Parks. */
#define NH__H2_ANSWERED 1
int nh__h2s_write(nh__h2s *s, const void *buf, size_t n, nh_time deadline);
/* The body ends (END_STREAM). 0 or the stream's error. */
int nh__h2s_end(nh__h2s *s);

/* Expect: 100-continue (RFC 9110 10.1.1): waits until a 100 Continue
 * comes or until passes (1: send the body), or the final answer or a
 * reset comes first (0: do not send it; or the stream's error, or
 * NH_ECANCELED from the caller's context). Parks. */
int nh__h2s_wait_continue(nh__h2s *s, nh_time until);
/* The final response head (1xx skipped): status, fields into header
 * (canonical names), no_body when END_STREAM came with it. 0,
 * NH_ETIMEDOUT, NH_ECANCELED, NH__H2_REFUSED, NH_ECONNRESET (reset by
 * the server or the connection lost), NH_EBADRESPONSE. Parks.
 * *got_any: did a byte of the response come (success or not)? */
int nh__h2s_read_head(nh__h2s *s, nh_time deadline, int *status, nh_header *header, int *no_body,
                      int *got_any);
/* Body bytes: a count, 0 at END_STREAM, or an error as above. At
 * END_STREAM the trailers are added to *trailer (made if NULL and some
 * came; trailer NULL: not wanted). Window updates follow what is read
 * here. Parks. */
ssize_t nh__h2s_read_body(nh__h2s *s, void *out, size_t cap, nh_time deadline,
                          nh_header **trailer);
/* Did the stream fail without the server processing it (its error is
 * NH__H2_REFUSED, or the connection died, with the error it died of,
 * before the stream's HEADERS went out)? It may be sent again. */
int nh__h2s_refused(const nh__h2s *s);
/* Ends the stream: one not complete is reset (RST_STREAM CANCEL); what
 * it buffered is given back to the connection's window. Frees s (or keeps
 * it for the connection's next stream). */
void nh__h2s_close(nh__h2s *s);

#endif
