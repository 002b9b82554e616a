/* An OpenSSL peer inside a test: the server side of one TLS connection,
 * for tests that need a TLS endpoint nethttp does not provide (a chosen
 * ALPN answer, a TLS 1.2 cipher list). */
#ifndef NH_TESTS_TLS_PEER_H
#define NH_TESTS_TLS_PEER_H

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Waits up to wait_s seconds for a connection on lfd, accepts it with
 * send/receive timeouts of io_s seconds, and returns an SSL over it for
 * ctx (SSL_accept not yet called) with the descriptor in *fd; NULL if no
 * connection came. The caller ends with tls_peer_close. */
static inline SSL *tls_peer_accept(int lfd, SSL_CTX *ctx, int wait_s, int io_s, int *fd) {
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  if (poll(&p, 1, wait_s * 1000) != 1)
    return NULL;
  *fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (*fd < 0)
    return NULL;
  struct timeval tv = {.tv_sec = io_s};
  setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, *fd);
  return ssl;
}

static inline void tls_peer_close(SSL *ssl, int fd) {
  SSL_free(ssl);
  close(fd);
}

#endif
