/* The read side of a WebSocket as a pure state machine: bytes in, events
 * out, no I/O (fuzzed by fuzz/fuzz_ws_frame.c). ws_conn.c wraps the socket
 * loop around it.
 *
 * The caller hands it what it read; nh__ws_reader_feed consumes a prefix
 * and reports at most one event; the caller acts on it and feeds the rest
 * (possibly nothing: an END may follow the last DATA without more input)
 * until the event is NH__WSR_MORE. Payload is unmasked in place, so DATA
 * points into the caller's bytes. Every rule of RFC 6455 §5 that needs no
 * I/O is checked here, each failure with its close code. */
#ifndef NH_WEBSOCKET_READER_H
#define NH_WEBSOCKET_READER_H

#include "websocket/ws_internal.h"

enum nh__wsr_kind {
  NH__WSR_MORE = 0, /* all input consumed: read more */
  NH__WSR_DATA,     /* data/len: payload of the current message, unmasked */
  NH__WSR_END,      /* the current message is complete */
  NH__WSR_PING,     /* data/len: the ping's payload */
  NH__WSR_PONG,     /* data/len: the pong's payload */
  NH__WSR_CLOSE,    /* code (1005 if none), data/len: the reason (UTF-8) */
  NH__WSR_ERROR,    /* code: 1002, 1007 or 1009; the reader is done */
};

typedef struct nh__ws_event {
  int kind;
  int code;
  int type;       /* DATA/END: NH_WS_TEXT or NH_WS_BINARY */
  int compressed; /* DATA/END: the message has RSV1 (permessage-deflate) */
  const uint8_t *data;
  size_t len;
} nh__ws_event;

typedef struct nh__ws_reader {
  uint64_t max_frame;   /* largest frame payload */
  uint64_t max_message; /* largest message payload (as sent: compressed or not) */
  uint64_t left;        /* payload bytes still to come in the current frame */
  uint64_t off;         /* payload bytes of the current frame seen (mask offset) */
  uint64_t msg_len;     /* payload bytes of the current message so far */
  uint32_t utf8;        /* the text message's UTF-8 state */
  nh__ws_frame f;       /* the current frame */
  uint8_t client;       /* 1: frames must be unmasked, else masked */
  uint8_t deflate;      /* permessage-deflate negotiated: RSV1 allowed */
  uint8_t state;        /* see ws_reader.c */
  uint8_t msg_type;     /* 0: no data message in progress */
  uint8_t msg_compressed;
  uint8_t hlen;         /* header bytes gathered in hdr */
  uint8_t ctl_len;      /* control payload bytes gathered in ctl */
  uint8_t hdr[14];
  uint8_t ctl[125];
} nh__ws_reader;

void nh__ws_reader_init(nh__ws_reader *r, int client, int deflate, uint64_t max_frame,
                        uint64_t max_message);

/* Consumes a prefix of p[0..n) (unmasking it in place) and fills *ev.
 * Returns the bytes consumed. After ERROR or CLOSE it consumes nothing and
 * reports MORE. */
size_t nh__ws_reader_feed(nh__ws_reader *r, uint8_t *p, size_t n, nh__ws_event *ev);

/* Payload bytes the current data frame still needs (0 between frames or
 * in a control frame): the caller may read that many straight into the
 * message's buffer and feed them from there. */
static inline uint64_t nh__ws_reader_want(const nh__ws_reader *r) {
  return r->state == 1 && !(r->f.opcode & 8) ? r->left : 0;
}

/* 1 if the data just reported completes a one-frame message (nothing was
 * reported for it before; END comes next). */
static inline int nh__ws_reader_whole(const nh__ws_reader *r) {
  return r->state == 2 && r->f.fin && r->msg_len == r->f.len;
}

#endif
