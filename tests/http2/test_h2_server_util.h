/* What the HTTP/2 server tests share: servers with h2c on, and peers run
 * as child processes (curl, nghttp, /usr/bin/python3 with the h2 module
 * for raw frames), each killed by pid if it outlives its time. A missing
 * peer makes the case SKIP. */
#ifndef NH_TESTS_H2_SERVER_UTIL_H
#define NH_TESTS_H2_SERVER_UTIL_H

#include "harness.h"

#include <fcntl.h>
#include <nethttp.h>
#include <nethttp/httptest.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PY "/usr/bin/python3"

static inline int h2t_have(const char *tool) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  return system(cmd) == 0;
}

/* SKIP unless /usr/bin/python3 has the h2 module. */
static inline void h2t_need_python_h2(void) {
  if (system(PY " -c 'import h2, hpack' >/dev/null 2>&1") != 0)
    NH_SKIP("/usr/bin/python3 with the h2 module not installed (python3-h2)");
}

static inline void h2t_need(const char *tool) {
  if (!h2t_have(tool))
    NH_SKIP("%s not installed", tool);
}

/* A plain test server with h2c on (cfg may be NULL: defaults). */
static inline nh_test_server *h2t_server(nh_handler_fn h, nh_server_config *cfg) {
  nh_server_config c = NH_SERVER_CONFIG_DEFAULT;
  if (cfg)
    c = *cfg;
  c.http2.h2c = 1;
  return nh_test_server_new(h, &c, 1);
}

/* Runs argv with stdout to a fresh file (its path in out, cap bytes),
 * stderr to /dev/null; kills it by pid after secs seconds. Returns its
 * exit status, or -1 if it was killed. */
static inline int h2t_run(char *const argv[], char *out, size_t cap, int secs) {
  static int seq;
  snprintf(out, cap, "/tmp/nh_h2t_%d_%d", (int)getpid(), seq++);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    int n = open("/dev/null", O_WRONLY);
    if (!getenv("NH_H2T_STDERR"))
      dup2(n, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = -1;
  for (int i = 0; i < secs * 100; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    usleep(10 * 1000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/* The whole file at path, malloc'd and NUL-terminated; the file goes. */
static inline char *h2t_slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  CHECK(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  CHECK(b);
  CHECK_EQ(fread(b, 1, (size_t)n, f), n);
  b[n] = 0;
  fclose(f);
  unlink(path);
  return b;
}

/* Runs a python script with the port as argv[1] (and arg as argv[2]);
 * returns what it printed (malloc'd). The script's exit status must be 0. */
static inline char *h2t_py(const char *script, int port, const char *arg, int secs) {
  char p[16], out[128];
  snprintf(p, sizeof p, "%d", port);
  char *argv[] = {PY, "-c", (char *)script, p, (char *)(arg ? arg : ""), NULL};
  int st = h2t_run(argv, out, sizeof out, secs);
  char *r = h2t_slurp(out);
  if (st != 0)
    NH_FAIL("python peer exited %d; it printed: %s", st, r);
  return r;
}

/* Python prelude: a raw HTTP/2 client over a socket, with the h2 module's
 * HPACK encoder, for frames the h2 module would refuse to send. conn()
 * acknowledges the server's SETTINGS with its preface (the server sends
 * them first, and drops a client that never acknowledges them). */
#define H2T_PY_PRELUDE                                                                   \
  "import socket, struct, sys, time\n"                                                   \
  "import hpack\n"                                                                       \
  "PORT = int(sys.argv[1])\n"                                                            \
  "def frame(t, f, sid, p=b''):\n"                                                       \
  "    return struct.pack('>I', len(p))[1:] + bytes([t, f]) + struct.pack('>I', sid) + p\n" \
  "def conn():\n"                                                                        \
  "    s = socket.create_connection(('127.0.0.1', PORT))\n"                              \
  "    s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' + frame(4, 0, 0) + frame(4, 1, 0))\n" \
  "    return s\n"                                                                       \
  "enc = hpack.Encoder()\n"                                                              \
  "def req(path, method='GET', extra=()):\n"                                             \
  "    return enc.encode([(':method', method), (':path', path), (':scheme', 'http'),\n"  \
  "                       (':authority', 'x')] + list(extra))\n"                         \
  "class Reader:\n"                                                                      \
  "    def __init__(self, s): self.s, self.b = s, b''\n"                                 \
  "    def frame(self, timeout=10):\n"                                                   \
  "        self.s.settimeout(timeout)\n"                                                 \
  "        while len(self.b) < 9 or len(self.b) < 9 + int.from_bytes(self.b[:3], 'big'):\n" \
  "            try: d = self.s.recv(65536)\n"                                            \
  "            except (ConnectionResetError, socket.timeout): return None\n"             \
  "            if not d: return None\n"                                                  \
  "            self.b += d\n"                                                            \
  "        n = int.from_bytes(self.b[:3], 'big')\n"                                      \
  "        f = (self.b[3], self.b[4], int.from_bytes(self.b[5:9], 'big') & 0x7fffffff,\n" \
  "             self.b[9:9 + n])\n"                                                      \
  "        self.b = self.b[9 + n:]\n"                                                    \
  "        return f\n"                                                                   \
  "    def until(self, pred, timeout=10):\n"                                             \
  "        end = time.time() + timeout\n"                                                \
  "        while time.time() < end:\n"                                                   \
  "            f = self.frame(max(0.01, end - time.time()))\n"                           \
  "            if f is None: return None\n"                                              \
  "            if pred(f): return f\n"                                                   \
  "        return None\n"                                                                \
  "def goaway_code(f): return int.from_bytes(f[3][4:8], 'big')\n"

#endif
