/* nethttp httpbin — shared pieces of the httpbin-compatible test service:
 * its settings, the JSON shapes every endpoint family answers with, and
 * the small parsers (durations, numbers, seeds, bodies) they share.
 *
 * Every handler gets the service (httpbin *) as its handler data. */
#ifndef NH_CLI_HTTPBIN_H
#define NH_CLI_HTTPBIN_H

#include <nethttp.h>
#include <nethttp/base64.h>
#include <nethttp/cookie.h>
#include <nethttp/url.h>

#include <jansson.h>
#include <stdint.h>

/* Which service's JSON shapes the echoes take (--compat). */
typedef enum httpbin_compat {
  HTTPBIN_COMPAT_GO = 0, /* go-httpbin: {"k": ["v"]}, /cookies as {"k": "v"} */
  HTTPBIN_COMPAT_ORG,    /* httpbin.org: {"k": "v"} (lists for repeats), {"cookies": {...}} */
} httpbin_compat;

typedef struct httpbin {
  int64_t max_body;     /* request bodies and generated bodies (bytes) */
  httpbin_compat compat;
  int tls;              /* served over HTTPS: URLs echoed with https */
  nh_dur max_duration;  /* /delay, /drip, /sse, /range?duration */
  nh_dur write_timeout; /* the server's, to extend deadlines by it */
  nh_logger *log;
} httpbin;

#define HTTPBIN_JSON_TYPE "application/json; charset=utf-8"
#define HTTPBIN_TEXT_TYPE "text/plain; charset=utf-8"
#define HTTPBIN_HTML_TYPE "text/html; charset=utf-8"
#define HTTPBIN_BINARY_TYPE "application/octet-stream"
#define HTTPBIN_MAX_SSE_COUNT 10000 /* events of one /sse stream */

/* ---- query strings ---- */

/* First value of key in the request's query, or NULL. */
#define httpbin_arg(r, key) nh_request_query_value((r), (key))
/* {"key": ["v1", "v2"], ...}, as Go encodes url.Values. */
json_t *httpbin_values_json(const nh_values *v);
/* httpbin_values_json in the service's shape: with --compat httpbin.org a key
 * with one value maps to the value itself ({"k": "v"}), as httpbin.org's
 * semiflatten does; lists stay for repeated keys. */
json_t *httpbin_values_shaped(nh_request *r, const nh_values *v);
/* In place: each one-element array of obj becomes its element. */
void httpbin_semiflatten(json_t *obj);

/* ---- the echo shapes ---- */

/* {"Host": ["..."], ...}; with --compat httpbin.org {"Host": "..."}, the
 * values of a repeated header joined with "," as httpbin.org's WSGI server
 * hands them over. */
json_t *httpbin_headers_json(nh_request *r);
const char *httpbin_origin(nh_request *r);   /* the client's IP */
const char *httpbin_url(nh_request *r);      /* "http://host/path?query" */
/* args, headers, method, origin, url: the shape of /get. */
json_t *httpbin_get_json(nh_request *r);
/* A JSON string of bytes that may not be UTF-8 (invalid bytes become
 * U+FFFD, as Go's encoder does). */
json_t *httpbin_json_bytes(const char *s, size_t n);
/* Appends value (reference taken) to the array obj[key], made if absent:
 * Go's map[string][]string. A key that is not UTF-8 is repaired too. */
void httpbin_json_append(json_t *obj, const char *key, json_t *value);

/* ---- writing ---- */

/* Sends status, Content-Type JSON and val indented by two spaces (as
 * go-httpbin does); takes the reference to val. */
void httpbin_write_json(nh_response_writer *w, int status, json_t *val);
/* {"status_code": N, "error": "Not Found", "detail": "..."} */
void httpbin_error(nh_response_writer *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void httpbin_write_body(nh_response_writer *w, int status, const char *type, const void *body,
                        size_t n);
/* Location: path (as given) with the status. */
void httpbin_redirect(nh_response_writer *w, const char *location, int status);

/* ---- parsing ---- */

/* A Go duration ("1.5s", "250ms") or seconds as a float ("1.5"). 0 or -1. */
int httpbin_parse_duration(const char *s, nh_dur *out);
/* httpbin_parse_duration bounded to [min, max]; on failure answers 400 with
 * what (e.g. "invalid duration") and returns -1. */
int httpbin_bounded_duration(nh_response_writer *w, const char *what, const char *s, nh_dur min,
                        nh_dur max, nh_dur *out);
/* A whole decimal number in [min, max]: 0 or -1. */
int httpbin_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* The seed of a reproducible byte stream: ?seed=N, else a fresh one. 0 or
 * -1 (answered 400). */
int httpbin_parse_seed(nh_response_writer *w, nh_request *r, uint64_t *seed);
uint64_t httpbin_rand_next(uint64_t *state); /* splitmix64 */

/* Parks the fiber for d; on the client leaving answers 499 (as
 * go-httpbin) and returns -1. */
int httpbin_sleep(nh_response_writer *w, nh_dur d);
/* Moves this response's write deadline to cover d more of deliberate
 * slowness plus the server's own write timeout. */
void httpbin_extend_write_deadline(nh_response_writer *w, const httpbin *hb, nh_dur d);

/* Reads the whole body (at most hb->max_body) into request memory. 0, or
 * -1 after answering 413 / 400. */
int httpbin_read_body(nh_response_writer *w, nh_request *r, char **body, size_t *n);

/* ---- endpoint families ---- */

/* httpbin_methods.c */
void httpbin_get(nh_response_writer *w, nh_request *r);
void httpbin_body_echo(nh_response_writer *w, nh_request *r);
void httpbin_anything(nh_response_writer *w, nh_request *r);
void httpbin_headers(nh_response_writer *w, nh_request *r);
void httpbin_ip(nh_response_writer *w, nh_request *r);
void httpbin_user_agent(nh_response_writer *w, nh_request *r);
void httpbin_response_headers(nh_response_writer *w, nh_request *r);
/* Fills data/files/form/json of a body response from the request body. */
int httpbin_fill_body(nh_response_writer *w, nh_request *r, json_t *resp);
/* httpbin_form.c: form and files of a multipart/form-data body. */
int httpbin_fill_multipart(nh_response_writer *w, nh_request *r, json_t *resp);

/* httpbin_status.c */
void httpbin_status(nh_response_writer *w, nh_request *r);
void httpbin_redirect_n(nh_response_writer *w, nh_request *r);
void httpbin_relative_redirect(nh_response_writer *w, nh_request *r);
void httpbin_absolute_redirect(nh_response_writer *w, nh_request *r);
void httpbin_redirect_to(nh_response_writer *w, nh_request *r);

/* httpbin_auth.c */
void httpbin_cookies(nh_response_writer *w, nh_request *r);
void httpbin_cookies_set(nh_response_writer *w, nh_request *r);
void httpbin_cookies_delete(nh_response_writer *w, nh_request *r);
void httpbin_basic_auth(nh_response_writer *w, nh_request *r);
void httpbin_bearer(nh_response_writer *w, nh_request *r);

/* httpbin_digest.c */
void httpbin_digest_auth(nh_response_writer *w, nh_request *r);

/* httpbin_stream.c */
void httpbin_delay(nh_response_writer *w, nh_request *r);
void httpbin_drip(nh_response_writer *w, nh_request *r);
void httpbin_stream(nh_response_writer *w, nh_request *r);
void httpbin_sse(nh_response_writer *w, nh_request *r);

/* httpbin_bytes.c */
void httpbin_bytes(nh_response_writer *w, nh_request *r);
void httpbin_stream_bytes(nh_response_writer *w, nh_request *r);
void httpbin_range(nh_response_writer *w, nh_request *r);

/* httpbin_cache.c */
void httpbin_cache(nh_response_writer *w, nh_request *r);
void httpbin_etag(nh_response_writer *w, nh_request *r);
void httpbin_gzip(nh_response_writer *w, nh_request *r);
void httpbin_deflate(nh_response_writer *w, nh_request *r);

/* httpbin_static.c */
void httpbin_index(nh_response_writer *w, nh_request *r);
void httpbin_json(nh_response_writer *w, nh_request *r);
void httpbin_html(nh_response_writer *w, nh_request *r);
void httpbin_robots(nh_response_writer *w, nh_request *r);
void httpbin_deny(nh_response_writer *w, nh_request *r);
void httpbin_uuid(nh_response_writer *w, nh_request *r);
void httpbin_base64(nh_response_writer *w, nh_request *r);

/* httpbin_websocket.c */
void httpbin_websocket_echo(nh_response_writer *w, nh_request *r);
/* Content types a browser could run as a page (html, xml, javascript,
 * svg): what the service echoes in them is HTML-escaped. */
int httpbin_dangerous_type(const char *ct);
/* s with < > & ' " escaped, malloc'd (length in *outlen); NULL when out of
 * memory. */
char *httpbin_html_escape(const unsigned char *s, size_t n, size_t *outlen);

#endif
