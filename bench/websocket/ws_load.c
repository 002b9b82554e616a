/* ws_load: one WebSocket load client, used identically against every
 * server of bench/websocket/run.sh (single thread, raw epoll, no library).
 *
 *   ws_load echo HOST PORT CONNS SECONDS BYTES [PID,PID...]
 *     CONNS WebSockets, each with one message in flight: a masked text
 *     frame of BYTES bytes, then its echo (checked byte for byte), then
 *     the next. After every connection has made one round trip, it counts
 *     round trips for SECONDS and reads the CPU ticks (utime+stime) of the
 *     PIDs (the server's processes) at the start and the end of that
 *     window. Prints "round_trips N seconds S server_ticks T errors E".
 *   ws_load idle HOST PORT CONNS MAX_HOLD_SECONDS
 *     Opens CONNS WebSockets (the upgrade done, nothing sent after it),
 *     at most WAVE handshakes in flight, prints "ready OPEN FAILED", then
 *     holds them until SIGTERM/SIGINT or MAX_HOLD_SECONDS, and prints
 *     "held OPEN closed_by_server CLOSED".
 *
 * Each frame has its own mask key (xorshift: the server's unmasking work
 * is the same as with a random key). Raises its own RLIMIT_NOFILE. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAVE 256
#define STEP_TIMEOUT_MS 20000
#define MAXMSG 4096

enum { CONNECTING, HANDSHAKE, OPEN, FAILED, CLOSED };

typedef struct conn {
  int fd, state;
  size_t got;
  long long since; /* when the current step began */
  char buf[MAXMSG + 16];
} conn;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char req[512];
static size_t req_len;
static struct sockaddr_in addr;
static int ep;
static size_t msg_len;
static char msg[MAXMSG];
static uint32_t rng = 2463534242u;

static uint32_t xorshift(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static long long ticks_of(const char *pids) {
  long long total = 0;
  char path[64], line[2048];
  const char *p = pids;
  while (p && *p) {
    long pid = strtol(p, (char **)&p, 10);
    if (*p == ',')
      p++;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    if (fgets(line, sizeof line, f)) {
      char *q = strrchr(line, ')');
      unsigned long long ut = 0, st = 0;
      /* after ")": state(3) ... utime(14) stime(15) */
      if (q && sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
        total += (long long)(ut + st);
    }
    fclose(f);
  }
  return total;
}

static int start_connect(conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
    return -1;
  c->state = CONNECTING;
  c->got = 0;
  c->since = now_ms();
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void fail(conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->state = FAILED;
}

/* One masked text frame of msg_len bytes (msg_len < 126). */
static int send_msg(conn *c) {
  uint8_t f[2 + 4 + MAXMSG];
  uint32_t k = xorshift();
  f[0] = 0x81;
  f[1] = (uint8_t)(0x80 | msg_len);
  memcpy(f + 2, &k, 4);
  for (size_t i = 0; i < msg_len; i++)
    f[6 + i] = (uint8_t)msg[i] ^ f[2 + i % 4];
  size_t n = 6 + msg_len;
  ssize_t w = write(c->fd, f, n);
  c->got = 0;
  c->since = now_ms();
  return w == (ssize_t)n ? 0 : -1;
}

/* Reads what is there. Returns 1 when a step completed (handshake done, or
 * a whole echo received and checked), 0 for more to come, -1 on error. */
static int on_readable(conn *c) {
  ssize_t r = read(c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got);
  if (r == 0)
    return -2; /* closed by the server */
  if (r < 0)
    return errno == EAGAIN ? 0 : -1;
  c->got += (size_t)r;
  c->buf[c->got] = 0;
  if (c->state == HANDSHAKE) {
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end)
      return c->got >= sizeof c->buf - 1 ? -1 : 0;
    if (strncmp(c->buf, "HTTP/1.1 101", 12) || !strstr(c->buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
      return -1;
    if ((size_t)(end + 4 - c->buf) != c->got)
      return -1; /* nothing may follow before we speak */
    c->got = 0;
    return 1;
  }
  if (c->got < 2)
    return 0;
  uint8_t *b = (uint8_t *)c->buf;
  if (b[0] != 0x81 || (b[1] & 0x80) || (b[1] & 0x7f) != msg_len)
    return -1; /* not an unmasked, unfragmented text frame of our length */
  if (c->got < 2 + msg_len)
    return 0;
  if (c->got != 2 + msg_len || memcmp(b + 2, msg, msg_len))
    return -1;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: ws_load echo HOST PORT CONNS SECONDS BYTES [PIDS]\n"
                    "       ws_load idle HOST PORT CONNS MAX_HOLD_SECONDS\n");
    return 2;
  }
  int echo = !strcmp(argv[1], "echo");
  int n = atoi(argv[4]);
  int secs = atoi(argv[5]);
  const char *pids = echo && argc > 7 ? argv[7] : NULL;
  msg_len = echo ? (size_t)atoi(argv[6]) : 0;
  if (n <= 0 || secs <= 0 || msg_len > 125) {
    fprintf(stderr, "ws_load: bad arguments (BYTES at most 125)\n");
    return 2;
  }
  for (size_t i = 0; i < msg_len; i++)
    msg[i] = (char)('a' + i % 26);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1)
    return 2;
  req_len = (size_t)snprintf(req, sizeof req,
                             "GET / HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n",
                             argv[2], argv[3]);
  ep = epoll_create1(EPOLL_CLOEXEC);
  conn *cs = calloc((size_t)n, sizeof *cs);
  if (!cs)
    return 1;
  for (int i = 0; i < n; i++)
    cs[i].fd = -1;
  int next = 0, inflight = 0, open = 0, failed = 0, closed = 0, warm = 0;
  long long trips = 0, errors = 0, t_start = 0, t_end = 0, ticks0 = 0;
  long long deadline = now_ms() + 600 * 1000LL; /* opening takes 10 min at most */
  struct epoll_event evs[512];
  while (!stop) {
    while (next < n && inflight < WAVE) {
      if (start_connect(&cs[next]) < 0) {
        fail(&cs[next]);
        failed++;
      } else {
        inflight++;
      }
      next++;
    }
    if (next == n && inflight == 0 && !t_start) {
      if (!echo) {
        printf("ready %d %d\n", open, failed);
        fflush(stdout);
        deadline = now_ms() + secs * 1000LL;
        t_start = 1;
      } else if (open == 0) {
        printf("round_trips 0 seconds 0 server_ticks 0 errors %d\n", failed);
        return 1;
      }
    }
    if (echo && t_start && now_ms() >= t_end)
      break;
    if (!echo && t_start && now_ms() >= deadline)
      break;
    if (!t_start && now_ms() >= deadline)
      break;
    int k = epoll_wait(ep, evs, 512, 100);
    long long now = now_ms();
    for (int e = 0; e < k; e++) {
      conn *c = evs[e].data.ptr;
      if (c->fd < 0)
        continue;
      if (c->state == CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err || write(c->fd, req, req_len) != (ssize_t)req_len) {
          fail(c), failed++, inflight--;
          continue;
        }
        c->state = HANDSHAKE;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      if (!(evs[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        continue;
      int r = on_readable(c);
      if (r == 0)
        continue;
      if (r < 0) {
        if (c->state == HANDSHAKE)
          failed++, inflight--;
        else if (r == -2 && !echo)
          open--, closed++;
        else
          open--, errors++;
        fail(c);
        continue;
      }
      if (c->state == HANDSHAKE) {
        c->state = OPEN;
        open++, inflight--;
        if (echo && send_msg(c) < 0)
          fail(c), open--, errors++;
        continue;
      }
      /* an echo came back */
      if (t_start)
        trips++;
      else if (++warm >= open && next == n && inflight == 0) {
        t_start = now;
        t_end = now + secs * 1000LL;
        ticks0 = pids ? ticks_of(pids) : 0;
      }
      if (send_msg(c) < 0)
        fail(c), open--, errors++;
    }
    (void)now;
  }
  if (echo) {
    long long ticks1 = pids ? ticks_of(pids) : 0;
    double s = (double)(now_ms() - t_start) / 1000.0;
    printf("round_trips %lld seconds %.3f server_ticks %lld errors %lld failed %d\n", trips,
           t_start ? s : 0.0, ticks1 - ticks0, errors, failed);
    return trips > 0 ? 0 : 1;
  }
  printf("held %d closed_by_server %d\n", open, closed);
  return 0;
}
