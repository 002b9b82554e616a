/* curl_client: libcurl in a closed loop, for bench/client/run.sh.
 *
 *   curl_client --url URL [--conns N] [--duration S] [--warmup S] [--easy]
 *
 * N easy handles (default 1) in one multi handle, driven by one thread with
 * curl_multi_poll: each transfer that ends is counted, removed and added
 * again, which reuses its connection from the multi handle's cache. --easy
 * runs one handle with curl_easy_perform in a loop instead (the blocking
 * interface, one caller). Prints the same key=value line as bench_client.
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "closed_loop.h"

/* The body is read and dropped, as the other clients do. */
static size_t discard(char *p, size_t size, size_t n, void *arg) { return size * n; }

static CURL *new_handle(const char *url) {
  CURL *h = curl_easy_init();
  if (!h)
    return NULL;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_PROXY, "");        /* direct, whatever the environment says */
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);     /* no SIGALRM games (threads elsewhere) */
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L); /* as the other clients dial */
  return h;
}

static int answered_ok(CURL *h, CURLcode rc) {
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  return rc == CURLE_OK && status == 200;
}

typedef struct window {
  double warmup_end, end; /* monotonic seconds */
  int measuring;
  long long requests, errors;
  double t0, c0;
} window;

/* Starts counting once the warm-up is over; returns 1 when the run is over. */
static int window_tick(window *w, double now) {
  if (!w->measuring && now >= w->warmup_end) {
    w->measuring = 1;
    w->requests = w->errors = 0;
    w->t0 = now;
    w->c0 = cpu_s();
  }
  return w->measuring && now >= w->end;
}

int main(int argc, char **argv) {
  bench_args args = bench_parse(argc, argv, "curl_client", "--easy");
  const char *url = args.url;
  int conns = args.conns, easy = args.one_caller;
  double duration = args.duration, warmup = args.warmup;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  double start = now_s();
  window w = {.warmup_end = start + warmup, .end = start + warmup + duration};
  CURL **hs = calloc((size_t)conns, sizeof *hs);
  for (int i = 0; i < conns; i++)
    if (!hs || !(hs[i] = new_handle(url))) {
      fprintf(stderr, "curl_client: out of memory\n");
      return 1;
    }

  if (easy) {
    /* A clock read per request (vDSO, tens of ns) stops the loop on time. */
    while (!window_tick(&w, now_s())) {
      CURLcode rc = curl_easy_perform(hs[0]);
      if (answered_ok(hs[0], rc))
        w.requests++;
      else
        w.errors++;
    }
  } else {
    CURLM *m = curl_multi_init();
    /* Room for every handle's connection in the cache (the default is 4
     * per handle added, said explicitly here). */
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conns);
    for (int i = 0; i < conns; i++)
      curl_multi_add_handle(m, hs[i]);
    int running = conns;
    while (!window_tick(&w, now_s())) {
      if (curl_multi_perform(m, &running) != CURLM_OK)
        break;
      CURLMsg *msg;
      int left;
      while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg != CURLMSG_DONE)
          continue;
        CURL *h = msg->easy_handle;
        if (answered_ok(h, msg->data.result))
          w.requests++;
        else
          w.errors++;
        curl_multi_remove_handle(m, h); /* and again: a new transfer */
        curl_multi_add_handle(m, h);
      }
      curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < conns; i++)
      curl_multi_remove_handle(m, hs[i]);
    curl_multi_cleanup(m);
  }

  double secs = now_s() - w.t0, cpu = cpu_s() - w.c0;
  long long n = w.requests;
  bench_report(easy ? "curl-easy" : "curl-multi", conns, n, w.errors, secs, cpu);
  printf("\n");
  for (int i = 0; i < conns; i++)
    curl_easy_cleanup(hs[i]);
  free(hs);
  curl_global_cleanup();
  return n > 0 && w.errors == 0 ? 0 : 1;
}
