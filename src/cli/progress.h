/* Progress on the terminal: a download bar for `get` and a live status line
 * for `load`, drawn on stderr and only when stderr is a terminal, so
 * scripts and logs never see carriage returns or escape codes. */
#ifndef NH_CLI_PROGRESS_H
#define NH_CLI_PROGRESS_H

#include <nethttp.h>
#include <stdint.h>

/* Is stderr a terminal worth drawing on (not TERM=dumb)? */
int progress_tty(void);

typedef struct progress {
  int enabled;
  int drawn;     /* something is on the line: clear it at the end */
  int64_t total; /* -1 when unknown */
  nh_time start, last;
} progress;

/* A download bar. enabled 0 makes every call a no-op. total -1: no bar,
 * just bytes and rate. */
void progress_start(progress *p, int enabled, int64_t total);
/* done bytes so far; draws at most ten times a second, and not at all in
 * the first half second so quick transfers never flash a bar. */
void progress_update(progress *p, int64_t done);
/* Clears the line. */
void progress_finish(progress *p);

/* Replaces the status line with text (load's live line). */
void progress_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_line_clear(void);

/* "12.3 MiB" into buf. */
const char *progress_bytes(double n, char *buf, size_t cap);

#endif
