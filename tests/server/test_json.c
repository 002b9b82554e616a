/* JSON helpers over real sockets: a body decoded with a cap (malformed,
 * over the cap, exactly at it, chunked, 100-continue), and responses
 * encoded compactly or indented with the right Content-Type. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>

#define CAP 64

/* /echo: decode and send back, errors as {"error": name} with 400.
 * /quiet: on error send nothing (the server's 413 shows). */
static void echo(nh_response_writer *w, nh_request *r) {
  json_t *v = (json_t *)0x1;
  int e = nh_request_json(r, CAP, &v);
  if (e) {
    CHECK(v == NULL);
    if (!strcmp(nh_request_path(r), "/echo"))
      CHECK_EQ(nh_resp_json_error(w, 400, nh_err_name(e)), 0);
    return;
  }
  CHECK_EQ(nh_resp_json(w, 200, v), 0);
  json_decref(v);
}

static void out(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  json_t *v = json_pack("{s:i, s:[s, b], s:n}", "z", 1, "a", "x\"y", 1, "m");
  if (!strcmp(p, "/pretty")) {
    CHECK_EQ(nh_resp_json_flags(w, 201, v, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
  } else if (!strcmp(p, "/typed")) {
    nh_header_set(nh_resp_header(w), "Content-Type", "application/problem+json");
    CHECK_EQ(nh_resp_json(w, 422, v), 0);
  } else if (!strcmp(p, "/string")) {
    CHECK_EQ(nh_resp_json_string(w, 200, "[true]"), 0);
  } else if (!strcmp(p, "/scalar")) {
    json_t *s = json_string("\xc3\xa9");
    CHECK_EQ(nh_resp_json(w, 200, s), 0);
    json_decref(s);
  } else {
    CHECK_EQ(nh_resp_json(w, 200, v), 0);
  }
  json_decref(v);
}

static raw_resp post(raw_conn *c, const char *path, const char *extra, const char *body) {
  char head[512];
  snprintf(head, sizeof head,
           "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s"
           "Content-Length: %zu\r\n\r\n",
           path, extra, strlen(body));
  CHECK_EQ(raw_sends(c->fd, head), 0);
  CHECK_EQ(raw_sends(c->fd, body), 0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  return r;
}

NH_TEST(decode_and_encode_roundtrip) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_resp r =
      post(c, "/echo", "", " {\"b\": [1, 2.5, {\"c\": null}], \"a\": \"\\u00e9\\u0000x\"} \n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
  static const char want[] = "{\"b\":[1,2.5,{\"c\":null}],\"a\":\"\xc3\xa9\\u0000x\"}\n";
  CHECK_EQ(r.blen, sizeof want - 1);
  CHECK(!memcmp(r.body, want, sizeof want - 1));
  raw_resp_free(&r);
  /* Any JSON value, not only objects and arrays. */
  r = post(c, "/echo", "", "42");
  CHECK_STR(r.body, "42\n");
  raw_resp_free(&r);
  /* Exactly at the cap. */
  char body[CAP + 1];
  memset(body, ' ', CAP);
  memcpy(body, "\"", 1);
  memcpy(body + 1, "abc\"", 4);
  body[CAP] = 0;
  r = post(c, "/echo", "", body);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "\"abc\"\n");
  raw_resp_free(&r);
  CHECK(!raw_closed(c, 20));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(malformed_json_is_ebadjson_and_keeps_connection) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  const char *bad[] = {"{", "", "[1] x", "nul", "{\"a\":1,}", "\"\xff\""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    raw_resp r = post(c, "/echo", "", bad[i]);
    CHECK_EQ(r.status, 400);
    CHECK_STR(r.body, "{\"error\":\"NH_EBADJSON\"}\n");
    CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
    raw_resp_free(&r);
  }
  CHECK(!raw_closed(c, 20));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(over_cap_is_413_without_100_continue) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  char big[CAP + 2];
  memset(big, ' ', sizeof big - 1);
  big[0] = '1';
  big[sizeof big - 1] = 0;
  /* The handler's own answer, then close. */
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_resp r = post(c, "/echo", "", big);
  CHECK_EQ(r.status, 400);
  CHECK_STR(r.body, "{\"error\":\"NH_EBODYTOOLARGE\"}\n");
  CHECK_STR(raw_header(&r, "Connection"), "close");
  raw_resp_free(&r);
  CHECK(raw_closed(c, 2000));
  close(c->fd);
  /* No answer from the handler: the server's 413; a declared length over
   * the cap with Expect: 100-continue never sees 100 Continue. */
  c->fd = raw_connect(nh_test_server_port(ts));
  c->len = 0;
  CHECK_EQ(raw_sends(c->fd, "POST /quiet HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Length: 65\r\n\r\n"),
           0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 413);
  raw_resp_free(&r);
  CHECK(raw_closed(c, 2000));
  close(c->fd);
  /* Chunked, over the cap only in its second chunk. */
  c->fd = raw_connect(nh_test_server_port(ts));
  c->len = 0;
  CHECK_EQ(raw_sends(c->fd, "POST /quiet HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "1f\r\n[1,2,3,4,5,6,7,8,9,10,11,12,13,\r\n"
                            "24\r\n14,15,16,17,18,19,20,21,22,23,24,25]\r\n0\r\n\r\n"),
           0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 413);
  raw_resp_free(&r);
  CHECK(raw_closed(c, 2000));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(responses_compact_indented_typed) {
  nh_test_server *ts = nh_test_server_new(out, NULL, 1);
  int port = nh_test_server_port(ts);
  raw_resp r = raw_roundtrip(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "{\"z\":1,\"a\":[\"x\\\"y\",true],\"m\":null}\n");
  CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
  raw_resp_free(&r);
  r = raw_roundtrip(port, "GET /pretty HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 201);
  CHECK_STR(r.body,
            "{\n  \"a\": [\n    \"x\\\"y\",\n    true\n  ],\n  \"m\": null,\n  \"z\": 1\n}\n");
  raw_resp_free(&r);
  r = raw_roundtrip(port, "GET /typed HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 422);
  CHECK_STR(raw_header(&r, "Content-Type"), "application/problem+json");
  raw_resp_free(&r);
  r = raw_roundtrip(port, "GET /string HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_STR(r.body, "[true]\n");
  raw_resp_free(&r);
  r = raw_roundtrip(port, "GET /scalar HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_STR(r.body, "\"\xc3\xa9\"\n");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
