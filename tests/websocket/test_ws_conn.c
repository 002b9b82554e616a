/* WebSocket connections over real sockets (socket pairs): two nh_ws
 * talking, and hand-built frames from a plain socket to an nh_ws, checking
 * the close frame (its code bytes) that comes back on the wire and that
 * the socket is closed after. */
#include "harness.h"

#include "websocket/ws_echo.h"
#include "websocket/ws_internal.h"

#include <nethttp.h>
#include <nethttp/websocket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- helpers ---- */

static void pair(nh_fd **a, nh_fd **b) {
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CHECK_EQ(nh_fd_open(sv[0], a), NH_OK);
  CHECK_EQ(nh_fd_open(sv[1], b), NH_OK);
}

/* A server and a client nh_ws over one socket pair. */
static void ws_pair(const nh_ws_options *so, const nh_ws_options *co, nh_ws **srv, nh_ws **cli) {
  nh_fd *a, *b;
  pair(&a, &b);
  *srv = nh__ws_new(a, NULL, NULL, 0, 0, so, NULL, NULL);
  *cli = nh__ws_new(b, NULL, NULL, 0, 1, co, NULL, NULL);
  CHECK(*srv && *cli);
}

/* Builds a frame as a peer would: first byte b0 (FIN, RSV, opcode) as
 * given, masked with a fixed key when masked. */
static size_t frame(uint8_t *out, int b0, int masked, const void *payload, uint64_t len,
                    size_t have) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t h = nh__ws_frame_header(out, 0, 0, 0, len, masked ? key : NULL);
  out[0] = (uint8_t)b0;
  if (have) {
    memcpy(out + h, payload, have);
    if (masked)
      nh__ws_mask(out + h, have, key, 0);
  }
  return h + have;
}

#define FR(out, b0, masked, s) frame(out, b0, masked, s, sizeof(s) - 1, sizeof(s) - 1)
/* Appends a masked frame with string payload s to a raw_peer's bytes. */
#define SEND(p, b0, s) ((p)->nsend += FR((p)->send + (p)->nsend, b0, 1, s))

typedef struct raw_peer {
  nh_fd *fd;
  uint8_t send[16384];
  size_t nsend;
  uint8_t got[8192];
  size_t ngot;
  int eof; /* 1 once a read returned 0 */
  nh_wg *wg;
} raw_peer;

/* Sends its bytes, then reads everything until the end of the stream. */
static void raw_run(void *arg) {
  raw_peer *p = arg;
  if (p->nsend)
    CHECK_EQ(nh_fd_write(p->fd, p->send, p->nsend, nh_deadline_after(10 * NH_SEC)),
             (ssize_t)p->nsend);
  for (;;) {
    ssize_t n = nh_fd_read(p->fd, p->got + p->ngot, sizeof p->got - p->ngot,
                           nh_deadline_after(10 * NH_SEC));
    if (n == 0)
      p->eof = 1;
    if (n <= 0 || p->ngot + (size_t)n == sizeof p->got)
      break;
    p->ngot += (size_t)n;
  }
  nh_fd_close(p->fd);
  nh_wg_done(p->wg);
}

/* Starts the raw peer's fiber; raw_wait waits until it saw the end. */
static void raw_start(raw_peer *p) {
  p->wg = nh_wg_new();
  nh_wg_add(p->wg, 1);
  CHECK_EQ(nh_go(raw_run, p), NH_OK);
}

static void raw_wait(raw_peer *p) {
  nh_wg_wait(p->wg, NH_NO_DEADLINE);
  nh_wg_free(p->wg);
}

typedef struct server_case {
  raw_peer raw;
  nh_ws_options opt;
  int client;   /* the nh_ws under test is a client */
  int rc;       /* what its reads ended with */
  int messages; /* messages read before that */
  char last[256];
  int close_code;
} server_case;

/* An nh_ws (options c->opt, permessage-deflate pm or NULL) connected to
 * the case's raw peer, which is not started yet. */
static nh_ws *case_ws(server_case *c, const nh__wsd_params *pm) {
  nh_fd *a;
  pair(&a, &c->raw.fd);
  nh_ws *ws = nh__ws_new(a, NULL, NULL, 0, c->client, &c->opt, pm, NULL);
  CHECK(ws);
  return ws;
}

/* Runs one case: raw bytes into an nh_ws that reads until it fails. */
static void server_case_run(void *arg) {
  server_case *c = arg;
  nh_ws *ws = case_ws(c, NULL);
  raw_start(&c->raw);
  for (;;) {
    nh_ws_type t;
    const char *d;
    size_t n;
    c->rc = nh_ws_read(ws, &t, &d, &n, nh_deadline_after(20 * NH_SEC));
    if (c->rc)
      break;
    c->messages++;
    snprintf(c->last, sizeof c->last, "%.*s", (int)n, d);
  }
  c->close_code = nh_ws_close_status(ws, NULL);
  raw_wait(&c->raw);
  nh_ws_free(ws);
}

static void run_server_case(server_case *c) { CHECK_EQ(nh_run(NULL, server_case_run, c), NH_OK); }

/* Runs c, whose reads must give `messages` messages, the last one last,
 * then end with the peer's close. */
static void expect_messages(server_case *c, int messages, const char *last) {
  run_server_case(c);
  CHECK_EQ(c->messages, messages);
  CHECK_STR(c->last, last);
  CHECK_EQ(c->rc, NH_ECLOSED);
}

/* The raw side got exactly one unmasked close frame with code, then the
 * end of the stream. */
static void check_closed_with(const server_case *c, int code) {
  const uint8_t *g = c->raw.got;
  if (c->raw.ngot < 4)
    NH_FAIL("got %zu bytes, want a close frame with %d", c->raw.ngot, code);
  CHECK_EQ(g[0], 0x88);
  CHECK_EQ(g[1] & 0x80, 0);
  CHECK_EQ((size_t)(g[1] & 0x7F) + 2, c->raw.ngot);
  CHECK_EQ(g[2] << 8 | g[3], code);
  CHECK_EQ(c->raw.eof, 1);
}

/* A case where a server reads bytes and must fail with code. */
static void expect_fail(const uint8_t *bytes, size_t n, int code) {
  server_case c = {0};
  memcpy(c.raw.send, bytes, n);
  c.raw.nsend = n;
  run_server_case(&c);
  CHECK_EQ(c.rc, NH_EBADREQUEST);
  CHECK_EQ(c.close_code, NH_WS_CLOSE_ABNORMAL);
  check_closed_with(&c, code);
}

/* ---- two nh_ws talking ---- */

typedef struct echo_case {
  nh_ws *srv, *cli;
  nh_wg *wg;
  int served;
} echo_case;

static void echo_server(void *arg) {
  echo_case *e = arg;
  for (;;) {
    nh_ws_type t;
    const char *d;
    size_t n;
    int rc = nh_ws_read(e->srv, &t, &d, &n, NH_NO_DEADLINE);
    if (rc) {
      CHECK_EQ(rc, NH_ECLOSED);
      break;
    }
    CHECK_EQ(d[n], 0);
    CHECK_EQ(nh_ws_write(e->srv, t, d, n, NH_NO_DEADLINE), NH_OK);
    e->served++;
  }
  nh_wg_done(e->wg);
}

static void echo_main(void *arg) {
  (void)arg;
  echo_case e = {0};
  ws_pair(NULL, NULL, &e.srv, &e.cli);
  e.wg = nh_wg_new();
  nh_wg_add(e.wg, 1);
  CHECK_EQ(nh_go(echo_server, &e), NH_OK);
  ws_round_trip(e.cli, NH_WS_TEXT, "hello", 5);
  ws_round_trip(e.cli, NH_WS_BINARY, "\0\1\2\xff", 4);
  ws_round_trip(e.cli, NH_WS_TEXT, "", 0);
  ws_round_trip(e.cli, NH_WS_TEXT, "h\xc3\xa9llo \xf0\x9f\x98\x80", 11);
  size_t sizes[] = {125, 126, 127, 1000, 4000, 65535, 65536, 70000, 900000};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    char *big = malloc(sizes[i]);
    for (size_t j = 0; j < sizes[i]; j++)
      big[j] = (char)('a' + (j * 7 + i) % 26);
    ws_round_trip(e.cli, i % 2 ? NH_WS_BINARY : NH_WS_TEXT, big, sizes[i]);
    free(big);
  }
  /* A text message that is not UTF-8 is refused before anything is sent. */
  CHECK_EQ(nh_ws_write(e.cli, NH_WS_TEXT, "\xc3", 1, NH_NO_DEADLINE), NH_EINVAL);
  CHECK_EQ(nh_ws_close(e.cli, NH_WS_CLOSE_NORMAL, "done"), NH_OK);
  nh_wg_wait(e.wg, NH_NO_DEADLINE);
  CHECK_EQ(e.served, 13);
  const char *reason;
  CHECK_EQ(nh_ws_close_status(e.srv, &reason), NH_WS_CLOSE_NORMAL);
  CHECK_STR(reason, "done");
  CHECK_EQ(nh_ws_close_status(e.cli, &reason), NH_WS_CLOSE_NORMAL); /* the echo */
  nh_wg_free(e.wg);
  nh_ws_free(e.srv);
  nh_ws_free(e.cli);
}

NH_TEST(echo_text_binary_empty_and_large_both_sides) {
  CHECK_EQ(nh_run(NULL, echo_main, NULL), NH_OK);
}

enum { PART = 100000 };

typedef struct big_frags {
  nh_ws *ws;
  nh_wg *wg;
} big_frags;

static void write_big_frags(void *arg) {
  big_frags *b = arg;
  char *buf = malloc(PART);
  for (int i = 0; i < 3; i++) {
    memset(buf, 'x' + i, PART);
    CHECK_EQ(nh_ws_write_frame(b->ws, NH_WS_BINARY, i == 0, i == 2, buf, PART, NH_NO_DEADLINE),
             NH_OK);
  }
  free(buf);
  nh_wg_done(b->wg);
}

static void fragmented_main(void *arg) {
  (void)arg;
  nh_ws *srv, *cli;
  ws_pair(NULL, NULL, &srv, &cli);
  /* "é" split between fragments: the character is whole in the message. */
  CHECK_EQ(nh_ws_write_frame(cli, NH_WS_TEXT, 1, 0, "caf\xc3", 4, NH_NO_DEADLINE), NH_OK);
  CHECK_EQ(nh_ws_write_frame(cli, NH_WS_TEXT, 0, 0, "", 0, NH_NO_DEADLINE), NH_OK);
  CHECK_EQ(nh_ws_write_frame(cli, NH_WS_TEXT, 0, 1, "\xa9 ok", 4, NH_NO_DEADLINE), NH_OK);
  ws_expect(srv, NH_WS_TEXT, "caf\xc3\xa9 ok", 8);
  /* A large fragmented binary message from the server, written on a
   * fiber of its own while this one reads. */
  nh_wg *wg = nh_wg_new();
  nh_wg_add(wg, 1);
  big_frags bf = {srv, wg};
  CHECK_EQ(nh_go(write_big_frags, &bf), NH_OK);
  nh_ws_type t;
  const char *d;
  size_t n;
  CHECK_EQ(nh_ws_read(cli, &t, &d, &n, nh_deadline_after(10 * NH_SEC)), NH_OK);
  CHECK_EQ(t, NH_WS_BINARY);
  CHECK_EQ(n, 3 * PART);
  CHECK(d[0] == 'x' && d[PART] == 'y' && d[3 * PART - 1] == 'z');
  nh_wg_wait(wg, NH_NO_DEADLINE);
  nh_wg_free(wg);
  /* A continuation without a first frame is refused locally. */
  CHECK_EQ(nh_ws_write_frame(cli, NH_WS_TEXT, 0, 1, "x", 1, NH_NO_DEADLINE), NH_EINVAL);
  nh_ws_free(srv);
  nh_ws_free(cli);
}

NH_TEST(fragmented_write_reads_as_one_message) {
  CHECK_EQ(nh_run(NULL, fragmented_main, NULL), NH_OK);
}

/* ---- protocol errors from a raw peer: the close code on the wire ---- */

NH_TEST(unmasked_client_frame_is_1002) {
  uint8_t b[64];
  expect_fail(b, FR(b, 0x81, 0, "hi"), NH_WS_CLOSE_PROTOCOL_ERROR);
}

NH_TEST(reserved_bits_are_1002) {
  uint8_t b[64];
  expect_fail(b, FR(b, 0x81 | 0x20, 1, "hi"), 1002); /* RSV2 */
  expect_fail(b, FR(b, 0x81 | 0x10, 1, "hi"), 1002); /* RSV3 */
  expect_fail(b, FR(b, 0x81 | 0x40, 1, "hi"), 1002); /* RSV1 without deflate */
}

NH_TEST(reserved_opcodes_are_1002) {
  int ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    uint8_t b[64];
    expect_fail(b, FR(b, 0x80 | ops[i], 1, "x"), 1002);
  }
}

NH_TEST(continuation_without_message_and_new_message_inside_one_are_1002) {
  uint8_t b[128];
  expect_fail(b, FR(b, 0x80, 1, "x"), 1002);
  size_t n = FR(b, 0x01, 1, "part");
  n += FR(b + n, 0x81, 1, "new");
  expect_fail(b, n, 1002);
}

NH_TEST(bad_control_frames_are_1002) {
  uint8_t b[512], big[126];
  memset(big, 'p', sizeof big);
  expect_fail(b, frame(b, 0x89, 1, big, 126, 126), 1002); /* ping > 125 */
  expect_fail(b, FR(b, 0x09, 1, "p"), 1002);               /* fragmented ping */
  expect_fail(b, FR(b, 0x88, 1, "\x03"), 1002);            /* 1-byte close */
}

NH_TEST(invalid_close_codes_are_1002) {
  int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    uint8_t p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]}, b[64];
    expect_fail(b, frame(b, 0x88, 1, p, 2, 2), 1002);
  }
}

NH_TEST(close_reason_not_utf8_is_1007) {
  uint8_t b[64];
  expect_fail(b, FR(b, 0x88, 1, "\x03\xe8\xff bad"), 1007);
}

NH_TEST(valid_close_codes_are_echoed_and_read_says_closed) {
  int good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    uint8_t p[6] = {(uint8_t)(good[i] >> 8), (uint8_t)good[i], 'b', 'y', 'e'};
    server_case c = {0};
    c.raw.nsend = frame(c.raw.send, 0x88, 1, p, 5, 5);
    run_server_case(&c);
    CHECK_EQ(c.rc, NH_ECLOSED);
    CHECK_EQ(c.close_code, good[i]);
    check_closed_with(&c, good[i]); /* the echo: the same code, no reason */
    CHECK_EQ(c.raw.ngot, 4);
  }
  /* An empty close is answered with an empty one; the status is 1005. */
  server_case c = {0};
  c.raw.nsend = frame(c.raw.send, 0x88, 1, "", 0, 0);
  run_server_case(&c);
  CHECK_EQ(c.rc, NH_ECLOSED);
  CHECK_EQ(c.close_code, NH_WS_CLOSE_NO_STATUS);
  CHECK_EQ(c.raw.ngot, 2);
  CHECK(c.raw.got[0] == 0x88 && c.raw.got[1] == 0);
  CHECK_EQ(c.raw.eof, 1);
}

NH_TEST(text_not_utf8_is_1007) {
  uint8_t b[64];
  expect_fail(b, FR(b, 0x81, 1, "ab\xc0\xaf"), 1007); /* overlong */
  expect_fail(b, FR(b, 0x81, 1, "\xed\xa0\x80"), 1007); /* surrogate */
  expect_fail(b, FR(b, 0x81, 1, "\xf4\x90\x80\x80"), 1007); /* > U+10FFFF */
  expect_fail(b, FR(b, 0x81, 1, "ends in \xe2\x82"), 1007); /* cut short */
}

NH_TEST(bad_utf8_fails_fast_before_the_message_ends) {
  /* The first fragment has a bad byte; the message never ends (no FIN
   * frame follows), yet the connection fails with 1007. */
  uint8_t b[64];
  expect_fail(b, FR(b, 0x01, 1, "ok \xff more"), 1007);
  /* Also when the bad byte only shows across fragments: E2 then 28. */
  size_t n = FR(b, 0x01, 1, "a\xe2");
  n += FR(b + n, 0x00, 1, "\x28");
  expect_fail(b, n, 1007);
}

NH_TEST(split_utf8_across_fragments_is_accepted) {
  server_case c = {0};
  SEND(&c.raw, 0x01, "\xf0\x9f");
  SEND(&c.raw, 0x00, "\x98");
  SEND(&c.raw, 0x80, "\x80!");
  SEND(&c.raw, 0x88, "\x03\xe8");
  expect_messages(&c, 1, "\xf0\x9f\x98\x80!");
}

NH_TEST(too_big_is_1009_before_the_payload_arrives) {
  uint8_t b[32];
  /* Only the headers are sent: 2 MiB (over the 1 MiB default) and 2^62. */
  expect_fail(b, frame(b, 0x82, 1, NULL, 2u << 20, 0), 1009);
  expect_fail(b, frame(b, 0x82, 1, NULL, (uint64_t)1 << 62, 0), 1009);
  /* Fragments adding up past max_message. */
  server_case c = {0};
  c.opt.max_message = 1000;
  static uint8_t part[600];
  size_t n = frame(c.raw.send, 0x02, 1, part, sizeof part, sizeof part);
  n += frame(c.raw.send + n, 0x80, 1, NULL, 600, 0);
  c.raw.nsend = n;
  run_server_case(&c);
  CHECK_EQ(c.rc, NH_EBADREQUEST);
  check_closed_with(&c, 1009);
  /* max_frame alone. */
  server_case f = {0};
  f.opt.max_frame = 100;
  f.raw.nsend = frame(f.raw.send, 0x02, 1, part, 101, 101);
  run_server_case(&f);
  CHECK_EQ(f.rc, NH_EBADREQUEST);
  check_closed_with(&f, 1009);
}

NH_TEST(idle_timeout_closes_1001) {
  server_case c = {0};
  c.opt.read_idle_timeout = 200 * NH_MSEC;
  run_server_case(&c);
  CHECK_EQ(c.rc, NH_ETIMEDOUT);
  check_closed_with(&c, NH_WS_CLOSE_GOING_AWAY);
}

NH_TEST(client_rejects_masked_server_frames) {
  server_case c = {0};
  c.client = 1;
  c.raw.nsend = FR(c.raw.send, 0x81, 1, "masked");
  run_server_case(&c);
  CHECK_EQ(c.rc, NH_EBADREQUEST);
  /* The client's close is masked: unmask it to read the code. */
  uint8_t *g = c.raw.got;
  CHECK(c.raw.ngot >= 8);
  CHECK_EQ(g[0], 0x88);
  CHECK_EQ(g[1], 0x80 | 2);
  nh__ws_mask(g + 6, 2, g + 2, 0);
  CHECK_EQ(g[6] << 8 | g[7], 1002);
  CHECK_EQ(c.raw.eof, 1);
}

/* Reads exactly n bytes from a raw socket. */
static void raw_read_exact(nh_fd *fd, uint8_t *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = nh_fd_read(fd, out + got, n - got, nh_deadline_after(10 * NH_SEC));
    if (k <= 0)
      NH_FAIL("read %zd after %zu of %zu bytes", k, got, n);
    got += (size_t)k;
  }
}

typedef struct interleave_case {
  nh_ws *srv;
  nh_wg *wg;
  int read_rc;
  int whole_done;
} interleave_case;

static void interleave_reader(void *arg) {
  interleave_case *c = arg;
  nh_ws_type t;
  const char *d;
  size_t n;
  c->read_rc = nh_ws_read(c->srv, &t, &d, &n, nh_deadline_after(20 * NH_SEC));
  nh_wg_done(c->wg);
}

static void interleave_writer(void *arg) {
  interleave_case *c = arg;
  CHECK_EQ(nh_ws_write(c->srv, NH_WS_TEXT, "whole", 5, NH_NO_DEADLINE), NH_OK);
  c->whole_done = 1;
  nh_wg_done(c->wg);
}

static void interleave_main(void *arg) {
  (void)arg;
  interleave_case c = {0};
  nh_fd *a, *b;
  pair(&a, &b);
  c.srv = nh__ws_new(a, NULL, NULL, 0, 0, NULL, NULL, NULL);
  CHECK(c.srv);
  c.wg = nh_wg_new();
  /* A fragmented message is started... */
  CHECK_EQ(nh_ws_write_frame(c.srv, NH_WS_TEXT, 1, 0, "part1", 5, NH_NO_DEADLINE), NH_OK);
  nh_wg_add(c.wg, 2);
  CHECK_EQ(nh_go(interleave_reader, &c), NH_OK);
  CHECK_EQ(nh_go(interleave_writer, &c), NH_OK);
  /* ...a ping comes while it is unfinished: the pong goes out at once,
   * between the fragments; another fiber's message waits for the end. */
  uint8_t f[64];
  size_t n = FR(f, 0x89, 1, "hi");
  CHECK_EQ(nh_fd_write(b, f, n, nh_deadline_after(5 * NH_SEC)), (ssize_t)n);
  uint8_t got[11];
  raw_read_exact(b, got, 11);
  CHECK(memcmp(got, "\x01\x05part1\x8a\x02hi", 11) == 0);
  for (int i = 0; i < 20; i++)
    nh_yield();
  CHECK_EQ(c.whole_done, 0);
  CHECK_EQ(nh_ws_write_frame(c.srv, NH_WS_TEXT, 0, 1, "part2", 5, NH_NO_DEADLINE), NH_OK);
  raw_read_exact(b, got, 7);
  CHECK(memcmp(got, "\x80\x05part2", 7) == 0);
  raw_read_exact(b, got, 7);
  CHECK(memcmp(got, "\x81\x05whole", 7) == 0);
  CHECK_SOON(c.whole_done == 1);
  /* The peer's close ends the read; its echo follows. */
  n = FR(f, 0x88, 1, "\x03\xe8");
  CHECK_EQ(nh_fd_write(b, f, n, nh_deadline_after(5 * NH_SEC)), (ssize_t)n);
  raw_read_exact(b, got, 4);
  CHECK(memcmp(got, "\x88\x02\x03\xe8", 4) == 0);
  nh_wg_wait(c.wg, NH_NO_DEADLINE);
  CHECK_EQ(c.read_rc, NH_ECLOSED);
  CHECK_EQ(nh_fd_read(b, got, 1, nh_deadline_after(5 * NH_SEC)), 0); /* then the end */
  nh_wg_free(c.wg);
  nh_ws_free(c.srv);
  nh_fd_close(b);
}

NH_TEST(pong_goes_between_our_fragments_and_other_messages_wait) {
  CHECK_EQ(nh_run(NULL, interleave_main, NULL), NH_OK);
}

static void deadline_main(void *arg) {
  server_case *c = arg;
  nh_ws *ws = case_ws(c, NULL);
  nh_ws_type t;
  const char *d;
  size_t n;
  /* The caller's deadline passes (the idle timeout is far): no close is
   * sent, and the read side stays failed. */
  CHECK_EQ(nh_ws_read(ws, &t, &d, &n, nh_deadline_after(50 * NH_MSEC)), NH_ETIMEDOUT);
  CHECK_EQ(nh_ws_read(ws, &t, &d, &n, nh_deadline_after(5 * NH_SEC)), NH_ETIMEDOUT);
  raw_start(&c->raw);
  nh_ws_free(ws); /* the raw side sees the end, with nothing before it */
  raw_wait(&c->raw);
}

NH_TEST(caller_deadline_times_out_without_closing) {
  server_case c = {0};
  CHECK_EQ(nh_run(NULL, deadline_main, &c), NH_OK);
  CHECK_EQ(c.raw.ngot, 0);
  CHECK_EQ(c.raw.eof, 1);
}

/* ---- fairness ---- */

/* A peer that keeps the socket full does not keep the loop: a reader of
 * many buffered messages steps aside for the loop's other fibers now and
 * then (a fiber that only yields counts its turns). */
typedef struct turns {
  int stop;
  long ticks;
} turns;

static void spinner(void *arg) {
  turns *t = arg;
  while (!t->stop) {
    t->ticks++;
    nh_yield();
  }
}

static void turns_main(void *arg) {
  (void)arg;
  enum { MESSAGES = 600, SIZE = 100 };
  nh_fd *a, *b;
  pair(&a, &b);
  nh_ws_options opt = {0};
  nh_ws *ws = nh__ws_new(a, NULL, NULL, 0, 0, &opt, NULL, NULL);
  CHECK(ws);
  uint8_t *buf = malloc(MESSAGES * (SIZE + 16));
  size_t n = 0;
  char payload[SIZE];
  for (int i = 0; i < MESSAGES; i++) {
    memset(payload, 'a' + i % 26, sizeof payload);
    n += frame(buf + n, 0x81, 1, payload, SIZE, SIZE);
  }
  /* All of it waits in the socket: the reader never finds it empty. */
  CHECK_EQ(nh_fd_write(b, buf, n, nh_deadline_after(5 * NH_SEC)), (ssize_t)n);
  turns t = {0};
  CHECK_EQ(nh_go(spinner, &t), NH_OK);
  nh_yield();
  long before = t.ticks;
  for (int i = 0; i < MESSAGES; i++) {
    nh_ws_type type;
    const char *d;
    size_t len;
    CHECK_EQ(nh_ws_read(ws, &type, &d, &len, nh_deadline_after(5 * NH_SEC)), NH_OK);
    CHECK_EQ(len, SIZE);
    CHECK_EQ(d[0], 'a' + i % 26);
  }
  long during = t.ticks - before;
  t.stop = 1;
  nh_yield(); /* the spinner sees stop and ends */
  CHECK(during >= 2); /* 60 KB come in reads of about 1 KB: a turn every 16 */
  free(buf);
  nh_ws_free(ws);
  nh_fd_close(b);
}

NH_TEST(reader_of_a_full_socket_lets_other_fibers_run) {
  CHECK_EQ(nh_run(NULL, turns_main, NULL), NH_OK);
}

/* ---- pings ---- */

NH_TEST(ping_between_fragments_answered_in_order) {
  server_case c = {0};
  SEND(&c.raw, 0x01, "frag");
  SEND(&c.raw, 0x89, "p1");
  SEND(&c.raw, 0x00, "ment");
  SEND(&c.raw, 0x89, "p2");
  SEND(&c.raw, 0x80, "ed");
  SEND(&c.raw, 0x8A, "unsolicited pong");
  SEND(&c.raw, 0x88, "\x03\xe8");
  expect_messages(&c, 1, "fragmented");
  static const uint8_t want[] = {0x8A, 2, 'p', '1', 0x8A, 2, 'p', '2', 0x88, 2, 0x03, 0xe8};
  CHECK_EQ(c.raw.ngot, sizeof want);
  CHECK(memcmp(c.raw.got, want, sizeof want) == 0);
  CHECK_EQ(c.raw.eof, 1);
}

typedef struct pong_seen {
  char data[32];
  int n;
} pong_seen;

static void on_pong(nh_ws *ws, const void *d, size_t len, void *arg) {
  (void)ws;
  pong_seen *p = arg;
  snprintf(p->data, sizeof p->data, "%.*s", (int)len, (const char *)d);
  p->n++;
}

static void ping_main(void *arg) {
  (void)arg;
  echo_case e = {0};
  ws_pair(NULL, NULL, &e.srv, &e.cli);
  e.wg = nh_wg_new();
  nh_wg_add(e.wg, 1);
  CHECK_EQ(nh_go(echo_server, &e), NH_OK);
  pong_seen ps = {0};
  nh_ws_on_pong(e.cli, on_pong, &ps);
  CHECK_EQ(nh_ws_ping(e.cli, "are you there", 13, NH_NO_DEADLINE), NH_OK);
  char big[126] = {0};
  CHECK_EQ(nh_ws_ping(e.cli, big, 126, NH_NO_DEADLINE), NH_EINVAL);
  ws_round_trip(e.cli, NH_WS_TEXT, "after", 5); /* the pong came before the echo */
  CHECK_EQ(ps.n, 1);
  CHECK_STR(ps.data, "are you there");
  CHECK_EQ(nh_ws_close(e.cli, 1000, NULL), NH_OK);
  nh_wg_wait(e.wg, NH_NO_DEADLINE);
  nh_wg_free(e.wg);
  nh_ws_free(e.srv);
  nh_ws_free(e.cli);
}

NH_TEST(ping_gets_pong_with_same_payload) { CHECK_EQ(nh_run(NULL, ping_main, NULL), NH_OK); }

/* ---- over TLS ---- */

typedef struct tls_side {
  nh_tls_ctx *ctx;
  nh_fd *fd;
  nh_tls_conn *conn;
  nh_wg *wg;
} tls_side;

static void tls_server_handshake(void *arg) {
  tls_side *s = arg;
  CHECK_EQ(nh_tls_server(s->ctx, s->fd, nh_deadline_after(20 * NH_SEC), &s->conn), NH_OK);
  nh_wg_done(s->wg);
}

static nh_tls_ctx *tls_ctx(const nh_tls_config *cfg) {
  nh_tls_ctx *ctx;
  char *err = NULL;
  int e = nh_tls_config_new(cfg, &ctx, &err);
  if (e)
    NH_FAIL("nh_tls_config_new: %s: %s", nh_err_name(e), err ? err : "");
  return ctx;
}

static void tls_main(void *arg) {
  nh_tls_testcert *tc = arg;
  nh_tls_cert_file cf = {tc->cert_pem, tc->key_pem};
  nh_tls_config scfg = {.role = NH_TLS_SERVER, .certs = &cf, .ncerts = 1};
  nh_tls_config ccfg = {.role = NH_TLS_CLIENT, .ca_file = tc->ca_pem};
  tls_side srv = {.ctx = tls_ctx(&scfg), .wg = nh_wg_new()};
  nh_tls_ctx *cctx = tls_ctx(&ccfg);
  nh_fd *b;
  pair(&srv.fd, &b);
  nh_wg_add(srv.wg, 1);
  CHECK_EQ(nh_go(tls_server_handshake, &srv), NH_OK);
  nh_tls_conn *cc;
  CHECK_EQ(nh_tls_client(cctx, b, "localhost", nh_deadline_after(20 * NH_SEC), &cc), NH_OK);
  nh_wg_wait(srv.wg, NH_NO_DEADLINE);
  echo_case e = {0};
  e.srv = nh__ws_new(nh_tls_fd(srv.conn), srv.conn, NULL, 0, 0, NULL, NULL, NULL);
  e.cli = nh__ws_new(nh_tls_fd(cc), cc, NULL, 0, 1, NULL, NULL, NULL);
  CHECK(e.srv && e.cli);
  e.wg = srv.wg;
  nh_wg_add(e.wg, 1);
  CHECK_EQ(nh_go(echo_server, &e), NH_OK);
  pong_seen ps = {0};
  nh_ws_on_pong(e.cli, on_pong, &ps);
  CHECK_EQ(nh_ws_ping(e.cli, "tls", 3, NH_NO_DEADLINE), NH_OK);
  ws_round_trip(e.cli, NH_WS_TEXT, "over tls", 8);
  CHECK_STR(ps.data, "tls");
  size_t sizes[] = {0, 2000, 300000};
  for (size_t i = 0; i < 3; i++) {
    char *big = malloc(sizes[i] + 1);
    memset(big, 'q', sizes[i]);
    ws_round_trip(e.cli, NH_WS_BINARY, big, sizes[i]);
    free(big);
  }
  CHECK_EQ(nh_ws_close(e.cli, 4000, "app"), NH_OK);
  nh_wg_wait(e.wg, NH_NO_DEADLINE);
  CHECK_EQ(e.served, 4);
  CHECK_EQ(nh_ws_close_status(e.srv, NULL), 4000);
  nh_wg_free(e.wg);
  nh_ws_free(e.srv);
  nh_ws_free(e.cli);
  nh_tls_ctx_free(srv.ctx);
  nh_tls_ctx_free(cctx);
}

NH_TEST(echo_and_close_over_tls) {
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  CHECK_EQ(nh_run(NULL, tls_main, tc), NH_OK);
  nh_tls_testcert_free(tc);
}

/* ---- permessage-deflate ---- */

static void deflate_pair(const nh__wsd_params *pm, nh_ws **srv, nh_ws **cli) {
  nh_fd *a, *b;
  pair(&a, &b);
  nh_ws_options o = {0};
  o.max_message = 4 << 20;
  *srv = nh__ws_new(a, NULL, NULL, 0, 0, &o, pm, NULL);
  *cli = nh__ws_new(b, NULL, NULL, 0, 1, &o, pm, NULL);
  CHECK(*srv && *cli);
  CHECK_EQ(nh_ws_compressed(*srv), 1);
  CHECK_EQ(nh_ws_compressed(*cli), 1);
}

static void deflate_echo_main(void *arg) {
  const nh__wsd_params *pm = arg;
  echo_case e = {0};
  deflate_pair(pm, &e.srv, &e.cli);
  e.wg = nh_wg_new();
  nh_wg_add(e.wg, 1);
  CHECK_EQ(nh_go(echo_server, &e), NH_OK);
  ws_round_trip(e.cli, NH_WS_TEXT, "short: sent as it is", 20);
  ws_round_trip(e.cli, NH_WS_TEXT, "", 0);
  char *big = malloc(3 << 20);
  for (int round = 0; round < 3; round++) { /* context carried over between messages */
    size_t n = round == 2 ? (size_t)3 << 20 : 5000;
    for (size_t j = 0; j < n; j++)
      big[j] = (char)("{\"key\": \"value\", \"n\": 12345}, "[j % 31]);
    ws_round_trip(e.cli, NH_WS_TEXT, big, n);
  }
  uint32_t x = 1;
  for (size_t j = 0; j < 200000; j++) { /* incompressible */
    x = x * 1103515245 + 12345;
    big[j] = (char)(x >> 23);
  }
  ws_round_trip(e.cli, NH_WS_BINARY, big, 200000);
  free(big);
  CHECK_EQ(nh_ws_close(e.cli, 1000, NULL), NH_OK);
  nh_wg_wait(e.wg, NH_NO_DEADLINE);
  CHECK_EQ(e.served, 6);
  nh_wg_free(e.wg);
  nh_ws_free(e.srv);
  nh_ws_free(e.cli);
}

NH_TEST(deflate_echo_with_and_without_context_takeover) {
  nh__wsd_params takeover = {0, 0, 15, 15};
  CHECK_EQ(nh_run(NULL, deflate_echo_main, &takeover), NH_OK);
  nh__wsd_params fresh = {1, 1, 10, 12};
  CHECK_EQ(nh_run(NULL, deflate_echo_main, &fresh), NH_OK);
}

static void deflate_wire_main(void *arg) {
  (void)arg;
  nh__wsd_params pm = {0, 0, 15, 15};
  nh_fd *a, *b;
  pair(&a, &b);
  nh_ws *srv = nh__ws_new(a, NULL, NULL, 0, 0, NULL, &pm, NULL);
  CHECK(srv);
  char msg[1000];
  memset(msg, 'a', sizeof msg);
  CHECK_EQ(nh_ws_write(srv, NH_WS_TEXT, msg, sizeof msg, NH_NO_DEADLINE), NH_OK);
  CHECK_EQ(nh_ws_write(srv, NH_WS_TEXT, "tiny", 4, NH_NO_DEADLINE), NH_OK);
  uint8_t h[2];
  raw_read_exact(b, h, 2);
  CHECK_EQ(h[0], 0xC1); /* FIN, RSV1, text */
  CHECK(h[1] < 126);    /* 1000 bytes of 'a' compress to a few */
  uint8_t z[126];
  raw_read_exact(b, z, h[1]);
  /* Inflated by an independent codec instance, it is the message. */
  nh__wsd *d = nh__wsd_new(&pm, 1, 1);
  nh__dynbuf out;
  nh__dynbuf_init(&out, 1 << 20);
  CHECK_EQ(nh__wsd_inflate(d, z, h[1], &out, 1 << 20), NH_OK);
  CHECK_EQ(out.len, sizeof msg);
  CHECK(memcmp(out.p, msg, sizeof msg) == 0);
  nh__dynbuf_free(&out);
  nh__wsd_free(d);
  uint8_t t[6];
  raw_read_exact(b, t, 6); /* under the threshold: no RSV1 */
  CHECK(memcmp(t, "\x81\x04tiny", 6) == 0);
  nh_ws_free(srv);
  nh_fd_close(b);
}

NH_TEST(deflate_compresses_above_the_threshold_only) {
  CHECK_EQ(nh_run(NULL, deflate_wire_main, NULL), NH_OK);
}

typedef struct deflate_fail {
  size_t plain_len;
  const char *plain;
  int corrupt;
  int want;
} deflate_fail;

static void deflate_fail_main(void *arg) {
  deflate_fail *f = arg;
  nh__wsd_params pm = {0, 0, 15, 15};
  server_case c = {0};
  nh__wsd *d = nh__wsd_new(&pm, 1, 1);
  nh__dynbuf z;
  nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
  CHECK_EQ(nh__wsd_deflate(d, f->plain, f->plain_len, &z), NH_OK);
  nh__wsd_free(d);
  if (f->corrupt) {
    nh__dynbuf_reset(&z);
    nh__dynbuf_add(&z, "\xff\xff\xff\xff\xff", 5);
  }
  if (z.len >= 16000)
    NH_FAIL("compressed to %zu bytes", z.len);
  c.raw.nsend = frame(c.raw.send, 0xC1, 1, z.p, z.len, z.len);
  nh__dynbuf_free(&z);
  c.opt.max_message = 64 << 10;
  nh_ws *ws = case_ws(&c, &pm);
  raw_start(&c.raw);
  nh_ws_type t;
  const char *dd;
  size_t n;
  CHECK_EQ(nh_ws_read(ws, &t, &dd, &n, nh_deadline_after(20 * NH_SEC)), NH_EBADREQUEST);
  raw_wait(&c.raw);
  nh_ws_free(ws);
  check_closed_with(&c, f->want);
}

NH_TEST(deflate_bomb_is_1009_bad_data_and_bad_text_1007) {
  /* 1 MiB of zeros compresses to about 1 KiB: refused once inflating
   * passes max_message (64 KiB here). */
  char *zeros = calloc(1, 1 << 20);
  deflate_fail bomb = {1 << 20, zeros, 0, 1009};
  CHECK_EQ(nh_run(NULL, deflate_fail_main, &bomb), NH_OK);
  free(zeros);
  deflate_fail corrupt = {5, "hello", 1, 1007};
  CHECK_EQ(nh_run(NULL, deflate_fail_main, &corrupt), NH_OK);
  deflate_fail text = {4, "ab\xff\xfe", 0, 1007};
  CHECK_EQ(nh_run(NULL, deflate_fail_main, &text), NH_OK);
}

/* ---- the client's frames on the wire ---- */

static void client_frames_main(void *arg) {
  (void)arg;
  nh_fd *a, *b;
  pair(&a, &b);
  nh_ws *cli = nh__ws_new(a, NULL, NULL, 0, 1, NULL, NULL, NULL);
  CHECK(cli);
  uint8_t keys[2][4];
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(nh_ws_write(cli, NH_WS_TEXT, "hello", 5, NH_NO_DEADLINE), NH_OK);
    uint8_t f[11];
    size_t got = 0;
    while (got < sizeof f) {
      ssize_t n = nh_fd_read(b, f + got, sizeof f - got, nh_deadline_after(5 * NH_SEC));
      CHECK(n > 0);
      got += (size_t)n;
    }
    CHECK_EQ(f[0], 0x81);
    CHECK_EQ(f[1], 0x80 | 5);
    memcpy(keys[i], f + 2, 4);
    nh__ws_mask(f + 6, 5, f + 2, 0);
    CHECK(memcmp(f + 6, "hello", 5) == 0);
  }
  CHECK(memcmp(keys[0], keys[1], 4) != 0); /* a fresh key per frame */
  nh_ws_free(cli);
  nh_fd_close(b);
}

NH_TEST(client_masks_each_frame_with_a_fresh_key) {
  CHECK_EQ(nh_run(NULL, client_frames_main, NULL), NH_OK);
}

/* ---- several writers ---- */

enum { WRITERS = 4, PER_WRITER = 40 };

typedef struct writers_case {
  nh_ws *srv, *cli;
  nh_wg *wg;
  int id[WRITERS];
} writers_case;

typedef struct writer_arg {
  writers_case *w;
  int id;
} writer_arg;

/* Message i of writer id: "<id>:<i>:" then filler of its own letter; a
 * few are large, and writer 0 sends its messages in fragments. */
static size_t make_message(char *buf, int id, int i) {
  size_t len = (i % 5 == 0) ? 150000 : (size_t)(20 + i * 37 % 3000);
  int h = snprintf(buf, len, "%d:%d:", id, i);
  memset(buf + h, 'a' + id, len - (size_t)h);
  return len;
}

static void writer(void *arg) {
  writer_arg *a = arg;
  char *buf = malloc(150000);
  for (int i = 0; i < PER_WRITER; i++) {
    size_t len = make_message(buf, a->id, i);
    if (a->id == 0) {
      size_t third = len / 3;
      CHECK_EQ(nh_ws_write_frame(a->w->cli, NH_WS_TEXT, 1, 0, buf, third, NH_NO_DEADLINE), 0);
      nh_yield(); /* let the others try to get in */
      CHECK_EQ(nh_ws_write_frame(a->w->cli, NH_WS_TEXT, 0, 0, buf + third, third, NH_NO_DEADLINE),
               0);
      nh_yield();
      CHECK_EQ(nh_ws_write_frame(a->w->cli, NH_WS_TEXT, 0, 1, buf + 2 * third, len - 2 * third,
                                 NH_NO_DEADLINE),
               0);
    } else {
      CHECK_EQ(nh_ws_write(a->w->cli, NH_WS_TEXT, buf, len, NH_NO_DEADLINE), NH_OK);
    }
    if (i % 3 == 0)
      nh_yield();
  }
  free(buf);
  nh_wg_done(a->w->wg);
}

static void writers_main(void *arg) {
  (void)arg;
  writers_case w = {0};
  ws_pair(NULL, NULL, &w.srv, &w.cli);
  w.wg = nh_wg_new();
  nh_wg_add(w.wg, WRITERS);
  writer_arg args[WRITERS];
  for (int i = 0; i < WRITERS; i++) {
    args[i] = (writer_arg){&w, i};
    CHECK_EQ(nh_go(writer, &args[i]), NH_OK);
  }
  int next[WRITERS] = {0};
  char *want = malloc(150000);
  for (int m = 0; m < WRITERS * PER_WRITER; m++) {
    nh_ws_type t;
    const char *d;
    size_t n;
    CHECK_EQ(nh_ws_read(w.srv, &t, &d, &n, nh_deadline_after(30 * NH_SEC)), NH_OK);
    int id = d[0] - '0';
    CHECK(id >= 0 && id < WRITERS);
    size_t wl = make_message(want, id, next[id]);
    CHECK_EQ(n, wl);
    CHECK(memcmp(d, want, n) == 0); /* intact, and in each writer's order */
    next[id]++;
  }
  free(want);
  nh_wg_wait(w.wg, NH_NO_DEADLINE);
  nh_wg_free(w.wg);
  nh_ws_free(w.srv);
  nh_ws_free(w.cli);
}

NH_TEST(concurrent_writers_never_interleave) {
  CHECK_EQ(nh_run(NULL, writers_main, NULL), NH_OK);
}

/* ---- close ---- */

typedef struct close_case {
  nh_ws *srv, *cli;
  nh_wg *wg;
  int rc;
} close_case;

static void read_until_closed(void *arg) {
  close_case *c = arg;
  nh_ws_type t;
  const char *d;
  size_t n;
  while ((c->rc = nh_ws_read(c->cli, &t, &d, &n, nh_deadline_after(20 * NH_SEC))) == 0) {
  }
  nh_wg_done(c->wg);
}

static void server_closes_main(void *arg) {
  (void)arg;
  close_case c = {0};
  ws_pair(NULL, NULL, &c.srv, &c.cli);
  c.wg = nh_wg_new();
  nh_wg_add(c.wg, 1);
  CHECK_EQ(nh_go(read_until_closed, &c), NH_OK);
  /* A message in flight is discarded by the closing side's wait. */
  CHECK_EQ(nh_ws_write(c.cli, NH_WS_TEXT, "late", 4, NH_NO_DEADLINE), NH_OK);
  CHECK_EQ(nh_ws_close(c.srv, NH_WS_CLOSE_GOING_AWAY, "restarting"), NH_OK);
  nh_wg_wait(c.wg, NH_NO_DEADLINE);
  CHECK_EQ(c.rc, NH_ECLOSED);
  const char *reason;
  CHECK_EQ(nh_ws_close_status(c.cli, &reason), NH_WS_CLOSE_GOING_AWAY);
  CHECK_STR(reason, "restarting");
  CHECK_EQ(nh_ws_close_status(c.srv, &reason), NH_WS_CLOSE_GOING_AWAY);
  CHECK_STR(reason, "");
  /* After the handshake: writes say closed, close is done already. */
  CHECK_EQ(nh_ws_write(c.cli, NH_WS_TEXT, "x", 1, NH_NO_DEADLINE), NH_ECLOSED);
  CHECK_EQ(nh_ws_write(c.srv, NH_WS_TEXT, "x", 1, NH_NO_DEADLINE), NH_ECLOSED);
  CHECK_EQ(nh_ws_close(c.cli, 1000, NULL), NH_OK);
  nh_wg_free(c.wg);
  nh_ws_free(c.srv);
  nh_ws_free(c.cli);
}

NH_TEST(close_handshake_started_by_server) {
  CHECK_EQ(nh_run(NULL, server_closes_main, NULL), NH_OK);
}

static void no_answer_main(void *arg) {
  server_case *c = arg;
  nh_ws *ws = case_ws(c, NULL);
  raw_start(&c->raw);
  c->rc = nh_ws_close(ws, NH_WS_CLOSE_NORMAL, "bye");
  c->close_code = nh_ws_close_status(ws, NULL);
  raw_wait(&c->raw);
  nh_ws_free(ws);
}

NH_TEST(close_without_answer_times_out_and_closes) {
  /* The raw peer never answers the close: nh_ws_close gives up after
   * close_timeout, and the socket is closed (the peer sees the end). */
  server_case c = {0};
  c.opt.close_timeout = 200 * NH_MSEC;
  CHECK_EQ(nh_run(NULL, no_answer_main, &c), NH_OK);
  CHECK_EQ(c.rc, NH_ETIMEDOUT);
  CHECK_EQ(c.close_code, NH_WS_CLOSE_ABNORMAL);
  check_closed_with(&c, NH_WS_CLOSE_NORMAL);
  CHECK_EQ(c.raw.ngot, 7);
  CHECK(memcmp(c.raw.got + 4, "bye", 3) == 0);
}

typedef struct free_hook_seen {
  int calls;
  nh_ws *ws;
} free_hook_seen;

static void hook(nh_ws *ws, void *arg) {
  free_hook_seen *s = arg;
  s->calls++;
  s->ws = ws;
}

static void free_hook_main(void *arg) {
  (void)arg;
  nh_ws *srv, *cli;
  ws_pair(NULL, NULL, &srv, &cli);
  free_hook_seen s = {0};
  nh__ws_set_free_hook(srv, hook, &s);
  nh_ws_free(srv);
  CHECK_EQ(s.calls, 1);
  CHECK(s.ws == srv);
  /* No handshake: the client sees the connection end without a close. */
  nh_ws_type t;
  const char *d;
  size_t n;
  CHECK_EQ(nh_ws_read(cli, &t, &d, &n, nh_deadline_after(5 * NH_SEC)), NH_EEOF);
  CHECK_EQ(nh_ws_close_status(cli, NULL), NH_WS_CLOSE_ABNORMAL);
  nh_ws_free(cli);
}

NH_TEST(free_calls_hook_and_closes_without_handshake) {
  CHECK_EQ(nh_run(NULL, free_hook_main, NULL), NH_OK);
}

NH_TEST_MAIN()
