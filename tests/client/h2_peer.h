/* HTTP/2 peers for the client's tests, run as child processes on
 * loopback: the scripted python server beside this file (h2_peer.py,
 * python3-h2) and nghttpd. Each one's output lines are collected by a
 * thread, so a test can wait for an event the peer saw ("conn 1 stream 1")
 * and count them. A missing peer skips the case. */
#ifndef NH_TESTS_CLIENT_H2_PEER_H
#define NH_TESTS_CLIENT_H2_PEER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "nethttp/client.h"

extern char **environ;

typedef struct h2_peer {
  pid_t pid;
  int out; /* the child's stdout and stderr */
  int port;
  pthread_t reader;
  pthread_mutex_t mu;
  char *text; /* everything it printed */
  size_t len, cap;
  int eof;
} h2_peer;

static inline void *h2_peer_read_main(void *arg) {
  h2_peer *p = arg;
  char buf[4096];
  for (;;) {
    ssize_t n = read(p->out, buf, sizeof buf);
    pthread_mutex_lock(&p->mu);
    if (n <= 0) {
      p->eof = 1;
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    if (p->len + (size_t)n + 1 > p->cap) {
      p->cap = (p->len + (size_t)n + 1) * 2;
      p->text = realloc(p->text, p->cap);
    }
    memcpy(p->text + p->len, buf, (size_t)n);
    p->len += (size_t)n;
    p->text[p->len] = 0;
    pthread_mutex_unlock(&p->mu);
  }
}

/* How many times s occurs in what the peer printed. */
static inline int h2_peer_count(h2_peer *p, const char *s) {
  int n = 0;
  pthread_mutex_lock(&p->mu);
  for (const char *at = p->text; at && (at = strstr(at, s)); at += strlen(s))
    n++;
  pthread_mutex_unlock(&p->mu);
  return n;
}

/* Waits (up to 10 s) for the peer to print s. */
#define H2_PEER_SAW(p, s) CHECK_SOON(h2_peer_count((p), (s)) > 0)

/* The child is killed when the test process ends, even by a failed
 * check's abort (PR_SET_PDEATHSIG): no peer outlives its test. */
static inline h2_peer *h2_peer_spawn(char *const argv[]) {
  h2_peer *p = calloc(1, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  int fds[2];
  CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t parent = getpid();
  p->pid = fork();
  CHECK(p->pid >= 0);
  if (p->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127); /* the test already ended */
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execve(argv[0], argv, environ);
    _exit(127);
  }
  close(fds[1]);
  p->out = fds[0];
  pthread_create(&p->reader, NULL, h2_peer_read_main, p);
  return p;
}

static inline void h2_peer_stop(h2_peer *p) {
  kill(p->pid, SIGTERM);
  waitpid(p->pid, NULL, 0);
  pthread_join(p->reader, NULL);
  close(p->out);
  if (getenv("H2_PEER_LOG"))
    fprintf(stderr, "--- peer output ---\n%s\n", p->text ? p->text : "");
  free(p->text);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* The scripted python server in mode (h2_peer.py): skips without
 * python3's h2 module. */
static inline h2_peer *h2_peer_python(const char *mode) {
  if (access("/usr/bin/python3", X_OK) != 0 ||
      system("/usr/bin/python3 -c 'import h2' >/dev/null 2>&1") != 0)
    NH_SKIP("python3 with the h2 module is not installed");
  char script[1024];
  snprintf(script, sizeof script, "%s", __FILE__);
  char *slash = strrchr(script, '/');
  snprintf(slash ? slash + 1 : script, sizeof script - (size_t)(slash ? slash + 1 - script : 0),
           "h2_peer.py");
  char *argv[] = {"/usr/bin/python3", "-u", script, (char *)mode, NULL};
  h2_peer *p = h2_peer_spawn(argv);
  /* Its first line is the port. */
  CHECK_SOON(h2_peer_count(p, "\n") > 0 || p->eof);
  pthread_mutex_lock(&p->mu);
  p->port = p->text ? atoi(p->text) : 0;
  pthread_mutex_unlock(&p->mu);
  CHECK(p->port > 0);
  return p;
}

/* A free loopback port for a peer that cannot be told port 0 (nghttpd):
 * bound and released at once. */
static inline int h2_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

/* Waits until something accepts on 127.0.0.1:port (a peer starting up). */
static inline int h2_port_ready(int port) {
  for (int i = 0; i < 1000; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok)
      return 1;
    usleep(10000);
  }
  return 0;
}

/* nghttpd serving dir on a loopback port; key and cert NULL for h2c.
 * extra: more options (NULL-terminated) or NULL. Skips without nghttpd. */
static inline h2_peer *h2_peer_nghttpd(const char *dir, const char *key, const char *cert,
                                       const char *const *extra) {
  const char *bin = "/usr/sbin/nghttpd";
  if (access(bin, X_OK) != 0)
    NH_SKIP("nghttpd (nghttp2-server) is not installed");
  char port[16], docs[1100];
  int pn = h2_free_port();
  snprintf(port, sizeof port, "%d", pn);
  snprintf(docs, sizeof docs, "--htdocs=%s", dir);
  char *argv[24];
  int n = 0;
  argv[n++] = (char *)bin;
  argv[n++] = "--address=127.0.0.1";
  argv[n++] = docs;
  if (!key)
    argv[n++] = "--no-tls";
  while (extra && *extra && n < 18)
    argv[n++] = (char *)*extra++;
  argv[n++] = port;
  if (key) {
    argv[n++] = (char *)key;
    argv[n++] = (char *)cert;
  }
  argv[n] = NULL;
  h2_peer *p = h2_peer_spawn(argv);
  p->port = pn;
  CHECK(h2_port_ready(pn));
  return p;
}

/* "http://127.0.0.1:PORT/path" for p (a buffer of this thread's). */
static inline char *h2_peer_url(const h2_peer *p, const char *path) {
  static __thread char buf[256];
  snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", p->port, path);
  return buf;
}

/* A client over transport t. */
static inline nh_client *h2_client_of(nh_transport *t) {
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  return nh_client_new(&cc);
}

#endif
