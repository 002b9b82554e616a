/* nethttp httpbin — multipart/form-data bodies: fields into "form", file
 * contents into "files" ({"field": ["contents", ...]}), as go-httpbin. */
#include "httpbin.h"

#include <nethttp/form.h>

#include <stdlib.h>
#include <string.h>

/* The whole contents of f as a JSON string (invalid UTF-8 replaced). */
static json_t *file_contents(const nh_form_file *f) {
  if (f->data)
    return httpbin_json_bytes(f->data, (size_t)f->size);
  char *buf = malloc((size_t)f->size + 1);
  if (!buf)
    return NULL;
  int64_t got = 0;
  while (got < f->size) {
    ssize_t n = nh_form_file_read_at(f, buf + got, (size_t)(f->size - got), got);
    if (n <= 0)
      break;
    got += n;
  }
  json_t *s = got == f->size ? httpbin_json_bytes(buf, (size_t)got) : NULL;
  free(buf);
  return s;
}

int httpbin_fill_multipart(nh_response_writer *w, nh_request *r, json_t *resp) {
  httpbin *hb = nh_request_handler_data(r);
  nh_request_set_form_memory(r, (size_t)hb->max_body);
  int e = nh_request_form_error(r);
  if (e == NH_EBODYTOOLARGE) {
    httpbin_error(w, 413, "request body too large: more than %lld bytes", (long long)hb->max_body);
    return -1;
  }
  if (e != NH_OK) {
    httpbin_error(w, 400, "error parsing request body: %s", nh_strerror(e));
    return -1;
  }
  const nh_values *form = nh_request_post_form(r);
  if (form)
    json_object_set_new(resp, "form", httpbin_values_shaped(r, form));
  json_t *files = json_object_get(resp, "files");
  for (size_t i = 0; i < nh_request_form_file_count(r); i++) {
    const nh_form_file *f = nh_request_form_file_at(r, i);
    json_t *contents = file_contents(f);
    if (!contents) {
      httpbin_error(w, 500, "could not read uploaded file %s", f->filename);
      return -1;
    }
    httpbin_json_append(files, f->field, contents);
  }
  if (hb->compat == HTTPBIN_COMPAT_ORG)
    httpbin_semiflatten(files);
  return 0;
}
