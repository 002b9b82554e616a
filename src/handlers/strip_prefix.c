/* Go's http.StripPrefix. */
#include <stdlib.h>
#include <string.h>

#include "wrap.h"

typedef struct strip {
  nh__wrap base;
  char *prefix;
  size_t len;
} strip;

static void strip_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  strip *s = (strip *)self;
  const char *path = nh_request_path(r);
  if (strncmp(path, s->prefix, s->len) != 0) {
    nh_not_found(w, r);
    return;
  }
  const char *orig = path;
  if (nh_request_set_path(r, path + s->len) != NH_OK) {
    nh_error(w, "Internal Server Error", 500);
    return;
  }
  nh_handler_serve(s->base.next, w, r);
  /* Go gives the inner handler a copy of the request: outer ones still
   * see the path they had. */
  nh_request_set_path(r, orig);
}

static void strip_release(nh__wrap *self) { free(((strip *)self)->prefix); }

nh_handler nh_strip_prefix(const char *prefix, nh_handler h) {
  if (!prefix)
    prefix = "";
  strip *s = nh__wrap_new(sizeof *s, h, strip_serve, strip_release);
  if (!s)
    return NH_HANDLER(NULL, NULL);
  s->prefix = strdup(prefix);
  s->len = strlen(prefix);
  if (!s->prefix) {
    free(s);
    return NH_HANDLER(NULL, NULL);
  }
  return nh__wrap_handler(s);
}
