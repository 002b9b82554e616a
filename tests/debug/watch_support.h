/* Shared by the leak watch and heap tests: a server on its own runtime
 * (so the test chooses the leak watch's thresholds), with the debug
 * handler under /debug/, and a logger that keeps every record it gets. */
#ifndef NH_TESTS_DEBUG_WATCH_SUPPORT_H
#define NH_TESTS_DEBUG_WATCH_SUPPORT_H

#include "harness.h"
#include "server/rawclient.h"

#include <nethttp.h>
#include <nethttp/debug.h>
#include <pthread.h>

/* ---- a logger that keeps the records, as text lines ---- */
typedef struct kept_log {
  nh_logger lg; /* first: the writer gets it back */
  pthread_mutex_t mu;
  char *text;
  size_t len, cap;
} kept_log;

static void kept_write(nh_logger *lg, const nh_log_record *rec) {
  kept_log *k = (kept_log *)lg;
  char line[8192];
  size_t n = nh_log_format_text(rec, line, sizeof line);
  pthread_mutex_lock(&k->mu);
  if (k->len + n + 2 > k->cap) {
    k->cap = (k->len + n + 2) * 2;
    k->text = realloc(k->text, k->cap);
  }
  memcpy(k->text + k->len, line, n);
  k->len += n;
  if (!n || line[n - 1] != '\n')
    k->text[k->len++] = '\n';
  k->text[k->len] = 0;
  pthread_mutex_unlock(&k->mu);
}

static inline void kept_init(kept_log *k) {
  memset(k, 0, sizeof *k);
  k->lg.write = kept_write;
  k->lg.min_level = NH_LOG_DEBUG;
  pthread_mutex_init(&k->mu, NULL);
  k->text = calloc(1, 1);
  k->cap = 1;
}

static inline void kept_free(kept_log *k) {
  free(k->text);
  pthread_mutex_destroy(&k->mu);
}

/* How many lines hold every one of the needles (NULL-terminated). */
static inline int kept_count(kept_log *k, const char *const *needles) {
  int n = 0;
  pthread_mutex_lock(&k->mu);
  for (char *line = k->text; line && *line;) {
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char save = line[len];
    line[len] = 0;
    int all = 1;
    for (const char *const *p = needles; *p && all; p++)
      all = strstr(line, *p) != NULL;
    line[len] = save;
    n += all;
    line = end ? end + 1 : NULL;
  }
  pthread_mutex_unlock(&k->mu);
  return n;
}

/* The first line holding needle, copied into buf ("" if none). */
static inline void kept_line(kept_log *k, const char *needle, char *buf, size_t cap) {
  buf[0] = 0;
  pthread_mutex_lock(&k->mu);
  char *hit = strstr(k->text, needle);
  if (hit) {
    while (hit > k->text && hit[-1] != '\n')
      hit--;
    size_t len = strcspn(hit, "\n");
    snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), hit);
  }
  pthread_mutex_unlock(&k->mu);
}

/* ---- a server whose handler also serves /debug/ ---- */
typedef struct watch_env {
  nh_runtime *rt;
  nh_server *srv;
  nh_handler debug;
  nh_handler_fn app;
  int port;
} watch_env;

static watch_env *the_env;

static void watch_serve(nh_response_writer *w, nh_request *r) {
  if (!strncmp(nh_request_path(r), "/debug/", 7))
    nh_handler_serve(the_env->debug, w, r);
  else
    the_env->app(w, r);
}

static inline void watch_start(watch_env *e, const nh_runtime_config *rcfg, nh_handler_fn app) {
  memset(e, 0, sizeof *e);
  the_env = e;
  e->app = app;
  e->rt = nh_runtime_new(rcfg);
  CHECK(e->rt);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = watch_serve;
  e->srv = nh_server_new(e->rt, &cfg);
  CHECK(e->srv);
  nh_debug_config dc = {0};
  dc.runtime = e->rt;
  dc.servers = &e->srv;
  dc.nservers = 1;
  e->debug = nh_debug_handler(&dc);
  CHECK(e->debug.fn);
  CHECK_EQ(nh_server_listen(e->srv, "127.0.0.1:0"), NH_OK);
  CHECK_EQ(nh_server_start(e->srv), NH_OK);
  e->port = nh_server_port(e->srv);
}

static inline void watch_stop(watch_env *e) {
  CHECK_EQ(nh_server_shutdown(e->srv, nh_deadline_after(5 * NH_SEC)), NH_OK);
  nh_server_free(e->srv);
  nh_debug_handler_free(e->debug);
  nh_leak_baseline *b = nh_leak_baseline_take(e->rt);
  CHECK_EQ(nh_leak_check(b, 2 * NH_SEC, NULL), NH_OK);
  nh_runtime_free(e->rt);
  the_env = NULL;
}

/* GET path on a fresh connection: the response (free with raw_resp_free). */
static inline raw_resp watch_get(const watch_env *e, const char *path) {
  char req[512];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  return raw_roundtrip(e->port, req);
}

#endif
