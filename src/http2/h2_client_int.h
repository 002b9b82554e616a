/* The HTTP/2 client connection's state, shared by the callers' side
 * (h2_client.c: streams, nghttp2's callbacks) and the I/O fiber or thread
 * (h2_client_io.c). Everything not atomic is guarded by mu. */
#ifndef NH_HTTP2_H2_CLIENT_INT_H
#define NH_HTTP2_H2_CLIENT_INT_H

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http2/h2_client.h"
#include "http2/h2_mem.h"
#include "nethttp/runtime.h"
#include "nethttp/sync.h"
#include "runtime/internal.h"
#include "util/arena.h"
#include "util/header_internal.h"

/* A stream's request body waiting for nghttp2 (and the peer's window). */
#define NH__H2S_SEND_MAX (64 * 1024)

struct nh__h2s {
  nh__h2c *c;
  int32_t id;
  int waiting;  /* w is parked (or about to): the I/O side wakes it */
  nh__waiter w; /* the caller waiting for the stream */
  /* the response */
  int status;
  int head_done;     /* the final head is complete */
  nh_header *trailer;
  int got_any;
  int got_100; /* a 100 Continue came */
  size_t rpos, rlen; /* body bytes received in rbuf, [rpos, rlen) unread */
  int eof;    /* END_STREAM came */
  int closed; /* nghttp2 closed the stream (or never opened it) */
  int err;    /* why the stream failed, or 0 */
  int unsent; /* the connection died before its HEADERS went out */
  int headers_sent;
  /* the request body */
  char *sbuf;
  size_t spos, slen;
  int s_eof, deferred;
  nh__h2s *prev, *next; /* the connection's open streams */
  /* While its caller waits for the head: the response's own map, which
   * the fields then go to directly (no copy; the caller does not touch
   * it until the head is done, and unsets it before it returns). */
  nh_header *dest;
  /* Kept when the stream is recycled for the connection's next one. */
  char *rbuf;
  size_t rcap;
  nh_header *head; /* the final head's fields as they come: &head_map */
  nh_header head_map;
  nh__arena head_arena;
  char head_first[512];
};

/* The I/O side's buffers and health clock (h2_client_io.c). */
typedef struct nh__h2c_iost {
  char *out, *in;
  size_t outlen, outpos;
  int blocked; /* output is waiting for the socket */
  nh_time last_read, ping_sent; /* ping_sent: 0 when none is outstanding */
} nh__h2c_iost;

struct nh__h2c {
  nghttp2_session *ss;
  nh_mutex *mu;
  nh__h2c_io io;
  nh__h2c_config cfg;
  nh__h2c_iost st; /* the I/O side's alone, not under mu */
  /* The I/O thread (io.nfd NULL) */
  int evfd;      /* wakes the I/O thread: output to send, or stop */
  pthread_t th;
  /* The I/O fiber (io.nfd set), on loop `loop` of the runtime rt_id
   * (nh_runtime.live_id); running is under mu */
  uint64_t rt_id;
  int loop;
  int running, free_waits;
  nh_sem *wake; /* kicks and the socket's readability */
  nh_sem *done; /* the fiber ended while nh__h2c_free waited */
  _Atomic int kicked; /* a wake is pending: later kicks need not wake again */
  int stop;      /* the I/O side is asked to end */
  int err;       /* why the connection died */
  nh__h2s *streams;
  /* The open streams by ID, for nghttp2's callbacks (each header, the
   * frame, the data, the close name one): a stream sits at its slot
   * unless a newer one took it, and is then found on the streams list.
   * IDs go up by two, so only a stream outliving the next 255 shares a
   * slot. Cheaper than nghttp2's stream user data, a hash search to set,
   * to read and to clear per stream. */
  nh__h2s *slot[256];
  /* Bytes the callers consumed since nghttp2 was last asked whether a
   * WINDOW_UPDATE is due (h2_client.c: nh__h2s_read_body). */
  size_t consumed;
  /* Bytes read from streams that had ended (END_STREAM in): only the
   * connection's window wants them back, handed to nghttp2 in batches. */
  size_t conn_owed;
  nh__h2s *spare; /* closed streams kept for the next ones (next-linked) */
  int nspare;
  nh__h2_mem mem; /* nghttp2's blocks (used under mu) */
  _Atomic int dead, goaway;
  _Atomic uint32_t max_streams;
};

/* h2_client.c: the session with its callbacks. */
int nh__h2c_session_new(nh__h2c *c);
/* Every stream fails with err (mu held); those whose HEADERS never left
 * are marked unsent (nh__h2s_refused). */
void nh__h2c_fail_all(nh__h2c *c, int err);
/* h2_client_io.c */
int nh__h2c_io_start(nh__h2c *c);
void nh__h2c_io_stop(nh__h2c *c);
void nh__h2c_io_free(nh__h2c *c);
/* Tells the I/O side there is output (or a stop); starts the I/O fiber
 * again if it ended with the connection idle. Any thread. */
void nh__h2c_kick(nh__h2c *c);

#endif
