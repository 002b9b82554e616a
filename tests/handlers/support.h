/* Shared by the handler tests: a test server for an nh_handler, and a
 * logger that keeps its lines in memory for assertions. */
#ifndef NH_TESTS_HANDLERS_SUPPORT_H
#define NH_TESTS_HANDLERS_SUPPORT_H

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <pthread.h>
#include <time.h>

#include "harness.h"
#include "server/rawclient.h"

static inline nh_test_server *serve_handler(nh_handler h, int loops) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = h.fn;
  cfg.handler_data = h.data;
  nh_test_server *ts = nh_test_server_new(NULL, &cfg, loops);
  CHECK(ts);
  return ts;
}

/* A logger into memory (text format, one line per record). */
typedef struct capture_log {
  nh_logger base;
  pthread_mutex_t mu;
  char buf[1 << 16];
  size_t len;
} capture_log;

static inline void capture_write(nh_logger *lg, const nh_log_record *rec) {
  capture_log *c = (capture_log *)lg;
  char line[4096];
  size_t n = nh_log_format_text(rec, line, sizeof line);
  pthread_mutex_lock(&c->mu);
  if (c->len + n < sizeof c->buf) {
    memcpy(c->buf + c->len, line, n);
    c->len += n;
    c->buf[c->len] = 0;
  }
  pthread_mutex_unlock(&c->mu);
}

static inline capture_log *capture_new(void) {
  capture_log *c = calloc(1, sizeof *c);
  c->base.write = capture_write;
  c->base.min_level = NH_LOG_DEBUG;
  pthread_mutex_init(&c->mu, NULL);
  return c;
}

/* A copy of what was logged so far (free it). */
static inline char *capture_text(capture_log *c) {
  pthread_mutex_lock(&c->mu);
  char *s = strdup(c->len ? c->buf : "");
  pthread_mutex_unlock(&c->mu);
  return s;
}

/* Wait up to 10 s for needle to be logged; returns the text (free it). */
static inline char *capture_wait(capture_log *c, const char *needle) {
  for (int i = 0; i < 1000; i++) {
    char *s = capture_text(c);
    if (strstr(s, needle))
      return s;
    free(s);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return capture_text(c);
}

static inline void capture_free(capture_log *c) {
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* Count of needle in hay. */
static inline int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

#endif
