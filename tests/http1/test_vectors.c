/* The request vectors of tests/http1/vectors.txt (RFC 9112 and Go's server
 * rules), checked twice: against the HTTP/1 parser alone (whole, and fed a
 * few bytes at a time), and over a real socket against a live server, with
 * a request pipelined behind each vector that must be answered after a
 * kept request and never after an error. */
#include "harness.h"
#include "echo.h"
#include "http1/h1_request.h"
#include "vectors.h"
#include "wire.h"

#include <nethttp/httptest.h>

#ifndef NH_VECTORS_FILE
#error "NH_VECTORS_FILE names tests/http1/vectors.txt (set by tests/CMakeLists.txt)"
#endif

static hv_vector *vectors;
static int nvectors;

static void load(void) {
  if (!vectors)
    vectors = hv_load(NH_VECTORS_FILE, &nvectors);
  CHECK(nvectors > 50);
}

/* The vector's bytes with the pipelined request behind it. */
static hv_bytes input_of(const hv_vector *v) {
  hv_bytes b = {0, 0, 0};
  hv_put(&b, v->send.p, v->send.len);
  if (!v->alone)
    hv_put(&b, HV_NEXT, strlen(HV_NEXT));
  return b;
}

/* ---- the parser alone ---- */

typedef struct parsed {
  char outcome[64];
  char echo[1024];
  char fault[256]; /* something that must never happen */
} parsed;

static const char *field(const nh__h1_req *p, const char *name, size_t *len) {
  for (int i = 0; i < p->nfields; i++) {
    nh__h1_field f = p->fields[i];
    if (f.name.len == strlen(name) && !strncasecmp(nh__h1_at(p, f.name), name, f.name.len)) {
      *len = f.value.len;
      return nh__h1_at(p, f.value);
    }
  }
  *len = 0;
  return NULL;
}

/* Parses one request at buf[*pos, len), feeding at most step more bytes per
 * call (0: everything at once). Returns 1 accepted (body in *body), -1 with
 * the status in *status, 0 incomplete. */
static int parse_one(nh__h1_req *p, char *buf, size_t *pos, size_t len, size_t step,
                     hv_bytes *body, nh_header *trailer, nh__arena *arena, int *status) {
  size_t lim = *pos;
  int r = 0;
  while (r == 0) {
    lim = step && lim + step < len ? lim + step : len;
    r = nh__h1_parse_head(p, buf, pos, lim);
    if (r == 0 && lim == len)
      return 0;
  }
  if (r < 0) {
    *status = p->status;
    return -1;
  }
  p->trailer = trailer;
  p->trailer_arena = arena;
  char out[64];
  while (p->phase == NH__H1_BODY) {
    if (*pos == lim) {
      if (lim == len)
        return 0;
      lim = step && lim + step < len ? lim + step : len;
    }
    long n = nh__h1_parse_body(p, buf, pos, lim, out, step ? step : sizeof out);
    if (n < 0) {
      *status = p->status ? p->status : 400;
      return -1;
    }
    hv_put(body, out, (size_t)n);
  }
  return 1;
}

static void run_parser(const hv_vector *v, size_t step, parsed *out) {
  memset(out, 0, sizeof *out);
  hv_bytes in = input_of(v);
  nh__h1_field fields[100];
  nh__h1_req p;
  nh__h1_req_init(&p, fields, 100);
  nh__arena arena;
  char first[256];
  nh__arena_init(&arena, first, sizeof first);
  nh_header trailer;
  nh__header_init(&trailer, &arena);
  hv_bytes body = {0, 0, 0};
  hv_put(&body, "", 0);
  size_t pos = 0;
  int status = 0;
  int r = parse_one(&p, in.p, &pos, in.len, step, &body, &trailer, &arena, &status);
  if (r < 0) {
    if (status < 400 || status > 505)
      snprintf(out->fault, sizeof out->fault, "failure with status %d", status);
    snprintf(out->outcome, sizeof out->outcome, "%d closed", status);
  } else if (r == 0) {
    snprintf(out->outcome, sizeof out->outcome, "incomplete");
  } else {
    size_t hl, xl;
    const char *host = field(&p, "host", &hl), *x = field(&p, "x-echo", &xl);
    const char *t = nh_header_get(&trailer, "X-T");
    char method[64], target[256];
    snprintf(method, sizeof method, "%.*s", (int)p.method.len, nh__h1_at(&p, p.method));
    snprintf(target, sizeof target, "%.*s", (int)p.target.len, nh__h1_at(&p, p.target));
    int v11 = p.major == 1 && p.minor >= 1;
    /* Host as the server gives it (as Go): the authority of an absolute-
     * or authority-form (CONNECT) target, else the Host field. */
    const char *abs = strstr(target, "://");
    char ahost[256];
    if (abs && target[0] != '/') {
      snprintf(ahost, sizeof ahost, "%.*s", (int)strcspn(abs + 3, "/?"), abs + 3);
      host = ahost;
      hl = strlen(ahost);
    } else if (!strcmp(method, "CONNECT") && target[0] != '/') {
      host = target;
      hl = strlen(target);
    }
    hv_echo_line(out->echo, sizeof out->echo, method, target, v11 ? "1.1" : "1.0",
                 host ? host : "", hl, x, xl, body.p, body.len, t, t ? strlen(t) : 0);
    int keep = p.keep_alive;
    if (keep) {
      /* The next request starts exactly where this one ended. */
      nh__h1_req_next(&p);
      hv_bytes b2 = {0, 0, 0};
      hv_put(&b2, "", 0);
      int st2 = 0;
      size_t start = pos;
      int r2 = parse_one(&p, in.p, &pos, in.len, step, &b2, NULL, NULL, &st2);
      if (v->alone ? r2 != 0 : r2 != 1 || pos != in.len || start != v->send.len ||
                                   p.target.len != 5 || memcmp(nh__h1_at(&p, p.target), "/next", 5))
        snprintf(out->fault, sizeof out->fault,
                 "the pipelined request was not parsed from offset %zu (got r=%d from %zu to %zu)",
                 v->send.len, r2, start, pos);
      free(b2.p);
    }
    snprintf(out->outcome, sizeof out->outcome, "200 %s", keep ? "kept" : "closed");
  }
  free(body.p);
  free(in.p);
  nh__arena_dispose(&arena);
}

static void parser_vectors(size_t step) {
  load();
  int failed = 0, checked = 0;
  for (int i = 0; i < nvectors; i++) {
    const hv_vector *v = &vectors[i];
    if (v->wire && !v->parser_ok)
      continue;
    checked++;
    parsed got;
    run_parser(v, step, &got);
    char want[64], echo[1024] = "";
    int accepted = v->parser_ok || v->status / 100 == 2;
    if (!accepted)
      snprintf(want, sizeof want, "%d closed", v->status);
    else
      snprintf(want, sizeof want, "200 %s", v->kept ? "kept" : "closed");
    if (accepted && !v->parser_ok)
      hv_expected_echo(v, echo, sizeof echo);
    int bad = got.fault[0] != 0;
    if (v->parser_ok)
      bad |= strncmp(got.outcome, "200 ", 4) != 0;
    else
      bad |= strcmp(got.outcome, want) != 0 || (accepted && strcmp(got.echo, echo) != 0);
    if (bad) {
      failed++;
      fprintf(stderr, "FAIL %s (%s)\n  want: %s %s  got:  %s %s%s%s\n", v->name, v->rule, want,
              echo, got.outcome, got.echo, got.fault[0] ? "  fault: " : "", got.fault);
    }
  }
  fprintf(stderr, "parser (step %zu): %d of %d vectors failed\n", step, failed, checked);
  CHECK_EQ(failed, 0);
}

NH_TEST(parser_whole) { parser_vectors(0); }

/* The same vectors fed three bytes at a time: a connection's reads may
 * split anything anywhere, and the outcome must not change. */
NH_TEST(parser_in_pieces) { parser_vectors(3); }

/* ---- a live server ---- */

NH_TEST(server_over_socket) {
  load();
  nh_test_server *ts = nh_test_server_new(hv_handler, NULL, 1);
  CHECK(ts);
  int port = nh_test_server_port(ts);
  int failed = 0;
  for (int i = 0; i < nvectors; i++) {
    const hv_vector *v = &vectors[i];
    hv_bytes in = input_of(v);
    hw_result r;
    hw_exchange(port, in.p, in.len, !strncmp(v->send.p, "HEAD ", 5), &r);
    free(in.p);
    char want[64], got[64], echo[1024] = "";
    snprintf(want, sizeof want, "%d %s%s", v->status, v->kept ? "kept" : "closed", "");
    if (v->interim)
      snprintf(want + strlen(want), sizeof want - strlen(want), " +%d", v->interim);
    hw_outcome(&r, got, sizeof got);
    int check_echo = v->status == 200 && strncmp(v->send.p, "HEAD ", 5) && strcmp(v->target, "/noread") &&
                     !v->wire;
    if (check_echo)
      hv_expected_echo(v, echo, sizeof echo);
    int bad = strcmp(want, got) != 0 || r.error[0] || (check_echo && strcmp(echo, r.echo) != 0);
    if (r.answered >= 2 && (r.next_status != 200 || strcmp(r.next_echo, HV_NEXT_ECHO) != 0))
      bad = 1;
    if (bad) {
      failed++;
      fprintf(stderr, "FAIL %s (%s)\n  want: %s %s  got:  %s %s  next: %d %s%s%s\n", v->name,
              v->rule, want, echo, got, r.echo, r.next_status, r.next_echo,
              r.error[0] ? "  fault: " : "", r.error);
    }
  }
  fprintf(stderr, "server: %d of %d vectors failed\n", failed, nvectors);
  CHECK_EQ(nh_test_server_close(ts, NULL), 0);
  CHECK_EQ(failed, 0);
}

NH_TEST_MAIN()
