/* The Client: a total timeout and redirects over a Transport.
 *
 * Redirects as Go: 301, 302 and 303 turn any method but HEAD into a GET
 * without a body; 307 and 308 repeat the method and replay the body (or
 * stop there if it cannot be replayed). Authorization and cookies are not
 * sent to another host unless it is the same domain or a subdomain. */
#include "internal.h"
#include "jar_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nh_client {
  nh_client_config cfg;
  nh_transport *own; /* made by the client when none was given */
};

nh_client *nh_client_new(const nh_client_config *cfg) {
  nh_client *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  nh_client_config d = NH_CLIENT_CONFIG_DEFAULT;
  c->cfg = cfg ? *cfg : d;
  if (c->cfg.max_redirects <= 0)
    c->cfg.max_redirects = d.max_redirects;
  if (!c->cfg.transport) {
    if (!(c->own = nh_transport_new(NULL))) {
      free(c);
      return NULL;
    }
    c->cfg.transport = c->own;
  }
  return c;
}

void nh_client_free(nh_client *c) {
  if (!c)
    return;
  nh_transport_free(c->own);
  free(c);
}

nh_transport *nh_client_transport(nh_client *c) { return c->cfg.transport; }

/* Go's shouldCopyHeaderOnRedirect: sensitive headers follow a redirect to
 * the same host or one of its subdomains only. */
static int same_or_subdomain(const char *from, const char *to) {
  if (!strcasecmp(from, to))
    return 1;
  size_t lf = strlen(from), lt = strlen(to);
  return lt > lf && to[lt - lf - 1] == '.' && !strcasecmp(to + lt - lf, from);
}

static const char *const sensitive[] = {"Authorization", "Www-Authenticate", "Cookie", "Cookie2"};

static nh_client_request *next_hop(nh_client_request *first, nh_client_request *cur,
                                   const nh_url *next, int status) {
  char *url = nh_url_string(next);
  int keep_method = status == 307 || status == 308;
  const char *method = keep_method || !strcmp(cur->method, "HEAD") ? cur->method : "GET";
  nh_client_request *hop = url ? nh_client_request_new(method, url) : NULL;
  free(url);
  if (!hop)
    return NULL;
  char from[256], to[256];
  int drop = nh_url_hostname(cur->url, from, sizeof from) < 0 ||
             nh_url_hostname(next, to, sizeof to) < 0 || !same_or_subdomain(from, to);
  for (size_t i = 0; i < nh_header_len(cur->header); i++) {
    const char *k, *v;
    nh_header_at(cur->header, i, &k, &v);
    int skip = !strcasecmp(k, "Host");
    for (size_t j = 0; drop && j < sizeof sensitive / sizeof *sensitive; j++)
      skip |= !strcasecmp(k, sensitive[j]);
    if (!keep_method && (!strcasecmp(k, "Content-Type") || !strcasecmp(k, "Content-Length")))
      skip = 1; /* the body is gone */
    if (!skip)
      nh_header_add(hop->header, k, v);
  }
  hop->ctx = first->ctx;
  hop->trace = first->trace;
  if (keep_method && first->body != BODY_NONE) {
    hop->body = first->body;
    hop->bytes = first->bytes;
    hop->nbytes = first->nbytes;
    hop->fd = first->fd;
    hop->read = first->read;
    hop->rewind = first->rewind;
    hop->arg = first->arg;
    hop->length = first->length;
    hop->body_started = 0; /* rewound by the caller */
    hop->borrowed_body = 1;
  }
  return hop;
}

static int is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int nh_client_do_at(nh_client *c, nh_client_request *req, nh_response **out, const char *file,
                    int line) {
  *out = NULL;
  nh_time deadline = c->cfg.timeout > 0 && c->cfg.timeout != NH_NO_TIMEOUT
                         ? nh_deadline_after(c->cfg.timeout)
                         : NH_NO_DEADLINE;
  nh_client_request *cur = req;
  for (int redirects = 0;; redirects++) {
    nh_response *resp;
    int e = c->cfg.jar
                ? nh__jar_round_trip(c->cfg.jar, c->cfg.transport, cur, deadline, &resp, file, line)
                : nh__transport_round_trip(c->cfg.transport, cur, deadline, &resp, file, line);
    if (e) {
      if (cur != req)
        nh_client_request_free(cur);
      return e;
    }
    resp->owned_req = cur != req ? cur : NULL;
    resp->url = nh__creq_url_string(cur);
    resp->total_deadline = deadline;
    const char *loc = nh_header_get(resp->head.header, "Location");
    nh_url *next = NULL;
    if (!is_redirect(resp->head.status) || !loc || nh_url_parse_ref(cur->url, loc, &next) != NH_OK ||
        (strcmp(next->scheme, "http") != 0 && strcmp(next->scheme, "https") != 0)) {
      nh_url_free(next);
      *out = resp;
      return NH_OK;
    }
    int keep_method = resp->head.status == 307 || resp->head.status == 308;
    if (redirects + 1 > c->cfg.max_redirects && !c->cfg.check_redirect) {
      nh_url_free(next);
      nh_response_close(resp);
      return NH_ETOOMANYREDIRECTS;
    }
    char *nurl = nh_url_string(next);
    int stop = c->cfg.check_redirect
                   ? c->cfg.check_redirect(keep_method || !strcmp(cur->method, "HEAD") ? cur->method : "GET",
                                           nurl ? nurl : "", redirects + 1, c->cfg.check_redirect_user)
                   : 0;
    free(nurl);
    /* A body that cannot be sent again ends the chain here. */
    if (!stop && keep_method && req->body != BODY_NONE && nh__creq_rewind(cur) != NH_OK)
      stop = 1;
    if (stop) {
      nh_url_free(next);
      *out = resp;
      return NH_OK;
    }
    nh_client_request *hop = next_hop(req, cur, next, resp->head.status);
    nh_url_free(next);
    nh_response_close(resp); /* frees cur if it was a hop */
    if (!hop)
      return NH_ENOMEM;
    cur = hop;
  }
}

int nh__client_do_owned(nh_client *c, nh_client_request *req, nh_response **out,
                        const char *file, int line) {
  int e = nh_client_do_at(c, req, out, file, line);
  if (e == NH_OK)
    nh__response_adopt_request(*out, req);
  else
    nh_client_request_free(req);
  return e;
}

int nh_client_get_at(nh_client *c, const char *url, nh_response **out, const char *file, int line) {
  nh_client_request *req = nh_client_request_new("GET", url);
  if (!req)
    return NH_EINVAL;
  return nh__client_do_owned(c, req, out, file, line);
}

int nh_client_post_at(nh_client *c, const char *url, const char *content_type, const void *body,
                      size_t len, nh_response **out, const char *file, int line) {
  nh_client_request *req = nh_client_request_new("POST", url);
  if (!req)
    return NH_EINVAL;
  int e = nh_client_request_set_body(req, body, len);
  if (!e && content_type)
    e = nh_header_set(req->header, "Content-Type", content_type);
  if (e) {
    nh_client_request_free(req);
    return e;
  }
  return nh__client_do_owned(c, req, out, file, line);
}
