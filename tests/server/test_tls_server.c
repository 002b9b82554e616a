/* HTTPS in the server over real sockets: requests with bodies, keep-alive,
 * pipelining, a file sent through TLS, the nethttp client, curl and
 * openssl s_client as peers, SNI, certificate reload, and silent
 * connections dropped at the read-header deadline. */
#include "harness.h"
#include "rawclient.h"

#include <fcntl.h>
#include <nethttp.h>
#include <nethttp/httptest.h>
#include <nethttp/tls.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- handlers ---- */

/* "METHOD /path <body>" */
static void echo(nh_response_writer *w, nh_request *r) {
  char body[4096];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof body && (n = nh_request_read(r, body + len, sizeof body - len)) > 0)
    len += (size_t)n;
  nh_resp_printf(w, "%s %s %.*s", nh_request_method(r), nh_request_path(r), (int)len, body);
}

static char file_path[256];
static size_t file_size;

static void send_file(nh_response_writer *w, nh_request *r) {
  int fd = open(file_path, O_RDONLY);
  CHECK(fd >= 0);
  nh_header_set(nh_resp_header(w), "Content-Type", "application/octet-stream");
  nh_resp_sendfile(w, fd, 0, file_size);
  close(fd);
}

/* ---- a TLS client on the test's thread ---- */

typedef struct tconn {
  nh_tls_ctx *ctx;
  nh_tls_conn *tls;
  char buf[1 << 16];
  size_t len;
} tconn;

static nh_tls_ctx *client_ctx(const char *ca_file) {
  nh_tls_config cfg = {.role = NH_TLS_CLIENT, .ca_file = ca_file};
  nh_tls_ctx *ctx = NULL;
  CHECK_EQ(nh_tls_config_new(&cfg, &ctx, NULL), NH_OK);
  return ctx;
}

/* Connects to 127.0.0.1:port and shakes hands as `host`; the error if not. */
static int tconn_open(tconn *c, const char *ca_file, const char *host, int port) {
  memset(c, 0, sizeof *c);
  c->ctx = client_ctx(ca_file);
  int fd = raw_connect(port);
  CHECK(fd >= 0);
  nh_fd *f;
  CHECK_EQ(nh_fd_open(fd, &f), NH_OK);
  int e = nh_tls_client(c->ctx, f, host, nh_deadline_after(5 * NH_SEC), &c->tls);
  if (e != NH_OK) {
    nh_fd_close(f);
    nh_tls_ctx_free(c->ctx);
    c->ctx = NULL;
  }
  return e;
}

static void tconn_close(tconn *c) {
  nh_tls_close(c->tls);
  nh_tls_ctx_free(c->ctx);
}

static void tconn_send(tconn *c, const char *s) {
  CHECK_EQ(nh_tls_write(c->tls, s, strlen(s), nh_deadline_after(5 * NH_SEC)), (long long)strlen(s));
}

/* One response with a Content-Length body; status, body into body (cap). */
static int tconn_read(tconn *c, char *body, size_t cap) {
  char *end;
  for (;;) {
    c->buf[c->len] = 0;
    if ((end = strstr(c->buf, "\r\n\r\n")))
      break;
    ssize_t n = nh_tls_read(c->tls, c->buf + c->len, sizeof c->buf - 1 - c->len,
                            nh_deadline_after(5 * NH_SEC));
    if (n <= 0)
      return -1;
    c->len += (size_t)n;
  }
  raw_resp r;
  memset(&r, 0, sizeof r);
  size_t hlen = (size_t)(end - c->buf) + 4;
  CHECK(hlen < sizeof r.head);
  memcpy(r.head, c->buf, hlen);
  const char *cl = raw_header(&r, "Content-Length");
  CHECK(cl);
  size_t want = strtoul(cl, NULL, 10);
  CHECK(want < cap);
  while (c->len < hlen + want) {
    ssize_t n = nh_tls_read(c->tls, c->buf + c->len, sizeof c->buf - 1 - c->len,
                            nh_deadline_after(5 * NH_SEC));
    if (n <= 0)
      return -1;
    c->len += (size_t)n;
  }
  memcpy(body, c->buf + hlen, want);
  body[want] = 0;
  memmove(c->buf, c->buf + hlen + want, c->len - hlen - want);
  c->len -= hlen + want;
  return atoi(r.head + 9);
}

/* 1 if the server ended the stream (EOF or error) within ms. */
static int tconn_closed(tconn *c, int ms) {
  char b[64];
  ssize_t n = nh_tls_read(c->tls, b, sizeof b, nh_deadline_after(ms * NH_MSEC));
  return n == 0 || (n < 0 && n != NH_ETIMEDOUT);
}

/* ---- requests, keep-alive, pipelining ---- */

NH_TEST(https_get_post_keep_alive_pipelining) {
  nh_test_server *ts = nh_test_server_new_tls(echo, NULL, 1);
  CHECK(ts);
  CHECK(!strncmp(nh_test_server_url(ts), "https://127.0.0.1:", 18));
  tconn *c = malloc(sizeof *c);
  CHECK_EQ(tconn_open(c, nh_test_server_ca_file(ts), "127.0.0.1", nh_test_server_port(ts)), NH_OK);
  CHECK_STR(nh_tls_alpn(c->tls), "http/1.1");
  char body[4096];
  tconn_send(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK_STR(body, "GET /one ");
  tconn_send(c, "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello there");
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK_STR(body, "POST /two hello there");
  /* A chunked body, then three pipelined requests in one write (one TLS
   * record: the server must serve what the TLS layer holds without
   * waiting for epoll, which will never report it). */
  tconn_send(c, "POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK_STR(body, "POST /ch abcde");
  tconn_send(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
                "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  const char *want[] = {"GET /a ", "POST /b xyz", "GET /c "};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(tconn_read(c, body, sizeof body), 200);
    CHECK_STR(body, want[i]);
  }
  /* The same as separate records written back to back: after the first
   * response the rest may sit in the TLS layer, not in the socket. */
  tconn_send(c, "GET /r1 HTTP/1.1\r\nHost: x\r\n\r\n");
  tconn_send(c, "GET /r2 HTTP/1.1\r\nHost: x\r\n\r\n");
  tconn_send(c, "GET /r3 HTTP/1.1\r\nHost: x\r\n\r\n");
  const char *want2[] = {"GET /r1 ", "GET /r2 ", "GET /r3 "};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(tconn_read(c, body, sizeof body), 200);
    CHECK_STR(body, want2[i]);
  }
  CHECK(!tconn_closed(c, 100)); /* kept alive */
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.accepted, 1); /* every request on the one connection */
  CHECK_EQ(st.requests, 9);
  CHECK_EQ(st.tls_handshake_errors, 0);
  /* Connection: close ends with the response (and close_notify). */
  tconn_send(c, "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK(tconn_closed(c, 2000));
  tconn_close(c);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Plain HTTP to an HTTPS port: the handshake fails, is counted, and the
 * connection is closed. */
NH_TEST(plain_http_to_https_port_fails_handshake) {
  nh_test_server *ts = nh_test_server_new_tls(echo, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  CHECK(raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK(raw_closed(c, 3000));
  close(c->fd);
  free(c);
  nh_server_stats st;
  for (int i = 0; i < 1000; i++) {
    nh_server_stats_get(nh_test_server_server(ts), &st);
    if (st.tls_handshake_errors == 1)
      break;
    usleep(10 * 1000);
  }
  CHECK_EQ(st.tls_handshake_errors, 1);
  CHECK_EQ(st.requests, 0);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- the nethttp client as the peer, a file through TLS ---- */

static void make_file(size_t size) {
  snprintf(file_path, sizeof file_path, "/tmp/nh_tls_file_%d", (int)getpid());
  FILE *f = fopen(file_path, "wb");
  CHECK(f);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < size; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    fputc((int)(x & 0xff), f);
  }
  fclose(f);
  file_size = size;
}

static char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  CHECK(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  CHECK_EQ(fread(b, 1, (size_t)n, f), n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void route(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/file"))
    send_file(w, r);
  else
    echo(w, r);
}

NH_TEST(client_peer_and_file_over_tls) {
  make_file(3 * 1024 * 1024 + 12345); /* several chunks and a partial one */
  nh_test_server *ts = nh_test_server_new_tls(route, NULL, 2);
  nh_tls_config tls = {0};
  tls.ca_file = nh_test_server_ca_file(ts);
  nh_transport_config tcfg = NH_TRANSPORT_CONFIG_DEFAULT;
  tcfg.tls = &tls;
  nh_transport *t = nh_transport_new(&tcfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *cl = nh_client_new(&cc);
  char url[128];
  size_t flen;
  char *want = read_whole(file_path, &flen);
  for (int i = 0; i < 3; i++) {
    nh_response *resp;
    snprintf(url, sizeof url, "%s/file", nh_test_server_url(ts));
    CHECK_EQ(nh_client_get(cl, url, &resp), NH_OK);
    CHECK_EQ(nh_response_status(resp), 200);
    char *got;
    size_t glen;
    CHECK_EQ(nh_response_read_all(resp, 8 << 20, &got, &glen), NH_OK);
    nh_response_close(resp);
    CHECK_EQ(glen, flen);
    CHECK(!memcmp(got, want, flen));
    free(got);
    snprintf(url, sizeof url, "%s/post", nh_test_server_url(ts));
    CHECK_EQ(nh_client_post(cl, url, "text/plain", "payload", 7, &resp), NH_OK);
    CHECK_EQ(nh_response_read_all(resp, 1 << 16, &got, &glen), NH_OK);
    nh_response_close(resp);
    CHECK_STR(got, "POST /post payload");
    free(got);
  }
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1); /* one TLS connection, kept alive throughout */
  nh_server_stats ss;
  nh_server_stats_get(nh_test_server_server(ts), &ss);
  CHECK_EQ(ss.accepted, 1);
  CHECK_EQ(ss.requests, 6);
  free(want);
  nh_client_free(cl);
  nh_transport_free(t);
  unlink(file_path);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- curl and openssl s_client as independent peers ---- */

static int have(const char *tool) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  return system(cmd) == 0;
}

/* Runs argv with stdin from `input` (may be NULL) and stdout to out_path;
 * kills it by pid after 10 s. Returns its exit status or -1. */
static int run_tool(char *const argv[], const char *input, const char *out_path) {
  int in[2];
  CHECK(pipe(in) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    close(in[0]);
    close(in[1]);
    int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    close(o);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  if (input)
    CHECK_EQ(write(in[1], input, strlen(input)), (long long)strlen(input));
  /* s_client ends when the server closes; its stdin stays open until then
   * so it does not quit before the answer. */
  int status = -1;
  for (int i = 0; i < 1000; i++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    usleep(10 * 1000);
    if (i == 999) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
    }
  }
  close(in[1]);
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

NH_TEST(curl_peer) {
  if (!have("curl"))
    NH_SKIP("curl not installed");
  make_file(200 * 1024 + 7);
  nh_test_server *ts = nh_test_server_new_tls(route, NULL, 1);
  char out[256], url[128], url2[128];
  snprintf(out, sizeof out, "/tmp/nh_tls_curl_%d", (int)getpid());
  snprintf(url, sizeof url, "https://localhost:%d/file", nh_test_server_port(ts));
  snprintf(url2, sizeof url2, "https://127.0.0.1:%d/post", nh_test_server_port(ts));
  /* Two URLs on one curl: a file, then a POST. */
  char *argv[] = {"curl", "-sS", "--fail", "--http1.1", "--cacert",
                  (char *)nh_test_server_ca_file(ts), url, "-o", out, "--next", "--http1.1",
                  "--cacert", (char *)nh_test_server_ca_file(ts), "-d", "from-curl", url2, NULL};
  char out2[300];
  snprintf(out2, sizeof out2, "%s.stdout", out);
  CHECK_EQ(run_tool(argv, NULL, out2), 0);
  size_t glen, flen;
  char *got = read_whole(out, &glen), *want = read_whole(file_path, &flen);
  CHECK_EQ(glen, flen);
  CHECK(!memcmp(got, want, flen));
  free(got);
  free(want);
  got = read_whole(out2, &glen);
  got[glen] = 0;
  CHECK_STR(got, "POST /post from-curl");
  free(got);
  /* curl refuses it without the CA: the certificate is really checked. */
  char *argv2[] = {"curl", "-s", "--fail", url, "-o", "/dev/null", NULL};
  CHECK(run_tool(argv2, NULL, "/dev/null") != 0);
  unlink(out);
  unlink(out2);
  unlink(file_path);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(openssl_s_client_peer) {
  if (!have("openssl"))
    NH_SKIP("openssl not installed");
  nh_test_server *ts = nh_test_server_new_tls(echo, NULL, 1);
  char connect[64], out[256];
  snprintf(connect, sizeof connect, "127.0.0.1:%d", nh_test_server_port(ts));
  snprintf(out, sizeof out, "/tmp/nh_tls_sclient_%d", (int)getpid());
  char *argv[] = {"openssl", "s_client", "-connect", connect, "-servername", "localhost",
                  "-CAfile", (char *)nh_test_server_ca_file(ts), "-verify_return_error",
                  "-alpn", "http/1.1", "-quiet", NULL};
  CHECK_EQ(run_tool(argv,
                    "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /y HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    out),
           0);
  size_t len;
  char *got = read_whole(out, &len);
  got[len] = 0;
  CHECK(strstr(got, "HTTP/1.1 200 OK\r\n"));
  CHECK(strstr(got, "GET /x "));
  CHECK(strstr(got, "POST /y ok"));
  free(got);
  unlink(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- a large upload read in large pieces ---- */

/* Reads with a buffer larger than the server's (the body then goes from
 * the TLS layer straight into it); answers "<bytes> <sum of the bytes>". */
static void sums_body(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/next")) {
    nh_resp_write_string(w, "next");
    return;
  }
  size_t cap = 1 << 16;
  unsigned char *buf = malloc(cap);
  ssize_t n;
  long total = 0, sum = 0;
  while ((n = nh_request_read(r, buf, cap)) > 0) {
    for (ssize_t i = 0; i < n; i++)
      sum += buf[i];
    total += n;
  }
  free(buf);
  nh_resp_printf(w, "%ld %ld", total, sum);
}

NH_TEST(https_large_upload_then_pipelined_request) {
  nh_test_server *ts = nh_test_server_new_tls(sums_body, NULL, 1);
  CHECK(ts);
  tconn *c = malloc(sizeof *c);
  CHECK_EQ(tconn_open(c, nh_test_server_ca_file(ts), "127.0.0.1", nh_test_server_port(ts)), NH_OK);
  int blen = 200003;
  long sum = 0;
  char head[128];
  int hlen = snprintf(head, sizeof head, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", blen);
  const char next[] = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
  size_t mlen = (size_t)hlen + (size_t)blen + sizeof next - 1;
  char *msg = malloc(mlen + 1);
  memcpy(msg, head, (size_t)hlen);
  for (int i = 0; i < blen; i++) {
    msg[hlen + i] = (char)('a' + i % 26);
    sum += 'a' + i % 26;
  }
  memcpy(msg + hlen + blen, next, sizeof next - 1);
  msg[mlen] = 0;
  /* One write: the body's end and the next request share a TLS record. */
  CHECK_EQ(nh_tls_write(c->tls, msg, mlen, nh_deadline_after(5 * NH_SEC)), (long long)mlen);
  char body[128], want[64];
  snprintf(want, sizeof want, "%d %ld", blen, sum);
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK_STR(body, want);
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK_STR(body, "next");
  free(msg);
  tconn_close(c);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- hijack ---- */

/* Takes the TLS stream as a WebSocket server would: answers 101 itself,
 * echoes the bytes that came with the request, then echoes until the
 * client ends the stream. */
static void tls_upgrade(nh_response_writer *w, nh_request *r) {
  int fd = -1;
  CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_ENOTSUP); /* the raw socket: no use */
  nh_tls_conn *tls = NULL, *again = NULL;
  char *rest = NULL;
  size_t nrest = 0;
  CHECK_EQ(nh_resp_hijack_tls(w, &tls, &rest, &nrest), NH_OK);
  CHECK_EQ(nh_resp_hijack_tls(w, &again, NULL, NULL), NH_ENOTSUP);
  CHECK(nh_resp_hijacked(w));
  const char *head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";
  nh_time dl = nh_deadline_after(5 * NH_SEC);
  CHECK_EQ(nh_tls_write(tls, head, strlen(head), dl), (long long)strlen(head));
  CHECK_EQ(nh_tls_write(tls, rest, nrest, dl), (long long)nrest);
  free(rest);
  char buf[256];
  ssize_t n;
  while ((n = nh_tls_read(tls, buf, sizeof buf, dl)) > 0)
    CHECK_EQ(nh_tls_write(tls, buf, (size_t)n, dl), n);
  nh_tls_close(tls);
}

/* Reads until the client's buffer holds want; 1 if it came in time. */
static int tconn_wait_for(tconn *c, const char *want) {
  for (;;) {
    c->buf[c->len] = 0;
    if (strstr(c->buf, want))
      return 1;
    ssize_t n = nh_tls_read(c->tls, c->buf + c->len, sizeof c->buf - 1 - c->len,
                            nh_deadline_after(5 * NH_SEC));
    if (n <= 0)
      return 0;
    c->len += (size_t)n;
  }
}

NH_TEST(hijack_hands_over_the_tls_stream) {
  nh_test_server *ts = nh_test_server_new_tls(tls_upgrade, NULL, 1);
  CHECK(ts);
  tconn *c = malloc(sizeof *c);
  CHECK_EQ(tconn_open(c, nh_test_server_ca_file(ts), "127.0.0.1", nh_test_server_port(ts)), NH_OK);
  /* Bytes for the new protocol ride in the same record as the request:
   * the server has decrypted them and hands them over as buffered. */
  tconn_send(c, "GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly;");
  CHECK(tconn_wait_for(c, "\r\n\r\nearly;"));
  CHECK(!strncmp(c->buf, "HTTP/1.1 101 Switching Protocols\r\n", 34));
  CHECK(!strstr(c->buf, "Content-Length")); /* the server wrote nothing of its own */
  tconn_send(c, "ping;");
  CHECK(tconn_wait_for(c, "early;ping;"));
  tconn_send(c, "pong;");
  CHECK(tconn_wait_for(c, "early;ping;pong;"));
  tconn_close(c); /* close_notify: the handler's read ends, it closes */
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A handler that takes the TLS stream and panics with it: the stream
 * nobody holds any more is aborted (the client sees the end), it no longer
 * counts as hijacked, and the leak check finds nothing left. */
static void tls_hijack_then_panic(nh_response_writer *w, nh_request *r) {
  nh_tls_conn *tls = NULL;
  CHECK_EQ(nh_resp_hijack_tls(w, &tls, NULL, NULL), NH_OK);
  const char *head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n\r\n";
  CHECK_EQ(nh_tls_write(tls, head, strlen(head), nh_deadline_after(5 * NH_SEC)),
           (long long)strlen(head));
  nh_panic("oops with the TLS stream");
}

NH_TEST(panic_after_tls_hijack_aborts_the_stream) {
  nh_test_server *ts = nh_test_server_new_tls(tls_hijack_then_panic, NULL, 1);
  CHECK(ts);
  tconn *c = malloc(sizeof *c);
  CHECK_EQ(tconn_open(c, nh_test_server_ca_file(ts), "127.0.0.1", nh_test_server_port(ts)), NH_OK);
  tconn_send(c, "GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
  CHECK(tconn_wait_for(c, "\r\n\r\n"));
  CHECK(tconn_closed(c, 5000));
  tconn_close(c);
  free(c);
  nh_server *srv = nh_test_server_server(ts);
  nh_server_stats st;
  for (int i = 0; i < 2000; i++) {
    nh_server_stats_get(srv, &st);
    if (st.conns_hijacked == 0)
      break;
    usleep(1000);
  }
  CHECK_EQ(st.conns_hijacked, 0);
  CHECK_EQ(st.hijacked, 1);
  CHECK_EQ(nh_server_shutdown(srv, nh_deadline_after(10 * NH_SEC)), NH_OK);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- SNI and reload ---- */

static nh_tls_ctx *server_ctx(const nh_tls_cert_file *certs, size_t n) {
  nh_tls_config cfg = {.role = NH_TLS_SERVER, .certs = certs, .ncerts = n};
  nh_tls_ctx *ctx = NULL;
  CHECK_EQ(nh_tls_config_new(&cfg, &ctx, NULL), NH_OK);
  return ctx;
}

static nh_test_server *server_with(nh_tls_ctx *ctx, nh_handler_fn h) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.tls = ctx;
  return nh_test_server_new(h, &cfg, 1);
}

NH_TEST(sni_chooses_the_certificate) {
  nh_tls_testcert *tc;
  const char *a_hosts[] = {"a.test", NULL}, *b_hosts[] = {"b.test", NULL};
  CHECK_EQ(nh_tls_testcert_new(a_hosts, &tc), NH_OK);
  char *b_cert, *b_key;
  CHECK_EQ(nh_tls_testcert_leaf(tc, "b", b_hosts, &b_cert, &b_key), NH_OK);
  nh_tls_cert_file certs[] = {{tc->cert_pem, tc->key_pem}, {b_cert, b_key}};
  nh_tls_ctx *ctx = server_ctx(certs, 2);
  nh_test_server *ts = server_with(ctx, echo);
  int port = nh_test_server_port(ts);
  char body[256];
  tconn *c = malloc(sizeof *c);
  /* Each name verifies only against its own certificate. */
  const char *names[] = {"a.test", "b.test", "b.test", "a.test"};
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(tconn_open(c, tc->ca_pem, names[i], port), NH_OK);
    tconn_send(c, "GET /sni HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(tconn_read(c, body, sizeof body), 200);
    tconn_close(c);
  }
  /* A name neither certificate has: the default (a.test) is offered and
   * the client refuses it. */
  CHECK_EQ(tconn_open(c, tc->ca_pem, "c.test", port), NH_ECERT);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_tls_ctx_free(ctx);
  free(b_cert);
  free(b_key);
  nh_tls_testcert_free(tc);
}

static void copy_file(const char *from, const char *to) {
  size_t n;
  char *b = read_whole(from, &n);
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s.tmp", to);
  FILE *f = fopen(tmp, "wb");
  CHECK(f);
  CHECK_EQ(fwrite(b, 1, n, f), n);
  fclose(f);
  CHECK(rename(tmp, to) == 0); /* whole files only, as a deploy would */
  free(b);
}

NH_TEST(reload_affects_new_connections_only) {
  nh_tls_testcert *ca1, *ca2;
  CHECK_EQ(nh_tls_testcert_new(NULL, &ca1), NH_OK);
  CHECK_EQ(nh_tls_testcert_new(NULL, &ca2), NH_OK);
  /* The server reads its certificate from paths that a deploy overwrites. */
  char cert[512], key[512];
  snprintf(cert, sizeof cert, "%s/live.pem", ca1->dir);
  snprintf(key, sizeof key, "%s/live-key.pem", ca1->dir);
  copy_file(ca1->cert_pem, cert);
  copy_file(ca1->key_pem, key);
  nh_tls_cert_file cf = {cert, key};
  nh_tls_ctx *ctx = server_ctx(&cf, 1);
  nh_test_server *ts = server_with(ctx, echo);
  int port = nh_test_server_port(ts);
  char body[256];
  tconn *old = malloc(sizeof *old), *c = malloc(sizeof *c);
  CHECK_EQ(tconn_open(old, ca1->ca_pem, "127.0.0.1", port), NH_OK);
  tconn_send(old, "GET /before HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(tconn_read(old, body, sizeof body), 200);

  copy_file(ca2->cert_pem, cert);
  copy_file(ca2->key_pem, key);
  CHECK_EQ(nh_server_reload_tls(nh_test_server_server(ts)), NH_OK);

  /* New connections get the new certificate... */
  CHECK_EQ(tconn_open(c, ca1->ca_pem, "127.0.0.1", port), NH_ECERT);
  CHECK_EQ(tconn_open(c, ca2->ca_pem, "127.0.0.1", port), NH_OK);
  tconn_send(c, "GET /new HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(tconn_read(c, body, sizeof body), 200);
  CHECK_STR(body, "GET /new ");
  tconn_close(c);
  /* ...the established one keeps going on its session. */
  tconn_send(old, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(tconn_read(old, body, sizeof body), 200);
  CHECK_STR(body, "GET /after ");
  tconn_close(old);

  /* A broken file: reload fails and the current certificate stays. */
  FILE *f = fopen(cert, "w");
  fputs("not a certificate\n", f);
  fclose(f);
  CHECK(nh_server_reload_tls(nh_test_server_server(ts)) != NH_OK);
  CHECK_EQ(tconn_open(c, ca2->ca_pem, "127.0.0.1", port), NH_OK);
  tconn_close(c);
  free(c);
  free(old);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_tls_ctx_free(ctx);
  nh_tls_testcert_free(ca1);
  nh_tls_testcert_free(ca2);
}

NH_TEST(reload_without_tls_is_einval) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  CHECK_EQ(nh_server_reload_tls(nh_test_server_server(ts)), NH_EINVAL);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* ---- slow handshakes ---- */

/* 50 connections that never send a ClientHello hold nothing past the
 * read-header deadline, and normal HTTPS requests are served meanwhile:
 * all of them answered while the silent ones are still open. */
NH_TEST(silent_connections_closed_at_header_deadline) {
  enum { SILENT = 50 };
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_header_timeout = 2 * NH_SEC; /* far beyond 5 requests, even on a busy machine */
  nh_test_server *ts = nh_test_server_new_tls(echo, &cfg, 2);
  int port = nh_test_server_port(ts);
  int fds[SILENT];
  nh_time t0 = nh_now(); /* before the accepts that start their deadlines */
  for (int i = 0; i < SILENT; i++)
    CHECK((fds[i] = raw_connect(port)) >= 0);
  /* While they sit there, real clients are served. */
  tconn *c = malloc(sizeof *c);
  char body[256];
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(tconn_open(c, nh_test_server_ca_file(ts), "localhost", port), NH_OK);
    tconn_send(c, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(tconn_read(c, body, sizeof body), 200);
    CHECK_STR(body, "GET /busy ");
    tconn_close(c);
  }
  /* ...before the deadline: not one silent connection closed yet. */
  for (int i = 0; i < SILENT; i++) {
    struct pollfd p = {fds[i], POLLIN, 0};
    CHECK_EQ(poll(&p, 1, 0), 0);
  }
  /* Each silent connection is closed at the deadline, not before (the
   * server's clock may lag ours by one loop turn: 50 ms of slack). */
  for (int i = 0; i < SILENT; i++) {
    struct pollfd p = {fds[i], POLLIN, 0};
    nh_dur left = 20 * NH_SEC - (nh_now() - t0);
    CHECK_EQ(poll(&p, 1, left > 0 ? (int)(left / NH_MSEC) : 0), 1);
    char b;
    CHECK(recv(fds[i], &b, 1, MSG_DONTWAIT) <= 0);
    nh_dur at = nh_now() - t0;
    CHECK(at >= cfg.read_header_timeout - 50 * NH_MSEC);
    close(fds[i]);
  }
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.tls_handshake_errors, SILENT);
  CHECK_EQ(st.timeouts_header, SILENT);
  CHECK_EQ(st.requests, 5);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Shutdown does not wait for handshakes that have not finished: they hold
 * no request. */
NH_TEST(shutdown_does_not_wait_for_handshakes) {
  nh_test_server *ts = nh_test_server_new_tls(echo, NULL, 1); /* 5 s header timeout */
  int fds[5];
  for (int i = 0; i < 5; i++)
    CHECK((fds[i] = raw_connect(nh_test_server_port(ts))) >= 0);
  nh_server_stats st;
  for (int i = 0; i < 2000; i++) { /* all accepted and in the handshake */
    nh_server_stats_get(nh_test_server_server(ts), &st);
    if (st.accepted == 5)
      break;
    usleep(5 * 1000);
  }
  CHECK_EQ(st.accepted, 5);
  /* Waiting for them would sit out the 5 s header timeout: past this 4 s
   * deadline, which shutdown would report. */
  nh_time t0 = nh_now();
  CHECK_EQ(nh_server_shutdown(nh_test_server_server(ts), nh_deadline_after(4 * NH_SEC)), NH_OK);
  CHECK(nh_now() - t0 < 4 * NH_SEC);
  for (int i = 0; i < 5; i++) {
    char b;
    CHECK(recv(fds[i], &b, 1, 0) <= 0); /* closed */
    close(fds[i]);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
