/* A scripted HTTP server for client tests: a loopback listener whose every
 * connection runs a test-given function on its own thread, so a test can
 * answer exactly the bytes it wants, stall, or hang up at the worst moment. */
#ifndef NH_TESTS_CLIENT_SCRIPTED_H
#define NH_TESTS_CLIENT_SCRIPTED_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef void (*script_fn)(int fd, int index, void *arg);

#define SCRIPT_MAX_CONNS 128

typedef struct scripted {
  int lfd, port;
  script_fn fn;
  void *arg;
  pthread_t acceptor;
  pthread_t conn_threads[SCRIPT_MAX_CONNS];
  atomic_int conns;
  atomic_int ended; /* connections whose script ended and socket closed */
  atomic_int stop;
} scripted;

typedef struct script_conn {
  scripted *s;
  int fd, index;
} script_conn;

static inline void *script_conn_main(void *p) {
  script_conn *c = p;
  c->s->fn(c->fd, c->index, c->s->arg);
  close(c->fd);
  atomic_fetch_add(&c->s->ended, 1);
  free(c);
  return NULL;
}

static inline void *script_accept_main(void *p) {
  scripted *s = p;
  while (!atomic_load(&s->stop)) {
    struct pollfd pfd = {s->lfd, POLLIN, 0};
    if (poll(&pfd, 1, 20) <= 0)
      continue;
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    int i = atomic_fetch_add(&s->conns, 1);
    if (i >= SCRIPT_MAX_CONNS) {
      close(fd);
      continue;
    }
    script_conn *c = malloc(sizeof *c);
    *c = (script_conn){s, fd, i};
    pthread_create(&s->conn_threads[i], NULL, script_conn_main, c);
  }
  return NULL;
}

/* backlog 0 and never accepting (fn NULL, accept_too 0) makes a blackhole
 * that completes handshakes but never reads. */
static inline scripted *scripted_start(script_fn fn, void *arg) {
  scripted *s = calloc(1, sizeof *s);
  s->fn = fn;
  s->arg = arg;
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(s->lfd, (struct sockaddr *)&a, sizeof a);
  listen(s->lfd, 128);
  socklen_t len = sizeof a;
  getsockname(s->lfd, (struct sockaddr *)&a, &len);
  s->port = ntohs(a.sin_port);
  if (fn)
    pthread_create(&s->acceptor, NULL, script_accept_main, s);
  return s;
}

/* Waits for every connection's script to end (scripts must end by
 * themselves: on EOF from the client at the latest). */
static inline void scripted_stop(scripted *s) {
  atomic_store(&s->stop, 1);
  if (s->fn)
    pthread_join(s->acceptor, NULL);
  int n = atomic_load(&s->conns);
  for (int i = 0; i < n && i < SCRIPT_MAX_CONNS; i++)
    pthread_join(s->conn_threads[i], NULL);
  close(s->lfd);
  free(s);
}

static inline char *scripted_url(scripted *s, const char *path) {
  static __thread char buf[256];
  snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", s->port, path);
  return buf;
}

/* Reads one request (head and a Content-Length body) into buf; returns its
 * length, 0 on EOF before any byte, -1 on error or timeout (2 s). */
static inline long script_read_request(int fd, char *buf, size_t cap) {
  size_t len = 0;
  long need = -1;
  for (;;) {
    if (need < 0) {
      buf[len] = 0;
      char *end = strstr(buf, "\r\n\r\n");
      if (end) {
        long body = 0;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end)
          body = atol(cl + 17);
        need = (end + 4 - buf) + body;
      }
    }
    if (need >= 0 && (long)len >= need)
      return need;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0)
      return -1;
    ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
    if (n <= 0)
      return len ? -1 : 0;
    len += (size_t)n;
  }
}

static inline void script_send(int fd, const char *s) { send(fd, s, strlen(s), MSG_NOSIGNAL); }

/* Waits until the client closes (EOF) or 2 s pass. */
static inline void script_wait_eof(int fd) {
  char b[4096];
  struct pollfd pfd = {fd, POLLIN, 0};
  while (poll(&pfd, 1, 2000) > 0 && recv(fd, b, sizeof b, 0) > 0)
    ;
}


/* What script_tunnel saw: the first request's bytes (cut to fit) and how
 * many tunnels it opened. */
typedef struct script_tunnel_log {
  char connect[1024];
  atomic_int tunnels;
} script_tunnel_log;

/* A script_fn for a CONNECT proxy to 127.0.0.1 (arg: a script_tunnel_log):
 * 400 to anything else, 502 if the target refuses, else 200 and the bytes
 * both ways until either side ends or 5 s pass idle. */
static inline void script_tunnel(int fd, int i, void *arg) {
  script_tunnel_log *log = arg;
  char buf[16384];
  long n = script_read_request(fd, buf, sizeof buf);
  if (n <= 0)
    return;
  if (i == 0)
    memcpy(log->connect, buf, (size_t)n < sizeof log->connect ? (size_t)n : sizeof log->connect - 1);
  int port = 0;
  if (sscanf(buf, "CONNECT 127.0.0.1:%d ", &port) != 1) {
    script_send(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(up, (struct sockaddr *)&a, sizeof a) != 0) {
    script_send(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    close(up);
    return;
  }
  atomic_fetch_add(&log->tunnels, 1);
  script_send(fd, "HTTP/1.1 200 Connection established\r\n\r\n");
  struct pollfd p[2] = {{fd, POLLIN, 0}, {up, POLLIN, 0}};
  while (poll(p, 2, 5000) > 0) {
    int from = (p[0].revents & (POLLIN | POLLHUP)) ? 0 : 1;
    ssize_t k = recv(p[from].fd, buf, sizeof buf, 0);
    if (k <= 0 || send(p[1 - from].fd, buf, (size_t)k, MSG_NOSIGNAL) != k)
      break;
  }
  close(up);
}

#endif
