/* The mux: registration (parse, refuse conflicts, insert) and serving. */
#include "nethttp/mux.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mux/route.h"
#include "nethttp/errors.h"
#include "nethttp/log.h"
#include "nethttp/status.h"

struct nh_mux {
  nh__rnode root;
  nh__pattern **pats;
  int npats, cap;
  nh_handler not_found;
  atomic_bool frozen; /* nh_mux_handler was called: the tree is read-only */
  char *err;
};

nh_mux *nh_mux_new(void) { return calloc(1, sizeof(nh_mux)); }

void nh_mux_free(nh_mux *m) {
  if (!m)
    return;
  nh__tree_free(&m->root);
  for (int i = 0; i < m->npats; i++)
    nh__pattern_free(m->pats[i]);
  free(m->pats);
  free(m->err);
  free(m);
}

const char *nh_mux_error(const nh_mux *m) { return m && m->err ? m->err : ""; }

static int set_error(nh_mux *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_error(nh_mux *m, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  free(m->err);
  m->err = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (m->err) {
    va_start(ap, fmt);
    vsnprintf(m->err, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  return code;
}

int nh__mux_handle(nh_mux *m, const char *pattern, nh_handler h, const char *file, int line) {
  if (!m)
    return NH_EINVAL;
  free(m->err);
  m->err = NULL;
  if (!pattern)
    return set_error(m, NH_EINVAL, "nil pattern");
  if (atomic_load(&m->frozen)) {
    /* Matching reads the tree without a lock, so it cannot change under a
     * serving mux. */
    set_error(m, NH_EBUSY, "pattern \"%s\" (at %s:%d) registered after the mux started serving",
              pattern, file ? file : "?", line);
    nh_log_write(NULL, NH_LOG_ERROR, file, line, "mux: registration after serving refused",
                 (nh_log_field[]){NH_LSTR("pattern", pattern)}, 1);
    return NH_EBUSY;
  }
  if (!h.fn)
    return set_error(m, NH_EINVAL, "parsing \"%s\": nil handler", pattern);
  char why[256];
  nh__pattern *p = nh__pattern_parse(pattern, why, sizeof why);
  if (!p)
    return set_error(m, NH_EINVAL, "parsing \"%s\": %s", pattern, why);
  p->file = file ? file : "?";
  p->line = line;
  for (int i = 0; i < m->npats; i++) {
    nh__pattern *q = m->pats[i];
    if (!nh__pattern_conflicts(p, q))
      continue;
    char desc[1024];
    nh__pattern_describe_conflict(p, q, desc, sizeof desc);
    set_error(m, NH_ECONFLICT,
              "pattern \"%s\" (registered at %s:%d) conflicts with pattern \"%s\" (registered "
              "at %s:%d):\n%s",
              p->str, p->file, p->line, q->str, q->file, q->line, desc);
    nh__pattern_free(p);
    return NH_ECONFLICT;
  }
  if (m->npats == m->cap) {
    int cap = m->cap ? m->cap * 2 : 16;
    nh__pattern **pats = realloc(m->pats, (size_t)cap * sizeof *pats);
    if (!pats) {
      nh__pattern_free(p);
      return set_error(m, NH_ENOMEM, "out of memory");
    }
    m->pats = pats;
    m->cap = cap;
  }
  if (nh__tree_add(&m->root, p, h) != NH_OK) {
    nh__pattern_free(p); /* a partial path without a leaf matches nothing */
    return set_error(m, NH_ENOMEM, "out of memory");
  }
  m->pats[m->npats++] = p;
  return NH_OK;
}

void nh_mux_set_not_found(nh_mux *m, nh_handler h) {
  if (m && !atomic_load(&m->frozen))
    m->not_found = h;
}

/* ---- serving ---- */

static void not_found(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_error(w, "404 page not found", NH_STATUS_NOT_FOUND);
}

/* Go's http.Redirect for an absolute, clean path. */
static void redirect(nh_response_writer *w, nh_request *r, const char *location) {
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Location", location);
  const char *method = nh_request_method(r);
  int get = !strcmp(method, "GET");
  if (!nh_header_get(h, "Content-Type") && (get || !strcmp(method, "HEAD")))
    nh_header_set(h, "Content-Type", "text/html; charset=utf-8");
  nh_resp_write_header(w, NH_STATUS_MOVED_PERMANENTLY);
  if (!get)
    return;
  nh_resp_write_string(w, "<a href=\"");
  for (const char *c = location; *c; c++) { /* htmlEscape */
    switch (*c) {
    case '<': nh_resp_write_string(w, "&lt;"); break;
    case '>': nh_resp_write_string(w, "&gt;"); break;
    case '&': nh_resp_write_string(w, "&amp;"); break;
    case '"': nh_resp_write_string(w, "&#34;"); break;
    case '\'': nh_resp_write_string(w, "&#39;"); break;
    default: nh_resp_write(w, c, 1);
    }
  }
  nh_resp_write_string(w, "\">Moved Permanently</a>.\n\n");
}

/* "DELETE, GET, HEAD" into out (methods that do not fit are left out). */
static void join_methods(const nh__route *rt, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < rt->nallow; i++) {
    size_t l = strlen(rt->allow[i]);
    if (n + l + 3 > cap)
      break;
    if (i) {
      memcpy(out + n, ", ", 2);
      n += 2;
    }
    memcpy(out + n, rt->allow[i], l + 1);
    n += l;
  }
}

static void method_not_allowed(nh_response_writer *w, const nh__route *rt) {
  char allow[512];
  join_methods(rt, allow, sizeof allow);
  nh_header_set(nh_resp_header(w), "Allow", allow);
  nh_error(w, "Method Not Allowed", NH_STATUS_METHOD_NOT_ALLOWED);
}

static void mux_serve(nh_response_writer *w, nh_request *r) {
  nh_mux *m = nh_request_handler_data(r);
  const char *path = nh_request_path(r), *query = nh_request_query(r);
  size_t need = nh__route_scratch(strlen(path), strlen(query));
  char stack[1024];
  char *scratch = need <= sizeof stack ? stack : nh_request_alloc(r, need);
  if (!scratch) {
    nh_error(w, "Service Unavailable", NH_STATUS_SERVICE_UNAVAILABLE);
    return;
  }
  nh__route rt;
  nh__route_find(&m->root, nh_request_method(r), nh_request_host(r), path, query, scratch, &rt);
  switch (rt.status) {
  case 200: {
    const nh__pattern *p = rt.leaf->pattern;
    nh_request_set_pattern(r, p->str);
    for (int i = 0; i < rt.mm.nvals && i < p->nnames; i++)
      nh_request_set_path_value(r, p->names[i], rt.mm.vals[i]);
    nh_handler_serve(rt.leaf->handler, w, r);
    return;
  }
  case 301:
    redirect(w, r, rt.location);
    return;
  case 400:
    if (nh_request_proto_at_least(r, 1, 1))
      nh_header_set(nh_resp_header(w), "Connection", "close");
    nh_error(w, "Bad Request", NH_STATUS_BAD_REQUEST);
    return;
  case 405:
    method_not_allowed(w, &rt);
    return;
  default:
    if (m->not_found.fn)
      nh_handler_serve(m->not_found, w, r);
    else
      not_found(w, r);
  }
}

nh_handler nh_mux_handler(nh_mux *m) {
  if (m)
    atomic_store(&m->frozen, 1);
  return NH_HANDLER(mux_serve, m);
}

int nh_mux_match(nh_mux *m, const char *method, const char *host, const char *path,
                 const char *query, nh_mux_route *out) {
  if (!m || !method || !path || !out)
    return NH_EINVAL;
  size_t qlen = query ? strlen(query) : 0;
  if (nh__route_scratch(strlen(path), qlen) > sizeof out->buf)
    return NH_ERANGE;
  nh__route rt;
  nh__route_find(&m->root, method, host, path, query, out->buf, &rt);
  out->status = rt.status;
  out->pattern = NULL;
  out->handler = NH_HANDLER(NULL, NULL);
  out->nvalues = 0;
  out->location = rt.location;
  out->allow[0] = 0;
  if (rt.status == 405)
    join_methods(&rt, out->allow, sizeof out->allow);
  if (rt.status != 200)
    return NH_ENOENT;
  const nh__pattern *p = rt.leaf->pattern;
  out->pattern = p->str;
  out->handler = rt.leaf->handler;
  for (int i = 0; i < rt.mm.nvals && i < p->nnames; i++) {
    out->names[i] = p->names[i];
    out->values[i] = rt.mm.vals[i];
  }
  out->nvalues = rt.mm.nvals < p->nnames ? rt.mm.nvals : p->nnames;
  return NH_OK;
}
