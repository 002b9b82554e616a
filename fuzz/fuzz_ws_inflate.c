/* Fuzz target: permessage-deflate reads what a peer sends, the
 * Sec-WebSocket-Extensions of a handshake and the compressed messages.
 *
 * Input byte 0 picks the mode:
 *   even: the rest is an extension header. The server's negotiation and the
 *         client's check of an answer must not crash, and an offer the
 *         server agrees to must give a response a default client accepts
 *         with the same parameters.
 *   odd:  byte 1 chooses the codec's parameters (bits 0-1 no context
 *         takeover for server/client, 2-4 and 5-7 the server's and the
 *         client's window bits - 8), byte 2 the side (bit 0: client);
 *         the rest is messages, each one length byte then that many
 *         bytes, inflated in turn under a 64 KiB cap. What inflates must
 *         fit the cap, and deflating it again must round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"
#include "websocket/ws_internal.h"

#define MAX_OUT (64 * 1024)

static void negotiation(const uint8_t *data, size_t size, int variant) {
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
  o.compression = 1;
  if (variant & 2) {
    o.server_no_context_takeover = 1;
    o.server_max_window_bits = 10;
  }
  if (variant & 4)
    o.client_max_window_bits = 8 + (variant >> 3) % 8;
  char resp[256];
  nh__wsd_params sp, cp;
  int r = nh__wsd_negotiate(s, &o, &sp, resp, sizeof resp);
  if (r != 0 && r != 1 && r != NH_EBADREQUEST)
    abort();
  if (r == 1) {
    if (sp.server_max_window_bits < 9 || sp.server_max_window_bits > 15 ||
        sp.client_max_window_bits < 8 || sp.client_max_window_bits > 15)
      abort();
    nh_ws_options c = NH_WS_OPTIONS_DEFAULT;
    c.compression = 1;
    int a = nh__wsd_accept(resp, &c, &cp);
    /* The one answer a default client refuses: a window of 8 for its own
     * deflate, which it can only get by having offered 8 itself. */
    if (sp.client_max_window_bits == 8) {
      if (a != NH_EBADRESPONSE)
        abort();
    } else if (a != 1 || memcmp(&sp, &cp, sizeof sp) != 0) {
      abort();
    }
  }
  /* The same bytes as a server's answer. */
  nh_ws_options c = NH_WS_OPTIONS_DEFAULT;
  c.compression = 1;
  r = nh__wsd_accept(s, &c, &cp);
  if (r != 0 && r != 1 && r != NH_EBADRESPONSE)
    abort();
  free(s);
}

static void codec(const uint8_t *data, size_t size) {
  if (size < 2)
    return;
  uint8_t f = data[0];
  nh__wsd_params p = {f & 1, (f >> 1) & 1, 8 + ((f >> 2) & 7), 8 + ((f >> 5) & 7)};
  int client = data[1] & 1;
  nh__wsd *rx = nh__wsd_new(&p, client, 1);
  nh__wsd *tx = nh__wsd_new(&p, !client, 1);
  nh__wsd *back = nh__wsd_new(&p, client, 1);
  nh__dynbuf out, z, again;
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&again, NH__DYNBUF_NOCAP);
  size_t i = 2;
  int broken = 0;
  while (i < size && !broken) {
    size_t n = data[i++];
    if (n > size - i)
      n = size - i;
    /* An exact-size copy, so ASan sees any read past the message. */
    uint8_t *msg = malloc(n ? n : 1);
    memcpy(msg, data + i, n);
    i += n;
    nh__dynbuf_reset(&out);
    int r = nh__wsd_inflate(rx, msg, n, &out, MAX_OUT);
    free(msg);
    if (r == 0) {
      if (out.len > MAX_OUT)
        abort();
      /* Deflate what came out with the peer's side and inflate it back:
       * the codec must agree with itself in every mode. */
      nh__dynbuf_reset(&z);
      nh__dynbuf_reset(&again);
      if (nh__wsd_deflate(tx, out.p ? out.p : "", out.len, &z) != 0 ||
          nh__wsd_inflate(back, z.p, z.len, &again, MAX_OUT) != 0 || again.len != out.len ||
          (out.len && memcmp(again.p, out.p, out.len) != 0))
        abort();
    } else if (r == NH_EBODYTOOLARGE || r == NH_EBADREQUEST) {
      if (out.len != 0)
        abort();
      broken = 1; /* a connection fails here; its context is gone */
    } else if (r != NH_ENOMEM) {
      abort();
    }
  }
  nh__dynbuf_free(&out);
  nh__dynbuf_free(&z);
  nh__dynbuf_free(&again);
  nh__wsd_free(rx);
  nh__wsd_free(tx);
  nh__wsd_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  if (data[0] & 1)
    codec(data + 1, size - 1);
  else
    negotiation(data + 1, size - 1, data[0]);
  return 0;
}
