/* A handler that answers before the request body has all come (RFC 9113
 * 8.1): the stream stays open while the client sends a little more, which
 * is read and dropped, so a short request ends normally and what the
 * client still sends is still checked; past 64 KiB the stream is reset
 * NO_ERROR to stop the rest. With raw frames from /usr/bin/python3. */
#include <string.h>

#include "harness.h"
#include "nethttp/httptest.h"
#include "nethttp/server.h"
#include "test_h2_server_util.h"

static void handler(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_string(w, "early"); /* the body is never read */
}

/* After each complete answer (DATA with END_STREAM): A sends the rest of
 * its body and a PING, and must see the PING's ack with no reset; B sends
 * 80 KiB more and must see RST_STREAM NO_ERROR; C declared 4 bytes and
 * sends 8, which must still be caught (RST_STREAM PROTOCOL_ERROR). */
static const char drain_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "def answered(sid):\n"
    "    return r.until(lambda f: f[0] == 0 and f[2] == sid and f[1] & 1) is not None\n"
    "s.sendall(frame(1, 4, 1, req('/early', 'POST')))\n"
    "print('A answered', answered(1))\n"
    "s.sendall(frame(0, 1, 1, b'x' * 1000) + frame(6, 0, 0, b'12345678'))\n"
    "f = r.until(lambda f: (f[0] == 6 and f[1] & 1) or (f[0] == 3 and f[2] == 1))\n"
    "print('A', 'ping ack' if f and f[0] == 6 else 'reset' if f else 'nothing')\n"
    "s.sendall(frame(1, 4, 3, req('/early', 'POST')))\n"
    "print('B answered', answered(3))\n"
    "for i in range(5): s.sendall(frame(0, 0, 3, b'y' * 16384))\n"
    "f = r.until(lambda f: f[0] == 3 and f[2] == 3)\n"
    "print('B rst', int.from_bytes(f[3], 'big') if f else None)\n"
    "s.sendall(frame(1, 4, 5, req('/early', 'POST', [('content-length', '4')])))\n"
    "print('C answered', answered(5))\n"
    "s.sendall(frame(0, 1, 5, b'12345678'))\n"
    "f = r.until(lambda f: f[0] == 3 and f[2] == 5)\n"
    "print('C rst', int.from_bytes(f[3], 'big') if f else None)\n";

NH_TEST(early_answer_drains_then_resets) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(drain_py, nh_test_server_port(ts), NULL, 60);
  CHECK_CONTAINS(out, "A answered True");
  CHECK_CONTAINS(out, "A ping ack");
  CHECK_CONTAINS(out, "B answered True");
  CHECK_CONTAINS(out, "B rst 0"); /* NO_ERROR */
  CHECK_CONTAINS(out, "C answered True");
  CHECK_CONTAINS(out, "C rst 1"); /* PROTOCOL_ERROR */
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
