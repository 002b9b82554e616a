/* The HTTP/2 server over real sockets, with curl and python's h2 as
 * peers: requests and bodies over h2c (prior knowledge) and over TLS
 * (ALPN), HTTP/1 and HTTP/2 on one listener, "Upgrade: h2c" served as
 * plain HTTP/1.1, :authority as Host, split cookies joined, HEAD without a
 * body, and connection-specific response fields kept off the wire. */
#include "test_h2_server_util.h"

/* "PROTO METHOD PATH host=H cookie=C body=B" */
static void echo(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  if (!strcmp(path, "/conn-fields")) {
    /* RFC 9113 8.2.2: these must not reach an HTTP/2 client. */
    nh_header *h = nh_resp_header(w);
    nh_header_set(h, "Connection", "keep-alive");
    nh_header_set(h, "Keep-Alive", "timeout=5");
    nh_header_set(h, "Proxy-Connection", "keep-alive");
    nh_header_set(h, "Upgrade", "h2c");
    nh_header_set(h, "X-Kept", "yes");
  }
  char body[8192];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof body && (n = nh_request_read(r, body + len, sizeof body - len)) > 0)
    len += (size_t)n;
  const char *cookie = nh_header_get(nh_request_header(r), "Cookie");
  nh_resp_printf(w, "%s %s %s host=%s cookie=%s body=%.*s", nh_request_proto(r),
                 nh_request_method(r), path, nh_request_host(r), cookie ? cookie : "",
                 (int)len, body);
}

static char *curl(char *const argv[]) {
  char out[128];
  int st = h2t_run(argv, out, sizeof out, 20);
  char *r = h2t_slurp(out);
  if (st != 0)
    NH_FAIL("curl exited %d: %s", st, r);
  return r;
}

NH_TEST(h2c_prior_knowledge_get_and_post) {
  h2t_need("curl");
  nh_test_server *ts = h2t_server(echo, NULL);
  CHECK(ts);
  char url[128];
  snprintf(url, sizeof url, "%s/echo?q=1", nh_test_server_url(ts));
  char *get = curl((char *[]){"curl", "-sS", "--http2-prior-knowledge", "-w", " v=%{http_version} s=%{http_code}", url, NULL});
  CHECK(!strncmp(get, "HTTP/2.0 GET /echo host=127.0.0.1:", 34));
  CHECK_CONTAINS(get, "body= v=2 s=200");
  free(get);
  char *post = curl((char *[]){"curl", "-sS", "--http2-prior-knowledge", "-d", "hello h2", "-w", " v=%{http_version}", url, NULL});
  CHECK_CONTAINS(post, "HTTP/2.0 POST /echo");
  CHECK_CONTAINS(post, "body=hello h2 v=2");
  free(post);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.h2_conns, 2);
  CHECK_EQ(st.h2_streams, 2);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(tls_alpn_h2_and_http11) {
  h2t_need("curl");
  nh_test_server *ts = nh_test_server_new_tls(echo, NULL, 1);
  CHECK(ts);
  char url[128];
  snprintf(url, sizeof url, "%s/tls", nh_test_server_url(ts));
  const char *ca = nh_test_server_ca_file(ts);
  char *h2 = curl((char *[]){"curl", "-sS", "--http2", "--cacert", (char *)ca, "-d", "x", "-w", " v=%{http_version}", url, NULL});
  CHECK(!strncmp(h2, "HTTP/2.0 POST /tls", 18));
  CHECK_CONTAINS(h2, "body=x v=2");
  free(h2);
  char *h1 = curl((char *[]){"curl", "-sS", "--http1.1", "--cacert", (char *)ca, "-w", " v=%{http_version}", url, NULL});
  CHECK(!strncmp(h1, "HTTP/1.1 GET /tls", 17));
  CHECK_CONTAINS(h1, "v=1.1");
  free(h1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* One listener: the preface picks HTTP/2, anything else is HTTP/1; with
 * h2c off the preface is just a bad HTTP/1 request. */
NH_TEST(preface_detection_on_one_listener) {
  h2t_need("curl");
  nh_test_server *ts = h2t_server(echo, NULL);
  CHECK(ts);
  char url[128];
  snprintf(url, sizeof url, "%s/mixed", nh_test_server_url(ts));
  char *a = curl((char *[]){"curl", "-sS", "--http1.1", "-w", " v=%{http_version}", url, NULL});
  CHECK(!strncmp(a, "HTTP/1.1 GET /mixed", 19));
  char *b = curl((char *[]){"curl", "-sS", "--http2-prior-knowledge", "-w", " v=%{http_version}", url, NULL});
  CHECK(!strncmp(b, "HTTP/2.0 GET /mixed", 19));
  CHECK_CONTAINS(b, "v=2");
  free(a);
  free(b);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);

  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT; /* h2c off: the default */
  ts = nh_test_server_new(echo, &cfg, 1);
  CHECK(ts);
  snprintf(url, sizeof url, "%s/mixed", nh_test_server_url(ts));
  char out[128];
  int st = h2t_run((char *[]){"curl", "-sS", "--http2-prior-knowledge", url, NULL}, out, sizeof out, 20);
  free(h2t_slurp(out));
  CHECK(st != 0); /* no HTTP/2 spoken back */
  nh_server_stats s;
  nh_server_stats_get(nh_test_server_server(ts), &s);
  CHECK_EQ(s.h2_conns, 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* RFC 9113 3.1: the h2c upgrade is deprecated; the request is served as
 * it came, in HTTP/1.1, with no 101. */
NH_TEST(upgrade_h2c_served_as_http11) {
  h2t_need("curl");
  nh_test_server *ts = h2t_server(echo, NULL);
  CHECK(ts);
  char url[128];
  snprintf(url, sizeof url, "%s/up", nh_test_server_url(ts));
  /* curl --http2 on http:// sends Upgrade: h2c and HTTP2-Settings. */
  char *r = curl((char *[]){"curl", "-sS", "-i", "--http2", "-w", " v=%{http_version}", url, NULL});
  CHECK(!strncmp(r, "HTTP/1.1 200", 12));
  CHECK(!strstr(r, "101"));
  CHECK_CONTAINS(r, "HTTP/1.1 GET /up");
  CHECK_CONTAINS(r, "v=1.1");
  free(r);
  nh_server_stats s;
  nh_server_stats_get(nh_test_server_server(ts), &s);
  CHECK_EQ(s.h2_conns, 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

static const char fields_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "h = enc.encode([(':method', 'GET'), (':path', '/conn-fields'), (':scheme', 'http'),\n"
    "                (':authority', 'example.org:8443'), ('cookie', 'a=1'), ('cookie', 'b=2')])\n"
    "s.sendall(frame(1, 5, 1, h))\n"
    "dec = hpack.Decoder(); body = b''; hdrs = []\n"
    "while True:\n"
    "    f = r.frame()\n"
    "    if f is None: break\n"
    "    if f[0] == 1 and f[2] == 1: hdrs = dec.decode(f[3])\n"
    "    if f[0] == 0 and f[2] == 1: body += f[3]\n"
    "    if f[0] in (0, 1) and f[2] == 1 and f[1] & 1: break\n"
    "    if f[0] == 3: print('RST'); break\n"
    "names = sorted(set(k for k, v in hdrs))\n"
    "print(' '.join(names))\n"
    "print(body.decode())\n";

NH_TEST(authority_cookies_and_connection_fields) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(echo, NULL);
  CHECK(ts);
  char *out = h2t_py(fields_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "host=example.org:8443 cookie=a=1; b=2 body=");
  CHECK_CONTAINS(out, "x-kept");
  CHECK_CONTAINS(out, ":status");
  CHECK(!strstr(out, "connection"));
  CHECK(!strstr(out, "keep-alive"));
  CHECK(!strstr(out, "upgrade"));
  CHECK(!strstr(out, "RST"));
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(head_has_length_and_no_body) {
  h2t_need("curl");
  nh_test_server *ts = h2t_server(echo, NULL);
  CHECK(ts);
  char url[128];
  snprintf(url, sizeof url, "%s/head", nh_test_server_url(ts));
  char *r = curl((char *[]){"curl", "-sS", "-I", "--http2-prior-knowledge", url, NULL});
  CHECK(!strncmp(r, "HTTP/2 200", 10));
  CHECK_CONTAINS(r, "content-length: ");
  CHECK(!strstr(r, "HTTP/2.0 HEAD")); /* the body stayed home */
  free(r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The access log names the protocol. */
static nh_handler logged_handler;
static void logged(nh_response_writer *w, nh_request *r) { nh_handler_serve(logged_handler, w, r); }

NH_TEST(access_log_records_the_protocol) {
  h2t_need("curl");
  char path[64];
  snprintf(path, sizeof path, "/tmp/nh_h2_access_%d", (int)getpid());
  FILE *f = fopen(path, "w+");
  CHECK(f);
  setvbuf(f, NULL, _IONBF, 0);
  nh_logger *lg = nh_logger_text_new(f, NH_LOG_INFO);
  nh_chain *ch = nh_chain_new();
  CHECK_EQ(nh_chain_use(ch, nh_mw_access_log, lg), NH_OK);
  logged_handler = nh_chain_then(ch, NH_HANDLER(echo, NULL));
  nh_test_server *ts = h2t_server(logged, NULL);
  CHECK(ts);
  char url[128];
  snprintf(url, sizeof url, "%s/logged", nh_test_server_url(ts));
  free(curl((char *[]){"curl", "-sS", "--http2-prior-knowledge", url, NULL}));
  free(curl((char *[]){"curl", "-sS", "--http1.1", url, NULL}));
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_chain_free(ch);
  nh_logger_free(lg);
  fclose(f);
  char *text = h2t_slurp(path);
  CHECK_CONTAINS(text, "proto=HTTP/2.0");
  CHECK_CONTAINS(text, "proto=HTTP/1.1");
  free(text);
}

NH_TEST_MAIN()
