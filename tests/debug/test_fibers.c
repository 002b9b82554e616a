/* /debug/fibers over real sockets: a handler parked in nh_sleep shows as
 * parked for as long as it has slept, with its label and its stack; N
 * identical sleepers make one group of exactly N; the JSON forms parse. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "dbgpeer.h"


/* The frame that marks a sleeper's stack. Under ThreadSanitizer the
 * library names frames by dladdr only (src/runtime/symbolize.c): the
 * test's static handler has no name there, the library's nh_sleep has. */
#if defined(__SANITIZE_THREAD__)
#define SLEEPER_FRAME "nh_sleep"
#else
#define SLEEPER_FRAME "sleepy_handler"
#endif

static atomic_int sleepers_done;

/* Sleeps until the client goes away or the server shuts down (the
 * request's context ends the sleep), at most a minute. */
__attribute__((noinline)) static void sleepy_handler(nh_response_writer *w, nh_request *r) {
  if (strcmp(nh_request_path(r), "/sleep") != 0) {
    nh_resp_printf(w, "fast\n");
    return;
  }
  nh_sleep(60 * NH_SEC);
  nh_resp_printf(w, "woke\n");
  atomic_fetch_add(&sleepers_done, 1);
}

typedef struct env {
  nh_test_server *pub;
  nh_server *dbg;
  nh_handler h;
  char dbg_addr[64];
  char pub_addr[64];
} env;

static void env_start(env *e) {
  atomic_store(&sleepers_done, 0);
  e->pub = nh_test_server_new(sleepy_handler, NULL, 2);
  CHECK(e->pub);
  nh_runtime *rt = nh_test_server_runtime(e->pub);
  nh_server *pub = nh_test_server_server(e->pub);
  e->h = nh_debug_handler(&(nh_debug_config){.runtime = rt, .servers = &pub, .nservers = 1});
  const char *addrs[] = {"127.0.0.1:0", NULL};
  e->dbg = debug_server_start(rt, e->h, addrs);
  CHECK(e->dbg);
  snprintf(e->dbg_addr, sizeof e->dbg_addr, "127.0.0.1:%d", nh_server_port(e->dbg));
  snprintf(e->pub_addr, sizeof e->pub_addr, "127.0.0.1:%d", nh_test_server_port(e->pub));
}

/* Opens a connection to the public server and sends a request that parks
 * its handler; returns the socket (close it to end the sleep). */
static int start_sleeper(env *e) {
  int fd = peer_connect(e->pub_addr);
  CHECK(fd >= 0);
  const char *req = "GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
  return fd;
}

static void env_stop(env *e, int *fds, int n) {
  for (int i = 0; i < n; i++)
    close(fds[i]);
  /* The sleepers end because their clients left: their contexts end. */
  CHECK_SOON(atomic_load(&sleepers_done) == n);
  debug_server_stop(e->dbg);
  nh_debug_handler_free(e->h);
  CHECK_EQ(nh_test_server_close(e->pub, NULL), NH_OK);
}

static json_t *get_json(env *e, const char *target, const char *extra) {
  peer_resp r = peer_get(e->dbg_addr, target, extra);
  CHECK_EQ(r.status, 200);
  json_error_t err;
  json_t *v = json_loads(r.body, 0, &err);
  if (!v)
    NH_FAIL("%s: not JSON (%s): %.300s", target, err.text, r.body);
  peer_free(&r);
  return v;
}

static int stack_has(json_t *stack, const char *name) {
  size_t i;
  json_t *f;
  json_array_foreach(stack, i, f) if (strstr(json_string_value(f), name)) return 1;
  return 0;
}

/* The sleeper's entry in ?debug=2 JSON, or NULL. */
static json_t *find_sleeper(json_t *doc) {
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(doc, "fibers"), i, f) {
    if (stack_has(json_object_get(f, "stack"), SLEEPER_FRAME))
      return f;
  }
  return NULL;
}

NH_TEST(sleeping_handler_shows_parked_with_label_and_stack) {
  env e;
  env_start(&e);
  int fd = start_sleeper(&e);
  /* Poll until it has been parked two seconds (an event, not a guess). */
  json_int_t parked_ns = 0;
  for (int i = 0; i < 300 && parked_ns < 2 * NH_SEC; i++) {
    json_t *doc = get_json(&e, "/debug/fibers?debug=2&format=json", NULL);
    json_t *f = find_sleeper(doc);
    if (f)
      parked_ns = json_integer_value(json_object_get(f, "parked_ns"));
    json_decref(doc);
    if (parked_ns < 2 * NH_SEC)
      usleep(100 * 1000);
  }
  CHECK(parked_ns >= 2 * NH_SEC);
  json_t *doc = get_json(&e, "/debug/fibers?debug=2", "Accept: application/json\r\n");
  json_t *f = find_sleeper(doc);
  CHECK(f);
  CHECK_STR(json_string_value(json_object_get(f, "state")), "sleep");
  CHECK_STR(json_string_value(json_object_get(f, "label")), "GET /sleep");
  CHECK(json_is_true(json_object_get(f, "parked")));
  CHECK(json_integer_value(json_object_get(f, "parked_ns")) >= 2 * NH_SEC);
  CHECK(stack_has(json_object_get(f, "stack"), "nh_sleep"));
  CHECK(json_integer_value(json_object_get(f, "id")) > 0);
  json_int_t id = json_integer_value(json_object_get(f, "id"));
  json_decref(doc);
  /* The text: "fiber ID [sleep, N seconds] loop L "GET /sleep":" then
   * the stack, the handler in it. */
  peer_resp r = peer_get(e.dbg_addr, "/debug/fibers?debug=2", NULL);
  CHECK_EQ(r.status, 200);
  char head[64];
  snprintf(head, sizeof head, "fiber %lld [sleep, ", (long long)id);
  const char *at = strstr(r.body, head);
  CHECK(at);
  long secs = strtol(at + strlen(head), NULL, 10);
  CHECK(secs >= 2);
  CHECK(!strncmp(strchr(at, ']'), "] loop ", 7));
  const char *end = strstr(at, "\n\n");
  CHECK(end);
  CHECK_CONTAINS(at, "\"GET /sleep\":\n");
  const char *h = strstr(at, SLEEPER_FRAME);
  CHECK(h && h < end);
  peer_free(&r);
  env_stop(&e, &fd, 1);
}

enum { N = 5 };

NH_TEST(identical_sleepers_group_with_their_count) {
  env e;
  env_start(&e);
  int fds[N];
  for (int i = 0; i < N; i++)
    fds[i] = start_sleeper(&e);
  /* Wait until all N are parked in the handler: one group of exactly N. */
  json_int_t count = 0;
  json_t *doc = NULL;
  for (int i = 0; i < 300; i++) {
    doc = get_json(&e, "/debug/fibers?format=json", NULL);
    size_t k;
    json_t *g;
    count = 0;
    json_array_foreach(json_object_get(doc, "groups"), k, g) {
      if (stack_has(json_object_get(g, "stack"), SLEEPER_FRAME))
        count += json_integer_value(json_object_get(g, "count"));
    }
    if (count == N)
      break;
    json_decref(doc);
    doc = NULL;
    usleep(50 * 1000);
  }
  CHECK(doc);
  /* Exactly one group holds them, with N ids; groups come most common
   * first; the counts add up to the total. */
  size_t k;
  json_t *g;
  int groups_with = 0;
  json_int_t prev = -1, sum = 0;
  json_array_foreach(json_object_get(doc, "groups"), k, g) {
    json_int_t c = json_integer_value(json_object_get(g, "count"));
    CHECK(prev < 0 || c <= prev);
    prev = c;
    sum += c;
    if (stack_has(json_object_get(g, "stack"), SLEEPER_FRAME)) {
      groups_with++;
      CHECK_EQ(c, N);
      CHECK_EQ(json_array_size(json_object_get(g, "ids")), N);
      CHECK_STR(json_string_value(json_object_get(g, "state")), "sleep");
    }
  }
  CHECK_EQ(groups_with, 1);
  CHECK_EQ(sum, json_integer_value(json_object_get(doc, "total")));
  CHECK(json_is_false(json_object_get(doc, "stalled")));
  json_decref(doc);
  /* The text form (the default): "N @ pc pc..." then "#\tpc\tname". */
  peer_resp r = peer_get(e.dbg_addr, "/debug/fibers", NULL);
  CHECK_EQ(r.status, 200);
  CHECK(!strncmp(r.body, "fiber profile: total ", 21));
  char *p = r.body, *found = NULL;
  while ((p = strstr(p, "\n5 @ 0x"))) {
    char *end = strstr(p + 1, "\n\n");
    char *h = strstr(p, SLEEPER_FRAME);
    if (h && end && h < end)
      found = p;
    p++;
  }
  CHECK(found);
  peer_free(&r);
  env_stop(&e, fds, N);
}

/* The page reads fibers on every loop while those loops are busy serving
 * other requests: each loop lists its own fibers between them, the dump
 * is complete, and no request fails. */
static atomic_int hammering, hammer_failures, hammer_requests;

static void *hammer(void *arg) {
  env *e = arg;
  while (atomic_load(&hammering)) {
    peer_resp r = peer_get(e->pub_addr, "/fast", NULL);
    if (r.status != 200)
      atomic_fetch_add(&hammer_failures, 1);
    atomic_fetch_add(&hammer_requests, 1);
    peer_free(&r);
  }
  return NULL;
}

NH_TEST(dump_while_loops_are_busy) {
  env e;
  env_start(&e);
  int fd = start_sleeper(&e);
  atomic_store(&hammering, 1);
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    CHECK(pthread_create(&th[i], NULL, hammer, &e) == 0);
  CHECK_SOON(atomic_load(&hammer_requests) > 10);
  for (int i = 0; i < 20; i++) {
    json_t *doc = get_json(&e, "/debug/fibers?debug=2&format=json", NULL);
    CHECK(json_is_false(json_object_get(doc, "stalled")));
    CHECK_EQ(json_integer_value(json_object_get(doc, "total")),
             json_array_size(json_object_get(doc, "fibers")));
    CHECK(find_sleeper(doc));
    json_decref(doc);
  }
  atomic_store(&hammering, 0);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  CHECK_EQ(atomic_load(&hammer_failures), 0);
  env_stop(&e, &fd, 1);
}

NH_TEST_MAIN()
