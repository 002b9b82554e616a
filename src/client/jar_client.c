/* The client's use of a cookie jar around one round trip (Go's
 * Client.send): the jar's cookies join the request's Cookie header, and
 * every Set-Cookie of the response, redirects included, goes to the jar. */
#include "internal.h"
#include "jar_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SET_COOKIE 256

/* The caller's Cookie values, to put back after the round trip: the
 * request is theirs and may be sent again. */
typedef struct saved {
  char **v;
  size_t n;
} saved;

static int save_cookie_header(nh_header *h, saved *s) {
  size_t n = nh_header_values(h, "Cookie", NULL, 0);
  s->v = NULL;
  s->n = 0;
  if (!n)
    return 0;
  const char **vals = malloc(n * sizeof *vals);
  s->v = calloc(n, sizeof *s->v);
  if (!vals || !s->v) {
    free(vals);
    free(s->v);
    s->v = NULL;
    return NH_ENOMEM;
  }
  nh_header_values(h, "Cookie", vals, n);
  for (size_t i = 0; i < n; i++)
    if ((s->v[i] = strdup(vals[i])))
      s->n++;
  free(vals);
  return s->n == n ? 0 : NH_ENOMEM;
}

/* Puts the caller's values back if the header was changed; frees s. */
static void restore_cookie_header(nh_header *h, saved *s, int changed) {
  if (changed)
    nh_header_del(h, "Cookie");
  for (size_t i = 0; i < s->n; i++) {
    if (changed)
      nh_header_add(h, "Cookie", s->v[i]);
    free(s->v[i]);
  }
  free(s->v);
}

/* As Go's Request.AddCookie: one Cookie line, the caller's first. */
static int add_jar_cookies(nh_cookie_jar *jar, nh_client_request *req, int *changed) {
  *changed = 0;
  char *mine = nh_cookie_jar_cookie_header(jar, req->url);
  if (!mine)
    return 0;
  const char *theirs = nh_header_get(req->header, "Cookie");
  int e;
  if (theirs && *theirs) {
    size_t lt = strlen(theirs), lm = strlen(mine);
    char *both = malloc(lt + 2 + lm + 1);
    if (!both) {
      free(mine);
      return NH_ENOMEM;
    }
    memcpy(both, theirs, lt);
    memcpy(both + lt, "; ", 2);
    memcpy(both + lt + 2, mine, lm + 1);
    e = nh_header_set(req->header, "Cookie", both);
    free(both);
  } else {
    e = nh_header_set(req->header, "Cookie", mine);
  }
  free(mine);
  *changed = e == 0;
  return e;
}

static void store_set_cookies(nh_cookie_jar *jar, const nh_url *u, nh_header *h) {
  const char *lines[MAX_SET_COOKIE];
  size_t n = nh_header_values(h, "Set-Cookie", lines, MAX_SET_COOKIE);
  if (n > MAX_SET_COOKIE)
    n = MAX_SET_COOKIE;
  if (n)
    nh_cookie_jar_set_cookie_lines(jar, u, lines, n);
}

int nh__jar_round_trip(nh_cookie_jar *jar, nh_transport *t, nh_client_request *req,
                       nh_time deadline, nh_response **out, const char *file, int line) {
  saved s;
  int changed = 0;
  int e = save_cookie_header(req->header, &s);
  if (!e)
    e = add_jar_cookies(jar, req, &changed);
  if (!e)
    e = nh__transport_round_trip(t, req, deadline, out, file, line);
  restore_cookie_header(req->header, &s, changed);
  if (e == NH_OK)
    store_set_cookies(jar, req->url, (*out)->head.header);
  return e;
}
