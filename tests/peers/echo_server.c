/* A small nethttp server for peer clients (Go, curl, python) to talk to:
 *   /hello   13 bytes       /sha256  hex SHA-256 of the request body
 *   /big     4 MiB, chunked (written in pieces)
 * Prints "port N" on stdout once listening; runs until SIGTERM. */
#include <nethttp.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strcmp(p, "/sha256")) {
    SHA256_CTX c;
    SHA256_Init(&c);
    char buf[8192];
    ssize_t n;
    while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
      SHA256_Update(&c, buf, (size_t)n);
    if (n < 0) {
      nh_resp_write_header(w, 400);
      return;
    }
    unsigned char d[32];
    SHA256_Final(d, &c);
    for (int i = 0; i < 32; i++)
      nh_resp_printf(w, "%02x", d[i]);
  } else if (!strcmp(p, "/big")) {
    static char block[65536];
    memset(block, 'b', sizeof block);
    for (int i = 0; i < 64; i++)
      if (nh_resp_write(w, block, sizeof block) < 0)
        return;
  } else {
    nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
    nh_resp_write(w, "hello, world\n", 13);
  }
}

int main(void) {
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = handler;
  nh_server *srv = nh_server_new(rt, &cfg);
  if (nh_server_listen(srv, "127.0.0.1:0") != NH_OK)
    return 1;
  printf("port %d\n", nh_server_port(srv));
  fflush(stdout);
  int r = nh_server_run(srv, NULL, 5 * NH_SEC);
  nh_server_free(srv);
  nh_runtime_free(rt);
  return r == NH_OK ? 0 : 1;
}
