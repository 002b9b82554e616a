/* The same handlers over HTTP/1.1, HTTP/1.1+TLS, h2c and h2 (Go's
 * clientserver_test): nethttp's server and client on both ends, what the
 * client sees compared across the four (tests/server/protocols.h).
 *
 * The table, one case each (here and in test_protocols_flow.c and
 * test_protocols_limits.c); "same" means the client's view is identical
 * over the four protocols:
 *
 *   status_codes            200 204 304 404 500: same (no body on 204/304)
 *   response_fields         repeated field, sniffed Content-Type, stated
 *                           and unknown Content-Length: same
 *   request_fields          Host, cookies (one field or several), a
 *                           repeated field: same (HTTP/2 sends cookies as
 *                           separate fields; the server joins them "; ")
 *   request_bodies          empty, small, 1 MiB, unknown length; echoed
 *                           and hashed: same, except the handler's view
 *                           of an unknown length: HTTP/1.1 says chunked,
 *                           HTTP/2 has no Transfer-Encoding (RFC 9113 8.2.2)
 *   head                    HEAD: same head, no body
 *   expect_continue         100-continue read and refused: same
 *   flush_timing            (test_protocols_flow.c) part one reaches the
 *                           client before the handler writes part two
 *   panics                  (test_protocols_flow.c) before writing: 500 over
 *                           HTTP/1.1, a reset stream over HTTP/2
 *   context_cancelled_when_client_goes   (test_protocols_flow.c)
 *   shutdown_with_request_in_flight      (test_protocols_flow.c)
 *   read_timeout, write_timeout          (test_protocols_limits.c) the
 *                           handler's read or write fails with
 *                           NH_ETIMEDOUT: same; nh_server_stats counts
 *                           each timeout once
 *   trailers                declared (Trailer: X-Sum) and prefixed
 *                           (Trailer:X-Late) trailers after the body, none
 *                           in the head: same, but for the length: HTTP/1.1
 *                           chunks the body (no length) and sends a trailer
 *                           section; HTTP/2 states it and ends the stream
 *                           with a HEADERS frame
 */
#include "protocols.h"

#include <stdarg.h>

/* /status/N: answers N with a body (none goes out for 204 and 304).
 * /multi: a repeated field and a sniffed type. /len: a stated length.
 * /unknown: a flush before the end, so the length is unknown.
 * /fields: echoes Host, Cookie and X-Multi. /echo: echoes the body with
 * its length and hash. /expect: reads the body if X-Accept says so,
 * else answers 403 unread. */
static void handler(nh_response_writer *w, nh_request *r) {
  pt_check_proto(r);
  const char *path = nh_request_path(r);
  nh_header *h = nh_resp_header(w);
  if (!strncmp(path, "/status/", 8)) {
    nh_resp_write_header(w, atoi(path + 8));
    nh_resp_write_string(w, "status body");
  } else if (!strcmp(path, "/trailers")) {
    nh_header_set(h, "Trailer", "X-Sum");
    nh_resp_write_string(w, "hello ");
    nh_resp_write_string(w, "world");
    nh_header_set(h, "X-Sum", "42");
    nh_header_set(h, "Trailer:X-Late", "late");
  } else if (!strcmp(path, "/multi")) {
    nh_header_add(h, "X-Multi", "one");
    nh_header_add(h, "X-Multi", "two");
    nh_header_add(h, "X-Multi", "three");
    nh_resp_write_string(w, "<!DOCTYPE html><html><body>sniffed</body></html>");
  } else if (!strcmp(path, "/len")) {
    nh_header_set(h, "Content-Type", "text/plain");
    nh_header_set(h, "Content-Length", "11");
    nh_resp_write_string(w, "hello");
    nh_resp_write_string(w, " world");
  } else if (!strcmp(path, "/unknown")) {
    nh_header_set(h, "Content-Type", "application/octet-stream");
    nh_resp_write_string(w, "first,");
    CHECK_EQ(nh_resp_flush(w), 0);
    nh_resp_write_string(w, "second");
  } else if (!strcmp(path, "/fields")) {
    const char *vals[8];
    nh_header *rh = nh_request_header(r);
    size_t n = nh_header_values(rh, "X-Multi", vals, 8);
    /* Cookies as parsed from every Cookie field: HTTP/1.1 carries the
     * two fields sent, HTTP/2 one joined field (RFC 9113 8.2.3). */
    const nh_cookies *ck = nh_request_cookies(r);
    char cookies[128] = "";
    for (size_t i = 0; ck && i < nh_cookies_len(ck); i++) {
      const nh_cookie *c = nh_cookies_at(ck, i);
      size_t len = strlen(cookies);
      snprintf(cookies + len, sizeof cookies - len, "%s%s=%s", i ? "," : "", c->name, c->value);
    }
    nh_resp_printf(w, "host=%s hosthdr=%s cookies=%s multi=%zu:%s,%s", nh_request_host(r),
                   nh_header_get(rh, "Host") ? nh_header_get(rh, "Host") : "(none)", cookies, n,
                   n > 0 ? vals[0] : "", n > 1 ? vals[1] : "");
  } else if (!strcmp(path, "/echo")) {
    /* The handler's own view of the framing, for the client to compare. */
    const char *te = nh_request_transfer_encoding(r);
    char cl[32];
    snprintf(cl, sizeof cl, "%lld", (long long)nh_request_content_length(r));
    nh_header_set(h, "X-Req-Length", cl);
    nh_header_set(h, "X-Req-Te", te ? te : "");
    size_t cap = 2 << 20, len = 0;
    char *buf = malloc(cap);
    CHECK(buf);
    ssize_t n;
    while ((n = nh_request_read(r, buf + len, cap - len)) > 0)
      len += (size_t)n;
    CHECK_EQ(n, 0);
    char hash[32], got[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)pt_hash(PT_HASH_INIT, buf, len));
    snprintf(got, sizeof got, "%zu", len);
    nh_header_set(h, "X-Hash", hash);
    nh_header_set(h, "X-Got", got);
    nh_header_set(h, "Content-Type", "application/octet-stream");
    nh_resp_write(w, buf, len);
    free(buf);
  } else if (!strcmp(path, "/expect")) {
    nh_header *rh = nh_request_header(r);
    CHECK_STR(nh_header_get(rh, "Expect"), "100-continue");
    if (!nh_header_get(rh, "X-Accept")) {
      nh_resp_write_header(w, 403);
      nh_resp_write_string(w, "refused unread");
      return;
    }
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while ((n = nh_request_read(r, buf + len, sizeof buf - 1 - len)) > 0)
      len += (size_t)n;
    nh_resp_printf(w, "read %.*s", (int)len, buf);
  } else {
    nh_error(w, "no such case", 404);
  }
}

/* One line per protocol of what the client saw; the lines must match. */
static char pt_seen[PT_NPROTO][1024];
static void same_over_all(void) {
  for (int p = 1; p < PT_NPROTO; p++)
    if (strcmp(pt_seen[0], pt_seen[p]) != 0)
      NH_FAIL("%s saw:\n%s\nbut %s saw:\n%s", pt_names[0], pt_seen[0], pt_names[p], pt_seen[p]);
}
static void seen(int p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seen(int p, const char *fmt, ...) {
  size_t len = strlen(pt_seen[p]);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pt_seen[p] + len, sizeof pt_seen[p] - len, fmt, ap);
  va_end(ap);
}

NH_TEST(status_codes) {
  static const int codes[] = {200, 204, 304, 404, 500};
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
      char path[32];
      snprintf(path, sizeof path, "/status/%d", codes[i]);
      pt_result r = pt_get(&e, path);
      CHECK_EQ(r.err, 0);
      CHECK_EQ(r.body_err, 0);
      CHECK_EQ(r.status, codes[i]);
      /* 204 and 304 never carry a body (RFC 9110 6.4.1). */
      if (codes[i] == 204 || codes[i] == 304)
        CHECK_EQ(r.body_len, 0);
      else
        CHECK_STR(r.body, "status body");
      seen(p, "%d len=%zu body=%s\n", r.status, r.body_len, r.body);
      pt_result_free(&r);
    }
    pt_result r = pt_get(&e, "/nowhere");
    CHECK_EQ(r.status, 404);
    seen(p, "%d %s", r.status, r.body);
    pt_result_free(&r);
    pt_stop(&e);
  }
  same_over_all();
}

NH_TEST(response_fields) {
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    pt_result r = pt_get(&e, "/multi");
    CHECK_EQ(r.status, 200);
    CHECK_STR(pt_field(&r, "X-Multi"), "one,two,three");
    CHECK_STR(pt_field(&r, "Content-Type"), "text/html; charset=utf-8");
    /* A small body written whole gets its length computed. */
    CHECK_EQ(r.content_length, (int64_t)r.body_len);
    seen(p, "multi %s ct=%s cl=%lld\n", pt_field(&r, "X-Multi"), pt_field(&r, "Content-Type"),
         (long long)r.content_length);
    pt_result_free(&r);

    r = pt_get(&e, "/len");
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.content_length, 11);
    CHECK_STR(r.body, "hello world");
    CHECK_STR(pt_field(&r, "Content-Length"), "11");
    seen(p, "len cl=%lld body=%s\n", (long long)r.content_length, r.body);
    pt_result_free(&r);

    /* Flushed before the end: the length is unknown when the head goes.
     * HTTP/1.1 frames it chunked; HTTP/2 just sends DATA frames, and
     * never a Transfer-Encoding field (RFC 9113 8.2.2). Either way the
     * client sees no length and the whole body. */
    r = pt_get(&e, "/unknown");
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.content_length, -1);
    CHECK_STR(r.body, "first,second");
    CHECK_STR(pt_field(&r, "Content-Length"), "");
    /* The client keeps HTTP/1.1's Transfer-Encoding among the fields
     * (Go moves it out of Header into Response.TransferEncoding). */
    CHECK_STR(pt_field(&r, "Transfer-Encoding"), pt_is_h2(p) ? "" : "chunked");
    seen(p, "unknown cl=%lld body=%s", (long long)r.content_length, r.body);
    pt_result_free(&r);
    pt_stop(&e);
  }
  same_over_all();
}

NH_TEST(request_fields) {
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    nh_client_request *req = pt_request(&e, "GET", "/fields");
    nh_header *h = nh_client_request_header(req);
    nh_header_add(h, "Cookie", "a=1; b=2");
    nh_header_add(h, "Cookie", "c=3");
    nh_header_add(h, "X-Multi", "x");
    nh_header_add(h, "X-Multi", "y");
    pt_result r = pt_do(&e, req);
    nh_client_request_free(req);
    CHECK_EQ(r.status, 200);
    char want[128];
    snprintf(want, sizeof want, "host=127.0.0.1:%d hosthdr=127.0.0.1:%d cookies=a=1,b=2,c=3 multi=2:x,y",
             nh_test_server_port(e.ts), nh_test_server_port(e.ts));
    CHECK_STR(r.body, want);
    /* The port differs per server: compare the rest. */
    seen(p, "%s", strstr(r.body, " cookies="));
    pt_result_free(&r);
    pt_stop(&e);
  }
  same_over_all();
}

/* A request body of unknown length, given in 7000-byte pieces. */
typedef struct reader {
  const char *data;
  size_t len, off;
} reader;
static ssize_t read_piece(void *arg, void *buf, size_t cap) {
  reader *rd = arg;
  size_t n = rd->len - rd->off;
  if (n > cap)
    n = cap;
  if (n > 7000)
    n = 7000;
  memcpy(buf, rd->data + rd->off, n);
  rd->off += n;
  return (ssize_t)n;
}

NH_TEST(request_bodies) {
  size_t big = 1 << 20;
  char *data = malloc(big);
  CHECK(data);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)('a' + (i * 7 + i / 1000) % 26);
  struct {
    size_t len;
    int unknown;
  } bodies[] = {{0, 0}, {5, 0}, {big, 0}, {300000, 1}};
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
      nh_client_request *req = pt_request(&e, "POST", "/echo");
      reader rd = {data, bodies[i].len, 0};
      if (bodies[i].unknown)
        CHECK_EQ(nh_client_request_set_body_reader(req, read_piece, NULL, &rd, -1), 0);
      else
        CHECK_EQ(nh_client_request_set_body(req, data, bodies[i].len), 0);
      pt_result r = pt_do(&e, req);
      nh_client_request_free(req);
      CHECK_EQ(r.err, 0);
      CHECK_EQ(r.status, 200);
      CHECK_EQ(r.body_err, 0);
      CHECK_EQ(r.body_len, bodies[i].len);
      CHECK(memcmp(r.body, data, bodies[i].len) == 0);
      char hash[32];
      snprintf(hash, sizeof hash, "%016llx",
               (unsigned long long)pt_hash(PT_HASH_INIT, data, bodies[i].len));
      CHECK_STR(pt_field(&r, "X-Hash"), hash);
      char cl[32], te[32];
      snprintf(cl, sizeof cl, "%s", pt_field(&r, "X-Req-Length"));
      snprintf(te, sizeof te, "%s", pt_field(&r, "X-Req-Te"));
      if (bodies[i].unknown) {
        CHECK_STR(cl, "-1");
        /* HTTP/1.1 frames it chunked; HTTP/2 has no Transfer-Encoding. */
        CHECK_STR(te, pt_is_h2(p) ? "" : "chunked");
      } else {
        if (atoll(cl) != (long long)bodies[i].len)
          NH_FAIL("body of %zu: the handler saw Content-Length %s", bodies[i].len, cl);
        CHECK_STR(te, "");
      }
      seen(p, "%zu got=%s hash=%s cl=%s\n", bodies[i].len, pt_field(&r, "X-Got"), hash, cl);
      pt_result_free(&r);
    }
    pt_stop(&e);
  }
  free(data);
  same_over_all();
}

NH_TEST(head) {
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    nh_client_request *req = pt_request(&e, "HEAD", "/len");
    pt_result r = pt_do(&e, req);
    nh_client_request_free(req);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_len, 0);
    CHECK_EQ(r.content_length, 11);
    seen(p, "len cl=%lld ct=%s\n", (long long)r.content_length, pt_field(&r, "Content-Type"));
    pt_result_free(&r);
    req = pt_request(&e, "HEAD", "/multi");
    r = pt_do(&e, req);
    nh_client_request_free(req);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_len, 0);
    CHECK_STR(pt_field(&r, "Content-Type"), "text/html; charset=utf-8");
    seen(p, "multi cl=%lld ct=%s\n", (long long)r.content_length, pt_field(&r, "Content-Type"));
    pt_result_free(&r);
    /* The connection carries the next request after a HEAD. */
    r = pt_get(&e, "/len");
    CHECK_STR(r.body, "hello world");
    pt_result_free(&r);
    nh_transport_stats st;
    nh_transport_stats_get(e.t, &st);
    CHECK_EQ(st.dials, 1);
    pt_stop(&e);
  }
  same_over_all();
}

NH_TEST(expect_continue) {
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    nh_client_request *req = pt_request(&e, "PUT", "/expect");
    nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
    nh_header_set(nh_client_request_header(req), "X-Accept", "1");
    nh_client_request_set_body_string(req, "payload after continue");
    pt_result r = pt_do(&e, req);
    nh_client_request_free(req);
    CHECK_EQ(r.err, 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "read payload after continue");
    seen(p, "%d %s\n", r.status, r.body);
    pt_result_free(&r);
    /* Refused before reading: the final status comes, no 100. */
    req = pt_request(&e, "PUT", "/expect");
    nh_header_set(nh_client_request_header(req), "Expect", "100-continue");
    nh_client_request_set_body_string(req, "never wanted");
    r = pt_do(&e, req);
    nh_client_request_free(req);
    CHECK_EQ(r.err, 0);
    CHECK_EQ(r.status, 403);
    CHECK_STR(r.body, "refused unread");
    seen(p, "%d %s\n", r.status, r.body);
    pt_result_free(&r);
    /* And the exchange after it works. */
    r = pt_get(&e, "/len");
    CHECK_STR(r.body, "hello world");
    pt_result_free(&r);
    pt_stop(&e);
  }
  same_over_all();
}

NH_TEST(trailers) {
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    pt_result r = pt_get(&e, "/trailers");
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_err, 0);
    CHECK_STR(r.body, "hello world");
    /* HTTP/1.1 carries trailers only after chunks, so no length is
     * stated; HTTP/2 ends the stream with a HEADERS frame and states the
     * length of a body the handler wrote whole (as Go does). */
    CHECK_EQ(r.content_length, pt_is_h2(p) ? 11 : -1);
    CHECK_STR(pt_field(&r, "X-Sum"), "");
    CHECK_STR(nh_header_get(r.trailer, "X-Sum") ? nh_header_get(r.trailer, "X-Sum") : "", "42");
    CHECK_STR(nh_header_get(r.trailer, "X-Late") ? nh_header_get(r.trailer, "X-Late") : "",
              "late");
    seen(p, "body=%s sum=%s late=%s n=%zu", r.body, nh_header_get(r.trailer, "X-Sum"),
         nh_header_get(r.trailer, "X-Late"), nh_header_len(r.trailer));
    pt_result_free(&r);
    pt_stop(&e);
  }
  same_over_all();
}

NH_TEST_MAIN()
