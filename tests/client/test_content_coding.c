/* The transport's transparent decoding of gzip, br and zstd, against a
 * python server whose bodies Python's own libraries compressed
 * (coding_peer.py): what is asked for, what is decoded and removed from
 * the head, the rules that turn it off, and bodies that are corrupt, cut
 * short, trailed by garbage, or bombs. */
#include "h2_peer.h"

#include "nethttp/client.h"
#include "nethttp/errors.h"
#include "nethttp/header.h"

static h2_peer *coding_peer(void) {
  if (access("/usr/bin/python3", X_OK) != 0 ||
      system("/usr/bin/python3 -c 'import brotli, zstandard' >/dev/null 2>&1") != 0)
    NH_SKIP("python3-brotli or python3-zstandard is not installed");
  char script[1024];
  snprintf(script, sizeof script, "%s", __FILE__);
  char *slash = strrchr(script, '/');
  snprintf(slash ? slash + 1 : script, sizeof script - (size_t)(slash ? slash + 1 - script : 0),
           "coding_peer.py");
  char *argv[] = {"/usr/bin/python3", "-u", script, NULL};
  h2_peer *p = h2_peer_spawn(argv);
  CHECK_SOON(h2_peer_count(p, "\n") > 0 || p->eof);
  pthread_mutex_lock(&p->mu);
  p->port = p->text ? atoi(p->text) : 0;
  pthread_mutex_unlock(&p->mu);
  CHECK(p->port > 0);
  return p;
}

/* The body coding_peer.py sends (before coding). */
static char *expected_body(size_t *len) {
  size_t cap = 4000 * 64, n = 0;
  char *b = malloc(cap);
  for (int i = 0; i < 4000; i++)
    n += (size_t)snprintf(b + n, cap - n, "line %d: the quick brown fox jumps over the lazy dog\n", i);
  *len = n;
  return b;
}

static const char *const codings[] = {"gzip", "br", "zstd"};

static int get(nh_client *c, h2_peer *p, const char *path, nh_response **r) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, path);
  return nh_client_get(c, url, r);
}

/* r, a 200 for path, was decoded: the head says so (no Content-Encoding,
 * no Content-Length, length unknown) and the body is the expected one.
 * Closes r. */
static void check_decoded(nh_response *r, const char *path) {
  CHECK_EQ(nh_response_status(r), 200);
  CHECK(nh_response_uncompressed(r));
  CHECK(nh_header_get(nh_response_header(r), "Content-Encoding") == NULL);
  CHECK(nh_header_get(nh_response_header(r), "Content-Length") == NULL);
  CHECK_EQ(nh_response_content_length(r), -1);
  size_t want_len;
  char *want = expected_body(&want_len);
  char *got;
  size_t len;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &got, &len), NH_OK);
  if (len != want_len || memcmp(got, want, len) != 0)
    NH_FAIL("%s: %zu bytes decoded, want %zu", path, len, want_len);
  free(got);
  free(want);
  nh_response_close(r);
}

NH_TEST(decodes_gzip_br_and_zstd) {
  h2_peer *p = coding_peer();
  nh_client *c = nh_client_new(NULL);
  for (int chunked = 0; chunked < 2; chunked++)
    for (size_t i = 0; i < 3; i++) {
      char path[64];
      snprintf(path, sizeof path, "/%s%s", codings[i], chunked ? "/chunked" : "");
      nh_response *r;
      CHECK_EQ(get(c, p, path, &r), NH_OK);
      /* Asked for on the caller's behalf, and decoded. */
      CHECK_STR(nh_header_get(nh_response_header(r), "X-Accept-Encoding"), "gzip, br, zstd");
      check_decoded(r, path);
    }
  /* Every body ended cleanly: one connection, back in the pool. */
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.idle_now, 1);
  nh_client_free(c);
  h2_peer_stop(p);
}

/* The same over HTTP/2 (h2c), from the scripted h2 server. */
NH_TEST(decodes_gzip_br_and_zstd_over_http2) {
  if (system("/usr/bin/python3 -c 'import brotli, zstandard' >/dev/null 2>&1") != 0)
    NH_SKIP("python3-brotli or python3-zstandard is not installed");
  h2_peer *p = h2_peer_python("coded");
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.http_version = NH_HTTP_2;
  nh_transport *t = nh_transport_new(&tc);
  nh_client *c = h2_client_of(t);
  for (size_t i = 0; i < 3; i++) {
    char path[64];
    snprintf(path, sizeof path, "/%s", codings[i]);
    nh_response *r;
    CHECK_EQ(get(c, p, path, &r), NH_OK);
    CHECK_STR(nh_response_proto(r), "HTTP/2.0");
    check_decoded(r, path);
  }
  /* Asked for on the caller's behalf, in HTTP/2's lower case. */
  CHECK_SOON(h2_peer_count(p, "header accept-encoding: gzip, br, zstd") == 3);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(several_gzip_members_and_zstd_frames_are_one_body) {
  h2_peer *p = coding_peer();
  nh_client *c = nh_client_new(NULL);
  size_t want_len;
  char *want = expected_body(&want_len);
  static const char *const paths[] = {"/gzip/twice", "/zstd/twice"};
  for (int i = 0; i < 2; i++) {
    nh_response *r;
    CHECK_EQ(get(c, p, paths[i], &r), NH_OK);
    CHECK(nh_response_uncompressed(r));
    char *got;
    size_t len;
    CHECK_EQ(nh_response_read_all(r, 1 << 20, &got, &len), NH_OK);
    CHECK_EQ(len, 2 * want_len);
    CHECK(memcmp(got, want, want_len) == 0 && memcmp(got + want_len, want, want_len) == 0);
    free(got);
    nh_response_close(r);
  }
  free(want);
  nh_client_free(c);
  h2_peer_stop(p);
}

NH_TEST(bad_bodies_fail_the_read) {
  h2_peer *p = coding_peer();
  nh_client *c = nh_client_new(NULL);
  static const char *const variants[] = {"corrupt", "truncated", "trailing"};
  for (size_t v = 0; v < 3; v++)
    for (size_t i = 0; i < 3; i++) {
      char path[64];
      snprintf(path, sizeof path, "/%s/%s", codings[i], variants[v]);
      nh_response *r;
      CHECK_EQ(get(c, p, path, &r), NH_OK);
      CHECK(nh_response_uncompressed(r));
      char *got;
      int e = nh_response_read_all(r, 1 << 20, &got, NULL);
      if (e != NH_EBADRESPONSE)
        NH_FAIL("%s: read_all gave %s, want NH_EBADRESPONSE", path, nh_err_name(e));
      /* And it stays failed. */
      char buf[64];
      CHECK(nh_response_read(r, buf, sizeof buf) < 0);
      nh_response_close(r);
    }
  nh_client_free(c);
  h2_peer_stop(p);
}

NH_TEST(bomb_costs_only_what_is_read) {
  h2_peer *p = coding_peer();
  nh_client *c = nh_client_new(NULL);
  for (size_t i = 0; i < 3; i++) {
    char path[64];
    snprintf(path, sizeof path, "/%s/bomb", codings[i]);
    nh_response *r;
    CHECK_EQ(get(c, p, path, &r), NH_OK);
    /* 64 MiB of zeros: read_all's cap stops it at 1 MiB. */
    char *got;
    CHECK_EQ(nh_response_read_all(r, 1 << 20, &got, NULL), NH_EBODYTOOLARGE);
    nh_response_close(r);
    /* Read in small pieces, each read gives at most what was asked. */
    CHECK_EQ(get(c, p, path, &r), NH_OK);
    char buf[4096];
    size_t total = 0;
    for (int k = 0; k < 100; k++) {
      ssize_t n = nh_response_read(r, buf, sizeof buf);
      CHECK(n > 0 && (size_t)n <= sizeof buf);
      for (ssize_t j = 0; j < n; j++)
        CHECK(buf[j] == 0);
      total += (size_t)n;
    }
    CHECK(total <= 100 * sizeof buf);
    nh_response_close(r); /* the rest is not decoded */
  }
  nh_client_free(c);
  h2_peer_stop(p);
}

NH_TEST(caller_accept_encoding_or_range_turns_decoding_off) {
  h2_peer *p = coding_peer();
  nh_client *c = nh_client_new(NULL);
  char url[128];
  /* The caller's own Accept-Encoding: sent as is, the body left coded. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/br", p->port);
  nh_client_request *req = nh_client_request_new("GET", url);
  nh_header_set(nh_client_request_header(req), "Accept-Encoding", "br");
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_STR(nh_header_get(nh_response_header(r), "X-Accept-Encoding"), "br");
  CHECK(!nh_response_uncompressed(r));
  CHECK_STR(nh_header_get(nh_response_header(r), "Content-Encoding"), "br");
  int64_t cl = nh_response_content_length(r);
  CHECK(cl > 0);
  char *got;
  size_t len;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &got, &len), NH_OK);
  CHECK_EQ(len, cl); /* the coded bytes, as sent */
  free(got);
  nh_response_close(r);
  nh_client_request_free(req);
  /* A Range: nothing asked for (Go's rule), nothing decoded. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/zstd", p->port);
  req = nh_client_request_new("GET", url);
  nh_header_set(nh_client_request_header(req), "Range", "bytes=0-");
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_STR(nh_header_get(nh_response_header(r), "X-Accept-Encoding"), "-");
  CHECK(!nh_response_uncompressed(r));
  CHECK_STR(nh_header_get(nh_response_header(r), "Content-Encoding"), "zstd");
  nh_response_close(r);
  nh_client_request_free(req);
  nh_client_free(c);
  /* disable_compression: nothing asked for. */
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.disable_compression = 1;
  nh_transport *t = nh_transport_new(&tc);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  c = nh_client_new(&cc);
  CHECK_EQ(get(c, p, "/gzip", &r), NH_OK);
  CHECK_STR(nh_header_get(nh_response_header(r), "X-Accept-Encoding"), "-");
  CHECK(!nh_response_uncompressed(r));
  nh_response_close(r);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
}

NH_TEST(codings_not_decoded_are_left_as_sent) {
  h2_peer *p = coding_peer();
  nh_client *c = nh_client_new(NULL);
  nh_response *r;
  /* "compress" was not asked for: left alone, with its header. */
  CHECK_EQ(get(c, p, "/compress", &r), NH_OK);
  CHECK(!nh_response_uncompressed(r));
  CHECK_STR(nh_header_get(nh_response_header(r), "Content-Encoding"), "compress");
  char *got;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &got, NULL), NH_OK);
  CHECK_STR(got, "not really LZW: the client leaves this alone");
  free(got);
  nh_response_close(r);
  /* No coding at all. */
  CHECK_EQ(get(c, p, "/identity", &r), NH_OK);
  CHECK(!nh_response_uncompressed(r));
  CHECK(nh_response_content_length(r) > 0);
  nh_response_close(r);
  nh_client_free(c);
  h2_peer_stop(p);
}

NH_TEST_MAIN()
