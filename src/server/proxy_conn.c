/* The PROXY protocol on a connection: who must send a header (at accept),
 * reading it on the connection's fiber before anything else, and what it
 * said (nh_request_proxy).
 *
 * The header is peeked, parsed, and only then read, exactly its length:
 * whatever follows it (a TLS ClientHello, an HTTP/2 preface, a pipelined
 * request) stays in the socket for the next reader. A header that comes a
 * byte at a time is peeked again each time more arrives, until it is whole
 * or read_header_timeout, counted from the accept, ends the wait. */
#include "internal.h"
#include "proxy_header.h"
#include "proxy_trust.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* What the header said, with the strings nh_proxy_info points at. */
typedef struct nh__proxy_conn {
  nh_proxy_info pub;
  char source[112], dest[112];
  struct sockaddr_storage src; /* the client's, when pub.has_addr */
  socklen_t src_len;
  size_t used;     /* of data, after the TLVs' copy */
  uint8_t data[];  /* the TLVs, then NUL-terminated copies of string TLVs */
} nh__proxy_conn;

static void refused(nh__sconn *c, const char *why) {
  nh_server *srv = c->srv;
  NH__STAT_INC(srv, st_proxy_refused);
  if (nh_log_enabled(srv->log, NH_LOG_DEBUG))
    NH_LOG(srv->log, NH_LOG_DEBUG, "PROXY header refused", NH_LINT("conn", (int64_t)c->id),
           NH_LSTR("remote", c->h1.remote), NH_LSTR("reason", why));
}

int nh__sconn_proxy_accept(nh__sconn *c, const struct sockaddr *peer) {
  const nh__listener *l = &c->srv->listeners[c->listener];
  c->proxy_pending = 0;
  if (l->proxy == NH_PROXY_OFF)
    return 0;
  if (nh__proxy_nets_match(l->proxy_nets, l->proxy_nnets, peer)) {
    c->proxy_pending = (uint8_t)l->proxy;
    return 0;
  }
  if (l->proxy == NH_PROXY_OPTIONAL)
    return 0; /* served as it is: its bytes are never read as a header */
  nh__sconn_close_why(c, NH_CLOSE_PROXY);
  refused(c, "untrusted source");
  return -1;
}

/* A copy of a TLV's value, NUL-terminated, from the connection's data. */
static const char *tlv_str(nh__proxy_conn *p, const uint8_t *t, size_t n, uint8_t type) {
  const uint8_t *v;
  size_t len;
  if (!nh__proxy_tlv_find(t, n, type, &v, &len))
    return NULL;
  char *s = (char *)p->data + p->used;
  memcpy(s, v, len);
  s[len] = 0;
  p->used += len + 1;
  return s;
}

/* Keep what h says; its addresses become c's. */
static int proxy_apply(nh__sconn *c, const nh__proxy_hdr *h) {
  size_t n = h->tlvs_len;
  /* The TLVs, then at most all of them again as strings, with 7 NULs. */
  nh__proxy_conn *p = calloc(1, sizeof *p + 2 * n + 8);
  if (!p)
    return NH_ENOMEM;
  nh_proxy_info *pub = &p->pub;
  pub->version = h->version;
  pub->has_addr = h->has_addr;
  if (h->has_addr) {
    p->src = h->src;
    p->src_len = h->src_len;
    nh__format_addr((const struct sockaddr *)&h->src, h->src_len, p->source, sizeof p->source);
    nh__format_addr((const struct sockaddr *)&h->dst, h->dst_len, p->dest, sizeof p->dest);
    pub->source = p->source;
    pub->dest = p->dest;
    /* Cut to fit, as a long Unix path would be. */
    size_t cap = sizeof c->h1.remote;
    strncpy(c->h1.remote, p->source, cap - 1);
    c->h1.remote[cap - 1] = 0;
  }
  if (n) {
    memcpy(p->data, h->tlvs, n);
    p->used = n;
    const uint8_t *t = p->data;
    pub->tlvs = t;
    pub->tlvs_len = n;
    pub->alpn = tlv_str(p, t, n, NH__PP2_ALPN);
    pub->authority = tlv_str(p, t, n, NH__PP2_AUTHORITY);
    const uint8_t *v;
    size_t len;
    if (nh__proxy_tlv_find(t, n, NH__PP2_UNIQUE_ID, &v, &len) && len) {
      pub->unique_id = v;
      pub->unique_id_len = len;
    }
    if (nh__proxy_tlv_find(t, n, NH__PP2_SSL, &v, &len)) { /* >= 5 bytes: checked */
      pub->ssl = 1;
      pub->ssl_client = v[0];
      pub->ssl_verify = (unsigned)v[1] << 24 | (unsigned)v[2] << 16 | (unsigned)v[3] << 8 | v[4];
      const uint8_t *sub = v + 5;
      size_t nsub = len - 5;
      pub->ssl_version = tlv_str(p, sub, nsub, NH__PP2_SSL_VERSION);
      pub->ssl_cn = tlv_str(p, sub, nsub, NH__PP2_SSL_CN);
      pub->ssl_cipher = tlv_str(p, sub, nsub, NH__PP2_SSL_CIPHER);
      pub->ssl_sig_alg = tlv_str(p, sub, nsub, NH__PP2_SSL_SIG_ALG);
      pub->ssl_key_alg = tlv_str(p, sub, nsub, NH__PP2_SSL_KEY_ALG);
    }
  }
  c->proxy = p;
  return NH_OK;
}

/* Read exactly n bytes already seen by a peek. */
static int consume(int fd, uint8_t *b, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = recv(fd, b + got, n - got, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* The header, peeked until whole; returns its length, 0 (OPTIONAL, none
 * sent) or an error (c's close reason noted, refusal counted). */
static int proxy_peek(nh__sconn *c, uint8_t *b, nh__proxy_hdr *h) {
  nh_server *srv = c->srv;
  int optional = c->proxy_pending == NH_PROXY_OPTIONAL;
  nh_dur rh = srv->cfg.read_header_timeout;
  /* From the accept (c->since), as the TLS handshake's would be. */
  nh_time dl = rh >= 0 ? c->since + rh : NH_NO_DEADLINE;
  for (;;) {
    if (!c->h1.io.fd)
      return NH_ECLOSED; /* closed under it (shutdown, shedding) */
    ssize_t n = recv(nh_fd_get(c->h1.io.fd), b, NH__PROXY_MAX, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
      nh__sconn_close_why(c, NH_CLOSE_CLIENT);
      return NH_EEOF; /* gone before a header: nothing to refuse */
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      nh__sconn_close_why(c, NH_CLOSE_CLIENT);
      return -errno;
    }
    if (n > 0) {
      if (optional && nh__proxy_sniff(b, (size_t)n) < 0)
        return 0;
      const char *why;
      int len = nh__proxy_parse(b, (size_t)n, h, &why);
      if (len > 0)
        return len;
      if (len < 0) {
        nh__sconn_close_why(c, NH_CLOSE_PROXY);
        refused(c, nh__proxy_sniff(b, (size_t)n) < 0 ? "no PROXY header" : why);
        return len;
      }
    }
    int e = nh_fd_wait(c->h1.io.fd, NH_FD_READ, dl);
    if (e == NH_ETIMEDOUT) {
      NH__STAT_INC(srv, st_to_header);
      nh__sconn_close_why(c, NH_CLOSE_TIMEOUT_HEADER);
      refused(c, n > 0 ? "header incomplete at the read-header deadline"
                       : "no header by the read-header deadline");
      return e;
    }
    if (e != NH_OK) {
      nh__sconn_close_why(c, NH_CLOSE_ERROR);
      return e;
    }
  }
}

int nh__sconn_proxy_read(nh__sconn *c) {
  uint8_t b[NH__PROXY_MAX];
  nh__proxy_hdr h;
  /* Like a TLS handshake: a shutdown closes it rather than waiting. */
  c->handshaking = 1;
  int len = proxy_peek(c, b, &h);
  c->handshaking = 0;
  c->proxy_pending = 0;
  if (len <= 0)
    return len;
  if (!c->h1.io.fd || consume(nh_fd_get(c->h1.io.fd), b, (size_t)len) != 0) {
    nh__sconn_close_why(c, NH_CLOSE_CLIENT);
    return NH_ECLOSED;
  }
  /* b holds the same bytes again: h's TLVs still point at them. */
  if (proxy_apply(c, &h) != NH_OK) {
    nh__sconn_close_why(c, NH_CLOSE_ERROR);
    return NH_ENOMEM;
  }
  return NH_OK;
}

int nh__sconn_client_sockaddr(const nh__sconn *c, struct sockaddr_storage *a, socklen_t *len) {
  if (c->proxy && c->proxy->pub.has_addr) {
    *a = c->proxy->src;
    *len = c->proxy->src_len;
    return NH_OK;
  }
  *len = sizeof *a;
  if (!c->h1.io.fd || getpeername(nh_fd_get(c->h1.io.fd), (struct sockaddr *)a, len) != 0)
    return NH_EINVAL;
  return NH_OK;
}

void nh__sconn_proxy_free(nh__sconn *c) {
  free(c->proxy);
  c->proxy = NULL;
}

const char *nh__sconn_proxy_dest(const nh__sconn *c) {
  return c->proxy && c->proxy->pub.has_addr ? c->proxy->dest : NULL;
}

const nh_proxy_info *nh_request_proxy(const nh_request *r) {
  const nh__sconn *c = r && r->s ? r->s->conn : NULL;
  return c && c->proxy ? &c->proxy->pub : NULL;
}

int nh_proxy_tlv(const nh_proxy_info *p, unsigned t, const unsigned char **val, size_t *len) {
  if (!p || !p->tlvs || t > 0xff)
    return 0;
  return nh__proxy_tlv_find(p->tlvs, p->tlvs_len, (uint8_t)t, val, len);
}
