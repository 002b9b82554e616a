/* A request body on the wire, with an eye on the answer.
 *
 * RFC 9112 9.6: a client sending a body watches the connection for a
 * response while it sends, and stops if the server does not want the rest.
 * Go writes on one goroutine and reads on another. Here one fiber does
 * both: each write is a single attempt, and only when the socket is full
 * (the server is not reading) is whatever the server sent read and parsed
 * as the response head; then the fiber waits for the socket to take more
 * OR for more of the answer. A final answer ends the sending: the rest of
 * the body is never sent, and the caller closes the connection after that
 * response (the request's framing was cut). A body the server takes as
 * fast as it comes costs what it always did: one write per piece. */
#include "h1_conn.h"
#include "http1/h1_write.h"

#include <string.h>

/* Writes n bytes. watch: while the socket is full, look for a final
 * answer. */
static int write_all(nh__cconn *c, const char *p, size_t n, int watch, nh_time deadline) {
  nh_fd *fd = c->tls ? nh_tls_fd(c->tls) : c->fd;
  while (n) {
    ssize_t w = nh__cconn_try_write(c, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w != NH_EAGAIN && w != 0)
      return (int)w;
    if (watch) {
      int r = nh__h1c_poll_head(c);
      if (r == 1)
        return NH__EARLY_ANSWER;
      if (r)
        return r;
    }
    int e = nh_fd_wait(fd, watch ? NH_FD_READ | NH_FD_WRITE : NH_FD_WRITE, deadline);
    if (e)
      return e;
  }
  return NH_OK;
}

static int send_body(nh__cconn *c, nh_client_request *req, int watch, nh_time deadline);

int nh__h1c_send_body(nh__cconn *c, nh_client_request *req, int watch, nh_time deadline) {
  int e = req->body == BODY_NONE ? NH_OK : send_body(c, req, watch, deadline);
  nh__trace_wrote_request(req->trace, e < 0 ? e : NH_OK); /* an early answer ends the writing too */
  return e;
}

static int send_body(nh__cconn *c, nh_client_request *req, int watch, nh_time deadline) {
  char buf[NH__H1_CHUNK_LINE_MAX + 16384 + 2];
  off_t off = 0;
  int chunked = req->length < 0;
  int64_t sent = 0;
  for (;;) {
    char *data = buf + (chunked ? NH__H1_CHUNK_LINE_MAX : 0);
    ssize_t n = nh__creq_body_read(req, data, 16384, &off);
    if (n < 0)
      return (int)n;
    if (n == 0)
      break;
    size_t len = (size_t)n;
    char *start = data;
    if (chunked) { /* frame it: size line before, CRLF after */
      char line[NH__H1_CHUNK_LINE_MAX];
      size_t h = nh__h1_chunk_line(line, len);
      start = data - h;
      memcpy(start, line, h);
      memcpy(data + len, NH__H1_CHUNK_END, 2);
      len += h + 2;
    }
    int e = write_all(c, start, len, watch, deadline);
    if (e)
      return e;
    sent += n;
    if (!chunked && sent >= req->length)
      break;
  }
  if (chunked)
    return write_all(c, NH__H1_LAST_CHUNK, sizeof NH__H1_LAST_CHUNK - 1, watch, deadline);
  if (sent != req->length)
    return NH_EINVAL; /* the body was shorter than its declared length */
  return NH_OK;
}
