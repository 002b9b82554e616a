/* Request forms: the multipart parser on bytes, then forms over real
 * sockets — urlencoded bodies, query and body precedence, repeated keys,
 * bad escapes, multipart fields and files, a file spilled to disk and
 * removed with the request, and seed bug 5 (a form read without a parse
 * call must not come back empty). */
#include "harness.h"
#include "rawclient.h"

#include <fcntl.h>
#include <nethttp.h>
#include <nethttp/httptest.h>
#include <sys/stat.h>

#include "server/multipart.h"

/* ---- the parser on bytes ---- */

typedef struct events {
  char s[8192];
  size_t len;
} events;

static void ev_put(events *e, const char *p, size_t n) {
  CHECK(e->len + n < sizeof e->s);
  memcpy(e->s + e->len, p, n);
  e->len += n;
  e->s[e->len] = 0;
}
static int ev_begin(void *u, const nh__mp_field *f, int n) {
  ev_put(u, "[", 1);
  for (int i = 0; i < n; i++) {
    ev_put(u, f[i].name, strlen(f[i].name));
    ev_put(u, "=", 1);
    ev_put(u, f[i].value, strlen(f[i].value));
    ev_put(u, ";", 1);
  }
  ev_put(u, "|", 1);
  return 0;
}
static int ev_data(void *u, const char *d, size_t n) {
  ev_put(u, d, n);
  return 0;
}
static int ev_end(void *u) {
  ev_put(u, "]", 1);
  return 0;
}

/* Parse body with boundary B in pieces of `step` bytes (0: at once). */
static int mp_parse(const char *body, size_t len, size_t step, const nh__mp_limits *lim,
                    events *ev) {
  memset(ev, 0, sizeof *ev);
  nh__mp m;
  nh__mp_handler h = {ev_begin, ev_data, ev_end, ev};
  CHECK_EQ(nh__mp_init(&m, "B", lim, &h), 0);
  int e = 0;
  for (size_t off = 0; !e && off < len;) {
    size_t k = step && step < len - off ? step : len - off;
    e = nh__mp_feed(&m, body + off, k);
    off += k;
  }
  if (!e)
    e = nh__mp_finish(&m);
  nh__mp_dispose(&m);
  return e;
}

static void mp_expect(const char *body, const char *want) {
  size_t len = strlen(body);
  for (size_t step = 0; step <= len; step++) {
    events ev;
    int e = mp_parse(body, len, step, NULL, &ev);
    if (e)
      NH_FAIL("step %zu: %s on %s", step, nh_err_name(e), body);
    if (strcmp(ev.s, want))
      NH_FAIL("step %zu: got %s want %s", step, ev.s, want);
  }
}

static void mp_expect_error(const char *body, const nh__mp_limits *lim) {
  size_t len = strlen(body);
  for (size_t step = 0; step <= len; step++) {
    events ev;
    CHECK_EQ(mp_parse(body, len, step, lim, &ev), NH_EBADFORM);
  }
}

NH_TEST(multipart_parser_shapes) {
  /* Boundary at the very start, a part, the end without a final CRLF. */
  mp_expect("--B\r\nA: 1\r\n\r\nx\r\n--B--", "[A=1;|x]");
  /* Preamble, transport padding, epilogue, a part without headers, an
   * empty part, header names made canonical and values trimmed. */
  mp_expect("pre\r\namble\r\n--B \t\r\n\r\nno headers\r\n--B\r\ncontent-type:  t/p \r\n\r\n"
            "\r\n--B--\r\nepilogue --B\r\n",
            "[|no headers][Content-Type=t/p;|]");
  /* The boundary as a prefix of data is data; so are CR, LF and "--". */
  mp_expect("--B\r\n\r\n--B\r\n--Bx\r\n--B-x\r\n-\r\n\r\n--B--",
            "[|--B\r\n--Bx\r\n--B-x\r\n-\r\n]");
  /* A folded header line is joined with one space. */
  mp_expect("--B\r\nX: a\r\n  b\r\n\tc\r\n\r\nd\r\n--B--", "[X=a b c;|d]");
  /* Binary data with NULs and CRs. */
  const char bin[] = "--B\r\n\r\n\0\r\r\n\r\n-\0\r\n--B--";
  for (size_t step = 0; step < sizeof bin; step++) {
    events ev;
    CHECK_EQ(mp_parse(bin, sizeof bin - 1, step, NULL, &ev), 0);
    CHECK_EQ(ev.len, 11);
    CHECK(!memcmp(ev.s, "[|\0\r\r\n\r\n-\0]", 11));
  }
}

NH_TEST(multipart_parser_errors_and_limits) {
  mp_expect_error("", NULL);                                  /* no boundary */
  mp_expect_error("no boundary at all", NULL);
  mp_expect_error("--B\r\n\r\nunterminated", NULL);           /* no close */
  mp_expect_error("--B\r\n\r\nx\r\n--B", NULL);               /* cut in the delimiter */
  mp_expect_error("--B\nA: 1\n\nx\n--B--", NULL);             /* LF-only lines */
  mp_expect_error("--B\r\nno colon\r\n\r\nx\r\n--B--", NULL);
  mp_expect_error("--B\r\nBad Name: 1\r\n\r\nx\r\n--B--", NULL);
  mp_expect_error("--B\r\n folded first\r\n\r\nx\r\n--B--", NULL);
  mp_expect_error("--B x\r\n\r\nx\r\n--B--", NULL);           /* junk after padding */
  nh__mp_limits small = {64, 3, 2};
  mp_expect_error("--B\r\nA: 0123456789012345678901234567890123456789012345678901234567\r\n\r\n"
                  "x\r\n--B--",
                  &small); /* header block over 64 bytes */
  mp_expect_error("--B\r\n\r\n1\r\n--B\r\n\r\n2\r\n--B\r\n\r\n3\r\n--B--", &small); /* 3 parts */
  mp_expect_error("--B\r\nA: 1\r\nB: 2\r\n\r\n1\r\n--B\r\nC: 3\r\nD: 4\r\n\r\n2\r\n--B--",
                  &small); /* 4 header fields in all */
  /* Just within the same limits. */
  events ev;
  const char *ok = "--B\r\nA: 1\r\n\r\n1\r\n--B\r\nC: 3\r\nD: 4\r\n\r\n2\r\n--B--";
  CHECK_EQ(mp_parse(ok, strlen(ok), 0, &small, &ev), 0);
  CHECK_STR(ev.s, "[A=1;|1][C=3;D=4;|2]");
  /* Boundaries must be 1..70 bytes (RFC 2046 5.1.1). */
  nh__mp m;
  nh__mp_handler h = {0};
  CHECK_EQ(nh__mp_init(&m, "", NULL, &h), NH_EBADFORM);
  char longb[72];
  memset(longb, 'b', 71);
  longb[71] = 0;
  CHECK_EQ(nh__mp_init(&m, longb, NULL, &h), NH_EBADFORM);
  longb[70] = 0;
  CHECK_EQ(nh__mp_init(&m, longb, NULL, &h), 0);
  nh__mp_dispose(&m);
}

NH_TEST(media_type_parameters) {
  nh__mime mt;
  CHECK_EQ(nh__mime_parse("Multipart/Form-Data; Boundary=\"a b;c\" ; x=y;", &mt), 0);
  CHECK_STR(mt.type, "multipart/form-data");
  CHECK_STR(nh__mime_param_get(&mt, "boundary"), "a b;c");
  CHECK_STR(nh__mime_param_get(&mt, "x"), "y");
  nh__mime_dispose(&mt);
  /* RFC 2231 wins over the plain value; a backslash escapes only a
   * tspecial, so an unescaped Windows path survives. */
  CHECK_EQ(nh__mime_parse("form-data; name=\"f\"; filename=\"C:\\dir\\a \\\"q\\\".txt\"; "
                          "filename*=UTF-8''%e2%82%ac%20x.txt",
                          &mt),
           0);
  CHECK_STR(mt.type, "form-data");
  CHECK_STR(nh__mime_param_get(&mt, "filename"), "\xe2\x82\xac x.txt");
  CHECK_EQ(mt.nparams, 3);
  CHECK_STR(mt.params[1].value, "C:\\dir\\a \"q\".txt");
  nh__mime_dispose(&mt);
  /* Malformed: repeated parameter, no value, unterminated quote, junk. */
  const char *bad[] = {"a/b; x=1; X=2", "a/b; x", "a/b; x=\"open", "a/b c", "", "/b", "a/"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_EQ(nh__mime_parse(bad[i], &mt), NH_EINVAL);
    nh__mime_dispose(&mt);
  }
}

/* ---- forms over sockets ---- */

static void put_values(nh_response_writer *w, const char *tag, const nh_values *v) {
  for (size_t i = 0; v && i < nh_values_len(v); i++) {
    const char *k, *val;
    nh_values_at(v, i, &k, &val);
    nh_resp_printf(w, "%s %s=%s\n", tag, k, val);
  }
}

/* Writes what the form holds: the error, every value, every file. */
static void dump(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strcmp(p, "/spill"))
    CHECK_EQ(nh_request_set_form_memory(r, 1024), 0);
  if (!strcmp(p, "/small"))
    CHECK_EQ(nh_request_set_form_memory(r, 0), 0);
  if (!strcmp(p, "/limited"))
    nh_request_limit_body(r, 100);
  /* Seed bug 5: no parse call anywhere, the first read of a value parses. */
  const char *fv = nh_request_form_value(r, "a");
  nh_resp_printf(w, "a=%s post_a=%s\n", fv ? fv : "(null)",
                 nh_request_post_form_value(r, "a") ? nh_request_post_form_value(r, "a")
                                                    : "(null)");
  CHECK(nh_request_form_value(r, "a") == fv); /* parsed once */
  CHECK_EQ(nh_request_set_form_memory(r, 1), NH_EBUSY);
  nh_resp_printf(w, "err=%s\n", nh_err_name(nh_request_form_error(r)));
  put_values(w, "F", nh_request_form(r));
  put_values(w, "P", nh_request_post_form(r));
  for (size_t i = 0; i < nh_request_form_file_count(r); i++) {
    const nh_form_file *f = nh_request_form_file_at(r, i);
    nh_resp_printf(w, "FILE %s %s [%s] %lld %s X=%s\n", f->field, f->filename, f->content_type,
                   (long long)f->size, f->path ? "disk" : "mem",
                   nh_header_get(f->header, "X-Part") ? nh_header_get(f->header, "X-Part") : "");
    /* Contents, read both ways, must be the same. */
    char *a = malloc((size_t)f->size + 1), *b = malloc((size_t)f->size + 1);
    CHECK_EQ(nh_form_file_read_at(f, a, (size_t)f->size + 1, 0), f->size);
    int fd = nh_form_file_open(f);
    CHECK(fd >= 0);
    ssize_t got = 0, k;
    while ((k = read(fd, b + got, (size_t)f->size + 1 - (size_t)got)) > 0)
      got += k;
    close(fd);
    CHECK_EQ(got, f->size);
    CHECK(!memcmp(a, b, (size_t)f->size));
    if (f->path) {
      struct stat st;
      CHECK_EQ(stat(f->path, &st), 0);
      CHECK_EQ(st.st_size, f->size);
      nh_resp_printf(w, "PATH %s\n", f->path);
    }
    if (f->size <= 64)
      nh_resp_printf(w, "DATA %.*s\n", (int)f->size, a);
    else
      nh_resp_printf(w, "SUM %u\n", (unsigned)(unsigned char)a[f->size - 1]);
    free(a);
    free(b);
  }
  CHECK(nh_request_form_file(r, "nope") == NULL);
  CHECK(nh_request_form_file_at(r, nh_request_form_file_count(r)) == NULL);
}

typedef struct client {
  nh_test_server *ts;
  raw_conn *c;
} client;

static client client_open(void) {
  client cl = {nh_test_server_new(dump, NULL, 1), calloc(1, sizeof(raw_conn))};
  CHECK(cl.ts);
  cl.c->fd = raw_connect(nh_test_server_port(cl.ts));
  CHECK(cl.c->fd >= 0);
  return cl;
}

static void client_close(client cl) {
  close(cl.c->fd);
  free(cl.c);
  CHECK_EQ(nh_test_server_close(cl.ts, NULL), NH_OK);
}

/* One request on the client's connection; the response body is returned
 * (malloc'd) and the status checked. */
static char *send_form(client cl, const char *method, const char *target, const char *ctype,
                       const char *body, size_t blen, int want_status) {
  char head[512];
  snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: x\r\n%s%s%sContent-Length: %zu\r\n\r\n",
           method, target, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
           blen);
  CHECK_EQ(raw_sends(cl.c->fd, head), 0);
  CHECK_EQ(raw_send(cl.c->fd, body, blen), 0);
  raw_resp r;
  CHECK_EQ(raw_read(cl.c, &r, 0), 0);
  CHECK_EQ(r.status, want_status);
  return r.body;
}

#define URLENC "application/x-www-form-urlencoded"

NH_TEST(seed_bug5_post_form_without_parse_call) {
  client cl = client_open();
  const char *body = "username=alice&password=s3cret&a=1";
  char *got = send_form(cl, "POST", "/login", URLENC, body, strlen(body), 200);
  CHECK_CONTAINS(got, "a=1 post_a=1\nerr=NH_OK\n");
  CHECK_CONTAINS(got, "P username=alice\nP password=s3cret\n");
  free(got);
  /* PUT and PATCH bodies are forms too; a GET body is not (Go). */
  got = send_form(cl, "PUT", "/", URLENC, "a=put", 5, 200);
  CHECK_CONTAINS(got, "a=put post_a=put\n");
  free(got);
  got = send_form(cl, "PATCH", "/", URLENC "; charset=utf-8", "a=patch", 7, 200);
  CHECK_CONTAINS(got, "a=patch post_a=patch\n");
  free(got);
  got = send_form(cl, "GET", "/?a=q", URLENC, "a=get", 5, 200);
  CHECK_CONTAINS(got, "a=q post_a=(null)\nerr=NH_OK\nF a=q\n");
  free(got);
  /* Still on the same connection: nothing was left unread. */
  CHECK(!raw_closed(cl.c, 20));
  client_close(cl);
}

NH_TEST(urlencoded_precedence_and_repeated_keys) {
  client cl = client_open();
  const char *body = "a=body1&b=%41+x&a=body2&empty=&novalue";
  char *got = send_form(cl, "POST", "/?a=query&q=1&a=query2", URLENC, body, strlen(body), 200);
  /* Body values first, then the query; post form: the body only. */
  CHECK_STR(got, "a=body1 post_a=body1\nerr=NH_OK\n"
                 "F a=body1\nF b=A x\nF a=body2\nF empty=\nF novalue=\n"
                 "F a=query\nF q=1\nF a=query2\n"
                 "P a=body1\nP b=A x\nP a=body2\nP empty=\nP novalue=\n");
  free(got);
  /* Another type of body is left alone: no values, no error. */
  got = send_form(cl, "POST", "/?x=1", "text/plain", "a=1", 3, 200);
  CHECK_STR(got, "a=(null) post_a=(null)\nerr=NH_OK\nF x=1\n");
  free(got);
  client_close(cl);
}

NH_TEST(bad_escapes_are_a_form_error) {
  client cl = client_open();
  const char *body = "a=%zz&b=2&c=%4";
  char *got = send_form(cl, "POST", "/", URLENC, body, strlen(body), 200);
  CHECK_STR(got, "a=(null) post_a=(null)\nerr=NH_EBADFORM\nF b=2\nP b=2\n");
  free(got);
  got = send_form(cl, "GET", "/?a=1&x=%g0", NULL, "", 0, 200);
  CHECK_STR(got, "a=1 post_a=(null)\nerr=NH_EBADFORM\nF a=1\n");
  free(got);
  /* A Content-Type that does not parse, on a POST. */
  got = send_form(cl, "POST", "/", "a/b; x", "a=1", 3, 200);
  CHECK_CONTAINS(got, "err=NH_EBADFORM\n");
  free(got);
  client_close(cl);
}

NH_TEST(urlencoded_body_caps) {
  client cl = client_open();
  /* Under a body limit of 100, a longer body fails the parse; the handler
   * answered, so its 200 stands, and the connection closes. */
  char body[300];
  memset(body, 'x', sizeof body);
  memcpy(body, "a=1&b=", 6);
  char *got = send_form(cl, "POST", "/limited", URLENC, body, sizeof body, 200);
  CHECK_CONTAINS(got, "err=NH_EBODYTOOLARGE\n");
  free(got);
  CHECK(raw_closed(cl.c, 2000));
  close(cl.c->fd);
  /* Without a limit: a declared length over 10 MiB fails at once, before
   * any 100 Continue, and nothing of the body is read. */
  cl.c->fd = raw_connect(nh_test_server_port(cl.ts));
  cl.c->len = 0;
  CHECK_EQ(raw_sends(cl.c->fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " URLENC
                               "\r\nExpect: 100-continue\r\nContent-Length: 10485761\r\n\r\n"),
           0);
  raw_resp r;
  CHECK_EQ(raw_read(cl.c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.head, "HTTP/1.1 200");
  CHECK_CONTAINS(r.body, "err=NH_EBODYTOOLARGE\n");
  raw_resp_free(&r);
  client_close(cl);
}

/* A multipart body with boundary "XyZ". */
typedef struct mpbody {
  char *p;
  size_t len;
} mpbody;

static void mp_add(mpbody *b, const char *headers, const char *data, size_t dlen) {
  size_t hl = strlen(headers);
  b->p = realloc(b->p, b->len + hl + dlen + 64);
  b->len += (size_t)sprintf(b->p + b->len, "--XyZ\r\n%s\r\n", headers);
  memcpy(b->p + b->len, data, dlen);
  b->len += dlen;
  memcpy(b->p + b->len, "\r\n", 2);
  b->len += 2;
}

static void mp_close(mpbody *b) {
  b->p = realloc(b->p, b->len + 16);
  b->len += (size_t)sprintf(b->p + b->len, "--XyZ--\r\n");
}

#define MP "multipart/form-data; boundary=XyZ"
#define CD(x) "Content-Disposition: form-data; " x "\r\n"

NH_TEST(multipart_fields_and_files) {
  client cl = client_open();
  mpbody b = {0};
  mp_add(&b, CD("name=\"a\""), "multi", 5);
  mp_add(&b, CD("name=\"t\"") "Content-Type: text/plain; charset=utf-8\r\n", "line1\r\nline2", 12);
  mp_add(&b, CD("name=\"t\""), "", 0);
  mp_add(&b, CD("name=\"up\"; filename=\"../../etc/passwd\"") "Content-Type: text/x-ok\r\n"
                                                               "X-Part: 7\r\n",
         "root:x:0\r\n--XyZnot\r\n", 20);
  mp_add(&b, "Content-Disposition: attachment; name=\"skipped\"\r\n", "zzz", 3);
  mp_add(&b, CD("filename=\"noname.txt\""), "zzz", 3);
  mp_add(&b, CD("name=\"up\"; filename*=UTF-8''%e2%82%ac.bin"), "\x01\x02", 2);
  mp_add(&b, CD("name=\"empty\"; filename=\"e\""), "", 0);
  mp_close(&b);
  /* The query comes before multipart fields (Go's FormValue order). */
  char *got = send_form(cl, "POST", "/?a=query", MP, b.p, b.len, 200);
  CHECK_STR(got, "a=query post_a=multi\nerr=NH_OK\n"
                 "F a=query\nF a=multi\nF t=line1\r\nline2\nF t=\n"
                 "P a=multi\nP t=line1\r\nline2\nP t=\n"
                 "FILE up passwd [text/x-ok] 20 mem X=7\nDATA root:x:0\r\n--XyZnot\r\n\n"
                 "FILE up \xe2\x82\xac.bin [] 2 mem X=\nDATA \x01\x02\n"
                 "FILE empty e [] 0 mem X=\nDATA \n");
  free(got);
  /* Multipart is read for any method, and the connection is kept. */
  got = send_form(cl, "PUT", "/", MP, b.p, b.len, 200);
  CHECK_CONTAINS(got, "a=multi post_a=multi\n");
  free(got);
  CHECK(!raw_closed(cl.c, 20));
  free(b.p);
  client_close(cl);
}

NH_TEST(multipart_malformed_is_a_form_error) {
  client cl = client_open();
  const char *trunc = "--XyZ\r\n" CD("name=\"a\"") "\r\nno end";
  char *got = send_form(cl, "POST", "/?q=1", MP, trunc, strlen(trunc), 200);
  /* A failed body adds nothing; the query is still there. */
  CHECK_STR(got, "a=(null) post_a=(null)\nerr=NH_EBADFORM\nF q=1\n");
  free(got);
  got = send_form(cl, "POST", "/", "multipart/form-data", "--x--", 5, 200);
  CHECK_CONTAINS(got, "err=NH_EBADFORM\n");
  free(got);
  got = send_form(cl, "POST", "/", MP, "", 0, 200);
  CHECK_CONTAINS(got, "err=NH_EBADFORM\n");
  free(got);
  /* multipart/mixed is not a form: ignored, as Go's ErrNotMultipart. */
  got = send_form(cl, "POST", "/", "multipart/mixed; boundary=XyZ", "--XyZ--", 7, 200);
  CHECK_STR(got, "a=(null) post_a=(null)\nerr=NH_OK\n");
  free(got);
  client_close(cl);
}

/* A file above the memory limit goes to a temporary file that exists while
 * the handler runs and is gone once the request is over. */
NH_TEST(multipart_file_spills_to_disk_and_is_removed) {
  client cl = client_open();
  size_t big = 200 * 1024;
  char *data = malloc(big);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 7 + i / 1000);
  mpbody b = {0};
  mp_add(&b, CD("name=\"a\""), "v", 1);
  mp_add(&b, CD("name=\"small\"; filename=\"s.txt\""), "tiny", 4);
  mp_add(&b, CD("name=\"big\"; filename=\"b.bin\""), data, big);
  mp_close(&b);
  char *got = send_form(cl, "POST", "/spill", MP, b.p, b.len, 200);
  char want[128];
  snprintf(want, sizeof want, "FILE big b.bin [] %zu disk X=\nPATH ", big);
  CHECK_CONTAINS(got, "FILE small s.txt [] 4 mem X=\nDATA tiny\n");
  CHECK_CONTAINS(got, want);
  snprintf(want, sizeof want, "SUM %u\n", (unsigned)(unsigned char)data[big - 1]);
  CHECK_CONTAINS(got, want);
  char path[512];
  const char *pp = strstr(got, "PATH ") + 5;
  snprintf(path, sizeof path, "%.*s", (int)strcspn(pp, "\n"), pp);
  const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  CHECK(!strncmp(path, tmp, strlen(tmp)));
  CHECK_CONTAINS(path, "nethttp-multipart-");
  free(got);
  /* The next request on the connection starts after the first one ended. */
  got = send_form(cl, "GET", "/?a=next", NULL, "", 0, 200);
  CHECK_CONTAINS(got, "a=next");
  free(got);
  struct stat st;
  CHECK_EQ(stat(path, &st), -1);
  CHECK_EQ(errno, ENOENT);
  /* With a memory limit of 0 every non-empty file is on disk. */
  got = send_form(cl, "POST", "/small", MP, b.p, b.len, 200);
  CHECK_CONTAINS(got, "FILE small s.txt [] 4 disk X=\n");
  free(got);
  free(b.p);
  free(data);
  client_close(cl);
}

/* Field values may use the memory limit plus 10 MiB, not more. */
NH_TEST(multipart_values_over_memory_limit) {
  client cl = client_open();
  size_t n = (10u << 20) + 4096;
  char *v = malloc(n);
  memset(v, 'v', n);
  mpbody b = {0};
  mp_add(&b, CD("name=\"a\""), "kept?", 5);
  mp_add(&b, CD("name=\"huge\""), v, n);
  mp_close(&b);
  char *got = send_form(cl, "POST", "/small", MP, b.p, b.len, 200);
  CHECK_STR(got, "a=(null) post_a=(null)\nerr=NH_EBODYTOOLARGE\n");
  free(got);
  free(b.p);
  free(v);
  client_close(cl);
}

NH_TEST_MAIN()
