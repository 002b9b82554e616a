/* Request smuggling shapes, made by the mutator of fuzz/h1_smuggle.h from a
 * fixed seed (a bounded, repeatable run of what `make fuzz` runs longer):
 * through the parser against the reference framer, and through a live
 * server, whose answers must match the requests the parser found, in
 * order, with nothing answered after a refusal. The client never half-closes:
 * the server must answer and close (or keep the connection) by itself. */
#include "harness.h"
#include "echo.h"
#include "wire.h"

#include "../../fuzz/h1_smuggle.h"

#include <nethttp/httptest.h>

NH_TEST(parser_mutations) {
  smug_stats st = {0};
  static char buf[4096];
  size_t len = 0;
  for (uint64_t i = 0; i < 100000; i++) {
    /* Every 8th input starts again from a seed; the rest build on it. */
    len = smug_mutate(buf, i % 8 ? len : 0, sizeof buf, i);
    smug_check((const uint8_t *)buf, len, &st);
  }
  fprintf(stderr, "%ld inputs: %ld accepted (%ld with a pipelined request read), %ld refused, "
                  "%ld incomplete; the reference refused %ld\n",
          st.inputs, st.accepted, st.pipelined, st.refused, st.incomplete, st.ref_refused);
  /* The run means something only if it reached every outcome. */
  CHECK(st.accepted > st.inputs / 20);
  CHECK(st.refused > st.inputs / 20);
  CHECK(st.pipelined > st.inputs / 50);
  CHECK(st.ref_refused > st.inputs / 20);
}

/* The requests of a stream, as the parser reads them. */
typedef struct expected_reqs {
  int n, refused; /* refused: the stream ends in a refused request */
  int closes;     /* the last request read does not keep the connection */
  char target[SMUG_MAX_MSGS][64];
} expected_reqs;

static expected_reqs parser_reqs(char *buf, size_t len) {
  expected_reqs e = {0};
  nh__h1_field fields[64];
  nh__h1_req p;
  nh__h1_req_init(&p, fields, 64);
  size_t pos = 0;
  while (e.n < SMUG_MAX_MSGS) {
    smug_msg m = smug_parse_one(&p, buf, &pos, len, 0);
    if (m.result == SMUG_FAILED)
      e.refused = 1;
    if (m.result != SMUG_DONE)
      break;
    snprintf(e.target[e.n++], 64, "%.*s", (int)p.target.len, nh__h1_at(&p, p.target));
    e.closes = !p.keep_alive;
    if (!p.keep_alive || pos == len)
      break;
    nh__h1_req_next(&p);
  }
  return e;
}

/* Parses the final responses in in[0, got) into status[] and target[]
 * (the echo line is "METHOD TARGET v=..."); returns how many. */
static int parse_answers(const char *in, size_t got, int eof, int status[], char target[][64],
                         int max) {
  int k = 0;
  size_t off = 0;
  while (off < got && k < max) {
    int st;
    const char *body;
    size_t blen;
    char err[128] = "";
    int r = hw_parse_one(in, got, &off, 0, eof, &st, &body, &blen, err, sizeof err);
    if (r < 0 || err[0])
      NH_FAIL("a response that does not parse: %s", err);
    if (r == 0)
      break;
    if (st / 100 == 1)
      continue;
    status[k] = st;
    const char *sp = memchr(body, ' ', blen);
    size_t tl = sp ? strcspn(sp + 1, " ") : 0;
    snprintf(target[k], 64, "%.*s", (int)(tl < 63 ? tl : 63), sp ? sp + 1 : "");
    k++;
  }
  return k;
}

/* Sends buf and reads answers until `want` have come and then either the
 * server closes (close_expected) or nothing more comes for a moment.
 * Returns the number of final responses read. */
static int serve_all(int port, const char *buf, size_t len, int want, int close_expected,
                     int status[], char target[][64], int max, const char *input, size_t ilen) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  for (size_t off = 0; off < len;) {
    ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
    if (w <= 0)
      break; /* refused and closed: read what it said */
    off += (size_t)w;
  }
  size_t cap = 1 << 16, got = 0;
  char *in = malloc(cap);
  int n = 0, eof = 0;
  for (;;) {
    n = parse_answers(in, got, eof, status, target, max);
    if (eof)
      break;
    /* Once the expected answers are in, a short quiet spell ends the wait
     * (unless the server must close); before that, 10 s is a hang. */
    int quiet = n >= want && !close_expected;
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, quiet ? 200 : 10000);
    if (r == 0) {
      if (quiet)
        break;
      fprintf(stderr, "after %zu bytes of answers: %.*s\n", got, (int)got, in);
      smug_fail("the server neither answered nor closed within 10 s", input, ilen, 0);
    }
    if (got == cap)
      in = realloc(in, cap *= 2);
    ssize_t rd = recv(fd, in + got, cap - got, 0);
    if (rd <= 0)
      eof = 1;
    else
      got += (size_t)rd;
  }
  free(in);
  close(fd);
  return n;
}

NH_TEST(server_mutations) {
  nh_test_server *ts = nh_test_server_new(hv_handler, NULL, 1);
  CHECK(ts);
  int port = nh_test_server_port(ts);
  static char buf[4096];
  size_t len = 0;
  int answered = 0, refused = 0;
  for (uint64_t i = 0; i < 300; i++) {
    len = smug_mutate(buf, i % 4 ? len : 0, sizeof buf, 1000003 + i);
    if (memmem(buf, len, "HEAD", 4))
      continue; /* the echo target is not in a HEAD answer */
    expected_reqs e = parser_reqs(buf, len);
    int status[SMUG_MAX_MSGS + 2];
    char target[SMUG_MAX_MSGS + 2][64];
    /* The parser's verdict: its requests are answered in order; a refusal
     * (of a head, or a body the handler reads) adds one answer and a close;
     * a request that does not keep the connection ends it. */
    int want = e.n + e.refused;
    int close_expected = e.refused || e.closes;
    int n = serve_all(port, buf, len, want, close_expected, status, target, SMUG_MAX_MSGS + 2, buf,
                      len);
    int ok = n == want;
    for (int k = 0; ok && k < e.n; k++)
      if (status[k] == 200 && strcmp(target[k], e.target[k]) != 0)
        ok = 0;
    for (int k = 0; ok && k < n; k++)
      if (status[k] >= 400 && k != n - 1)
        ok = 0; /* nothing is answered after an error */
    if (ok && e.refused && status[n - 1] < 400)
      ok = 0; /* the answer to a refusal is an error */
    if (!ok) {
      fprintf(stderr, "parser read %d request(s)%s:", e.n, e.refused ? " then refused" : "");
      for (int k = 0; k < e.n; k++)
        fprintf(stderr, " %s", e.target[k]);
      fprintf(stderr, "\nserver answered %d:", n);
      for (int k = 0; k < n; k++)
        fprintf(stderr, " %d %s", status[k], target[k]);
      smug_fail("the server's answers differ from the parser's requests", buf, len, 0);
    }
    answered += n;
    refused += e.refused;
  }
  fprintf(stderr, "%d answers, %d refused streams\n", answered, refused);
  CHECK(answered > 100);
  CHECK(refused > 30);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
}

NH_TEST_MAIN()
