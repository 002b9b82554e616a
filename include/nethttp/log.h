/* nethttp/log.h — leveled, structured logging.
 *
 * A logger is a small struct with one write function, so users can route
 * nethttp's messages into their own logging. Built-in writers print one line
 * per record as text ("time level msg key=value ...") or as JSON. Levels
 * follow Go's log/slog numbering. Every message the library itself emits
 * (runtime watchdog, panics, server errors) goes through a logger. */
#ifndef NETHTTP_LOG_H
#define NETHTTP_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nh_log_level {
  NH_LOG_DEBUG = -4,
  NH_LOG_INFO = 0,
  NH_LOG_WARN = 4,
  NH_LOG_ERROR = 8,
} nh_log_level;

typedef enum nh_log_kind {
  NH_LOGF_STR,
  NH_LOGF_INT,
  NH_LOGF_FLOAT,
  NH_LOGF_DUR,
  NH_LOGF_LOC,
} nh_log_kind;

/* One key/value field. Strings are borrowed for the duration of the call.
 *
 * How each kind is written (text | JSON):
 *   STR   path=/a or path="a b"       | "path":"a b"
 *   INT   status=404                  | "status":404
 *   FLOAT ratio=0.5                   | "ratio":0.5
 *   DUR   took=1.5ms                  | "took_ms":1.5   (a number of
 *         milliseconds; the key gets "_ms" so the unit is in the name)
 *   LOC   caller=app.c:42             | "caller":"app.c:42"   (a source
 *         location as one token, the file's last path element, so a log can
 *         be searched for "app.c:42"; "?" when the file is unknown) */
typedef struct nh_log_field {
  const char *key;
  nh_log_kind kind;
  int line; /* NH_LOGF_LOC: the line; the file is v.s */
  union {
    const char *s;
    int64_t i;
    double f;
  } v;
} nh_log_field;

#define NH_LSTR(k, val) ((nh_log_field){.key = (k), .kind = NH_LOGF_STR, .v.s = (val)})
#define NH_LINT(k, val) ((nh_log_field){.key = (k), .kind = NH_LOGF_INT, .v.i = (int64_t)(val)})
#define NH_LFLOAT(k, val) ((nh_log_field){.key = (k), .kind = NH_LOGF_FLOAT, .v.f = (double)(val)})
#define NH_LDUR(k, val) ((nh_log_field){.key = (k), .kind = NH_LOGF_DUR, .v.i = (int64_t)(val)})
/* NH_LLOC(key, file, line): a source location, e.g. the call that made a
 * mistake: NH_LLOC("caller", file, line) -> caller=app.c:42. */
#define NH_LLOC(k, file, ln)                                                             \
  ((nh_log_field){.key = (k), .kind = NH_LOGF_LOC, .line = (int)(ln), .v.s = (file)})

typedef struct nh_log_record {
  nh_log_level level;
  int64_t unix_ns; /* wall clock */
  const char *msg;
  const nh_log_field *fields;
  size_t nfields;
  const char *file; /* source location of the call, may be NULL */
  int line;
} nh_log_record;

typedef struct nh_logger nh_logger;
struct nh_logger {
  /* write is called for each record at or above min_level. It may be called
   * from any thread at once and must be thread-safe. */
  void (*write)(nh_logger *lg, const nh_log_record *rec);
  nh_log_level min_level;
  void *user;
};

/* nh_logger_text_new / nh_logger_json_new make a logger that writes one line
 * per record to out (borrowed; must outlive the logger). Free with
 * nh_logger_free. Thread-safe. */
NH_API nh_logger *nh_logger_text_new(FILE *out, nh_log_level min_level);
NH_API nh_logger *nh_logger_json_new(FILE *out, nh_log_level min_level);
NH_API void nh_logger_free(nh_logger *lg);

/* nh_log_default returns the process-wide logger the library uses when a
 * component was given none: text to stderr at INFO unless replaced by
 * nh_log_set_default (lg is borrowed; NULL restores the built-in one). */
NH_API nh_logger *nh_log_default(void);
NH_API void nh_log_set_default(nh_logger *lg);

/* nh_log_enabled tells whether a record at level would be written. */
NH_API int nh_log_enabled(nh_logger *lg, nh_log_level level);

/* nh_log_write sends one record; lg NULL means the default logger. */
NH_API void nh_log_write(nh_logger *lg, nh_log_level level, const char *file, int line,
                         const char *msg, const nh_log_field *fields, size_t nfields);

/* NH_LOG(lg, level, msg, fields...) logs with the caller's file and line:
 *   NH_LOG(NULL, NH_LOG_WARN, "slow hook", NH_LDUR("took", d));          */
#define NH_LOG(lg, level, msg, ...)                                                      \
  nh_log_write((lg), (level), __FILE__, __LINE__, (msg),                                 \
               (const nh_log_field[]){NH_LSTR(NULL, NULL), ##__VA_ARGS__} + 1,           \
               sizeof((const nh_log_field[]){NH_LSTR(NULL, NULL), ##__VA_ARGS__}) /      \
                       sizeof(nh_log_field) -                                             \
                   1)

/* nh_log_format_text / nh_log_format_json render a record into buf
 * (NUL-terminated, truncated to cap) and return the length written.
 * Exposed so custom writers can reuse the built-in formats. */
NH_API size_t nh_log_format_text(const nh_log_record *rec, char *buf, size_t cap);
NH_API size_t nh_log_format_json(const nh_log_record *rec, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
