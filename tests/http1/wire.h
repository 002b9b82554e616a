/* One vector over a real socket: its bytes (and the pipelined request behind
 * it) are sent while responses are read, so a server that answers and
 * closes before the whole input is sent is seen as it is. The responses are
 * parsed on their own (no library code) into what the vectors expect: the
 * final status, interim 1xx, whether the pipelined request was answered
 * (kept) or the connection ended (closed), and the echo line. */
#ifndef NH_TESTS_HTTP1_WIRE_H
#define NH_TESTS_HTTP1_WIRE_H

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
#include <unistd.h>

typedef struct hw_result {
  int status;      /* first final status; 0: none */
  char interim[32]; /* " +100" for each 1xx before it */
  int answered;    /* final responses read */
  int closed;      /* the connection ended */
  int hang;        /* nothing came for 10 s */
  char echo[1024]; /* body of the first final response (truncated) */
  char next_echo[1024];
  int next_status;
  char error[256]; /* a framing fault in a response */
} hw_result;

/* A header's value in head (lines ending in CRLF), or NULL. */
static inline const char *hw_header(const char *head, size_t hlen, const char *name, char *val, size_t cap) {
  size_t n = strlen(name);
  for (const char *p = head; p && p < head + hlen;) {
    const char *eol = memmem(p, (size_t)(head + hlen - p), "\r\n", 2);
    if (!eol)
      break;
    if ((size_t)(eol - p) > n && !strncasecmp(p, name, n) && p[n] == ':') {
      const char *v = p + n + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      size_t l = (size_t)(eol - v);
      if (l >= cap)
        l = cap - 1;
      memcpy(val, v, l);
      val[l] = 0;
      return val;
    }
    p = eol + 2;
  }
  return NULL;
}

/* Parses one response at buf[*off, len). Returns 1 with it consumed, 0 if
 * incomplete (until_eof: a body without length runs to the end), -1 if the
 * bytes are not a response. */
static inline int hw_parse_one(const char *buf, size_t len, size_t *off, int head_req, int eof,
                        int *status, const char **body, size_t *blen, char *err, size_t errcap) {
  const char *s = buf + *off;
  size_t avail = len - *off;
  const char *end = memmem(s, avail, "\r\n\r\n", 4);
  if (!end)
    return memcmp(s, "HTTP/1.", avail < 7 ? avail : 7) ? -1 : 0;
  /* HTTP/1.0 is a fine answer to an HTTP/1.0 request (Go sends it). */
  if (avail < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ') {
    snprintf(err, errcap, "not a response: %.20s", s);
    return -1;
  }
  size_t hlen = (size_t)(end - s) + 4;
  int st = atoi(s + 9);
  char cl[64], te[64];
  const char *clp = hw_header(s, hlen, "Content-Length", cl, sizeof cl);
  const char *tep = hw_header(s, hlen, "Transfer-Encoding", te, sizeof te);
  if ((st / 100 == 1 || st == 204) && (clp || tep))
    snprintf(err, errcap, "%d with %s", st, clp ? "Content-Length" : "Transfer-Encoding");
  if (st == 304 && tep)
    snprintf(err, errcap, "304 with Transfer-Encoding");
  const char *b = s + hlen;
  size_t left = avail - hlen, used = 0;
  *body = b;
  *blen = 0;
  if (head_req || st / 100 == 1 || st == 204 || st == 304) {
  } else if (tep) {
    /* chunked: the body is checked for framing, not kept */
    size_t p = 0, total = 0;
    for (;;) {
      const char *eol = memmem(b + p, left - p, "\r\n", 2);
      if (!eol)
        return 0;
      size_t sz = strtoul(b + p, NULL, 16);
      p = (size_t)(eol - b) + 2;
      if (sz == 0) {
        for (;;) { /* trailers, then an empty line */
          eol = memmem(b + p, left - p, "\r\n", 2);
          if (!eol)
            return 0;
          size_t l = (size_t)(eol - (b + p));
          p += l + 2;
          if (!l)
            break;
        }
        break;
      }
      if (left - p < sz + 2)
        return 0;
      total += sz;
      p += sz + 2;
    }
    used = p;
    *blen = total; /* the echo handler never answers chunked */
  } else if (clp) {
    size_t n = strtoul(clp, NULL, 10);
    if (left < n)
      return 0;
    used = n;
    *blen = n;
  } else {
    if (!eof)
      return 0;
    used = left;
    *blen = left;
  }
  *status = st;
  *off += hlen + used;
  return 1;
}

/* Parses what was received so far into r; returns 1 when nothing more is
 * needed (two final responses, or one for an alone vector and the end). */
static inline int hw_parse(hw_result *r, const char *buf, size_t len, int head_req, int eof) {
  size_t off = 0;
  r->answered = 0;
  r->interim[0] = 0;
  while (off < len) {
    int st;
    const char *body;
    size_t blen;
    char err[128] = "";
    int first = r->answered == 0;
    int got = hw_parse_one(buf, len, &off, first && head_req, eof, &st, &body, &blen, err, sizeof err);
    if (err[0] && !r->error[0])
      snprintf(r->error, sizeof r->error, "%s", err);
    if (got < 0) {
      if (!r->error[0])
        snprintf(r->error, sizeof r->error, "bytes that are not a response after response %d",
                 r->answered);
      return 1;
    }
    if (got == 0)
      break;
    if (st / 100 == 1) {
      if (first) {
        size_t l = strlen(r->interim);
        snprintf(r->interim + l, sizeof r->interim - l, " +%d", st);
      }
      continue;
    }
    char *dst = first ? r->echo : r->next_echo;
    size_t n = blen < 1023 ? blen : 1023;
    memcpy(dst, body, n);
    dst[n] = 0;
    if (first)
      r->status = st;
    else
      r->next_status = st;
    r->answered++;
  }
  return r->answered >= 2;
}

/* Sends req (len bytes) to 127.0.0.1:port while reading; fills r. */
static inline void hw_exchange(int port, const char *req, size_t len, int head_req, hw_result *r) {
  memset(r, 0, sizeof *r);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    snprintf(r->error, sizeof r->error, "connect: %s", strerror(errno));
    if (fd >= 0)
      close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  size_t cap = 1 << 16, got = 0, sent = 0;
  char *buf = malloc(cap);
  for (;;) {
    struct pollfd p = {fd, POLLIN | (sent < len ? POLLOUT : 0), 0};
    int n = poll(&p, 1, 10000);
    if (n == 0) {
      r->hang = 1;
      break;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (p.revents & POLLOUT) {
      ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0)
        sent += (size_t)w;
      else if (w < 0 && errno != EAGAIN)
        sent = len; /* the server closed: stop sending, read what it said */
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (got == cap)
        buf = realloc(buf, cap *= 2);
      ssize_t rd = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
      if (rd > 0) {
        got += (size_t)rd;
        if (hw_parse(r, buf, got, head_req, 0))
          break;
      } else if (rd == 0 || (errno != EAGAIN && errno != EINTR)) {
        r->closed = 1;
        break;
      }
    }
  }
  hw_parse(r, buf, got, head_req, r->closed);
  free(buf);
  close(fd);
}

/* "STATUS kept|closed[ +1xx]" as the vectors write it. */
static inline void hw_outcome(const hw_result *r, char *out, size_t cap) {
  const char *how = r->hang ? "hang" : r->answered >= 2 ? "kept" : r->closed ? "closed" : "?";
  snprintf(out, cap, "%d %s%s", r->status, how, r->interim);
}

#endif
