/* TLS configuration: copying the user's struct, loading the files into an
 * SSL_CTX, the configuration's identity key, reload, and the client's
 * session cache. */
#include "net/tls_internal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/ctx.h"
#include "nethttp/errors.h"
#include "nethttp/offload.h"

#define DEFAULT_SESSION_CACHE 64

/* TLS 1.2 suites, both roles: Mozilla's "intermediate" profile (guidelines
 * 6.0), forward-secret AEAD only. CBC suites (LUCKY13) and static-RSA key
 * exchange are left out, and none of these is on HTTP/2's block list
 * (RFC 9113 9.2.2, Appendix A). No DHE: the profile dropped it, and
 * a server without DH parameters (ours) could not choose it anyway. TLS 1.3
 * suites stay OpenSSL's defaults, all AEAD. */
#define TLS12_CIPHERS                                          \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* ---- errors ---- */

void nh__tls_err_string(char *buf, size_t cap, const char *fallback) {
  unsigned long e = ERR_get_error();
  if (e)
    ERR_error_string_n(e, buf, cap);
  else
    snprintf(buf, cap, "%s", fallback);
  ERR_clear_error();
}

static int fail(char **err, int code, const char *fmt, ...) {
  if (err && !*err) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    *err = strdup(msg);
  }
  ERR_clear_error();
  return code;
}

/* A failed OpenSSL call while loading what: its reason in the message. */
static int ossl_fail(char **err, const char *what, const char *path) {
  char reason[256];
  nh__tls_err_string(reason, sizeof reason, "unknown error");
  return fail(err, NH_ETLS, "%s %s: %s", what, path ? path : "", reason);
}

/* ---- copying the configuration ---- */

static int dup_str(const char **dst, const char *src) {
  *dst = NULL;
  if (!src)
    return 0;
  return (*dst = strdup(src)) ? 0 : -1;
}

static void config_clear(nh_tls_config *c) {
  free((void *)c->ca_file);
  free((void *)c->ca_dir);
  free((void *)c->server_name);
  free((void *)c->client_cert.cert_file);
  free((void *)c->client_cert.key_file);
  for (size_t i = 0; c->certs && i < c->ncerts; i++) {
    free((void *)c->certs[i].cert_file);
    free((void *)c->certs[i].key_file);
  }
  free((void *)c->certs);
  free((void *)c->client_ca_file);
  free((void *)c->alpn);
}

/* A server offers HTTP/2 first (RFC 9113 3.2); the server serves HTTP/1
 * to clients that do not pick it (and HTTP/1 only if its config says so). */
static const char server_alpn_default[] = "h2,http/1.1";

static int config_copy(nh_tls_config *dst, const nh_tls_config *src) {
  *dst = *src;
  dst->certs = NULL;
  int bad = dup_str(&dst->ca_file, src->ca_file) | dup_str(&dst->ca_dir, src->ca_dir) |
            dup_str(&dst->server_name, src->server_name) |
            dup_str(&dst->client_cert.cert_file, src->client_cert.cert_file) |
            dup_str(&dst->client_cert.key_file, src->client_cert.key_file) |
            dup_str(&dst->client_ca_file, src->client_ca_file) |
            dup_str(&dst->alpn, src->alpn                         ? src->alpn
                                : src->role == NH_TLS_SERVER ? server_alpn_default
                                                             : "http/1.1");
  if (src->ncerts) {
    nh_tls_cert_file *certs = calloc(src->ncerts, sizeof *certs);
    dst->certs = certs;
    if (!certs)
      bad = -1;
    for (size_t i = 0; certs && i < src->ncerts; i++)
      bad |= dup_str(&certs[i].cert_file, src->certs[i].cert_file) |
             dup_str(&certs[i].key_file, src->certs[i].key_file);
  }
  if (!dst->min_version)
    dst->min_version = NH_TLS_VERSION_1_2;
  if (!dst->handshake_timeout)
    dst->handshake_timeout = 10 * NH_SEC;
  if (!dst->session_cache_size)
    dst->session_cache_size = DEFAULT_SESSION_CACHE;
  return bad ? NH_ENOMEM : 0;
}

static int config_check(const nh_tls_config *c, char **err) {
  if (c->role != NH_TLS_CLIENT && c->role != NH_TLS_SERVER)
    return fail(err, NH_EINVAL, "tls: role must be NH_TLS_CLIENT or NH_TLS_SERVER");
  if (c->min_version != NH_TLS_VERSION_1_2 && c->min_version != NH_TLS_VERSION_1_3)
    return fail(err, NH_EINVAL, "tls: min_version must be TLS 1.2 or 1.3");
  if (c->role == NH_TLS_SERVER) {
    if (!c->ncerts)
      return fail(err, NH_EINVAL, "tls: a server needs at least one certificate");
    for (size_t i = 0; i < c->ncerts; i++)
      if (!c->certs[i].cert_file || !c->certs[i].key_file)
        return fail(err, NH_EINVAL, "tls: certificate %zu lacks its cert or key file", i);
    if (c->client_auth != NH_TLS_NO_CLIENT_CERT && !c->client_ca_file)
      return fail(err, NH_EINVAL, "tls: client certificates need client_ca_file");
  } else if (!c->client_cert.cert_file != !c->client_cert.key_file) {
    return fail(err, NH_EINVAL, "tls: a client certificate needs both cert and key files");
  }
  return 0;
}

/* "h2,http/1.1" to the length-prefixed wire format. */
static int alpn_encode(nh_tls_ctx *ctx, char **err) {
  const char *s = ctx->cfg.alpn;
  size_t o = 0;
  while (*s) {
    size_t n = strcspn(s, ",");
    if (n == 0 || n > 255 || o + 1 + n > sizeof ctx->alpn_wire)
      return fail(err, NH_EINVAL, "tls: bad ALPN list \"%s\"", ctx->cfg.alpn);
    ctx->alpn_wire[o++] = (unsigned char)n;
    memcpy(ctx->alpn_wire + o, s, n);
    o += n;
    s += n;
    if (*s == ',')
      s++;
  }
  ctx->alpn_len = o;
  return 0;
}

/* ---- the identity key ---- */

static void hash_bytes(EVP_MD_CTX *md, const char *tag, const void *p, size_t n) {
  uint64_t len = n;
  EVP_DigestUpdate(md, tag, strlen(tag) + 1);
  EVP_DigestUpdate(md, &len, sizeof len);
  if (n)
    EVP_DigestUpdate(md, p, n);
}

static void hash_str(EVP_MD_CTX *md, const char *tag, const char *s) {
  hash_bytes(md, tag, s ? s : "\xff", s ? strlen(s) : 1); /* NULL differs from "" */
}

static void hash_int(EVP_MD_CTX *md, const char *tag, long long v) {
  hash_bytes(md, tag, &v, sizeof v);
}

/* A file's contents, so a changed bundle under the same name is another
 * configuration. Unreadable files hash as such; loading reports them. */
static void hash_file(EVP_MD_CTX *md, const char *tag, const char *path) {
  hash_str(md, tag, path);
  if (!path)
    return;
  FILE *f = fopen(path, "rb");
  if (!f) {
    hash_int(md, "unreadable", errno);
    return;
  }
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    EVP_DigestUpdate(md, buf, n);
  fclose(f);
}

static void hash_dir(EVP_MD_CTX *md, const char *path) {
  hash_str(md, "ca_dir", path);
  if (!path)
    return;
  struct dirent **names;
  int n = scandir(path, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      char full[4096];
      snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
      hash_file(md, "ca_dir_file", full);
    }
    free(names[i]);
  }
  if (n >= 0)
    free(names);
}

static int compute_key(nh_tls_ctx *ctx) {
  const nh_tls_config *c = &ctx->cfg;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(md);
    return NH_ENOMEM;
  }
  hash_str(md, "nethttp tls config", "1");
  hash_int(md, "role", c->role);
  hash_int(md, "min_version", c->min_version);
  hash_str(md, "alpn", c->alpn);
  hash_int(md, "handshake_timeout", c->handshake_timeout);
  if (c->role == NH_TLS_CLIENT) {
    hash_int(md, "system_roots", !c->ca_file && !c->ca_dir);
    hash_file(md, "ca_file", c->ca_file);
    hash_dir(md, c->ca_dir);
    hash_str(md, "server_name", c->server_name);
    hash_int(md, "insecure", c->insecure_skip_verify_FOR_TESTING_ONLY);
    hash_file(md, "client_cert", c->client_cert.cert_file);
    hash_file(md, "client_key", c->client_cert.key_file);
    hash_int(md, "session_cache", c->session_cache_size);
  } else {
    for (size_t i = 0; i < c->ncerts; i++) {
      hash_file(md, "cert", c->certs[i].cert_file);
      hash_file(md, "key", c->certs[i].key_file);
    }
    hash_int(md, "client_auth", c->client_auth);
    hash_file(md, "client_ca", c->client_ca_file);
    hash_int(md, "tickets_off", c->session_tickets_off);
  }
  unsigned char sum[32];
  unsigned len = 0;
  EVP_DigestFinal_ex(md, sum, &len);
  EVP_MD_CTX_free(md);
  for (unsigned i = 0; i < 32; i++)
    snprintf(ctx->key + 2 * i, 3, "%02x", sum[i]);
  return 0;
}

/* ---- loading files into an SSL_CTX ---- */

static int file_error(char **err, const char *what, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = -errno;
    return fail(err, e, "tls: %s %s: %s", what, path, strerror(-e));
  }
  fclose(f);
  return ossl_fail(err, what, path);
}

/* Reads a chain file (leaf first) and its key, checking that they match. */
static int load_pair(const nh_tls_cert_file *cf, X509 **cert, EVP_PKEY **key,
                     STACK_OF(X509) * *chain, char **err) {
  *cert = NULL, *key = NULL, *chain = NULL;
  BIO *b = BIO_new_file(cf->cert_file, "r");
  if (!b)
    return file_error(err, "certificate", cf->cert_file);
  *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
  *chain = sk_X509_new_null();
  X509 *extra;
  while (*cert && *chain && (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)))
    sk_X509_push(*chain, extra);
  BIO_free(b);
  ERR_clear_error(); /* the end of the file reads as an error */
  if (!*cert || !*chain)
    return fail(err, NH_ETLS, "tls: certificate %s: no PEM certificate in it", cf->cert_file);
  b = BIO_new_file(cf->key_file, "r");
  if (!b)
    return file_error(err, "key", cf->key_file);
  *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  if (!*key)
    return ossl_fail(err, "tls: key", cf->key_file);
  if (X509_check_private_key(*cert, *key) != 1)
    return fail(err, NH_ETLS, "tls: key %s does not match certificate %s", cf->key_file,
                cf->cert_file);
  return 0;
}

void nh__tls_state_unref(nh__tls_state *st) {
  if (!st || atomic_fetch_sub(&st->refs, 1) != 1)
    return;
  for (size_t i = 0; i < st->ncerts; i++) {
    X509_free(st->certs[i]);
    EVP_PKEY_free(st->keys[i]);
    sk_X509_pop_free(st->chains[i], X509_free);
  }
  free(st->certs);
  free(st->keys);
  free(st->chains);
  SSL_CTX_free(st->ssl);
  free(st);
}

/* Server: the first certificate whose names cover the requested name. */
static int sni_cb(SSL *ssl, int *alert, void *arg) {
  (void)alert;
  nh__tls_state *st = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name || st->ncerts < 2)
    return SSL_TLSEXT_ERR_OK;
  for (size_t i = 0; i < st->ncerts; i++) {
    if (X509_check_host(st->certs[i], name, 0, 0, NULL) != 1)
      continue;
    if (i > 0 && SSL_use_cert_and_key(ssl, st->certs[i], st->keys[i], st->chains[i], 1) != 1)
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_OK; /* the default certificate */
}

/* Server: the first of our protocols the client offers. No overlap means
 * no ALPN rather than a failed handshake, so old clients still connect. */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned inlen, void *arg) {
  (void)ssl;
  nh_tls_ctx *ctx = arg;
  unsigned char *sel;
  if (!ctx->alpn_len || SSL_select_next_proto(&sel, outlen, ctx->alpn_wire, (unsigned)ctx->alpn_len,
                                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* ---- session ticket keys ---- */

static int ticket_rotate_locked(nh_tls_ctx *ctx) {
  nh__ticket_key k;
  if (RAND_bytes((unsigned char *)&k, sizeof k) != 1)
    return NH_EIO;
  OPENSSL_cleanse(&ctx->tickets[NH__TICKET_KEYS - 1], sizeof k);
  memmove(&ctx->tickets[1], &ctx->tickets[0], (NH__TICKET_KEYS - 1) * sizeof k);
  ctx->tickets[0] = k;
  OPENSSL_cleanse(&k, sizeof k);
  if (ctx->ntickets < NH__TICKET_KEYS)
    ctx->ntickets++;
  ctx->tickets_rotated = nh_now();
  return 0;
}

int nh__tls_ticket_rotate(nh_tls_ctx *ctx) {
  pthread_mutex_lock(&ctx->mu);
  int e = ticket_rotate_locked(ctx);
  pthread_mutex_unlock(&ctx->mu);
  return e;
}

/* OpenSSL's ticket callback: enc = 1 seals a new ticket with the newest
 * key; else it finds the ticket's key by name: 0 = unknown (a full
 * handshake), -1 = error, 2 = resume and issue a fresh ticket (always: a
 * TLS 1.3 resumption is refused when told not to renew, as OpenSSL's own
 * keys renew too). */
static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc) {
  nh_tls_conn *conn = SSL_get_app_data(ssl);
  if (!conn)
    return -1;
  nh_tls_ctx *ctx = nh__tls_conn_ctx(conn);
  nh__ticket_key k;
  int idx = -1;
  pthread_mutex_lock(&ctx->mu);
  if (enc && (!ctx->ntickets || nh_now() - ctx->tickets_rotated >= NH__TICKET_ROTATE))
    ticket_rotate_locked(ctx);
  for (int i = 0; i < ctx->ntickets; i++)
    if (enc ? i == 0 : memcmp(ctx->tickets[i].name, key_name, 16) == 0) {
      k = ctx->tickets[i];
      idx = i;
      break;
    }
  pthread_mutex_unlock(&ctx->mu);
  if (idx < 0)
    return enc ? -1 : 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
      OSSL_PARAM_construct_end()};
  int ok;
  if (enc) {
    memcpy(key_name, k.name, 16);
    ok = RAND_bytes(iv, 16) == 1 &&
         EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1 &&
         EVP_MAC_CTX_set_params(hctx, params) == 1;
  } else {
    ok = EVP_MAC_CTX_set_params(hctx, params) == 1 &&
         EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
  }
  OPENSSL_cleanse(&k, sizeof k);
  if (!ok)
    return -1;
  return enc ? 1 : 2;
}

/* Handshakes on several loops verify against the same CA certificates,
 * and OpenSSL fills a certificate's cache of extension data (its key
 * identifiers, among others) on first use: under the certificate's lock,
 * but read without it once filled. Fill it now, before the context is
 * shared between threads. */
static void warm_ca_certs(SSL_CTX *s) {
  STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(s));
  for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
    X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    if (x)
      X509_check_purpose(x, -1, 0);
  }
}

static int build_client(nh_tls_ctx *ctx, SSL_CTX *s, char **err) {
  const nh_tls_config *c = &ctx->cfg;
  if (c->ca_file || c->ca_dir) {
    if (SSL_CTX_load_verify_locations(s, c->ca_file, c->ca_dir) != 1)
      return c->ca_file ? file_error(err, "CA file", c->ca_file)
                        : ossl_fail(err, "tls: CA directory", c->ca_dir);
  } else if (SSL_CTX_set_default_verify_paths(s) != 1) {
    return ossl_fail(err, "tls: system roots", NULL);
  }
  warm_ca_certs(s);
  /* Skipping verification still verifies, to tell nh_tls_peer_verified. */
  SSL_CTX_set_verify(
      s, c->insecure_skip_verify_FOR_TESTING_ONLY ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
  if (c->client_cert.cert_file) {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
    int e = load_pair(&c->client_cert, &cert, &key, &chain, err);
    if (!e && SSL_CTX_use_cert_and_key(s, cert, key, chain, 1) != 1)
      e = ossl_fail(err, "tls: client certificate", c->client_cert.cert_file);
    X509_free(cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    if (e)
      return e;
  }
  if (ctx->alpn_len && SSL_CTX_set_alpn_protos(s, ctx->alpn_wire, (unsigned)ctx->alpn_len) != 0)
    return ossl_fail(err, "tls: ALPN", NULL);
  if (c->session_cache_size > 0) {
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(s, nh__tls_new_session_cb);
  } else {
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
  }
  return 0;
}

static int build_server(nh_tls_ctx *ctx, nh__tls_state *st, char **err) {
  const nh_tls_config *c = &ctx->cfg;
  SSL_CTX *s = st->ssl;
  st->certs = calloc(c->ncerts, sizeof *st->certs);
  st->keys = calloc(c->ncerts, sizeof *st->keys);
  st->chains = calloc(c->ncerts, sizeof *st->chains);
  if (!st->certs || !st->keys || !st->chains)
    return fail(err, NH_ENOMEM, "tls: out of memory");
  for (size_t i = 0; i < c->ncerts; i++) {
    st->ncerts = i + 1;
    int e = load_pair(&c->certs[i], &st->certs[i], &st->keys[i], &st->chains[i], err);
    if (e)
      return e;
  }
  if (SSL_CTX_use_cert_and_key(s, st->certs[0], st->keys[0], st->chains[0], 1) != 1)
    return ossl_fail(err, "tls: certificate", c->certs[0].cert_file);
  SSL_CTX_set_tlsext_servername_callback(s, sni_cb);
  SSL_CTX_set_tlsext_servername_arg(s, st);
  if (ctx->alpn_len)
    SSL_CTX_set_alpn_select_cb(s, alpn_select_cb, ctx);
  if (c->client_auth != NH_TLS_NO_CLIENT_CERT) {
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->client_ca_file);
    if (!names || SSL_CTX_load_verify_locations(s, c->client_ca_file, NULL) != 1) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return file_error(err, "client CA file", c->client_ca_file);
    }
    SSL_CTX_set_client_CA_list(s, names);
    int mode = SSL_VERIFY_PEER;
    if (c->client_auth == NH_TLS_REQUIRE_CLIENT_CERT)
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(s, mode, NULL);
  }
  /* Sessions resume only under the configuration that made them. */
  SSL_CTX_set_session_id_context(s, (const unsigned char *)ctx->key, SSL_MAX_SID_CTX_LENGTH);
  if (c->session_tickets_off)
    SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
  else
    SSL_CTX_set_tlsext_ticket_key_evp_cb(s, ticket_cb);
  return 0;
}

static int state_build(nh_tls_ctx *ctx, nh__tls_state **out, char **err) {
  nh__tls_state *st = calloc(1, sizeof *st);
  if (!st)
    return fail(err, NH_ENOMEM, "tls: out of memory");
  atomic_init(&st->refs, 1);
  int server = ctx->cfg.role == NH_TLS_SERVER;
  ERR_clear_error();
  st->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  int e;
  if (!st->ssl) {
    e = ossl_fail(err, "tls: SSL_CTX_new", NULL);
    goto out;
  }
  SSL_CTX_set_min_proto_version(st->ssl, ctx->cfg.min_version);
  if (SSL_CTX_set_cipher_list(st->ssl, TLS12_CIPHERS) != 1) {
    e = ossl_fail(err, "tls: cipher list", NULL);
    goto out;
  }
  /* The client chooses among them (the profile's order is only a hint):
   * it knows whether it has AES instructions or is better off with
   * ChaCha20. */
  SSL_CTX_clear_options(st->ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* A TCP close between records is the end of the stream, as in Go; HTTP
   * framing catches truncation. Renegotiation is an attack surface only. */
  SSL_CTX_set_options(st->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  /* Idle keep-alive connections give their buffers back. */
  SSL_CTX_set_mode(st->ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* Read what the socket has, not a header then a body: half the system
   * calls. nh_tls_read_pending accounts for what is buffered. */
  SSL_CTX_set_read_ahead(st->ssl, 1);
  e = server ? build_server(ctx, st, err) : build_client(ctx, st->ssl, err);
out:
  if (e) {
    nh__tls_state_unref(st);
    return e;
  }
  *out = st;
  return 0;
}

/* ---- the context ---- */

static int config_new(const nh_tls_config *cfg, nh_tls_ctx **out, char **err) {
  if (!cfg)
    return fail(err, NH_EINVAL, "tls: no configuration");
  nh_tls_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx)
    return fail(err, NH_ENOMEM, "tls: out of memory");
  atomic_init(&ctx->refs, 1);
  pthread_mutex_init(&ctx->mu, NULL);
  int e = config_copy(&ctx->cfg, cfg);
  if (e)
    fail(err, e, "tls: out of memory");
  if (!e)
    e = config_check(&ctx->cfg, err);
  if (!e)
    e = alpn_encode(ctx, err);
  if (!e)
    e = compute_key(ctx);
  if (!e)
    e = state_build(ctx, &ctx->cur, err);
  if (e) {
    nh__tls_ctx_unref(ctx);
    return e;
  }
  *out = ctx;
  return 0;
}

/* Loading reads files and parses certificates (the system roots take tens
 * of milliseconds): on a fiber it runs on the offload pool, never on the
 * loop. The background context cannot end, so the arguments on this stack
 * outlive the job. */
typedef struct load_job {
  const nh_tls_config *cfg;
  nh_tls_ctx *ctx;
  nh_tls_ctx **out;
  char **err;
} load_job;

static int new_job(void *arg) {
  load_job *j = arg;
  return config_new(j->cfg, j->out, j->err);
}

static int reload(nh_tls_ctx *ctx, char **err);

static int reload_job(void *arg) {
  load_job *j = arg;
  return reload(j->ctx, j->err);
}

int nh_tls_config_new(const nh_tls_config *cfg, nh_tls_ctx **out, char **err) {
  if (err)
    *err = NULL;
  *out = NULL;
  load_job j = {cfg, NULL, out, err};
  return nh_offload(nh_ctx_background(), new_job, &j);
}

int nh_tls_ctx_reload(nh_tls_ctx *ctx, char **err) {
  if (err)
    *err = NULL;
  load_job j = {NULL, ctx, NULL, err};
  return nh_offload(nh_ctx_background(), reload_job, &j);
}

const char *nh_tls_ctx_key(const nh_tls_ctx *ctx) { return ctx->key; }

static int reload(nh_tls_ctx *ctx, char **err) {
  nh__tls_state *st;
  int e = state_build(ctx, &st, err);
  if (e)
    return e;
  pthread_mutex_lock(&ctx->mu);
  nh__tls_state *prev = ctx->cur;
  ctx->cur = st;
  pthread_mutex_unlock(&ctx->mu);
  nh__tls_state_unref(prev); /* freed when its last connection goes */
  return 0;
}

nh__tls_state *nh__tls_state_get(nh_tls_ctx *ctx) {
  pthread_mutex_lock(&ctx->mu);
  nh__tls_state *st = ctx->cur;
  atomic_fetch_add(&st->refs, 1);
  pthread_mutex_unlock(&ctx->mu);
  return st;
}

void nh__tls_ctx_unref(nh_tls_ctx *ctx) {
  if (!ctx || atomic_fetch_sub(&ctx->refs, 1) != 1)
    return;
  nh__tls_state_unref(ctx->cur);
  for (int i = 0; i < ctx->nsessions; i++) {
    free(ctx->sessions[i].key);
    SSL_SESSION_free(ctx->sessions[i].sess);
  }
  free(ctx->sessions);
  OPENSSL_cleanse(ctx->tickets, sizeof ctx->tickets);
  config_clear(&ctx->cfg);
  pthread_mutex_destroy(&ctx->mu);
  free(ctx);
}

void nh_tls_ctx_free(nh_tls_ctx *ctx) { nh__tls_ctx_unref(ctx); }

/* ---- client session cache: a small LRU keyed by name and address ---- */

SSL_SESSION *nh__tls_session_get(nh_tls_ctx *ctx, const char *key) {
  SSL_SESSION *s = NULL;
  pthread_mutex_lock(&ctx->mu);
  for (int i = 0; i < ctx->nsessions; i++)
    if (strcmp(ctx->sessions[i].key, key) == 0) {
      s = ctx->sessions[i].sess;
      ctx->sessions[i].used = ++ctx->clock;
      SSL_SESSION_up_ref(s);
      break;
    }
  pthread_mutex_unlock(&ctx->mu);
  return s;
}

void nh__tls_session_put(nh_tls_ctx *ctx, const char *key, SSL_SESSION *sess) {
  char *k = strdup(key);
  pthread_mutex_lock(&ctx->mu);
  nh__tls_session *slot = NULL;
  for (int i = 0; i < ctx->nsessions; i++)
    if (strcmp(ctx->sessions[i].key, key) == 0)
      slot = &ctx->sessions[i];
  if (!slot && ctx->nsessions < ctx->cfg.session_cache_size) {
    if (ctx->nsessions == ctx->cap_sessions) {
      int cap = ctx->cap_sessions ? ctx->cap_sessions * 2 : 8;
      nh__tls_session *n = realloc(ctx->sessions, (size_t)cap * sizeof *n);
      if (n) {
        ctx->sessions = n;
        ctx->cap_sessions = cap;
      }
    }
    if (ctx->nsessions < ctx->cap_sessions) {
      slot = &ctx->sessions[ctx->nsessions++];
      *slot = (nh__tls_session){0};
    }
  }
  if (!slot && ctx->nsessions > 0) { /* full: evict the least recently used */
    slot = &ctx->sessions[0];
    for (int i = 1; i < ctx->nsessions; i++)
      if (ctx->sessions[i].used < slot->used)
        slot = &ctx->sessions[i];
  }
  if (!slot || !k) {
    pthread_mutex_unlock(&ctx->mu);
    free(k);
    SSL_SESSION_free(sess);
    return;
  }
  free(slot->key);
  SSL_SESSION_free(slot->sess);
  slot->key = k;
  slot->sess = sess;
  slot->used = ++ctx->clock;
  pthread_mutex_unlock(&ctx->mu);
}
