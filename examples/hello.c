/* hello: the README's server, and nethttp's side of the benchmarks.
 *   hello [--addr HOST:PORT] [--threads N] [--tls-cert FILE --tls-key FILE] [--h2c]
 * Answers every request with "hello, world\n" (13 bytes, text/plain), over
 * HTTPS (TLS 1.3 only; HTTP/2 or HTTP/1.1 by ALPN) when given a PEM
 * certificate and key; --h2c also serves HTTP/2 with prior knowledge on
 * the plain listener. */
#include <nethttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hello(nh_response_writer *w, nh_request *r) {
  (void)r; /* every request gets the same answer */
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_resp_write(w, "hello, world\n", 13);
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1:8080";
  const char *tls_cert = NULL, *tls_key = NULL;
  int h2c = 0;
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  for (int i = 1; i < argc; i++) /* the one flag without a value */
    h2c |= !strcmp(argv[i], "--h2c");
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--h2c")) {
      i--; /* takes no value */
      continue;
    }
    if (!strcmp(argv[i], "--addr"))
      addr = argv[i + 1];
    else if (!strcmp(argv[i], "--threads"))
      rc.loops = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--tls-cert"))
      tls_cert = argv[i + 1];
    else if (!strcmp(argv[i], "--tls-key"))
      tls_key = argv[i + 1];
  }
  nh_tls_ctx *tls = NULL;
  if (tls_cert || tls_key) {
    nh_tls_cert_file cert = {tls_cert, tls_key};
    nh_tls_config tc = {.role = NH_TLS_SERVER, .certs = &cert, .ncerts = 1,
                        .min_version = NH_TLS_VERSION_1_3};
    char *err = NULL;
    if (nh_tls_config_new(&tc, &tls, &err)) {
      fprintf(stderr, "hello: tls: %s\n", err ? err : "bad --tls-cert/--tls-key");
      free(err);
      return 1;
    }
  }
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = hello;
  cfg.tls = tls;
  cfg.http2.h2c = h2c;
  nh_server *srv = nh_server_new(rt, &cfg);
  int r = nh_server_run(srv, addr, 10 * NH_SEC); /* until SIGINT/SIGTERM */
  if (r && r != NH_ETIMEDOUT)
    fprintf(stderr, "hello: %s: %s\n", addr, nh_strerror(r));
  nh_server_free(srv);
  nh_runtime_free(rt);
  nh_tls_ctx_free(tls);
  return r == NH_OK ? 0 : 1;
}
