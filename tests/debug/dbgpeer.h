/* What the debug tests share: a debug server beside a public one on the
 * same runtime, and a plain-socket GET to a TCP address or a Unix socket
 * (independent of the library's client). */
#ifndef NH_TESTS_DEBUG_PEER_H
#define NH_TESTS_DEBUG_PEER_H

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <nethttp.h>
#include <nethttp/debug.h>
#include <nethttp/httptest.h>

typedef struct peer_resp {
  int status;
  char *body; /* malloc'd, NUL-terminated */
} peer_resp;

/* Connects to "a.b.c.d:port", "[v6]:port" or "unix:/path"; -1 on failure. */
static inline int peer_connect(const char *addr) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  if (!strncmp(addr, "unix:", 5)) {
    struct sockaddr_un *un = (struct sockaddr_un *)&ss;
    un->sun_family = AF_UNIX;
    snprintf(un->sun_path, sizeof un->sun_path, "%s", addr + 5);
    len = sizeof *un;
  } else {
    char host[128];
    const char *colon = strrchr(addr, ':');
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = 0;
    int port = atoi(colon + 1);
    if (host[0] == '[') {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
      host[hl - 1] = 0;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
      if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
        return -1;
      len = sizeof *in6;
    } else {
      struct sockaddr_in *in = (struct sockaddr_in *)&ss;
      in->sin_family = AF_INET;
      in->sin_port = htons((uint16_t)port);
      if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
        return -1;
      len = sizeof *in;
    }
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct timeval tv = {20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Sends "GET target" (extra: more header lines, each ending in \r\n) and
 * reads the whole response (Connection: close). status -1 on failure. */
static inline peer_resp peer_get(const char *addr, const char *target, const char *extra) {
  peer_resp r = {-1, NULL};
  int fd = peer_connect(addr);
  if (fd < 0)
    return r;
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
                   target, extra ? extra : "");
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    return r;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap)
      buf = realloc(buf, (cap *= 2) + 1);
    ssize_t got = recv(fd, buf + len, cap - len, 0);
    if (got <= 0)
      break;
    len += (size_t)got;
  }
  close(fd);
  buf[len] = 0;
  char *body = strstr(buf, "\r\n\r\n");
  if (strncmp(buf, "HTTP/1.1 ", 9) != 0 || !body) {
    free(buf);
    return r;
  }
  r.status = atoi(buf + 9);
  /* Chunked bodies are joined; a Content-Length body is taken as is. */
  body += 4;
  char *head_end = body;
  *(head_end - 2) = 0;
  if (strcasestr(buf, "Transfer-Encoding: chunked")) {
    size_t out = 0;
    char *p = body;
    for (;;) {
      char *end;
      unsigned long sz = strtoul(p, &end, 16);
      char *data = strstr(end, "\r\n");
      if (!data || sz == 0)
        break;
      data += 2;
      memmove(body + out, data, sz);
      out += sz;
      p = data + sz + 2;
    }
    body[out] = 0;
  }
  r.body = strdup(body);
  free(buf);
  return r;
}

static inline void peer_free(peer_resp *r) {
  free(r->body);
  r->body = NULL;
}

/* The first address of this host that is not loopback, IPv4 first
 * ("192.0.2.2"); 0 if there is none. */
static inline int peer_non_loopback_ipv4(char *buf, size_t cap) {
  struct ifaddrs *ifs, *i;
  int found = 0;
  if (getifaddrs(&ifs) != 0)
    return 0;
  for (i = ifs; i && !found; i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
        !(i->ifa_flags & IFF_LOOPBACK)) {
      inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, (socklen_t)cap);
      found = 1;
    }
  freeifaddrs(ifs);
  return found;
}

/* A debug server on rt, listening on each of addrs (NULL-terminated). */
static inline nh_server *debug_server_start(nh_runtime *rt, nh_handler h, const char *const *addrs) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = h.fn;
  cfg.handler_data = h.data;
  nh_server *srv = nh_server_new(rt, &cfg);
  if (!srv)
    return NULL;
  for (const char *const *a = addrs; *a; a++)
    if (nh_server_listen(srv, *a) != NH_OK) {
      nh_server_free(srv);
      return NULL;
    }
  if (nh_server_start(srv) != NH_OK) {
    nh_server_free(srv);
    return NULL;
  }
  return srv;
}

static inline void debug_server_stop(nh_server *srv) {
  nh_server_shutdown(srv, nh_deadline_after(5 * NH_SEC));
  nh_server_free(srv);
}

#endif
