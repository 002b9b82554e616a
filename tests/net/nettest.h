/* Helpers for the network layer's tests: a tiny DNS server on loopback,
 * a UDP socket that never answers, listeners (ordinary and blackholed),
 * and running a body on a fiber or a plain thread. */
#ifndef NH_TESTS_NETTEST_H
#define NH_TESTS_NETTEST_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <nethttp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- a DNS responder: A/AAAA records for a few names, NXDOMAIN else ---- */

typedef struct dns_record {
  const char *name;
  int family;
  const char *addr;
} dns_record;

typedef struct dns_server {
  int sock, stop;
  int port;
  const dns_record *records;
  int nrecords;
  int queries; /* answered so far (read after stop) */
  pthread_t th;
} dns_server;

/* Decodes the question's name into out (dotted, no final dot); returns the
 * offset just past it, or -1. */
static int dns_qname(const unsigned char *p, int n, int off, char *out, size_t cap) {
  size_t o = 0;
  while (off < n && p[off]) {
    int l = p[off++];
    if (l > 63 || off + l > n || o + (size_t)l + 2 > cap)
      return -1;
    if (o)
      out[o++] = '.';
    memcpy(out + o, p + off, (size_t)l);
    o += (size_t)l;
    off += l;
  }
  out[o] = '\0';
  return off < n ? off + 1 : -1;
}

static void dns_answer(dns_server *s, const unsigned char *q, int n, struct sockaddr_storage *from,
                       socklen_t flen) {
  char name[256];
  int end = n >= 12 ? dns_qname(q, n, 12, name, sizeof name) : -1;
  if (end < 0 || end + 4 > n)
    return;
  int qtype = q[end] << 8 | q[end + 1];
  end += 4;
  unsigned char r[512];
  memcpy(r, q, (size_t)end);
  r[2] = 0x81; /* response, recursion desired */
  r[3] = 0x80; /* recursion available, NOERROR */
  r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
  int len = end, count = 0, known = 0;
  for (int i = 0; i < s->nrecords; i++) {
    const dns_record *rec = &s->records[i];
    if (strcasecmp(rec->name, name) != 0)
      continue;
    known = 1;
    int fam = qtype == 1 ? AF_INET : qtype == 28 ? AF_INET6 : 0;
    if (rec->family != fam)
      continue;
    int alen = fam == AF_INET ? 4 : 16;
    unsigned char *a = r + len;
    a[0] = 0xc0, a[1] = 12; /* the name: pointer to the question */
    a[2] = 0, a[3] = (unsigned char)qtype;
    a[4] = 0, a[5] = 1;                      /* IN */
    a[6] = 0, a[7] = 0, a[8] = 0, a[9] = 60; /* TTL */
    a[10] = 0, a[11] = (unsigned char)alen;
    inet_pton(fam, rec->addr, a + 12);
    len += 12 + alen;
    count++;
  }
  r[7] = (unsigned char)count;
  if (!known)
    r[3] |= 3; /* NXDOMAIN */
  s->queries++;
  sendto(s->sock, r, (size_t)len, 0, (struct sockaddr *)from, flen);
}

static void *dns_thread(void *arg) {
  dns_server *s = arg;
  for (;;) {
    struct pollfd p[2] = {{.fd = s->sock, .events = POLLIN}, {.fd = s->stop, .events = POLLIN}};
    if (poll(p, 2, -1) < 0)
      continue;
    if (p[1].revents)
      return NULL;
    unsigned char q[512];
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s->sock, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
    if (n > 0)
      dns_answer(s, q, (int)n, &from, flen);
  }
}

static int udp_socket_bound(int *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t l = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &l);
  *port = ntohs(sa.sin_port);
  return fd;
}

static inline dns_server *dns_server_start(const dns_record *records, int n) {
  dns_server *s = calloc(1, sizeof *s);
  s->records = records;
  s->nrecords = n;
  s->sock = udp_socket_bound(&s->port);
  s->stop = eventfd(0, EFD_CLOEXEC);
  CHECK_EQ(pthread_create(&s->th, NULL, dns_thread, s), 0);
  return s;
}

static inline void dns_server_stop(dns_server *s) {
  uint64_t one = 1;
  CHECK_EQ(write(s->stop, &one, sizeof one), (ssize_t)sizeof one);
  pthread_join(s->th, NULL);
  close(s->sock);
  close(s->stop);
  free(s);
}

/* "127.0.0.1:port" for nh_resolver_config.servers */
static inline const char *server_csv(char *buf, size_t cap, int port) {
  snprintf(buf, cap, "127.0.0.1:%d", port);
  return buf;
}

/* ---- TCP listeners on loopback ---- */

static inline int listen_on(int family, int port, int backlog) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = in6addr_loopback;
    s6->sin6_port = htons((uint16_t)port);
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s4->sin_port = htons((uint16_t)port);
    len = sizeof *s4;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static inline int local_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &l);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset for v6 */
}

/* A listener whose accept queue is full, so a new connect gets no answer:
 * a blackhole on loopback without firewall rules. The fillers stay open in
 * fill[] until blackhole_close. */
typedef struct blackhole {
  int lfd;
  int fill[16];
  int nfill;
} blackhole;

static inline int connect_pending(int family, int port) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6, s6->sin6_addr = in6addr_loopback;
    s6->sin6_port = htons((uint16_t)port);
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET, s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s4->sin_port = htons((uint16_t)port);
    len = sizeof *s4;
  }
  connect(fd, (struct sockaddr *)&ss, len);
  return fd;
}

/* Fills lfd's queue until a connect stays unanswered for 100 ms. */
static inline void blackhole_fill(blackhole *b, int family) {
  int port = local_port(b->lfd);
  for (;;) {
    CHECK(b->nfill < 16);
    int fd = connect_pending(family, port);
    b->fill[b->nfill++] = fd;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 100) == 0)
      return; /* this one hangs: the queue is full */
  }
}

static inline void blackhole_close(blackhole *b) {
  for (int i = 0; i < b->nfill; i++)
    close(b->fill[i]);
  close(b->lfd);
}

static inline int open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  while (d && readdir(d))
    n++;
  if (d)
    closedir(d);
  return n;
}

/* ---- running a body on a fiber (with a leak check) or a plain thread ---- */

typedef struct on_fiber_args {
  void (*fn)(void *);
  void *arg;
} on_fiber_args;

static void on_fiber_entry(void *p) {
  on_fiber_args *a = p;
  nh_leak_baseline *bl = nh_leak_baseline_take(NULL);
  a->fn(a->arg);
  CHECK_EQ(nh_leak_check(bl, NH_SEC, NULL), NH_OK);
}

/* Runs fn(arg) on a fiber of a one-loop runtime: everything it starts shares
 * the loop, so a call that blocked the loop would show. */
static inline void run_on_fiber(void (*fn)(void *), void *arg) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  on_fiber_args a = {fn, arg};
  CHECK_EQ(nh_run(&cfg, on_fiber_entry, &a), NH_OK);
}

static inline nh_dur ms_since(nh_time t0) { return (nh_now() - t0) / NH_MSEC; }

#endif
