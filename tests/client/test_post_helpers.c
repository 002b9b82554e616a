/* Typed request bodies (seed 4): forms and JSON posted by the client carry
 * the Content-Type that matches them, over a real socket, and nethttp's
 * server reads the values back (form parsing, nh_request_json). */
#include "harness.h"
#include "answer.h"

#include <nethttp.h>
#include <nethttp/httptest.h>

/* /raw: "<Content-Type>\n<body>"; /form: the values the server's form
 * parser found; /json: fields of the decoded JSON. */
static void handler(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  const char *type = nh_header_get(nh_request_header(r), "Content-Type");
  char out[1024];
  if (!strcmp(p, "/raw")) {
    char body[512];
    size_t len = 0;
    ssize_t n;
    while ((n = nh_request_read(r, body + len, sizeof body - 1 - len)) > 0)
      len += (size_t)n;
    body[len] = 0;
    snprintf(out, sizeof out, "%s %s\n%s", nh_request_method(r), type ? type : "(none)", body);
  } else if (!strcmp(p, "/form")) {
    const char *tags[4] = {0};
    size_t nt = nh_values_get_all(nh_request_post_form(r), "tags", tags, 4);
    const char *empty = nh_request_post_form_value(r, "empty");
    snprintf(out, sizeof out, "name=%s;tags=%zu:%s,%s;empty=%s", nh_request_post_form_value(r, "name"),
             nt, tags[0] ? tags[0] : "", tags[1] ? tags[1] : "", empty ? (*empty ? empty : "\"\"") : "(none)");
  } else if (!strcmp(p, "/json")) {
    json_t *v;
    int e = nh_request_json(r, 0, &v);
    if (e) {
      nh_resp_json_error(w, 400, nh_strerror(e));
      return;
    }
    snprintf(out, sizeof out, "%s name=%s n=%lld", type ? type : "(none)",
             json_string_value(json_object_get(v, "name")),
             (long long)json_integer_value(json_object_get(v, "n")));
    json_decref(v);
  } else {
    nh_resp_write_header(w, 404);
    return;
  }
  nh_resp_write_string(w, out);
}

static char *url(nh_test_server *ts, const char *path) {
  static char buf[4][256];
  static int next;
  char *u = buf[next++ % 4];
  snprintf(u, sizeof buf[0], "%s%s", nh_test_server_url(ts), path);
  return u;
}

/* The call e succeeded and its answer, *respp (read after the call that
 * filled it), is a 200 with exactly the body want. */
static void posted(int e, nh_response **respp, const char *want) {
  if (e)
    NH_FAIL("request failed: %s", nh_strerror(e));
  expect_answer(*respp, 200, want);
}

static void sent(nh_client *c, nh_client_request *req, const char *want) {
  nh_response *resp;
  posted(nh_client_do(c, req, &resp), &resp, want);
  nh_client_request_free(req);
}

static nh_values *sample_form(void) {
  nh_values *v = nh_values_new();
  nh_values_add(v, "tags", "a&b");
  nh_values_add(v, "name", "Ann Lee & co");
  nh_values_add(v, "tags", "c=d");
  nh_values_add(v, "empty", "");
  return v;
}

NH_TEST(post_form_sets_its_type_and_the_server_reads_the_values) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  nh_values *v = sample_form();
  nh_response *resp;
  /* On the wire: Go's Values.Encode (keys sorted), the form's type. */
  posted(nh_client_post_form(c, url(ts, "/raw"), v, &resp), &resp,
         "POST application/x-www-form-urlencoded\n"
         "empty=&name=Ann+Lee+%26+co&tags=a%26b&tags=c%3Dd");
  posted(nh_client_post_form(c, url(ts, "/form"), v, &resp), &resp,
         "name=Ann Lee & co;tags=2:a&b,c=d;empty=\"\"");
  /* Building a request: any method, and a type set before is replaced. */
  nh_client_request *req = nh_client_request_new("PUT", url(ts, "/form"));
  nh_header_set(nh_client_request_header(req), "Content-Type", "text/plain");
  CHECK_EQ(nh_client_request_set_form(req, v), NH_OK);
  sent(c, req, "name=Ann Lee & co;tags=2:a&b,c=d;empty=\"\"");
  req = nh_client_request_new("PATCH", url(ts, "/raw"));
  nh_header_set(nh_client_request_header(req), "Content-Type", "text/plain");
  CHECK_EQ(nh_client_request_set_form(req, v), NH_OK);
  sent(c, req, "PATCH application/x-www-form-urlencoded\n"
               "empty=&name=Ann+Lee+%26+co&tags=a%26b&tags=c%3Dd");
  /* No values: an empty form, still typed. */
  posted(nh_client_post_form(c, url(ts, "/raw"), NULL, &resp), &resp,
         "POST application/x-www-form-urlencoded\n");
  nh_values_free(v);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(post_json_sets_its_type_and_the_server_decodes_it) {
  nh_test_server *ts = nh_test_server_new(handler, NULL, 1);
  nh_client *c = nh_client_new(NULL);
  nh_response *resp;
  const char *text = "{\"name\":\"Ann \\u00e9\",\"n\":3}";
  posted(nh_client_post_json(c, url(ts, "/raw"), text, &resp), &resp,
         "POST application/json\n{\"name\":\"Ann \\u00e9\",\"n\":3}");
  posted(nh_client_post_json(c, url(ts, "/json"), text, &resp), &resp,
         "application/json name=Ann \xc3\xa9 n=3");
  /* A jansson value, encoded compactly. */
  json_t *v = json_pack("{s:s, s:i, s:[i,b]}", "name", "Bo", "n", 42, "x", 1, 1);
  posted(nh_client_post_json_value(c, url(ts, "/raw"), v, &resp), &resp,
         "POST application/json\n{\"name\":\"Bo\",\"n\":42,\"x\":[1,true]}");
  nh_client_request *req = nh_client_request_new("PUT", url(ts, "/json"));
  nh_header_set(nh_client_request_header(req), "Content-Type", "text/plain");
  CHECK_EQ(nh_client_request_set_json_value(req, v), NH_OK);
  sent(c, req, "application/json name=Bo n=42");
  req = nh_client_request_new("PATCH", url(ts, "/json"));
  CHECK_EQ(nh_client_request_set_json(req, "{\"name\":\"Cy\",\"n\":-7}"), NH_OK);
  sent(c, req, "application/json name=Cy n=-7");
  json_decref(v);
  /* Nothing to send is refused before anything goes out. */
  req = nh_client_request_new("POST", url(ts, "/raw"));
  CHECK_EQ(nh_client_request_set_json(req, NULL), NH_EINVAL);
  CHECK_EQ(nh_client_request_set_json_value(req, NULL), NH_EINVAL);
  nh_client_request_free(req);
  CHECK_EQ(nh_client_post_json(c, url(ts, "/raw"), NULL, &resp), NH_EINVAL);
  CHECK(resp == NULL);
  nh_transport_stats st;
  nh_transport_stats_get(nh_client_transport(c), &st);
  CHECK_EQ(st.requests, 5);
  nh_client_free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
