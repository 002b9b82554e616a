/* What the closed-loop benchmark clients (bench_client, curl_client) share:
 * the clocks, the command line, and the key=value result line run.sh
 * reads. goclient prints the same line. */
#ifndef NH_BENCH_CLOSED_LOOP_H
#define NH_BENCH_CLOSED_LOOP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process's CPU time, every thread. */
static inline double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

typedef struct bench_args {
  const char *url;
  int conns;       /* callers */
  double duration; /* seconds counted */
  double warmup;   /* seconds before counting */
  int one_caller;  /* the program's own switch (--thread, --easy): one caller */
} bench_args;

/* Parses --url URL [--conns N] [--duration S] [--warmup S] [FLAG]; FLAG
 * sets one_caller. Exits with the usage on anything else. */
static inline bench_args bench_parse(int argc, char **argv, const char *prog, const char *flag) {
  bench_args a = {NULL, 1, 5, 1, 0};
  int bad = 0;
  for (int i = 1; i < argc && !bad; i++) {
    if (!strcmp(argv[i], flag))
      a.one_caller = 1;
    else if (i + 1 >= argc)
      bad = 1;
    else if (!strcmp(argv[i], "--url"))
      a.url = argv[++i];
    else if (!strcmp(argv[i], "--conns"))
      a.conns = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--duration"))
      a.duration = atof(argv[++i]);
    else if (!strcmp(argv[i], "--warmup"))
      a.warmup = atof(argv[++i]);
    else
      bad = 1;
  }
  if (bad || !a.url || a.conns < 1 || a.duration <= 0 || a.warmup < 0 ||
      (a.one_caller && a.conns != 1)) {
    fprintf(stderr, "usage: %s --url URL [--conns N] [--duration S] [--warmup S] [%s]\n", prog, flag);
    exit(2);
  }
  return a;
}

/* The result line, without its newline (a client may add fields). */
static inline void bench_report(const char *client, int conns, long long requests, long long errors,
                                double secs, double cpu) {
  printf("client=%s conns=%d requests=%lld errors=%lld seconds=%.3f cpu_seconds=%.3f rps=%.0f "
         "cpu_us_per_req=%.2f",
         client, conns, requests, errors, secs, cpu, secs > 0 ? (double)requests / secs : 0.0,
         requests ? cpu * 1e6 / (double)requests : 0.0);
}

#endif
