/* Internals of the TLS layer shared by its files: the context, its
 * reference-counted OpenSSL state (swapped by reload), the client session
 * cache. */
#ifndef NH_NET_TLS_INTERNAL_H
#define NH_NET_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "nethttp/tls.h"

/* What one load of the files produced. Connections keep the state they were
 * made with (the SNI callback reads its certificates), so reload never
 * pulls certificates from under a handshake. */
typedef struct nh__tls_state {
  atomic_int refs;
  SSL_CTX *ssl;
  size_t ncerts; /* server: the SNI choices, certs[0] the default */
  X509 **certs;
  EVP_PKEY **keys;
  STACK_OF(X509) * *chains;
} nh__tls_state;

typedef struct nh__tls_session {
  char *key; /* "name|host:port" */
  SSL_SESSION *sess;
  uint64_t used; /* for least-recently-used eviction */
} nh__tls_session;

/* Session ticket keys, newest first: a new one every day, each accepted for
 * a week (Go's schedule). They belong to the context, so tickets outlive
 * reloads. */
#define NH__TICKET_KEYS 7
#define NH__TICKET_ROTATE (24 * NH_HOUR)
typedef struct nh__ticket_key {
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
} nh__ticket_key;

struct nh_tls_ctx {
  atomic_int refs;   /* the owner's and one per connection */
  nh_tls_config cfg; /* strings are owned copies */
  char key[65];
  unsigned char alpn_wire[256]; /* ALPN list in wire format */
  size_t alpn_len;
  pthread_mutex_t mu; /* guards cur and the session cache; never held across I/O */
  nh__tls_state *cur;
  nh__tls_session *sessions;
  int nsessions, cap_sessions;
  uint64_t clock;
  nh__ticket_key tickets[NH__TICKET_KEYS]; /* server; guarded by mu */
  int ntickets;
  nh_time tickets_rotated;
};

/* tls_config.c */
nh__tls_state *nh__tls_state_get(nh_tls_ctx *ctx); /* a new reference to the current state */
void nh__tls_state_unref(nh__tls_state *st);
void nh__tls_ctx_unref(nh_tls_ctx *ctx);
/* Client session cache: take returns a reference (or NULL); put keeps sess. */
SSL_SESSION *nh__tls_session_get(nh_tls_ctx *ctx, const char *key);
void nh__tls_session_put(nh_tls_ctx *ctx, const char *key, SSL_SESSION *sess);

/* Starts a new ticket key now (tests; the schedule does it daily). */
int nh__tls_ticket_rotate(nh_tls_ctx *ctx);

/* tls.c: the new-session callback needs the connection's cache key. */
int nh__tls_new_session_cb(SSL *ssl, SSL_SESSION *sess);
nh_tls_ctx *nh__tls_conn_ctx(const nh_tls_conn *c);

/* nh_tls_client offering the protocols of alpn (comma-separated, as
 * nh_tls_config.alpn) instead of the context's: a connection that must
 * speak one protocol (a WebSocket: "http/1.1") from a context that offers
 * more. NH_EINVAL for a bad list. */
int nh__tls_client_alpn(nh_tls_ctx *ctx, nh_fd *fd, const char *host, const char *alpn,
                        nh_time deadline, nh_tls_conn **out);

/* Formats the oldest OpenSSL error (or fallback) into buf and clears the
 * queue. */
void nh__tls_err_string(char *buf, size_t cap, const char *fallback);

#endif
