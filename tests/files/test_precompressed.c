/* The file server's precompressed siblings (nh_file_server_options
 * .precompressed), over sockets: which sibling each Accept-Encoding gets,
 * their headers, conditional requests and ranges on them, and the siblings
 * that must never be served. The sibling files hold marker bytes, so the
 * body says which file was sent. */
#include "harness.h"
#include "files/fixture.h"

#define MTIME 1700000000

static void put(const char *dir, const char *name, const char *data, time_t mtime) {
  fixture_put(dir, name, data, strlen(data), mtime);
}

static fixture *fixture_new(int precompressed) {
  fixture *f = calloc(1, sizeof *f);
  fixture_dirs(f, "/tmp/nh_precomp_XXXXXX");
  char p[PATH_MAX], q[PATH_MAX];
  put(f->root, "app.js", "ORIGINAL app.js bytes", MTIME);
  put(f->root, "app.js.gz", "GZ-SIBLING", MTIME + 1);
  put(f->root, "app.js.br", "BR-SIBLING-BYTES", MTIME + 1);
  put(f->root, "app.js.zst", "ZST-SIBLING-B", MTIME); /* as old as the original: fine */
  put(f->root, "gzonly.css", "ORIGINAL css", MTIME);
  put(f->root, "gzonly.css.gz", "GZ-CSS", MTIME);
  put(f->root, "dir.js", "ORIGINAL dir.js", MTIME);
  snprintf(p, sizeof p, "%s/dir.js.br", f->root);
  CHECK(mkdir(p, 0755) == 0);
  put(f->root, "old.js", "ORIGINAL old.js", MTIME);
  put(f->root, "old.js.br", "STALE", MTIME - 60);
  put(f->root, "only.js.br", "BR-ONLY", MTIME);
  snprintf(p, sizeof p, "%s/outside", f->base);
  CHECK(mkdir(p, 0755) == 0);
  put(p, "secret.br", "OUTSIDE-SECRET", MTIME + 5);
  put(f->root, "link.js", "ORIGINAL link.js", MTIME);
  snprintf(q, sizeof q, "%s/link.js.br", f->root);
  snprintf(p, sizeof p, "%s/outside/secret.br", f->base);
  CHECK(symlink(p, q) == 0);
  put(f->root, "inlink.js", "ORIGINAL inlink.js", MTIME);
  snprintf(q, sizeof q, "%s/inlink.js.br", f->root);
  CHECK(symlink("app.js.br", q) == 0); /* a symlink inside the root is fine */
  snprintf(p, sizeof p, "%s/sub", f->root);
  CHECK(mkdir(p, 0755) == 0);
  put(p, "index.html", "ORIGINAL index", MTIME);
  put(p, "index.html.zst", "ZST-INDEX", MTIME);
  nh_file_server_options o = {.precompressed = precompressed};
  fixture_serve(f, &o);
  return f;
}

static raw_resp req(fixture *f, const char *method, const char *path, const char *headers) {
  return fixture_req(f->port, method, path, headers);
}

static const char *hdr_or(const raw_resp *r, const char *name) {
  const char *v = raw_header(r, name);
  return v ? v : "(none)";
}

NH_TEST(precompressed_sibling_per_accept_encoding) {
  fixture *f = fixture_new(1);
  static const struct {
    const char *path, *ae; /* ae NULL: no field */
    const char *body, *ce, *type;
  } table[] = {
      {"/app.js", "Accept-Encoding: gzip\r\n", "GZ-SIBLING", "gzip", "text/javascript"},
      {"/app.js", "Accept-Encoding: br\r\n", "BR-SIBLING-BYTES", "br", "text/javascript"},
      {"/app.js", "Accept-Encoding: zstd\r\n", "ZST-SIBLING-B", "zstd", "text/javascript"},
      {"/app.js", "Accept-Encoding: gzip, deflate, br, zstd\r\n", "BR-SIBLING-BYTES", "br", NULL},
      {"/app.js", "Accept-Encoding: gzip, zstd\r\n", "ZST-SIBLING-B", "zstd", NULL},
      {"/app.js", "Accept-Encoding: br;q=0.5, gzip\r\n", "GZ-SIBLING", "gzip", NULL},
      {"/app.js", "Accept-Encoding: *\r\n", "BR-SIBLING-BYTES", "br", NULL},
      {"/app.js", "Accept-Encoding: br;q=0, zstd;q=0, *\r\n", "GZ-SIBLING", "gzip", NULL},
      {"/app.js", "Accept-Encoding: identity\r\n", "ORIGINAL app.js bytes", NULL, NULL},
      {"/app.js", "Accept-Encoding: gzip;q=0.5, identity\r\n", "ORIGINAL app.js bytes", NULL, NULL},
      {"/app.js", "Accept-Encoding: deflate\r\n", "ORIGINAL app.js bytes", NULL, NULL},
      {"/app.js", NULL, "ORIGINAL app.js bytes", NULL, "text/javascript"},
      {"/gzonly.css", "Accept-Encoding: br, zstd, gzip;q=0.1\r\n", "GZ-CSS", "gzip", "text/css"},
      {"/gzonly.css", "Accept-Encoding: br, zstd\r\n", "ORIGINAL css", NULL, "text/css"},
      {"/sub/", "Accept-Encoding: zstd\r\n", "ZST-INDEX", "zstd", "text/html"},
      /* Never served: a directory, a symlink out of the root, a stale one. */
      {"/dir.js", "Accept-Encoding: br\r\n", "ORIGINAL dir.js", NULL, NULL},
      {"/link.js", "Accept-Encoding: br\r\n", "ORIGINAL link.js", NULL, NULL},
      {"/old.js", "Accept-Encoding: br\r\n", "ORIGINAL old.js", NULL, NULL},
      {"/inlink.js", "Accept-Encoding: br\r\n", "BR-SIBLING-BYTES", "br", NULL},
  };
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    raw_resp r = req(f, "GET", table[i].path, table[i].ae);
    if (r.status != 200 || strcmp(r.body, table[i].body) ||
        (table[i].ce ? strcmp(hdr_or(&r, "Content-Encoding"), table[i].ce) : !!raw_header(&r, "Content-Encoding")))
      NH_FAIL("%s with %s: status %d, body \"%s\", Content-Encoding %s", table[i].path,
              table[i].ae ? table[i].ae : "(none)", r.status, r.body, hdr_or(&r, "Content-Encoding"));
    char len[24];
    snprintf(len, sizeof len, "%zu", strlen(table[i].body));
    CHECK_STR(hdr_or(&r, "Content-Length"), len);
    CHECK_STR(hdr_or(&r, "Vary"), "Accept-Encoding");
    if (table[i].type)
      CHECK(!strncmp(hdr_or(&r, "Content-Type"), table[i].type, strlen(table[i].type)));
    raw_resp_free(&r);
  }
  /* A sibling without its original is not a file. */
  raw_resp r = req(f, "GET", "/only.js", "Accept-Encoding: br\r\n");
  CHECK_EQ(r.status, 404);
  raw_resp_free(&r);
  /* HEAD: the sibling's headers. */
  r = req(f, "HEAD", "/app.js", "Accept-Encoding: br\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(hdr_or(&r, "Content-Encoding"), "br");
  CHECK_STR(hdr_or(&r, "Content-Length"), "16");
  raw_resp_free(&r);
  fixture_free(f);
}

NH_TEST(precompressed_validators_and_ranges_are_the_siblings) {
  fixture *f = fixture_new(1);
  raw_resp orig = req(f, "GET", "/app.js", NULL);
  raw_resp br = req(f, "GET", "/app.js", "Accept-Encoding: br\r\n");
  raw_resp gz = req(f, "GET", "/app.js", "Accept-Encoding: gzip\r\n");
  char e_orig[64], e_br[64], e_gz[64];
  snprintf(e_orig, sizeof e_orig, "%s", hdr_or(&orig, "Etag"));
  snprintf(e_br, sizeof e_br, "%s", hdr_or(&br, "Etag"));
  snprintf(e_gz, sizeof e_gz, "%s", hdr_or(&gz, "Etag"));
  CHECK(e_orig[0] == '"' && e_br[0] == '"' && e_gz[0] == '"');
  CHECK(strcmp(e_orig, e_br) && strcmp(e_orig, e_gz) && strcmp(e_br, e_gz));
  /* The sibling's own Last-Modified (a second after the original). */
  CHECK_STR(hdr_or(&orig, "Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
  CHECK_STR(hdr_or(&br, "Last-Modified"), "Tue, 14 Nov 2023 22:13:21 GMT");
  raw_resp_free(&orig);
  raw_resp_free(&br);
  raw_resp_free(&gz);
  char h[256];
  /* If-None-Match: the sibling's ETag matches the sibling only. */
  snprintf(h, sizeof h, "Accept-Encoding: br\r\nIf-None-Match: %s\r\n", e_br);
  raw_resp r = req(f, "GET", "/app.js", h);
  CHECK_EQ(r.status, 304);
  CHECK_STR(hdr_or(&r, "Etag"), e_br);
  CHECK_STR(hdr_or(&r, "Vary"), "Accept-Encoding");
  raw_resp_free(&r);
  snprintf(h, sizeof h, "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", e_br);
  r = req(f, "GET", "/app.js", h);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "GZ-SIBLING");
  raw_resp_free(&r);
  snprintf(h, sizeof h, "If-None-Match: %s\r\n", e_br);
  r = req(f, "GET", "/app.js", h);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "ORIGINAL app.js bytes");
  raw_resp_free(&r);
  /* Range: bytes of the sibling, its length in Content-Range. */
  r = req(f, "GET", "/app.js", "Accept-Encoding: br\r\nRange: bytes=3-9\r\n");
  CHECK_EQ(r.status, 206);
  CHECK_STR(r.body, "SIBLING");
  CHECK_STR(hdr_or(&r, "Content-Range"), "bytes 3-9/16");
  CHECK_STR(hdr_or(&r, "Content-Encoding"), "br");
  CHECK_STR(hdr_or(&r, "Content-Length"), "7");
  raw_resp_free(&r);
  /* If-Range with the sibling's ETag keeps the range; the original's does not. */
  snprintf(h, sizeof h, "Accept-Encoding: br\r\nRange: bytes=0-1\r\nIf-Range: %s\r\n", e_br);
  r = req(f, "GET", "/app.js", h);
  CHECK_EQ(r.status, 206);
  CHECK_STR(r.body, "BR");
  raw_resp_free(&r);
  snprintf(h, sizeof h, "Accept-Encoding: br\r\nRange: bytes=0-1\r\nIf-Range: %s\r\n", e_orig);
  r = req(f, "GET", "/app.js", h);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "BR-SIBLING-BYTES");
  raw_resp_free(&r);
  r = req(f, "GET", "/app.js", "Accept-Encoding: br\r\nRange: bytes=100-\r\n");
  CHECK_EQ(r.status, 416);
  CHECK_STR(hdr_or(&r, "Content-Range"), "bytes */16");
  raw_resp_free(&r);
  fixture_free(f);
}

NH_TEST(precompressed_off_serves_the_original) {
  fixture *f = fixture_new(0);
  raw_resp r = req(f, "GET", "/app.js", "Accept-Encoding: br, gzip, zstd\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "ORIGINAL app.js bytes");
  CHECK(raw_header(&r, "Content-Encoding") == NULL);
  CHECK(raw_header(&r, "Vary") == NULL);
  raw_resp_free(&r);
  fixture_free(f);
}

NH_TEST_MAIN()
