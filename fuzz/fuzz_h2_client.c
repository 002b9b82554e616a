/* Fuzz target: bytes as a server's side of an HTTP/2 connection, through
 * the client's connection (src/http2/h2_client*.c): nghttp2's framing and
 * HPACK, then this client's callbacks (headers, 1xx, trailers, data into
 * the stream's buffer, resets, GOAWAY, SETTINGS), its I/O thread, and a
 * caller reading the head, the body and the trailers.
 *
 * Input: byte 0 holds flags (bit 0: the request is a POST with a body, so
 * the send path and flow control run too; bits 1-2: the caller's read
 * size). The rest is what the server sends, then the server closes. What
 * must always hold: no crash, leak or hang (every wait ends: the end of
 * the input ends the connection and fails what is left), a status of
 * three digits, and never more body bytes than the input held. */
#include "http2/h2_client.h"
#include "nethttp/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t io_read(void *arg, void *buf, size_t n) {
  ssize_t r = read(*(int *)arg, buf, n);
  return r < 0 ? (errno == EAGAIN ? NH_EAGAIN : -errno) : r;
}

static ssize_t io_write(void *arg, const void *buf, size_t n) {
  (void)arg;
  (void)buf;
  return (ssize_t)n; /* what the client sends goes nowhere */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int post = data[0] & 1;
  static const size_t read_sizes[] = {1, 7, 1024, 65536};
  size_t cap = read_sizes[(data[0] >> 1) & 3];
  data++;
  size--;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return 0;
  /* The client's end is non-blocking: its reads say NH_EAGAIN when empty. */
  if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) != 0)
    abort();
  nh__h2c_config cfg = {.stream_window = 65535, .conn_window = 1 << 20,
                        .max_header_list = 64 * 1024, .read_idle = -1, .ping_timeout = -1};
  nh__h2c_io io = {.arg = &sv[0], .try_read = io_read, .try_write = io_write, .fd = sv[0]};
  nh__h2c *c;
  if (nh__h2c_new(&cfg, &io, &c) != NH_OK)
    abort();
  nh__h2_req req = {.method = post ? "POST" : "GET", .scheme = "https",
                    .authority = "example.com", .path = "/p?q",
                    .content_length = post ? 11 : -1, .has_body = post};
  nh__h2s *s;
  if (nh__h2s_open(c, &req, &s) != NH_OK)
    abort();
  /* The server's bytes, then its end of the connection. */
  for (size_t off = 0; off < size;) {
    ssize_t w = write(sv[1], data + off, size - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  shutdown(sv[1], SHUT_WR);
  nh_time deadline = nh_deadline_after(10 * NH_SEC);
  if (post && nh__h2s_write(s, "hello world", 11, deadline) == NH_OK)
    nh__h2s_end(s);
  nh_header *head = nh_header_new(), *trailer = NULL;
  int status = 0, no_body = 0, got_any = 0;
  if (nh__h2s_read_head(s, deadline, &status, head, &no_body, &got_any) == NH_OK) {
    if (status < 100 || status > 999)
      abort();
    char *buf = malloc(cap);
    size_t total = 0;
    ssize_t n;
    while ((n = nh__h2s_read_body(s, buf, cap, deadline, &trailer)) > 0) {
      if ((size_t)n > cap)
        abort();
      total += (size_t)n;
    }
    if (total > size)
      abort();
    free(buf);
  }
  nh__h2s_close(s);
  nh__h2c_free(c);
  nh_header_free(head);
  nh_header_free(trailer);
  close(sv[0]);
  close(sv[1]);
  return 0;
}
