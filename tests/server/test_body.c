/* Request bodies: Content-Length and chunked (with trailers), 100-continue
 * only when the handler reads, and seed bug 3: an ignored body is drained
 * up to 256 KiB to keep the connection, beyond that Connection: close. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

static void echo(nh_response_writer *w, nh_request *r) {
  char buf[1000];
  ssize_t n;
  long total = 0;
  char *all = malloc(1 << 20);
  while ((n = nh_request_read(r, buf, sizeof buf)) > 0) {
    memcpy(all + total, buf, (size_t)n);
    total += n;
  }
  CHECK_EQ(n, 0);
  nh_header *tr = nh_request_trailer(r);
  if (tr && nh_header_get(tr, "X-Checksum"))
    nh_header_set(nh_resp_header(w), "X-Got-Trailer", nh_header_get(tr, "X-Checksum"));
  nh_resp_write(w, all, (size_t)total);
  free(all);
}

NH_TEST(content_length_and_chunked_bodies) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_resp r;
  CHECK(raw_sends(c->fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "hello world");
  raw_resp_free(&r);
  CHECK(raw_sends(c->fd, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Checksum: abc\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "hello world");
  CHECK_STR(raw_header(&r, "X-Got-Trailer"), "abc");
  raw_resp_free(&r);
  /* A 600 KB body in many writes, read in 1000-byte pieces. */
  char head[128];
  int blen = 600000;
  snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", blen);
  CHECK(raw_sends(c->fd, head) == 0);
  char *body = malloc((size_t)blen);
  for (int i = 0; i < blen; i++)
    body[i] = (char)('A' + i % 23);
  CHECK(raw_send(c->fd, body, (size_t)blen) == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.blen, (size_t)blen);
  CHECK(memcmp(r.body, body, (size_t)blen) == 0);
  raw_resp_free(&r);
  free(body);
  CHECK(!raw_closed(c, 50));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Reads with a buffer larger than the server's, so a Content-Length body
 * comes from the socket straight into it; answers with the byte count and
 * a hash of the bytes. */
static uint32_t fnv1a(uint32_t h, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

static void hashes_body(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/next")) {
    nh_resp_write_string(w, "next");
    return;
  }
  size_t cap = 65536;
  char *buf = malloc(cap);
  ssize_t n;
  long total = 0;
  uint32_t h = 2166136261u;
  while ((n = nh_request_read(r, buf, cap)) > 0) {
    h = fnv1a(h, buf, (size_t)n);
    total += n;
  }
  free(buf);
  nh_resp_printf(w, "%zd %ld %08x", n, total, h);
}

/* The body's last bytes and a whole next request arrive in one write: the
 * large reads take exactly the body, and the next request is answered. */
NH_TEST(large_reads_take_the_body_and_leave_the_next_request) {
  nh_test_server *ts = nh_test_server_new(hashes_body, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  int blen = 300001;
  char *body = malloc((size_t)blen);
  for (int i = 0; i < blen; i++)
    body[i] = (char)(i * 7 + i / 251);
  char want[64];
  snprintf(want, sizeof want, "0 %d %08x", blen, fnv1a(2166136261u, body, (size_t)blen));
  for (int round = 0; round < 2; round++) {
    /* Some body bytes come with the head (they are buffered), the rest in
     * large writes, the last of them with the next request behind it. */
    char head[128];
    int hlen = snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", blen);
    const char next[] = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
    int first = round == 0 ? 1000 : 0, tail = 777;
    char *msg = malloc((size_t)hlen + (size_t)blen + sizeof next);
    memcpy(msg, head, (size_t)hlen);
    memcpy(msg + hlen, body, (size_t)blen);
    memcpy(msg + hlen + blen, next, sizeof next - 1);
    CHECK(raw_send(c->fd, msg, (size_t)hlen + (size_t)first) == 0);
    usleep(20000);
    CHECK(raw_send(c->fd, msg + hlen + first, (size_t)(blen - first - tail)) == 0);
    usleep(20000);
    CHECK(raw_send(c->fd, msg + hlen + blen - tail, (size_t)tail + sizeof next - 1) == 0);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, want);
    raw_resp_free(&r);
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "next");
    raw_resp_free(&r);
    free(msg);
  }
  CHECK(!raw_closed(c, 50));
  close(c->fd);
  free(c);
  free(body);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* 100 Continue: sent the first time the handler reads, never otherwise. */
static void reads_body(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/ignore")) {
    nh_resp_write_string(w, "ignored");
    return;
  }
  char buf[64];
  ssize_t n = nh_request_read(r, buf, sizeof buf);
  nh_resp_printf(w, "read %zd", n);
}

NH_TEST(expect_100_continue) {
  nh_test_server *ts = nh_test_server_new(reads_body, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  CHECK(raw_sends(c->fd, "POST /read HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: 4\r\n\r\n") == 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0); /* the client waits for this before the body */
  CHECK_EQ(r.status, 100);
  raw_resp_free(&r);
  CHECK(raw_sends(c->fd, "data") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "read 4");
  raw_resp_free(&r);
  /* Not read: no 100, a final answer, and the connection closes (the body
   * was never asked for, so its bytes cannot be told from a next request). */
  CHECK(raw_sends(c->fd, "POST /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: 4\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "ignored");
  CHECK_STR(raw_header(&r, "Connection"), "close");
  raw_resp_free(&r);
  CHECK(raw_closed(c, 1000));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Seed bug 3. */
static void ignores_body(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "ok"); }

static void post_ignored(int port, long size, int chunked, int *kept) {
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(port);
  char head[160];
  if (chunked)
    snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  else
    snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %ld\r\n\r\n", size);
  raw_sends(c->fd, head);
  /* Send the body from a child thread-free loop: small pieces, reading
   * nothing until done; large bodies may be cut short by the server. */
  char piece[8192];
  memset(piece, 'z', sizeof piece);
  long sent = 0;
  while (sent < size) {
    long n = size - sent < (long)sizeof piece ? size - sent : (long)sizeof piece;
    char hdr[32];
    if (chunked) {
      snprintf(hdr, sizeof hdr, "%lx\r\n", n);
      if (raw_sends(c->fd, hdr))
        break;
    }
    if (raw_send(c->fd, piece, (size_t)n) || (chunked && raw_sends(c->fd, "\r\n")))
      break;
    sent += n;
  }
  if (chunked && sent == size)
    raw_sends(c->fd, "0\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  const char *conn = raw_header(&r, "Connection");
  *kept = !(conn && !strcmp(conn, "close"));
  raw_resp_free(&r);
  if (*kept) { /* really kept: a second request works */
    raw_sends(c->fd, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_STR(r.body, "ok");
    raw_resp_free(&r);
  } else {
    CHECK(raw_closed(c, 2000));
  }
  close(c->fd);
  free(c);
}

NH_TEST(ignored_body_drained_or_closed) {
  nh_test_server *ts = nh_test_server_new(ignores_body, NULL, 1);
  int port = nh_test_server_port(ts);
  int kept;
  post_ignored(port, 100 * 1024, 0, &kept);
  CHECK_EQ(kept, 1);
  post_ignored(port, 100 * 1024, 1, &kept);
  CHECK_EQ(kept, 1);
  post_ignored(port, 1024 * 1024, 0, &kept);
  CHECK_EQ(kept, 0);
  post_ignored(port, 1024 * 1024, 1, &kept);
  CHECK_EQ(kept, 0);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.bodies_drained, 2);
  CHECK_EQ(st.bodies_too_large_closed, 2);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Seed bug 14: a handler that refuses a large upload with 413 before
 * reading it. The client, still sending, must get the 413 (not a reset
 * that destroys it), and the connection closes. */
static void too_large(nh_response_writer *w, nh_request *r) {
  if (nh_request_content_length(r) > 1024) {
    nh_resp_write_header(w, 413);
    nh_resp_write_string(w, "too large\n");
    return;
  }
  nh_resp_write_string(w, "ok");
}

NH_TEST(refused_upload_gets_413_not_reset) {
  nh_test_server *ts = nh_test_server_new(too_large, NULL, 1);
  for (int round = 0; round < 5; round++) {
    raw_conn *c = calloc(1, sizeof *c);
    c->fd = raw_connect(nh_test_server_port(ts));
    raw_sends(c->fd, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n");
    char piece[16384];
    memset(piece, 'u', sizeof piece);
    for (int i = 0; i < 40; i++) /* keep sending while the server answers */
      if (raw_send(c->fd, piece, sizeof piece))
        break;
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 413);
    CHECK_STR(r.body, "too large\n");
    CHECK_STR(raw_header(&r, "Connection"), "close");
    raw_resp_free(&r);
    close(c->fd);
    free(c);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
