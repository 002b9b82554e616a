/* A deliberately dumb HTTP/1.1 client for tests: plain blocking sockets, raw
 * bytes out, responses parsed just enough to assert on status, headers,
 * body and whether the server closed the connection. Independent of the
 * library's own parsing, so it can catch its mistakes. */
#ifndef NH_TESTS_RAWCLIENT_H
#define NH_TESTS_RAWCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct raw_resp {
  int status;
  char head[8192]; /* status line and headers, NUL-terminated */
  char *body;      /* malloc'd, NUL-terminated */
  size_t blen;
  int complete; /* a whole response was read */
} raw_resp;

static inline int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static inline int raw_send(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0)
      return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}
#define raw_sends(fd, s) raw_send((fd), (s), strlen(s))

/* Buffered reader over the socket, so pipelined responses split cleanly. */
typedef struct raw_conn {
  int fd;
  char buf[(1 << 16) + 1]; /* one spare byte for a NUL */
  size_t len;
} raw_conn;

#define RAW_BUF_CAP (sizeof(((raw_conn *)0)->buf) - 1)

static inline int raw_fill(raw_conn *c) {
  if (c->len == RAW_BUF_CAP)
    return -1;
  ssize_t n = recv(c->fd, c->buf + c->len, RAW_BUF_CAP - c->len, 0);
  if (n <= 0)
    return -1;
  c->len += (size_t)n;
  return 0;
}

static inline void raw_take(raw_conn *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

/* The value of a head's first field called name (any case), or NULL.
 * Static buffer, one a thread. */
static inline const char *raw_field(const char *head, const char *name) {
  static __thread char val[1024];
  const char *p = head;
  size_t n = strlen(name);
  while ((p = strchr(p, '\n'))) {
    p++;
    if (!strncasecmp(p, name, n) && p[n] == ':') {
      p += n + 1;
      while (*p == ' ')
        p++;
      size_t l = strcspn(p, "\r\n");
      if (l >= sizeof val)
        l = sizeof val - 1;
      memcpy(val, p, l);
      val[l] = 0;
      return val;
    }
  }
  return NULL;
}

static inline const char *raw_header(const raw_resp *r, const char *name) {
  return raw_field(r->head, name);
}

/* Reads a head (up to and with the blank line) into head, NUL-terminated
 * and cut to cap - 1 bytes, leaving what follows in c. 0, or -1 if the
 * stream ended first. */
static inline int raw_read_head(raw_conn *c, char *head, size_t cap) {
  char *end;
  for (;;) {
    c->buf[c->len] = 0;
    if ((end = strstr(c->buf, "\r\n\r\n")))
      break;
    if (raw_fill(c) < 0)
      return -1;
  }
  size_t n = (size_t)(end + 4 - c->buf);
  size_t k = n < cap ? n : cap - 1;
  memcpy(head, c->buf, k);
  head[k] = 0;
  raw_take(c, n);
  return 0;
}

/* Read one response (head_request: no body follows). */
static inline int raw_read(raw_conn *c, raw_resp *r, int head_request) {
  memset(r, 0, sizeof *r);
  if (raw_read_head(c, r->head, sizeof r->head) < 0)
    return -1;
  r->status = atoi(r->head + 9);
  const char *cl = raw_header(r, "Content-Length");
  const char *te = raw_header(r, "Transfer-Encoding");
  size_t cap = 1 << 16, len = 0;
  r->body = malloc(cap + 1);
  int bodyless = head_request || r->status == 204 || r->status == 304 || r->status / 100 == 1;
  if (bodyless) {
  } else if (te && !strcasecmp(te, "chunked")) {
    for (;;) {
      char *eol;
      while (!(c->buf[c->len] = 0, eol = strstr(c->buf, "\r\n")))
        if (raw_fill(c) < 0)
          return -1;
      size_t sz = strtoul(c->buf, NULL, 16);
      raw_take(c, (size_t)(eol - c->buf) + 2);
      if (sz == 0) {
        while (!(c->buf[c->len] = 0, strstr(c->buf, "\r\n")))
          if (raw_fill(c) < 0)
            return -1;
        char *t = strstr(c->buf, "\r\n");
        /* trailers end with an empty line */
        while (t != c->buf) {
          raw_take(c, (size_t)(t - c->buf) + 2);
          while (!(c->buf[c->len] = 0, t = strstr(c->buf, "\r\n")))
            if (raw_fill(c) < 0)
              return -1;
        }
        raw_take(c, 2);
        break;
      }
      if (len + sz > cap)
        r->body = realloc(r->body, (cap = (len + sz) * 2) + 1);
      for (size_t got = 0; got < sz;) { /* chunks may exceed the buffer */
        if (!c->len && raw_fill(c) < 0)
          return -1;
        size_t n = c->len < sz - got ? c->len : sz - got;
        memcpy(r->body + len, c->buf, n);
        len += n;
        got += n;
        raw_take(c, n);
      }
      while (c->len < 2)
        if (raw_fill(c) < 0)
          return -1;
      raw_take(c, 2);
    }
  } else if (cl) {
    size_t want = strtoul(cl, NULL, 10);
    if (want > cap)
      r->body = realloc(r->body, (cap = want) + 1);
    while (len < want) {
      if (!c->len && raw_fill(c) < 0)
        return -1;
      size_t n = c->len < want - len ? c->len : want - len;
      memcpy(r->body + len, c->buf, n);
      len += n;
      raw_take(c, n);
    }
  } else { /* until close */
    for (;;) {
      if (c->len) {
        if (len + c->len > cap)
          r->body = realloc(r->body, (cap = (len + c->len) * 2) + 1);
        memcpy(r->body + len, c->buf, c->len);
        len += c->len;
        c->len = 0;
      }
      if (raw_fill(c) < 0)
        break;
    }
  }
  r->body[len] = 0;
  r->blen = len;
  r->complete = 1;
  return 0;
}

static inline void raw_resp_free(raw_resp *r) {
  free(r->body);
  r->body = NULL;
}

/* A buffered connection to 127.0.0.1:port (fd is -1 if the connect
 * failed); raw_hang_up closes and frees it. */
static inline raw_conn *raw_dial(int port) {
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(port);
  return c;
}

/* A connection to 127.0.0.1:port from source address src (NULL: any),
 * reads timing out after 10 s; fd is -1 if the bind or the connect failed
 * (errno says why). */
static inline raw_conn *raw_dial_from(const char *src, int port) {
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in me = {.sin_family = AF_INET};
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if ((src && (inet_pton(AF_INET, src, &me.sin_addr) != 1 ||
               bind(c->fd, (struct sockaddr *)&me, sizeof me) != 0)) ||
      connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(c->fd);
    c->fd = -1;
    errno = e;
    return c;
  }
  struct timeval tv = {10, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return c;
}

static inline void raw_hang_up(raw_conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

/* 1 if the server closed the connection (EOF or reset) within wait_ms. */
static inline int raw_closed(raw_conn *c, int wait_ms) {
  if (c->len)
    return 0;
  struct pollfd p = {c->fd, POLLIN, 0};
  if (poll(&p, 1, wait_ms) <= 0)
    return 0;
  char b;
  ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n <= 0;
}

/* One request on a fresh connection; returns the response and closes. */
static inline raw_resp raw_roundtrip(int port, const char *request) {
  raw_resp r;
  memset(&r, 0, sizeof r);
  raw_conn *c = raw_dial(port);
  if (c->fd >= 0 && raw_sends(c->fd, request) == 0)
    raw_read(c, &r, !strncmp(request, "HEAD ", 5));
  raw_hang_up(c);
  return r;
}

#endif
