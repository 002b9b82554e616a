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
typedef enum hb_compat {
  HB_COMPAT_GO = 0, /* go-httpbin: {"k": ["v"]}, /cookies as {"k": "v"} */
  HB_COMPAT_ORG,    /* httpbin.org: {"k": "v"} (lists for repeats), {"cookies": {...}} */
} hb_compat;

typedef struct httpbin {
  int64_t max_body;     /* request bodies and generated bodies (bytes) */
  hb_compat compat;
  int tls;              /* served over HTTPS: URLs echoed with https */
  nh_dur max_duration;  /* /delay, /drip, /sse, /range?duration */
  nh_dur write_timeout; /* the server's, to extend deadlines by it */
  nh_logger *log;
} httpbin;

#define HB_JSON_TYPE "application/json; charset=utf-8"
#define HB_TEXT_TYPE "text/plain; charset=utf-8"
#define HB_HTML_TYPE "text/html; charset=utf-8"
#define HB_BINARY_TYPE "application/octet-stream"
#define HB_MAX_SSE_COUNT 10000 /* events of one /sse stream */

/* ---- query strings ---- */

/* First value of key in the request's query, or NULL. */
#define hb_arg(r, key) nh_request_query_value((r), (key))
/* {"key": ["v1", "v2"], ...}, as Go encodes url.Values. */
json_t *hb_values_json(const nh_values *v);
/* hb_values_json in the service's shape: with --compat httpbin.org a key
 * with one value maps to the value itself ({"k": "v"}), as httpbin.org's
 * semiflatten does; lists stay for repeated keys. */
json_t *hb_values_shaped(nh_request *r, const nh_values *v);
/* In place: each one-element array of obj becomes its element. */
void hb_semiflatten(json_t *obj);

/* ---- the echo shapes ---- */

/* {"Host": ["..."], ...}; with --compat httpbin.org {"Host": "..."}, the
 * values of a repeated header joined with "," as httpbin.org's WSGI server
 * hands them over. */
json_t *hb_headers_json(nh_request *r);
const char *hb_origin(nh_request *r);   /* the client's IP */
const char *hb_url(nh_request *r);      /* "http://host/path?query" */
/* args, headers, method, origin, url: the shape of /get. */
json_t *hb_get_json(nh_request *r);
/* A JSON string of bytes that may not be UTF-8 (invalid bytes become
 * U+FFFD, as Go's encoder does). */
json_t *hb_json_bytes(const char *s, size_t n);
/* Appends value (reference taken) to the array obj[key], made if absent:
 * Go's map[string][]string. A key that is not UTF-8 is repaired too. */
void hb_json_append(json_t *obj, const char *key, json_t *value);

/* ---- writing ---- */

/* Sends status, Content-Type JSON and val indented by two spaces (as
 * go-httpbin does); takes the reference to val. */
void hb_write_json(nh_response_writer *w, int status, json_t *val);
/* {"status_code": N, "error": "Not Found", "detail": "..."} */
void hb_error(nh_response_writer *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hb_write_body(nh_response_writer *w, int status, const char *type, const void *body, size_t n);
/* Location: path (as given) with the status. */
void hb_redirect(nh_response_writer *w, const char *location, int status);

/* ---- parsing ---- */

/* A Go duration ("1.5s", "250ms") or seconds as a float ("1.5"). 0 or -1. */
int hb_parse_duration(const char *s, nh_dur *out);
/* hb_parse_duration bounded to [min, max]; on failure answers 400 with
 * what (e.g. "invalid duration") and returns -1. */
int hb_bounded_duration(nh_response_writer *w, const char *what, const char *s, nh_dur min,
                        nh_dur max, nh_dur *out);
/* A whole decimal number in [min, max]: 0 or -1. */
int hb_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* The seed of a reproducible byte stream: ?seed=N, else a fresh one. 0 or
 * -1 (answered 400). */
int hb_parse_seed(nh_response_writer *w, nh_request *r, uint64_t *seed);
uint64_t hb_rand_next(uint64_t *state); /* splitmix64 */

/* Parks the fiber for d; on the client leaving answers 499 (as
 * go-httpbin) and returns -1. */
int hb_sleep(nh_response_writer *w, nh_dur d);
/* Moves this response's write deadline to cover d more of deliberate
 * slowness plus the server's own write timeout. */
void hb_extend_write_deadline(nh_response_writer *w, const httpbin *hb, nh_dur d);

/* Reads the whole body (at most hb->max_body) into request memory. 0, or
 * -1 after answering 413 / 400. */
int hb_read_body(nh_response_writer *w, nh_request *r, char **body, size_t *n);

/* ---- endpoint families ---- */

/* httpbin_methods.c */
void hb_get(nh_response_writer *w, nh_request *r);
void hb_body_echo(nh_response_writer *w, nh_request *r);
void hb_anything(nh_response_writer *w, nh_request *r);
void hb_headers(nh_response_writer *w, nh_request *r);
void hb_ip(nh_response_writer *w, nh_request *r);
void hb_user_agent(nh_response_writer *w, nh_request *r);
void hb_response_headers(nh_response_writer *w, nh_request *r);
/* Fills data/files/form/json of a body response from the request body. */
int hb_fill_body(nh_response_writer *w, nh_request *r, json_t *resp);
/* httpbin_form.c: form and files of a multipart/form-data body. */
int hb_fill_multipart(nh_response_writer *w, nh_request *r, json_t *resp);

/* httpbin_status.c */
void hb_status(nh_response_writer *w, nh_request *r);
void hb_redirect_n(nh_response_writer *w, nh_request *r);
void hb_relative_redirect(nh_response_writer *w, nh_request *r);
void hb_absolute_redirect(nh_response_writer *w, nh_request *r);
void hb_redirect_to(nh_response_writer *w, nh_request *r);

/* httpbin_auth.c */
void hb_cookies(nh_response_writer *w, nh_request *r);
void hb_cookies_set(nh_response_writer *w, nh_request *r);
void hb_cookies_delete(nh_response_writer *w, nh_request *r);
void hb_basic_auth(nh_response_writer *w, nh_request *r);
void hb_bearer(nh_response_writer *w, nh_request *r);

/* httpbin_digest.c */
void hb_digest_auth(nh_response_writer *w, nh_request *r);

/* httpbin_stream.c */
void hb_delay(nh_response_writer *w, nh_request *r);
void hb_drip(nh_response_writer *w, nh_request *r);
void hb_stream(nh_response_writer *w, nh_request *r);
void hb_sse(nh_response_writer *w, nh_request *r);

/* httpbin_bytes.c */
void hb_bytes(nh_response_writer *w, nh_request *r);
void hb_stream_bytes(nh_response_writer *w, nh_request *r);
void hb_range(nh_response_writer *w, nh_request *r);

/* httpbin_cache.c */
void hb_cache(nh_response_writer *w, nh_request *r);
void hb_etag(nh_response_writer *w, nh_request *r);
void hb_gzip(nh_response_writer *w, nh_request *r);
void hb_deflate(nh_response_writer *w, nh_request *r);

/* httpbin_static.c */
void hb_index(nh_response_writer *w, nh_request *r);
void hb_json(nh_response_writer *w, nh_request *r);
void hb_html(nh_response_writer *w, nh_request *r);
void hb_robots(nh_response_writer *w, nh_request *r);
void hb_deny(nh_response_writer *w, nh_request *r);
void hb_uuid(nh_response_writer *w, nh_request *r);
void hb_base64(nh_response_writer *w, nh_request *r);
/* Content types a browser could run as a page (html, xml, javascript,
 * svg): what the service echoes in them is HTML-escaped. */
int hb_dangerous_type(const char *ct);
/* s with < > & ' " escaped, malloc'd (length in *outlen); NULL when out of
 * memory. */
char *hb_html_escape(const unsigned char *s, size_t n, size_t *outlen);

#endif
