/* HTTP/2 streams on the wire, with raw frames from python: a flush puts a
 * DATA frame on the wire before the handler returns, 20 streams of one
 * connection run their handlers at once, an unread upload costs no more
 * than its window, a panicking handler resets only its stream, a body
 * shorter than its Content-Length resets the stream, and a client's
 * RST_STREAM cancels the handler's context. */
#include "test_h2_server_util.h"

#include <stdatomic.h>

static atomic_int released, in_parallel, max_parallel, cancelled, upload_read;

static void handler(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  if (!strcmp(path, "/flush")) {
    nh_resp_write_string(w, "first;");
    CHECK_EQ(nh_resp_flush(w), NH_OK);
    /* The client asks for /release only after it saw "first;". */
    for (int i = 0; i < 5000 && !atomic_load(&released); i++)
      nh_sleep(NH_MSEC);
    nh_resp_write_string(w, atomic_load(&released) ? "second" : "never-released");
  } else if (!strcmp(path, "/release")) {
    atomic_store(&released, 1);
    nh_resp_write_string(w, "released");
  } else if (!strcmp(path, "/together")) {
    int now = atomic_fetch_add(&in_parallel, 1) + 1;
    int m = atomic_load(&max_parallel);
    while (now > m && !atomic_compare_exchange_weak(&max_parallel, &m, now))
      ;
    /* Wait until all 20 are in: only possible if they run at once. */
    for (int i = 0; i < 5000 && atomic_load(&max_parallel) < 20; i++)
      nh_sleep(NH_MSEC);
    nh_resp_write_string(w, atomic_load(&max_parallel) >= 20 ? "together" : "alone");
    atomic_fetch_sub(&in_parallel, 1);
  } else if (!strcmp(path, "/ignore-upload")) {
    /* Reads nothing until told (by /release), then drains. */
    for (int i = 0; i < 5000 && !atomic_load(&released); i++)
      nh_sleep(NH_MSEC);
    char buf[65536];
    ssize_t n;
    long total = 0;
    while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
      total += n;
    atomic_store(&upload_read, (int)(total / 1024));
    nh_resp_printf(w, "read %ld", total);
  } else if (!strcmp(path, "/panic")) {
    nh_panic("a handler that fails on purpose");
  } else if (!strcmp(path, "/wait-cancel")) {
    nh_ctx *ctx = nh_request_ctx(r);
    int e = nh_sleep(10 * NH_SEC); /* the request's context ends it */
    if (e == NH_ECANCELED || nh_ctx_err(ctx))
      atomic_fetch_add(&cancelled, 1);
  } else {
    char buf[256];
    ssize_t n, total = 0;
    while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
      total += n;
    nh_resp_printf(w, "ok %zd %s", total, n < 0 ? nh_strerror((int)n) : "");
  }
}

static void reset_flags(void) {
  atomic_store(&released, 0);
  atomic_store(&in_parallel, 0);
  atomic_store(&max_parallel, 0);
  atomic_store(&cancelled, 0);
  atomic_store(&upload_read, 0);
}

static const char flush_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/flush')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 1)\n"
    "print('data1', f[3].decode(), 'end' if f[1] & 1 else 'open')\n"
    "s.sendall(frame(1, 5, 3, req('/release')))\n"
    "body = b''\n"
    "while True:\n"
    "    f = r.frame()\n"
    "    if f is None: break\n"
    "    if f[0] == 0 and f[2] == 1:\n"
    "        body += f[3]\n"
    "        if f[1] & 1: break\n"
    "print('rest', body.decode())\n";

NH_TEST(flush_sends_data_before_handler_returns) {
  h2t_need_python_h2();
  reset_flags();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(flush_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "data1 first; open");
  CHECK_CONTAINS(out, "rest second");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char parallel_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "for i in range(20): s.sendall(frame(1, 5, 1 + 2 * i, req('/together')))\n"
    "bodies = {}; ended = 0\n"
    "while ended < 20:\n"
    "    f = r.frame()\n"
    "    if f is None: break\n"
    "    if f[0] == 0:\n"
    "        bodies[f[2]] = bodies.get(f[2], b'') + f[3]\n"
    "        if f[1] & 1: ended += 1\n"
    "print(ended, sorted(set(b.decode() for b in bodies.values())))\n";

NH_TEST(twenty_streams_served_in_parallel) {
  h2t_need_python_h2();
  reset_flags();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(parallel_py, nh_test_server_port(ts), NULL, 30);
  CHECK_CONTAINS(out, "20 ['together']");
  free(out);
  CHECK_EQ(atomic_load(&max_parallel), 20);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.h2_conns, 1);
  CHECK_EQ(st.h2_streams, 20);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The client sends as much of 10 MB as the server's windows let it, with
 * the handler reading nothing: it must stall at about one window (1 MiB
 * for the stream, 1 MiB for the connection), however long it waits. Then
 * the handler reads, and the rest flows. */
static const char upload_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 4, 1, req('/ignore-upload', 'POST')))\n"
    "sent, total, chunk = 0, 10 * 1024 * 1024, 16384\n"
    "win_s, win_c = 65535, 65535\n"
    "def take(timeout):\n"
    "    global win_s, win_c\n"
    "    f = r.frame(timeout)\n"
    "    if f is None: return None\n"
    "    if f[0] == 8:\n"
    "        inc = int.from_bytes(f[3], 'big') & 0x7fffffff\n"
    "        if f[2] == 0: win_c += inc\n"
    "        else: win_s += inc\n"
    "    if f[0] == 4 and not f[1] & 1:\n"
    "        p = f[3]\n"
    "        for i in range(0, len(p), 6):\n"
    "            if int.from_bytes(p[i:i+2], 'big') == 4: win_s += int.from_bytes(p[i+2:i+6], 'big') - 65535\n"
    "    return f\n"
    "stalled_at = None\n"
    "while sent < total:\n"
    "    n = min(chunk, win_s, win_c, total - sent)\n"
    "    if n <= 0:\n"
    "        if take(1.5) is None:\n"
    "            if stalled_at is None:\n"
    "                stalled_at = sent\n"
    "                print('stalled', sent)\n"
    "                s2 = conn(); s2.sendall(frame(1, 5, 1, req('/release')))\n"
    "            continue\n"
    "        continue\n"
    "    s.sendall(frame(0, 1 if sent + n == total else 0, 1, b'x' * n))\n"
    "    sent += n; win_s -= n; win_c -= n\n"
    "body = b''\n"
    "while True:\n"
    "    f = take(10)\n"
    "    if f is None: break\n"
    "    if f[0] == 0 and f[2] == 1:\n"
    "        body += f[3]\n"
    "        if f[1] & 1: break\n"
    "print('sent', sent, 'body', body.decode())\n";

NH_TEST(unread_upload_costs_at_most_its_window) {
  h2t_need_python_h2();
  reset_flags();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(upload_py, nh_test_server_port(ts), NULL, 60);
  char *st = strstr(out, "stalled ");
  CHECK(st);
  long stalled = strtol(st + 8, NULL, 10);
  /* One stream window, whatever the connection's (the server's windows
   * are 1 MiB each): the handler read nothing, so no WINDOW_UPDATE came. */
  CHECK(stalled > 0);
  CHECK(stalled <= 1024 * 1024);
  CHECK_CONTAINS(out, "sent 10485760 body read 10485760");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char panic_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/panic')) + frame(1, 5, 3, req('/ok')))\n"
    "got = {}\n"
    "while len(got) < 2:\n"
    "    f = r.frame()\n"
    "    if f is None: break\n"
    "    if f[0] == 3: got[f[2]] = 'rst%d' % int.from_bytes(f[3], 'big')\n"
    "    if f[0] == 0 and f[1] & 1: got[f[2]] = 'data:' + f[3].decode()\n"
    "s.sendall(frame(1, 5, 5, req('/after')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 5)\n"
    "print(got.get(1), got.get(3), f[3].decode() if f else 'none')\n";

NH_TEST(panic_resets_its_stream_only) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(panic_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "rst2 data:ok 0  ok 0 "); /* INTERNAL_ERROR = 2 */
  free(out);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.handler_panics, 1);
  CHECK_EQ(st.h2_conns, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Content-Length 10, 5 bytes, END_STREAM: RST_STREAM PROTOCOL_ERROR (1). */
static const char short_body_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 4, 1, req('/body', 'POST', [('content-length', '10')])))\n"
    "s.sendall(frame(0, 1, 1, b'12345'))\n"
    "f = r.until(lambda f: f[2] == 1 and f[0] in (0, 1, 3))\n"
    "print('type', f[0], 'code', int.from_bytes(f[3], 'big') if f[0] == 3 else -1)\n"
    "s.sendall(frame(1, 5, 3, req('/fine')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 3)\n"
    "print('next', f[3].decode() if f else 'none')\n";

NH_TEST(body_shorter_than_content_length_resets_stream) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(short_body_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "type 3 code 1");
  CHECK_CONTAINS(out, "next ok 0");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char reset_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/wait-cancel')))\n"
    "time.sleep(0.3)\n"
    "s.sendall(frame(3, 0, 1, struct.pack('>I', 8)))\n" /* CANCEL */
    "time.sleep(0.2)\n"
    "s.sendall(frame(1, 5, 3, req('/fine')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 3)\n"
    "print('next', f[3].decode() if f else 'none')\n";

NH_TEST(client_reset_cancels_handler_context) {
  h2t_need_python_h2();
  reset_flags();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(reset_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "next ok 0");
  free(out);
  CHECK_SOON(atomic_load(&cancelled) == 1);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.h2_streams_reset, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char gone_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/wait-cancel')) + frame(1, 5, 3, req('/wait-cancel')))\n"
    "time.sleep(0.5)\n"
    "s.close()\n"
    "print('gone')\n";

/* The client goes away: every stream's handler sees its context end. */
NH_TEST(client_gone_cancels_every_stream) {
  h2t_need_python_h2();
  reset_flags();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(gone_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "gone");
  free(out);
  CHECK_SOON(atomic_load(&cancelled) == 2);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
