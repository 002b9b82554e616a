/* nethttp httpbin — slow and streamed answers: /delay/{n}, /drip,
 * /stream/{n}, /sse. Every wait parks the handler's fiber (and ends early
 * when the client leaves); each response's write deadline is moved to
 * cover the slowness asked for, so the server's write timeout still
 * guards the transfer itself without cutting a long stream short. */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Server-Timing entries, as go-httpbin sends them. */
static void server_timing(nh_response_writer *w, const char *const *names,
                          const nh_dur *durs, const char *const *descs, int n) {
  char buf[512];
  size_t k = 0;
  for (int i = 0; i < n && k < sizeof buf; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s;dur=%.2f;desc=\"%s\"", i ? ", " : "",
                          names[i], (double)durs[i] / (double)NH_MSEC, descs[i]);
  nh_header_set(nh_resp_header(w), "Server-Timing", buf);
}

void httpbin_delay(nh_response_writer *w, nh_request *r) {
  httpbin *hb = nh_request_handler_data(r);
  nh_dur d;
  if (httpbin_bounded_duration(w, "invalid duration", nh_request_path_value(r, "n"), 0,
                          hb->max_duration, &d) != 0)
    return;
  httpbin_extend_write_deadline(w, hb, d);
  if (httpbin_sleep(w, d) != 0)
    return;
  server_timing(w, (const char *[]){"initial_delay"}, (nh_dur[]){d},
                (const char *[]){"initial delay"}, 1);
  httpbin_body_echo(w, r);
}

/* Writes n '*' bytes paced so that byte i goes out at start + i * pause:
 * at each wake-up every byte that has come due (at most 256 KiB) is sent
 * in one write and one flush, and wake-ups are at least a millisecond
 * apart, so a fast drip (50 MB over a second) is about a thousand writes
 * rather than one per byte, and a slow one (5 bytes over 2 s) still sends
 * each byte at its own time. pause 0 sends as fast as the socket takes the
 * batches, parking briefly between them so the loop keeps turning. */
static void drip_bytes(nh_response_writer *w, int64_t n, nh_dur pause) {
  enum { MAX_BATCH = 256 * 1024 };
  const nh_dur gap = pause ? NH_MSEC : 50 * NH_USEC;
  size_t cap = n < MAX_BATCH ? (size_t)n : MAX_BATCH;
  char *stars = malloc(cap);
  if (!stars)
    return;
  memset(stars, '*', cap);
  nh_time start = nh_now(), last = 0;
  for (int64_t sent = 0; sent < n;) {
    nh_time now = nh_now();
    int64_t due = pause ? (now - start) / pause + 1 : n;
    if (due > n)
      due = n;
    if (due > sent) {
      size_t k = due - sent < (int64_t)cap ? (size_t)(due - sent) : cap;
      if (nh_resp_write(w, stars, k) < 0 || nh_resp_flush(w) != NH_OK)
        break;
      sent += (int64_t)k;
      last = now;
    }
    if (sent == n)
      break;
    nh_time next = pause ? start + sent * pause : 0; /* when byte `sent` is due */
    if (next < last + gap)
      next = last + gap;
    if (nh_sleep_until(next) != NH_OK)
      break; /* the client left */
  }
  free(stars);
}

/* numbytes '*' bytes spread over duration (the first at once, the last at
 * the end), after delay, with status code; a Content-Length, not chunks,
 * as a slow server would send. Defaults as go-httpbin (delay 2s, text),
 * or with --compat httpbin.org as httpbin.org (delay 0, octet-stream). */
void httpbin_drip(nh_response_writer *w, nh_request *r) {
  httpbin *hb = nh_request_handler_data(r);
  int org = hb->compat == HTTPBIN_COMPAT_ORG;
  nh_dur duration = 2 * NH_SEC, delay = org ? 0 : 2 * NH_SEC;
  int64_t numbytes = 10, code = 200;
  const char *v;
  if ((v = httpbin_arg(r, "duration")) &&
      httpbin_bounded_duration(w, "invalid duration", v, 0, hb->max_duration, &duration) != 0)
    return;
  if ((v = httpbin_arg(r, "delay")) &&
      httpbin_bounded_duration(w, "invalid delay", v, 0, hb->max_duration, &delay) != 0)
    return;
  if ((v = httpbin_arg(r, "numbytes")) && httpbin_parse_int(v, 1, hb->max_body, &numbytes) != 0) {
    httpbin_error(w, 400, "invalid numbytes: %s not in range [1, %lld]", v,
                  (long long)hb->max_body);
    return;
  }
  if ((v = httpbin_arg(r, "code")) && httpbin_parse_int(v, 100, 599, &code) != 0) {
    httpbin_error(w, 400, "invalid status code: %s not in range [100, 599]", v);
    return;
  }
  if (duration + delay > hb->max_duration) {
    char a[32], b[32], c[32];
    httpbin_error(w, 400, "too much time: %s+%s > %s", nh_dur_format(duration, a, sizeof a),
             nh_dur_format(delay, b, sizeof b), nh_dur_format(hb->max_duration, c, sizeof c));
    return;
  }
  nh_dur pause = numbytes > 1 ? duration / (numbytes - 1) : 0;
  httpbin_extend_write_deadline(w, hb, delay + duration);
  if (httpbin_sleep(w, delay) != 0)
    return;
  char len[24];
  snprintf(len, sizeof len, "%lld", (long long)numbytes);
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", org ? HTTPBIN_BINARY_TYPE : HTTPBIN_TEXT_TYPE);
  nh_header_set(h, "Content-Length", len);
  server_timing(w,
                (const char *[]){"total_duration", "initial_delay", "write_duration",
                                 "pause_per_write"},
                (nh_dur[]){delay + duration, delay, duration, pause},
                (const char *[]){"total request duration", "initial delay",
                                 "duration of writes after initial delay",
                                 "computed pause between writes"},
                4);
  nh_resp_write_header(w, (int)code);
  drip_bytes(w, numbytes, pause);
}

/* min(max(n, 1), 100) lines of JSON, one flush each. */
void httpbin_stream(nh_response_writer *w, nh_request *r) {
  const char *raw = nh_request_path_value(r, "n");
  int64_t n;
  if (httpbin_parse_int(raw, INT64_MIN, INT64_MAX, &n) != 0) {
    httpbin_error(w, 400, "invalid count: %s", raw ? raw : "");
    return;
  }
  n = n > 100 ? 100 : n < 1 ? 1 : n;
  json_t *line = json_object();
  json_object_set_new(line, "args", httpbin_values_shaped(r, nh_request_query_values(r)));
  json_object_set_new(line, "headers", httpbin_headers_json(r));
  const char *origin = httpbin_origin(r);
  json_object_set_new(line, "origin", httpbin_json_bytes(origin, strlen(origin)));
  json_object_set_new(line, "url", httpbin_json_bytes(httpbin_url(r), strlen(httpbin_url(r))));
  nh_header_set(nh_resp_header(w), "Content-Type", HTTPBIN_JSON_TYPE);
  for (int64_t i = 0; i < n; i++) {
    json_object_set_new(line, "id", json_integer(i));
    char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    int ok = text && nh_resp_write(w, text, strlen(text)) >= 0 && nh_resp_write(w, "\n", 1) >= 0 &&
             nh_resp_flush(w) == NH_OK;
    free(text);
    if (!ok)
      break;
  }
  json_decref(line);
}

static int64_t unix_millis(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* count "ping" events over duration after delay (defaults 10, 5s, 0). */
void httpbin_sse(nh_response_writer *w, nh_request *r) {
  httpbin *hb = nh_request_handler_data(r);
  int64_t count = 10;
  nh_dur duration = 5 * NH_SEC, delay = 0;
  const char *v;
  if ((v = httpbin_arg(r, "count")) &&
      httpbin_parse_int(v, 1, HTTPBIN_MAX_SSE_COUNT, &count) != 0) {
    httpbin_error(w, 400, "invalid count: must be in range [1, %d]", HTTPBIN_MAX_SSE_COUNT);
    return;
  }
  if ((v = httpbin_arg(r, "duration")) &&
      httpbin_bounded_duration(w, "invalid duration", v, 1, hb->max_duration, &duration) != 0)
    return;
  if ((v = httpbin_arg(r, "delay")) &&
      httpbin_bounded_duration(w, "invalid delay", v, 0, hb->max_duration, &delay) != 0)
    return;
  if (duration + delay > hb->max_duration) {
    httpbin_write_body(w, 400, HTTPBIN_TEXT_TYPE, "Too much time\n", 14);
    return;
  }
  nh_dur pause = count > 1 ? duration / (count - 1) : duration;
  httpbin_extend_write_deadline(w, hb, delay + duration);
  if (httpbin_sleep(w, delay) != 0)
    return;
  nh_header_set(nh_resp_header(w), "Content-Type", "text/event-stream; charset=utf-8");
  nh_header_set(nh_resp_header(w), "Cache-Control", "no-cache");
  nh_resp_write_header(w, 200);
  nh_time start = nh_now();
  for (int64_t i = 0; i < count; i++) {
    if (nh_resp_printf(w, "event: ping\ndata: {\"id\":%lld,\"timestamp\":%lld}\n\n", (long long)i,
                       (long long)unix_millis()) < 0 ||
        nh_resp_flush(w) != NH_OK)
      return;
    if (i < count - 1 && nh_sleep_until(start + (i + 1) * pause) != NH_OK)
      return;
  }
}
