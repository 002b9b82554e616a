/* The live page (/debug/) and its feed (/debug/live.json), over real
 * sockets: an application server under load, and the debug handler on a
 * second, private server that reports on it. The page itself is loaded in
 * headless Chromium (live_page_cdp.py beside this file) and must render
 * with no console error while its charts move. */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "nethttp/debug.h"
#include "nethttp/httptest.h"
#include "server/rawclient.h"

static atomic_int held, release;

/* "/hold" parks until the test releases it; anything else says hello. */
static void app(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/hold")) {
    atomic_store(&held, 1);
    while (!atomic_load(&release))
      nh_sleep(5 * NH_MSEC);
    nh_resp_write_string(w, "released\n");
    return;
  }
  nh_resp_write_string(w, "hello\n");
}

typedef struct pair {
  nh_test_server *app, *dbg;
  nh_handler h;
} pair;

/* The application server, and the debug handler serving its figures on a
 * server of its own (as a program mounts it on a private listener). */
static pair pair_start_with(const nh_server_config *app_cfg) {
  pair p;
  p.app = nh_test_server_new(app, app_cfg, 2);
  CHECK(p.app);
  nh_server *srv = nh_test_server_server(p.app);
  nh_debug_config dc = {.runtime = nh_test_server_runtime(p.app), .servers = &srv, .nservers = 1};
  p.h = nh_debug_handler(&dc);
  CHECK(p.h.fn);
  nh_server_config c = NH_SERVER_CONFIG_DEFAULT;
  c.handler = p.h.fn;
  c.handler_data = p.h.data;
  p.dbg = nh_test_server_new(NULL, &c, 1);
  CHECK(p.dbg);
  return p;
}

static pair pair_start(void) { return pair_start_with(NULL); }

static void pair_stop(pair *p) {
  CHECK_EQ(nh_test_server_close(p->dbg, NULL), 0);
  CHECK_EQ(nh_test_server_close(p->app, NULL), 0);
  nh_debug_handler_free(p->h);
}

static raw_resp get(int port, const char *path) {
  char req[256];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
           path);
  raw_resp r = raw_roundtrip(port, req);
  CHECK(r.complete);
  return r;
}

static json_t *live(pair *p) {
  raw_resp r = get(nh_test_server_port(p->dbg), "/debug/live.json");
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
  json_error_t err;
  json_t *j = json_loads(r.body, 0, &err);
  if (!j)
    NH_FAIL("live.json is not JSON (%s): %s", err.text, r.body);
  raw_resp_free(&r);
  return j;
}

static long long num(json_t *j, const char *obj, const char *key) {
  json_t *o = obj ? json_object_get(j, obj) : j;
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v))
    NH_FAIL("live.json: %s.%s is not an integer", obj ? obj : "", key);
  return json_integer_value(v);
}

/* The latency object of live.json: bounds in seconds ascending, the last
 * one "+Inf", as many counts (not cumulative) that add up to its count.
 * Returns that count. */
static long long latency_count(json_t *j) {
  json_t *lat = json_object_get(j, "latency");
  if (!json_is_object(lat))
    NH_FAIL("live.json: latency is not an object");
  json_t *le = json_object_get(lat, "le"), *counts = json_object_get(lat, "counts");
  CHECK(json_is_array(le) && json_is_array(counts));
  size_t n = json_array_size(le);
  CHECK(n >= 2);
  CHECK_EQ(json_array_size(counts), n);
  double prev = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    json_t *b = json_array_get(le, i);
    CHECK(json_is_number(b));
    CHECK(json_number_value(b) > prev);
    prev = json_number_value(b);
  }
  CHECK_STR(json_string_value(json_array_get(le, n - 1)), "+Inf");
  long long sum = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *c = json_array_get(counts, i);
    CHECK(json_is_integer(c) && json_integer_value(c) >= 0);
    sum += json_integer_value(c);
  }
  long long count = num(j, "latency", "count");
  CHECK_EQ(sum, count);
  CHECK(json_is_number(json_object_get(lat, "sum")));
  CHECK(json_number_value(json_object_get(lat, "sum")) >= 0);
  return count;
}

/* One keep-alive GET / on c; the response must be the handler's. */
static void hello(raw_conn *c) {
  CHECK_EQ(raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "hello\n");
  raw_resp_free(&r);
}

/* N requests make a request counter of exactly N; the connection that
 * carried them, left open, shows as idle; a handler that waits shows as an
 * active connection and a parked fiber; memory and the clock are there;
 * and the request-duration histogram has measured every request served
 * (a request is measured when its response is done). */
NH_TEST(live_json_reports_the_servers_figures) {
  pair p = pair_start();
  json_t *j0 = live(&p);
  CHECK_EQ(num(j0, NULL, "requests"), 0);
  CHECK_EQ(num(j0, NULL, "servers"), 1);

  enum { N = 25 };
  raw_conn *c = raw_dial(nh_test_server_port(p.app));
  CHECK(c->fd >= 0);
  for (int i = 0; i < N; i++)
    hello(c);
  /* The server marks the connection idle once it waits for the next
   * request, just after the last answer went out. */
  json_t *j = NULL;
  for (int i = 0; i < 200; i++) {
    json_decref(j);
    j = live(&p);
    if (num(j, "conns", "idle") == 1)
      break;
    nh_sleep(10 * NH_MSEC);
  }
  CHECK_EQ(num(j, NULL, "requests"), N);
  CHECK_EQ(num(j, NULL, "accepted"), 1);
  CHECK_EQ(num(j, NULL, "closed"), 0);
  CHECK_EQ(num(j, "conns", "idle"), 1);
  CHECK_EQ(num(j, "conns", "active"), 0);
  CHECK(num(j, "fibers", "parked") <= num(j, "fibers", "live"));
  CHECK(json_is_false(json_object_get(json_object_get(j, "fibers"), "stalled")));
  CHECK_EQ(num(j, "fibers", "loops"), 2);
  CHECK(num(j, "memory", "rss") > 0);
  CHECK(num(j, "memory", "fiber_stacks") > 0);
  CHECK_EQ(latency_count(j0), 0);
  CHECK_EQ(latency_count(j), N);
  CHECK(json_number_value(json_object_get(json_object_get(j, "latency"), "sum")) > 0);
  CHECK(json_real_value(json_object_get(j, "t")) > json_real_value(json_object_get(j0, "t")));
  json_decref(j0);
  json_decref(j);

  /* A request whose handler waits shows as an active connection and one
   * more parked fiber; answered, it is one more request. */
  j = live(&p);
  long long parked0 = num(j, "fibers", "parked");
  json_decref(j);
  raw_conn *held_conn = raw_dial(nh_test_server_port(p.app));
  CHECK(held_conn->fd >= 0);
  CHECK_EQ(raw_sends(held_conn->fd, "GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 0);
  CHECK_SOON(atomic_load(&held));
  j = NULL;
  for (int i = 0; i < 500; i++) {
    json_decref(j);
    j = live(&p);
    if (num(j, "fibers", "parked") > parked0 && num(j, "conns", "active") == 1)
      break;
    nh_sleep(10 * NH_MSEC);
  }
  CHECK_EQ(num(j, "conns", "active"), 1);
  CHECK_EQ(num(j, "conns", "idle"), 1);
  CHECK(num(j, "fibers", "parked") > parked0);
  CHECK_EQ(num(j, NULL, "requests"), N + 1); /* counted when it came in */
  CHECK_EQ(latency_count(j), N);             /* measured when it is done */
  json_decref(j);
  atomic_store(&release, 1);
  raw_resp hr;
  CHECK_EQ(raw_read(held_conn, &hr, 0), 0);
  CHECK_STR(hr.body, "released\n");
  raw_resp_free(&hr);
  raw_hang_up(held_conn);

  /* Closed, it leaves the gauges and counts as closed. */
  raw_hang_up(c);
  for (int i = 0; i < 200; i++) {
    j = live(&p);
    if (num(j, NULL, "closed") == 2)
      break;
    json_decref(j);
    j = NULL;
    nh_sleep(10 * NH_MSEC);
  }
  CHECK(j);
  CHECK_EQ(num(j, "conns", "idle"), 0);
  CHECK_EQ(num(j, "conns", "active"), 0);
  CHECK_EQ(num(j, NULL, "requests"), N + 1);
  CHECK_EQ(latency_count(j), N + 1);
  json_decref(j);
  pair_stop(&p);
}

/* A server that keeps no request figures (disable_metrics) has no
 * histogram to read: the latency is null rather than made up, while the
 * request counter still counts. */
NH_TEST(live_json_latency_is_null_without_request_metrics) {
  nh_server_config c = NH_SERVER_CONFIG_DEFAULT;
  c.disable_metrics = 1;
  pair p = pair_start_with(&c);
  raw_resp r = get(nh_test_server_port(p.app), "/");
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  json_t *j = live(&p);
  CHECK_EQ(num(j, NULL, "requests"), 1);
  CHECK(json_is_null(json_object_get(j, "latency")));
  json_decref(j);
  pair_stop(&p);
}

/* The page is one HTML document that names nothing outside itself (no
 * script, style, font or image to fetch), says so in its
 * Content-Security-Policy, and links to every debug page. */
NH_TEST(page_is_self_contained_and_links_the_pages) {
  pair p = pair_start();
  raw_resp r = get(nh_test_server_port(p.dbg), "/debug/");
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "text/html; charset=utf-8");
  CHECK_CONTAINS(raw_header(&r, "Content-Security-Policy"), "default-src 'none'");
  CHECK(r.blen > 1000);
  CHECK(!strncmp(r.body, "<!DOCTYPE html>", 15));
  CHECK_CONTAINS(r.body, "</html>");
  CHECK_CONTAINS(r.body, "<canvas");
  /* Nothing is loaded from elsewhere: no src= at all, no stylesheet or
   * import, no absolute URL. */
  CHECK(!strstr(r.body, " src="));
  CHECK(!strstr(r.body, "stylesheet"));
  CHECK(!strstr(r.body, "@import"));
  CHECK(!strstr(r.body, "url("));
  CHECK(!strstr(r.body, "http://"));
  CHECK(!strstr(r.body, "https://"));
  CHECK(!strstr(r.body, "\"//"));
  const char *links[] = {"href=\"fibers\"", "href=\"fibers?debug=2\"",
                         "href=\"pprof/profile?seconds=30\"", "href=\"pprof/mutex\"",
                         "href=\"pprof/block\"", "href=\"heap\"", "href=\"trace?seconds=5\"",
                         "href=\"vars\"", "href=\"../metrics\"", "'live.json'"};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    CHECK_CONTAINS(r.body, links[i]);
  raw_resp_free(&r);
  pair_stop(&p);
}

/* ---- the page in a browser ---- */

typedef struct load {
  int port;
  atomic_int stop;
  atomic_long done;
} load;

/* Keep-alive requests, with a new connection every 50 so that the rate of
 * accepted connections moves too. Plain blocking sockets on a plain
 * thread: the load owes nothing to the library it loads. */
static void *load_main(void *arg) {
  load *l = arg;
  while (!atomic_load(&l->stop)) {
    raw_conn *c = raw_dial(l->port);
    CHECK(c->fd >= 0);
    for (int i = 0; i < 50 && !atomic_load(&l->stop); i++) {
      hello(c);
      atomic_fetch_add(&l->done, 1);
      /* A stream, not a flood (the browser needs the CPU), whose pace
       * changes every ten seconds, as real traffic does. */
      usleep((useconds_t)(1000 + 1500 * ((nh_now() / (10 * NH_SEC)) % 3)));
    }
    raw_hang_up(c);
  }
  return NULL;
}

/* The source directory of this file, where live_page_cdp.py is. */
static void here(char *out, size_t cap) {
  snprintf(out, cap, "%s", __FILE__);
  char *slash = strrchr(out, '/');
  CHECK(slash);
  *slash = 0;
}

/* Runs argv, its output to a file, killed by pid after secs; returns its
 * exit status (-1 if killed) and what it printed (malloc'd) in *printed. */
static int run(char *const argv[], int secs, char **printed) {
  char out[64];
  snprintf(out, sizeof out, "/tmp/nh_live_page_%d.out", (int)getpid());
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(o, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0, code = -1;
  for (int i = 0; i < secs * 10; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid = 0;
      break;
    }
    usleep(100 * 1000);
  }
  if (pid) {
    /* SIGTERM first: the driver then kills its Chromium's process group. */
    kill(pid, SIGTERM);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
      gone = waitpid(pid, &status, WNOHANG) == pid;
      if (!gone)
        usleep(100 * 1000);
    }
    if (!gone) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }
  FILE *f = fopen(out, "rb");
  CHECK(f);
  *printed = calloc(1, 1 << 16);
  CHECK(*printed);
  size_t n = fread(*printed, 1, (1 << 16) - 1, f);
  (*printed)[n] = 0;
  fclose(f);
  unlink(out);
  return code;
}

/* Headless Chromium loads /debug/ while requests run: no console error,
 * no uncaught exception, nothing fetched from another origin, and the
 * request counter, the rate and each chart's points grow between two
 * readings. NH_LIVE_PAGE_SCREENSHOT=path.png also takes a picture of it,
 * NH_LIVE_PAGE_SHOT_WAIT seconds in (docs/img/debug-page.png is one). */
NH_TEST(page_in_chromium_has_no_error_and_moves_under_load) {
  if (system("command -v chromium >/dev/null 2>&1") != 0)
    NH_SKIP("chromium not installed");
  if (system("/usr/bin/python3 -c 'import websocket' >/dev/null 2>&1") != 0)
    NH_SKIP("/usr/bin/python3 without the websocket module (python3-websocket)");
  char dir[512], script[600], url[128];
  here(dir, sizeof dir);
  snprintf(script, sizeof script, "%s/live_page_cdp.py", dir);
  struct stat st;
  if (stat(script, &st) != 0)
    NH_FAIL("%s not found", script);

  pair p = pair_start();
  load l = {.port = nh_test_server_port(p.app)};
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, load_main, &l), 0);
  CHECK_SOON(atomic_load(&l.done) > 0);

  snprintf(url, sizeof url, "%s/debug/", nh_test_server_url(p.dbg));
  const char *shot = getenv("NH_LIVE_PAGE_SCREENSHOT");
  char *argv[] = {"/usr/bin/python3", script, url, (char *)shot, NULL};
  char *printed = NULL;
  const char *wait = getenv("NH_LIVE_PAGE_SHOT_WAIT"); /* seconds before the picture */
  int code = run(argv, 200 + (shot && wait ? atoi(wait) : 0), &printed);
  fprintf(stderr, "%s", printed);

  atomic_store(&l.stop, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  nh_server_stats s;
  nh_server_stats_get(nh_test_server_server(p.app), &s);
  /* The load hung up: the page's gauges come back to no connection. */
  json_t *j = NULL;
  for (int i = 0; i < 500; i++) {
    json_decref(j);
    j = live(&p);
    if (num(j, "conns", "idle") + num(j, "conns", "active") + num(j, "conns", "new") == 0)
      break;
    nh_sleep(10 * NH_MSEC);
  }
  char *dump = json_dumps(j, JSON_COMPACT);
  fprintf(stderr, "after the load: %s\n", dump);
  free(dump);
  CHECK_EQ(num(j, "conns", "idle") + num(j, "conns", "active") + num(j, "conns", "new"), 0);
  CHECK_EQ(num(j, NULL, "closed"), num(j, NULL, "accepted"));
  json_decref(j);
  pair_stop(&p);

  if (code == NH_SKIP_CODE)
    NH_SKIP("the browser check skipped: %s", printed);
  if (code != 0)
    NH_FAIL("the browser check failed (exit %d)", code);
  CHECK_CONTAINS(printed, "ok: ");
  /* What the page counted is what the server counted, at an earlier moment. */
  const char *ok = strstr(printed, "ok: ");
  long long samples = 0, counted = 0;
  CHECK_EQ(sscanf(ok, "ok: %lld samples, %lld requests counted", &samples, &counted), 2);
  CHECK(counted > 0);
  CHECK(counted <= s.requests);
  CHECK(s.requests == atomic_load(&l.done));
  free(printed);
}

NH_TEST_MAIN()
