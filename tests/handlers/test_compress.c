/* Response compression (nh_with_compress) over real sockets: the coding
 * chosen for each Accept-Encoding, every skip rule, the headers it
 * changes, sendfile, hijack and a streamed response flushed event by
 * event. Bodies are decoded with zlib, libbrotli and libzstd directly, not
 * with the library's own decoders. */
#include "support.h"

#include <brotli/decode.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "util/codec.h"

/* ---- independent decoders, streaming ---- */

typedef struct tdec {
  int coding; /* 0 none, 1 gzip, 2 br, 3 zstd */
  z_stream z;
  BrotliDecoderState *br;
  ZSTD_DStream *zs;
  char *out;
  size_t len, cap;
  int bad;
} tdec;

static void tdec_init(tdec *d, const char *ce) {
  memset(d, 0, sizeof *d);
  d->coding = !ce ? 0 : !strcmp(ce, "gzip") ? 1 : !strcmp(ce, "br") ? 2 : !strcmp(ce, "zstd") ? 3 : -1;
  if (d->coding == 1)
    inflateInit2(&d->z, 16 + MAX_WBITS);
  if (d->coding == 2)
    d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
  if (d->coding == 3)
    d->zs = ZSTD_createDStream();
  d->cap = 1 << 16;
  d->out = malloc(d->cap + 1);
}

static void tdec_room(tdec *d) {
  if (d->cap - d->len < 16384) {
    d->cap *= 2;
    d->out = realloc(d->out, d->cap + 1);
  }
}

static void tdec_feed(tdec *d, const void *p, size_t n) {
  if (d->coding == 0) {
    while (d->len + n > d->cap)
      tdec_room(d), d->cap = d->cap; /* grows by doubling */
    memcpy(d->out + d->len, p, n);
    d->len += n;
  } else if (d->coding == 1) {
    d->z.next_in = (Bytef *)p;
    d->z.avail_in = (uInt)n;
    do {
      tdec_room(d);
      d->z.next_out = (Bytef *)d->out + d->len;
      d->z.avail_out = (uInt)(d->cap - d->len);
      int r = inflate(&d->z, Z_SYNC_FLUSH);
      d->len = d->cap - d->z.avail_out;
      if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
        d->bad = 1;
        return;
      }
    } while (d->z.avail_in || d->z.avail_out == 0);
  } else if (d->coding == 2) {
    const uint8_t *in = p;
    size_t ain = n;
    for (;;) {
      tdec_room(d);
      uint8_t *o = (uint8_t *)d->out + d->len;
      size_t aout = d->cap - d->len;
      BrotliDecoderResult r = BrotliDecoderDecompressStream(d->br, &ain, &in, &aout, &o, NULL);
      d->len = d->cap - aout;
      if (r == BROTLI_DECODER_RESULT_ERROR) {
        d->bad = 1;
        return;
      }
      if (r != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
        break;
    }
  } else if (d->coding == 3) {
    ZSTD_inBuffer ib = {p, n, 0};
    for (;;) {
      tdec_room(d);
      ZSTD_outBuffer ob = {d->out + d->len, d->cap - d->len, 0};
      size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
      d->len += ob.pos;
      if (ZSTD_isError(r)) {
        d->bad = 1;
        return;
      }
      if (ib.pos == ib.size && ob.pos < ob.size)
        break;
    }
  } else {
    d->bad = 1;
  }
  d->out[d->len] = 0;
}

static void tdec_free(tdec *d) {
  if (d->coding == 1)
    inflateEnd(&d->z);
  if (d->br)
    BrotliDecoderDestroyInstance(d->br);
  if (d->zs)
    ZSTD_freeDStream(d->zs);
  free(d->out);
}

/* ---- the application ---- */

static char big_json[8192 + 1];
static char file_path[256], png_path[256];
static _Atomic int sse_acked;
static _Atomic long over_write; /* what a write past Content-Length returned */

static void make_json(void) {
  size_t n = 0;
  for (int i = 0; n + 64 < sizeof big_json - 1; i++)
    n += (size_t)snprintf(big_json + n, sizeof big_json - n, "{\"id\":%d,\"name\":\"item %d\"},", i, i * 7);
  memset(big_json + n, ' ', sizeof big_json - 1 - n);
  big_json[sizeof big_json - 1] = 0;
}

static void write_big(nh_response_writer *w) {
  for (size_t off = 0; off < 8192; off += 1000)
    nh_resp_write(w, big_json + off, 8192 - off < 1000 ? 8192 - off : 1000);
}

static void app(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  nh_header *h = nh_resp_header(w);
  if (!strcmp(p, "/json")) {
    nh_header_set(h, "Content-Type", "application/json");
    nh_header_set(h, "ETag", "\"v1\"");
    nh_header_set(h, "Vary", "Cookie");
    write_big(w);
  } else if (!strcmp(p, "/json-cl")) { /* a length stated up front */
    nh_header_set(h, "Content-Type", "application/json");
    nh_header_set(h, "Content-Length", "8192");
    nh_header_set(h, "Accept-Ranges", "bytes");
    write_big(w);
  } else if (!strcmp(p, "/json-cl-over")) { /* more than it stated */
    nh_header_set(h, "Content-Type", "application/json");
    nh_header_set(h, "Content-Length", "8192");
    write_big(w);
    over_write = nh_resp_write(w, "x", 1);
  } else if (!strcmp(p, "/status")) { /* write_header before the body */
    nh_header_set(h, "Content-Type", "text/plain");
    nh_resp_write_header(w, 404);
    write_big(w);
  } else if (!strcmp(p, "/small")) {
    nh_header_set(h, "Content-Type", "text/plain");
    nh_resp_write(w, big_json, 1023);
  } else if (!strcmp(p, "/small-cl")) { /* the length decides before any byte */
    nh_header_set(h, "Content-Type", "text/plain");
    nh_header_set(h, "Content-Length", "600");
    nh_resp_write(w, big_json, 600);
  } else if (!strcmp(p, "/png")) {
    nh_header_set(h, "Content-Type", "image/png");
    write_big(w);
  } else if (!strcmp(p, "/svg")) {
    nh_header_set(h, "Content-Type", "image/svg+xml");
    write_big(w);
  } else if (!strcmp(p, "/woff2")) {
    nh_header_set(h, "Content-Type", "font/woff2");
    write_big(w);
  } else if (!strcmp(p, "/encoded")) {
    nh_header_set(h, "Content-Encoding", "gzip");
    nh_header_set(h, "Content-Type", "text/plain");
    write_big(w); /* not really gzip: it must reach the client untouched */
  } else if (!strcmp(p, "/no-transform")) {
    nh_header_set(h, "Cache-Control", "private, no-transform");
    nh_header_set(h, "Content-Type", "text/plain");
    write_big(w);
  } else if (!strcmp(p, "/off")) {
    nh_compress_off(r);
    nh_header_set(h, "Content-Type", "text/plain");
    write_big(w);
  } else if (!strcmp(p, "/204")) {
    nh_resp_write_header(w, 204);
  } else if (!strcmp(p, "/304")) {
    nh_header_set(h, "ETag", "\"v1\"");
    nh_resp_write_header(w, 304);
  } else if (!strcmp(p, "/206")) {
    nh_header_set(h, "Content-Type", "text/plain");
    nh_header_set(h, "Content-Range", "bytes 0-8191/100000");
    nh_resp_write_header(w, 206);
    write_big(w);
  } else if (!strcmp(p, "/sniff")) { /* no type: named from the plain bytes */
    nh_resp_write_string(w, "<!DOCTYPE html><html><body>");
    write_big(w);
  } else if (!strcmp(p, "/file") || !strcmp(p, "/file-png")) {
    int png = !strcmp(p, "/file-png");
    int fd = open(png ? png_path : file_path, O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    nh_header_set(h, "Content-Type", png ? "image/png" : "text/css");
    CHECK_EQ(nh_resp_sendfile(w, fd, 0, (size_t)st.st_size), NH_OK);
    close(fd);
  } else if (!strcmp(p, "/hijack")) {
    int fd;
    CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_OK);
    const char msg[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
    CHECK_EQ(write(fd, msg, sizeof msg - 1), (ssize_t)(sizeof msg - 1));
    close(fd);
  } else if (!strcmp(p, "/hijack-late")) {
    nh_resp_write_string(w, "x");
    int fd;
    CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_ENOTSUP);
  } else if (!strcmp(p, "/sse")) {
    nh_header_set(h, "Content-Type", "text/event-stream");
    nh_header_set(h, "Cache-Control", "no-cache");
    for (int i = 0; i < 5; i++) {
      nh_resp_printf(w, "id: %d\ndata: event %d\n\n", i, i);
      CHECK_EQ(nh_resp_flush(w), NH_OK);
      /* The next event only once the client has decoded this one: if
       * flush held it back, the client never would. */
      int waited = 0;
      while (atomic_load(&sse_acked) <= i && waited++ < 3000)
        nh_sleep(5 * NH_MSEC);
      if (atomic_load(&sse_acked) <= i) {
        nh_resp_write_string(w, "data: not delivered\n\n");
        return;
      }
    }
  } else {
    nh_not_found(w, r);
  }
}

/* ---- the client side ---- */

static raw_resp fetch(nh_test_server *ts, const char *method, const char *path, const char *ae,
                      const char *extra) {
  raw_conn *c = raw_dial(nh_test_server_port(ts));
  char req[1024];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n%s%s%s%sConnection: close\r\n\r\n",
           method, path, ae ? "Accept-Encoding: " : "", ae ? ae : "", ae ? "\r\n" : "",
           extra ? extra : "");
  raw_sends(c->fd, req);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, !strcmp(method, "HEAD")), 0);
  close(c->fd);
  free(c);
  return r;
}

/* The body decoded by its Content-Encoding; must equal want (len n). */
static void check_body(raw_resp *r, const char *want, size_t n) {
  tdec d;
  tdec_init(&d, raw_header(r, "Content-Encoding"));
  tdec_feed(&d, r->body, r->blen);
  CHECK(!d.bad);
  CHECK_EQ(d.len, n);
  CHECK(memcmp(d.out, want, n) == 0);
  tdec_free(&d);
}

/* The handler's Content-Length (of the plain bytes) is gone: the writer
 * may state the compressed length it knows at the end, or none. */
static void check_length(const raw_resp *r) {
  const char *cl = raw_header(r, "Content-Length");
  if (cl)
    CHECK_EQ(strtoul(cl, NULL, 10), r->blen);
  CHECK(!cl || strcmp(cl, "8192"));
}

static int has_vary_ae(const raw_resp *r) { return strcasestr(r->head, "\r\nVary: Accept-Encoding") != NULL; }

static nh_test_server *start(nh_handler *h, const nh_compress_config *cfg) {
  make_json();
  *h = nh_with_compress(NH_HANDLER(app, NULL), cfg);
  CHECK(h->fn != NULL);
  return serve_handler(*h, 1);
}

NH_TEST(compress_negotiates_accept_encoding) {
  nh_handler h;
  nh_test_server *ts = start(&h, NULL);
  static const struct {
    const char *ae, *want; /* want NULL: not compressed */
  } table[] = {
      {"gzip", "gzip"},
      {"br", "br"},
      {"zstd", "zstd"},
      {"GZIP", "gzip"},
      {"x-gzip", "gzip"},
      {"gzip, deflate, br, zstd", "zstd"}, /* a tie: the server's order */
      {"gzip;q=1, br;q=0.5", "gzip"},
      {"br;q=0.8, gzip;q=0.9, zstd;q=0.1", "gzip"},
      {"br;q=1.0, zstd;q=1.000", "zstd"},
      {"gzip ; q=0.5 , br ; q=0.4", "gzip"},
      {"*", "zstd"},
      {"*;q=0.5, gzip", "gzip"},
      {"zstd;q=0, *", "br"},
      {"gzip;q=0", NULL},
      {"*;q=0", NULL},
      {"*;q=0, identity", NULL},
      {"identity", NULL},
      {"", NULL},
      {"deflate, compress", NULL},
      {"gzip;q=0.5, identity;q=1", NULL},
      {"gzip;q=2", NULL},   /* not a qvalue: the element is ignored */
      {"gzip;q=0.0001", NULL},
      {"gzip;q=0.001", "gzip"},
      {"br;level=5;q=0.9", "br"},
      {NULL, NULL}, /* no field: nothing is compressed */
  };
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    raw_resp r = fetch(ts, "GET", "/json", table[i].ae, NULL);
    CHECK_EQ(r.status, 200);
    const char *ce = raw_header(&r, "Content-Encoding");
    if (table[i].want ? !ce || strcmp(ce, table[i].want) : ce != NULL)
      NH_FAIL("Accept-Encoding: %s: got Content-Encoding %s, want %s", table[i].ae ? table[i].ae : "(none)",
              ce ? ce : "(none)", table[i].want ? table[i].want : "(none)");
    check_body(&r, big_json, 8192);
    CHECK(has_vary_ae(&r));
    CHECK_CONTAINS(r.head, "Vary: Cookie");
    if (ce) {
      CHECK_STR(raw_header(&r, "ETag"), "W/\"v1\"");
      check_length(&r);
      CHECK(r.blen < 8192 / 2);
    } else {
      CHECK_STR(raw_header(&r, "ETag"), "\"v1\"");
    }
    CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
    raw_resp_free(&r);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
  /* The server's own list: zstd left out, gzip first. */
  nh_compress_config cfg = {.encodings = "gzip, br", .gzip_level = 1};
  ts = start(&h, &cfg);
  raw_resp r = fetch(ts, "GET", "/json", "zstd, br, gzip", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "gzip");
  check_body(&r, big_json, 8192);
  raw_resp_free(&r);
  r = fetch(ts, "GET", "/json", "zstd, br", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "br");
  raw_resp_free(&r);
  r = fetch(ts, "GET", "/json", "zstd", NULL);
  CHECK(raw_header(&r, "Content-Encoding") == NULL);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
  /* Bad configurations are refused. */
  nh_compress_config bad[] = {{.encodings = "gzip, lzma"}, {.encodings = "gzip, gzip"},
                              {.gzip_level = 10},          {.zstd_level = 20},
                              {.br_level = -1},            {.encodings = "identity"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(nh_with_compress(NH_HANDLER(app, NULL), &bad[i]).fn == NULL);
}

NH_TEST(compress_changes_the_headers_it_must) {
  nh_handler h;
  nh_test_server *ts = start(&h, NULL);
  /* A stated length is dropped, and so are ranges of the plain bytes. */
  raw_resp r = fetch(ts, "GET", "/json-cl", "gzip", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "gzip");
  check_length(&r);
  CHECK(raw_header(&r, "Accept-Ranges") == NULL);
  check_body(&r, big_json, 8192);
  raw_resp_free(&r);
  /* The status written before the body stays. */
  r = fetch(ts, "GET", "/status", "br", NULL);
  CHECK_EQ(r.status, 404);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "br");
  check_body(&r, big_json, 8192);
  raw_resp_free(&r);
  /* No Content-Type: named from the plain bytes, not the compressed. */
  r = fetch(ts, "GET", "/sniff", "zstd", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "zstd");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/html; charset=utf-8");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
}

NH_TEST(compress_skips_what_it_must) {
  nh_handler h;
  nh_test_server *ts = start(&h, NULL);
  static const struct {
    const char *method, *path, *extra;
    int status;
    int vary;    /* Vary: Accept-Encoding expected */
    size_t len;  /* body length (0: bodyless) */
  } table[] = {
      {"GET", "/small", NULL, 200, 1, 1023},
      {"GET", "/small-cl", NULL, 200, 1, 600},
      {"GET", "/png", NULL, 200, 0, 8192},
      {"GET", "/woff2", NULL, 200, 0, 8192},
      {"GET", "/encoded", NULL, 200, 0, 8192},
      {"GET", "/no-transform", NULL, 200, 0, 8192},
      {"GET", "/off", NULL, 200, 0, 8192},
      {"GET", "/204", NULL, 204, 1, 0},
      {"GET", "/304", NULL, 304, 1, 0},
      {"GET", "/206", NULL, 206, 1, 8192},
      {"GET", "/json", "Range: bytes=0-10\r\n", 200, 1, 8192}, /* the handler ignores Range */
      {"HEAD", "/json", NULL, 200, 1, 0},
  };
  const char *codings[] = {"gzip", "br", "zstd, br, gzip"};
  for (size_t c = 0; c < 3; c++)
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
      raw_resp r = fetch(ts, table[i].method, table[i].path, codings[c], table[i].extra);
      if (r.status != table[i].status || (raw_header(&r, "Content-Encoding") && strcmp(table[i].path, "/encoded")))
        NH_FAIL("%s %s: status %d, Content-Encoding %s", table[i].method, table[i].path, r.status,
                raw_header(&r, "Content-Encoding") ? raw_header(&r, "Content-Encoding") : "(none)");
      CHECK_EQ(r.blen, table[i].len);
      if (table[i].len)
        CHECK(memcmp(r.body, big_json, table[i].len) == 0);
      if (has_vary_ae(&r) != table[i].vary)
        NH_FAIL("%s %s: Vary: Accept-Encoding %s", table[i].method, table[i].path,
                table[i].vary ? "missing" : "not expected");
      if (!strcmp(table[i].path, "/small-cl") || !strcmp(table[i].method, "HEAD"))
        CHECK(raw_header(&r, "Content-Length") != NULL); /* kept, or a HEAD's own */
      raw_resp_free(&r);
    }
  /* An SVG is text: compressed. */
  raw_resp r = fetch(ts, "GET", "/svg", "gzip", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "gzip");
  check_body(&r, big_json, 8192);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
}

/* A temporary directory for the files the handler sends (file_path,
 * png_path), and the JSON body made; site_end removes them. */
static void site_begin(char *dir) {
  CHECK(mkdtemp(dir));
  snprintf(file_path, sizeof file_path, "%s/site.css", dir);
  snprintf(png_path, sizeof png_path, "%s/pic.png", dir);
  make_json();
}

static void site_end(const char *dir) {
  unlink(file_path);
  unlink(png_path); /* when one was written */
  rmdir(dir);
}

static void write_file(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  CHECK_EQ(fwrite(data, 1, n, f), n);
  fclose(f);
}

NH_TEST(compress_sendfile_and_hijack) {
  char dir[] = "/tmp/nh_compress_XXXXXX";
  site_begin(dir);
  char *css = malloc(50000);
  for (size_t i = 0; i < 50000; i++)
    css[i] = big_json[i % 8192];
  write_file(file_path, css, 50000);
  write_file(png_path, css, 5000);
  nh_handler h;
  nh_test_server *ts = start(&h, NULL);
  const char *codings[] = {"gzip", "br", "zstd"};
  for (int c = 0; c < 3; c++) {
    raw_resp r = fetch(ts, "GET", "/file", codings[c], NULL);
    CHECK_STR(raw_header(&r, "Content-Encoding"), codings[c]);
    check_body(&r, css, 50000);
    CHECK(r.blen < 25000);
    raw_resp_free(&r);
  }
  raw_resp r = fetch(ts, "GET", "/file-png", "gzip", NULL);
  CHECK(raw_header(&r, "Content-Encoding") == NULL);
  CHECK_STR(raw_header(&r, "Content-Length"), "5000");
  CHECK_EQ(r.blen, 5000);
  CHECK(memcmp(r.body, css, 5000) == 0);
  raw_resp_free(&r);
  r = fetch(ts, "GET", "/hijack", "gzip", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hi");
  raw_resp_free(&r);
  r = fetch(ts, "GET", "/hijack-late", "gzip", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "x");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
  site_end(dir);
  free(css);
}

/* A gzip body in hand whole (a declared length written out, a file up to
 * NH__GZIP_ONCE_MAX) goes out in one piece with its compressed length;
 * a larger file streams through the encoder. */
NH_TEST(compress_gzip_whole_body_at_once) {
  char dir[] = "/tmp/nh_compress_XXXXXX";
  site_begin(dir);
  size_t sizes[] = {50000, 300000};
  nh_handler h;
  nh_test_server *ts = start(&h, NULL);
  for (int i = 0; i < 2; i++) {
    char *css = malloc(sizes[i]);
    for (size_t k = 0; k < sizes[i]; k++)
      css[k] = big_json[(k * 7) % 8192];
    write_file(file_path, css, sizes[i]);
    raw_resp r = fetch(ts, "GET", "/file", "gzip", NULL);
    CHECK_STR(raw_header(&r, "Content-Encoding"), "gzip");
    check_body(&r, css, sizes[i]);
    if (sizes[i] <= NH__GZIP_ONCE_MAX) {
      CHECK(raw_header(&r, "Content-Length") != NULL);
      CHECK_EQ(strtoul(raw_header(&r, "Content-Length"), NULL, 10), r.blen);
      CHECK(raw_header(&r, "Transfer-Encoding") == NULL);
    }
    raw_resp_free(&r);
    free(css);
  }
  over_write = 0;
  raw_resp r = fetch(ts, "GET", "/json-cl-over", "gzip", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "gzip");
  CHECK_EQ(strtoul(raw_header(&r, "Content-Length"), NULL, 10), r.blen);
  check_body(&r, big_json, 8192);
  CHECK_EQ(over_write, NH_ERANGE);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
  site_end(dir);
}

/* Read one chunk of a chunked body into d; 0 at the last chunk. */
static int next_chunk(raw_conn *c, tdec *d) {
  char *eol;
  while (!(c->buf[c->len] = 0, eol = strstr(c->buf, "\r\n")))
    if (raw_fill(c) < 0)
      return -1;
  size_t sz = strtoul(c->buf, NULL, 16);
  raw_take(c, (size_t)(eol - c->buf) + 2);
  while (c->len < sz + 2)
    if (raw_fill(c) < 0)
      return -1;
  if (sz)
    tdec_feed(d, c->buf, sz);
  raw_take(c, sz + 2);
  return sz ? 1 : 0;
}

/* Server-sent events through the compressor: each event is decodable by
 * the client before the handler writes the next (it waits for that). */
NH_TEST(compress_flush_delivers_each_event) {
  nh_handler h;
  nh_test_server *ts = start(&h, NULL);
  const char *codings[] = {"gzip", "br", "zstd"};
  for (int c = 0; c < 3; c++) {
    atomic_store(&sse_acked, 0);
    raw_conn *rc = raw_dial(nh_test_server_port(ts));
    char req[256];
    snprintf(req, sizeof req, "GET /sse HTTP/1.1\r\nHost: x\r\nAccept-Encoding: %s\r\n\r\n", codings[c]);
    raw_sends(rc->fd, req);
    char *end;
    while (!(rc->buf[rc->len] = 0, end = strstr(rc->buf, "\r\n\r\n")))
      CHECK_EQ(raw_fill(rc), 0);
    raw_resp head = {0};
    memcpy(head.head, rc->buf, (size_t)(end - rc->buf) + 4);
    raw_take(rc, (size_t)(end - rc->buf) + 4);
    CHECK_STR(raw_header(&head, "Content-Encoding"), codings[c]);
    CHECK_STR(raw_header(&head, "Transfer-Encoding"), "chunked");
    tdec d;
    tdec_init(&d, codings[c]);
    int got = 0;
    while (got < 5) {
      CHECK_EQ(next_chunk(rc, &d), 1);
      CHECK(!d.bad);
      char want[64];
      snprintf(want, sizeof want, "id: %d\ndata: event %d\n\n", got, got);
      if (strstr(d.out, want)) {
        CHECK(!strstr(d.out, "not delivered"));
        /* Nothing of the next event before this one was acknowledged. */
        char next[32];
        snprintf(next, sizeof next, "event %d", got + 1);
        CHECK(!strstr(d.out, next));
        atomic_store(&sse_acked, ++got);
      }
    }
    int r;
    while ((r = next_chunk(rc, &d)) == 1)
      ;
    CHECK_EQ(r, 0);
    CHECK(!d.bad);
    CHECK_STR(d.out, "id: 0\ndata: event 0\n\nid: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\n"
                     "id: 3\ndata: event 3\n\nid: 4\ndata: event 4\n\n");
    tdec_free(&d);
    close(rc->fd);
    free(rc);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(h);
}

/* Under a recoverer, a panic before anything was sent still gets its 500,
 * uncompressed; and compress nested in compress compresses once. */
static void panicky(nh_response_writer *w, nh_request *r) {
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_resp_write(w, big_json, 100);
  nh_panic("boom");
}

NH_TEST(compress_under_recover_and_twice) {
  make_json();
  nh_chain *ch = nh_chain_new();
  nh_chain_use(ch, nh_mw_recover, NULL);
  nh_chain_use(ch, nh_mw_compress, NULL);
  nh_handler h = nh_chain_then(ch, NH_HANDLER(panicky, NULL));
  nh_test_server *ts = serve_handler(h, 1);
  raw_resp r = fetch(ts, "GET", "/", "gzip", NULL);
  CHECK_EQ(r.status, 500);
  CHECK(raw_header(&r, "Content-Encoding") == NULL);
  CHECK_STR(r.body, "Internal Server Error\n");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_chain_free(ch);

  ch = nh_chain_new();
  nh_chain_use(ch, nh_mw_compress, NULL);
  nh_chain_use(ch, nh_mw_compress, &(nh_compress_config){.encodings = "gzip"});
  h = nh_chain_then(ch, NH_HANDLER(app, NULL));
  ts = serve_handler(h, 1);
  r = fetch(ts, "GET", "/json", "br, gzip", NULL);
  CHECK_STR(raw_header(&r, "Content-Encoding"), "br"); /* the outer one's choice */
  check_body(&r, big_json, 8192);
  CHECK_EQ(count_of(r.head, "Accept-Encoding"), 1);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_chain_free(ch);
}

NH_TEST_MAIN()
