/* limit_server: the ceiling of the HTTP benchmark, not a real server.
 *
 * One thread, one edge-triggered epoll, non-blocking sockets. It parses
 * nothing: it reads whatever arrives and, for every "\r\n\r\n" it sees (the
 * end of a request head; the benchmark's requests have no body), owes the
 * client one fixed HTTP/1.1 200 response with a 13-byte body. Counting
 * terminators (with the match state carried across reads) keeps it correct
 * under pipelining and when a terminator is split between two reads.
 * Responses owed but not yet written (socket buffer full) wait for EPOLLOUT.
 *
 * Per connection it keeps 16 bytes, no buffer: its cost per idle connection
 * is the kernel's socket and nothing else.
 *
 *   limit_server --addr 127.0.0.1:18081
 */
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
#include <unistd.h>

static const char RESP[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "hello, world\n";
#define RESP_LEN (sizeof RESP - 1)

/* Many copies of the response, so a burst of pipelined requests is answered
 * with one write(). */
#define BATCH 64
static char resp_batch[BATCH * RESP_LEN];

typedef struct conn {
  int fd;
  uint32_t owed;   /* whole responses still to write */
  uint32_t off;    /* bytes of the first owed response already written */
  uint8_t match;   /* how many bytes of "\r\n\r\n" matched so far */
} conn;

static void die(const char *what) { perror(what); exit(1); }

static void close_conn(conn *c) {
  close(c->fd); /* closing removes it from the epoll set */
  free(c);
}

/* Writes what is owed. Returns 0 when all is written or the socket is full,
 * -1 when the connection is dead. */
static int flush(conn *c) {
  while (c->owed > 0) {
    size_t n = c->owed < BATCH ? c->owed : BATCH;
    size_t len = n * RESP_LEN - c->off;
    ssize_t w = write(c->fd, resp_batch + c->off, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0; /* EPOLLOUT (edge) will tell us */
      return -1;
    }
    size_t done = c->off + (size_t)w;
    c->owed -= (uint32_t)(done / RESP_LEN);
    c->off = (uint32_t)(done % RESP_LEN);
  }
  return 0;
}

/* Reads what has arrived, counting request terminators. A read that does not
 * fill the buffer has drained the socket, and with edge-triggered epoll any
 * byte arriving later raises a new event, so the read that would only return
 * EAGAIN is skipped: one syscall less per request. */
static int on_readable(conn *c) {
  static const char term[4] = {'\r', '\n', '\r', '\n'};
  char buf[16384];
  for (;;) {
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return -1;
    }
    for (ssize_t i = 0; i < r; i++) {
      if (buf[i] == term[c->match]) {
        if (++c->match == 4) { c->owed++; c->match = 0; }
      } else {
        c->match = buf[i] == '\r' ? 1 : 0;
      }
    }
    if ((size_t)r < sizeof buf) break;
  }
  return flush(c);
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1:18081";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) addr = argv[++i];
    else { fprintf(stderr, "usage: %s [--addr HOST:PORT]\n", argv[0]); return 2; }
  }
  char host[64];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof host) { fprintf(stderr, "bad --addr %s\n", addr); return 2; }
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = 0;

  for (int i = 0; i < BATCH; i++) memcpy(resp_batch + i * RESP_LEN, RESP, RESP_LEN);
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); return 2; }
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  if (listen(ls, 4096) < 0) die("listen");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL}; /* NULL = listener */
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) die("epoll_ctl");

  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (c == NULL) { /* accept everything pending (edge-triggered) */
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN) perror("accept4");
            break;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          if (!c) { close(fd); continue; }
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0) { close_conn(c); continue; }
        }
        continue;
      }
      uint32_t e = evs[i].events;
      int dead = (e & (EPOLLERR | EPOLLHUP)) != 0;
      if (!dead && (e & EPOLLIN)) dead = on_readable(c) < 0;
      if (!dead && (e & EPOLLOUT)) dead = flush(c) < 0;
      /* The peer sent FIN: answer what it asked (above), then close. Checked
       * here because a short read stops before the read that returns 0. */
      if (!dead && (e & EPOLLRDHUP)) dead = 1;
      if (dead) close_conn(c);
    }
  }
}
