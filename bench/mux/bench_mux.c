/* bench_mux: the cost of routing one request (nh_mux_match: clean check,
 * tree walk, wildcard values, no socket) with 10, 100 and 1,000 REST-like
 * routes, to show it follows the path's depth, not the number of routes.
 *
 * Each resource has five routes:
 *   GET    /api/v1/<res>            POST /api/v1/<res>
 *   GET    /api/v1/<res>/{id}       PUT  /api/v1/<res>/{id}
 *   DELETE /api/v1/<res>/{id}/items/{item}
 * and the requests are a fixed pseudo-random mix over all of them, plus a
 * few that miss (404) or use the wrong method (405). Time is the thread's
 * CPU time (steadier than the wall clock on a shared machine); each figure
 * is the median of 5 repetitions. */
#include <nethttp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { REPS = 5, NREQ = 1024, ROUNDS = 2000 };

static void noop(nh_response_writer *w, nh_request *r) {}

static const char *names[] = {"users",   "orders",    "products", "invoices", "carts",
                              "reviews", "shipments", "coupons",  "accounts", "teams"};

static void resource(char *out, size_t cap, int i) {
  snprintf(out, cap, "%s%d", names[i % 10], i / 10);
}

typedef struct req {
  const char *method;
  char path[96];
  int want; /* expected status */
} req;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double run(int nroutes) {
  nh_mux *m = nh_mux_new();
  int nres = nroutes / 5;
  char pat[128], res[32];
  static const char *tmpl[] = {"GET /api/v1/%s", "POST /api/v1/%s", "GET /api/v1/%s/{id}",
                               "PUT /api/v1/%s/{id}", "DELETE /api/v1/%s/{id}/items/{item}"};
  for (int i = 0; i < nres; i++) {
    resource(res, sizeof res, i);
    for (int t = 0; t < 5; t++) {
      snprintf(pat, sizeof pat, tmpl[t], res);
      if (nh_mux_handle_func(m, pat, noop, NULL) != NH_OK) {
        fprintf(stderr, "%s\n", nh_mux_error(m));
        exit(1);
      }
    }
  }
  static req reqs[NREQ];
  unsigned seed = 12345;
  for (int i = 0; i < NREQ; i++) {
    seed = seed * 1103515245 + 12345;
    int r = (int)((seed >> 8) % (unsigned)nres), kind = (int)((seed >> 20) % 8);
    resource(res, sizeof res, r);
    req *q = &reqs[i];
    q->want = 200;
    switch (kind) {
    case 0: q->method = "GET", snprintf(q->path, sizeof q->path, "/api/v1/%s", res); break;
    case 1: q->method = "POST", snprintf(q->path, sizeof q->path, "/api/v1/%s", res); break;
    case 2:
    case 3:
      q->method = "GET", snprintf(q->path, sizeof q->path, "/api/v1/%s/%u", res, seed % 100000);
      break;
    case 4:
      q->method = "PUT", snprintf(q->path, sizeof q->path, "/api/v1/%s/%u", res, seed % 977);
      break;
    case 5:
      q->method = "DELETE";
      snprintf(q->path, sizeof q->path, "/api/v1/%s/%u/items/%u", res, seed % 313, seed % 17);
      break;
    case 6:
      q->method = "GET", snprintf(q->path, sizeof q->path, "/api/v2/%s", res), q->want = 404;
      break;
    default:
      q->method = "PATCH", snprintf(q->path, sizeof q->path, "/api/v1/%s/1", res), q->want = 405;
    }
  }
  static nh_mux_route out;
  for (int i = 0; i < NREQ; i++) { /* check once, outside the timing */
    nh_mux_match(m, reqs[i].method, "example.com", reqs[i].path, NULL, &out);
    if (out.status != reqs[i].want) {
      fprintf(stderr, "%s %s: %d, want %d\n", reqs[i].method, reqs[i].path, out.status,
              reqs[i].want);
      exit(1);
    }
  }
  double t[REPS];
  volatile int sink = 0;
  for (int rep = 0; rep < REPS; rep++) {
    long matched = 0; /* the figure counts only matches that ran and were right */
    double t0 = now_ns();
    for (int round = 0; round < ROUNDS; round++)
      for (int i = 0; i < NREQ; i++) {
        sink += nh_mux_match(m, reqs[i].method, "example.com", reqs[i].path, NULL, &out);
        matched += out.status == reqs[i].want;
      }
    t[rep] = (now_ns() - t0) / ((double)ROUNDS * NREQ);
    if (matched != (long)ROUNDS * NREQ) {
      fprintf(stderr, "bench_mux: %ld of %ld matches right: no figure\n", matched,
              (long)ROUNDS * NREQ);
      exit(1);
    }
  }
  (void)sink;
  nh_mux_free(m);
  qsort(t, REPS, sizeof t[0], cmp_double);
  return t[REPS / 2];
}

int main(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0, &set);
  sched_setaffinity(0, sizeof set, &set);
  printf("| routes | ns per match |\n|---|---|\n");
  static const int sizes[] = {10, 100, 1000};
  for (int i = 0; i < 3; i++)
    printf("| %d | %.0f |\n", sizes[i], run(sizes[i]));
  return 0;
}
