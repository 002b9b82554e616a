/* TLS connections: non-blocking OpenSSL over an nh_fd.
 *
 * OpenSSL never touches the socket itself: a small BIO reads with
 * nh_fd_try_read and writes with send(MSG_NOSIGNAL), and reports EAGAIN as
 * "retry". SSL_ERROR_WANT_READ/WRITE then become nh_fd_wait on the
 * descriptor, which parks the fiber (or polls on a plain thread) with the
 * caller's deadline and the fiber's context, exactly like plain nh_fd I/O. */
#include "net/tls_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nethttp/errors.h"

#define CLOSE_NOTIFY_WAIT (250 * NH_MSEC)
#define WRITE_GATHER 16384 /* one full TLS record */

struct nh_tls_conn {
  SSL *ssl;
  nh_fd *fd;
  nh_tls_ctx *ctx;
  nh__tls_state *st;
  int broken;          /* a fatal error (or failed write): no more I/O, no close_notify */
  int write_broken;    /* a non-parking write failed: reads may go on */
  int sys_err;         /* the socket's error behind SSL_ERROR_SYSCALL */
  int maybe_more;      /* the last socket read filled its buffer (or saw EOF) */
  char *cache_key;     /* client: where its session is kept */
  unsigned char *wbuf; /* writev's gathering buffer, on first need */
  char alpn[256];
  char err[256];
};

static __thread char handshake_err[256];

/* ---- the BIO over nh_fd ---- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, int len) {
  nh_tls_conn *c = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t r = nh_fd_try_read(c->fd, buf, (size_t)len);
  /* A short read drained the socket: no input is left unseen by epoll. */
  c->maybe_more = r != NH_EAGAIN && (r <= 0 || r == len);
  if (r >= 0)
    return (int)r;
  if (r == NH_EAGAIN)
    BIO_set_retry_read(b);
  else
    c->sys_err = (int)r;
  return -1;
}

static int bio_write(BIO *b, const char *buf, int len) {
  nh_tls_conn *c = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  for (;;) {
    ssize_t w = send(nh_fd_get(c->fd), buf, (size_t)len, MSG_NOSIGNAL);
    if (w >= 0)
      return (int)w;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      BIO_set_retry_write(b);
    else
      c->sys_err = -errno;
    return -1;
  }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b, (void)num, (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void bio_method_init(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nethttp nh_fd");
  if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
      BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
    bio_method = m;
}

/* ---- errors ---- */

/* Turns a failed SSL call into an NH_E* code, keeping the reason. */
static int conn_fail(nh_tls_conn *c, int ssl_err) {
  c->broken = 1;
  if (ssl_err == SSL_ERROR_SYSCALL) {
    int e = c->sys_err ? c->sys_err : NH_EEOF; /* the peer left mid-handshake */
    nh__tls_err_string(c->err, sizeof c->err,
                       c->sys_err ? nh_strerror(c->sys_err) : "connection closed by peer");
    return e;
  }
  unsigned long e = ERR_peek_error();
  int reason = ERR_GET_REASON(e);
  long vr = SSL_get_verify_result(c->ssl);
  int code = NH_ETLS;
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
    snprintf(c->err, sizeof c->err, "certificate verify failed: %s",
             X509_verify_cert_error_string(vr));
    ERR_clear_error();
    return NH_ECERT;
  }
  if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
      reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
    code = NH_ECERT;
  nh__tls_err_string(c->err, sizeof c->err, "TLS error");
  return code;
}

/* Waits for what OpenSSL asked for; returns 1 to retry, else the failure. */
static int conn_wait(nh_tls_conn *c, int ret, nh_time deadline, int *out) {
  int se = SSL_get_error(c->ssl, ret);
  int what = se == SSL_ERROR_WANT_READ ? NH_FD_READ : se == SSL_ERROR_WANT_WRITE ? NH_FD_WRITE : 0;
  if (!what) {
    *out = conn_fail(c, se);
    return 0;
  }
  int e = nh_fd_wait(c->fd, what, deadline);
  if (e) {
    snprintf(c->err, sizeof c->err, "%s", nh_strerror(e));
    *out = e;
    return 0;
  }
  return 1;
}

const char *nh_tls_last_error(const nh_tls_conn *c) { return c ? c->err : handshake_err; }

/* ---- handshake ---- */

static void conn_free(nh_tls_conn *c) {
  SSL_free(c->ssl); /* and the BIO; never the descriptor */
  nh__tls_state_unref(c->st);
  nh__tls_ctx_unref(c->ctx);
  free(c->cache_key);
  free(c->wbuf);
  free(c);
}

static nh_tls_conn *conn_new(nh_tls_ctx *ctx, nh_fd *fd) {
  pthread_once(&bio_once, bio_method_init);
  nh_tls_conn *c = calloc(1, sizeof *c);
  if (!c || !bio_method) {
    free(c);
    return NULL;
  }
  atomic_fetch_add(&ctx->refs, 1);
  c->ctx = ctx;
  c->fd = fd;
  c->st = nh__tls_state_get(ctx);
  c->ssl = SSL_new(c->st->ssl);
  BIO *b = BIO_new(bio_method);
  if (!c->ssl || !b) {
    BIO_free(b);
    conn_free(c);
    return NULL;
  }
  BIO_set_data(b, c);
  SSL_set_bio(c->ssl, b, b);
  SSL_set_app_data(c->ssl, c);
  return c;
}

static int handshake(nh_tls_conn *c, nh_time deadline, nh_tls_conn **out) {
  nh_dur t = c->ctx->cfg.handshake_timeout;
  if (t > 0) {
    nh_time hd = nh_deadline_after(t);
    if (hd < deadline)
      deadline = hd;
  }
  int e;
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
      break;
    if (!conn_wait(c, r, deadline, &e)) {
      snprintf(handshake_err, sizeof handshake_err, "%s", c->err);
      conn_free(c);
      return e;
    }
  }
  const unsigned char *p;
  unsigned n;
  SSL_get0_alpn_selected(c->ssl, &p, &n);
  if (n)
    memcpy(c->alpn, p, n);
  c->alpn[n] = '\0';
  handshake_err[0] = '\0';
  *out = c;
  return 0;
}

int nh__tls_new_session_cb(SSL *ssl, SSL_SESSION *sess) {
  nh_tls_conn *c = SSL_get_app_data(ssl);
  if (!c || !c->cache_key || !SSL_SESSION_is_resumable(sess))
    return 0;
  nh__tls_session_put(c->ctx, c->cache_key, sess);
  return 1; /* the cache keeps the reference */
}

/* "name|ip:port" of the peer: a session resumes only with the same server
 * under the same verified name. */
static char *session_key(nh_fd *fd, const char *name) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getpeername(nh_fd_get(fd), (struct sockaddr *)&ss, &l) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
      port = ntohs(s6->sin6_port);
    } else if (ss.ss_family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
      port = ntohs(s4->sin_port);
    }
  }
  size_t n = strlen(name) + strlen(ip) + 16;
  char *k = malloc(n);
  if (k)
    snprintf(k, n, "%s|%s:%d", name, ip, port);
  return k;
}

/* ALPN wire format ("\x08http/1.1") of a comma-separated list into out:
 * its length, or 0 for a bad list. */
static size_t alpn_wire(const char *list, unsigned char *out, size_t cap) {
  size_t o = 0;
  while (*list) {
    const char *end = strchr(list, ',');
    size_t n = end ? (size_t)(end - list) : strlen(list);
    if (n == 0 || n > 255 || o + 1 + n > cap)
      return 0;
    out[o++] = (unsigned char)n;
    memcpy(out + o, list, n);
    o += n;
    list += n + (end ? 1 : 0);
  }
  return o;
}

static int client_handshake(nh_tls_ctx *ctx, nh_fd *fd, const char *host, const char *alpn,
                            nh_time deadline, nh_tls_conn **out);

int nh_tls_client(nh_tls_ctx *ctx, nh_fd *fd, const char *host, nh_time deadline,
                  nh_tls_conn **out) {
  return client_handshake(ctx, fd, host, NULL, deadline, out);
}

int nh__tls_client_alpn(nh_tls_ctx *ctx, nh_fd *fd, const char *host, const char *alpn,
                        nh_time deadline, nh_tls_conn **out) {
  return client_handshake(ctx, fd, host, alpn, deadline, out);
}

static int client_handshake(nh_tls_ctx *ctx, nh_fd *fd, const char *host, const char *alpn,
                            nh_time deadline, nh_tls_conn **out) {
  *out = NULL;
  handshake_err[0] = '\0';
  if (!ctx || !fd || ctx->cfg.role != NH_TLS_CLIENT)
    return NH_EINVAL;
  const char *src = ctx->cfg.server_name ? ctx->cfg.server_name : host;
  if (!src || !*src)
    return NH_EINVAL;
  /* "[::1]" -> "::1"; "example.com." -> "example.com" */
  char name[256];
  size_t n = strlen(src);
  if (n >= 2 && src[0] == '[' && src[n - 1] == ']')
    src++, n -= 2;
  if (n && src[n - 1] == '.')
    n--;
  if (n == 0 || n >= sizeof name)
    return NH_EINVAL;
  memcpy(name, src, n);
  name[n] = '\0';

  nh_tls_conn *c = conn_new(ctx, fd);
  if (!c)
    return NH_ENOMEM;
  unsigned char ipbuf[16];
  int is_ip = inet_pton(AF_INET, name, ipbuf) == 1 || inet_pton(AF_INET6, name, ipbuf) == 1;
  X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
  int ok;
  if (is_ip) { /* no SNI for addresses (RFC 6066); match IP SANs */
    ok = X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(c->ssl, name) == 1 && SSL_set1_host(c->ssl, name) == 1;
  }
  if (ok && ctx->cfg.session_cache_size > 0) {
    c->cache_key = session_key(fd, name);
    SSL_SESSION *s = c->cache_key ? nh__tls_session_get(ctx, c->cache_key) : NULL;
    if (s) {
      SSL_set_session(c->ssl, s);
      SSL_SESSION_free(s);
    }
  }
  if (ok && alpn) {
    unsigned char wire[256];
    size_t wn = alpn_wire(alpn, wire, sizeof wire);
    ok = wn > 0 && SSL_set_alpn_protos(c->ssl, wire, (unsigned)wn) == 0;
  }
  if (!ok) {
    nh__tls_err_string(handshake_err, sizeof handshake_err, "bad server name or ALPN list");
    conn_free(c);
    return NH_EINVAL;
  }
  SSL_set_connect_state(c->ssl);
  return handshake(c, deadline, out);
}

int nh_tls_server(nh_tls_ctx *ctx, nh_fd *fd, nh_time deadline, nh_tls_conn **out) {
  *out = NULL;
  handshake_err[0] = '\0';
  if (!ctx || !fd || ctx->cfg.role != NH_TLS_SERVER)
    return NH_EINVAL;
  nh_tls_conn *c = conn_new(ctx, fd);
  if (!c)
    return NH_ENOMEM;
  SSL_set_accept_state(c->ssl);
  return handshake(c, deadline, out);
}

/* ---- I/O ---- */

ssize_t nh_tls_read(nh_tls_conn *c, void *buf, size_t n, nh_time deadline) {
  if (c->broken)
    return NH_ECONNABORTED;
  if (n == 0)
    return 0;
  for (;;) {
    ERR_clear_error();
    size_t got = 0;
    int r = SSL_read_ex(c->ssl, buf, n, &got);
    if (r == 1)
      return (ssize_t)got;
    if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
      return 0;
    int e;
    if (!conn_wait(c, r, deadline, &e))
      return e;
  }
}

ssize_t nh_tls_write(nh_tls_conn *c, const void *buf, size_t n, nh_time deadline) {
  if (c->broken || c->write_broken)
    return NH_ECONNABORTED;
  if (n == 0)
    return 0;
  for (;;) {
    ERR_clear_error();
    size_t done = 0;
    int r = SSL_write_ex(c->ssl, buf, n, &done);
    if (r == 1)
      return (ssize_t)n; /* without partial writes, success is all of it */
    int e;
    if (!conn_wait(c, r, deadline, &e)) {
      /* A record may be half sent: the stream is unusable, as in Go. */
      c->broken = 1;
      return e;
    }
  }
}

/* A failed SSL call that only waits for the socket: NH_EAGAIN. */
static int try_fail(nh_tls_conn *c, int r) {
  int se = SSL_get_error(c->ssl, r);
  if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
    return NH_EAGAIN;
  return conn_fail(c, se);
}

ssize_t nh_tls_try_read(nh_tls_conn *c, void *buf, size_t n) {
  if (c->broken)
    return NH_ECONNABORTED;
  if (n == 0)
    return 0;
  ERR_clear_error();
  size_t got = 0;
  int r = SSL_read_ex(c->ssl, buf, n, &got);
  if (r == 1)
    return (ssize_t)got;
  if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
    return 0;
  return try_fail(c, r);
}

ssize_t nh_tls_try_write(nh_tls_conn *c, const void *buf, size_t n) {
  if (c->broken || c->write_broken)
    return NH_ECONNABORTED;
  if (n == 0)
    return 0;
  ERR_clear_error();
  size_t done = 0;
  int r = SSL_write_ex(c->ssl, buf, n, &done);
  if (r == 1)
    return (ssize_t)n;
  int se = SSL_get_error(c->ssl, r);
  if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
    return NH_EAGAIN;
  /* A record may be half sent: no more writes. Reading stays possible, so
   * an answer the peer sent before it closed can still be read. */
  c->write_broken = 1;
  if (se == SSL_ERROR_SYSCALL) {
    nh__tls_err_string(c->err, sizeof c->err,
                       c->sys_err ? nh_strerror(c->sys_err) : "connection closed by peer");
    return c->sys_err ? c->sys_err : NH_EPIPE;
  }
  return conn_fail(c, se);
}

ssize_t nh_tls_writev(nh_tls_conn *c, const struct iovec *iov, int iovcnt, nh_time deadline) {
  size_t fill = 0;
  ssize_t total = 0;
  for (int i = 0; i < iovcnt; i++) {
    const char *p = iov[i].iov_base;
    size_t len = iov[i].iov_len;
    if (fill + len <= WRITE_GATHER && (len < WRITE_GATHER / 2 || fill)) {
      if (!c->wbuf && !(c->wbuf = malloc(WRITE_GATHER)))
        return NH_ENOMEM;
      memcpy(c->wbuf + fill, p, len);
      fill += len;
      continue;
    }
    if (fill) {
      ssize_t w = nh_tls_write(c, c->wbuf, fill, deadline);
      if (w < 0)
        return w;
      total += w;
      fill = 0;
    }
    if (len < WRITE_GATHER / 2) {
      memcpy(c->wbuf, p, len);
      fill = len;
      continue;
    }
    ssize_t w = nh_tls_write(c, p, len, deadline);
    if (w < 0)
      return w;
    total += w;
  }
  if (fill) {
    ssize_t w = nh_tls_write(c, c->wbuf, fill, deadline);
    if (w < 0)
      return w;
    total += w;
  }
  return total;
}

/* ---- state ---- */

int nh_tls_pending(const nh_tls_conn *c) { return SSL_pending(c->ssl); }

int nh_tls_read_pending(const nh_tls_conn *c) {
  return SSL_has_pending(c->ssl) || c->maybe_more || nh_fd_read_pending(c->fd);
}
const char *nh_tls_alpn(const nh_tls_conn *c) { return c->alpn; }
nh_fd *nh_tls_fd(const nh_tls_conn *c) { return c->fd; }
void nh_tls_set_fd(nh_tls_conn *c, nh_fd *fd) { c->fd = fd; } /* the BIO reads c->fd */
nh_tls_ctx *nh__tls_conn_ctx(const nh_tls_conn *c) { return c->ctx; }
int nh_tls_session_reused(const nh_tls_conn *c) { return SSL_session_reused(c->ssl) == 1; }
const char *nh_tls_version(const nh_tls_conn *c) { return SSL_get_version(c->ssl); }

const char *nh_tls_cipher(const nh_tls_conn *c) {
  const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
  return ci ? SSL_CIPHER_get_name(ci) : "";
}

int nh_tls_peer_name(const nh_tls_conn *c, int issuer, char *buf, size_t cap) {
  X509 *peer = SSL_get0_peer_certificate(c->ssl);
  if (!peer)
    return NH_ENOENT;
  BIO *b = BIO_new(BIO_s_mem());
  if (!b)
    return NH_ENOMEM;
  X509_NAME_print_ex(b, issuer ? X509_get_issuer_name(peer) : X509_get_subject_name(peer), 0,
                     XN_FLAG_RFC2253);
  char *p;
  long n = BIO_get_mem_data(b, &p);
  if (cap)
    snprintf(buf, cap, "%.*s", (int)n, p);
  BIO_free(b);
  return (int)n;
}

const char *nh_tls_server_name(const nh_tls_conn *c) {
  return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
}

int nh_tls_peer_verified(const nh_tls_conn *c) {
  X509 *peer = SSL_get0_peer_certificate(c->ssl);
  return peer && SSL_get_verify_result(c->ssl) == X509_V_OK;
}

/* ---- closing ---- */

void nh_tls_close(nh_tls_conn *c) {
  if (!c)
    return;
  if (!c->broken && !c->write_broken && SSL_is_init_finished(c->ssl)) {
    /* Our close_notify only: waiting for the peer's would let it hold us. */
    nh_time deadline = nh_deadline_after(CLOSE_NOTIFY_WAIT);
    for (;;) {
      ERR_clear_error();
      int r = SSL_shutdown(c->ssl);
      if (r >= 0)
        break;
      int e;
      if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_WRITE || !conn_wait(c, r, deadline, &e))
        break;
    }
    ERR_clear_error();
  }
  nh_tls_abort(c);
}

void nh_tls_abort(nh_tls_conn *c) {
  if (!c)
    return;
  nh_fd *fd = c->fd;
  conn_free(c);
  nh_fd_close(fd);
}
