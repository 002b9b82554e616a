/* nh_ws: a WebSocket connection, server or client side (RFC 6455 §5-§7).
 *
 * Reading: bytes come off the stream (plain or TLS) into a small buffer,
 * or, for the bulk of a large frame, straight into the message's buffer;
 * the state machine of ws_reader.c turns them into events: message data
 * (appended, or handed back in place when a one-frame message sits whole
 * in the read buffer), pings (answered here), pongs, the peer's close,
 * protocol errors (the connection is failed with their close code). While
 * parked waiting for the next frame a WebSocket holds no buffer at all.
 *
 * Writing: one frame at a time under the frame lock (wlock), and one data
 * message at a time under the message lock (mlock), which a fragmented
 * message keeps from its first frame to its last, so control frames (a
 * pong, a close) may come between its fragments but no other message. A
 * frame is one writev: header and payload (a client masks a copy with a
 * fresh key per frame).
 *
 * Closing: the close frame is sent at most once (close_sent, under wlock:
 * no data frame can follow it); the socket is closed once the handshake is
 * over or the connection failed, by the server first (a client waits a
 * little for the server's FIN, §7.1.1). */
#include "websocket/ws_internal.h"
#include "websocket/ws_reader.h"

#include "nethttp/errors.h"
#include "nethttp/runtime.h"
#include "nethttp/sync.h"
#include "net/stream.h"
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

/* The read buffer: headers and small messages (1 KiB stays in malloc's
 * per-thread cache, so dropping it while idle and taking it back is cheap).
 * The bulk of a frame at least DIRECT long is read into the message. */
#define RBUF 1023
#define DIRECT 512
/* A message buffer larger than this is freed when the next read starts. */
#define KEEP_MSG 4096

struct nh_ws {
  nh__stream s;
  nh__ws_reader r;
  uint8_t *rbuf; /* NULL while parked between messages */
  uint32_t rcap, roff, rlen;
  uint8_t client, close_sent, close_recv, frag_active;
  uint8_t held_set, held_byte; /* the byte under the NUL after an in-place message */
  uint8_t frag_type;
  uint8_t reads_unparked; /* reads in a row that found input (fairness) */
  uint32_t frag_utf8;
  uint64_t frag_owner;
  uint8_t *held;
  int rerr, werr; /* sticky: reading or writing is over */
  int close_code;
  char *close_reason;
  nh__dynbuf msg;  /* the message being read */
  nh__dynbuf zraw; /* a compressed message's payload before inflating */
  nh__wsd *wsd;
  nh_sem *wlock, *mlock;
  size_t max_message;
  nh_dur read_idle, write_timeout, close_timeout;
  int compress_threshold;
  char *subprotocol;
  void (*on_pong)(nh_ws *ws, const void *data, size_t len, void *arg);
  void *pong_arg;
  void (*free_hook)(nh_ws *ws, void *arg);
  void *free_arg;
};

/* ---- options ---- */

void nh__ws_options_fill(nh_ws_options *o, const nh_ws_options *in) {
  nh_ws_options d = NH_WS_OPTIONS_DEFAULT;
  *o = in ? *in : d;
  if (!o->max_message)
    o->max_message = d.max_message;
  if (!o->max_frame)
    o->max_frame = o->max_message;
  if (!o->read_idle_timeout)
    o->read_idle_timeout = d.read_idle_timeout;
  if (!o->write_timeout)
    o->write_timeout = d.write_timeout;
  if (!o->close_timeout)
    o->close_timeout = d.close_timeout;
  if (!o->compression_level)
    o->compression_level = d.compression_level;
  if (!o->compress_threshold)
    o->compress_threshold = d.compress_threshold;
  if (!o->server_max_window_bits)
    o->server_max_window_bits = d.server_max_window_bits;
  if (!o->client_max_window_bits)
    o->client_max_window_bits = d.client_max_window_bits;
}

static nh_time after(nh_dur d) { return d < 0 ? NH_NO_DEADLINE : nh_deadline_after(d); }

static nh_time earlier(nh_time a, nh_time b) { return a < b ? a : b; }

/* ---- masking keys: a per-thread xorshift64* seeded from getrandom ----
 * §10.3 asks that a key not be predictable from the ones before it by an
 * intermediary; a fresh 32-bit draw per frame from a randomly seeded
 * generator does that at no cost per frame. */
static __thread uint64_t rng_state;

static void mask_key(uint8_t key[4]) {
  if (NH__UNLIKELY(!rng_state)) {
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s)
      s = (uint64_t)nh_now() ^ (uint64_t)(uintptr_t)&s;
    rng_state = s | 1;
  }
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  uint32_t k = (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
  memcpy(key, &k, 4);
}

/* ---- new / free ---- */

nh_ws *nh__ws_new(nh_fd *fd, nh_tls_conn *tls, const char *buffered, size_t nbuffered,
                  int client, const nh_ws_options *opt, const nh__wsd_params *pmd,
                  const char *subprotocol) {
  nh_ws_options o;
  nh__ws_options_fill(&o, opt);
  nh_ws *ws = calloc(1, sizeof *ws);
  if (!ws)
    goto fail;
  ws->s.fd = fd;
  ws->s.tls = tls;
  ws->client = client ? 1 : 0;
  ws->close_code = NH_WS_CLOSE_ABNORMAL;
  ws->max_message = o.max_message;
  ws->read_idle = o.read_idle_timeout;
  ws->write_timeout = o.write_timeout;
  ws->close_timeout = o.close_timeout;
  ws->compress_threshold = o.compress_threshold;
  nh__dynbuf_init(&ws->msg, o.max_message);
  nh__dynbuf_init(&ws->zraw, NH__DYNBUF_NOCAP);
  nh__ws_reader_init(&ws->r, ws->client, pmd != NULL, o.max_frame, o.max_message);
  ws->wlock = nh_sem_new(1);
  ws->mlock = nh_sem_new(1);
  if (!ws->wlock || !ws->mlock)
    goto fail;
  if (subprotocol && *subprotocol && !(ws->subprotocol = strdup(subprotocol)))
    goto fail;
  if (pmd && !(ws->wsd = nh__wsd_new(pmd, ws->client, o.compression_level)))
    goto fail;
  if (nbuffered) {
    ws->rcap = nbuffered > RBUF ? (uint32_t)nbuffered : RBUF;
    if (!(ws->rbuf = malloc((size_t)ws->rcap + 1)))
      goto fail;
    memcpy(ws->rbuf, buffered, nbuffered);
    ws->rlen = (uint32_t)nbuffered;
  }
  return ws;
fail:
  if (ws) {
    ws->s.fd = NULL;
    ws->s.tls = NULL;
    nh_ws_free(ws);
  }
  if (tls)
    nh_tls_abort(tls);
  else
    nh_fd_close(fd);
  return NULL;
}

void nh__ws_set_free_hook(nh_ws *ws, void (*fn)(nh_ws *ws, void *arg), void *arg) {
  ws->free_hook = fn;
  ws->free_arg = arg;
}

/* Closes the socket. graceful: the close handshake is over (TLS gets its
 * close_notify). linger: first stop writing and read what the peer still
 * sends until its FIN or then, so that our close frame is not lost to a
 * reset from unread input (§7.1.1, and Go's closeWrite-then-wait). Waits
 * for a write in progress, which its write timeout bounds. */
static void ws_shut(nh_ws *ws, int graceful, nh_time linger) {
  if (!ws->s.fd)
    return;
  int locked = nh_sem_acquire(ws->wlock, after(ws->write_timeout)) == 0;
  if (ws->s.fd && linger != 0) {
    if (!ws->s.tls)
      shutdown(nh_fd_get(ws->s.fd), SHUT_WR);
    char junk[512];
    size_t budget = (size_t)1 << 20;
    for (;;) {
      ssize_t n = nh__stream_try_read(&ws->s, junk, sizeof junk);
      if (n > 0 && (size_t)n < budget) {
        budget -= (size_t)n;
        continue;
      }
      if (n != NH_EAGAIN || nh_fd_wait(ws->s.fd, NH_FD_READ, linger) != 0)
        break;
    }
  }
  if (ws->s.tls) {
    if (graceful)
      nh_tls_close(ws->s.tls);
    else
      nh_tls_abort(ws->s.tls);
  } else if (ws->s.fd) {
    nh_fd_close(ws->s.fd);
  }
  ws->s.fd = NULL;
  ws->s.tls = NULL;
  if (locked)
    nh_sem_release(ws->wlock);
}

void nh_ws_free(nh_ws *ws) {
  if (!ws)
    return;
  if (ws->free_hook) {
    void (*fn)(nh_ws *, void *) = ws->free_hook;
    ws->free_hook = NULL;
    fn(ws, ws->free_arg);
  }
  if (ws->s.tls)
    nh_tls_abort(ws->s.tls);
  else if (ws->s.fd)
    nh_fd_close(ws->s.fd);
  if (ws->wsd)
    nh__wsd_free(ws->wsd);
  nh_sem_free(ws->wlock);
  nh_sem_free(ws->mlock);
  nh__dynbuf_free(&ws->msg);
  nh__dynbuf_free(&ws->zraw);
  free(ws->rbuf);
  free(ws->subprotocol);
  free(ws->close_reason);
  free(ws);
}

/* ---- writing ---- */

/* Sends one frame; the caller holds wlock. payload may be masked in place
 * when mut (our own buffer), else a client masks a copy. */
static int send_frame(nh_ws *ws, int fin, int rsv1, int op, const void *data, size_t len,
                      int mut, nh_time deadline) {
  if (ws->werr)
    return ws->werr;
  if (!ws->s.fd || (ws->close_sent && op != NH__WS_OP_CLOSE))
    return NH_ECLOSED;
  uint8_t hdr[14];
  uint8_t key[4], stackbuf[2048];
  uint8_t *copy = NULL;
  size_t hl;
  const void *payload = data;
  if (ws->client) {
    mask_key(key);
    hl = nh__ws_frame_header(hdr, fin, rsv1, op, len, key);
    if (len && mut) {
      nh__ws_mask((uint8_t *)data, len, key, 0);
    } else if (len) {
      uint8_t *b = len <= sizeof stackbuf ? stackbuf : (copy = malloc(len));
      if (!b)
        return NH_ENOMEM;
      memcpy(b, data, len);
      nh__ws_mask(b, len, key, 0);
      payload = b;
    }
  } else {
    hl = nh__ws_frame_header(hdr, fin, rsv1, op, len, NULL);
  }
  struct iovec iov[2] = {{hdr, hl}, {(void *)payload, len}};
  ssize_t n = nh__stream_writev(&ws->s, iov, len ? 2 : 1, deadline);
  free(copy);
  if (n < 0) {
    /* Part of a frame may be out: the stream can carry nothing more. */
    ws->werr = (int)n;
    return (int)n;
  }
  return 0;
}

static nh_time write_deadline(const nh_ws *ws, nh_time deadline) {
  return deadline == NH_NO_DEADLINE ? after(ws->write_timeout) : deadline;
}

/* A control frame: wlock only, so it may come between a message's
 * fragments. */
static int send_control(nh_ws *ws, int op, const void *data, size_t len, nh_time deadline) {
  int rc = nh_sem_acquire(ws->wlock, deadline);
  if (rc)
    return rc;
  rc = send_frame(ws, 1, 0, op, data, len, 0, deadline);
  nh_sem_release(ws->wlock);
  return rc;
}

int nh__ws_send_close(nh_ws *ws, int code, const char *reason, nh_time deadline) {
  uint8_t p[125];
  size_t n = 0;
  if (code && code != NH_WS_CLOSE_NO_STATUS) {
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    n = 2;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 123) { /* cut at a character boundary */
      rl = 123;
      while (rl && ((uint8_t)reason[rl] & 0xC0) == 0x80)
        rl--;
    }
    if (rl)
      memcpy(p + 2, reason, rl);
    n += rl;
  }
  deadline = write_deadline(ws, deadline);
  int rc = nh_sem_acquire(ws->wlock, deadline);
  if (rc)
    return rc;
  if (!ws->close_sent) {
    ws->close_sent = 1;
    rc = send_frame(ws, 1, 0, NH__WS_OP_CLOSE, p, n, 0, deadline);
  }
  nh_sem_release(ws->wlock);
  return rc;
}

int nh_ws_write(nh_ws *ws, nh_ws_type type, const void *data, size_t len, nh_time deadline) {
  if ((type != NH_WS_TEXT && type != NH_WS_BINARY) || (len && !data))
    return NH_EINVAL;
  if (type == NH_WS_TEXT && !nh__utf8_valid(data, len))
    return NH_EINVAL;
  deadline = write_deadline(ws, deadline);
  int rc = nh_sem_acquire(ws->mlock, deadline);
  if (rc)
    return rc;
  nh__dynbuf z;
  nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
  int rsv1 = 0, mut = 0;
  if (ws->wsd && len >= (size_t)ws->compress_threshold && !ws->close_sent) {
    rc = nh__wsd_deflate(ws->wsd, data, len, &z);
    if (rc)
      goto out;
    data = z.p;
    len = z.len;
    rsv1 = mut = 1;
  }
  rc = nh_sem_acquire(ws->wlock, deadline);
  if (rc)
    goto out;
  rc = send_frame(ws, 1, rsv1, type, data, len, mut, deadline);
  nh_sem_release(ws->wlock);
out:
  nh__dynbuf_free(&z);
  nh_sem_release(ws->mlock);
  return rc;
}

int nh_ws_write_frame(nh_ws *ws, nh_ws_type type, int first, int fin, const void *data,
                      size_t len, nh_time deadline) {
  if ((type != NH_WS_TEXT && type != NH_WS_BINARY) || (len && !data))
    return NH_EINVAL;
  deadline = write_deadline(ws, deadline);
  int rc;
  if (first) {
    rc = nh_sem_acquire(ws->mlock, deadline);
    if (rc)
      return rc;
    ws->frag_active = 1;
    ws->frag_owner = nh_fiber_id();
    ws->frag_type = (uint8_t)type;
    ws->frag_utf8 = 0;
  } else if (!ws->frag_active || ws->frag_owner != nh_fiber_id() || ws->frag_type != type) {
    return NH_EINVAL; /* no fragmented message of ours to continue */
  }
  /* Text is checked as a whole message: a character may span fragments. */
  uint32_t u = ws->frag_utf8;
  if (type == NH_WS_TEXT) {
    u = nh__utf8_step(u, data, len);
    if (u == NH__UTF8_BAD || (fin && u != 0)) {
      rc = NH_EINVAL;
      goto done;
    }
  }
  rc = nh_sem_acquire(ws->wlock, deadline);
  if (rc)
    goto done;
  rc = send_frame(ws, fin, 0, first ? (int)type : NH__WS_OP_CONT, data, len, 0, deadline);
  nh_sem_release(ws->wlock);
  if (!rc)
    ws->frag_utf8 = u;
done:
  if (rc == 0 && !fin)
    return 0;
  if (rc == NH_EINVAL && !first)
    return rc; /* nothing sent: the message is still ours to go on with */
  /* The message ends with its last frame, or with a failure: a writer that
   * gave up must not keep the message lock, and an unfinished message on
   * the wire leaves the stream unable to carry another. */
  if (rc && !first && !ws->werr)
    ws->werr = rc;
  ws->frag_active = 0;
  nh_sem_release(ws->mlock);
  return rc;
}

int nh_ws_ping(nh_ws *ws, const void *data, size_t len, nh_time deadline) {
  if (len > 125 || (len && !data))
    return NH_EINVAL;
  return send_control(ws, NH__WS_OP_PING, data, len, write_deadline(ws, deadline));
}

void nh_ws_on_pong(nh_ws *ws, void (*fn)(nh_ws *ws, const void *data, size_t len, void *arg),
                   void *arg) {
  ws->on_pong = fn;
  ws->pong_arg = arg;
}

/* ---- reading ---- */

static nh_time idle_deadline(const nh_ws *ws) { return after(ws->read_idle); }

/* Fails the connection (§7.1.7): our close with code, then the socket. */
static int ws_fail(nh_ws *ws, int code, int ret) {
  nh_time t = after(ws->close_timeout < 2 * NH_SEC ? ws->close_timeout : 2 * NH_SEC);
  if (code)
    nh__ws_send_close(ws, code, "", earlier(t, write_deadline(ws, NH_NO_DEADLINE)));
  ws_shut(ws, 0, t);
  ws->rerr = ret;
  return ret;
}

/* The peer's close came: answer it (echoing the code, as gorilla does)
 * unless ours went first, and end the connection. */
static int on_close(nh_ws *ws, const nh__ws_event *ev) {
  ws->close_recv = 1;
  ws->close_code = ev->code;
  if (ev->len) {
    free(ws->close_reason);
    ws->close_reason = strndup((const char *)ev->data, ev->len);
  }
  nh__ws_send_close(ws, ev->code, "", NH_NO_DEADLINE);
  ws_shut(ws, 1, ws->client ? after(ws->close_timeout) : 0);
  ws->rerr = NH_ECLOSED;
  return NH_ECLOSED;
}

/* Before a read: a peer that keeps the socket full must not keep the
 * loop, so other fibers run now and then while a large message streams
 * in (as the HTTP/2 server's reader does). */
static void take_turns(nh_ws *ws) {
  if (ws->reads_unparked >= 16) {
    ws->reads_unparked = 0;
    nh_yield();
  }
}

/* Reads more input into rbuf, parking until some comes. While nothing is
 * buffered between messages the buffer is dropped for the wait. Returns 0,
 * NH_EEOF, the stream's error, 1 when the idle timer ran out. */
static int fill(nh_ws *ws, nh_time deadline, nh_time idle) {
  if (!ws->s.fd)
    return NH_ECLOSED;
  if (ws->roff == ws->rlen) {
    ws->roff = ws->rlen = 0;
  } else if (ws->roff) {
    memmove(ws->rbuf, ws->rbuf + ws->roff, ws->rlen - ws->roff);
    ws->rlen -= ws->roff;
    ws->roff = 0;
  }
  take_turns(ws);
  for (;;) {
    if (!ws->rbuf) {
      if (!(ws->rbuf = malloc(RBUF + 1)))
        return NH_ENOMEM;
      ws->rcap = RBUF;
    }
    ssize_t n = nh__stream_try_read(&ws->s, ws->rbuf + ws->rlen, ws->rcap - ws->rlen);
    if (n > 0) {
      ws->rlen += (uint32_t)n;
      ws->reads_unparked++;
      return 0;
    }
    if (n == 0)
      return NH_EEOF;
    if (n != NH_EAGAIN)
      return (int)n;
    if (!ws->rlen && !ws->r.msg_type && ws->r.state == 0 && !ws->r.hlen) {
      free(ws->rbuf);
      ws->rbuf = NULL;
      /* Between messages the wait may last hours: the stack pages below
       * this park go back too (at most once a second). */
      nh__fiber_trim_on_park();
    }
    ws->reads_unparked = 0;
    int rc = nh_fd_wait(ws->s.fd, NH_FD_READ, earlier(deadline, idle));
    if (rc == NH_ETIMEDOUT && idle <= deadline && nh_now() >= idle)
      return 1;
    if (rc)
      return rc;
  }
}

/* The bulk of a large frame: read straight into the buffer its payload
 * goes to, then feed it from there (the DATA event points at it). */
static int fill_direct(nh_ws *ws, nh__dynbuf *b, uint64_t want, nh_time deadline, nh_time idle,
                       nh__ws_event *ev) {
  size_t step = b->len > 65536 ? b->len : 65536; /* grow as data comes, not as announced */
  if (want > step)
    want = step;
  int rc = nh__dynbuf_reserve(b, (size_t)want);
  if (rc)
    return rc;
  take_turns(ws);
  for (;;) {
    ssize_t n = nh__stream_try_read(&ws->s, b->p + b->len, (size_t)want);
    if (n > 0) {
      ws->reads_unparked++;
      nh__ws_reader_feed(&ws->r, (uint8_t *)b->p + b->len, (size_t)n, ev);
      return 0;
    }
    if (n == 0)
      return NH_EEOF;
    if (n != NH_EAGAIN)
      return (int)n;
    ws->reads_unparked = 0;
    rc = nh_fd_wait(ws->s.fd, NH_FD_READ, earlier(deadline, idle));
    if (rc == NH_ETIMEDOUT && idle <= deadline && nh_now() >= idle)
      return 1;
    if (rc)
      return rc;
  }
}

/* Appends a DATA event's bytes to b (or accounts for them when they were
 * read into b's tail). */
static int take_data(nh__dynbuf *b, const nh__ws_event *ev) {
  if (b->p && ev->data == (const uint8_t *)b->p + b->len) {
    b->len += ev->len;
    b->p[b->len] = 0;
    return 0;
  }
  return nh__dynbuf_add(b, ev->data, ev->len);
}

/* The next message (discard: drop messages until the peer's close). */
static int read_message(nh_ws *ws, int discard, nh_ws_type *type, const char **data,
                        size_t *len, nh_time deadline) {
  if (ws->held_set) {
    *ws->held = ws->held_byte;
    ws->held_set = 0;
  }
  if (ws->rerr)
    return ws->rerr;
  if (ws->msg.cap > KEEP_MSG)
    nh__dynbuf_free(&ws->msg);
  else
    nh__dynbuf_reset(&ws->msg);
  static uint8_t none[1];
  nh_time idle = idle_deadline(ws);
  const uint8_t *whole = NULL;
  size_t whole_len = 0;
  for (;;) {
    nh__ws_event ev;
    uint8_t *p = ws->rbuf ? ws->rbuf + ws->roff : none;
    ws->roff += (uint32_t)nh__ws_reader_feed(&ws->r, p, ws->rlen - ws->roff, &ev);
  event:;
    int rc = 0;
    switch (ev.kind) {
    case NH__WSR_DATA:
      if (discard)
        continue;
      if (ev.compressed)
        rc = take_data(&ws->zraw, &ev);
      else if (!ws->msg.len && ws->rbuf && ev.data >= ws->rbuf &&
               ev.data < ws->rbuf + ws->rcap && nh__ws_reader_whole(&ws->r))
        whole = ev.data, whole_len = ev.len;
      else
        rc = take_data(&ws->msg, &ev);
      if (rc == NH_ERANGE)
        return ws_fail(ws, NH_WS_CLOSE_TOO_BIG, NH_EBADREQUEST);
      if (rc)
        return ws_fail(ws, NH_WS_CLOSE_INTERNAL, rc);
      continue;
    case NH__WSR_END:
      if (ev.compressed) {
        if (!discard) {
          rc = nh__wsd_inflate(ws->wsd, ws->zraw.p, ws->zraw.len, &ws->msg, ws->max_message);
          if (ws->zraw.cap > KEEP_MSG)
            nh__dynbuf_free(&ws->zraw);
          else
            nh__dynbuf_reset(&ws->zraw);
          if (rc == NH_EBODYTOOLARGE || rc == NH_ERANGE)
            return ws_fail(ws, NH_WS_CLOSE_TOO_BIG, NH_EBADREQUEST);
          if (rc == NH_ENOMEM)
            return ws_fail(ws, NH_WS_CLOSE_INTERNAL, rc);
          if (rc)
            return ws_fail(ws, NH_WS_CLOSE_INVALID_DATA, NH_EBADREQUEST);
          if (ev.type == NH_WS_TEXT && !nh__utf8_valid(ws->msg.p, ws->msg.len))
            return ws_fail(ws, NH_WS_CLOSE_INVALID_DATA, NH_EBADREQUEST);
        } else {
          nh__dynbuf_free(&ws->zraw);
        }
      }
      if (discard) {
        whole = NULL;
        nh__dynbuf_reset(&ws->msg);
        continue;
      }
      *type = (nh_ws_type)ev.type;
      if (whole) {
        /* A NUL after the message, over the next frame's first byte,
         * which the next read puts back. */
        ws->held = (uint8_t *)whole + whole_len;
        ws->held_byte = *ws->held;
        ws->held_set = 1;
        *ws->held = 0;
        *data = (const char *)whole;
        *len = whole_len;
      } else {
        *data = nh__dynbuf_ptr(&ws->msg);
        *len = ws->msg.len;
      }
      return 0;
    case NH__WSR_PING:
      /* §5.5.2: a pong with the same payload, as soon as practical. A
       * failed pong leaves the write side broken (werr); reading goes on. */
      send_control(ws, NH__WS_OP_PONG, ev.data, ev.len, write_deadline(ws, NH_NO_DEADLINE));
      continue;
    case NH__WSR_PONG:
      if (ws->on_pong)
        ws->on_pong(ws, ev.data, ev.len, ws->pong_arg);
      continue;
    case NH__WSR_CLOSE:
      return on_close(ws, &ev);
    case NH__WSR_ERROR:
      return ws_fail(ws, ev.code, NH_EBADREQUEST);
    default:
      break;
    }
    /* All input consumed: read more. */
    uint64_t want = nh__ws_reader_want(&ws->r);
    if (want >= DIRECT && !discard) {
      nh__dynbuf *b = ws->r.msg_compressed ? &ws->zraw : &ws->msg;
      if (whole) { /* no longer whole: keep what came so far */
        rc = nh__dynbuf_add(&ws->msg, whole, whole_len);
        whole = NULL;
      }
      if (!rc)
        rc = fill_direct(ws, b, want, deadline, idle, &ev);
      if (rc == 0) {
        idle = idle_deadline(ws); /* the idle timer counts from the last input */
        goto event;
      }
    } else {
      if (whole) {
        rc = nh__dynbuf_add(&ws->msg, whole, whole_len);
        whole = NULL;
      }
      if (!rc)
        rc = fill(ws, deadline, idle);
      if (rc == 0) {
        idle = idle_deadline(ws);
        continue;
      }
    }
    if (rc == 1)
      return ws_fail(ws, NH_WS_CLOSE_GOING_AWAY, NH_ETIMEDOUT);
    if (rc == NH_ERANGE)
      return ws_fail(ws, NH_WS_CLOSE_TOO_BIG, NH_EBADREQUEST);
    ws->rerr = rc;
    return rc;
  }
}

int nh_ws_read(nh_ws *ws, nh_ws_type *type, const char **data, size_t *len, nh_time deadline) {
  return read_message(ws, 0, type, data, len, deadline);
}

int nh_ws_close(nh_ws *ws, int code, const char *reason) {
  if (!ws->s.fd)
    return ws->close_recv ? 0 : ws->rerr ? ws->rerr : NH_ECLOSED;
  int rc = nh__ws_send_close(ws, code ? code : NH_WS_CLOSE_NORMAL, reason, NH_NO_DEADLINE);
  if (rc) {
    ws_shut(ws, 0, 0);
    return rc;
  }
  if (ws->close_recv || ws->rerr) {
    ws_shut(ws, ws->close_recv, ws->client ? after(ws->close_timeout) : 0);
    return ws->close_recv ? 0 : ws->rerr;
  }
  nh_ws_type t;
  const char *d;
  size_t n;
  rc = read_message(ws, 1, &t, &d, &n, after(ws->close_timeout));
  if (rc == NH_ECLOSED)
    return 0; /* the peer answered; on_close closed the socket */
  ws_shut(ws, 0, 0);
  return rc;
}

int nh_ws_close_status(const nh_ws *ws, const char **reason) {
  if (reason)
    *reason = ws->close_reason ? ws->close_reason : "";
  return ws->close_code;
}

const char *nh_ws_subprotocol(const nh_ws *ws) { return ws->subprotocol ? ws->subprotocol : ""; }

int nh_ws_compressed(const nh_ws *ws) { return ws->wsd != NULL; }
