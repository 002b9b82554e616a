/* Bodies that carry their own type: url-encoded forms and JSON, for a
 * request being built and for one-shot posts (Go's Client.PostForm; a
 * JSON post is Client.Post with "application/json"). The body is encoded
 * here and the Content-Type set to match, so neither can be forgotten. */
#include "internal.h"
#include "nethttp/client_json.h"

#include <stdlib.h>
#include <string.h>

#define FORM_TYPE "application/x-www-form-urlencoded"
#define JSON_TYPE "application/json"

static int set_typed(nh_client_request *req, const char *body, size_t len, const char *type) {
  int e = nh_client_request_set_body(req, body, len);
  return e ? e : nh_header_set(req->header, "Content-Type", type);
}

int nh_client_request_set_form(nh_client_request *req, const nh_values *v) {
  char *enc = v ? nh_values_encode(v) : strdup("");
  if (!enc)
    return NH_ENOMEM;
  int e = set_typed(req, enc, strlen(enc), FORM_TYPE);
  free(enc);
  return e;
}

int nh_client_request_set_json(nh_client_request *req, const char *json) {
  if (!json)
    return NH_EINVAL;
  return set_typed(req, json, strlen(json), JSON_TYPE);
}

int nh_client_request_set_json_value(nh_client_request *req, const json_t *v) {
  if (!v)
    return NH_EINVAL;
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!text)
    return NH_EINVAL; /* a value jansson cannot encode (or no memory) */
  int e = set_typed(req, text, strlen(text), JSON_TYPE);
  free(text);
  return e;
}

/* A POST made and sent on the caller's behalf: on success the response
 * owns the request; on failure it is freed here. */
static int post(nh_client *c, const char *url, int (*set)(nh_client_request *, const void *),
                const void *arg, nh_response **out, const char *file, int line) {
  *out = NULL;
  nh_client_request *req = nh_client_request_new("POST", url);
  if (!req)
    return NH_EINVAL;
  int e = set(req, arg);
  if (e) {
    nh_client_request_free(req);
    return e;
  }
  return nh__client_do_owned(c, req, out, file, line);
}

static int set_form(nh_client_request *req, const void *v) { return nh_client_request_set_form(req, v); }
static int set_json(nh_client_request *req, const void *s) { return nh_client_request_set_json(req, s); }
static int set_json_value(nh_client_request *req, const void *v) {
  return nh_client_request_set_json_value(req, v);
}

int nh_client_post_form_at(nh_client *c, const char *url, const nh_values *v, nh_response **out,
                           const char *file, int line) {
  return post(c, url, set_form, v, out, file, line);
}

int nh_client_post_json_at(nh_client *c, const char *url, const char *json, nh_response **out,
                           const char *file, int line) {
  return post(c, url, set_json, json, out, file, line);
}

int nh_client_post_json_value_at(nh_client *c, const char *url, const json_t *v,
                                 nh_response **out, const char *file, int line) {
  return post(c, url, set_json_value, v, out, file, line);
}
