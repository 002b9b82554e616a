/* Terminal progress (see progress.h). Lines are rewritten in place with
 * "\r" and "ESC[K" (erase to end of line), which every terminal in use
 * understands. */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int progress_tty(void) {
  const char *term = getenv("TERM");
  return isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));
}

static int term_width(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  return 80;
}

const char *progress_bytes(double n, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024 && u < 4) {
    n /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(buf, cap, "%.0f %s", n, units[u]);
  else
    snprintf(buf, cap, "%.1f %s", n, units[u]);
  return buf;
}

void progress_start(progress *p, int enabled, int64_t total) {
  memset(p, 0, sizeof *p);
  p->enabled = enabled;
  p->total = total;
  p->start = p->last = nh_now();
}

void progress_update(progress *p, int64_t done) {
  if (!p->enabled)
    return;
  nh_time now = nh_now();
  if (now - p->start < 500 * NH_MSEC || (p->drawn && now - p->last < 100 * NH_MSEC))
    return;
  p->last = now;
  double secs = (double)(now - p->start) / (double)NH_SEC;
  double rate = secs > 0 ? (double)done / secs : 0;
  char got[32], speed[32], tail[96];
  progress_bytes((double)done, got, sizeof got);
  progress_bytes(rate, speed, sizeof speed);
  if (p->total <= 0) {
    progress_line("%s  %s/s", got, speed);
    p->drawn = 1;
    return;
  }
  char all[32];
  progress_bytes((double)p->total, all, sizeof all);
  double frac = (double)done / (double)p->total;
  if (frac > 1)
    frac = 1;
  long eta = rate > 0 ? (long)(((double)p->total - (double)done) / rate + 0.5) : -1;
  char etabuf[24] = "--:--";
  if (eta >= 0)
    snprintf(etabuf, sizeof etabuf, "%02ld:%02ld", eta / 60, eta % 60);
  int tn = snprintf(tail, sizeof tail, " %3.0f%%  %s / %s  %s/s  ETA %s", frac * 100, got, all,
                    speed, etabuf);
  int width = term_width() - tn - 3;
  if (width < 10)
    width = 10;
  if (width > 60)
    width = 60;
  char bar[64];
  int fill = (int)(frac * width);
  for (int i = 0; i < width; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[width] = 0;
  progress_line("[%s]%s", bar, tail);
  p->drawn = 1;
}

void progress_finish(progress *p) {
  if (p->enabled && p->drawn)
    progress_line_clear();
  p->drawn = 0;
}

void progress_line(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\r\033[K%s", line);
  fflush(stderr);
}

void progress_line_clear(void) {
  fputs("\r\033[K", stderr);
  fflush(stderr);
}
