/* The nethttp client against an independent server: Go's net/http,
 * python3's http.server or nginx. Usage: peer_client go|python|nginx BASE_URL.
 * Runs that peer's fixed list of checks over loopback; a failed check
 * prints file:line and aborts. Each server's endpoints are those of
 * tests/peers/goserver, tests/peers/client/pyserver.py and
 * tests/peers/client/nginx.conf.in. */
#include "harness.h"

#include <nethttp.h>
#include <stdatomic.h>
#include <strings.h>
#include <unistd.h>

static const char *base;

static char *url_of(const char *path) {
  static _Thread_local char buf[4][512];
  static _Thread_local int next;
  char *u = buf[next++ % 4];
  snprintf(u, sizeof buf[0], "%s%s", base, path);
  return u;
}

static nh_transport_stats stats(nh_client *c) {
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  return st;
}

/* The body of the pattern endpoints: position i holds 'a' + i % 26. */
static int is_pattern(const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

typedef struct result {
  int status;
  char *body;
  size_t len;
  int64_t content_length;
  int uncompressed;
  char url[512];
  char proto[16];
  nh_header *header; /* a copy */
  nh_header *trailer;
} result;

static void result_free(result *r) {
  free(r->body);
  nh_header_free(r->header);
  nh_header_free(r->trailer);
}

static nh_header *header_copy(nh_header *h) {
  nh_header *out = nh_header_new();
  for (size_t i = 0; h && i < nh_header_len(h); i++) {
    const char *k, *v;
    nh_header_at(h, i, &k, &v);
    nh_header_add(out, k, v);
  }
  return out;
}

/* Sends req (freed here), reads the whole body and closes the response. */
static result exchange(nh_client *c, nh_client_request *req) {
  result out = {0};
  nh_response *resp;
  int e = nh_client_do(c, req, &resp);
  if (e)
    NH_FAIL("request failed: %s", nh_strerror(e));
  out.status = nh_response_status(resp);
  out.content_length = nh_response_content_length(resp);
  int re = nh_response_read_all(resp, 16 << 20, &out.body, &out.len);
  if (re)
    NH_FAIL("reading the body: %s", nh_strerror(re));
  out.uncompressed = nh_response_uncompressed(resp);
  snprintf(out.url, sizeof out.url, "%s", nh_response_url(resp));
  snprintf(out.proto, sizeof out.proto, "%s", nh_response_proto(resp));
  out.header = header_copy(nh_response_header(resp));
  nh_header *tr = nh_response_trailer(resp);
  out.trailer = tr ? header_copy(tr) : NULL;
  nh_response_close(resp);
  nh_client_request_free(req);
  return out;
}

static result do_method(nh_client *c, const char *method, const char *path, const char *body,
                        const char *content_type) {
  nh_client_request *req = nh_client_request_new(method, url_of(path));
  CHECK(req);
  if (body)
    CHECK_EQ(nh_client_request_set_body_string(req, body), NH_OK);
  if (content_type)
    nh_header_set(nh_client_request_header(req), "Content-Type", content_type);
  return exchange(c, req);
}

static result get(nh_client *c, const char *path) { return do_method(c, "GET", path, NULL, NULL); }

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* ---- checks every peer passes ---- */

/* Sequential requests on one client use one connection. */
static void check_keepalive(nh_client *c, const char *path, const char *want, int n) {
  nh_transport_stats s0 = stats(c);
  for (int i = 0; i < n; i++) {
    result r = get(c, path);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.len, strlen(want));
    CHECK(!memcmp(r.body, want, r.len));
    result_free(&r);
  }
  nh_transport_stats s1 = stats(c);
  CHECK(s1.dials - s0.dials <= 1);
  CHECK(s1.reused - s0.reused >= n - 1);
  CHECK_EQ(s1.unclosed_responses, 0);
}

/* A response that says Connection: close is read, and its connection is
 * not reused: the next request dials. */
static void check_connection_close(nh_client *c, const char *path, const char *want) {
  nh_transport_close_idle(nh_client_transport(c)); /* idle_now counts this check's alone */
  result r = get(c, path);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, want);
  result_free(&r);
  nh_transport_stats s0 = stats(c);
  CHECK_EQ(s0.idle_now, 0);
  r = get(c, path);
  CHECK_EQ(r.status, 200);
  result_free(&r);
  CHECK_EQ(stats(c).dials, s0.dials + 1);
}

/* An upload the server answers without reading it (seeds 3 and 14): the
 * client returns that answer, status and body exactly, instead of a broken
 * pipe, and the next request goes on a new connection. */
typedef struct upload {
  int64_t size, given;
} upload;

static ssize_t upload_read(void *arg, void *buf, size_t cap) {
  upload *u = arg;
  size_t n = (size_t)(u->size - u->given) < cap ? (size_t)(u->size - u->given) : cap;
  memset(buf, 'u', n);
  u->given += (int64_t)n;
  return (ssize_t)n;
}

/* Returns how much of the body the client took from its source. */
static int64_t check_early_answer(nh_client *c, const char *path, int64_t size, int chunked,
                                  int expect, int want_status, const char *want_body) {
  upload u = {.size = size};
  nh_client_request *req = nh_client_request_new("POST", url_of(path));
  CHECK(req);
  CHECK_EQ(nh_client_request_set_body_reader(req, upload_read, NULL, &u, chunked ? -1 : size), NH_OK);
  if (expect)
    nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  result r = exchange(c, req);
  CHECK_EQ(r.status, want_status);
  CHECK_EQ(r.len, strlen(want_body));
  CHECK(!memcmp(r.body, want_body, r.len));
  result_free(&r);
  int64_t d = stats(c).dials;
  r = get(c, "/hello");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hello");
  result_free(&r);
  CHECK_EQ(stats(c).dials, d + 1);
  return u.given;
}

/* HEAD: the length a GET would have, no body, the connection kept. */
static void check_head(nh_client *c, const char *path, int64_t want_length) {
  nh_transport_close_idle(nh_client_transport(c)); /* idle_now counts this check's alone */
  result r = do_method(c, "HEAD", path, NULL, NULL);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.len, 0);
  CHECK_EQ(r.content_length, want_length);
  result_free(&r);
  nh_transport_stats s0 = stats(c);
  CHECK_EQ(s0.idle_now, 1);
  r = get(c, path);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.len, (size_t)want_length);
  result_free(&r);
  nh_transport_stats s1 = stats(c);
  CHECK_EQ(s1.dials, s0.dials);
  CHECK_EQ(s1.reused, s0.reused + 1);
}

/* A bodiless status ends at its head; the connection stays usable. */
static void check_bodiless(nh_client *c, const char *path, int want) {
  nh_transport_close_idle(nh_client_transport(c)); /* idle_now counts this check's alone */
  nh_transport_stats s0 = stats(c);
  result r = get(c, path);
  CHECK_EQ(r.status, want);
  CHECK_EQ(r.len, 0);
  result_free(&r);
  r = get(c, path);
  CHECK_EQ(r.status, want);
  result_free(&r);
  CHECK(stats(c).dials - s0.dials <= 1);
  CHECK_EQ(stats(c).idle_now, 1);
}

/* gzip asked for on the caller's behalf is decoded, and its framing
 * headers removed (Go's DisableCompression=false). A caller that asks for
 * gzip itself gets the bytes as sent. */
static void check_gzip(nh_client *c, const char *path, const char *want) {
  result r = get(c, path);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.uncompressed, 1);
  CHECK_EQ(r.len, strlen(want));
  CHECK(!memcmp(r.body, want, r.len));
  CHECK(!nh_header_get(r.header, "Content-Encoding"));
  CHECK(!nh_header_get(r.header, "Content-Length"));
  CHECK_EQ(r.content_length, -1);
  result_free(&r);
  nh_client_request *req = nh_client_request_new("GET", url_of(path));
  nh_header_set(nh_client_request_header(req), "Accept-Encoding", "gzip");
  r = exchange(c, req);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.uncompressed, 0);
  CHECK_STR(nh_header_get(r.header, "Content-Encoding"), "gzip");
  CHECK(r.len >= 2 && (unsigned char)r.body[0] == 0x1f && (unsigned char)r.body[1] == 0x8b);
  CHECK(r.len < strlen(want));
  result_free(&r);
  /* HEAD: the gzip headers, no body to decode. */
  r = do_method(c, "HEAD", path, NULL, NULL);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.len, 0);
  result_free(&r);
}

/* The echo endpoints answer with JSON naming the method, the headers and
 * the body; these look into it without a JSON parser. */
static int has_header(const char *json, const char *name) {
  char key[64];
  snprintf(key, sizeof key, "\"%s\"", name);
  return strcasestr(json, key) != NULL;
}

/* POST without a Content-Type sends none (nothing is guessed); with one it
 * arrives as given. */
static void check_post_content_type(nh_client *c) {
  nh_response *resp;
  CHECK_EQ(nh_client_post(c, url_of("/echo"), NULL, "hello", 5, &resp), NH_OK);
  CHECK_EQ(nh_response_status(resp), 200);
  char *body;
  CHECK_EQ(nh_response_read_all(resp, 1 << 20, &body, NULL), NH_OK);
  nh_response_close(resp);
  CHECK_CONTAINS(body, "\"method\":\"POST\"");
  CHECK_CONTAINS(body, "\"body\":\"hello\"");
  CHECK(!has_header(body, "Content-Type"));
  CHECK(has_header(body, "Content-Length"));
  free(body);
  CHECK_EQ(nh_client_post(c, url_of("/echo"), "text/x-peer", "abc", 3, &resp), NH_OK);
  CHECK_EQ(nh_response_read_all(resp, 1 << 20, &body, NULL), NH_OK);
  nh_response_close(resp);
  CHECK_CONTAINS(body, "text/x-peer");
  free(body);
}

/* Go's redirect rules: 301/302/303 make a POST a GET without its body;
 * 307/308 repeat the method and the body. */
static void check_redirects_to_echo(nh_client *c) {
  static const int codes[] = {301, 302, 303};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    char path[32];
    snprintf(path, sizeof path, "/redirect/%d", codes[i]);
    result r = do_method(c, "POST", path, "payload", "text/plain");
    CHECK_EQ(r.status, 200);
    CHECK(ends_with(r.url, "/echo"));
    CHECK_CONTAINS(r.body, "\"method\":\"GET\"");
    CHECK_CONTAINS(r.body, "\"body\":\"\"");
    CHECK(!has_header(r.body, "Content-Type"));
    CHECK(!has_header(r.body, "Content-Length"));
    result_free(&r);
  }
  static const int keep[] = {307, 308};
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
    char path[32];
    snprintf(path, sizeof path, "/redirect/%d", keep[i]);
    result r = do_method(c, "POST", path, "payload", "text/plain");
    CHECK_EQ(r.status, 200);
    CHECK(ends_with(r.url, "/echo"));
    CHECK_CONTAINS(r.body, "\"method\":\"POST\"");
    CHECK_CONTAINS(r.body, "\"body\":\"payload\"");
    CHECK_CONTAINS(r.body, "text/plain");
    result_free(&r);
  }
}

static char *repeat(const char *s, int n) {
  size_t len = strlen(s);
  char *out = malloc(len * (size_t)n + 1);
  for (int i = 0; i < n; i++)
    memcpy(out + len * (size_t)i, s, len);
  out[len * (size_t)n] = 0;
  return out;
}

/* ---- Go's net/http server ---- */

/* A body of unknown length goes chunked; Go sees Transfer-Encoding. */
typedef struct reader_state {
  int left;
} reader_state;

static ssize_t read_pieces(void *arg, void *buf, size_t cap) {
  reader_state *s = arg;
  if (s->left == 0)
    return 0;
  s->left--;
  memcpy(buf, "piece;", 6);
  return 6;
}

/* Authorization follows a redirect to the same host, not to another
 * (127.0.0.1 -> localhost: Go's shouldCopyHeaderOnRedirect). */
static void go_redirect_sensitive_headers(nh_client *c) {
  int port = atoi(strrchr(base, ':') + 1);
  const char *hosts[] = {"127.0.0.1", "localhost"};
  for (int i = 0; i < 2; i++) {
    char path[256];
    snprintf(path, sizeof path, "/redirect-to?url=http://%s:%d/echo", hosts[i], port);
    nh_client_request *req = nh_client_request_new("GET", url_of(path));
    nh_header_set(nh_client_request_header(req), "Authorization", "Bearer secret");
    nh_header_set(nh_client_request_header(req), "X-Custom", "kept");
    result r = exchange(c, req);
    CHECK_EQ(r.status, 200);
    CHECK_CONTAINS(r.url, hosts[i]);
    CHECK_CONTAINS(r.body, "\"X-Custom\":[\"kept\"]");
    if (i == 0)
      CHECK_CONTAINS(r.body, "Bearer secret");
    else
      CHECK(!strstr(r.body, "Bearer secret"));
    result_free(&r);
  }
}

static void go_chunked_upload(nh_client *c) {
  reader_state s = {3};
  nh_client_request *req = nh_client_request_new("PUT", url_of("/echo"));
  CHECK_EQ(nh_client_request_set_body_reader(req, read_pieces, NULL, &s, -1), NH_OK);
  result r = exchange(c, req);
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "\"method\":\"PUT\"");
  CHECK_CONTAINS(r.body, "\"te\":[\"chunked\"]");
  CHECK_CONTAINS(r.body, "\"length\":-1");
  CHECK_CONTAINS(r.body, "\"body\":\"piece;piece;piece;\"");
  result_free(&r);
}

static void go_big_and_chunked(nh_client *c) {
  result r = get(c, "/big?n=1000000");
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.content_length, 1000000);
  CHECK_EQ(r.len, 1000000);
  CHECK(is_pattern(r.body, r.len));
  result_free(&r);
  r = get(c, "/chunked");
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.content_length, -1);
  CHECK_EQ(r.len, 100000);
  CHECK(is_pattern(r.body, r.len));
  CHECK(r.trailer);
  CHECK_STR(nh_header_get(r.trailer, "X-Sum"), "100000");
  result_free(&r);
}

/* A handler that never answers: a short response-header timeout ends the
 * request with NH_ETIMEDOUT, on time. */
static void go_blackhole_times_out(void) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.response_header_timeout = 300 * NH_MSEC;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  nh_time t0 = nh_now();
  nh_response *resp = NULL;
  CHECK_EQ(nh_client_get(c, url_of("/blackhole"), &resp), NH_ETIMEDOUT);
  CHECK(!resp);
  nh_dur took = nh_now() - t0;
  CHECK(took >= 250 * NH_MSEC);
  CHECK(took < 3 * NH_SEC);
  nh_transport_stats st = stats(c);
  CHECK_EQ(st.open_now, 0); /* the timed-out connection was closed */
  CHECK_EQ(st.unclosed_responses, 0);
  nh_client_free(c);
  nh_transport_free(t);
}

static void go_too_many_redirects(nh_client *c) {
  nh_response *resp = NULL;
  CHECK_EQ(nh_client_get(c, url_of("/loop"), &resp), NH_ETOOMANYREDIRECTS);
  CHECK(!resp);
  CHECK_EQ(stats(c).unclosed_responses, 0);
}

/* Seed bug 1 at scale: 100,000 sequential GETs whose bodies are read to
 * EOF and closed use one connection, in bounded time. */
static void go_hundred_thousand_gets(void) {
  nh_client *c = nh_client_new(NULL);
  const char *u = url_of("/hello");
  nh_time t0 = nh_now();
  for (int i = 0; i < 100000; i++) {
    nh_response *resp;
    int e = nh_client_get(c, u, &resp);
    if (e)
      NH_FAIL("request %d: %s", i, nh_strerror(e));
    char buf[16];
    ssize_t n, total = 0;
    while ((n = nh_response_read(resp, buf, sizeof buf)) > 0)
      total += n;
    CHECK_EQ(n, 0);
    CHECK_EQ(total, 5);
    nh_response_close(resp);
  }
  nh_dur took = nh_now() - t0;
  nh_transport_stats st = stats(c);
  fprintf(stderr, "100000 GETs: %.1f s, dials %lld, reused %lld\n", (double)took / NH_SEC,
          (long long)st.dials, (long long)st.reused);
  CHECK(st.dials <= 2);
  CHECK_EQ(st.requests, 100000);
  CHECK_EQ(st.open_now, 1);
  CHECK_EQ(st.unclosed_responses, 0);
  CHECK(took < 40 * NH_SEC);
  nh_client_free(c);
}

/* Seed bug 1, the forgotten close: bodies read to EOF already give their
 * connection back, and each response never closed is reported with the
 * file:line of the call that made it. */
static void go_unclosed_bodies_reported(void) {
  nh_client *c = nh_client_new(NULL);
  nh_response *open[10];
  int line = 0;
  for (int i = 0; i < 10; i++) {
    line = __LINE__ + 1;
    CHECK_EQ(nh_client_get(c, url_of("/hello"), &open[i]), NH_OK);
    char *body;
    CHECK_EQ(nh_response_read_all(open[i], 64, &body, NULL), NH_OK);
    CHECK_STR(body, "hello");
    free(body);
  }
  nh_transport_stats st = stats(c);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.unclosed_responses, 10);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  CHECK_EQ(nh_transport_leak_report(nh_client_transport(c), f), 10);
  fclose(f);
  char want[64];
  snprintf(want, sizeof want, "peer_client.c:%d", line);
  int found = 0;
  for (const char *p = text; (p = strstr(p, want)); p++)
    found++;
  CHECK_EQ(found, 10);
  free(text);
  for (int i = 0; i < 10; i++)
    nh_response_close(open[i]);
  CHECK_EQ(nh_transport_leak_report(nh_client_transport(c), NULL), 0);
  nh_client_free(c);
}

/* From fibers: 64 callers on two loops, 200 requests each, every answer
 * the one asked for, no more connections than callers. */
typedef struct hammer {
  nh_client *c;
  atomic_int next_id, ok, bad;
} hammer;

static void hammer_fiber(void *arg) {
  hammer *h = arg;
  int id = atomic_fetch_add(&h->next_id, 1);
  for (int i = 0; i < 200; i++) {
    char path[64], want[80];
    snprintf(path, sizeof path, "/echo/%d/%d", id, i);
    snprintf(want, sizeof want, "\"path\":\"%s\"", path);
    nh_response *resp;
    if (nh_client_get(h->c, url_of(path), &resp)) {
      atomic_fetch_add(&h->bad, 1);
      continue;
    }
    char *body = NULL;
    int e = nh_response_read_all(resp, 1 << 16, &body, NULL);
    if (!e && nh_response_status(resp) == 200 && strstr(body, want))
      atomic_fetch_add(&h->ok, 1);
    else
      atomic_fetch_add(&h->bad, 1);
    free(body);
    nh_response_close(resp);
  }
}

static void go_fibers_hammer(void) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.max_idle_conns_per_host = 64; /* every caller's connection may idle */
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  hammer h = {.c = nh_client_new(&cc)};
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  CHECK(rt);
  nh_time t0 = nh_now();
  for (int i = 0; i < 64; i++)
    CHECK_EQ(nh_runtime_go(rt, -1, hammer_fiber, &h), NH_OK);
  nh_runtime_free(rt); /* waits for the fibers */
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  fprintf(stderr, "64 fibers x 200: %.1f s, dials %lld, reused %lld\n",
          (double)(nh_now() - t0) / NH_SEC, (long long)st.dials, (long long)st.reused);
  CHECK_EQ(atomic_load(&h.bad), 0);
  CHECK_EQ(atomic_load(&h.ok), 64 * 200);
  CHECK(st.dials <= 64);
  CHECK_EQ(st.dials + st.reused, 64 * 200 + st.retries);
  CHECK_EQ(st.unclosed_responses, 0);
  nh_client_free(h.c);
  nh_transport_free(t);
}

/* 1xx answers before the final one are skipped; Expect: 100-continue
 * waits for Go's 100 Continue (sent when the handler reads) and delivers. */
static void go_informational(nh_client *c) {
  result r = get(c, "/early");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "final");
  CHECK(!nh_header_get(r.header, "Link"));
  result_free(&r);
  /* A client that would wait 10 s for the 100 Continue: answered well
   * before, the body went when Go asked for it. */
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.expect_continue_timeout = 10 * NH_SEC;
  nh_transport *t = nh_transport_new(&tc);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *patient = nh_client_new(&cc);
  nh_client_request *req = nh_client_request_new("POST", url_of("/echo"));
  CHECK_EQ(nh_client_request_set_body_string(req, "expected"), NH_OK);
  nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
  nh_time t0 = nh_now();
  r = exchange(patient, req);
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "\"body\":\"expected\"");
  CHECK(nh_now() - t0 < 5 * NH_SEC); /* did not sit out expect_continue_timeout */
  nh_client_free(patient);
  nh_transport_free(t);
  result_free(&r);
}

/* Closing an unread body: a small rest is drained and the connection
 * kept; a large one closes the connection instead. */
static void go_close_unread(nh_client *c) {
  nh_transport_close_idle(nh_client_transport(c));
  nh_transport_stats s0 = stats(c);
  nh_response *resp;
  CHECK_EQ(nh_client_get(c, url_of("/big?n=100000"), &resp), NH_OK);
  nh_response_close(resp);
  nh_transport_stats s1 = stats(c);
  CHECK_EQ(s1.idle_now, 1);
  CHECK_EQ(s1.dials, s0.dials + 1);
  CHECK_EQ(nh_client_get(c, url_of("/big?n=50000000"), &resp), NH_OK);
  CHECK_EQ(nh_response_content_length(resp), 50000000);
  nh_response_close(resp);
  nh_transport_stats s2 = stats(c);
  CHECK_EQ(s2.reused, s1.reused + 1);
  CHECK_EQ(s2.idle_now, 0);
  CHECK_EQ(s2.open_now, 0);
  CHECK_EQ(s2.closed_unread_body, s1.closed_unread_body + 1);
}

/* A client's total timeout cuts a request the server never answers; a
 * body that stops arriving ends with NH_ETIMEDOUT on read. */
static void go_total_and_stall_timeouts(void) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.body_stall_timeout = 200 * NH_MSEC;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  cc.timeout = 300 * NH_MSEC;
  nh_client *c = nh_client_new(&cc);
  nh_time t0 = nh_now();
  nh_response *resp = NULL;
  CHECK_EQ(nh_client_get(c, url_of("/blackhole"), &resp), NH_ETIMEDOUT);
  nh_dur took = nh_now() - t0;
  CHECK(took >= 250 * NH_MSEC && took < 3 * NH_SEC);
  nh_client_free(c);
  cc.timeout = 0;
  c = nh_client_new(&cc);
  CHECK_EQ(nh_client_get(c, url_of("/stall"), &resp), NH_OK);
  char buf[256];
  ssize_t n = nh_response_read(resp, buf, sizeof buf);
  CHECK_EQ(n, 7);
  CHECK(!memcmp(buf, "partial", 7));
  t0 = nh_now();
  CHECK_EQ(nh_response_read(resp, buf, sizeof buf), NH_ETIMEDOUT);
  took = nh_now() - t0;
  CHECK(took >= 150 * NH_MSEC && took < 3 * NH_SEC);
  nh_response_close(resp);
  CHECK_EQ(stats(c).open_now, 0);
  nh_client_free(c);
  nh_transport_free(t);
}

/* HEAD of a resource served without a length: the answer has neither
 * Content-Length nor Transfer-Encoding, and still ends at its head; Go's
 * server keeps the connection, so the next request reuses it. */
static void go_head_without_length(nh_client *c) {
  nh_transport_close_idle(nh_client_transport(c)); /* idle_now counts this check's alone */
  result r = get(c, "/stream");
  CHECK_EQ(r.content_length, -1);
  CHECK_EQ(r.len, 100000);
  CHECK(is_pattern(r.body, r.len));
  result_free(&r);
  r = do_method(c, "HEAD", "/stream", NULL, NULL);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.len, 0);
  CHECK(!nh_header_get(r.header, "Content-Length"));
  CHECK(!nh_header_get(r.header, "Transfer-Encoding"));
  CHECK(!nh_header_get(r.header, "Connection"));
  result_free(&r);
  nh_transport_stats s0 = stats(c);
  CHECK_EQ(s0.idle_now, 1);
  r = get(c, "/hello");
  CHECK_STR(r.body, "hello");
  result_free(&r);
  CHECK_EQ(stats(c).dials, s0.dials);
}

/* Go's server answers /reject/CODE without reading, then closes (more
 * than 256 KiB left unread). */
static void go_early_answers(nh_client *c) {
  const int codes[] = {413, 401, 403, 202};
  for (int i = 0; i < 4; i++) {
    char path[32], want[64];
    snprintf(path, sizeof path, "/reject/%d", codes[i]);
    snprintf(want, sizeof want, "rejected %d without reading\n", codes[i]);
    check_early_answer(c, path, (5 + i) * (1 << 20), 0, 0, codes[i], want);
  }
  check_early_answer(c, "/reject/413", 8 << 20, 1, 0, 413, "rejected 413 without reading\n");
  /* Expect: 100-continue: no 100 comes, so not a byte of the body goes. */
  CHECK_EQ(check_early_answer(c, "/reject/413", 8 << 20, 0, 1, 413, "rejected 413 without reading\n"), 0);
  CHECK_EQ(check_early_answer(c, "/reject/401", 5 << 20, 1, 1, 401, "rejected 401 without reading\n"), 0);
}

static void run_go(void) {
  nh_client *c = nh_client_new(NULL);
  check_keepalive(c, "/hello", "hello", 50);
  go_big_and_chunked(c);
  check_head(c, "/big?n=1234", 1234);
  check_bodiless(c, "/status/204", 204);
  check_bodiless(c, "/status/304", 304);
  char *text = repeat("compressible text ", 1000);
  check_gzip(c, "/gzip", text);
  free(text);
  check_post_content_type(c);
  go_chunked_upload(c);
  check_redirects_to_echo(c);
  go_redirect_sensitive_headers(c);
  go_too_many_redirects(c);
  check_connection_close(c, "/close", "bye");
  go_informational(c);
  go_close_unread(c);
  go_early_answers(c);
  CHECK_EQ(stats(c).unclosed_responses, 0);
  nh_client_free(c);
  go_blackhole_times_out();
  go_total_and_stall_timeouts();
  go_unclosed_bodies_reported();
  go_fibers_hammer();
  go_hundred_thousand_gets();
  nh_client *hc = nh_client_new(NULL);
  go_head_without_length(hc);
  nh_client_free(hc);
}

/* ---- python3's http.server ---- */

static void py_raw_chunked_with_trailer(nh_client *c) {
  nh_transport_close_idle(nh_client_transport(c)); /* idle_now counts this check's alone */
  result r = get(c, "/chunked");
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.content_length, -1);
  CHECK_EQ(r.len, 5017);
  CHECK(!memcmp(r.body, "first,second,xxx", 16));
  CHECK(!memcmp(r.body + r.len - 5, "xlast", 5));
  CHECK(r.trailer);
  CHECK_STR(nh_header_get(r.trailer, "X-Checksum"), "5017");
  result_free(&r);
  CHECK_EQ(stats(c).idle_now, 1); /* kept after the last chunk */
}

/* A body that trickles in arrives whole; with a body-stall timeout shorter
 * than its gaps, the read ends with NH_ETIMEDOUT. */
static void py_slow_body(nh_client *c) {
  result r = get(c, "/slow");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "slow-slow-done!");
  result_free(&r);
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.body_stall_timeout = 50 * NH_MSEC;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *sc = nh_client_new(&cc);
  nh_response *resp;
  CHECK_EQ(nh_client_get(sc, url_of("/slow"), &resp), NH_OK);
  char buf[64];
  ssize_t n, total = 0;
  nh_time t0 = nh_now();
  while ((n = nh_response_read(resp, buf, sizeof buf)) > 0)
    total += n;
  CHECK_EQ(n, NH_ETIMEDOUT);
  CHECK(total < 15);
  CHECK(nh_now() - t0 < 2 * NH_SEC);
  nh_response_close(resp);
  CHECK_EQ(stats(sc).open_now, 0); /* a half-read connection is not pooled */
  nh_client_free(sc);
  nh_transport_free(t);
}

/* HTTP/1.0 without a length: the body runs until the server closes. */
static void py_http10_until_close(nh_client *c) {
  result r = get(c, "/http10");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.proto, "HTTP/1.0");
  CHECK_EQ(r.content_length, -1);
  CHECK_EQ(r.len, 1200);
  CHECK(!memcmp(r.body, "until-close until-close ", 24));
  result_free(&r);
  nh_transport_stats s1 = stats(c);
  CHECK_EQ(s1.idle_now, 0);
  CHECK_EQ(s1.open_now, 0);
  r = get(c, "/hello");
  CHECK_STR(r.body, "hello");
  result_free(&r);
  CHECK_EQ(stats(c).dials, s1.dials + 1);
}

/* The server closes a pooled connection while it idles; the next request
 * does not fail: it notices, or retries the GET on a new connection. */
static void py_server_closes_idle(nh_client *c) {
  nh_transport_close_idle(nh_client_transport(c));
  nh_transport_stats s0 = stats(c);
  result r = get(c, "/idle-close");
  CHECK_STR(r.body, "short-lived");
  result_free(&r);
  CHECK_EQ(stats(c).idle_now, 1);
  usleep(2000 * 1000); /* the server's idle limit is 200 ms: ten of them */
  r = get(c, "/hello");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hello");
  result_free(&r);
  nh_transport_stats s1 = stats(c);
  CHECK_EQ(s1.dials, s0.dials + 2);
  CHECK_EQ(s1.idle_now, 1);
}

/* A trailer whose value arrives in two reads is kept whole. */
static void py_split_trailer(nh_client *c) {
  result r = get(c, "/split-trailer");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hello");
  CHECK(r.trailer);
  CHECK_STR(nh_header_get(r.trailer, "X-Tail"), "end");
  CHECK_STR(nh_header_get(r.trailer, "X-Checksum"), "5017");
  result_free(&r);
}

static void run_python(void) {
  nh_client *c = nh_client_new(NULL);
  check_keepalive(c, "/hello", "hello", 30);
  py_raw_chunked_with_trailer(c);
  check_head(c, "/hello", 5);
  check_bodiless(c, "/status/204", 204);
  check_bodiless(c, "/status/304", 304);
  char *text = repeat("compressible text ", 1000);
  check_gzip(c, "/gzip", text);
  free(text);
  check_post_content_type(c);
  check_redirects_to_echo(c);
  py_slow_body(c);
  py_http10_until_close(c);
  check_connection_close(c, "/close", "bye");
  py_server_closes_idle(c);
  py_split_trailer(c);
  CHECK_EQ(stats(c).unclosed_responses, 0);
  nh_client_free(c);
}

/* ---- nginx ---- */

#define NGINX_INDEX "<html><body>nethttp peer index</body></html>\n"

/* Static files: a 1 MiB file with its length; text gzipped on the fly
 * (chunked, decoded transparently); the same without compression. */
static void nginx_static(nh_client *c) {
  result r = get(c, "/big.bin");
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.content_length, 1 << 20);
  CHECK_EQ(r.len, 1 << 20);
  CHECK(is_pattern(r.body, r.len));
  CHECK_EQ(r.uncompressed, 0);
  CHECK_STR(nh_header_get(r.header, "Content-Type"), "application/octet-stream");
  result_free(&r);
  r = get(c, "/index.html");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, NGINX_INDEX);
  CHECK_EQ(r.uncompressed, 1);
  result_free(&r);
  nh_client_request *req = nh_client_request_new("GET", url_of("/index.html"));
  nh_header_set(nh_client_request_header(req), "Accept-Encoding", "identity");
  r = exchange(c, req);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.content_length, (int64_t)strlen(NGINX_INDEX));
  CHECK_STR(r.body, NGINX_INDEX);
  result_free(&r);
}

/* A conditional GET with the ETag nginx gave: 304, no body, kept. */
static void nginx_not_modified(nh_client *c) {
  nh_transport_close_idle(nh_client_transport(c)); /* idle_now counts this check's alone */
  result r = get(c, "/big.bin");
  const char *etag = nh_header_get(r.header, "ETag");
  CHECK(etag);
  nh_client_request *req = nh_client_request_new("GET", url_of("/big.bin"));
  nh_header_set(nh_client_request_header(req), "If-None-Match", etag);
  nh_transport_stats s0 = stats(c);
  result nm = exchange(c, req);
  CHECK_EQ(nm.status, 304);
  CHECK_EQ(nm.len, 0);
  result_free(&nm);
  result_free(&r);
  nh_transport_stats s1 = stats(c);
  CHECK_EQ(s1.dials, s0.dials);
  CHECK_EQ(s1.idle_now, 1);
}

/* return 302/307: a POST becomes a GET of the static page after a 302,
 * stays a POST after a 307 (which nginx refuses for a static file: 405). */
static void nginx_redirects(nh_client *c) {
  result r = do_method(c, "POST", "/redirect/302", "payload", "text/plain");
  CHECK_EQ(r.status, 200);
  CHECK(ends_with(r.url, "/index.html"));
  CHECK_STR(r.body, NGINX_INDEX);
  result_free(&r);
  r = do_method(c, "POST", "/redirect/307", "payload", "text/plain");
  CHECK_EQ(r.status, 405);
  CHECK(ends_with(r.url, "/index.html"));
  result_free(&r);
  r = do_method(c, "HEAD", "/redirect/301", NULL, NULL);
  CHECK_EQ(r.status, 200);
  CHECK(ends_with(r.url, "/big.bin"));
  CHECK_EQ(r.content_length, 1 << 20);
  CHECK_EQ(r.len, 0);
  result_free(&r);
}

/* nginx refuses /upload bodies over 1k (client_max_body_size) with 413
 * before reading them, and closes. */
static void nginx_early_answers(nh_client *c) {
  for (int i = 0; i < 3; i++)
    check_early_answer(c, "/upload", (5 + i) * (1 << 20), 0, 0, 413, "too large\n");
  CHECK_EQ(check_early_answer(c, "/upload", 8 << 20, 0, 1, 413, "too large\n"), 0);
}

static void run_nginx(void) {
  nh_client *c = nh_client_new(NULL);
  check_keepalive(c, "/hello", "hello", 100);
  nginx_static(c);
  char *text = repeat("compressible text ", 1000);
  check_gzip(c, "/text.txt", text);
  free(text);
  check_head(c, "/big.bin", 1 << 20);
  nginx_not_modified(c);
  check_bodiless(c, "/status/204", 204);
  nginx_redirects(c);
  check_connection_close(c, "/close", "bye");
  nginx_early_answers(c);
  check_keepalive(c, "/hello", "hello", 10);
  CHECK_EQ(stats(c).unclosed_responses, 0);
  nh_client_free(c);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: peer_client go|python|nginx BASE_URL\n");
    return 2;
  }
  base = argv[2];
  if (!strcmp(argv[1], "go"))
    run_go();
  else if (!strcmp(argv[1], "python"))
    run_python();
  else if (!strcmp(argv[1], "nginx"))
    run_nginx();
  else {
    fprintf(stderr, "unknown peer %s\n", argv[1]);
    return 2;
  }
  fprintf(stderr, "peer_client %s: ok\n", argv[1]);
  return 0;
}
