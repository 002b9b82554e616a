/* The HTTP/2 client against nghttpd (nghttp2's own server): h2c with
 * prior knowledge, h2 chosen by ALPN over TLS, request bodies of every
 * kind echoed back, response trailers, and many requests from fibers of
 * two loops and plain threads at once sharing one connection. */
#include "h2_peer.h"

#include <nethttp.h>
#include <nethttp/tls.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "runtime/freeing.h"

/* A directory of files for nghttpd to serve. */
static char *docroot(void) {
  static char dir[64];
  snprintf(dir, sizeof dir, "/tmp/nh_h2_docs_XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/hello.txt", dir);
  FILE *f = fopen(path, "w");
  fputs("hello over h2\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/big.bin", dir);
  f = fopen(path, "w");
  for (int i = 0; i < 300000; i++)
    fputc('a' + i % 26, f);
  fclose(f);
  return dir;
}

static void docroot_remove(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_EQ(system(cmd), 0);
}

static nh_client *h2c_client(nh_transport **tp) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.http_version = NH_HTTP_2;
  *tp = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = *tp;
  return nh_client_new(&cc);
}

static char *url(int port, const char *scheme, const char *path) {
  static __thread char buf[256];
  snprintf(buf, sizeof buf, "%s://127.0.0.1:%d%s", scheme, port, path);
  return buf;
}

NH_TEST(h2c_prior_knowledge_get) {
  char *dir = docroot();
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, NULL);
  nh_transport *t;
  nh_client *c = h2c_client(&t);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, url(p->port, "http", "/hello.txt"), &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  CHECK_STR(nh_response_proto(r), "HTTP/2.0");
  CHECK_EQ(nh_response_content_length(r), 14);
  char *body;
  size_t len;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &body, &len), NH_OK);
  CHECK_STR(body, "hello over h2\n");
  free(body);
  nh_response_close(r);
  /* A second request, and a bigger body, go over the same connection. */
  CHECK_EQ(nh_client_get(c, url(p->port, "http", "/big.bin"), &r), NH_OK);
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &body, &len), NH_OK);
  CHECK_EQ(len, 300000);
  CHECK_EQ(body[299999], 'a' + 299999 % 26);
  free(body);
  nh_response_close(r);
  CHECK_EQ(nh_client_get(c, url(p->port, "http", "/missing"), &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 404);
  nh_response_close(r);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.requests, 3);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

NH_TEST(https_alpn_picks_h2_by_default) {
  char *dir = docroot();
  nh_tls_testcert *tc;
  CHECK_EQ(nh_tls_testcert_new(NULL, &tc), NH_OK);
  h2_peer *p = h2_peer_nghttpd(dir, tc->key_pem, tc->cert_pem, NULL);
  nh_tls_config tls = {0};
  tls.ca_file = tc->ca_pem;
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.tls = &tls;
  nh_transport *t = nh_transport_new(&cfg);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  nh_client *c = nh_client_new(&cc);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, url(p->port, "https", "/hello.txt"), &r), NH_OK);
  CHECK_STR(nh_response_proto(r), "HTTP/2.0");
  char *body;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &body, NULL), NH_OK);
  CHECK_STR(body, "hello over h2\n");
  free(body);
  nh_response_close(r);
  nh_client_free(c);
  nh_transport_free(t);

  /* Forced to HTTP/1.1, the same server is spoken to in HTTP/1.1: nghttpd
   * speaks only h2 and drops the connection, so the request fails rather
   * than coming back as HTTP/2. */
  cfg.http_version = NH_HTTP_1;
  t = nh_transport_new(&cfg);
  cc.transport = t;
  c = nh_client_new(&cc);
  CHECK(nh_client_get(c, url(p->port, "https", "/hello.txt"), &r) < 0);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
  nh_tls_testcert_free(tc);
  docroot_remove(dir);
}

/* A reader of unknown length: "chunk" five times. */
typedef struct reader {
  int left;
} reader;
static ssize_t read_chunks(void *arg, void *buf, size_t cap) {
  reader *r = arg;
  if (r->left == 0 || cap < 5)
    return 0;
  r->left--;
  memcpy(buf, "chunk", 5);
  return 5;
}

static char *post(nh_client *c, nh_client_request *req) {
  nh_response *r;
  CHECK_EQ(nh_client_do(c, req, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  char *body;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &body, NULL), NH_OK);
  nh_response_close(r);
  nh_client_request_free(req);
  return body;
}

NH_TEST(h2c_request_bodies_of_every_kind) {
  char *dir = docroot();
  static const char *const echo[] = {"--echo-upload", NULL};
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, echo);
  nh_transport *t;
  nh_client *c = h2c_client(&t);
  const char *u = url(p->port, "http", "/hello.txt");

  nh_client_request *req = nh_client_request_new("POST", u);
  CHECK_EQ(nh_client_request_set_body_string(req, "bytes body"), NH_OK);
  char *b = post(c, req);
  CHECK_STR(b, "bytes body");
  free(b);

  char path[128];
  snprintf(path, sizeof path, "%s/big.bin", dir);
  req = nh_client_request_new("PUT", u);
  CHECK_EQ(nh_client_request_set_body_file(req, path), NH_OK);
  b = post(c, req);
  CHECK_EQ(strlen(b), 300000);
  CHECK_EQ(b[123456], 'a' + 123456 % 26);
  free(b);

  reader rd = {5};
  req = nh_client_request_new("POST", u);
  CHECK_EQ(nh_client_request_set_body_reader(req, read_chunks, NULL, &rd, -1), NH_OK);
  b = post(c, req);
  CHECK_STR(b, "chunkchunkchunkchunkchunk");
  free(b);

  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

NH_TEST(h2c_response_trailers) {
  char *dir = docroot();
  static const char *const tr[] = {"--trailer=x-digest: abc123", NULL};
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, tr);
  nh_transport *t;
  nh_client *c = h2c_client(&t);
  nh_response *r;
  CHECK_EQ(nh_client_get(c, url(p->port, "http", "/hello.txt"), &r), NH_OK);
  CHECK(nh_response_trailer(r) == NULL); /* not before the body's end */
  char *body;
  CHECK_EQ(nh_response_read_all(r, 1 << 20, &body, NULL), NH_OK);
  free(body);
  CHECK(nh_response_trailer(r) != NULL);
  CHECK_STR(nh_header_get(nh_response_trailer(r), "X-Digest"), "abc123");
  nh_response_close(r);
  nh_client_free(c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

/* ---- many callers, one connection ---- */

typedef struct many {
  nh_client *c;
  const char *url;
  atomic_int ok;
  atomic_int err;  /* the last failure's NH_E* code: named when a count is short */
  atomic_int done; /* callers finished */
} many;

static void one_get(many *m) {
  for (int i = 0; i < 10; i++) {
    nh_response *r;
    int e = nh_client_get(m->c, m->url, &r);
    if (e != NH_OK) {
      atomic_store(&m->err, e);
      continue;
    }
    char *body;
    if ((e = nh_response_read_all(r, 1 << 20, &body, NULL)) == NH_OK && strlen(body) == 300000)
      atomic_fetch_add(&m->ok, 1);
    else
      atomic_store(&m->err, e ? e : NH_EBADRESPONSE);
    free(body);
    nh_response_close(r);
  }
  atomic_fetch_add(&m->done, 1);
}
static void fiber_get(void *arg) { one_get(arg); }
static void *thread_get(void *arg) {
  one_get(arg);
  return NULL;
}

NH_TEST(h2c_fibers_and_threads_share_one_connection) {
  char *dir = docroot();
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, NULL);
  nh_transport *t;
  many m = {.c = h2c_client(&t), .url = url(p->port, "http", "/big.bin")};
  /* One request first: the connection is up and its SETTINGS known. */
  nh_response *r;
  CHECK_EQ(nh_client_get(m.c, m.url, &r), NH_OK);
  nh_response_close(r);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  for (int i = 0; i < 6; i++)
    nh_runtime_go(rt, i % 2, fiber_get, &m);
  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&th[i], NULL, thread_get, &m);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  nh_runtime_free(rt); /* waits for its fibers */
  CHECK_STR(nh_strerror(atomic_load(&m.err)), nh_strerror(NH_OK));
  CHECK_EQ(atomic_load(&m.ok), 90);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1); /* all of them multiplexed on the first connection */
  CHECK_EQ(st.requests, 91);
  nh_client_free(m.c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

/* A connection dialed on a fiber runs on that fiber's loop; callers of
 * another loop and plain threads share it, the runtime ends without
 * waiting on it once it is idle, and a plain thread that finds it after
 * its loop is gone gets its request sent on a new connection. */
NH_TEST(h2c_dialed_on_a_fiber_serves_other_loops_and_threads) {
  char *dir = docroot();
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, NULL);
  nh_transport *t;
  many m = {.c = h2c_client(&t), .url = url(p->port, "http", "/big.bin")};
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_runtime_go(rt, 0, fiber_get, &m); /* dials, on loop 0 */
  for (int i = 0; i < 2000 && atomic_load(&m.ok) < 10; i++) {
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  CHECK_EQ(atomic_load(&m.ok), 10);
  for (int i = 0; i < 6; i++)
    nh_runtime_go(rt, i % 2, fiber_get, &m);
  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&th[i], NULL, thread_get, &m);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  /* Every caller done first: a loop whose last fiber ends while others
   * still send would end the connection's I/O with it (that case is
   * h2c_requests_go_on_while_the_runtime_is_freed). */
  CHECK_SOON(atomic_load(&m.done) == 10);
  nh_runtime_free(rt); /* does not wait for the idle connection */
  CHECK_STR(nh_strerror(atomic_load(&m.err)), nh_strerror(NH_OK));
  CHECK_EQ(atomic_load(&m.ok), 100);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  nh_response *r;
  CHECK_EQ(nh_client_get(m.c, m.url, &r), NH_OK);
  CHECK_EQ(nh_response_status(r), 200);
  nh_response_close(r);
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 2);
  nh_client_free(m.c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

/* A runtime being freed waits for its fibers, and those may still be
 * sending on a connection whose I/O fiber runs on one of its loops: the
 * fiber is started again for them while the loop runs, and the requests
 * go on there (no reset, no second dial). */
typedef struct freeing_caller {
  many m;
  uint64_t rt_id;
  atomic_int after; /* requests sent once the runtime was being freed */
} freeing_caller;

static void get_while_freed(void *arg) {
  freeing_caller *f = arg;
  f->rt_id = runtime_id_here();
  for (int i = 0; i < 3; i++) { /* the connection dialed, its I/O fiber on this loop */
    nh_response *r;
    int e = nh_client_get(f->m.c, f->m.url, &r);
    if (e) {
      atomic_store(&f->m.err, e);
      continue;
    }
    atomic_fetch_add(&f->m.ok, 1);
    nh_response_close(r);
  }
  atomic_fetch_add(&f->m.done, 1);
  wait_runtime_freeing(f->rt_id);
  for (int i = 0; i < 10; i++) {
    nh_response *r;
    int e = nh_client_get(f->m.c, f->m.url, &r);
    atomic_fetch_add(&f->after, 1);
    if (e) {
      atomic_store(&f->m.err, e);
      continue;
    }
    char *body;
    if (nh_response_read_all(r, 1 << 20, &body, NULL) == NH_OK && !strcmp(body, "hello over h2\n"))
      atomic_fetch_add(&f->m.ok, 1);
    free(body);
    nh_response_close(r);
  }
}

NH_TEST(h2c_requests_go_on_while_the_runtime_is_freed) {
  char *dir = docroot();
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, NULL);
  nh_transport *t;
  freeing_caller f = {.m = {.c = h2c_client(&t), .url = url(p->port, "http", "/hello.txt")}};
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 1;
  nh_runtime *rt = nh_runtime_new(&rc);
  nh_runtime_go(rt, 0, get_while_freed, &f);
  CHECK_SOON(atomic_load(&f.m.done) == 1);
  nh_runtime_free(rt); /* the caller's ten requests run meanwhile */
  CHECK_EQ(atomic_load(&f.after), 10);
  CHECK_STR(nh_strerror(atomic_load(&f.m.err)), nh_strerror(NH_OK));
  CHECK_EQ(atomic_load(&f.m.ok), 13);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  nh_client_free(f.m.c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

/* Callers that all find no connection at once wait for the one dial in
 * progress (h2c is configured: the host is known to multiplex) instead of
 * each dialing its own. */
typedef struct burst {
  many m;
  pthread_barrier_t go;
} burst;
static void *burst_get(void *arg) {
  burst *b = arg;
  pthread_barrier_wait(&b->go);
  nh_response *r;
  if (nh_client_get(b->m.c, b->m.url, &r) == NH_OK) {
    if (nh_response_status(r) == 200)
      atomic_fetch_add(&b->m.ok, 1);
    nh_response_close(r);
  }
  return NULL;
}

NH_TEST(h2c_burst_of_first_requests_dials_once) {
  char *dir = docroot();
  h2_peer *p = h2_peer_nghttpd(dir, NULL, NULL, NULL);
  nh_transport *t;
  burst b = {.m = {.c = h2c_client(&t), .url = url(p->port, "http", "/hello.txt")}};
  pthread_barrier_init(&b.go, NULL, 8);
  pthread_t th[8];
  for (int i = 0; i < 8; i++)
    pthread_create(&th[i], NULL, burst_get, &b);
  for (int i = 0; i < 8; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&b.go);
  CHECK_EQ(atomic_load(&b.m.ok), 8);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.dials, 1);
  CHECK_EQ(st.reused, 7);
  nh_client_free(b.m.c);
  nh_transport_free(t);
  h2_peer_stop(p);
  docroot_remove(dir);
}

NH_TEST_MAIN()
