/* /websocket/echo: every message sent back as it came (text or binary,
 * permessage-deflate accepted), as go-httpbin's. max_fragment_size and
 * max_message_size (bytes, 1 .. --max-body-size; defaults half of it and
 * all of it) bound what the client may send: a bigger frame or message
 * closes the connection with 1009. */
#include "httpbin.h"

#include <nethttp/websocket.h>

#include <stdlib.h>

static int any_origin(const nh_request *r, void *arg) {
  (void)r, (void)arg;
  return 1; /* a test service for any page, as its CORS headers say */
}

/* A size from the query: *out, or -1 after answering 400. */
static int size_arg(nh_response_writer *w, nh_request *r, const httpbin *hb, const char *key,
                    int64_t *out) {
  const char *v = httpbin_arg(r, key);
  if (!v || !*v)
    return 0;
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*end || n < 1 || n > hb->max_body) {
    httpbin_error(w, 400, "invalid %s: %s not in range [1, %lld]", key, v,
                  (long long)hb->max_body);
    return -1;
  }
  *out = n;
  return 0;
}

void httpbin_websocket_echo(nh_response_writer *w, nh_request *r) {
  const httpbin *hb = nh_request_handler_data(r);
  int64_t max_frame = hb->max_body / 2 > 0 ? hb->max_body / 2 : 1, max_message = hb->max_body;
  if (size_arg(w, r, hb, "max_fragment_size", &max_frame) < 0 ||
      size_arg(w, r, hb, "max_message_size", &max_message) < 0)
    return;
  nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
  o.check_origin = any_origin;
  o.compression = 1;
  o.max_message = (size_t)max_message;
  o.max_frame = (size_t)max_frame;
  nh_ws *ws;
  if (nh_ws_accept(w, r, &o, &ws) != NH_OK)
    return; /* answered already */
  for (;;) {
    nh_ws_type type;
    const char *data;
    size_t len;
    if (nh_ws_read(ws, &type, &data, &len, NH_NO_DEADLINE) != NH_OK)
      break; /* a close was answered, or the connection failed */
    if (nh_ws_write(ws, type, data, len, NH_NO_DEADLINE) != NH_OK)
      break;
  }
  nh_ws_free(ws);
}
