/* bench_client: nethttp's client in a closed loop, for bench/client/run.sh.
 *
 *   bench_client --url URL [--conns N] [--duration S] [--warmup S] [--thread]
 *
 * N callers (default 1), each a fiber on one event loop, repeat GET URL,
 * read the body to its end and close the response. --thread makes the one
 * caller a plain thread instead (the client blocks it rather than parking a
 * fiber). After the warm-up, requests and the process's CPU time
 * (getrusage, every thread) are counted for the duration, then printed as
 * one line of key=value pairs, the same line curl_client and goclient print:
 *
 *   client=nethttp-fiber conns=64 requests=... errors=... seconds=... cpu_seconds=...
 *     rps=... cpu_us_per_req=... dials=...
 */
#include <nethttp.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "closed_loop.h"

typedef struct bench {
  nh_client *client;
  const char *url;
  atomic_int stop;
  atomic_llong requests; /* answered 200 with the body read to its end */
  atomic_llong errors;   /* anything else */
} bench;

/* One request, as an application would make it: GET, read the body to the
 * end (which pools the connection), close. */
static void one_request(bench *b) {
  nh_response *resp;
  if (nh_client_get(b->client, b->url, &resp) != NH_OK) {
    atomic_fetch_add_explicit(&b->errors, 1, memory_order_relaxed);
    return;
  }
  char buf[4096];
  ssize_t n;
  while ((n = nh_response_read(resp, buf, sizeof buf)) > 0) {
  }
  int ok = n == 0 && nh_response_status(resp) == 200;
  nh_response_close(resp);
  atomic_fetch_add_explicit(ok ? &b->requests : &b->errors, 1, memory_order_relaxed);
}

static void caller_fiber(void *arg) {
  bench *b = arg;
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed))
    one_request(b);
}

static void *caller_thread(void *arg) {
  caller_fiber(arg);
  return NULL;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int main(int argc, char **argv) {
  bench_args args = bench_parse(argc, argv, "bench_client", "--thread");
  const char *url = args.url;
  int conns = args.conns, on_thread = args.one_caller;
  double duration = args.duration, warmup = args.warmup;

  /* Every caller may keep its connection idle between requests, as the
   * other clients are configured (Go's MaxIdleConnsPerHost, curl's cache). */
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.max_idle_conns_per_host = conns;
  tc.max_idle_conns = conns > 100 ? conns : 100;
  nh_transport *t = nh_transport_new(&tc);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  bench b = {.client = nh_client_new(&cc), .url = url};
  if (!t || !b.client) {
    fprintf(stderr, "bench_client: out of memory\n");
    return 1;
  }

  nh_runtime *rt = NULL;
  pthread_t th;
  if (on_thread) {
    if (pthread_create(&th, NULL, caller_thread, &b) != 0) {
      perror("bench_client: pthread_create");
      return 1;
    }
  } else {
    nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
    rc.loops = 1;
    rc.offload_threads = 1; /* unused here; fewer idle threads */
    rt = nh_runtime_new(&rc);
    if (!rt) {
      perror("bench_client: nh_runtime_new");
      return 1;
    }
    for (int i = 0; i < conns; i++)
      if (nh_runtime_go(rt, 0, caller_fiber, &b) != NH_OK) {
        fprintf(stderr, "bench_client: cannot start fiber %d\n", i);
        return 1;
      }
  }

  /* The callers run on their own; this thread only sleeps and samples. */
  sleep_s(warmup);
  long long r0 = atomic_load(&b.requests), e0 = atomic_load(&b.errors);
  double t0 = now_s(), c0 = cpu_s();
  sleep_s(duration);
  long long r1 = atomic_load(&b.requests), e1 = atomic_load(&b.errors);
  double t1 = now_s(), c1 = cpu_s();
  atomic_store(&b.stop, 1);
  if (on_thread)
    pthread_join(th, NULL);
  else
    nh_runtime_free(rt); /* waits for every caller to finish its request */

  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  long long n = r1 - r0;
  double secs = t1 - t0, cpu = c1 - c0;
  bench_report(on_thread ? "nethttp-thread" : "nethttp-fiber", conns, n, e1 - e0, secs, cpu);
  printf(" dials=%lld\n", (long long)st.dials);
  nh_client_free(b.client);
  nh_transport_free(t);
  return n > 0 && e1 == e0 ? 0 : 1;
}
