/* The WebSocket read state machine (ws_reader.h).
 *
 * States: HDR gathers a frame header (at most 14 bytes, copied into hdr so
 * a header split between reads costs nothing special); PAYLOAD hands data
 * out as it comes (a control frame's payload is gathered into ctl, at most
 * 125 bytes); DONE ends a frame (the event after the last DATA, so a
 * caller sees one event per call); STOP after a close or an error.
 *
 * Nothing is allocated: a header announcing 2^62 bytes costs what any
 * other does, and is refused (1009) before its payload comes. */
#include "websocket/ws_reader.h"

#include "nethttp/errors.h"

#include <string.h>

enum { HDR = 0, PAYLOAD = 1, DONE = 2, STOP = 3 };

void nh__ws_reader_init(nh__ws_reader *r, int client, int deflate, uint64_t max_frame,
                        uint64_t max_message) {
  memset(r, 0, sizeof *r);
  r->client = client ? 1 : 0;
  r->deflate = deflate ? 1 : 0;
  r->max_frame = max_frame;
  r->max_message = max_message;
}

static size_t fail(nh__ws_reader *r, nh__ws_event *ev, int code, size_t used) {
  r->state = STOP;
  ev->kind = NH__WSR_ERROR;
  ev->code = code;
  return used;
}

/* §7.4: codes a peer may send. 1004-1006 and 1015 are reserved, 1016-2999
 * unassigned but for the registered 1012-1014; 3000-4999 are for
 * libraries and applications. */
static int close_code_ok(unsigned c) {
  if (c >= 3000 && c <= 4999)
    return 1;
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014);
}

/* Deflate's worst case on incompressible data: 5 bytes a 16 KiB block. */
static uint64_t slack(uint64_t max) {
  uint64_t more = (max >> 10) + 1024;
  return max > UINT64_MAX - more ? UINT64_MAX : max + more;
}

/* The header in hdr[0..hlen) is complete as f: is it allowed here? */
static int judge_header(nh__ws_reader *r, nh__ws_event *ev) {
  nh__ws_frame *f = &r->f;
  if (f->rsv2 || f->rsv3)
    return NH_WS_CLOSE_PROTOCOL_ERROR;
  /* RFC 7692 §6: RSV1 marks a compressed message, on its first frame. */
  if (f->rsv1 && (!r->deflate || (f->opcode != NH__WS_OP_TEXT && f->opcode != NH__WS_OP_BINARY)))
    return NH_WS_CLOSE_PROTOCOL_ERROR;
  /* §5.1: clients mask, servers do not. */
  if (f->masked != !r->client)
    return NH_WS_CLOSE_PROTOCOL_ERROR;
  if (f->opcode & 8)
    return 0; /* control: parse checked its size and FIN */
  if (f->opcode == NH__WS_OP_CONT) {
    if (!r->msg_type)
      return NH_WS_CLOSE_PROTOCOL_ERROR; /* nothing to continue */
  } else if (r->msg_type) {
    return NH_WS_CLOSE_PROTOCOL_ERROR; /* §5.4: fragments of one message only */
  }
  /* A compressed message is held to its limit once inflated (ws_conn.c);
   * its frames may be a little larger than their content when it does not
   * compress, so they get some slack here. */
  int z = f->opcode == NH__WS_OP_CONT ? r->msg_compressed : f->rsv1;
  uint64_t max_frame = z ? slack(r->max_frame) : r->max_frame;
  uint64_t max_message = z ? slack(r->max_message) : r->max_message;
  if (f->len > max_frame)
    return NH_WS_CLOSE_TOO_BIG;
  uint64_t so_far = f->opcode == NH__WS_OP_CONT ? r->msg_len : 0;
  if (f->len > max_message - so_far)
    return NH_WS_CLOSE_TOO_BIG;
  if (f->opcode != NH__WS_OP_CONT) {
    r->msg_type = (uint8_t)f->opcode;
    r->msg_compressed = f->rsv1;
    r->msg_len = 0;
    r->utf8 = 0;
  }
  (void)ev;
  return 0;
}

static void data_event(nh__ws_reader *r, nh__ws_event *ev, int kind, const uint8_t *p, size_t n) {
  ev->kind = kind;
  ev->type = r->msg_type;
  ev->compressed = r->msg_compressed;
  ev->data = p;
  ev->len = n;
}

/* The end of a frame: a control frame's event, or a message's END. */
static size_t end_frame(nh__ws_reader *r, nh__ws_event *ev, size_t used) {
  nh__ws_frame *f = &r->f;
  r->state = HDR;
  r->hlen = 0;
  switch (f->opcode) {
  case NH__WS_OP_PING:
  case NH__WS_OP_PONG:
    ev->kind = f->opcode == NH__WS_OP_PING ? NH__WSR_PING : NH__WSR_PONG;
    ev->data = r->ctl;
    ev->len = r->ctl_len;
    return used;
  case NH__WS_OP_CLOSE: {
    /* §5.5.1: empty, or a 2-byte code and a UTF-8 reason. */
    if (r->ctl_len == 1)
      return fail(r, ev, NH_WS_CLOSE_PROTOCOL_ERROR, used);
    ev->code = NH_WS_CLOSE_NO_STATUS;
    ev->data = r->ctl;
    ev->len = 0;
    if (r->ctl_len >= 2) {
      unsigned code = (unsigned)r->ctl[0] << 8 | r->ctl[1];
      if (!close_code_ok(code))
        return fail(r, ev, NH_WS_CLOSE_PROTOCOL_ERROR, used);
      if (!nh__utf8_valid(r->ctl + 2, r->ctl_len - 2u))
        return fail(r, ev, NH_WS_CLOSE_INVALID_DATA, used);
      ev->code = (int)code;
      ev->data = r->ctl + 2;
      ev->len = r->ctl_len - 2u;
    }
    r->state = STOP;
    ev->kind = NH__WSR_CLOSE;
    return used;
  }
  default:
    break;
  }
  if (!f->fin)
    return ~(size_t)0; /* a fragment: nothing to report, go on */
  /* A compressed message is checked after inflating, in ws_conn.c. */
  if (r->msg_type == NH__WS_OP_TEXT && !r->msg_compressed && r->utf8 != 0)
    return fail(r, ev, NH_WS_CLOSE_INVALID_DATA, used);
  data_event(r, ev, NH__WSR_END, NULL, 0);
  r->msg_type = 0;
  return used;
}

size_t nh__ws_reader_feed(nh__ws_reader *r, uint8_t *p, size_t n, nh__ws_event *ev) {
  size_t used = 0;
  ev->kind = NH__WSR_MORE;
  for (;;) {
    switch (r->state) {
    case STOP:
      return used;
    case DONE: {
      size_t u = end_frame(r, ev, used);
      if (u != ~(size_t)0)
        return u;
      continue;
    }
    case HDR: {
      if (used == n)
        return used;
      size_t take = n - used;
      if (take > sizeof r->hdr - r->hlen)
        take = sizeof r->hdr - r->hlen;
      memcpy(r->hdr + r->hlen, p + used, take);
      size_t had = r->hlen;
      int h = nh__ws_frame_parse(r->hdr, had + take, &r->f);
      if (h < 0)
        return fail(r, ev, NH_WS_CLOSE_PROTOCOL_ERROR, used + take);
      if (h == 0) {
        r->hlen = (uint8_t)(had + take);
        return used + take;
      }
      used += (size_t)h - had;
      int code = judge_header(r, ev);
      if (code)
        return fail(r, ev, code, used);
      r->left = r->f.len;
      r->off = 0;
      r->ctl_len = 0;
      r->state = r->left ? PAYLOAD : DONE;
      continue;
    }
    case PAYLOAD: {
      if (used == n)
        return used;
      size_t k = n - used;
      if (k > r->left)
        k = (size_t)r->left;
      uint8_t *q = p + used;
      if (r->f.masked)
        nh__ws_mask(q, k, r->f.mask, (size_t)(r->off & 3));
      r->off += k;
      r->left -= k;
      used += k;
      if (r->f.opcode & 8) {
        memcpy(r->ctl + r->ctl_len, q, k);
        r->ctl_len = (uint8_t)(r->ctl_len + k);
        if (!r->left)
          r->state = DONE;
        continue;
      }
      /* §8.1: fail as soon as the text stops being UTF-8. */
      if (r->msg_type == NH__WS_OP_TEXT && !r->msg_compressed) {
        r->utf8 = nh__utf8_step(r->utf8, q, k);
        if (r->utf8 == NH__UTF8_BAD)
          return fail(r, ev, NH_WS_CLOSE_INVALID_DATA, used);
      }
      r->msg_len += k;
      if (!r->left)
        r->state = DONE;
      data_event(r, ev, NH__WSR_DATA, q, k);
      return used;
    }
    }
  }
}
