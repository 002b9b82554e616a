/* /debug/vars over real sockets: N requests to the public server make its
 * request counter exactly N (and the transport that sent them counts N);
 * a variable the program publishes shows, and goes once unpublished. */
#include <jansson.h>
#include <stdatomic.h>

#include "harness.h"
#include "client/answer.h"
#include "dbgpeer.h"

static void ok_handler(nh_response_writer *w, nh_request *r) { nh_resp_printf(w, "ok\n"); }

static atomic_int answers;

static json_t *answer_var(void *user) {
  atomic_fetch_add(&answers, 1);
  return json_pack("{s:s,s:i}", "name", (const char *)user, "value", 42);
}

static json_t *vars(const char *addr) {
  peer_resp r = peer_get(addr, "/debug/vars", NULL);
  CHECK_EQ(r.status, 200);
  json_error_t err;
  json_t *v = json_loads(r.body, 0, &err);
  if (!v)
    NH_FAIL("not JSON (%s): %.300s", err.text, r.body);
  peer_free(&r);
  return v;
}

enum { N = 7 };

NH_TEST(request_counter_is_exactly_n_and_published_vars_show) {
  nh_test_server *ts = nh_test_server_new(ok_handler, NULL, 2);
  CHECK(ts);
  nh_server *pub = nh_test_server_server(ts);
  nh_client *c = nh_test_server_client(ts);
  nh_transport *t = nh_client_transport(c);
  nh_runtime *rt = nh_test_server_runtime(ts);
  nh_handler h = nh_debug_handler(&(nh_debug_config){
      .runtime = rt, .servers = &pub, .nservers = 1, .transports = &t, .ntransports = 1});
  const char *addrs[] = {"127.0.0.1:0", NULL};
  nh_server *dbg = debug_server_start(rt, h, addrs);
  CHECK(dbg);
  char dbg_addr[64];
  snprintf(dbg_addr, sizeof dbg_addr, "127.0.0.1:%d", nh_server_port(dbg));

  CHECK_EQ(nh_debug_var_publish("app.answer", answer_var, "answer"), NH_OK);
  CHECK_EQ(nh_debug_var_publish("app.answer", answer_var, "again"), NH_EEXIST);
  CHECK_EQ(nh_debug_var_publish("memstats", answer_var, NULL), NH_EEXIST);
  CHECK_EQ(nh_debug_var_publish("", answer_var, NULL), NH_EINVAL);

  char url[128];
  snprintf(url, sizeof url, "%s/hello", nh_test_server_url(ts));
  for (int i = 0; i < N; i++) {
    nh_response *resp;
    CHECK_EQ(nh_client_get(c, url, &resp), NH_OK);
    free(answer_body(resp, 200, NULL)); /* checks the status, reads, closes */
  }

  json_t *v = vars(dbg_addr);
  json_t *s0 = json_array_get(json_object_get(v, "servers"), 0);
  CHECK(s0);
  CHECK_EQ(json_integer_value(json_object_get(s0, "requests")), N);
  CHECK_EQ(json_integer_value(json_object_get(s0, "accepted")), 1); /* one kept-alive connection */
  CHECK(json_is_integer(json_object_get(json_object_get(s0, "closes"), "client")));
  char pub_addr[64];
  snprintf(pub_addr, sizeof pub_addr, "127.0.0.1:%d", nh_test_server_port(ts));
  CHECK_STR(json_string_value(json_object_get(s0, "addr")), pub_addr);
  json_t *t0 = json_array_get(json_object_get(v, "transports"), 0);
  CHECK(t0);
  CHECK_EQ(json_integer_value(json_object_get(t0, "requests")), N);
  CHECK_EQ(json_integer_value(json_object_get(t0, "dials")), 1);
  /* The built-in variables. */
  json_t *argv0 = json_array_get(json_object_get(v, "cmdline"), 0);
  CHECK(argv0);
  CHECK_CONTAINS(json_string_value(argv0), "debug_test_vars");
  json_t *mem = json_object_get(v, "memstats");
  CHECK(json_integer_value(json_object_get(mem, "rss_bytes")) > 0);
  /* (mallinfo2 is all zeros under AddressSanitizer, which owns malloc.) */
  CHECK(json_is_integer(json_object_get(mem, "heap_in_use_bytes")));
  json_t *run = json_object_get(v, "runtime");
  CHECK_EQ(json_integer_value(json_object_get(run, "loops")), 2);
  CHECK(json_integer_value(json_object_get(run, "fibers_live")) > 0);
  /* The published one, computed at the request. */
  json_t *app = json_object_get(v, "app.answer");
  CHECK(app);
  CHECK_STR(json_string_value(json_object_get(app, "name")), "answer");
  CHECK_EQ(json_integer_value(json_object_get(app, "value")), 42);
  CHECK_EQ(atomic_load(&answers), 1);
  json_decref(v);

  /* The debug server's own requests are not the public server's. */
  v = vars(dbg_addr);
  CHECK_EQ(json_integer_value(json_object_get(json_array_get(json_object_get(v, "servers"), 0),
                                              "requests")),
           N);
  json_decref(v);

  CHECK_EQ(nh_debug_var_unpublish("app.answer"), NH_OK);
  CHECK_EQ(nh_debug_var_unpublish("app.answer"), NH_ENOENT);
  v = vars(dbg_addr);
  CHECK(!json_object_get(v, "app.answer"));
  CHECK_EQ(atomic_load(&answers), 2);
  json_decref(v);

  debug_server_stop(dbg);
  nh_debug_handler_free(h);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
