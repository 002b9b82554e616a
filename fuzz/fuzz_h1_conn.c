/* Fuzz target: request bytes into the server's whole HTTP/1 connection code
 * (head reading, pipelining, bodies read in small and in large pieces,
 * drain, responses), over a socketpair
 * handed straight to a live server loop. The input is written in two
 * pieces, split at an offset taken from its first byte; whatever comes back
 * must be HTTP/1.1 responses and the connection must end (no hang). */
#include "server/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  /* /b...: reads as large as the server's buffer, which a Content-Length
   * body answers from the socket straight into buf (the direct path). */
  size_t cap = p[0] == '/' && p[1] == 'b' ? 16384 : 512;
  char *buf = malloc(cap);
  ssize_t n, total = 0;
  if (!buf || (p[0] == '/' && p[1] == 'i')) /* /i...: ignore the body (drain path) */
    n = 0;
  else
    while ((n = nh_request_read(r, buf, cap)) > 0)
      total += n;
  free(buf);
  if (p[1] == 'n')
    nh_resp_write_header(w, 204);
  else if (p[1] == 'f') {
    nh_resp_write_string(w, "a");
    nh_resp_flush(w);
    nh_resp_write_string(w, "b");
  } else
    nh_resp_printf(w, "%s %zd", nh_request_method(r), total);
}

static nh_runtime *rt;
static nh_server *srv;

static void inject(nh_loop *l, void *arg) {
  struct sockaddr_storage peer = {.ss_family = AF_UNIX};
  nh__sconn_accepted(&srv->loops[0], 0, (int)(intptr_t)arg, &peer, sizeof(sa_family_t), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!rt) {
    nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
    rc.loops = 1;
    rc.watchdog_threshold = NH_NO_TIMEOUT;
    rt = nh_runtime_new(&rc);
    nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
    cfg.handler = handler;
    cfg.read_header_timeout = 500 * NH_MSEC;
    cfg.read_timeout = 500 * NH_MSEC;
    cfg.max_header_bytes = 2048;
    cfg.max_header_count = 20;
    cfg.logger = nh_logger_text_new(stderr, NH_LOG_ERROR);
    srv = nh_server_new(rt, &cfg);
  }
  if (size < 1)
    return 0;
  size_t cut = data[0] % size;
  data++;
  size--;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
    abort();
  struct timeval tv = {5, 0};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (cut > size)
    cut = size;
  if (send(sv[0], data, cut, MSG_NOSIGNAL) < 0 ||
      nh__loop_post(srv->loops[0].loop, inject, (void *)(intptr_t)sv[1]))
    abort();
  /* The server may already have closed after a refusal: EPIPE is fine. */
  if (size > cut)
    send(sv[0], data + cut, size - cut, MSG_NOSIGNAL);
  shutdown(sv[0], SHUT_WR);
  char buf[4096], first[10] = "";
  size_t got = 0;
  ssize_t n;
  while ((n = read(sv[0], buf, sizeof buf)) > 0) {
    if (got < sizeof first - 1)
      memcpy(first + got, buf, (size_t)n < sizeof first - 1 - got ? (size_t)n : sizeof first - 1 - got);
    got += (size_t)n;
  }
  if (n < 0) /* the read timed out: the server kept a finished connection */
    abort();
  if (got && strncmp(first, "HTTP/1.1 ", got < 9 ? got : 9) != 0)
    abort();
  close(sv[0]);
  return 0;
}
