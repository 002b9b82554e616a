/* /metrics over real sockets: a public server behind a mux and a private
 * one serving nh_debug_handler. Every scrape is parsed by the text parser
 * of python3-prometheus-client (SKIP without it), which also checks that
 * each family has HELP and TYPE and that each histogram is consistent;
 * the cases then assert on the parsed samples: N requests make a count of
 * exactly N, routes are the mux's patterns (never paths), a handler in
 * flight is an active request, the process figures are sane, the pool
 * figures are the transport's. */
#include "harness.h"
#include "client/answer.h"
#include "server/protocols.h"
#include "server/rawclient.h"

#include <nethttp.h>
#include <nethttp/debug.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* Reads the exposition on stdin; prints each sample as
 * name{k=v,...} value with the labels sorted, or exits 1 naming what is
 * wrong, 77 if the parser is missing. */
static const char PARSE_PY[] =
    "import sys\n"
    "try:\n"
    "    from prometheus_client.parser import text_string_to_metric_families\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "text = sys.stdin.read()\n"
    "out = []\n"
    "for fam in text_string_to_metric_families(text):\n"
    "    if not fam.documentation or fam.type == 'unknown':\n"
    "        sys.exit('family %s has no HELP or TYPE' % fam.name)\n"
    "    hist = {}\n"
    "    for s in fam.samples:\n"
    "        labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))\n"
    "        v = s.value\n"
    "        out.append('%s{%s} %s' % (s.name, labels, int(v) if v == int(v) else repr(v)))\n"
    "        if fam.type == 'histogram':\n"
    "            key = tuple(sorted((k, x) for k, x in s.labels.items() if k != 'le'))\n"
    "            h = hist.setdefault(key, {'b': []})\n"
    "            if s.name.endswith('_bucket'):\n"
    "                h['b'].append((float(s.labels['le']), v))\n"
    "            elif s.name.endswith('_count'):\n"
    "                h['count'] = v\n"
    "    for key, h in hist.items():\n"
    "        b = sorted(h['b'])\n"
    "        if not b or b[-1][0] != float('inf') or b[-1][1] != h.get('count'):\n"
    "            sys.exit('histogram %s %s: +Inf bucket is not the count' % (fam.name, key))\n"
    "        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):\n"
    "            sys.exit('histogram %s %s: buckets not cumulative' % (fam.name, key))\n"
    "print('\\n'.join(out))\n";

#define PY "/usr/bin/python3"

static void need_parser(void) {
  if (access(PY, X_OK) != 0)
    NH_SKIP(PY " missing");
  if (system(PY " -c 'import prometheus_client.parser' 2>/dev/null") != 0)
    NH_SKIP("python3-prometheus-client missing (scripts/install-deps.sh test)");
}

/* ---- the servers ---- */

static atomic_int slow_entered, slow_release;

static void item(nh_response_writer *w, nh_request *r) {
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain");
  nh_resp_printf(w, "item %s", nh_request_path_value(r, "id"));
}

static void created(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_resp_write_header(w, 201);
}

/* Stays in flight until the case lets it go (bounded: 20 s). */
static void slow(nh_response_writer *w, nh_request *r) {
  (void)r;
  atomic_store(&slow_entered, 1);
  for (int i = 0; i < 20000 && !atomic_load(&slow_release); i++)
    nh_sleep(NH_MSEC);
  nh_resp_write_string(w, "slow done");
}

typedef struct env {
  nh_mux *mux;
  nh_test_server *pub, *dbg;
  nh_handler debug;
} env;

/* max_conns_per_ip of the next public server (0: none). */
static int env_max_conns_per_ip;

/* Patterns /r/0 ... /r/(nroutes-1) besides the usual ones. */
static void env_start_with(env *e, int disable_metrics, nh_transport *t, int loops, int nroutes) {
  e->mux = nh_mux_new();
  CHECK(e->mux);
  CHECK_EQ(nh_mux_handle_func(e->mux, "GET /items/{id}", item, NULL), NH_OK);
  CHECK_EQ(nh_mux_handle_func(e->mux, "POST example.com/items/", created, NULL), NH_OK);
  CHECK_EQ(nh_mux_handle_func(e->mux, "/slow", slow, NULL), NH_OK);
  for (int i = 0; i < nroutes; i++) {
    char pat[32];
    snprintf(pat, sizeof pat, "/r/%d", i);
    CHECK_EQ(nh_mux_handle_func(e->mux, pat, created, NULL), NH_OK);
  }
  nh_handler h = nh_mux_handler(e->mux);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = h.fn;
  cfg.handler_data = h.data;
  cfg.disable_metrics = disable_metrics;
  cfg.max_conns_per_ip = env_max_conns_per_ip;
  e->pub = nh_test_server_new(NULL, &cfg, loops);
  CHECK(e->pub);
  nh_server *srv = nh_test_server_server(e->pub);
  nh_debug_config dc = {.servers = &srv, .nservers = 1, .transports = t ? &t : NULL,
                        .ntransports = t ? 1 : 0};
  e->debug = nh_debug_handler(&dc);
  CHECK(e->debug.fn);
  nh_server_config dcfg = NH_SERVER_CONFIG_DEFAULT;
  dcfg.handler = e->debug.fn;
  dcfg.handler_data = e->debug.data;
  e->dbg = nh_test_server_new(NULL, &dcfg, 1);
  CHECK(e->dbg);
}

static void env_start(env *e, int disable_metrics, nh_transport *t) {
  env_start_with(e, disable_metrics, t, 2, 0);
}

static void env_stop(env *e) {
  CHECK_EQ(nh_test_server_close(e->dbg, NULL), NH_OK);
  CHECK_EQ(nh_test_server_close(e->pub, NULL), NH_OK);
  nh_debug_handler_free(e->debug);
  nh_mux_free(e->mux);
}

static void request(env *e, const char *method, const char *target, const char *host, int want) {
  char req[512];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", method,
           target, host);
  raw_resp r = raw_roundtrip(nh_test_server_port(e->pub), req);
  CHECK(r.complete);
  CHECK_EQ(r.status, want);
  raw_resp_free(&r);
}

/* ---- scraping ---- */

typedef struct scrape {
  char *text;   /* the parser's samples, one per line */
  char *raw;    /* the exposition as served */
} scrape;

/* GET /metrics from the debug server, parsed by the Python parser. */
static scrape scrape_now(env *e) {
  raw_resp r = raw_roundtrip(nh_test_server_port(e->dbg), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(r.complete);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  char dir[] = "/tmp/nh-metrics-XXXXXX";
  CHECK(mkdtemp(dir));
  char py[64], in[64], out[64], cmd[256];
  snprintf(py, sizeof py, "%s/parse.py", dir);
  snprintf(in, sizeof in, "%s/in.txt", dir);
  snprintf(out, sizeof out, "%s/out.txt", dir);
  FILE *f = fopen(py, "w");
  CHECK(f);
  fputs(PARSE_PY, f);
  fclose(f);
  f = fopen(in, "w");
  CHECK(f);
  CHECK_EQ(fwrite(r.body, 1, r.blen, f), r.blen);
  fclose(f);
  snprintf(cmd, sizeof cmd, PY " %s < %s > %s", py, in, out);
  int st = system(cmd);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "the exposition the parser refused:\n%s\n", r.body);
    NH_FAIL("prometheus_client's parser: exit status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  f = fopen(out, "r");
  CHECK(f);
  char *text = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&text, &cap, 0, f);
  CHECK(n > 0);
  fclose(f);
  unlink(py);
  unlink(in);
  unlink(out);
  rmdir(dir);
  scrape s = {text, r.body};
  r.body = NULL;
  raw_resp_free(&r);
  return s;
}

static void scrape_free(scrape *s) {
  free(s->text);
  free(s->raw);
}

/* The value of the sample whose line starts with key ("name{labels}"),
 * or -1 if there is none. */
static double value_of(const scrape *s, const char *key) {
  size_t k = strlen(key);
  for (const char *p = s->text; p && *p;) {
    const char *nl = strchr(p, '\n');
    if (strncmp(p, key, k) == 0 && p[k] == ' ')
      return strtod(p + k + 1, NULL);
    p = nl ? nl + 1 : NULL;
  }
  return -1;
}

/* The requests counted in every series of the histogram together. */
static int total_count(const scrape *s) {
  static const char key[] = "http_server_request_duration_seconds_count{";
  int n = 0;
  for (const char *p = strstr(s->text, key); p; p = strstr(p + 1, key)) {
    const char *v = strchr(p, ' ');
    CHECK(v);
    n += atoi(v + 1);
  }
  return n;
}

#define COUNT(route_labels)                                                                    \
  "http_server_request_duration_seconds_count{" route_labels "}"
#define ITEMS_200                                                                              \
  COUNT("http_request_method=GET,http_response_status_code=200,http_route=/items/{id},"      \
        "network_protocol_version=1.1,url_scheme=http")

/* ---- the cases ---- */

NH_TEST(n_requests_count_exactly_n_under_their_pattern) {
  need_parser();
  env e;
  env_start(&e, 0, NULL);
  enum { N = 37 };
  char target[64];
  for (int i = 0; i < N; i++) { /* a different path each time, one pattern */
    snprintf(target, sizeof target, "/items/%d", i);
    request(&e, "GET", target, "x", 200);
  }
  for (int i = 0; i < 3; i++)
    request(&e, "GET", "/nowhere", "x", 404);
  request(&e, "POST", "/items/", "example.com", 201);
  request(&e, "BREW", "/items/", "example.com", 405);
  /* The server counts a request once its response is sent, on its own
   * loop: wait until all are in, then each series must be exact. */
  scrape s = scrape_now(&e);
  for (int i = 0; i < 2000 && total_count(&s) < N + 5; i++) {
    scrape_free(&s);
    nh_sleep(5 * NH_MSEC);
    s = scrape_now(&e);
  }
  CHECK_EQ(total_count(&s), N + 5);
  CHECK_EQ((int)value_of(&s, ITEMS_200), N);
  /* No route: the mux's 404 has no pattern, so no http_route label. */
  CHECK_EQ((int)value_of(&s, COUNT("http_request_method=GET,http_response_status_code=404,"
                                   "network_protocol_version=1.1,url_scheme=http")), 3);
  /* The pattern's host and method are not part of http_route. */
  CHECK_EQ((int)value_of(&s, COUNT("http_request_method=POST,http_response_status_code=201,"
                                   "http_route=/items/,network_protocol_version=1.1,"
                                   "url_scheme=http")), 1);
  /* An unknown method is _OTHER (a bounded label). */
  CHECK(strstr(s.text, "_count{http_request_method=_OTHER,http_response_status_code=405,"));
  CHECK(!strstr(s.text, "BREW"));
  /* Never a raw path. */
  CHECK(!strstr(s.raw, "/items/1"));
  CHECK(!strstr(s.raw, "/nowhere"));
  /* Every request of the server, and no more. */
  CHECK_EQ((int)value_of(&s, "nethttp_server_requests_total{}"), N + 5);
  /* The sum is the durations': positive, and far below N times 10 s. */
  double sum = value_of(&s, "http_server_request_duration_seconds_sum{http_request_method=GET,"
                            "http_response_status_code=200,http_route=/items/{id},"
                            "network_protocol_version=1.1,url_scheme=http}");
  CHECK(sum > 0 && sum < N * 10.0);
  /* Scrapes do not count: the debug server is not among those reported. */
  scrape_free(&s);
  s = scrape_now(&e);
  CHECK_EQ((int)value_of(&s, ITEMS_200), N);
  /* Every connection closed (one per raw request) under reason "done"
   * or "client"; none is open now but maybe the last few closing. */
  CHECK(value_of(&s, "nethttp_server_connections_accepted_total{}") >= N + 5);
  CHECK(value_of(&s, "nethttp_server_connections{state=idle}") >= 0);
  CHECK(value_of(&s, "nethttp_server_timeouts_total{kind=header}") == 0);
  scrape_free(&s);
  env_stop(&e);
}

NH_TEST(connections_refused_at_accept_are_counted_by_reason) {
  need_parser();
  env e;
  env_max_conns_per_ip = 1;
  env_start(&e, 0, NULL);
  env_max_conns_per_ip = 0;
  raw_conn *kept = raw_dial(nh_test_server_port(e.pub));
  raw_resp r;
  CHECK_EQ(raw_sends(kept->fd, "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(kept, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  raw_conn *over = raw_dial(nh_test_server_port(e.pub));
  CHECK(raw_closed(over, 10000)); /* a second one from 127.0.0.1 */
  scrape s = scrape_now(&e);
  CHECK_EQ((int)value_of(&s, "nethttp_server_connections_refused_total{reason=per_ip}"), 1);
  CHECK_EQ((int)value_of(&s, "nethttp_server_connections_refused_total{reason=hook}"), 0);
  scrape_free(&s);
  raw_hang_up(over);
  raw_hang_up(kept);
  env_stop(&e);
}

static void *slow_client(void *arg) {
  env *e = arg;
  request(e, "GET", "/slow", "x", 200);
  return NULL;
}

#define ACTIVE_GET "http_server_active_requests{http_request_method=GET,url_scheme=http}"

NH_TEST(active_requests_counts_a_handler_in_flight) {
  need_parser();
  env e;
  env_start(&e, 0, NULL);
  atomic_store(&slow_entered, 0);
  atomic_store(&slow_release, 0);
  scrape s = scrape_now(&e);
  CHECK_EQ((int)value_of(&s, ACTIVE_GET), 0);
  scrape_free(&s);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, slow_client, &e), 0);
  CHECK_SOON(atomic_load(&slow_entered));
  s = scrape_now(&e);
  CHECK_EQ((int)value_of(&s, ACTIVE_GET), 1);
  CHECK_EQ((int)value_of(&s, "nethttp_server_connections{state=active}"), 1);
  scrape_free(&s);
  atomic_store(&slow_release, 1);
  pthread_join(th, NULL);
  const char *slow_count = COUNT("http_request_method=GET,http_response_status_code=200,"
                                 "http_route=/slow,network_protocol_version=1.1,url_scheme=http");
  s = scrape_now(&e);
  for (int i = 0; i < 2000 && value_of(&s, slow_count) < 1; i++) {
    scrape_free(&s);
    nh_sleep(5 * NH_MSEC);
    s = scrape_now(&e);
  }
  CHECK_EQ((int)value_of(&s, slow_count), 1);
  CHECK_EQ((int)value_of(&s, ACTIVE_GET), 0);
  scrape_free(&s);
  env_stop(&e);
}

NH_TEST(process_figures_are_present_and_sane) {
  need_parser();
  env e;
  env_start(&e, 0, NULL);
  scrape s = scrape_now(&e);
  double cpu = value_of(&s, "process_cpu_seconds_total{}");
  double rss = value_of(&s, "process_resident_memory_bytes{}");
  double vsz = value_of(&s, "process_virtual_memory_bytes{}");
  double fds = value_of(&s, "process_open_fds{}");
  double maxfds = value_of(&s, "process_max_fds{}");
  double start = value_of(&s, "process_start_time_seconds{}");
  CHECK(cpu > 0);
  CHECK(rss > 1 << 20 && vsz >= rss);
  struct rlimit rl;
  CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  CHECK_EQ((long long)maxfds, (long long)rl.rlim_cur);
  /* At least the two listeners, the loops' epoll descriptors and the
   * scrape's socket; fewer than the limit. */
  CHECK(fds >= 4 && fds < maxfds);
  double now = (double)time(NULL);
  CHECK(start <= now + 1 && start > now - 3600); /* a test starts within the hour */
  /* Fifty more descriptors open show (give or take a closing socket). */
  int extra[50];
  for (int i = 0; i < 50; i++)
    CHECK((extra[i] = dup(2)) >= 0);
  scrape t = scrape_now(&e);
  double more = value_of(&t, "process_open_fds{}");
  CHECK(more >= fds + 45 && more <= fds + 55);
  for (int i = 0; i < 50; i++)
    close(extra[i]);
  CHECK(value_of(&t, "process_cpu_seconds_total{}") >= cpu);
  CHECK_EQ(value_of(&t, "process_start_time_seconds{}"), start);
  scrape_free(&t);
  scrape_free(&s);
  env_stop(&e);
}

NH_TEST(transport_pool_figures) {
  need_parser();
  nh_transport *t = nh_transport_new(NULL);
  CHECK(t);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  CHECK(c);
  env e;
  env_start(&e, 0, t);
  char url[128];
  enum { M = 5 };
  for (int i = 0; i < M; i++) {
    snprintf(url, sizeof url, "%s/items/%d", nh_test_server_url(e.pub), i);
    nh_response *resp;
    CHECK_EQ(nh_client_get(c, url, &resp), NH_OK);
    free(answer_body(resp, 200, NULL)); /* checks the status, reads, closes */
  }
  scrape s = scrape_now(&e);
  CHECK_EQ((int)value_of(&s, "nethttp_client_requests_total{transport=0}"), M);
  /* One connection, kept and reused: one dial, M-1 reuses, one idle. */
  CHECK_EQ((int)value_of(&s, "nethttp_client_dials_total{transport=0}"), 1);
  CHECK_EQ((int)value_of(&s, "nethttp_client_connections_reused_total{transport=0}"), M - 1);
  CHECK_EQ((int)value_of(&s, "http_client_open_connections{http_connection_state=idle,transport=0}"), 1);
  CHECK_EQ((int)value_of(&s, "http_client_open_connections{http_connection_state=active,transport=0}"), 0);
  scrape_free(&s);
  nh_client_free(c);
  nh_transport_free(t);
  env_stop(&e);
}

NH_TEST(disabled_metrics_record_no_request) {
  need_parser();
  env e;
  env_start(&e, 1, NULL);
  request(&e, "GET", "/items/1", "x", 200);
  scrape s = scrape_now(&e);
  CHECK(value_of(&s, "nethttp_server_requests_total{}") == 1);
  CHECK(!strstr(s.text, "http_server_request_duration_seconds_count"));
  scrape_free(&s);
  env_stop(&e);
}

/* A loop keeps at most 384 series (metrics.h): the requests of routes
 * beyond are counted, all of them, in the one overflow series. */
NH_TEST(routes_beyond_the_table_go_to_one_overflow_series) {
  need_parser();
  env e;
  enum { ROUTES = 400, KEPT = 384 };
  env_start_with(&e, 0, NULL, 1, ROUTES);
  char target[32];
  for (int i = 0; i < ROUTES; i++) {
    snprintf(target, sizeof target, "/r/%d", i);
    request(&e, "GET", target, "x", 201);
  }
  const char *other = "http_server_request_duration_seconds_count{http_request_method=_OTHER,"
                      "http_route=_OTHER,url_scheme=http}";
  scrape s = scrape_now(&e);
  for (int i = 0; i < 2000 && total_count(&s) < ROUTES; i++) {
    scrape_free(&s);
    nh_sleep(5 * NH_MSEC);
    s = scrape_now(&e);
  }
  CHECK_EQ(total_count(&s), ROUTES);
  CHECK_EQ((int)value_of(&s, other), ROUTES - KEPT);
  /* The first KEPT routes have their own series, one request each. */
  int own = 0;
  for (int i = 0; i < ROUTES; i++) {
    char key[256];
    snprintf(key, sizeof key, COUNT("http_request_method=GET,http_response_status_code=201,"
                                    "http_route=/r/%d,network_protocol_version=1.1,url_scheme=http"), i);
    double v = value_of(&s, key);
    CHECK(v == -1 || v == 1);
    own += v == 1;
  }
  CHECK_EQ(own, KEPT);
  scrape_free(&s);
  env_stop(&e);
}

/* The same requests over HTTP/1.1 with TLS, h2c and h2 (nethttp's client
 * speaking only that protocol, tests/server/protocols.h): each is counted
 * under its protocol version and scheme, and HTTP/2 streams as streams. */
NH_TEST(protocol_version_and_scheme_label_each_request) {
  need_parser();
  static const struct {
    int proto;
    const char *labels;
  } cases[] = {
      {PT_H1_TLS, "network_protocol_version=1.1,url_scheme=https"},
      {PT_H2C, "network_protocol_version=2,url_scheme=http"},
      {PT_H2, "network_protocol_version=2,url_scheme=https"},
  };
  enum { M = 7 };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    env e = {0};
    e.mux = nh_mux_new();
    CHECK(e.mux);
    CHECK_EQ(nh_mux_handle_func(e.mux, "GET /items/{id}", item, NULL), NH_OK);
    nh_handler h = nh_mux_handler(e.mux);
    nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
    cfg.handler = h.fn;
    cfg.handler_data = h.data;
    pt_env p;
    pt_start(&p, cases[k].proto, NULL, &cfg);
    e.pub = p.ts;
    nh_server *srv = nh_test_server_server(p.ts);
    nh_debug_config dc = {.servers = &srv, .nservers = 1, .transports = &p.t, .ntransports = 1};
    e.debug = nh_debug_handler(&dc);
    nh_server_config dcfg = NH_SERVER_CONFIG_DEFAULT;
    dcfg.handler = e.debug.fn;
    dcfg.handler_data = e.debug.data;
    e.dbg = nh_test_server_new(NULL, &dcfg, 1);
    CHECK(e.dbg);
    for (int i = 0; i < M; i++) {
      char path[32];
      snprintf(path, sizeof path, "/items/%d", i);
      pt_result r = pt_get(&p, path);
      CHECK_EQ(r.err, NH_OK);
      CHECK_EQ(r.status, 200);
      pt_result_free(&r);
    }
    char key[256];
    snprintf(key, sizeof key, COUNT("http_request_method=GET,http_response_status_code=200,"
                                    "http_route=/items/{id},%s"), cases[k].labels);
    scrape s = scrape_now(&e);
    for (int i = 0; i < 2000 && value_of(&s, key) < M; i++) {
      scrape_free(&s);
      nh_sleep(5 * NH_MSEC);
      s = scrape_now(&e);
    }
    CHECK_EQ((int)value_of(&s, key), M);
    int h2 = pt_is_h2(cases[k].proto);
    CHECK_EQ((int)value_of(&s, "nethttp_server_http2_streams_total{}"), h2 ? M : 0);
    CHECK_EQ((int)value_of(&s, "nethttp_server_http2_connections_total{}"), h2 ? 1 : 0);
    CHECK_EQ((int)value_of(&s, "nethttp_client_requests_total{transport=0}"), M);
    /* Only the scheme the server serves has in-flight gauges. */
    CHECK(value_of(&s, strstr(cases[k].labels, "https")
                           ? "http_server_active_requests{http_request_method=GET,url_scheme=http}"
                           : "http_server_active_requests{http_request_method=GET,url_scheme=https}") == -1);
    scrape_free(&s);
    CHECK_EQ(nh_test_server_close(e.dbg, NULL), NH_OK);
    nh_debug_handler_free(e.debug);
    pt_stop(&p);
    nh_mux_free(e.mux);
  }
}

NH_TEST_MAIN()
