/* Trailers over HTTP/2, with /usr/bin/python3's h2 module as the client:
 * response trailers in a HEADERS frame with END_STREAM after DATA that
 * does not end the stream (declared ones, "Trailer:" keys set after the
 * head, forbidden names dropped, none when none was set); request
 * trailers from the client's trailing HEADERS seen by the handler once it
 * read the body's end; a pseudo-header in request trailers is a stream
 * error that leaves the connection serving. */
#include "test_h2_server_util.h"

static void handler(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  nh_header *h = nh_resp_header(w);
  if (!strcmp(path, "/declared")) {
    nh_header_set(h, "Trailer", "X-Sum, X-Never, Content-Length");
    nh_resp_write_string(w, "hello ");
    nh_resp_flush(w);
    nh_resp_write_string(w, "world");
    nh_header_set(h, "X-Sum", "42");
    nh_header_set(h, "Content-Length", "1"); /* forbidden in a trailer */
    nh_header_set(h, "Trailer:X-Late", "after the head");
    nh_header_set(h, "Trailer:Host", "evil");
  } else if (!strcmp(path, "/whole")) {
    nh_header_set(h, "Trailer", "X-Sum");
    nh_resp_write_string(w, "small");
    nh_header_set(h, "X-Sum", "7");
  } else if (!strcmp(path, "/empty")) {
    nh_header_set(h, "Trailer:X-Only", "no body");
  } else if (!strcmp(path, "/never")) {
    nh_header_set(h, "Trailer", "X-Never");
    nh_resp_write_string(w, "plain");
  } else if (!strcmp(path, "/upload")) {
    char buf[4096];
    ssize_t n;
    size_t total = 0;
    int before = 0;
    while ((n = nh_request_read(r, buf, sizeof buf)) > 0) {
      total += (size_t)n;
      before |= nh_request_trailer(r) != NULL && total < 10;
    }
    if (n < 0) /* the stream was reset (pseudo-header case) */
      return;
    nh_header *t = nh_request_trailer(r);
    nh_resp_printf(w, "read %zu; trailer before end %d; checksum %s; rows %s", total, before,
                   t && nh_header_get(t, "X-Checksum") ? nh_header_get(t, "X-Checksum") : "-",
                   t && nh_header_get(t, "X-Rows") ? nh_header_get(t, "X-Rows") : "-");
  } else {
    nh_resp_write_string(w, "ok");
  }
}

/* Each response as the h2 module's events show it: the head, DATA (and
 * whether it ended the stream), trailers (and whether they did). */
static const char responses_py[] =
    "import socket, sys\n"
    "import h2.connection, h2.config, h2.events\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "s.settimeout(10)\n"
    "c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))\n"
    "c.initiate_connection()\n"
    "paths = ['/declared', '/whole', '/empty', '/never']\n"
    "ids = {}\n"
    "for p in paths:\n"
    "    sid = c.get_next_available_stream_id(); ids[sid] = p\n"
    "    c.send_headers(sid, [(':method', 'GET'), (':path', p), (':scheme', 'http'),\n"
    "                         (':authority', 'x')], end_stream=True)\n"
    "s.sendall(c.data_to_send())\n"
    "out = {p: [] for p in paths}; ended = 0\n"
    "while ended < len(paths):\n"
    "    d = s.recv(65536)\n"
    "    if not d: break\n"
    "    for e in c.receive_data(d):\n"
    "        if isinstance(e, h2.events.ResponseReceived):\n"
    "            hs = [(k.decode(), v.decode()) for k, v in e.headers if k.decode() != 'date']\n"
    "            out[ids[e.stream_id]].append('head %s' % hs)\n"
    "        elif isinstance(e, h2.events.DataReceived):\n"
    "            c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)\n"
    "            if e.data or e.stream_ended: out[ids[e.stream_id]].append('data %r end=%s' % (e.data.decode(), e.stream_ended is not None))\n"
    "        elif isinstance(e, h2.events.TrailersReceived):\n"
    "            hs = [(k.decode(), v.decode()) for k, v in e.headers]\n"
    "            out[ids[e.stream_id]].append('trailers %s end=%s' % (hs, e.stream_ended is not None))\n"
    "        elif isinstance(e, h2.events.StreamEnded): ended += 1\n"
    "        elif isinstance(e, h2.events.StreamReset): out[ids[e.stream_id]].append('reset'); ended += 1\n"
    "    s.sendall(c.data_to_send())\n"
    "for p in paths: print(p, ' | '.join(out[p]))\n";

/* The line for path in the script's output (malloc'd). */
static char *line_of(const char *out, const char *path) {
  char key[64];
  snprintf(key, sizeof key, "%s ", path);
  const char *at = strstr(out, key);
  CHECK(at);
  const char *end = strchr(at, '\n');
  return strndup(at, end ? (size_t)(end - at) : strlen(at));
}

NH_TEST(response_trailers_end_the_stream) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(responses_py, nh_test_server_port(ts), NULL, 20);

  /* Declared and "Trailer:" ones after DATA that did not end the stream;
   * the forbidden and the never-set ones left out; no "Trailer:" key in
   * the head, the Trailer field in it as set. */
  char *l = line_of(out, "/declared");
  CHECK_CONTAINS(l, "('trailer', 'X-Sum, X-Never, Content-Length')");
  CHECK(!strstr(l, "trailer:"));
  CHECK_CONTAINS(l, "data 'hello ' end=False");
  CHECK_CONTAINS(l, "data 'world' end=False");
  CHECK_CONTAINS(l, "trailers [('x-sum', '42'), ('x-late', 'after the head')] end=True");
  CHECK(!strstr(l, "evil"));
  CHECK(!strstr(l, "x-never"));
  free(l);

  /* A body sent whole: its length is stated (as Go does over HTTP/2), and
   * the trailers follow it all the same. */
  l = line_of(out, "/whole");
  CHECK_CONTAINS(l, "('content-length', '5')");
  CHECK_CONTAINS(l, "data 'small' end=False");
  CHECK_CONTAINS(l, "trailers [('x-sum', '7')] end=True");
  free(l);

  /* No body bytes: HEADERS, then the trailers end the stream. */
  l = line_of(out, "/empty");
  CHECK_CONTAINS(l, "trailers [('x-only', 'no body')] end=True");
  CHECK(!strstr(l, "head [('x-only'"));
  free(l);

  /* Declared, never set: the DATA ends the stream, no trailers. */
  l = line_of(out, "/never");
  CHECK_CONTAINS(l, "data 'plain' end=True");
  CHECK(!strstr(l, "trailers"));
  free(l);
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The client's trailing HEADERS (END_STREAM) after its DATA. */
static const char upload_py[] =
    "import socket, sys\n"
    "import h2.connection, h2.config, h2.events\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "s.settimeout(10)\n"
    "c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))\n"
    "c.initiate_connection()\n"
    "c.send_headers(1, [(':method', 'POST'), (':path', '/upload'), (':scheme', 'http'),\n"
    "                   (':authority', 'x'), ('trailer', 'X-Checksum, X-Rows')])\n"
    "c.send_data(1, b'a' * 3000)\n"
    "c.send_data(1, b'b' * 3000)\n"
    "c.send_headers(1, [('x-checksum', 'abc'), ('x-rows', '2')], end_stream=True)\n"
    "s.sendall(c.data_to_send())\n"
    "body = b''; done = False\n"
    "while not done:\n"
    "    d = s.recv(65536)\n"
    "    if not d: break\n"
    "    for e in c.receive_data(d):\n"
    "        if isinstance(e, h2.events.DataReceived):\n"
    "            body += e.data; c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)\n"
    "        elif isinstance(e, h2.events.StreamEnded): done = True\n"
    "        elif isinstance(e, h2.events.StreamReset): print('reset'); done = True\n"
    "    s.sendall(c.data_to_send())\n"
    "print(body.decode())\n";

NH_TEST(request_trailers_seen_by_the_handler) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(upload_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "read 6000; trailer before end 0; checksum abc; rows 2");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Raw frames: request trailers with a pseudo-header (the h2 module would
 * not send them): RST_STREAM PROTOCOL_ERROR for that stream, and the next
 * stream on the connection is served. */
static const char pseudo_py[] = H2T_PY_PRELUDE
    "s = conn(); r = Reader(s)\n"
    "s.sendall(frame(1, 4, 1, req('/upload', 'POST')))\n"
    "s.sendall(frame(0, 0, 1, b'data'))\n"
    "s.sendall(frame(1, 5, 1, enc.encode([(':path', '/sneaky'), ('x-checksum', 'abc')])))\n"
    "f = r.until(lambda f: f[2] == 1 and f[0] in (1, 3))\n"
    "print('stream1', 'rst %d' % int.from_bytes(f[3], 'big') if f and f[0] == 3 else f)\n"
    "s.sendall(frame(1, 5, 3, req('/other')))\n"
    "f = r.until(lambda f: f[2] == 3 and f[0] == 0)\n"
    "print('stream3', f[3].decode() if f else None)\n";

NH_TEST(pseudo_header_in_request_trailers_is_a_stream_error) {
  h2t_need_python_h2();
  nh_test_server *ts = h2t_server(handler, NULL);
  CHECK(ts);
  char *out = h2t_py(pseudo_py, nh_test_server_port(ts), NULL, 20);
  CHECK_CONTAINS(out, "stream1 rst 1"); /* PROTOCOL_ERROR */
  CHECK_CONTAINS(out, "stream3 ok");
  free(out);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* nethttp's own client reads the trailers after the body: over HTTP/2
 * (TLS, ALPN h2) and over HTTP/1.1. */
static void client_reads(nh_test_server *ts, const char *want_proto) {
  nh_client *c = nh_test_server_client(ts);
  CHECK(c);
  char url[128];
  snprintf(url, sizeof url, "%s/declared", nh_test_server_url(ts));
  nh_response *r;
  CHECK_EQ(nh_client_get(c, url, &r), NH_OK);
  CHECK_STR(nh_response_proto(r), want_proto);
  CHECK(!nh_response_trailer(r)); /* not before the body's end */
  char *body;
  CHECK_EQ(nh_response_read_all(r, 100, &body, NULL), NH_OK);
  CHECK_STR(body, "hello world");
  free(body);
  nh_header *t = nh_response_trailer(r);
  CHECK(t);
  CHECK_STR(nh_header_get(t, "X-Sum"), "42");
  CHECK_STR(nh_header_get(t, "X-Late"), "after the head");
  CHECK(!nh_header_get(t, "Host"));
  CHECK(!nh_header_get(t, "Content-Length"));
  nh_response_close(r);
}

NH_TEST(nethttp_client_reads_the_trailers) {
  nh_test_server *ts = nh_test_server_new_tls(handler, NULL, 1);
  CHECK(ts);
  client_reads(ts, "HTTP/2.0");
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  ts = nh_test_server_new(handler, NULL, 1);
  CHECK(ts);
  client_reads(ts, "HTTP/1.1");
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
