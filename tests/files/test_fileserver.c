/* The file server over real sockets: ranges (single, suffix, open-ended,
 * multipart, unsatisfiable, ignored), conditional requests and their
 * precedence, ETag and Last-Modified, content types, index.html and
 * redirects, listings with hostile names, traversal attempts, errors. */
#include "harness.h"
#include "files/fixture.h"

#include <sys/resource.h>

#define ALPHA "abcdefghijklmnopqrstuvwxyz"
#define MTIME 1700000000 /* Tue, 14 Nov 2023 22:13:20 GMT */
#define LM "Tue, 14 Nov 2023 22:13:20 GMT"
#define LM_BEFORE "Tue, 14 Nov 2023 22:13:19 GMT"
#define LM_AFTER "Tue, 14 Nov 2023 22:13:21 GMT"
#define ETAG "\"6553f100-1a\"" /* mtime-size in hex */

static void sub(char *out, size_t cap, const char *dir, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static void fixture_files(fixture *f) {
  char p[PATH_MAX], q[PATH_MAX];
  fixture_dirs(f, "/tmp/nh_files_XXXXXX");
  fixture_put(f->root, "alpha.txt", ALPHA, 26, MTIME);
  fixture_put(f->root, "page.html", "<p>hi</p>", 9, MTIME);
  fixture_put(f->root, "style.css", "p{}", 3, MTIME);
  fixture_put(f->root, "pic.png", "not really a png", 16, MTIME);
  fixture_put(f->root, "UPPER.HTML", "x", 1, MTIME);
  fixture_put(f->root, "noext", "\x89PNG\r\n\x1a\n0000", 12, MTIME);
  fixture_put(f->root, "notes", "just some text", 14, MTIME);
  fixture_put(f->root, "data.unknownext", "plain words", 11, MTIME);
  fixture_put(f->root, ".env", "SECRET=1", 8, MTIME);
  fixture_put(f->root, "empty.txt", "", 0, MTIME);
  char big[4096];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)('A' + i % 26);
  fixture_put(f->root, "big.txt", big, sizeof big, MTIME);
  sub(p, sizeof p, f->root, "idx");
  CHECK(mkdir(p, 0755) == 0);
  fixture_put(p, "index.html", "<p>index</p>", 12, MTIME);
  sub(p, sizeof p, f->root, "plain");
  CHECK(mkdir(p, 0755) == 0);
  fixture_put(p, "<script>.txt", "s", 1, MTIME);
  fixture_put(p, "a&b%c.txt", "a", 1, MTIME);
  fixture_put(p, "q?#.txt", "q", 1, MTIME);
  fixture_put(p, ".hidden", "h", 1, MTIME);
  sub(q, sizeof q, p, "sub");
  CHECK(mkdir(q, 0755) == 0);
  sub(p, sizeof p, f->root, "empty");
  CHECK(mkdir(p, 0755) == 0);
  sub(p, sizeof p, f->root, "a b:c");
  CHECK(mkdir(p, 0755) == 0);
  sub(p, sizeof p, f->root, "crlf\r\nSet-Cookie: x");
  CHECK(mkdir(p, 0755) == 0);
  /* Outside the root, and symlinks pointing there and inside. */
  sub(p, sizeof p, f->base, "outside");
  CHECK(mkdir(p, 0755) == 0);
  fixture_put(p, "secret", "TOPSECRET", 9, MTIME);
  sub(q, sizeof q, f->root, "out");
  sub(p, sizeof p, f->base, "outside/secret");
  CHECK(symlink(p, q) == 0);
  sub(q, sizeof q, f->root, "outdir");
  CHECK(symlink("../outside", q) == 0);
  sub(q, sizeof q, f->root, "in");
  CHECK(symlink("alpha.txt", q) == 0);
  sub(q, sizeof q, f->root, "absin");
  sub(p, sizeof p, f->root, "alpha.txt");
  CHECK(symlink(p, q) == 0);
  sub(q, sizeof q, f->root, "indir");
  CHECK(symlink("idx", q) == 0);
}

static fixture *fixture_new(const nh_file_server_options *opts) {
  fixture *f = calloc(1, sizeof *f);
  fixture_files(f);
  fixture_serve(f, opts);
  return f;
}

#define GET(f, path, hdrs) fixture_req((f)->port, "GET", (path), (hdrs))

/* ---- ranges ---- */

NH_TEST(single_ranges_table) {
  fixture *f = fixture_new(NULL);
  static const struct {
    const char *range;
    int status;
    const char *body, *content_range;
  } cases[] = {
      {"bytes=0-4", 206, "abcde", "bytes 0-4/26"},
      {"bytes=-3", 206, "xyz", "bytes 23-25/26"},
      {"bytes=20-", 206, "uvwxyz", "bytes 20-25/26"},
      {"bytes=20-1000", 206, "uvwxyz", "bytes 20-25/26"},
      {"bytes=-1000", 206, ALPHA, "bytes 0-25/26"},
      {"bytes=25-25", 206, "z", "bytes 25-25/26"},
      {"bytes= 2-3 ", 206, "cd", "bytes 2-3/26"},
      {"bytes=30-40,1-2", 206, "bc", "bytes 1-2/26"}, /* one satisfiable */
      {"bytes=,3-4,", 206, "de", "bytes 3-4/26"},     /* empty elements skipped */
      /* not satisfiable */
      {"bytes=26-", 416, NULL, "bytes */26"},
      {"bytes=26-30", 416, NULL, "bytes */26"},
      {"bytes=30-40,50-", 416, NULL, "bytes */26"},
      {"bytes=-0", 416, NULL, "bytes */26"},
      /* invalid syntax or unit: ignored, the whole body */
      {"bytes=abc", 200, ALPHA, NULL},
      {"items=0-1", 200, ALPHA, NULL},
      {"bytes=5-2", 200, ALPHA, NULL},
      {"bytes=0-1,x", 200, ALPHA, NULL},
      {"bytes=--1", 200, ALPHA, NULL},
      {"bytes=1", 200, ALPHA, NULL},
      {"bytes=-", 200, ALPHA, NULL},
      {"bytes=+1-2", 200, ALPHA, NULL},
      {"bytes=99999999999999999999-", 200, ALPHA, NULL},
      {"bytes=", 200, ALPHA, NULL},
      /* overlapping ranges worth more than the file: ignored (Go) */
      {"bytes=0-25,0-25", 200, ALPHA, NULL},
      {"bytes=0-20,10-25", 200, ALPHA, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char h[256];
    snprintf(h, sizeof h, "Range: %s\r\n", cases[i].range);
    raw_resp r = GET(f, "/alpha.txt", h);
    if (r.status != cases[i].status)
      NH_FAIL("Range %s: status %d, want %d", cases[i].range, r.status, cases[i].status);
    if (cases[i].body) {
      CHECK_STR(r.body, cases[i].body);
      char cl[24];
      snprintf(cl, sizeof cl, "%zu", strlen(cases[i].body));
      CHECK_STR(raw_header(&r, "Content-Length"), cl);
      CHECK_STR(raw_header(&r, "Accept-Ranges"), "bytes");
      CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    }
    if (cases[i].content_range)
      CHECK_STR(raw_header(&r, "Content-Range"), cases[i].content_range);
    else
      CHECK(raw_header(&r, "Content-Range") == NULL);
    raw_resp_free(&r);
  }
  /* An empty file ignores an unsatisfiable range: 200, as Go. */
  raw_resp r = GET(f, "/empty.txt", "Range: bytes=0-10\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Length"), "0");
  raw_resp_free(&r);
  /* HEAD with a range: the 206 head, no body. */
  r = fixture_req(f->port, "HEAD", "/alpha.txt", "Range: bytes=1-3\r\n");
  CHECK_EQ(r.status, 206);
  CHECK_STR(raw_header(&r, "Content-Length"), "3");
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  fixture_free(f);
}

/* Splits a multipart/byteranges body; returns the number of parts and
 * checks the framing ends exactly at the body's end. */
typedef struct part {
  char content_range[64], content_type[128];
  char data[4096];
  size_t len;
} part;

static int parse_multipart(const raw_resp *r, part *parts, int max) {
  const char *ct = raw_header(r, "Content-Type");
  CHECK(ct && !strncmp(ct, "multipart/byteranges; boundary=", 31));
  CHECK_EQ(strlen(ct + 31), 60);
  char delim[64];
  snprintf(delim, sizeof delim, "--%.60s", ct + 31);
  const char *p = r->body, *end = r->body + r->blen;
  int n = 0;
  CHECK(!strncmp(p, delim, strlen(delim)));
  for (;;) {
    p += strlen(delim);
    if (!strncmp(p, "--\r\n", 4)) {
      CHECK(p + 4 == end); /* Content-Length covered exactly the body */
      return n;
    }
    CHECK(!strncmp(p, "\r\n", 2));
    p += 2;
    CHECK(n < max);
    part *pt = &parts[n++];
    memset(pt, 0, sizeof *pt);
    for (;;) { /* part headers */
      const char *eol = strstr(p, "\r\n");
      CHECK(eol);
      if (eol == p) {
        p += 2;
        break;
      }
      if (!strncmp(p, "Content-Range: ", 15))
        memcpy(pt->content_range, p + 15, (size_t)(eol - p - 15));
      else if (!strncmp(p, "Content-Type: ", 14))
        memcpy(pt->content_type, p + 14, (size_t)(eol - p - 14));
      else
        NH_FAIL("unexpected part header %.*s", (int)(eol - p), p);
      p = eol + 2;
    }
    /* data runs up to CRLF + delimiter */
    const char *q = p;
    while (q < end && !(q[0] == '\r' && q[1] == '\n' && !strncmp(q + 2, delim, strlen(delim))))
      q++;
    CHECK(q < end);
    pt->len = (size_t)(q - p);
    memcpy(pt->data, p, pt->len);
    p = q + 2;
  }
}

NH_TEST(multiple_ranges_multipart) {
  fixture *f = fixture_new(NULL);
  raw_resp r = GET(f, "/alpha.txt", "Range: bytes=0-1, 5-7,-2\r\n");
  CHECK_EQ(r.status, 206);
  CHECK(raw_header(&r, "Content-Range") == NULL);
  CHECK_EQ(strtoul(raw_header(&r, "Content-Length"), NULL, 10), r.blen);
  part parts[4];
  CHECK_EQ(parse_multipart(&r, parts, 4), 3);
  const char *want_range[] = {"bytes 0-1/26", "bytes 5-7/26", "bytes 24-25/26"};
  const char *want_data[] = {"ab", "fgh", "yz"};
  for (int i = 0; i < 3; i++) {
    CHECK_STR(parts[i].content_range, want_range[i]);
    CHECK_STR(parts[i].content_type, "text/plain; charset=utf-8");
    CHECK_EQ(parts[i].len, strlen(want_data[i]));
    CHECK(!memcmp(parts[i].data, want_data[i], parts[i].len));
  }
  /* Each response has a boundary of its own. */
  char first[1024];
  snprintf(first, sizeof first, "%s", raw_header(&r, "Content-Type"));
  raw_resp_free(&r);
  r = GET(f, "/alpha.txt", "Range: bytes=0-1,5-7,-2\r\n");
  CHECK(strcmp(first, raw_header(&r, "Content-Type")) != 0);
  raw_resp_free(&r);
  /* HEAD: same head and length, no body. */
  r = fixture_req(f->port, "HEAD", "/alpha.txt", "Range: bytes=0-1,5-7,-2\r\n");
  CHECK_EQ(r.status, 206);
  CHECK(raw_header(&r, "Content-Length"));
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  /* Unsatisfiable ranges among satisfiable ones are dropped. */
  r = GET(f, "/alpha.txt", "Range: bytes=1-1,100-200,3-3\r\n");
  CHECK_EQ(r.status, 206);
  CHECK_EQ(parse_multipart(&r, parts, 4), 2);
  CHECK_STR(parts[1].content_range, "bytes 3-3/26");
  raw_resp_free(&r);
  /* NH_FILE_MAX_RANGES ranges are served; one more and Range is ignored. */
  char h[2048];
  size_t n = (size_t)snprintf(h, sizeof h, "Range: bytes=");
  for (int i = 0; i < NH_FILE_MAX_RANGES; i++)
    n += (size_t)snprintf(h + n, sizeof h - n, "%s%d-%d", i ? "," : "", i * 10, i * 10 + 1);
  snprintf(h + n, sizeof h - n, "\r\n");
  r = GET(f, "/big.txt", h);
  CHECK_EQ(r.status, 206);
  static part many[NH_FILE_MAX_RANGES];
  CHECK_EQ(parse_multipart(&r, many, NH_FILE_MAX_RANGES), NH_FILE_MAX_RANGES);
  CHECK_EQ(many[63].len, 2);
  CHECK_EQ(many[63].data[0], 'A' + 630 % 26);
  raw_resp_free(&r);
  snprintf(h + n, sizeof h - n, ",%d-%d\r\n", 2000, 2001);
  r = GET(f, "/big.txt", h);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.blen, 4096);
  raw_resp_free(&r);
  fixture_free(f);
}

/* A large file: ranges are sent with sendfile from the right offsets. */
NH_TEST(large_file_ranges) {
  fixture *f = fixture_new(NULL);
  size_t size = 3 * 1000 * 1000;
  unsigned char *data = malloc(size);
  for (size_t i = 0; i < size; i++)
    data[i] = (unsigned char)(i * 2654435761u >> 13);
  fixture_put(f->root, "large.bin", data, size, MTIME);
  raw_resp r = GET(f, "/large.bin", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.blen, size);
  CHECK(!memcmp(r.body, data, size));
  CHECK_STR(raw_header(&r, "Content-Type"), "application/octet-stream");
  raw_resp_free(&r);
  r = GET(f, "/large.bin", "Range: bytes=1000000-2999998\r\n");
  CHECK_EQ(r.status, 206);
  CHECK_EQ(r.blen, 1999999);
  CHECK(!memcmp(r.body, data + 1000000, 1999999));
  raw_resp_free(&r);
  free(data);
  fixture_free(f);
}

/* ---- conditional requests ---- */

NH_TEST(conditional_table) {
  fixture *f = fixture_new(NULL);
  static const struct {
    const char *headers;
    int status;
  } cases[] = {
      /* If-Match: strong comparison */
      {"If-Match: " ETAG "\r\n", 200},
      {"If-Match: \"nope\"\r\n", 412},
      {"If-Match: *\r\n", 200},
      {"If-Match: \"nope\", " ETAG "\r\n", 200},
      {"If-Match: W/" ETAG "\r\n", 412},
      /* If-Unmodified-Since */
      {"If-Unmodified-Since: " LM "\r\n", 200},
      {"If-Unmodified-Since: " LM_AFTER "\r\n", 200},
      {"If-Unmodified-Since: " LM_BEFORE "\r\n", 412},
      {"If-Unmodified-Since: garbage\r\n", 200},
      /* If-Match decides; If-Unmodified-Since is then ignored */
      {"If-Match: " ETAG "\r\nIf-Unmodified-Since: " LM_BEFORE "\r\n", 200},
      {"If-Match: \"nope\"\r\nIf-Unmodified-Since: " LM_AFTER "\r\n", 412},
      /* If-None-Match: weak comparison */
      {"If-None-Match: " ETAG "\r\n", 304},
      {"If-None-Match: W/" ETAG "\r\n", 304},
      {"If-None-Match: \"a\", " ETAG "\r\n", 304},
      {"If-None-Match: \"nope\"\r\n", 200},
      {"If-None-Match: *\r\n", 304},
      /* If-Modified-Since */
      {"If-Modified-Since: " LM "\r\n", 304},
      {"If-Modified-Since: " LM_AFTER "\r\n", 304},
      {"If-Modified-Since: " LM_BEFORE "\r\n", 200},
      {"If-Modified-Since: Tuesday, 14-Nov-23 22:13:20 GMT\r\n", 304}, /* RFC 850 */
      {"If-Modified-Since: garbage\r\n", 200},
      /* If-None-Match decides; If-Modified-Since is then ignored */
      {"If-None-Match: \"nope\"\r\nIf-Modified-Since: " LM "\r\n", 200},
      {"If-None-Match: " ETAG "\r\nIf-Modified-Since: " LM_BEFORE "\r\n", 304},
      /* 412 comes before 304 */
      {"If-Match: \"nope\"\r\nIf-None-Match: " ETAG "\r\n", 412},
      {"If-Unmodified-Since: " LM_BEFORE "\r\nIf-Modified-Since: " LM "\r\n", 412},
      /* If-Range: a Range applies only while the validator matches */
      {"Range: bytes=0-1\r\nIf-Range: " ETAG "\r\n", 206},
      {"Range: bytes=0-1\r\nIf-Range: \"old\"\r\n", 200},
      {"Range: bytes=0-1\r\nIf-Range: W/" ETAG "\r\n", 200},
      {"Range: bytes=0-1\r\nIf-Range: " LM "\r\n", 206},
      {"Range: bytes=0-1\r\nIf-Range: " LM_BEFORE "\r\n", 200},
      {"Range: bytes=0-1\r\nIf-Range: " LM_AFTER "\r\n", 200},
      {"Range: bytes=0-1\r\nIf-Range: garbage\r\n", 200},
      /* a precondition beats the range */
      {"Range: bytes=0-1\r\nIf-None-Match: " ETAG "\r\n", 304},
      {"Range: bytes=0-1\r\nIf-Match: \"nope\"\r\n", 412},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw_resp r = GET(f, "/alpha.txt", cases[i].headers);
    if (r.status != cases[i].status)
      NH_FAIL("case %zu (%s): status %d, want %d", i, cases[i].headers, r.status,
              cases[i].status);
    if (r.status == 200)
      CHECK_STR(r.body, ALPHA);
    if (r.status == 206)
      CHECK_STR(r.body, "ab");
    if (r.status == 304) { /* metadata for caches only */
      CHECK_STR(raw_header(&r, "Etag"), ETAG);
      CHECK(raw_header(&r, "Content-Type") == NULL);
      CHECK(raw_header(&r, "Last-Modified") == NULL); /* the ETag suffices */
      CHECK_EQ(r.blen, 0);
    }
    raw_resp_free(&r);
  }
  /* HEAD takes part in If-None-Match like GET. */
  raw_resp r = fixture_req(f->port, "HEAD", "/alpha.txt", "If-None-Match: " ETAG "\r\n");
  CHECK_EQ(r.status, 304);
  raw_resp_free(&r);
  fixture_free(f);
}

NH_TEST(etag_and_last_modified) {
  fixture *f = fixture_new(NULL);
  raw_resp r = GET(f, "/alpha.txt", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Etag"), ETAG);
  CHECK_STR(raw_header(&r, "Last-Modified"), LM);
  CHECK_STR(raw_header(&r, "Accept-Ranges"), "bytes");
  CHECK_STR(raw_header(&r, "Content-Length"), "26");
  raw_resp_free(&r);
  /* A changed file gets another ETag, and the old one no longer matches. */
  fixture_put(f->root, "alpha.txt", ALPHA ALPHA, 52, MTIME);
  r = GET(f, "/alpha.txt", "If-None-Match: " ETAG "\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Etag"), "\"6553f100-34\"");
  raw_resp_free(&r);
  fixture_free(f);
}

/* ---- types, index, redirects, listings ---- */

NH_TEST(content_types) {
  fixture *f = fixture_new(NULL);
  static const struct {
    const char *path, *type;
  } cases[] = {
      {"/alpha.txt", "text/plain; charset=utf-8"},
      {"/page.html", "text/html; charset=utf-8"},
      {"/UPPER.HTML", "text/html; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/pic.png", "image/png"},             /* by extension, not content */
      {"/noext", "image/png"},               /* sniffed */
      {"/notes", "text/plain; charset=utf-8"}, /* sniffed */
      {"/data.unknownext", "text/plain; charset=utf-8"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw_resp r = GET(f, cases[i].path, NULL);
    CHECK_EQ(r.status, 200);
    CHECK_STR(raw_header(&r, "Content-Type"), cases[i].type);
    raw_resp_free(&r);
  }
  CHECK_STR(nh_file_content_type("x.json"), "application/json");
  CHECK_STR(nh_file_content_type("a/b.JS"), "text/javascript; charset=utf-8");
  CHECK(nh_file_content_type("noext") == NULL);
  CHECK(nh_file_content_type("dir.d/noext") == NULL);
  CHECK(nh_file_content_type("trailingdot.") == NULL);
  fixture_free(f);
}

NH_TEST(index_and_redirects) {
  fixture *f = fixture_new(NULL);
  static const struct {
    const char *method, *path;
    int status;
    const char *location, *body;
  } cases[] = {
      {"GET", "/idx/", 200, NULL, "<p>index</p>"},
      {"GET", "/idx", 301, "idx/", NULL},
      {"GET", "/idx?x=1&y", 301, "idx/?x=1&y", NULL},
      {"GET", "/idx/index.html", 301, "./", NULL},
      {"GET", "/idx/index.html?v=2", 301, "./?v=2", NULL},
      {"GET", "/alpha.txt/", 301, "../alpha.txt", NULL},
      {"GET", "/plain", 301, "plain/", NULL},
      {"GET", "/a%20b%3Ac", 301, "a%20b%3Ac/", NULL}, /* ':' cannot become a scheme */
      {"GET", "/crlf%0D%0ASet-Cookie:%20x", 301, "crlf%0D%0ASet-Cookie%3A%20x/", NULL},
      {"GET", "/indir/", 200, NULL, "<p>index</p>"}, /* symlinked directory */
      {"GET", "/./alpha.txt", 200, NULL, ALPHA},
      {"GET", "/idx//", 200, NULL, "<p>index</p>"},
      {"GET", "/missing", 404, NULL, "404 page not found\n"},
      {"GET", "/missing/deeper", 404, NULL, NULL},
      {"GET", "/alpha.txt/x", 404, NULL, NULL}, /* ENOTDIR */
      {"POST", "/alpha.txt", 405, NULL, NULL},
      {"DELETE", "/alpha.txt", 405, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw_resp r = fixture_req(f->port, cases[i].method, cases[i].path,
                     !strcmp(cases[i].method, "GET") ? NULL : "Content-Length: 0\r\n");
    if (r.status != cases[i].status)
      NH_FAIL("%s %s: status %d, want %d", cases[i].method, cases[i].path, r.status,
              cases[i].status);
    if (cases[i].location)
      CHECK_STR(raw_header(&r, "Location"), cases[i].location);
    if (cases[i].body)
      CHECK_STR(r.body, cases[i].body);
    if (r.status == 405)
      CHECK_STR(raw_header(&r, "Allow"), "GET, HEAD");
    CHECK(raw_header(&r, "Set-Cookie") == NULL);
    if (r.status == 404) {
      CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
      CHECK_STR(raw_header(&r, "X-Content-Type-Options"), "nosniff");
    }
    raw_resp_free(&r);
  }
  raw_resp r = fixture_req(f->port, "HEAD", "/alpha.txt", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Length"), "26");
  CHECK_STR(raw_header(&r, "Etag"), ETAG);
  CHECK_EQ(r.blen, 0);
  raw_resp_free(&r);
  fixture_free(f);
}

NH_TEST(directory_listing_escapes_names) {
  fixture *f = fixture_new(NULL);
  raw_resp r = GET(f, "/plain/", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "text/html; charset=utf-8");
  CHECK_STR(raw_header(&r, "Last-Modified") ? "set" : "unset", "set");
  const char *script = strstr(r.body, "<a href=\"%3Cscript%3E.txt\">&lt;script&gt;.txt</a>\n");
  const char *amp = strstr(r.body, "<a href=\"a%26b%25c.txt\">a&amp;b%c.txt</a>\n");
  const char *q = strstr(r.body, "<a href=\"q%3F%23.txt\">q?#.txt</a>\n");
  const char *dir = strstr(r.body, "<a href=\"sub/\">sub/</a>\n");
  CHECK(script && amp && q && dir);
  CHECK(script < amp && amp < q && q < dir); /* sorted by name, bytewise */
  CHECK(!strstr(r.body, "<script>"));
  CHECK(!strstr(r.body, "hidden")); /* dotfiles are not listed */
  CHECK(!strncmp(r.body, "<!doctype html>\n", 16));
  raw_resp_free(&r);
  /* The links lead back to the files. */
  r = GET(f, "/plain/a%26b%25c.txt", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "a");
  raw_resp_free(&r);
  r = GET(f, "/plain/q%3F%23.txt", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "q");
  raw_resp_free(&r);
  /* An empty directory lists nothing. */
  r = GET(f, "/empty/", NULL);
  CHECK_EQ(r.status, 200);
  CHECK(!strstr(r.body, "<a "));
  raw_resp_free(&r);
  /* The listing honors If-Modified-Since on the directory. */
  r = GET(f, "/plain/", "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n");
  CHECK_EQ(r.status, 304);
  raw_resp_free(&r);
  fixture_free(f);

  nh_file_server_options o = {.no_directory_listing = 1};
  f = fixture_new(&o);
  r = GET(f, "/plain/", NULL);
  CHECK_EQ(r.status, 404);
  raw_resp_free(&r);
  r = GET(f, "/idx/", NULL); /* index.html still served */
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  fixture_free(f);
}

/* ---- safety ---- */

NH_TEST(traversal_table) {
  fixture *f = fixture_new(NULL);
  static const struct {
    const char *path;
    int status;
    const char *body;
  } cases[] = {
      {"/../etc/passwd", 400, NULL},
      {"/../../../../etc/passwd", 400, NULL},
      {"/%2e%2e/etc/passwd", 400, NULL},
      {"/%2E%2E/", 400, NULL},
      {"/idx/%2e%2e/%2e%2e/etc/passwd", 400, NULL},
      {"/a/..%2f..%2fetc/passwd", 400, NULL},
      {"/idx%2Findex.html", 400, NULL},
      {"/alpha.txt%00", 400, NULL},
      {"/alpha.txt%00.html", 400, NULL},
      {"/%zz", 400, NULL},
      {"/%4", 400, NULL},
      {"/..", 400, NULL},
      {"//etc/passwd", 404, NULL}, /* ROOT/etc/passwd: absent */
      {"///etc//passwd", 404, NULL},
      {"/out", 404, NULL},         /* absolute symlink to outside */
      {"/outdir/secret", 404, NULL}, /* relative symlink to outside */
      {"/outdir/", 404, NULL},
      {"/in", 200, ALPHA},    /* relative symlink inside */
      {"/absin", 200, ALPHA}, /* absolute symlink inside */
      {"/.env", 404, NULL},   /* dotfiles hidden */
      {"/plain/.hidden", 404, NULL},
      {"/.", 301, NULL},      /* the root itself: "./" as Go */
      {"/...", 404, NULL},
      {"/..%5c..%5cetc/passwd", 404, NULL}, /* a backslash is a plain byte here */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    raw_resp r = GET(f, cases[i].path, NULL);
    if (r.status != cases[i].status)
      NH_FAIL("%s: status %d, want %d", cases[i].path, r.status, cases[i].status);
    if (cases[i].body)
      CHECK_STR(r.body, cases[i].body);
    CHECK(!strstr(r.body, "TOPSECRET"));
    CHECK(!strstr(r.body, "root:"));
    CHECK(!strstr(r.body, "SECRET=1"));
    raw_resp_free(&r);
  }
  fixture_free(f);

  nh_file_server_options o = {.allow_dotfiles = 1};
  f = fixture_new(&o);
  raw_resp r = GET(f, "/.env", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "SECRET=1");
  raw_resp_free(&r);
  r = GET(f, "/plain/", NULL);
  CHECK_CONTAINS(r.body, ".hidden");
  raw_resp_free(&r);
  r = GET(f, "/out", NULL); /* still no way out */
  CHECK_EQ(r.status, 404);
  raw_resp_free(&r);
  fixture_free(f);
}

NH_TEST(permission_denied_is_403) {
  fixture *f = fixture_new(NULL);
  char p[PATH_MAX];
  sub(p, sizeof p, f->root, "alpha.txt");
  CHECK(chmod(p, 0) == 0);
  int fd = open(p, O_RDONLY);
  if (fd >= 0) { /* privileged (root, CAP_DAC_OVERRIDE): nothing to deny */
    close(fd);
    fprintf(stderr, "permission check skipped: running privileged\n");
  } else {
    raw_resp r = GET(f, "/alpha.txt", NULL);
    CHECK_EQ(r.status, 403);
    raw_resp_free(&r);
  }
  fixture_free(f);
}

/* Out of descriptors: 503 with Retry-After, and the connection serves
 * again once descriptors are back. */
NH_TEST(out_of_descriptors_is_503) {
  fixture *f = fixture_new(NULL);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(f->port);
  raw_resp r;
  const char *rq = "GET /alpha.txt HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(raw_sends(c->fd, rq) == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0); /* accepted and served */
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  /* Name a frame first: the symbolizer opens the program's files on its
   * first lookup, which a watchdog report on a busy machine could make
   * while every descriptor is taken, and then free one when it is done. */
  char name[160];
  nh_frame_name((void *)fixture_free, name, sizeof name);
  struct rlimit old, low;
  CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
  low = old;
  if (low.rlim_cur > 1024)
    low.rlim_cur = 1024;
  CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
  static int fds[1024];
  int n = 0, spare = open("/dev/null", O_RDONLY);
  CHECK(spare >= 0);
  for (int fd; n < 1024 && (fd = dup(spare)) >= 0;)
    fds[n++] = fd;
  CHECK(errno == EMFILE); /* every descriptor is taken */
  CHECK(raw_sends(c->fd, rq) == 0);
  int rc = raw_read(c, &r, 0);
  /* One descriptor free: a request needs no more than one at a time, a
   * directory's listing or index included. */
  CHECK(n > 0);
  close(fds[--n]);
  raw_resp r2, r3;
  CHECK(raw_sends(c->fd, "GET /plain/ HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  int rc2 = raw_read(c, &r2, 0);
  CHECK(raw_sends(c->fd, "GET /idx/ HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  int rc3 = raw_read(c, &r3, 0);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  close(spare);
  CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
  CHECK_EQ(rc, 0);
  CHECK_EQ(r.status, 503);
  CHECK_STR(raw_header(&r, "Retry-After"), "1");
  raw_resp_free(&r);
  CHECK_EQ(rc2, 0);
  CHECK_EQ(r2.status, 200);
  CHECK_CONTAINS(r2.body, "sub/");
  raw_resp_free(&r2);
  CHECK_EQ(rc3, 0);
  CHECK_EQ(r3.status, 200);
  CHECK_STR(r3.body, "<p>index</p>");
  raw_resp_free(&r3);
  CHECK(raw_sends(c->fd, rq) == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  close(c->fd);
  free(c);
  fixture_free(f);
}

/* ---- nh_serve_content and nh_serve_file directly ---- */

static char content_path[PATH_MAX];

static void content_handler(nh_response_writer *w, nh_request *r) {
  int fd = open(content_path, O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  if (!strcmp(nh_request_path(r), "/tagged"))
    nh_header_set(nh_resp_header(w), "ETag", "\"v1\"");
  nh_serve_content(w, r, !strcmp(nh_request_path(r), "/json") ? "x.json" : "", 0, fd,
                   st.st_size);
  close(fd);
}

NH_TEST(serve_content_on_a_descriptor) {
  fixture *f = fixture_new(NULL);
  sub(content_path, sizeof content_path, f->root, "alpha.txt");
  nh_test_server *ts = nh_test_server_new(content_handler, NULL, 1);
  int port = nh_test_server_port(ts);
  raw_resp r = fixture_req(port, "GET", "/json", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, ALPHA);
  CHECK_STR(raw_header(&r, "Content-Type"), "application/json"); /* by name */
  CHECK(raw_header(&r, "Last-Modified") == NULL); /* modtime unknown */
  CHECK(raw_header(&r, "Etag") == NULL);          /* none given */
  raw_resp_free(&r);
  r = fixture_req(port, "GET", "/sniffed", "Range: bytes=-2\r\n");
  CHECK_EQ(r.status, 206);
  CHECK_STR(r.body, "yz");
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  raw_resp_free(&r);
  /* The handler's own ETag takes part in the conditions. */
  r = fixture_req(port, "GET", "/tagged", "If-None-Match: \"v1\"\r\n");
  CHECK_EQ(r.status, 304);
  raw_resp_free(&r);
  r = fixture_req(port, "GET", "/tagged", "If-Match: \"v2\"\r\n");
  CHECK_EQ(r.status, 412);
  raw_resp_free(&r);
  /* Modification dates are ignored when modtime is unknown. */
  r = fixture_req(port, "GET", "/json", "If-Modified-Since: " LM_AFTER "\r\n");
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  fixture_free(f);
}

static void file_handler(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_serve_file(w, r, content_path);
}

NH_TEST(serve_file_by_path) {
  fixture *f = fixture_new(NULL);
  sub(content_path, sizeof content_path, f->root, "alpha.txt");
  nh_test_server *ts = nh_test_server_new(file_handler, NULL, 1);
  int port = nh_test_server_port(ts);
  raw_resp r = fixture_req(port, "GET", "/anything", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, ALPHA);
  CHECK_STR(raw_header(&r, "Etag"), ETAG);
  raw_resp_free(&r);
  r = fixture_req(port, "GET", "/a/../b", NULL); /* Go's ".." precaution */
  CHECK_EQ(r.status, 400);
  raw_resp_free(&r);
  r = fixture_req(port, "GET", "/x/index.html", NULL);
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "./");
  raw_resp_free(&r);
  /* A directory path: index.html, after the trailing-slash redirect. */
  sub(content_path, sizeof content_path, f->root, "idx");
  r = fixture_req(port, "GET", "/d", NULL);
  CHECK_EQ(r.status, 301);
  CHECK_STR(raw_header(&r, "Location"), "d/");
  raw_resp_free(&r);
  r = fixture_req(port, "GET", "/d/", NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "<p>index</p>");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  fixture_free(f);
}

NH_TEST(bad_root_is_refused) {
  errno = 0;
  nh_handler h = nh_file_server("/nonexistent/nowhere", NULL);
  CHECK(h.fn == NULL);
  CHECK_EQ(errno, ENOENT);
  h = nh_file_server("/etc/passwd", NULL); /* not a directory */
  CHECK(h.fn == NULL);
  nh_file_server_free(h); /* harmless */
}

NH_TEST_MAIN()
