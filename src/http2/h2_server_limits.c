/* The HTTP/2 server's limits and its defences against cheap attacks.
 *
 * Each attack costs the attacker little and the server much, so each has
 * a budget; past it the connection ends (GOAWAY ENHANCE_YOUR_CALM), is
 * counted in the server's stats and logged at DEBUG with the peer:
 * - rapid reset (CVE-2023-44487): a stream holds a handler slot until its
 *   fiber returns, RST_STREAM or not; past the slots a small queue, past
 *   the queue the connection (h2_server_session.c). nghttp2's own reset
 *   rate limit is on too where Debian's nghttp2 has it.
 * - CONTINUATION floods and HPACK bombs: the decoded header list is
 *   counted as it is decoded (RFC 9113 6.5.2 sizes): past max_header_bytes
 *   the request gets 431, past twice that the connection ends. nghttp2
 *   caps CONTINUATION frames per block where it can.
 * - control-frame floods: nghttp2 ends a connection whose client leaves
 *   more than 1000 PING/SETTINGS acks unread, or sends too many settings.
 * - frames that carry nothing (empty DATA without END_STREAM, PRIORITY):
 *   max_empty_frames per connection, as nginx counts them. */
#include "http2/h2_server_internal.h"

#include "nethttp/errors.h"

int nh__h2_options(const nh__h2_host *h, nghttp2_option **out) {
  nghttp2_option *o;
  if (nghttp2_option_new(&o) != 0)
    return NH_ENOMEM;
  /* WINDOW_UPDATE follows the handler's reads (nghttp2_session_consume):
   * an upload nobody reads costs at most its window. */
  nghttp2_option_set_no_auto_window_update(o, 1);
  nghttp2_option_set_max_outbound_ack(o, 1000);
  nghttp2_option_set_max_settings(o, 32);
#ifdef NH_HAVE_NGHTTP2_RESET_RATE_LIMIT
  nghttp2_option_set_stream_reset_rate_limit(o, 1000, 33); /* nghttp2's burst and rate */
#endif
#ifdef NH_HAVE_NGHTTP2_MAX_CONTINUATIONS
  /* Enough for a full header list in frames of the minimum size. */
  size_t cont = h->max_header_bytes / 16384 * 2 + 8;
  nghttp2_option_set_max_continuations(o, cont);
#else
  (void)h;
#endif
  *out = o;
  return NH_OK;
}

int nh__h2_settings(nh__h2_conn *c) {
  const struct nh_http2_config *cfg = &c->host->cfg;
  size_t hl = c->host->max_header_bytes;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, cfg->max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, hl > UINT32_MAX ? UINT32_MAX : (uint32_t)hl},
  };
  if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0)
    return NH_ENOMEM;
  if (cfg->conn_window > 65535 &&
      nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
                                            (int32_t)cfg->conn_window) != 0)
    return NH_ENOMEM;
  return NH_OK;
}

static const char *ev_name(int ev) {
  switch (ev) {
  case NH__H2_EV_RAPID_RESET: return "rapid reset: streams beyond the handler slots and queue";
  case NH__H2_EV_HEADER_FLOOD: return "header block over twice the header budget";
  case NH__H2_EV_CONTROL_FLOOD: return "control frame flood";
  case NH__H2_EV_EMPTY_FLOOD: return "flood of frames carrying nothing";
  default: return "abuse";
  }
}

void nh__h2_abuse(nh__h2_conn *c, int ev, uint32_t code, const char *what) {
  if (c->abusive)
    return;
  c->abusive = 1;
  c->host->count(c->host, ev);
  c->host->close_why(c->owner, NH_CLOSE_ERROR_REPLY);
  NH_LOG(c->host->log, NH_LOG_DEBUG, "HTTP/2 connection ended for abuse",
         NH_LSTR("remote", c->remote), NH_LSTR("reason", what ? what : ev_name(ev)),
         NH_LSTR("error", nghttp2_http2_strerror(code)));
  nghttp2_session_terminate_session(c->ng, code);
  c->dead = 1;
}

int nh__h2_header_budget(nh__h2_conn *c, nh__h2_sstream *s, size_t nlen, size_t vlen) {
  s->hbytes += nlen + vlen + 32;
  if (s->hbytes > 2 * c->host->max_header_bytes) {
    nh__h2_abuse(c, NH__H2_EV_HEADER_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM, NULL);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (s->hbytes > c->host->max_header_bytes)
    s->too_large = 1;
  return 0;
}

int nh__h2_empty_frame(nh__h2_conn *c) {
  if (++c->empty_frames <= c->host->cfg.max_empty_frames)
    return 0;
  nh__h2_abuse(c, NH__H2_EV_EMPTY_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM, NULL);
  return 1;
}
