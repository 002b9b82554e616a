/* nethttp load URL — a load generator like hey, on the library's client:
 * N callers are fibers spread over a runtime of one loop per core, each
 * loop with its own keep-alive pool (a connection never changes loops).
 * Each loop keeps one histogram and tallies for its callers, which run one
 * at a time on its thread: recording costs no lock and no shared cache
 * line, and hundreds of callers do not each drag kilobytes of counters
 * through the cache. They are merged once at the end. The main thread only watches: a live
 * line on a terminal, Ctrl-C to stop early with the results so far.
 *
 * With --h2 it works as h2load does: -c connections, each carrying -m
 * (--streams) requests at once, one caller fiber per stream. Each
 * connection is a client (and transport) of its own; its callers start
 * together and share the one connection the first of them dials (the pool
 * coalesces dials of a host that multiplexes). */
#include "get_args.h"
#include "load_stats.h"
#include "progress.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct load_opts {
  char *url;
  const char *method;
  nh_header *hdr;
  char *body;
  size_t body_len;
  int has_body;
  long concurrency, requests; /* requests -1 with a duration */
  nh_dur duration, timeout;
  double rate; /* requests per second in all; 0 = as fast as possible */
  int threads, json, disable_keepalive, insecure;
  int h2;       /* --h2: HTTP/2 (h2c with prior knowledge for http://) */
  long streams; /* --h2: concurrent streams per connection */
  const char *cacert; /* https: trust these roots instead of the system's */
} load_opts;

typedef struct load_run load_run;

/* When the phases of the request in flight ended (the client's trace). */
typedef struct marks {
  nh_time get_conn, dns_done, got_conn, wrote, first_byte;
  int started; /* the request began at get_conn: its first look for a
                  connection is that moment (no clock read of its own) */
} marks;

/* The figures of one loop's callers. */
typedef struct loop_stats {
  _Alignas(64) lat_hist hist;
  phase_stats phases;
  tally t;
} loop_stats;

typedef struct worker {
  _Alignas(64) _Atomic uint64_t done; /* read by the progress line only */
  load_run *run;
  loop_stats *st; /* its loop's */
  int loop;
  int64_t quota; /* -1: until the run's context ends */
  nh_time ended;
  nh_client_trace trace; /* user: this worker */
  marks m;
  int client; /* which of the run's clients it uses */
} worker;

struct load_run {
  const load_opts *o;
  nh_client **clients; /* one per loop; with --h2 one per connection */
  nh_ctx *ctx;         /* ends the run: the -z deadline, or Ctrl-C */
  nh_dur interval;     /* between a caller's requests under -q */
  _Atomic int finished;
};

static void load_usage(FILE *out) {
  fprintf(out,
          "usage: nethttp load [flags] URL\n\n"
          "Sends requests from concurrent callers and reports latency and throughput.\n\n"
          "  -n N                  requests in all (default 200)\n"
          "  -z DURATION           send for this long instead (10s, 1m); overrides -n\n"
          "  -c N                  concurrent callers (default 50); with --h2, connections\n"
          "  --h2                  HTTP/2: h2 by ALPN for https, h2c (prior knowledge) for http\n"
          "  --streams N           with --h2: concurrent streams per connection (default 1);\n"
          "                        -m N (a number) says the same after --h2, as in h2load\n"
          "  -q RATE               at most RATE requests per second in all\n"
          "  -m METHOD             request method (default GET)\n"
          "  -H 'K: V'             add a header (repeatable)\n"
          "  -d DATA               request body (@FILE reads it from FILE)\n"
          "  -T TYPE               Content-Type of the body\n"
          "  -t TIMEOUT            per-request timeout (default 20s; none = no timeout)\n"
          "  --threads N           event loops (default: one per CPU)\n"
          "  --disable-keepalive   a new connection for every request\n"
          "  --cacert FILE         https: trust the CA certificates in FILE (PEM)\n"
          "  -k, --insecure        https: do not verify the server's certificate\n"
          "  --json                results as one JSON object on stdout\n\n"
          "Latencies are of complete responses (head and body). A request cut by the\n"
          "end of a -z run or by Ctrl-C is not counted. Details split each response's\n"
          "time as hey does: DNS+dialup (getting a connection), DNS-lookup, req write,\n"
          "resp wait (to the first byte) and resp read. On a terminal a live line shows\n"
          "progress, and with -z the time left.\n");
}

/* The trace hooks: a timestamp each, on the caller's own fiber. Redirects
 * and retries overwrite them: the last connection's phases count. */
static void on_get_conn(void *user, const char *host_port) {
  (void)host_port;
  marks *m = &((worker *)user)->m;
  if (m->started)
    m->started = 0; /* the client looks for a connection first thing */
  else
    m->get_conn = nh_now(); /* again: a retry or a redirect */
  m->dns_done = 0;
}
static void on_dns_done(void *user, int err) {
  (void)err;
  ((worker *)user)->m.dns_done = nh_now();
}
static void on_got_conn(void *user, int reused) {
  (void)reused;
  ((worker *)user)->m.got_conn = nh_now();
}
static void on_wrote(void *user, int err) {
  (void)err;
  ((worker *)user)->m.wrote = nh_now();
}
static void on_first_byte(void *user) { ((worker *)user)->m.first_byte = nh_now(); }

/* hey's five phases of a complete request that ended at end. */
static void record_phases(worker *w, nh_time end) {
  const marks *m = &w->m;
  if (!m->get_conn || !m->got_conn || !m->wrote || !m->first_byte)
    return;
  nh_dur d[PHASES] = {
      [PHASE_CONN] = m->got_conn - m->get_conn,
      [PHASE_DNS] = m->dns_done ? m->dns_done - m->get_conn : 0,
      [PHASE_WRITE] = m->wrote - m->got_conn,
      [PHASE_WAIT] = m->first_byte - m->wrote,
      [PHASE_READ] = end - m->first_byte,
  };
  phase_stats_record(&w->st->phases, d);
}

/* The run's request, with its headers (the body is set per turn). */
static nh_client_request *new_request(const load_opts *o, const nh_client_trace *trace) {
  nh_client_request *req = nh_client_request_new(o->method, o->url);
  if (!req)
    return NULL;
  nh_client_request_set_trace(req, trace);
  nh_header *h = nh_client_request_header(req);
  for (size_t k = 0; k < nh_header_len(o->hdr); k++) {
    const char *key, *v;
    nh_header_at(o->hdr, k, &key, &v);
    nh_header_add(h, key, v);
  }
  return req;
}

static void worker_main(void *arg) {
  worker *w = arg;
  load_run *r = w->run;
  const load_opts *o = r->o;
  nh_client *c = r->clients[w->client];
  nh_fiber_set_ctx(r->ctx); /* requests and -q sleeps end with the run */
  nh_fiber_set_label("load caller");
  char buf[16 * 1024];
  /* One request for all the caller's turns, as Go allows once a response
   * is closed: a body is set again before each turn. */
  nh_client_request *req = new_request(o, &w->trace);
  nh_time next = nh_now();
  for (int64_t i = 0; (w->quota < 0 || i < w->quota) && !nh_ctx_err(r->ctx); i++) {
    if (r->interval) {
      next += r->interval;
      if (nh_sleep_until(next))
        break;
    }
    if (!req) {
      tally_error(&w->st->t, NH_ENOMEM);
      req = new_request(o, &w->trace);
      continue;
    }
    int e = o->has_body ? nh_client_request_set_body(req, o->body, o->body_len) : NH_OK;
    nh_time t0 = nh_now();
    w->m = (marks){.get_conn = t0, .started = 1};
    nh_response *resp = NULL;
    if (!e)
      e = nh_client_do(c, req, &resp);
    uint64_t bytes = 0;
    int status = 0;
    if (!e) {
      status = nh_response_status(resp);
      ssize_t n;
      while ((n = nh_response_read(resp, buf, sizeof buf)) > 0)
        bytes += (uint64_t)n;
      if (n < 0)
        e = (int)n;
      nh_response_close(resp);
    }
    nh_time t1 = nh_now();
    nh_dur took = t1 - t0;
    if (e && nh_ctx_err(r->ctx))
      break; /* cut by the end of the run: not the server's doing */
    if (e) {
      tally_error(&w->st->t, e);
    } else {
      tally_status(&w->st->t, status, bytes);
      lat_hist_record(&w->st->hist, took);
      record_phases(w, t1);
    }
    atomic_fetch_add_explicit(&w->done, 1, memory_order_relaxed);
  }
  nh_client_request_free(req);
  w->ended = nh_now();
  atomic_fetch_add_explicit(&r->finished, 1, memory_order_release);
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static int bad_usage(const char *fmt, const char *arg) {
  fprintf(stderr, "nethttp load: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see nethttp load --help)\n");
  return 2;
}

static int parse_long(const char *v, long min, long *out) {
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < min)
    return -1;
  *out = n;
  return 0;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(load_opts *o, int argc, char **argv) {
  const char *url = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    long n;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      load_usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--json")) {
      o->json = 1;
      continue;
    }
    if (!strcmp(a, "-k") || !strcmp(a, "--insecure")) {
      o->insecure = 1;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--cacert", argc, argv, &i, &missing))) {
      o->cacert = v;
      continue;
    }
    if (!strcmp(a, "--h2")) {
      o->h2 = 1;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--streams", argc, argv, &i, &missing))) {
      if (parse_long(v, 1, &o->streams) || o->streams > 10000)
        return bad_usage("--streams wants 1 to 10000, not %s", v);
      continue;
    }
    if (!strcmp(a, "--disable-keepalive")) {
      o->disable_keepalive = 1;
      continue;
    }
    if ((v = cli_flag_value("-n", NULL, argc, argv, &i, &missing))) {
      if (parse_long(v, 1, &o->requests))
        return bad_usage("-n wants a positive number, not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-c", NULL, argc, argv, &i, &missing))) {
      if (parse_long(v, 1, &o->concurrency) || o->concurrency > 100000)
        return bad_usage("-c wants 1 to 100000, not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-z", NULL, argc, argv, &i, &missing))) {
      if (cli_parse_dur(v, &o->duration))
        return bad_usage("-z wants a duration like 10s, not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-q", NULL, argc, argv, &i, &missing))) {
      char *end;
      o->rate = strtod(v, &end);
      if (!*v || *end || !(o->rate > 0))
        return bad_usage("-q wants a positive rate, not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-t", NULL, argc, argv, &i, &missing))) {
      if (!strcmp(v, "none") || !strcmp(v, "0"))
        o->timeout = 0;
      else if (cli_parse_dur(v, &o->timeout))
        return bad_usage("-t wants a duration like 5s (or none), not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-m", NULL, argc, argv, &i, &missing))) {
      o->method = v;
      continue;
    }
    if ((v = cli_flag_value("-H", NULL, argc, argv, &i, &missing))) {
      if (cli_add_header(o->hdr, v))
        return bad_usage("-H wants 'Name: value', not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-T", NULL, argc, argv, &i, &missing))) {
      nh_header_set(o->hdr, "Content-Type", v);
      continue;
    }
    if ((v = cli_flag_value("-d", NULL, argc, argv, &i, &missing))) {
      free(o->body);
      o->body = NULL;
      if (v[0] == '@') {
        int e = cli_read_file(v + 1, &o->body, &o->body_len);
        if (e) {
          fprintf(stderr, "nethttp load: cannot read %s: %s\n", v + 1, nh_strerror(e));
          return 2;
        }
      } else if (!(o->body = strdup(v))) {
        return 2;
      } else {
        o->body_len = strlen(v);
      }
      o->has_body = 1;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--threads", argc, argv, &i, &missing))) {
      if (parse_long(v, 1, &n) || n > 1024)
        return bad_usage("--threads wants 1 to 1024, not %s", v);
      o->threads = (int)n;
      continue;
    }
    if (missing)
      return bad_usage("%s needs a value", a);
    if (a[0] == '-' && a[1])
      return bad_usage("unknown flag %s", a);
    if (url)
      return bad_usage("one URL only; %s is one too many", a);
    url = a;
  }
  if (!url)
    return bad_usage("%s", "no URL given");
  if (!(o->url = cli_url_with_scheme(url)))
    return 2;
  /* h2load's -m: a number where a method would be, with --h2. */
  if (o->h2 && strspn(o->method, "0123456789") == strlen(o->method)) {
    if (parse_long(o->method, 1, &o->streams) || o->streams > 10000)
      return bad_usage("-m with --h2 wants 1 to 10000 streams, not %s", o->method);
    o->method = "GET";
  }
  if (!o->h2 && o->streams > 1)
    return bad_usage("%s", "--streams needs --h2");
  if (o->h2) /* -c counts connections: the callers are their streams */
    o->concurrency *= o->streams;
  if (o->duration)
    o->requests = -1;
  else if (o->requests < o->concurrency)
    o->concurrency = o->requests; /* no caller without work */
  return -1;
}

/* The JSON key of an error kind: "ECONNREFUSED"; 0 collects the rest. */
static const char *err_key(int code) {
  if (!code)
    return "other";
  const char *name = nh_err_name(code);
  return strncmp(name, "NH_", 3) ? name : name + 3;
}

static double ms(nh_dur d) { return (double)d / (double)NH_MSEC; }

static void report_json(const load_opts *o, int loops, nh_dur total, const lat_hist *h,
                        const phase_stats *ph, const tally *t, int64_t dials, int64_t retries, int stopped_early) {
  double secs = (double)total / (double)NH_SEC;
  uint64_t finished = t->responses + t->errors;
  printf("{\"url\":\"");
  for (const char *p = o->url; *p; p++) /* URLs have no control bytes, but quotes must not break JSON */
    printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
  printf("\",\"method\":\"%s\",\"concurrency\":%ld,\"loops\":%d,\"interrupted\":%s,", o->method,
         o->concurrency, loops, stopped_early ? "true" : "false");
  printf("\"total_seconds\":%.6f,\"requests\":%llu,\"responses\":%llu,\"errors\":%llu,", secs,
         (unsigned long long)finished, (unsigned long long)t->responses,
         (unsigned long long)t->errors);
  printf("\"requests_per_second\":%.3f,\"bytes\":%llu,\"connections_opened\":%lld,"
         "\"retries\":%lld,",
         secs > 0 ? (double)finished / secs : 0.0, (unsigned long long)t->bytes, (long long)dials,
         (long long)retries);
  printf("\"latency_ms\":{\"min\":%.4f,\"mean\":%.4f,\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,"
         "\"p99.9\":%.4f,\"max\":%.4f},",
         ms(h->n ? h->min : 0), h->n ? h->sum / (double)h->n / (double)NH_MSEC : 0.0,
         ms(lat_hist_quantile(h, 0.5)), ms(lat_hist_quantile(h, 0.9)),
         ms(lat_hist_quantile(h, 0.99)), ms(lat_hist_quantile(h, 0.999)), ms(h->n ? h->max : 0));
  printf("\"details_ms\":{");
  for (int i = 0; i < PHASES; i++)
    printf("%s\"%s\":{\"mean\":%.4f,\"min\":%.4f,\"max\":%.4f}", i ? "," : "", phase_json_keys[i],
           ph->n ? ph->sum[i] / (double)ph->n / (double)NH_MSEC : 0.0, ms(ph->n ? ph->min[i] : 0),
           ms(ph->n ? ph->max[i] : 0));
  printf("},");
  printf("\"histogram\":[");
  int first = 1;
  for (int i = 0; i < LAT_BUCKETS; i++) {
    if (!h->count[i])
      continue;
    nh_dur upper = i + 1 < LAT_BUCKETS ? lat_bucket_low(i + 1) : h->max;
    printf("%s{\"le_ms\":%.4f,\"count\":%llu}", first ? "" : ",", ms(upper),
           (unsigned long long)h->count[i]);
    first = 0;
  }
  printf("],\"status\":{");
  first = 1;
  for (int s = 0; s < TALLY_STATUS; s++) {
    if (!t->status[s])
      continue;
    if (s)
      printf("%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)t->status[s]);
    else
      printf("%s\"other\":%llu", first ? "" : ",", (unsigned long long)t->status[s]);
    first = 0;
  }
  printf("},\"errors_by_kind\":{");
  first = 1;
  for (int k = 0; k <= TALLY_ERR_KINDS; k++) {
    if (!t->err[k].n)
      continue;
    printf("%s\"%s\":%llu", first ? "" : ",", err_key(t->err[k].code), (unsigned long long)t->err[k].n);
    first = 0;
  }
  printf("}}\n");
}

static void report_text(nh_dur total, const lat_hist *h, const phase_stats *ph, const tally *t,
                        int64_t dials, int64_t retries, int stopped_early) {
  double secs = (double)total / (double)NH_SEC;
  uint64_t finished = t->responses + t->errors;
  char b[32];
  printf("\nSummary:%s\n", stopped_early ? " (interrupted)" : "");
  printf("  Total:        %.4f secs\n", secs);
  if (h->n) {
    printf("  Slowest:      %s\n", lat_format(h->max, b, sizeof b));
    printf("  Fastest:      %s\n", lat_format(h->min, b, sizeof b));
    printf("  Average:      %s\n", lat_format((nh_dur)(h->sum / (double)h->n), b, sizeof b));
  }
  printf("  Requests/sec: %.2f\n", secs > 0 ? (double)finished / secs : 0.0);
  printf("  Total data:   %llu bytes\n", (unsigned long long)t->bytes);
  printf("  Connections:  %lld opened\n", (long long)dials);
  if (retries)
    printf("  Retries:      %lld (sent again on a new connection)\n", (long long)retries);
  printf("  Requests:     %llu (%llu responses, %llu errors)\n", (unsigned long long)finished,
         (unsigned long long)t->responses, (unsigned long long)t->errors);
  if (h->n) {
    printf("\nResponse time histogram:\n");
    lat_hist_print(h, stdout);
    printf("\nLatency distribution:\n");
    static const struct {
      const char *name;
      double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1}};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
      printf("  %-6s %s\n", qs[i].name, lat_format(lat_hist_quantile(h, qs[i].q), b, sizeof b));
  }
  if (ph->n) {
    double n = (double)ph->n, s = (double)NH_SEC;
    printf("\nDetails (average, fastest, slowest):\n");
    for (int i = 0; i < PHASES; i++)
      printf("  %-11s %.4f secs, %.4f secs, %.4f secs\n", phase_names[i], ph->sum[i] / n / s,
             (double)ph->min[i] / s, (double)ph->max[i] / s);
  }
  if (t->responses) {
    printf("\nStatus code distribution:\n");
    for (int s = 0; s < TALLY_STATUS; s++)
      if (t->status[s])
        printf("  [%s%.0d] %llu responses\n", s ? "" : "other", s, (unsigned long long)t->status[s]);
  }
  if (t->errors) {
    printf("\nError distribution:\n");
    for (int k = 0; k <= TALLY_ERR_KINDS; k++)
      if (t->err[k].n)
        printf("  [%llu] %s (%s)\n", (unsigned long long)t->err[k].n,
               t->err[k].code ? nh_strerror(t->err[k].code) : "other errors", err_key(t->err[k].code));
  }
}

static void live_line(worker *ws, long n, nh_time start, long total, nh_dur duration) {
  uint64_t done = 0;
  for (long i = 0; i < n; i++)
    done += atomic_load_explicit(&ws[i].done, memory_order_relaxed);
  nh_dur ran = nh_now() - start;
  double secs = (double)ran / (double)NH_SEC;
  if (duration > 0) { /* -z: how long is left */
    double left = (double)(duration > ran ? duration - ran : 0) / (double)NH_SEC;
    progress_line("%.1fs  %llu requests  %.0f req/s  %.1fs left (%.0f%%)", secs, (unsigned long long)done,
                  secs > 0 ? (double)done / secs : 0.0, left,
                  100.0 * (double)ran / (double)duration > 100 ? 100.0 : 100.0 * (double)ran / (double)duration);
  } else if (total > 0)
    progress_line("%.1fs  %llu/%ld requests (%.0f%%)  %.0f req/s", secs, (unsigned long long)done, total,
                  100.0 * (double)done / (double)total, secs > 0 ? (double)done / secs : 0.0);
  else
    progress_line("%.1fs  %llu requests  %.0f req/s", secs, (unsigned long long)done,
                  secs > 0 ? (double)done / secs : 0.0);
}

static int run(load_opts *o) {
  if (strncasecmp(o->url, "http://", 7) && strncasecmp(o->url, "https://", 8)) {
    fprintf(stderr, "nethttp load: only http:// and https:// URLs: %s\n", o->url);
    return 1;
  }
  nh_client_request *probe = nh_client_request_new(o->method, o->url);
  if (!probe) {
    fprintf(stderr, "nethttp load: malformed URL: %s\n", o->url);
    return 2;
  }
  nh_client_request_free(probe);
  if (!nh_header_get(o->hdr, "User-Agent"))
    nh_header_set(o->hdr, "User-Agent", "nethttp-load/" NETHTTP_VERSION);

#ifdef __GLIBC__
  /* Requests and responses come and go in bursts: glibc gave the freed top
   * of a loop's heap back after each burst (madvise) and faulted it in
   * again for the next, over a quarter of the CPU of a small HTTP/2
   * request. A load generator's heap holds steady: keep it. */
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = o->threads;
  nh_runtime *rt = nh_runtime_new(&rc);
  if (!rt) {
    fprintf(stderr, "nethttp load: cannot start the runtime\n");
    return 1;
  }
  int loops = nh_runtime_loops(rt);
  long n = o->concurrency;
  long per_loop = (n + loops - 1) / loops;
  load_run run = {.o = o};
  worker *ws = NULL; /* aligned as its type asks: each caller's counter on its own cache line */
  if (posix_memalign((void **)&ws, _Alignof(worker), (size_t)n * sizeof *ws) == 0)
    memset(ws, 0, (size_t)n * sizeof *ws);
  else
    ws = NULL;
  /* Clients: one per loop, or with --h2 one per connection. */
  int nclients = o->h2 ? (int)((n + o->streams - 1) / o->streams) : loops;
  run.clients = calloc((size_t)nclients, sizeof *run.clients);
  nh_transport **ts = calloc((size_t)nclients, sizeof *ts);
  loop_stats *lst = NULL;
  if (posix_memalign((void **)&lst, _Alignof(loop_stats), (size_t)loops * sizeof *lst) == 0) {
    memset(lst, 0, (size_t)loops * sizeof *lst);
    for (int l = 0; l < loops; l++) {
      lst[l].hist.min = INT64_MAX; /* the rest is zeroed above */
      phase_stats_init(&lst[l].phases);
    }
  } else {
    lst = NULL;
  }
  int rcode = 1;
  if (!ws || !lst || !run.clients || !ts)
    goto out;
  for (int l = 0; l < nclients; l++) {
    nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
    tc.max_idle_conns = tc.max_idle_conns_per_host = (int)per_loop + 1; /* every caller keeps its connection */
    tc.disable_keepalives = o->disable_keepalive;
    tc.http_version = o->h2 ? NH_HTTP_2 : NH_HTTP_AUTO;
    tc.disable_compression = 1; /* measure the server, not gzip */
    /* -t is the one bound of a request: none means none, not the
     * transport's own header and stall timeouts (and no timer per wait). */
    tc.response_header_timeout = tc.body_stall_timeout = NH_NO_TIMEOUT;
    nh_tls_config tls = {.role = NH_TLS_CLIENT, .ca_file = o->cacert,
                         .insecure_skip_verify_FOR_TESTING_ONLY = o->insecure};
    if (o->cacert || o->insecure)
      tc.tls = &tls; /* copied by the transport */
    nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
    cc.timeout = o->timeout;
    if (!(ts[l] = nh_transport_new(&tc))) {
      if (tc.tls)
        fprintf(stderr, "nethttp load: no usable CA certificate in %s\n", o->cacert);
      goto out;
    }
    cc.transport = ts[l];
    if (!(run.clients[l] = nh_client_new(&cc)))
      goto out;
  }
  if (o->rate > 0)
    run.interval = (nh_dur)((double)n * (double)NH_SEC / o->rate);
  nh_time start = nh_now();
  if ((o->duration ? nh_ctx_with_deadline(NULL, start + o->duration, &run.ctx)
                   : nh_ctx_with_cancel(NULL, &run.ctx)) != NH_OK)
    goto out;
  struct sigaction sa = {.sa_handler = on_sigint}, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  long started = 0;
  for (long i = 0; i < n; i++) {
    worker *w = &ws[i];
    w->run = &run;
    /* A connection's streams on one loop, the connections round-robin. */
    w->client = o->h2 ? (int)(i / o->streams) : (int)(i % loops);
    w->loop = o->h2 ? w->client % loops : w->client;
    w->quota = o->requests < 0 ? -1 : o->requests / n + (i < o->requests % n);
    w->st = &lst[w->loop];
    w->trace = (nh_client_trace){.user = w, .get_conn = on_get_conn, .dns_done = on_dns_done,
                                 .got_conn = on_got_conn, .wrote_request = on_wrote,
                                 .got_first_byte = on_first_byte};
    if (nh_runtime_go(rt, w->loop, worker_main, w) != NH_OK) {
      fprintf(stderr, "nethttp load: cannot start caller %ld\n", i);
      nh_ctx_cancel(run.ctx);
      break;
    }
    started++;
  }
  int live = progress_tty();
  nh_time last_draw = 0;
  while (atomic_load_explicit(&run.finished, memory_order_acquire) < started) {
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    if (interrupted)
      nh_ctx_cancel(run.ctx);
    if (live && nh_now() - last_draw >= 200 * NH_MSEC) {
      live_line(ws, started, start, o->requests, o->duration);
      last_draw = nh_now();
    }
  }
  if (live)
    progress_line_clear();
  nh_runtime_free(rt);
  rt = NULL;
  sigaction(SIGINT, &old, NULL);

  nh_time ended = start;
  lat_hist *h = malloc(sizeof *h);
  tally *t = calloc(1, sizeof *t);
  if (!h || !t) {
    free(h);
    free(t);
    goto out;
  }
  lat_hist_init(h);
  phase_stats ph;
  phase_stats_init(&ph);
  for (int l = 0; l < loops; l++) {
    lat_hist_merge(h, &lst[l].hist);
    phase_stats_merge(&ph, &lst[l].phases);
    tally_merge(t, &lst[l].t);
  }
  for (long i = 0; i < started; i++)
    if (ws[i].ended > ended)
      ended = ws[i].ended;
  if (o->duration && ended > start + o->duration)
    ended = start + o->duration; /* requests cut at the deadline are not counted */
  int64_t dials = 0, retries = 0; /* retries: sent again on a new connection */
  for (int l = 0; l < nclients; l++) {
    nh_transport_stats st;
    nh_transport_stats_get(ts[l], &st);
    dials += st.dials;
    retries += st.retries;
  }
  if (o->json)
    report_json(o, loops, ended - start, h, &ph, t, dials, retries, interrupted);
  else
    report_text(ended - start, h, &ph, t, dials, retries, interrupted);
  rcode = interrupted ? 130 : 0;
  free(h);
  free(t);
out:
  nh_runtime_free(rt);
  for (int l = 0; run.clients && l < nclients; l++)
    nh_client_free(run.clients[l]);
  for (int l = 0; ts && l < nclients; l++)
    nh_transport_free(ts[l]);
  nh_ctx_free(run.ctx);
  free(run.clients);
  free(ts);
  free(ws);
  free(lst);
  return rcode;
}

int cmd_load(int argc, char **argv) {
  load_opts o = {.method = "GET", .concurrency = 50, .requests = 200, .timeout = 20 * NH_SEC,
                 .streams = 1};
  o.hdr = nh_header_new();
  int rc = o.hdr ? parse_args(&o, argc, argv) : 2;
  if (rc < 0)
    rc = run(&o);
  nh_header_free(o.hdr);
  free(o.body);
  free(o.url);
  return rc;
}
