/* The registry of published variables (nh_debug_var_publish): a list under
 * a read-write lock. /debug/vars holds the read lock while it calls the
 * functions, so unpublish (the write lock) returning means no call runs. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "debug_internal.h"
#include "nethttp/errors.h"

typedef struct var {
  char *name;
  nh_debug_var_fn fn;
  void *user;
  struct var *next;
} var;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static var *vars; /* newest first; shown sorted by name (JSON_SORT_KEYS) */

static const char *const reserved[] = {"cmdline", "memstats", "runtime", "servers", "transports"};

static var **find(const char *name) {
  var **p = &vars;
  while (*p && strcmp((*p)->name, name) != 0)
    p = &(*p)->next;
  return p;
}

int nh_debug_var_publish(const char *name, nh_debug_var_fn fn, void *user) {
  if (!name || !*name || !fn)
    return NH_EINVAL;
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (!strcmp(name, reserved[i]))
      return NH_EEXIST;
  var *v = calloc(1, sizeof *v);
  if (!v || !(v->name = strdup(name))) {
    free(v);
    return NH_ENOMEM;
  }
  v->fn = fn;
  v->user = user;
  pthread_rwlock_wrlock(&lock);
  int taken = *find(name) != NULL;
  if (!taken) {
    v->next = vars;
    vars = v;
  }
  pthread_rwlock_unlock(&lock);
  if (taken) {
    free(v->name);
    free(v);
    return NH_EEXIST;
  }
  return NH_OK;
}

int nh_debug_var_unpublish(const char *name) {
  if (!name)
    return NH_ENOENT;
  pthread_rwlock_wrlock(&lock);
  var **p = find(name), *v = *p;
  if (v)
    *p = v->next;
  pthread_rwlock_unlock(&lock);
  if (!v)
    return NH_ENOENT;
  free(v->name);
  free(v);
  return NH_OK;
}

void nh__debug_vars_published(json_t *into) {
  pthread_rwlock_rdlock(&lock);
  for (var *v = vars; v; v = v->next) {
    json_t *val = v->fn(v->user);
    json_object_set_new(into, v->name, val ? val : json_null());
  }
  pthread_rwlock_unlock(&lock);
}
