/* HTTP/1.1 as a client connection's protocol (nh__h1_cconn_ops): one
 * exchange at a time, the connection taken out of the pool while it runs.
 *
 * start sends the head and then the body with an eye on the answer: a final
 * answer that comes before the body is all written is the response (the
 * rest is not sent and the connection is not reused), as is one the server
 * sent before it hung up on the body. read_head then has it already, or
 * reads it once the request is all sent. */
#include "h1_conn.h"
#include "runtime/netpoll_internal.h"

#include <stdlib.h>
#include <string.h>

/* How long an answer the server sent before it closed is looked for after
 * the body's write failed (Go's writeLoop and readLoop race the same way:
 * the answer wins). The bytes are normally there already. */
#define EARLY_ANSWER_GRACE (50 * NH_MSEC)

static nh_time earliest(nh_time a, nh_time b) { return a < b ? a : b; }

/* The response header timeout from now, within deadline. */
static nh_time header_deadline(const nh_transport *t, nh_time deadline) {
  if (t->cfg.response_header_timeout == NH_NO_TIMEOUT)
    return deadline;
  return earliest(nh_deadline_after(t->cfg.response_header_timeout), deadline);
}

/* Go's Request.wantsClose: this request ends its connection. */
static int request_closes(const nh_transport *t, const nh_client_request *req) {
  return t->cfg.disable_keepalives || nh_header_has_token(req->header, "Connection", "close");
}

/* A write that failed because the server hung up (it may have answered
 * first). */
static int hung_up(int e) { return e == NH_EPIPE || e == NH_ECONNRESET || e == NH_ECONNABORTED; }

/* The answer came while the request was not all sent: the connection
 * cannot carry another request. */
static void answered_early(nh__h1c *h) {
  h->head_ready = 1;
  h->in.parser.keep_alive = 0;
}

/* Expect: 100-continue met a final answer instead (RFC 9110 10.1.1). As Go:
 * when either side closes the connection, the body is never sent;
 * otherwise the server reads it, so it goes out before the answer is
 * returned (bounded by the response header timeout: the server already
 * answered). If that fails, the answer stands and the connection closes. */
static int answered_before_continue(nh__cconn *c, nh_client_request *req, nh_time deadline) {
  nh__h1c *h = nh__h1c_of(c);
  h->head_ready = 1;
  if (!nh__h1_response_keep_alive(&h->in) || request_closes(c->t, req)) {
    h->in.parser.keep_alive = 0;
    return NH_OK;
  }
  if (nh__h1c_send_body(c, req, 0, header_deadline(c->t, deadline)) != NH_OK)
    h->in.parser.keep_alive = 0;
  return NH_OK;
}

static int h1_start(nh__cconn *c, nh_client_request *req, nh_time deadline, nh__cstream **out) {
  nh__h1c *h = nh__h1c_of(c);
  nh_transport *t = c->t;
  h->s.trace = req->trace;
  h->s.sent_any = h->s.got_any = 0;
  h->in_flight = 1;
  h->head_ready = 0;
  h->head_request = !strcmp(req->method, "HEAD");
  *out = &h->s;
  int e = nh__h1c_send_head(c, req, deadline);
  if (e)
    return e;
  int expect = req->body != BODY_NONE && req->length != 0 &&
               nh_header_has_token(req->header, "Expect", "100-continue");
  if (expect) {
    /* Wait a little for 100 Continue (or a final answer that spares the
     * body); then send the body anyway, as Go does. */
    nh_time wait = nh_deadline_after(t->cfg.expect_continue_timeout);
    e = nh__h1c_read_head(c, 1, earliest(wait, deadline));
    if (e == NH_OK && nh__h1_response_status(&h->in) != 100)
      return answered_before_continue(c, req, deadline);
    if (e != NH_OK && !(e == NH_ETIMEDOUT && nh_now() < deadline))
      return e;
  }
  e = nh__h1c_send_body(c, req, 1, deadline);
  if (e == NH__EARLY_ANSWER) {
    answered_early(h); /* the body was cut short: the framing is lost */
    c->reset_on_close = 1;
    return NH_OK;
  }
  if (hung_up(e)) {
    nh_time grace = nh_deadline_after(EARLY_ANSWER_GRACE);
    if (nh__h1c_read_head(c, 0, earliest(grace, deadline)) == NH_OK) {
      answered_early(h);
      return NH_OK;
    }
  }
  return e;
}

static int h1_read_head(nh__cstream *s, nh_client_request *req, nh_time deadline,
                        nh__chead *head) {
  (void)req;
  nh__cconn *c = s->conn;
  nh__h1c *h = nh__h1c_of(c);
  nh_transport *t = c->t;
  if (!h->head_ready) {
    /* The request is all sent: the response header timeout starts now. */
    nh_time rh = header_deadline(t, deadline);
    nh__netpoll_spin(t->cfg.reply_spin);
    int e = nh__h1c_read_head(c, 0, rh);
    if (e)
      return e;
    h->head_ready = 1;
  }
  nh__h1_response *in = &h->in;
  head->status = nh__h1_response_status(in);
  nh__h1_response_proto(in, head->proto);
  int e = nh__h1_response_fields(in, head->header);
  if (e)
    return e;
  head->content_length = nh__h1_response_content_length(in);
  head->close = !nh__h1_response_keep_alive(in) || t->cfg.disable_keepalives;
  head->no_body = !nh__h1_response_has_body(in);
  if (nh__h1_response_chunked(in)) {
    head->trailer = nh_header_new();
    nh__h1_response_set_trailer(in, head->trailer);
  }
  return NH_OK;
}

static ssize_t h1_read_body(nh__cstream *s, void *out, size_t cap, nh_time deadline) {
  return nh__h1c_read_body(s->conn, out, cap, deadline);
}

static void h1_close_stream(nh__cstream *s, int complete) {
  nh__cconn *c = s->conn;
  nh__h1c *h = nh__h1c_of(c);
  h->in_flight = 0;
  nh__h1_response_set_trailer(&h->in, NULL); /* the response's map may go now */
  if (!complete || !h->head_ready || !nh__h1_response_keep_alive(&h->in) ||
      c->t->cfg.disable_keepalives)
    c->broken = 1;
  else
    nh__h1_response_idle(&h->in);
}

static int h1_can_take(const nh__cconn *c) { return !nh__h1c_of(c)->in_flight; }

static int h1_attach(nh__cconn *c) {
  nh__h1c *h = malloc(sizeof *h);
  if (!h)
    return NH_ENOMEM;
  memset(&h->s, 0, sizeof h->s);
  h->s.conn = c;
  h->in_flight = h->head_ready = h->head_request = 0;
  if (nh__h1_response_init(&h->in, c->t->cfg.max_response_header_bytes) != NH_OK) {
    free(h);
    return NH_ENOMEM;
  }
  c->proto = h;
  return NH_OK;
}

static void h1_detach(nh__cconn *c) {
  nh__h1c *h = nh__h1c_of(c);
  if (!h)
    return;
  nh__h1_response_dispose(&h->in);
  free(h);
  c->proto = NULL;
}

const nh__cconn_ops nh__h1_cconn_ops = {
    .alpn = "http/1.1",
    .shared = 0,
    .attach = h1_attach,
    .detach = h1_detach,
    .start = h1_start,
    .read_head = h1_read_head,
    .read_body = h1_read_body,
    .close_stream = h1_close_stream,
    .can_take = h1_can_take,
};
