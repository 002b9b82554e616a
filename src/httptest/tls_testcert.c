/* Throwaway certificates for tests: a CA and leaves (EC P-256), made at run
 * time and written as PEM files into a fresh temporary directory, so no key
 * is ever committed and every run trusts only its own CA. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nethttp/errors.h"
#include "nethttp/tls.h"

static const char *const default_hosts[] = {"127.0.0.1", "::1", "localhost", NULL};

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  int ok = ext && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

/* "DNS:localhost,IP:127.0.0.1,IP:::1" */
static char *san_list(const char *const *hosts) {
  size_t cap = 1;
  for (const char *const *h = hosts; *h; h++)
    cap += strlen(*h) + 6;
  char *s = malloc(cap);
  if (!s)
    return NULL;
  s[0] = '\0';
  for (const char *const *h = hosts; *h; h++) {
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, *h, ip) == 1 || inet_pton(AF_INET6, *h, ip) == 1;
    if (s[0])
      strcat(s, ",");
    strcat(s, is_ip ? "IP:" : "DNS:");
    strcat(s, *h);
  }
  return s;
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is
 * NULL), valid from an hour ago for a week. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *const *hosts) {
  X509 *x = X509_new();
  if (!x)
    return NULL;
  int64_t serial;
  RAND_bytes((unsigned char *)&serial, sizeof serial);
  serial &= INT64_MAX;
  X509_NAME *name = X509_NAME_new();
  int ok =
      X509_set_version(x, X509_VERSION_3) &&
      ASN1_INTEGER_set_int64(X509_get_serialNumber(x), serial ? serial : 1) &&
      X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
      X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) && X509_set_pubkey(x, key) && name &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"nethttp test", -1,
                                 -1, 0) &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
      X509_set_subject_name(x, name) &&
      X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509_NAME_free(name);
  X509 *signer = issuer ? issuer : x;
  if (ok && !issuer) {
    ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
         add_ext(x, x, NID_subject_key_identifier, "hash");
  } else if (ok) {
    char *san = san_list(hosts);
    ok = san && add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x, signer, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x, signer, NID_ext_key_usage, "serverAuth,clientAuth") &&
         add_ext(x, signer, NID_subject_alt_name, san) &&
         add_ext(x, signer, NID_authority_key_identifier, "keyid:always");
    free(san);
  }
  if (!ok || !X509_sign(x, issuer_key, EVP_sha256())) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static char *path_in(const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, file);
  return p;
}

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -errno;
  if (key)
    fchmod(fileno(f), 0600);
  int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
  if (fclose(f) != 0 || !ok)
    return NH_EIO;
  return 0;
}

int nh_tls_testcert_leaf(nh_tls_testcert *tc, const char *name, const char *const *hosts,
                         char **cert_pem, char **key_pem) {
  *cert_pem = *key_pem = NULL;
  if (!hosts || !*hosts)
    hosts = default_hosts;
  char file[256];
  snprintf(file, sizeof file, "%s.pem", name);
  *cert_pem = path_in(tc->dir, file);
  snprintf(file, sizeof file, "%s-key.pem", name);
  *key_pem = path_in(tc->dir, file);
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *cert = key ? make_cert(key, hosts[0], tc->ca_cert, tc->ca_key, hosts) : NULL;
  int e = !*cert_pem || !*key_pem ? NH_ENOMEM : !cert ? NH_ETLS : 0;
  if (!e)
    e = write_pem(*cert_pem, cert, NULL);
  if (!e)
    e = write_pem(*key_pem, NULL, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  if (e) {
    free(*cert_pem);
    free(*key_pem);
    *cert_pem = *key_pem = NULL;
  }
  return e;
}

int nh_tls_testcert_new(const char *const *hosts, nh_tls_testcert **out) {
  *out = NULL;
  nh_tls_testcert *tc = calloc(1, sizeof *tc);
  if (!tc)
    return NH_ENOMEM;
  const char *tmp = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/nethttp-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmpl)) {
    int e = -errno;
    free(tc);
    return e;
  }
  int e = (tc->dir = strdup(tmpl)) && (tc->ca_pem = path_in(tc->dir, "ca.pem")) ? 0 : NH_ENOMEM;
  EVP_PKEY *ca_key = e ? NULL : EVP_EC_gen("P-256");
  X509 *ca = ca_key ? make_cert(ca_key, "nethttp test CA", NULL, ca_key, NULL) : NULL;
  tc->ca_key = ca_key;
  tc->ca_cert = ca;
  if (!e && !ca)
    e = NH_ETLS;
  if (!e)
    e = write_pem(tc->ca_pem, ca, NULL);
  if (!e)
    e = nh_tls_testcert_leaf(tc, "cert", hosts, &tc->cert_pem, &tc->key_pem);
  ERR_clear_error();
  if (e) {
    if (!tc->dir)
      rmdir(tmpl);
    nh_tls_testcert_free(tc);
    return e;
  }
  *out = tc;
  return 0;
}

void nh_tls_testcert_free(nh_tls_testcert *tc) {
  if (!tc)
    return;
  DIR *d = tc->dir ? opendir(tc->dir) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char *p = path_in(tc->dir, de->d_name);
    if (p)
      unlink(p);
    free(p);
  }
  if (d)
    closedir(d);
  if (tc->dir)
    rmdir(tc->dir);
  X509_free(tc->ca_cert);
  EVP_PKEY_free(tc->ca_key);
  free(tc->dir);
  free(tc->ca_pem);
  free(tc->cert_pem);
  free(tc->key_pem);
  free(tc);
}
