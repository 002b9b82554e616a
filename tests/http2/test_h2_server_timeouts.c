/* HTTP/2 deadlines on the wire: the idle timeout ends a connection with
 * GOAWAY, a client that sends the preface and no SETTINGS, or never
 * acknowledges the server's, is dropped, the read timeout applies per
 * stream, and Expect: 100-continue gets its interim response at the
 * handler's first read. */
#include "test_h2_server_util.h"

#include <stdatomic.h>

static atomic_int write_err;

static void handler(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/big")) {
    static char chunk[65536];
    int e = 0;
    for (int i = 0; i < 64 && !e; i++) {
      ssize_t n = nh_resp_write(w, chunk, sizeof chunk);
      if (n < 0)
        e = (int)n;
    }
    atomic_store(&write_err, e);
    return;
  }
  char buf[256];
  size_t len = 0;
  ssize_t n = 0;
  while (len < sizeof buf && (n = nh_request_read(r, buf + len, sizeof buf - len)) > 0)
    len += (size_t)n;
  if (n < 0)
    nh_resp_printf(w, "err=%s", nh_strerror((int)n));
  else
    nh_resp_printf(w, "got=%.*s", (int)len, buf);
}

static nh_server_stats stats_of(nh_test_server *ts) {
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  return st;
}

static const char idle_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 1 and f[1] & 1)\n"
    "print('body', f[3].decode())\n"
    "g = r.until(lambda f: f[0] == 7, 20)\n"
    "print('goaway', goaway_code(g) if g else 'none')\n"
    "print('eof', r.frame(10) is None)\n";

NH_TEST(idle_timeout_ends_connection_with_goaway) {
  h2t_need_python_h2();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.idle_timeout = 300 * NH_MSEC;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(idle_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "body got=");
  CHECK_CONTAINS(out, "goaway 0");
  CHECK_CONTAINS(out, "eof True");
  free(out);
  nh_server_stats st = stats_of(ts);
  CHECK_EQ(st.timeouts_idle, 1);
  CHECK_EQ(st.closes[NH_CLOSE_TIMEOUT_IDLE], 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The preface alone, then silence: no SETTINGS within preface_timeout. */
static const char preface_py[] = H2T_PY_PRELUDE
    "s = socket.create_connection(('127.0.0.1', PORT)); r = Reader(s)\n"
    "s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n')\n"
    "g = r.until(lambda f: f[0] == 7, 20)\n"
    "print('goaway', goaway_code(g) if g else 'none')\n"
    "print('eof', r.frame(10) is None)\n";

NH_TEST(preface_without_settings_is_dropped) {
  h2t_need_python_h2();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.http2.preface_timeout = 300 * NH_MSEC;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(preface_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "goaway 1"); /* PROTOCOL_ERROR */
  CHECK_CONTAINS(out, "eof True");
  free(out);
  CHECK_EQ(stats_of(ts).closes[NH_CLOSE_TIMEOUT_HEADER], 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* SETTINGS sent, the server's never acknowledged. */
static const char noack_py[] = H2T_PY_PRELUDE
    "s = socket.create_connection(('127.0.0.1', PORT)); r = Reader(s)\n"
    "s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' + frame(4, 0, 0))\n"
    "g = r.until(lambda f: f[0] == 7, 20)\n"
    "print('goaway', goaway_code(g) if g else 'none')\n"
    "print('eof', r.frame(10) is None)\n";

NH_TEST(settings_never_acknowledged_is_dropped) {
  h2t_need_python_h2();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.http2.settings_timeout = 300 * NH_MSEC;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(noack_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "goaway 4"); /* SETTINGS_TIMEOUT */
  CHECK_CONTAINS(out, "eof True");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A body that never comes: the stream's read deadline ends the read. */
static const char read_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 4, 1, req('/', 'POST')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 1, 20)\n"
    "print('body', f[3].decode() if f else 'none')\n";

NH_TEST(read_timeout_applies_per_stream) {
  h2t_need_python_h2();
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_timeout = 300 * NH_MSEC;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(read_py, nh_test_server_port(ts), NULL, 30);
  char want[96];
  snprintf(want, sizeof want, "body err=%s", nh_strerror(NH_ETIMEDOUT));
  CHECK_CONTAINS(out, want);
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char continue_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s); dec = hpack.Decoder()\n"
    "s.sendall(frame(1, 4, 1, req('/', 'POST', [('expect', '100-continue')])))\n"
    "f = r.until(lambda f: f[0] == 1 and f[2] == 1)\n"
    "print('first', dec.decode(f[3])[0][1], 'end' if f[1] & 1 else 'open')\n"
    "s.sendall(frame(0, 1, 1, b'abc'))\n"
    "f = r.until(lambda f: f[0] == 1 and f[2] == 1)\n"
    "print('final', dec.decode(f[3])[0][1])\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 1)\n"
    "print('body', f[3].decode())\n";

NH_TEST(expect_100_continue_at_first_read) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(continue_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "first 100 open");
  CHECK_CONTAINS(out, "final 200");
  CHECK_CONTAINS(out, "body got=abc");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A client that reads nothing and opens no window: the stream's write
 * deadline ends the handler's write and resets the stream (INTERNAL_ERROR,
 * as Go); the
 * connection serves on. */
static const char write_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/big')))\n"
    "f = r.until(lambda f: f[0] == 3 and f[2] == 1, 20)\n"
    "print('rst', int.from_bytes(f[3], 'big') if f else 'none')\n"
    "s.sendall(frame(8, 0, 0, struct.pack('>I', 1 << 20)))\n"
    "s.sendall(frame(1, 5, 3, req('/')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 3, 20)\n"
    "print('next', f[3].decode() if f else 'none')\n";

NH_TEST(write_timeout_applies_per_stream) {
  h2t_need_python_h2();
  atomic_store(&write_err, 1);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.write_timeout = 500 * NH_MSEC;
  nh_test_server *ts = h2t_server(handler, &cfg);
  CHECK(ts);
  char *out = h2t_py(write_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "rst 2"); /* INTERNAL_ERROR */
  CHECK_CONTAINS(out, "next got=");
  free(out);
  CHECK_SOON(atomic_load(&write_err) == NH_ETIMEDOUT);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
