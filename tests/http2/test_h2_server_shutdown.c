/* Graceful shutdown of HTTP/2 connections (RFC 9113 6.8), on the wire:
 * GOAWAY naming 2^31-1 and a PING, the final GOAWAY after the PING's ack,
 * the stream in flight completes, a stream opened after the final GOAWAY
 * is refused (REFUSED_STREAM), and an idle connection is closed at once.
 * Also the connection's states: ACTIVE while a handler runs, IDLE when
 * none does (Go). */
#include "test_h2_server_util.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int started, served;

static void handler(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/slow")) {
    atomic_store(&started, 1);
    /* The client sends the body only after it saw the final GOAWAY and
     * had its late stream refused: the stream is in flight all along. */
    char buf[64];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf && (n = nh_request_read(r, buf + len, sizeof buf - len)) > 0)
      len += (size_t)n;
    nh_resp_printf(w, "done:%.*s", (int)len, buf);
    return;
  }
  atomic_fetch_add(&served, 1);
  nh_resp_write_string(w, "fast");
}

typedef struct shut {
  nh_test_server *ts;
  atomic_int *wait_for;
  int result;
  nh_time took;
} shut;

static void *shutdown_thread(void *arg) {
  shut *s = arg;
  for (int i = 0; i < 10000 && !atomic_load(s->wait_for); i++)
    usleep(1000);
  nh_time t0 = nh_now();
  s->result = nh_server_shutdown(nh_test_server_server(s->ts), nh_deadline_after(20 * NH_SEC));
  s->took = nh_now() - t0;
  return NULL;
}

static const char graceful_py[] = H2T_PY_PRELUDE
    "def last(f): return int.from_bytes(f[3][:4], 'big') & 0x7fffffff\n"
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 4, 1, req('/slow', 'POST')))\n"
    "g1 = r.until(lambda f: f[0] == 7, 20)\n"
    "print('goaway1', last(g1), goaway_code(g1))\n"
    "p = r.until(lambda f: f[0] in (6, 7) and not f[1] & 1)\n"
    "print('then', 'ping' if p[0] == 6 else 'goaway')\n"
    "s.sendall(frame(6, 1, 0, p[3]))\n"
    "g2 = r.until(lambda f: f[0] == 7)\n"
    "print('goaway2', last(g2), goaway_code(g2))\n"
    "s.sendall(frame(1, 5, 3, req('/fast')))\n"
    "f = r.until(lambda f: f[0] == 3 and f[2] == 3)\n"
    "print('rst3', int.from_bytes(f[3], 'big') if f else 'none')\n"
    "s.sendall(frame(0, 1, 1, b'go'))\n"
    "body = b''\n"
    "while True:\n"
    "    f = r.frame()\n"
    "    if f is None: break\n"
    "    if f[0] == 0 and f[2] == 1:\n"
    "        body += f[3]\n"
    "        if f[1] & 1: break\n"
    "print('body1', body.decode())\n"
    "print('eof', r.frame(10) is None)\n";

NH_TEST(graceful_shutdown_finishes_in_flight_and_refuses_late_streams) {
  h2t_need_python_h2();
  atomic_store(&started, 0);
  atomic_store(&served, 0);
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  shut s = {ts, &started, -1, 0};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, shutdown_thread, &s), 0);
  char *out = h2t_py(graceful_py, nh_test_server_port(ts), NULL, 30);
  pthread_join(th, NULL);
  CHECK_CONTAINS(out, "goaway1 2147483647 0");
  CHECK_CONTAINS(out, "then ping");
  CHECK_CONTAINS(out, "goaway2 1 0");
  CHECK_CONTAINS(out, "rst3 7"); /* REFUSED_STREAM */
  CHECK_CONTAINS(out, "body1 done:go");
  CHECK_CONTAINS(out, "eof True");
  free(out);
  CHECK_EQ(s.result, NH_OK);
  CHECK_EQ(atomic_load(&served), 0); /* the late stream never reached a handler */
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char idle_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 5, 1, req('/fast')))\n"
    "f = r.until(lambda f: f[0] == 0 and f[2] == 1 and f[1] & 1)\n"
    "print('body', f[3].decode())\n"
    "g = r.until(lambda f: f[0] == 7, 20)\n"
    "print('goaway', goaway_code(g) if g else 'none')\n"
    "print('eof', r.frame(10) is None)\n";

static atomic_int idle_seen;

static void *watch_idle(void *arg) {
  nh_test_server *ts = arg;
  /* Served, and no handler running: the connection is IDLE (Go), and no
   * longer ACTIVE. */
  for (int i = 0; i < 10000; i++) {
    nh_server_stats st;
    nh_server_stats_get(nh_test_server_server(ts), &st);
    if (atomic_load(&served) == 1 && st.conns_idle == 1 && st.conns_active == 0) {
      atomic_store(&idle_seen, 1);
      return NULL;
    }
    usleep(1000);
  }
  return NULL;
}

NH_TEST(idle_connection_closes_at_shutdown_at_once) {
  h2t_need_python_h2();
  atomic_store(&served, 0);
  atomic_store(&idle_seen, 0);
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  pthread_t w, th;
  CHECK_EQ(pthread_create(&w, NULL, watch_idle, ts), 0);
  shut s = {ts, &idle_seen, -1, 0};
  CHECK_EQ(pthread_create(&th, NULL, shutdown_thread, &s), 0);
  char *out = h2t_py(idle_py, nh_test_server_port(ts), NULL, 30);
  pthread_join(w, NULL);
  pthread_join(th, NULL);
  CHECK_CONTAINS(out, "body fast");
  CHECK_CONTAINS(out, "goaway 0");
  CHECK_CONTAINS(out, "eof True");
  free(out);
  CHECK_EQ(atomic_load(&idle_seen), 1);
  CHECK_EQ(s.result, NH_OK);
  CHECK(s.took < 5 * NH_SEC); /* not the idle timeout, nor the deadline */
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(connection_active_while_a_handler_runs) {
  h2t_need_python_h2();
  atomic_store(&started, 0);
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  /* /slow waits for its body: the script sends none and ends after 1 s. */
  static const char py[] = H2T_PY_PRELUDE "s = conn(); r = Reader(s)\n"
                                          "s.sendall(frame(1, 4, 1, req('/slow', 'POST')))\n"
                                          "time.sleep(1.5)\nprint('bye')\n";
  char p[16], out[128];
  snprintf(p, sizeof p, "%d", nh_test_server_port(ts));
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int n = open("/dev/null", O_WRONLY);
    dup2(n, 1);
    dup2(n, 2);
    execl(PY, PY, "-c", py, p, (char *)NULL);
    _exit(127);
  }
  (void)out;
  CHECK_SOON(atomic_load(&started) == 1);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.conns_active, 1);
  CHECK_EQ(st.conns_idle, 0);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  /* The client left: the handler's read fails, the connection closes. */
  CHECK_SOON((nh_server_stats_get(nh_test_server_server(ts), &st), st.conns_active == 0));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
