/* idle_client: holds N idle keep-alive connections to one HTTP server.
 *
 *   idle_client HOST PORT N [MAX_HOLD_SECONDS]
 *
 * Opens N connections to HOST:PORT; on each it sends one "GET /" and reads the
 * whole response (head, then Content-Length bytes of body), so that every
 * connection has served a request and is now an idle keep-alive connection,
 * the state the benchmark measures. Connections are opened in waves of at
 * most WAVE in flight, so the server's accept backlog never overflows.
 *
 * Then it prints "ready OPEN FAILED CLOSED" on stdout (connections open and
 * idle, connections that failed to open or get their response, connections
 * the server closed after answering) and holds the open ones,
 * watching for the server closing any of them, until SIGTERM/SIGINT or
 * MAX_HOLD_SECONDS (default 300: it always stops by itself). On exit it
 * prints "held OPEN closed_by_server CLOSED" (CLOSED counted since the start)
 * and exits 0.
 *
 * It raises its own RLIMIT_NOFILE to the hard limit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAVE 256
#define STEP_TIMEOUT_MS 10000 /* a connection not answered in 10 s has failed */

enum { CONNECTING, READING, IDLE, FAILED };

typedef struct conn {
  int fd;
  int state;
  int got;      /* bytes of response read so far */
  int want;     /* total response bytes, once the head is parsed; else -1 */
  char buf[1024];
} conn;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *req;
static size_t req_len;

/* Returns 1 when the whole response has arrived, 0 to wait, -1 on failure. */
static int on_readable(conn *c) {
  for (;;) {
    if (c->got >= (int)sizeof c->buf - 1) return -1; /* response larger than any of ours */
    ssize_t r = read(c->fd, c->buf + c->got, sizeof c->buf - 1 - (size_t)c->got);
    if (r == 0) return -1;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno == EAGAIN ? 0 : -1;
    c->got += (int)r;
    c->buf[c->got] = 0;
    if (c->want < 0) {
      char *end = strstr(c->buf, "\r\n\r\n");
      if (!end) continue;
      if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0) return -1;
      char *cl = strcasestr(c->buf, "\r\ncontent-length:");
      if (!cl || cl > end) return -1; /* every server here sends Content-Length */
      c->want = (int)(end + 4 - c->buf) + atoi(cl + 17);
    }
    if (c->got >= c->want) return c->got == c->want ? 1 : -1;
  }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s HOST PORT N [MAX_HOLD_SECONDS]\n", argv[0]); return 2; }
  const char *host = argv[1];
  int port = atoi(argv[2]), n = atoi(argv[3]);
  int max_hold = argc > 4 ? atoi(argv[4]) : 300;

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  if (rl.rlim_cur < (rlim_t)n + 16) {
    fprintf(stderr, "idle_client: RLIMIT_NOFILE %llu is too low for %d connections\n", (unsigned long long)rl.rlim_cur, n);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  static char reqbuf[256];
  snprintf(reqbuf, sizeof reqbuf, "GET / HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: idle_client\r\n\r\n", host, port);
  req = reqbuf;
  req_len = strlen(reqbuf);

  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "idle_client: bad host %s\n", host); return 2; }

  conn *conns = calloc((size_t)n, sizeof *conns);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (!conns || ep < 0) { perror("idle_client"); return 1; }

  /* Phase 1: open all connections, WAVE at a time, each through one request. */
  int next = 0, inflight = 0, ok = 0, failed = 0, closed = 0;
  long long wave_start = now_ms();
  struct epoll_event evs[WAVE];
  while ((next < n || inflight > 0) && !stop) {
    while (next < n && inflight < WAVE) {
      conn *c = &conns[next++];
      c->want = -1;
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c->fd < 0) { perror("idle_client: socket"); c->state = FAILED; failed++; continue; }
      if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        c->state = FAILED; failed++; close(c->fd); c->fd = -1; continue;
      }
      c->state = CONNECTING;
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      inflight++;
      wave_start = now_ms();
    }
    int k = epoll_wait(ep, evs, WAVE, 1000);
    if (k == 0 && now_ms() - wave_start > STEP_TIMEOUT_MS) {
      fprintf(stderr, "idle_client: %d connections got no answer in %d ms\n", inflight, STEP_TIMEOUT_MS);
      for (int i = 0; i < next; i++)
        if (conns[i].state == CONNECTING || conns[i].state == READING) {
          close(conns[i].fd); conns[i].fd = -1; conns[i].state = FAILED; failed++;
        }
      inflight = 0;
      continue;
    }
    for (int i = 0; i < k; i++) {
      conn *c = evs[i].data.ptr;
      int res = 0;
      if (c->state == CONNECTING && (evs[i].events & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || write(c->fd, req, req_len) != (ssize_t)req_len) res = -1;
        else {
          c->state = READING;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      } else if (c->state == READING) {
        res = on_readable(c);
      } else if (c->state == IDLE) { /* the server closed one already done */
        c->state = FAILED; closed++;
        close(c->fd); c->fd = -1;
      }
      if (res == 1) {
        /* Idle now: watch only for the server closing it. */
        c->state = IDLE; ok++; inflight--;
        struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        wave_start = now_ms();
      } else if (res < 0) {
        c->state = FAILED; failed++; inflight--;
        close(c->fd); c->fd = -1;
      }
    }
  }
  printf("ready %d %d %d\n", ok - closed, failed, closed);
  fflush(stdout);

  /* Phase 2: hold them, counting the ones the server closes. */
  long long deadline = now_ms() + (long long)max_hold * 1000;
  while (!stop && now_ms() < deadline) {
    int k = epoll_wait(ep, evs, WAVE, 200);
    for (int i = 0; i < k; i++) {
      conn *c = evs[i].data.ptr;
      if (c->state != IDLE) continue;
      c->state = FAILED; closed++;
      close(c->fd); c->fd = -1; /* also removes it from the epoll set */
    }
  }
  printf("held %d closed_by_server %d\n", ok - closed, closed);
  fflush(stdout);
  return 0; /* the kernel closes the rest */
}
