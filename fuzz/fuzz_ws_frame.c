/* Fuzz target: the WebSocket read state machine, the frame header codec
 * and the UTF-8 checker, on arbitrary bytes.
 *
 * Input: byte 0 picks the side (bit 0: client), whether deflate was
 * negotiated (bit 1) and small limits (bit 2); byte 1 the size of the
 * pieces the rest is fed in (0: all at once). Checked, besides the
 * sanitizers: every event stays inside what was fed, a complete text
 * message (uncompressed) is valid UTF-8 by an independent decoder, no
 * message passes its limit, control payloads fit in 125 bytes, a close
 * code is one a peer may send; a parsed header encodes back to the same
 * bytes; the incremental UTF-8 state agrees with the whole-buffer answer
 * however the bytes are split. */
#include "websocket/ws_internal.h"
#include "websocket/ws_reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A plain decoder written the other way round (code points, then range
 * checks): the oracle for nh__utf8_step. */
static int ref_utf8(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint32_t c = p[i];
    size_t k;
    uint32_t min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 1, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3, c &= 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (i + k >= n)
      return 0; /* cut short */
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xC0) != 0x80)
        return 0;
      c = c << 6 | (p[i + j] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
      return 0;
    i += k + 1;
  }
  return 1;
}

static void check(int ok) {
  if (!ok)
    abort();
}

static void fuzz_header(const uint8_t *p, size_t n) {
  nh__ws_frame f;
  int h = nh__ws_frame_parse(p, n, &f);
  if (h <= 0)
    return;
  check((size_t)h <= n && (size_t)h == f.hdr_len && h <= 14);
  uint8_t out[14];
  size_t k = nh__ws_frame_header(out, f.fin, f.rsv1, f.opcode, f.len, f.masked ? f.mask : NULL);
  out[0] |= (uint8_t)(f.rsv2 << 5 | f.rsv3 << 4);
  check(k == (size_t)h && memcmp(out, p, k) == 0);
}

static void fuzz_utf8(const uint8_t *p, size_t n) {
  int whole = nh__utf8_valid(p, n);
  check(whole == ref_utf8(p, n));
  if (n < 2)
    return;
  size_t cut = p[0] % n;
  uint32_t s = nh__utf8_step(nh__utf8_step(0, p, cut), p + cut, n - cut);
  check((s == 0) == whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  fuzz_header(data + 2, size - 2);
  fuzz_utf8(data + 2, size - 2);
  int client = data[0] & 1, deflate = (data[0] >> 1) & 1, small = (data[0] >> 2) & 1;
  size_t step = data[1];
  uint64_t max_frame = small ? 100 : 1 << 20, max_message = small ? 300 : 1 << 20;
  size_t n = size - 2;
  uint8_t *p = malloc(n ? n : 1);
  memcpy(p, data + 2, n);
  nh__ws_reader r;
  nh__ws_reader_init(&r, client, deflate, max_frame, max_message);
  uint8_t *msg = malloc(n + 1);
  size_t mlen = 0;
  size_t off = 0;
  for (int guard = 0; guard < 1000000; guard++) {
    size_t avail = n - off;
    if (step && avail > step)
      avail = step;
    nh__ws_event ev;
    size_t u = nh__ws_reader_feed(&r, p + off, avail, &ev);
    check(u <= avail);
    const uint8_t *lo = p + off, *hi = p + off + u;
    off += u;
    if (ev.kind == NH__WSR_MORE) {
      if (off == n || r.state == 3 || u == 0)
        break;
      continue;
    }
    if (ev.kind == NH__WSR_DATA) {
      check(ev.data >= lo && ev.data + ev.len <= hi);
      check(mlen + ev.len <= n);
      memcpy(msg + mlen, ev.data, ev.len);
      mlen += ev.len;
      check(ev.compressed ? deflate : 1);
      continue;
    }
    if (ev.kind == NH__WSR_END) {
      if (!ev.compressed) {
        check(mlen <= max_message);
        if (ev.type == NH_WS_TEXT)
          check(ref_utf8(msg, mlen));
      }
      mlen = 0;
      continue;
    }
    if (ev.kind == NH__WSR_PING || ev.kind == NH__WSR_PONG) {
      check(ev.len <= 125);
      continue;
    }
    if (ev.kind == NH__WSR_CLOSE) {
      check(ev.len <= 123 && ref_utf8(ev.data, ev.len));
      check(ev.code == 1005 || (ev.code >= 1000 && ev.code <= 1003) ||
            (ev.code >= 1007 && ev.code <= 1014) || (ev.code >= 3000 && ev.code <= 4999));
      break;
    }
    check(ev.kind == NH__WSR_ERROR);
    check(ev.code == 1002 || ev.code == 1007 || ev.code == 1009);
    break;
  }
  free(msg);
  free(p);
  return 0;
}
