/* Cheap attacks on the HTTP/2 server, as raw frames from python: each is
 * refused with the stream or connection closed and counted in the stats.
 * Rapid reset (CVE-2023-44487), HPACK bomb, CONTINUATION flood, a header
 * list over the budget (431, the connection lives), empty DATA frames,
 * too many settings, and PINGs from a client that never reads. */
#include "test_h2_server_util.h"

#include <stdatomic.h>

static atomic_int running, max_running, started;

static void handler(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/hold")) {
    atomic_fetch_add(&started, 1);
    int now = atomic_fetch_add(&running, 1) + 1;
    int m = atomic_load(&max_running);
    while (now > m && !atomic_compare_exchange_weak(&max_running, &m, now))
      ;
    /* A handler that does not stop when its stream is reset: the slot it
     * holds is what the defence counts. */
    nh_request_set_ctx(r, nh_ctx_background());
    nh_sleep(300 * NH_MSEC);
    atomic_fetch_sub(&running, 1);
    return;
  }
  char buf[4096];
  while (nh_request_read(r, buf, sizeof buf) > 0)
    ;
  nh_resp_write_string(w, "fine");
}

static nh_server_stats stats_of(nh_test_server *ts) {
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  return st;
}

static const char rapid_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "out = b''\n"
    "for i in range(200):\n"
    "    sid = 1 + 2 * i\n"
    "    out += frame(1, 5, sid, req('/hold')) + frame(3, 0, sid, struct.pack('>I', 8))\n"
    "try: s.sendall(out)\n"
    "except OSError: pass\n"
    "f = r.until(lambda f: f[0] == 7)\n"
    "print('goaway', goaway_code(f) if f else 'none')\n";

NH_TEST(rapid_reset_holds_slots_until_handlers_return) {
  h2t_need_python_h2();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.http2.max_concurrent_streams = 10;
  cfg.http2.max_queued_streams = 5;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(rapid_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "goaway 11"); /* ENHANCE_YOUR_CALM */
  free(out);
  CHECK(atomic_load(&max_running) <= 10); /* never more handlers than slots */
  CHECK(atomic_load(&started) <= 15);     /* slots and queue, no more */
  CHECK_EQ(stats_of(ts).h2_rapid_reset, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A 4000-byte field put in the HPACK table once, then named by one byte
 * again and again: decoded, the list grows past twice the budget. */
static const char bomb_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "def hlen(n):\n"
    "    out = b''\n"
    "    n -= 127\n"
    "    while n >= 128: out += bytes([n % 128 + 128]); n //= 128\n"
    "    return out + bytes([n])\n"
    "lit = b'\\x40\\x06x-bomb\\x7f' + hlen(4000) + b'a' * 4000\n"
    "def plain(path):\n" /* literals without indexing: x-bomb stays index 62 */
    "    return b''.join(b'\\x00' + bytes([len(k)]) + k + bytes([len(v)]) + v for k, v in\n"
    "        [(b':method', b'GET'), (b':path', path), (b':scheme', b'http'), (b':authority', b'x')])\n"
    "count = int(sys.argv[2])\n"
    "block = plain(b'/') + lit + b'\\xbe' * count\n"
    "s.sendall(frame(1, 5, 1, block))\n"
    "f = r.until(lambda f: f[0] in (1, 3, 7) and f[2] in (0, 1))\n"
    "if f and f[0] == 7: print('goaway', goaway_code(f))\n"
    "elif f and f[0] == 1: print('status', hpack.Decoder().decode(f[3])[0][1])\n"
    "else: print('other', f)\n"
    "if f and f[0] == 1:\n"
    "    s.sendall(frame(1, 5, 3, plain(b'/after')))\n"
    "    g = r.until(lambda f: f[0] == 0 and f[2] == 3)\n"
    "    print('after', g[3].decode() if g else 'none')\n";

NH_TEST(hpack_bomb_closes_the_connection) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  /* 40 x (4000 + 6 + 32) bytes decoded: past 2 x 64 KiB. */
  char *out = h2t_py(bomb_py, nh_test_server_port(ts), "40", 20);
  CHECK_CONTAINS(out, "goaway 11");
  free(out);
  CHECK_EQ(stats_of(ts).h2_header_floods, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(header_list_over_budget_gets_431) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  /* 20 x 4038 bytes: over 64 KiB, under twice that. */
  char *out = h2t_py(bomb_py, nh_test_server_port(ts), "20", 20);
  CHECK_CONTAINS(out, "status 431");
  CHECK_CONTAINS(out, "after fine"); /* the connection lives on */
  free(out);
  nh_server_stats st = stats_of(ts);
  CHECK_EQ(st.h2_headers_too_large, 1);
  CHECK_EQ(st.h2_header_floods, 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char many_fields_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s); dec = hpack.Decoder()\n"
    "s.sendall(frame(1, 5, 1, req('/', 'GET', [('x-f%d' % i, 'v') for i in range(150)])))\n"
    "f = r.until(lambda f: f[0] == 1 and f[2] == 1)\n"
    "print('status', dec.decode(f[3])[0][1] if f else 'none')\n";

/* More fields than max_header_count (100): 431, as HTTP/1 answers. */
NH_TEST(too_many_fields_get_431) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(many_fields_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "status 431");
  free(out);
  CHECK_EQ(stats_of(ts).h2_headers_too_large, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char continuation_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 0, 1, req('/')))\n" /* no END_HEADERS */
    "try:\n"
    "    for i in range(2000):\n"
    "        s.sendall(frame(9, 0, 1, b'\\x00\\x03x-c\\x10' + b'c' * 16))\n"
    "except OSError: pass\n"
    "f = r.until(lambda f: f[0] == 7, 10)\n"
    "print('goaway', goaway_code(f) if f else 'closed')\n"
    "s.settimeout(5)\n"
    "try: d = s.recv(100)\n"
    "except OSError: d = b''\n"
    "print('eof', len(d) == 0)\n";

NH_TEST(continuation_flood_closes_the_connection) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(continuation_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "eof True");
  free(out);
  CHECK_EQ(stats_of(ts).h2_header_floods, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char empty_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "out = frame(1, 4, 1, req('/body', 'POST'))\n"
    "for i in range(500): out += frame(0, 0, 1)\n"
    "try: s.sendall(out)\n"
    "except OSError: pass\n"
    "f = r.until(lambda f: f[0] == 7)\n"
    "print('goaway', goaway_code(f) if f else 'none')\n";

NH_TEST(empty_data_flood_closes_the_connection) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(empty_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "goaway 11");
  free(out);
  CHECK_EQ(stats_of(ts).h2_empty_floods, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char settings_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "p = b''.join(struct.pack('>HI', 3, 100 + i) for i in range(40))\n"
    "s.sendall(frame(4, 0, 0, p))\n"
    "f = r.until(lambda f: f[0] == 7)\n"
    "print('goaway', goaway_code(f) if f else 'none')\n";

NH_TEST(too_many_settings_close_the_connection) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(settings_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "goaway 11");
  free(out);
  CHECK_EQ(stats_of(ts).h2_control_floods, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* PINGs from a client that reads nothing: the acks can never be sent.
 * The server stops reading while its writes wait (so they stay bounded)
 * and drops the connection at its write timeout, or at nghttp2's cap on
 * queued acks, whichever comes first. */
static const char ping_py[] = H2T_PY_PRELUDE
    "s = conn()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)\n"
    "ping = frame(6, 0, 0, b'12345678') * 1000\n"
    "sent, end = 0, time.time() + 15\n"
    "s.settimeout(1)\n"
    "closed = False\n"
    "while time.time() < end:\n"
    "    try: s.sendall(ping); sent += len(ping)\n"
    "    except socket.timeout: continue\n"
    "    except OSError: closed = True; break\n"
    "print('closed', closed, 'sent', sent)\n";

NH_TEST(ping_flood_unread_closes_the_connection) {
  h2t_need_python_h2();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.write_timeout = NH_SEC;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(ping_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "closed True");
  free(out);
  nh_server_stats st = stats_of(ts);
  CHECK(st.h2_control_floods + st.closes[NH_CLOSE_TIMEOUT_WRITE] >= 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
