/* nethttp/tls.h — TLS streams over nh_fd (OpenSSL 3).
 *
 * A TLS connection wraps a connected nh_fd. The handshake, reads and writes
 * park the calling fiber exactly as plain nh_fd calls do (or block a plain
 * thread in poll): deadlines are absolute, the fiber's context cancels them,
 * and no call ever blocks a loop.
 *
 * Configuration is a plain struct copied by nh_tls_config_new into an opaque
 * nh_tls_ctx, shared by any number of connections and threads. Certificate
 * files are read at creation and again by nh_tls_ctx_reload, which affects
 * new connections only.
 *
 * Errors: NH_ECERT (the peer's certificate chain or name was refused),
 * NH_ETLS (any other TLS failure: protocol, alert, no common version or
 * cipher), NH_ETIMEDOUT, NH_ECANCELED, NH_ECLOSED, -errno from the socket.
 * nh_tls_last_error tells OpenSSL's reason for logging. */
#ifndef NETHTTP_TLS_H
#define NETHTTP_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "nethttp/export.h"
#include "nethttp/netpoll.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nh_tls_role { NH_TLS_CLIENT = 0, NH_TLS_SERVER = 1 } nh_tls_role;

/* Protocol versions for min_version (0 = TLS 1.2). */
#define NH_TLS_VERSION_1_2 0x0303
#define NH_TLS_VERSION_1_3 0x0304

/* What a server asks of clients' certificates. */
typedef enum nh_tls_client_auth {
  NH_TLS_NO_CLIENT_CERT = 0,     /* none asked */
  NH_TLS_VERIFY_IF_GIVEN = 1,    /* asked; verified against client_ca_file if sent */
  NH_TLS_REQUIRE_CLIENT_CERT = 2 /* a verified certificate or no handshake */
} nh_tls_client_auth;

/* One certificate chain and its key, both PEM files (the chain file holds
 * the leaf first, then intermediates; the two may be the same file). */
typedef struct nh_tls_cert_file {
  const char *cert_file;
  const char *key_file;
} nh_tls_cert_file;

/* Every pointer is copied by nh_tls_config_new; zero fields mean defaults. */
typedef struct nh_tls_config {
  nh_tls_role role;

  /* ---- client ---- */
  /* Trusted roots: a PEM bundle file and/or a hashed directory (c_rehash);
   * both NULL = the system's roots. */
  const char *ca_file;
  const char *ca_dir;
  /* Name sent as SNI and checked against the certificate instead of the
   * host given to nh_tls_client (Go's ServerName). */
  const char *server_name;
  /* Accept any certificate: chain and name are not checked (the handshake
   * still runs; nh_tls_peer_verified tells the truth). Tests only. */
  int insecure_skip_verify_FOR_TESTING_ONLY;
  /* Client certificate for mTLS (cert_file NULL = none). */
  nh_tls_cert_file client_cert;
  /* Sessions kept for resumption, per host:port; 0 = 64,
   * NH_TLS_NO_SESSION_CACHE = none. */
  int session_cache_size;

  /* ---- server ---- */
  /* Certificates chosen by SNI (the first whose names match the requested
   * server name); certs[0] is the default when nothing matches or no SNI
   * was sent. At least one. */
  const nh_tls_cert_file *certs;
  size_t ncerts;
  nh_tls_client_auth client_auth;
  const char *client_ca_file; /* roots for client certificates */
  int session_tickets_off;    /* 1: no session tickets (stateful cache only) */

  /* ---- both ---- */
  int min_version;          /* NH_TLS_VERSION_1_2 (default) or _1_3 */
  const char *alpn;         /* comma-separated protocols in preference order;
                               NULL = "http/1.1", "" = no ALPN */
  nh_dur handshake_timeout; /* 0 = 10 s; NH_NO_TIMEOUT = only the deadline */
} nh_tls_config;

#define NH_TLS_NO_SESSION_CACHE (-1)

typedef struct nh_tls_ctx nh_tls_ctx;
typedef struct nh_tls_conn nh_tls_conn;

/* nh_tls_config_new checks cfg, loads every file it names and returns a
 * context. Returns 0, NH_EINVAL (bad field), NH_ENOENT/-errno (unreadable
 * file), NH_ETLS (a file that is not a valid PEM certificate or key, a key
 * that does not match its certificate), NH_ENOMEM. If err is non-NULL it
 * receives a malloc'd message (free it) on failure. Thread-safe. */
NH_API int nh_tls_config_new(const nh_tls_config *cfg, nh_tls_ctx **out, char **err);

/* Frees the context once every connection made from it is gone (they hold
 * a reference). NULL does nothing. */
NH_API void nh_tls_ctx_free(nh_tls_ctx *ctx);

/* nh_tls_ctx_key returns a stable identity of the configuration: a hex
 * SHA-256 over its normalized fields and the contents of the CA and
 * certificate files as they were at creation. Equal configurations give
 * equal keys; the client's connection pool includes it in every key, so
 * connections made under one configuration never serve another. Valid
 * until nh_tls_ctx_free; not changed by reload. */
NH_API const char *nh_tls_ctx_key(const nh_tls_ctx *ctx);

/* nh_tls_ctx_reload reads the certificate, key and CA files again. New
 * connections use them; established ones are untouched. On failure the old
 * files stay in use. Returns as nh_tls_config_new. Thread-safe. */
NH_API int nh_tls_ctx_reload(nh_tls_ctx *ctx, char **err);

/* ---- connections ---- */

/* nh_tls_client runs a client handshake over fd. host is the name (or IP
 * literal, brackets allowed) dialed: it is sent as SNI (names only) and the
 * certificate must match it (IP literals against IP SANs), unless
 * server_name overrides it. The handshake ends by deadline or the context's
 * handshake_timeout, whichever is first. On success *out owns fd; on
 * failure fd is untouched (the caller closes it) and the OpenSSL reason is
 * kept for nh_tls_last_error(NULL) on the calling thread. */
NH_API int nh_tls_client(nh_tls_ctx *ctx, nh_fd *fd, const char *host, nh_time deadline,
                         nh_tls_conn **out);

/* nh_tls_server runs a server handshake over an accepted fd; as above. */
NH_API int nh_tls_server(nh_tls_ctx *ctx, nh_fd *fd, nh_time deadline, nh_tls_conn **out);

/* Reads up to n decrypted bytes: the count, 0 at the end of the stream
 * (close_notify, or the peer's TCP close between records, as Go), or an
 * error. */
NH_API ssize_t nh_tls_read(nh_tls_conn *c, void *buf, size_t n, nh_time deadline);

/* Writes all n bytes (all iov) unless an error comes first; returns the
 * total or an error. writev gathers small pieces into full records. */
NH_API ssize_t nh_tls_write(nh_tls_conn *c, const void *buf, size_t n, nh_time deadline);
NH_API ssize_t nh_tls_writev(nh_tls_conn *c, const struct iovec *iov, int iovcnt, nh_time deadline);

/* Non-parking single attempts, for a caller that watches both directions
 * itself (a client reading an early answer while it sends a body):
 * NH_EAGAIN when the socket is not ready; then wait on nh_tls_fd(c) for
 * reading or writing (TLS may need either). nh_tls_try_write writes all n
 * bytes or none that count: after NH_EAGAIN call it again with the same
 * bytes (OpenSSL's rule) before any other write. A failed try-write ends
 * writing (a record may be half sent) but not reading: what the peer sent
 * before it went away can still be read. */
NH_API ssize_t nh_tls_try_read(nh_tls_conn *c, void *buf, size_t n);
NH_API ssize_t nh_tls_try_write(nh_tls_conn *c, const void *buf, size_t n);

/* Decrypted bytes buffered inside the TLS layer: a read returns them
 * without touching the socket, so check this before waiting for the
 * descriptor to become readable. */
NH_API int nh_tls_pending(const nh_tls_conn *c);

/* 1 if a read might return data (or the end) without waiting: input
 * buffered in the TLS layer, decrypted or not, a last socket read that may
 * have left more behind, or a readiness edge not yet consumed. When 0, all
 * input so far was consumed and nh_fd_on_readable(nh_tls_fd(c)) fires on
 * the next arrival: how an idle keep-alive connection waits. */
NH_API int nh_tls_read_pending(const nh_tls_conn *c);

/* The negotiated ALPN protocol ("" if none). Borrowed, valid with c. */
NH_API const char *nh_tls_alpn(const nh_tls_conn *c);

/* 1 if the peer presented a certificate whose chain and name verified. */
NH_API int nh_tls_peer_verified(const nh_tls_conn *c);

/* 1 if the handshake resumed an earlier session. */
NH_API int nh_tls_session_reused(const nh_tls_conn *c);

/* The negotiated version ("TLSv1.3"), the server name the client asked for
 * (server side; NULL if none). Borrowed, valid with c. */
NH_API const char *nh_tls_version(const nh_tls_conn *c);
NH_API const char *nh_tls_server_name(const nh_tls_conn *c);

/* The negotiated cipher suite in OpenSSL's naming ("TLS_AES_256_GCM_SHA384",
 * "ECDHE-RSA-AES128-GCM-SHA256"). Borrowed, valid with c; "" before a
 * handshake. */
NH_API const char *nh_tls_cipher(const nh_tls_conn *c);

/* The subject (issuer 0) or issuer (issuer 1) of the peer's certificate as
 * one RFC 2253 line ("CN=localhost,O=Example") into buf (NUL-terminated,
 * cut to cap). Returns the full length, or NH_ENOENT when the peer sent no
 * certificate. For showing and logging; decisions belong to verification. */
NH_API int nh_tls_peer_name(const nh_tls_conn *c, int issuer, char *buf, size_t cap);

/* The underlying descriptor (borrowed), e.g. for nh_fd_on_readable when
 * nh_tls_pending is 0. */
NH_API nh_fd *nh_tls_fd(const nh_tls_conn *c);
/* nh_tls_set_fd gives c a new wrapper of the same socket (the old one was
 * released, e.g. by a connection pool handing c to a fiber of another
 * loop); c then owns fd. Between the two, c must not be used. */
NH_API void nh_tls_set_fd(nh_tls_conn *c, nh_fd *fd);

/* OpenSSL's reason for the last failure of c (or, with c NULL, of the last
 * failed handshake on this thread), "" if none. Borrowed until the next
 * call on c (or on this thread). */
NH_API const char *nh_tls_last_error(const nh_tls_conn *c);

/* nh_tls_close sends close_notify (best effort, waiting at most 250 ms for
 * the socket), then closes the descriptor and frees c. nh_tls_abort does
 * the same without close_notify (after an error or a timeout). NULL does
 * nothing. */
NH_API void nh_tls_close(nh_tls_conn *c);
NH_API void nh_tls_abort(nh_tls_conn *c);

/* ---- throwaway certificates for tests ---- */

/* A fresh CA (EC P-256) and a leaf signed by it, written as PEM files into a
 * new temporary directory. Never for production. */
typedef struct nh_tls_testcert {
  char *dir;      /* the directory holding the files */
  char *ca_pem;   /* path of the CA certificate: the client's ca_file */
  char *cert_pem; /* path of the leaf certificate */
  char *key_pem;  /* path of the leaf's private key */
  void *ca_key;   /* internal: the CA's key, for nh_tls_testcert_leaf */
  void *ca_cert;  /* internal */
} nh_tls_testcert;

/* nh_tls_testcert_new makes the CA and a leaf for hosts (a NULL-terminated
 * list of names and IP literals; NULL = "127.0.0.1", "::1", "localhost").
 * The leaf is good for serverAuth and clientAuth. Returns 0, NH_ENOMEM,
 * NH_ETLS or -errno. */
NH_API int nh_tls_testcert_new(const char *const *hosts, nh_tls_testcert **out);

/* nh_tls_testcert_leaf signs one more leaf for hosts with tc's CA, written
 * as <name>.pem and <name>-key.pem in tc->dir; *cert_pem and *key_pem
 * receive their paths (malloc'd). */
NH_API int nh_tls_testcert_leaf(nh_tls_testcert *tc, const char *name, const char *const *hosts,
                                char **cert_pem, char **key_pem);

/* Removes the directory and its files and frees tc. NULL does nothing. */
NH_API void nh_tls_testcert_free(nh_tls_testcert *tc);

#ifdef __cplusplus
}
#endif
#endif
