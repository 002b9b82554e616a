/* Fuzz target: client bytes into the server's whole HTTP/2 connection
 * code (nghttp2's session and our callbacks, streams with their handler
 * fibers, flow control, resets, limits), over a socketpair handed straight
 * to a live server loop with h2c on. The input follows the client preface,
 * written in two pieces split at an offset taken from its first byte;
 * whatever comes back must start with the server's SETTINGS frame and the
 * connection must end (no hang). */
#include "server/internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  char buf[1024];
  ssize_t n, total = 0;
  if (p[0] == '/' && p[1] == 'i') /* /i...: leave the body unread */
    n = 0;
  else
    while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
      total += n;
  if (p[0] == '/' && p[1] == 'p')
    nh_panic("fuzz: a handler that panics");
  if (p[0] == '/' && p[1] == 'n')
    nh_resp_write_header(w, 204);
  else if (p[0] == '/' && p[1] == 'f') {
    nh_resp_write_string(w, "a");
    nh_resp_flush(w);
    nh_resp_write_string(w, "b");
  } else
    nh_resp_printf(w, "%s %zd", nh_request_method(r), total);
}

static nh_runtime *rt;
static nh_server *srv;

static void inject(nh_loop *l, void *arg) {
  (void)l;
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
    cfg.write_timeout = 500 * NH_MSEC;
    cfg.max_header_bytes = 4096;
    cfg.http2.h2c = 1;
    cfg.http2.max_concurrent_streams = 8;
    cfg.http2.max_queued_streams = 4;
    cfg.http2.preface_timeout = 500 * NH_MSEC;
    cfg.http2.settings_timeout = 500 * NH_MSEC;
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
  static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  if (send(sv[0], preface, sizeof preface - 1, MSG_NOSIGNAL) < 0 ||
      send(sv[0], data, cut, MSG_NOSIGNAL) < 0 ||
      nh__loop_post(srv->loops[0].loop, inject, (void *)(intptr_t)sv[1]))
    abort();
  /* The server may already have closed after an error: EPIPE is fine. */
  if (size > cut)
    send(sv[0], data + cut, size - cut, MSG_NOSIGNAL);
  shutdown(sv[0], SHUT_WR);
  unsigned char buf[4096], head[9];
  size_t got = 0;
  ssize_t n;
  /* A signal (the runtime's, the fuzzer's) may interrupt a read. */
  while ((n = read(sv[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n < 0)
      continue;
    for (ssize_t i = 0; i < n && got + (size_t)i < sizeof head; i++)
      head[got + (size_t)i] = buf[i];
    got += (size_t)n;
  }
  if (n < 0) /* the read timed out: the server kept a finished connection */
    abort();
  if (got >= sizeof head && head[3] != 4) /* RFC 9113 3.4: SETTINGS first */
    abort();
  close(sv[0]);
  return 0;
}
