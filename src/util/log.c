/* Built-in log writers. Each record is rendered into a stack buffer first
 * and written with one fwrite under the stream lock, so lines from many
 * threads never interleave. */
#include "nethttp/log.h"
#include "nethttp/time.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct writer {
  nh_logger base;
  FILE *out;
  int json;
} writer;

static const char *level_name(nh_log_level l) {
  if (l >= NH_LOG_ERROR)
    return "ERROR";
  if (l >= NH_LOG_WARN)
    return "WARN";
  if (l >= NH_LOG_INFO)
    return "INFO";
  return "DEBUG";
}

/* A bounded appender: never writes past cap-1, always NUL-terminates. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->len + 1 >= b->cap)
    return;
  size_t room = b->cap - 1 - b->len;
  if (n > room)
    n = room;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void putf(sbuf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0)
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_time(sbuf *b, int64_t unix_ns) {
  time_t sec = (time_t)(unix_ns / 1000000000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  putf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
       tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ns / 1000000 % 1000));
}

static void put_json_string(sbuf *b, const char *s) {
  put(b, "\"", 1);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      put(b, e, 2);
    } else if (c == '\n') {
      put(b, "\\n", 2);
    } else if (c == '\t') {
      put(b, "\\t", 2);
    } else if (c < 0x20) {
      putf(b, "\\u%04x", c);
    } else {
      put(b, (const char *)&c, 1);
    }
  }
  put(b, "\"", 1);
}

/* Text values are quoted only when they would be ambiguous. */
static void put_text_value(sbuf *b, const char *s) {
  if (!s)
    s = "";
  int plain = *s != 0;
  for (const char *q = s; *q; q++)
    if (*q == ' ' || *q == '"' || *q == '=' || (unsigned char)*q < 0x20)
      plain = 0;
  if (plain)
    put(b, s, strlen(s));
  else
    put_json_string(b, s);
}

/* "app.c:42": the file's last path element and the line, or "?". */
static void format_loc(const char *file, int line, char *out, size_t cap) {
  if (!file || !*file) {
    snprintf(out, cap, "?");
    return;
  }
  const char *base = strrchr(file, '/');
  snprintf(out, cap, "%s:%d", base ? base + 1 : file, line);
}

static void put_key(sbuf *b, const nh_log_field *f, int json) {
  if (!json) {
    putf(b, " %s=", f->key);
    return;
  }
  put(b, ",", 1);
  put_json_string(b, f->key);
  if (f->kind == NH_LOGF_DUR) { /* the unit goes in the name: "took_ms" */
    b->len -= b->len && b->p[b->len - 1] == '"';
    put(b, "_ms\"", 4);
  }
  put(b, ":", 1);
}

static void put_field_value(sbuf *b, const nh_log_field *f, int json) {
  char d[256];
  switch (f->kind) {
  case NH_LOGF_STR:
    if (json)
      put_json_string(b, f->v.s ? f->v.s : "");
    else
      put_text_value(b, f->v.s);
    break;
  case NH_LOGF_INT:
    putf(b, "%lld", (long long)f->v.i);
    break;
  case NH_LOGF_FLOAT:
    putf(b, "%g", f->v.f);
    break;
  case NH_LOGF_DUR:
    if (json) { /* milliseconds, to the nanosecond: 1.5, 0.000123 */
      int64_t ns = f->v.i;
      uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
      int n = snprintf(d, sizeof d, "%s%llu.%06llu", ns < 0 ? "-" : "",
                       (unsigned long long)(a / 1000000), (unsigned long long)(a % 1000000));
      while (n > 0 && d[n - 1] == '0') /* 1.500000 -> 1.5, 2.000000 -> 2 */
        n--;
      if (n > 0 && d[n - 1] == '.')
        n--;
      put(b, d, (size_t)n);
    } else {
      nh_dur_format(f->v.i, d, sizeof d);
      put(b, d, strlen(d));
    }
    break;
  case NH_LOGF_LOC:
    format_loc(f->v.s, f->line, d, sizeof d);
    if (json)
      put_json_string(b, d);
    else
      put_text_value(b, d);
    break;
  }
}

size_t nh_log_format_text(const nh_log_record *rec, char *buf, size_t cap) {
  sbuf b = {buf, 0, cap};
  if (cap)
    buf[0] = 0;
  put_time(&b, rec->unix_ns);
  putf(&b, " %s ", level_name(rec->level));
  put_text_value(&b, rec->msg);
  for (size_t i = 0; i < rec->nfields; i++) {
    put_key(&b, &rec->fields[i], 0);
    put_field_value(&b, &rec->fields[i], 0);
  }
  if (rec->file) {
    nh_log_field src = NH_LLOC("source", rec->file, rec->line);
    put_key(&b, &src, 0);
    put_field_value(&b, &src, 0);
  }
  put(&b, "\n", 1);
  return b.len;
}

size_t nh_log_format_json(const nh_log_record *rec, char *buf, size_t cap) {
  sbuf b = {buf, 0, cap};
  if (cap)
    buf[0] = 0;
  put(&b, "{\"time\":\"", 9);
  put_time(&b, rec->unix_ns);
  putf(&b, "\",\"level\":\"%s\",\"msg\":", level_name(rec->level));
  put_json_string(&b, rec->msg);
  for (size_t i = 0; i < rec->nfields; i++) {
    put_key(&b, &rec->fields[i], 1);
    put_field_value(&b, &rec->fields[i], 1);
  }
  if (rec->file) {
    nh_log_field src = NH_LLOC("source", rec->file, rec->line);
    put_key(&b, &src, 1);
    put_field_value(&b, &src, 1);
  }
  /* Keep the line valid JSON even when truncated: reserve room for "}\n". */
  if (b.len + 3 > cap && cap >= 3)
    b.len = cap - 3;
  put(&b, "}\n", 2);
  return b.len;
}

static void writer_write(nh_logger *lg, const nh_log_record *rec) {
  writer *w = (writer *)lg;
  char line[4096];
  size_t n = w->json ? nh_log_format_json(rec, line, sizeof line)
                     : nh_log_format_text(rec, line, sizeof line);
  FILE *out = w->out ? w->out : stderr;
  flockfile(out);
  fwrite(line, 1, n, out);
  fflush(out);
  funlockfile(out);
}

static nh_logger *writer_new(FILE *out, nh_log_level min, int json) {
  writer *w = calloc(1, sizeof *w);
  if (!w)
    return NULL;
  w->base.write = writer_write;
  w->base.min_level = min;
  w->base.user = w;
  w->out = out;
  w->json = json;
  return &w->base;
}

nh_logger *nh_logger_text_new(FILE *out, nh_log_level min) { return writer_new(out, min, 0); }
nh_logger *nh_logger_json_new(FILE *out, nh_log_level min) { return writer_new(out, min, 1); }

void nh_logger_free(nh_logger *lg) {
  if (lg)
    free((writer *)lg);
}

static writer stderr_writer = {{writer_write, NH_LOG_INFO, NULL}, NULL, 0};
static _Atomic(nh_logger *) default_logger;

nh_logger *nh_log_default(void) {
  nh_logger *lg = atomic_load_explicit(&default_logger, memory_order_acquire);
  return lg ? lg : &stderr_writer.base;
}

void nh_log_set_default(nh_logger *lg) {
  atomic_store_explicit(&default_logger, lg, memory_order_release);
}

int nh_log_enabled(nh_logger *lg, nh_log_level level) {
  if (!lg)
    lg = nh_log_default();
  return level >= lg->min_level;
}

void nh_log_write(nh_logger *lg, nh_log_level level, const char *file, int line, const char *msg,
                  const nh_log_field *fields, size_t nfields) {
  if (!lg)
    lg = nh_log_default();
  if (level < lg->min_level)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  nh_log_record rec = {level, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, msg, fields, nfields,
                       file, line};
  lg->write(lg, &rec);
}
