/* The cookie jar (Go's net/http/cookiejar): entries in one array behind a
 * mutex. A client keeps tens of cookies, not millions: a linear scan is
 * simpler than Go's map of maps and as fast at that size. */
#include "jar_internal.h"

#include <libpsl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nethttp/errors.h"

#define HOST_MAX 256
/* When session cookies "expire": 9999-12-31T23:59:59Z, as Go's endOfTime. */
#define END_OF_TIME_MS (253402300799LL * 1000)

typedef struct entry {
  char *name, *value, *domain, *path, *key;
  int quoted, secure, http_only, persistent, host_only;
  nh_same_site same_site;
  int64_t expires, creation, last_access; /* unix ms */
  uint64_t seq; /* orders cookies created in the same millisecond */
} entry;

struct nh_cookie_jar {
  nh_cookie_jar_options opt;
  psl_ctx_t *psl;
  pthread_mutex_t mu;
  entry **v;
  size_t n, cap;
  uint64_t next_seq;
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const nh_cookie_jar *jar) {
  return jar->opt.now_ms ? jar->opt.now_ms(jar->opt.now_user) : wall_ms();
}

static const char *libpsl_suffix(void *user, const char *domain) {
  const char *s = psl_unregistrable_domain(user, domain);
  return s ? s : "";
}

/* The suffix function and its argument, or NULL for no list. */
static nh__suffix_fn suffix_fn(const nh_cookie_jar *jar, void **user) {
  if (jar->opt.public_suffix) {
    *user = jar->opt.public_suffix_user;
    return jar->opt.public_suffix;
  }
  *user = jar->psl;
  return jar->psl ? libpsl_suffix : NULL;
}

nh_cookie_jar *nh_cookie_jar_new(const nh_cookie_jar_options *opt) {
  nh_cookie_jar *jar = calloc(1, sizeof *jar);
  if (!jar)
    return NULL;
  if (opt)
    jar->opt = *opt;
  jar->opt.psl_file = NULL; /* not kept: the caller's string */
  if (!jar->opt.no_public_suffix_list && !jar->opt.public_suffix) {
    jar->psl = opt && opt->psl_file ? psl_load_file(opt->psl_file) : psl_latest(NULL);
    if (!jar->psl) {
      free(jar);
      return NULL;
    }
  }
  pthread_mutex_init(&jar->mu, NULL);
  return jar;
}

static void entry_free(entry *e) {
  if (!e)
    return;
  free(e->name);
  free(e->value);
  free(e->domain);
  free(e->path);
  free(e->key);
  free(e);
}

static void remove_at(nh_cookie_jar *jar, size_t i) {
  entry_free(jar->v[i]);
  jar->v[i] = jar->v[--jar->n];
}

void nh_cookie_jar_clear(nh_cookie_jar *jar) {
  pthread_mutex_lock(&jar->mu);
  while (jar->n)
    remove_at(jar, jar->n - 1);
  jar->next_seq = 0;
  pthread_mutex_unlock(&jar->mu);
}

void nh_cookie_jar_free(nh_cookie_jar *jar) {
  if (!jar)
    return;
  nh_cookie_jar_clear(jar);
  free(jar->v);
  psl_free(jar->psl);
  pthread_mutex_destroy(&jar->mu);
  free(jar);
}

size_t nh_cookie_jar_len(nh_cookie_jar *jar) {
  pthread_mutex_lock(&jar->mu);
  size_t n = jar->n;
  pthread_mutex_unlock(&jar->mu);
  return n;
}

static int web_scheme(const nh_url *u, int *https) {
  *https = u->scheme && !strcmp(u->scheme, "https");
  return *https || (u->scheme && !strcmp(u->scheme, "http"));
}

static entry *find(nh_cookie_jar *jar, const char *domain, const char *path, const char *name,
                   size_t *at) {
  for (size_t i = 0; i < jar->n; i++) {
    entry *e = jar->v[i];
    if (!strcmp(e->domain, domain) && !strcmp(e->path, path) && !strcmp(e->name, name)) {
      *at = i;
      return e;
    }
  }
  return NULL;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* Go's newEntry plus the store: one cookie received from host. */
static int set_one(nh_cookie_jar *jar, const nh_cookie *c, const char *host, const char *key,
                   const char *def_path, int64_t now) {
  if (!c->name)
    return 0;
  const char *path = c->path && c->path[0] == '/' ? c->path : def_path;
  char domain[HOST_MAX];
  int host_only;
  void *user;
  nh__suffix_fn suffix = suffix_fn(jar, &user);
  if (nh__jar_domain_and_type(host, c->domain, suffix, user, domain, sizeof domain, &host_only))
    return 0; /* refused */
  int64_t expires;
  int persistent = 1, remove = 0;
  if (c->max_age < 0) /* Max-Age wins over Expires */
    remove = 1;
  else if (c->max_age > 0)
    expires = now + (int64_t)c->max_age * 1000;
  else if (!c->has_expires) {
    expires = END_OF_TIME_MS;
    persistent = 0;
  } else if (c->expires > INT64_MAX / 1000)
    expires = END_OF_TIME_MS;
  else if (c->expires > INT64_MIN / 1000 && c->expires * 1000 > now)
    expires = c->expires * 1000;
  else
    remove = 1;

  size_t at;
  entry *old = find(jar, domain, path, c->name, &at);
  if (remove) {
    if (old)
      remove_at(jar, at);
    return 0;
  }
  entry *e = calloc(1, sizeof *e);
  if (!e)
    return NH_ENOMEM;
  e->name = strdup(c->name);
  e->value = dup_or_empty(c->value);
  e->domain = strdup(domain);
  e->path = strdup(path);
  e->key = strdup(key);
  if (!e->name || !e->value || !e->domain || !e->path || !e->key) {
    entry_free(e);
    return NH_ENOMEM;
  }
  e->quoted = c->quoted;
  e->secure = c->secure;
  e->http_only = c->http_only;
  e->same_site = c->same_site;
  e->persistent = persistent;
  e->host_only = host_only;
  e->expires = expires;
  e->last_access = now;
  if (old) { /* a replacement keeps its place in the order */
    e->creation = old->creation;
    e->seq = old->seq;
    entry_free(old);
    jar->v[at] = e;
    return 0;
  }
  if (jar->n == jar->cap) {
    size_t cap = jar->cap ? jar->cap * 2 : 16;
    entry **v = realloc(jar->v, cap * sizeof *v);
    if (!v) {
      entry_free(e);
      return NH_ENOMEM;
    }
    jar->v = v;
    jar->cap = cap;
  }
  e->creation = now;
  e->seq = jar->next_seq++;
  jar->v[jar->n++] = e;
  return 0;
}

int nh_cookie_jar_set_cookies(nh_cookie_jar *jar, const nh_url *u, const nh_cookie *cookies,
                              size_t n) {
  int https;
  char host[HOST_MAX];
  if (n == 0 || !web_scheme(u, &https) || nh__jar_canonical_host(u->host ? u->host : "", host,
                                                                  sizeof host))
    return 0;
  void *user;
  nh__suffix_fn suffix = suffix_fn(jar, &user);
  const char *key = nh__jar_key(host, suffix, user);
  const char *upath = u->path ? u->path : "";
  char *def_path = malloc(strlen(upath) + 2);
  if (!def_path)
    return NH_ENOMEM;
  nh__jar_default_path(upath, def_path);
  int64_t now = now_ms(jar);
  int e = 0;
  pthread_mutex_lock(&jar->mu);
  for (size_t i = 0; i < n && !e; i++)
    e = set_one(jar, &cookies[i], host, key, def_path, now);
  pthread_mutex_unlock(&jar->mu);
  free(def_path);
  return e;
}

int nh_cookie_jar_set_cookie_lines(nh_cookie_jar *jar, const nh_url *u, const char *const *lines,
                                   size_t n) {
  nh_cookies *l = nh_cookies_new();
  if (!l)
    return NH_ENOMEM;
  int e = 0;
  for (size_t i = 0; i < n && e != NH_ENOMEM; i++)
    e = lines[i] ? nh_cookies_parse_set_cookie(l, lines[i]) : 0;
  size_t m = nh_cookies_len(l);
  nh_cookie *v = m ? malloc(m * sizeof *v) : NULL;
  if (e != NH_ENOMEM && m && !v)
    e = NH_ENOMEM;
  if (e != NH_ENOMEM) {
    for (size_t i = 0; i < m; i++)
      v[i] = *nh_cookies_at(l, i);
    e = nh_cookie_jar_set_cookies(jar, u, v, m);
  }
  free(v);
  nh_cookies_free(l);
  return e == NH_ENOMEM ? e : 0;
}

static int send_order(const void *pa, const void *pb) {
  const entry *a = *(entry *const *)pa, *b = *(entry *const *)pb;
  size_t la = strlen(a->path), lb = strlen(b->path);
  if (la != lb)
    return la > lb ? -1 : 1;
  if (a->creation != b->creation)
    return a->creation < b->creation ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int should_send(const entry *e, int https, const char *host, const char *path) {
  int domain_ok =
      !strcmp(e->domain, host) || (!e->host_only && nh__jar_has_dot_suffix(host, e->domain));
  int secure_ok = !e->secure || https || nh__jar_is_local(e->domain);
  return domain_ok && secure_ok && nh__jar_path_match(e->path, path);
}

/* Go's validCookieValueByte, for what goes on the wire. */
static int value_byte_ok(unsigned char b) {
  return b >= 0x20 && b < 0x7f && b != '"' && b != ';' && b != '\\';
}

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n) {
  if (s->oom)
    return;
  if (s->n + n + 1 > s->cap) {
    size_t cap = (s->cap ? s->cap * 2 : 128);
    while (cap < s->n + n + 1)
      cap *= 2;
    char *q = realloc(s->p, cap);
    if (!q) {
      s->oom = 1;
      return;
    }
    s->p = q;
    s->cap = cap;
  }
  memcpy(s->p + s->n, p, n);
  s->n += n;
  s->p[s->n] = 0;
}

/* "name=value" as Go's Request.AddCookie writes it: CR and LF in the name
 * become '-', bytes a value may not hold are dropped, a value with a space
 * or a comma (or quoted) goes in double quotes. */
static void write_pair(sbuf *s, const entry *e) {
  if (s->n)
    sb_put(s, "; ", 2);
  for (const char *p = e->name; *p; p++)
    sb_put(s, *p == '\r' || *p == '\n' ? "-" : p, 1);
  sb_put(s, "=", 1);
  size_t keep = 0;
  int quote = e->quoted;
  for (const unsigned char *p = (const unsigned char *)e->value; *p; p++)
    if (value_byte_ok(*p)) {
      keep++;
      quote |= *p == ' ' || *p == ',';
    }
  if (keep == 0)
    return;
  if (quote)
    sb_put(s, "\"", 1);
  for (const char *p = e->value; *p; p++)
    if (value_byte_ok((unsigned char)*p))
      sb_put(s, p, 1);
  if (quote)
    sb_put(s, "\"", 1);
}

char *nh_cookie_jar_cookie_header(nh_cookie_jar *jar, const nh_url *u) {
  int https;
  char host[HOST_MAX];
  if (!web_scheme(u, &https) || nh__jar_canonical_host(u->host ? u->host : "", host, sizeof host))
    return NULL;
  void *user;
  nh__suffix_fn suffix = suffix_fn(jar, &user);
  const char *key = nh__jar_key(host, suffix, user);
  const char *path = u->path && *u->path ? u->path : "/";
  int64_t now = now_ms(jar);
  sbuf s = {0};
  pthread_mutex_lock(&jar->mu);
  entry **sel = jar->n ? malloc(jar->n * sizeof *sel) : NULL;
  s.oom = jar->n && !sel;
  size_t k = 0;
  for (size_t i = 0; i < jar->n;) {
    entry *e = jar->v[i];
    if (strcmp(e->key, key) != 0) {
      i++;
      continue;
    }
    if (e->persistent && e->expires <= now) {
      remove_at(jar, i); /* the last one moved here: look at i again */
      continue;
    }
    if (should_send(e, https, host, path)) {
      e->last_access = now;
      if (sel)
        sel[k++] = e;
    }
    i++;
  }
  if (k > 1)
    qsort(sel, k, sizeof *sel, send_order);
  for (size_t i = 0; i < k; i++)
    write_pair(&s, sel[i]);
  pthread_mutex_unlock(&jar->mu);
  free(sel);
  if (s.oom || s.n == 0) {
    free(s.p);
    return NULL;
  }
  return s.p;
}

int nh_cookie_jar_cookies(nh_cookie_jar *jar, const nh_url *u, nh_cookies **out) {
  *out = nh_cookies_new();
  if (!*out)
    return NH_ENOMEM;
  char *h = nh_cookie_jar_cookie_header(jar, u);
  int e = h ? nh_cookies_parse_header(*out, h, NULL) : 0;
  free(h);
  if (e) {
    nh_cookies_free(*out);
    *out = NULL;
  }
  return e;
}

static int by_string(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *nh__jar_content(nh_cookie_jar *jar) {
  int64_t now = now_ms(jar);
  sbuf s = {0};
  pthread_mutex_lock(&jar->mu);
  char **pairs = calloc(jar->n + 1, sizeof *pairs);
  size_t k = 0;
  for (size_t i = 0; pairs && i < jar->n; i++) {
    entry *e = jar->v[i];
    if (e->expires <= now)
      continue;
    size_t n = strlen(e->name) + strlen(e->value) + 2;
    if ((pairs[k] = malloc(n)))
      snprintf(pairs[k++], n, "%s=%s", e->name, e->value);
  }
  pthread_mutex_unlock(&jar->mu);
  if (!pairs)
    return NULL;
  qsort(pairs, k, sizeof *pairs, by_string);
  sb_put(&s, "", 0);
  for (size_t i = 0; i < k; i++) {
    if (i)
      sb_put(&s, " ", 1);
    sb_put(&s, pairs[i], strlen(pairs[i]));
    free(pairs[i]);
  }
  free(pairs);
  if (s.oom) {
    free(s.p);
    return NULL;
  }
  return s.p;
}
