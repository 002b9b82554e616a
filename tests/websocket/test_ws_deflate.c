/* permessage-deflate (RFC 7692): the negotiation tables of §5-§7, the
 * examples of §7.2.3 byte for byte, decompression bombs, round trips, and
 * python3-websockets' compressor and decompressor as an independent peer. */
#include "harness.h"

#include <sys/wait.h>
#include <zlib.h>

#include "nethttp/errors.h"
#include "websocket/ws_internal.h"

NH_TEST_UNIT_FILE("pure codec and parser calls; the python peer is waited for by pclose")

static nh_ws_options on(void) {
  nh_ws_options o = NH_WS_OPTIONS_DEFAULT;
  o.compression = 1;
  return o;
}

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = 0;
  while (h[0] && h[1]) {
    if (h[0] == ' ') {
      h++;
      continue;
    }
    unsigned v;
    sscanf(h, "%2x", &v);
    out[n++] = (uint8_t)v;
    h += 2;
  }
  return n;
}

static void check_bytes(const nh__dynbuf *b, const char *hex) {
  uint8_t want[256];
  size_t n = unhex(hex, want);
  if (b->len != n || memcmp(b->p, want, n) != 0) {
    fprintf(stderr, "got:");
    for (size_t i = 0; i < b->len; i++)
      fprintf(stderr, " %02x", (uint8_t)b->p[i]);
    NH_FAIL("want: %s", hex);
  }
}

static const nh__wsd_params takeover = {0, 0, 15, 15};
static const nh__wsd_params no_takeover = {1, 1, 15, 15};

/* ---- §7.2.3: the examples ---- */

NH_TEST(rfc_hello_with_context_takeover) {
  nh__wsd *d = nh__wsd_new(&takeover, 0, 1);
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  CHECK_EQ(nh__wsd_deflate(d, "Hello", 5, &b), 0);
  check_bytes(&b, "f2 48 cd c9 c9 07 00");
  nh__dynbuf_reset(&b);
  /* §7.2.3.2: the second "Hello" refers back into the first. */
  CHECK_EQ(nh__wsd_deflate(d, "Hello", 5, &b), 0);
  check_bytes(&b, "f2 00 11 00 00");
  nh__dynbuf_free(&b);
  nh__wsd_free(d);
}

NH_TEST(rfc_hello_without_context_takeover) {
  /* The server's deflate follows server_no_context_takeover... */
  nh__wsd_params p = {1, 0, 15, 15};
  nh__wsd *d = nh__wsd_new(&p, 0, 1);
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  for (int i = 0; i < 3; i++) {
    nh__dynbuf_reset(&b);
    CHECK_EQ(nh__wsd_deflate(d, "Hello", 5, &b), 0);
    check_bytes(&b, "f2 48 cd c9 c9 07 00");
  }
  nh__wsd_free(d);
  /* ...the client's deflate follows client_no_context_takeover. */
  p = (nh__wsd_params){0, 1, 15, 15};
  d = nh__wsd_new(&p, 1, 1);
  for (int i = 0; i < 3; i++) {
    nh__dynbuf_reset(&b);
    CHECK_EQ(nh__wsd_deflate(d, "Hello", 5, &b), 0);
    check_bytes(&b, "f2 48 cd c9 c9 07 00");
  }
  nh__wsd_free(d);
  /* And the client keeps its context when only the server's is off. */
  p = (nh__wsd_params){1, 0, 15, 15};
  d = nh__wsd_new(&p, 1, 1);
  nh__dynbuf_reset(&b);
  CHECK_EQ(nh__wsd_deflate(d, "Hello", 5, &b), 0);
  nh__dynbuf_reset(&b);
  CHECK_EQ(nh__wsd_deflate(d, "Hello", 5, &b), 0);
  check_bytes(&b, "f2 00 11 00 00");
  nh__dynbuf_free(&b);
  nh__wsd_free(d);
}

static void inflate_hex(nh__wsd *d, const char *hex, const char *want) {
  uint8_t in[256];
  size_t n = unhex(hex, in);
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  int r = nh__wsd_inflate(d, in, n, &b, 1 << 20);
  if (r != 0)
    NH_FAIL("inflate %s: %s", hex, nh_err_name(r));
  CHECK_EQ(b.len, strlen(want));
  CHECK(memcmp(nh__dynbuf_ptr(&b), want, b.len) == 0);
  nh__dynbuf_free(&b);
}

NH_TEST(rfc_examples_inflate) {
  nh__wsd *d = nh__wsd_new(&takeover, 0, 1);
  inflate_hex(d, "f2 48 cd c9 c9 07 00", "Hello");      /* §7.2.3.1 */
  inflate_hex(d, "f2 00 11 00 00", "Hello");            /* §7.2.3.2, takeover */
  inflate_hex(d, "00 05 00 fa ff 48 65 6c 6c 6f 00", "Hello"); /* §7.2.3.3 stored */
  inflate_hex(d, "f3 48 cd c9 c9 07 00 00", "Hello");   /* §7.2.3.4 BFINAL */
  inflate_hex(d, "f2 00 11 00 00", "Hello");            /* the window survived it */
  inflate_hex(d, "f2 48 05 00 00 00 ff ff ca c9 c9 07 00", "Hello"); /* §7.2.3.5 two blocks */
  inflate_hex(d, "00", "");                              /* an empty message */
  inflate_hex(d, "02 00", "");                           /* an empty fixed block */
  nh__wsd_free(d);
  /* The server's inflate follows client_no_context_takeover: a reference
   * to the previous message then has no window to point into. */
  nh__wsd_params p = {0, 1, 15, 15};
  d = nh__wsd_new(&p, 0, 1);
  inflate_hex(d, "f2 48 cd c9 c9 07 00", "Hello");
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  uint8_t in[8];
  size_t n = unhex("f2 00 11 00 00", in);
  CHECK_EQ(nh__wsd_inflate(d, in, n, &b, 1 << 20), NH_EBADREQUEST);
  CHECK_EQ(b.len, 0);
  nh__dynbuf_free(&b);
  nh__wsd_free(d);
}

NH_TEST(data_after_a_final_block_is_ignored) {
  nh__wsd *d = nh__wsd_new(&takeover, 0, 1);
  /* "Hello" in a final block, then another "Hello" block: the message
   * ends with its final block (as gorilla and python-websockets read it). */
  inflate_hex(d, "f3 48 cd c9 c9 07 00 f2 48 cd c9 c9 07 00", "Hello");
  /* The window survived: the next message refers back into it. */
  inflate_hex(d, "f2 00 11 00 00", "Hello");
  /* 300,000 empty final blocks in one message: one restart, not one per
   * block (each would copy the window). */
  size_t n = 600000;
  uint8_t *many = malloc(n);
  for (size_t i = 0; i < n; i += 2)
    many[i] = 0x03, many[i + 1] = 0x00;
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  CHECK_EQ(nh__wsd_inflate(d, many, n, &b, 1 << 20), 0);
  CHECK_EQ(b.len, 0);
  inflate_hex(d, "f2 00 11 00 00", "Hello");
  free(many);
  nh__dynbuf_free(&b);
  nh__wsd_free(d);
}

NH_TEST(inflate_refuses_corrupt_and_truncated_data) {
  nh__wsd *d = nh__wsd_new(&takeover, 1, 1);
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  nh__dynbuf_addstr(&b, "kept");
  uint8_t in[16];
  /* A reserved block type (BTYPE 11). */
  size_t n = unhex("ff ff ff", in);
  CHECK_EQ(nh__wsd_inflate(d, in, n, &b, 1 << 20), NH_EBADREQUEST);
  CHECK_STR(nh__dynbuf_ptr(&b), "kept"); /* nothing appended on failure */
  /* A message cut inside a block: "Hello"'s block without its end. */
  n = unhex("f2 48 cd", in);
  CHECK_EQ(nh__wsd_inflate(d, in, n, &b, 1 << 20), NH_EBADREQUEST);
  /* A stored block whose length check fails. */
  n = unhex("00 05 00 00 00 48 65", in);
  CHECK_EQ(nh__wsd_inflate(d, in, n, &b, 1 << 20), NH_EBADREQUEST);
  /* The codec is usable again after a failure. */
  inflate_hex(d, "f2 48 cd c9 c9 07 00", "Hello");
  nh__dynbuf_free(&b);
  nh__wsd_free(d);
}

/* ---- negotiation: the server ---- */

typedef struct srv_case {
  const char *offer;
  int want;          /* 1, 0 or the error */
  const char *resp;  /* when 1 */
  nh__wsd_params p;  /* when 1 */
} srv_case;

static void run_server_cases(const nh_ws_options *o, const srv_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char resp[256] = "";
    nh__wsd_params p = {-1, -1, -1, -1};
    int r = nh__wsd_negotiate(c[i].offer, o, &p, resp, sizeof resp);
    if (r != c[i].want)
      NH_FAIL("offer [%s]: got %d want %d", c[i].offer ? c[i].offer : "(null)", r, c[i].want);
    if (r != 1)
      continue;
    if (strcmp(resp, c[i].resp) != 0)
      NH_FAIL("offer [%s]: response [%s] want [%s]", c[i].offer, resp, c[i].resp);
    if (memcmp(&p, &c[i].p, sizeof p) != 0)
      NH_FAIL("offer [%s]: params %d %d %d %d", c[i].offer, p.server_no_context_takeover,
              p.client_no_context_takeover, p.server_max_window_bits, p.client_max_window_bits);
  }
}

NH_TEST(server_negotiation_table) {
  nh_ws_options o = on();
  static const srv_case cases[] = {
      /* Real offers: Chrome, node ws and python3-websockets by default... */
      {"permessage-deflate; client_max_window_bits", 1, "permessage-deflate", {0, 0, 15, 15}},
      /* ...Firefox (Chrome's offer also has this spelling)... */
      {"permessage-deflate", 1, "permessage-deflate", {0, 0, 15, 15}},
      /* ...gorilla/websocket. */
      {"permessage-deflate; server_no_context_takeover; client_no_context_takeover", 1,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       {1, 1, 15, 15}},
      /* python3-websockets' server defaults as a client's offer. */
      {"permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", 1,
       "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
       {0, 0, 12, 12}},
      {"permessage-deflate; client_max_window_bits=10", 1,
       "permessage-deflate; client_max_window_bits=10", {0, 0, 15, 10}},
      /* A client promising 8 is fine: we inflate with 9. */
      {"permessage-deflate; client_max_window_bits=8", 1,
       "permessage-deflate; client_max_window_bits=8", {0, 0, 15, 8}},
      {"permessage-deflate;server_max_window_bits=9", 1,
       "permessage-deflate; server_max_window_bits=9", {0, 0, 9, 15}},
      /* Quoted values, unescaped, OWS, case of names, empty elements. */
      {"permessage-deflate; server_max_window_bits=\"10\"", 1,
       "permessage-deflate; server_max_window_bits=10", {0, 0, 10, 15}},
      {"permessage-deflate; client_max_window_bits=\"1\\1\"", 1,
       "permessage-deflate; client_max_window_bits=11", {0, 0, 15, 11}},
      {" , Permessage-Deflate \t;\tSERVER_NO_CONTEXT_TAKEOVER , ", 1,
       "permessage-deflate; server_no_context_takeover", {1, 0, 15, 15}},
      /* Several offers: the first we can honour wins. */
      {"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits", 1,
       "permessage-deflate", {0, 0, 15, 15}},
      {"permessage-deflate; server_max_window_bits=8, permessage-deflate; "
       "server_max_window_bits=9",
       1, "permessage-deflate; server_max_window_bits=9", {0, 0, 9, 15}},
      {"permessage-deflate; x-unknown, permessage-deflate; client_no_context_takeover", 1,
       "permessage-deflate; client_no_context_takeover", {0, 1, 15, 15}},
      /* Several header fields joined with ", "; a comma inside quotes. */
      {"foo; a=\"x, y\", permessage-deflate; server_no_context_takeover", 1,
       "permessage-deflate; server_no_context_takeover", {1, 0, 15, 15}},
      /* Another extension's bad syntax is not ours to judge. */
      {"foo; =x, permessage-deflate", 1, "permessage-deflate", {0, 0, 15, 15}},
      {"@@@, permessage-deflate", 1, "permessage-deflate", {0, 0, 15, 15}},
      /* Declined: no offer of ours, or every offer unacceptable (§5). */
      {NULL, 0, NULL, {0}},
      {"", 0, NULL, {0}},
      {"x-webkit-deflate-frame", 0, NULL, {0}},
      {"permessage-deflate; server_max_window_bits=8", 0, NULL, {0}},
      {"permessage-deflate; server_no_context_takeover; server_no_context_takeover", 0, NULL, {0}},
      {"permessage-deflate; client_max_window_bits; client_max_window_bits=10", 0, NULL, {0}},
      {"permessage-deflate; server_no_context_takeover=1", 0, NULL, {0}},
      {"permessage-deflate; client_no_context_takeover=\"\"", 0, NULL, {0}},
      {"permessage-deflate; server_max_window_bits", 0, NULL, {0}},
      {"permessage-deflate; server_max_window_bits=16", 0, NULL, {0}},
      {"permessage-deflate; server_max_window_bits=7", 0, NULL, {0}},
      {"permessage-deflate; server_max_window_bits=08", 0, NULL, {0}},
      {"permessage-deflate; server_max_window_bits=100000000000000000010", 0, NULL, {0}},
      {"permessage-deflate; client_max_window_bits=\"1 0\"", 0, NULL, {0}},
      {"permessage-deflate; client_max_window_bits=0x0f", 0, NULL, {0}},
      {"permessage-deflate; mux", 0, NULL, {0}},
      /* Malformed offers of ours: 400. */
      {"permessage-deflate;", NH_EBADREQUEST, NULL, {0}},
      {"permessage-deflate; client_max_window_bits=", NH_EBADREQUEST, NULL, {0}},
      {"permessage-deflate; client_max_window_bits=\"10", NH_EBADREQUEST, NULL, {0}},
      {"permessage-deflate x", NH_EBADREQUEST, NULL, {0}},
      {"permessage-deflate; a b", NH_EBADREQUEST, NULL, {0}},
      {"permessage-deflate; a=\"\x01\"", NH_EBADREQUEST, NULL, {0}},
  };
  run_server_cases(&o, cases, sizeof cases / sizeof cases[0]);
}

NH_TEST(server_negotiation_follows_its_options) {
  nh_ws_options o = on();
  o.server_no_context_takeover = 1;
  o.client_no_context_takeover = 1;
  static const srv_case both[] = {
      {"permessage-deflate", 1,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       {1, 1, 15, 15}},
  };
  run_server_cases(&o, both, 1);

  o = on();
  o.server_max_window_bits = 12;
  o.client_max_window_bits = 10;
  static const srv_case bits[] = {
      /* Our own window stated even when not asked for. */
      {"permessage-deflate", 1, "permessage-deflate; server_max_window_bits=12", {0, 0, 12, 15}},
      /* client_max_window_bits only answered when offered (§7.1.2.2). */
      {"permessage-deflate; client_max_window_bits", 1,
       "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10",
       {0, 0, 12, 10}},
      {"permessage-deflate; client_max_window_bits=9; server_max_window_bits=14", 1,
       "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9", {0, 0, 12, 9}},
      {"permessage-deflate; server_max_window_bits=11", 1,
       "permessage-deflate; server_max_window_bits=11", {0, 0, 11, 15}},
  };
  run_server_cases(&o, bits, sizeof bits / sizeof bits[0]);

  /* Options of 8 mean 9: zlib can not deflate under a 256-byte window. */
  o = on();
  o.server_max_window_bits = 8;
  o.client_max_window_bits = 8;
  static const srv_case eight[] = {
      {"permessage-deflate; client_max_window_bits", 1,
       "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9", {0, 0, 9, 9}},
  };
  run_server_cases(&o, eight, 1);

  /* Compression off: never agreed. */
  o = on();
  o.compression = 0;
  static const srv_case off[] = {{"permessage-deflate", 0, NULL, {0}}};
  run_server_cases(&o, off, 1);
  /* A response buffer too small is an error, not a cut string. */
  char small[8];
  nh__wsd_params p;
  o = on();
  CHECK(nh__wsd_negotiate("permessage-deflate", &o, &p, small, sizeof small) < 0);
}

/* ---- negotiation: the client ---- */

NH_TEST(client_offer_strings) {
  char buf[256];
  nh_ws_options o = on();
  CHECK_EQ(nh__wsd_offer(&o, buf, sizeof buf), strlen("permessage-deflate; client_max_window_bits"));
  CHECK_STR(buf, "permessage-deflate; client_max_window_bits");
  o.server_no_context_takeover = o.client_no_context_takeover = 1;
  o.server_max_window_bits = 10;
  o.client_max_window_bits = 12;
  nh__wsd_offer(&o, buf, sizeof buf);
  CHECK_STR(buf, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                 "server_max_window_bits=10; client_max_window_bits=12");
  o = on();
  o.server_max_window_bits = 8; /* we inflate 8 fine */
  o.client_max_window_bits = 8; /* but deflate no lower than 9 */
  nh__wsd_offer(&o, buf, sizeof buf);
  CHECK_STR(buf, "permessage-deflate; server_max_window_bits=8; client_max_window_bits=9");
  o.compression = 0;
  CHECK_EQ(nh__wsd_offer(&o, buf, sizeof buf), 0);
  o = on();
  CHECK_EQ(nh__wsd_offer(&o, buf, 10), 0);
  /* Every offer we make is one our own server accepts. */
  o = on();
  o.server_no_context_takeover = 1;
  o.server_max_window_bits = 11;
  o.client_max_window_bits = 13;
  nh__wsd_offer(&o, buf, sizeof buf);
  char resp[256];
  nh__wsd_params sp, cp;
  nh_ws_options so = on();
  CHECK_EQ(nh__wsd_negotiate(buf, &so, &sp, resp, sizeof resp), 1);
  CHECK_EQ(nh__wsd_accept(resp, &o, &cp), 1);
  CHECK(memcmp(&sp, &cp, sizeof sp) == 0);
  CHECK_EQ(cp.server_max_window_bits, 11);
  CHECK_EQ(cp.client_max_window_bits, 13);
  CHECK_EQ(cp.server_no_context_takeover, 1);
}

typedef struct cli_case {
  const char *answer;
  int want;
  nh__wsd_params p;
} cli_case;

static void run_client_cases(const nh_ws_options *o, const cli_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    nh__wsd_params p = {-1, -1, -1, -1};
    int r = nh__wsd_accept(c[i].answer, o, &p);
    if (r != c[i].want)
      NH_FAIL("answer [%s]: got %d want %d", c[i].answer ? c[i].answer : "(null)", r, c[i].want);
    if (r == 1 && memcmp(&p, &c[i].p, sizeof p) != 0)
      NH_FAIL("answer [%s]: params %d %d %d %d", c[i].answer, p.server_no_context_takeover,
              p.client_no_context_takeover, p.server_max_window_bits, p.client_max_window_bits);
  }
}

NH_TEST(client_accept_table) {
  nh_ws_options o = on();
  static const cli_case plain[] = {
      {NULL, 0, {0}},
      {"", 0, {0}},
      {"permessage-deflate", 1, {0, 0, 15, 15}},
      {"permessage-deflate; server_no_context_takeover; client_no_context_takeover", 1,
       {1, 1, 15, 15}},
      {"permessage-deflate; server_max_window_bits=8", 1, {0, 0, 8, 15}},
      {"permessage-deflate; client_max_window_bits=10", 1, {0, 0, 15, 10}},
      {"permessage-deflate; client_max_window_bits=\"12\"", 1, {0, 0, 15, 12}},
      /* Not valid replies to our offer: fail the connection. */
      {"permessage-deflate; client_max_window_bits", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; client_max_window_bits=8", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; client_max_window_bits=16", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; server_max_window_bits", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
       NH_EBADRESPONSE, {0}},
      {"permessage-deflate; foo", NH_EBADRESPONSE, {0}},
      {"permessage-deflate, permessage-deflate", NH_EBADRESPONSE, {0}},
      {"x-webkit-deflate-frame", NH_EBADRESPONSE, {0}},
      {"permessage-deflate;", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; server_max_window_bits=\"9", NH_EBADRESPONSE, {0}},
  };
  run_client_cases(&o, plain, sizeof plain / sizeof plain[0]);

  /* What we asked for must be in the answer. */
  o.server_no_context_takeover = 1;
  o.server_max_window_bits = 10;
  o.client_max_window_bits = 12;
  o.client_no_context_takeover = 1;
  static const cli_case asked[] = {
      {"permessage-deflate; server_no_context_takeover; server_max_window_bits=10", 1,
       {1, 1, 10, 12}},
      {"permessage-deflate; server_no_context_takeover; server_max_window_bits=9; "
       "client_max_window_bits=11",
       1, {1, 1, 9, 11}},
      {"permessage-deflate; server_max_window_bits=10", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; server_no_context_takeover", NH_EBADRESPONSE, {0}},
      {"permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
       NH_EBADRESPONSE, {0}},
  };
  run_client_cases(&o, asked, sizeof asked / sizeof asked[0]);

  /* Not offered at all: any answer is wrong. */
  o = on();
  o.compression = 0;
  static const cli_case off[] = {{NULL, 0, {0}}, {"permessage-deflate", NH_EBADRESPONSE, {0}}};
  run_client_cases(&o, off, 2);
}

/* ---- bombs ---- */

/* Raw deflate of `total` zeros, sync-flushed with the tail removed, as a
 * hostile peer would send it. */
static uint8_t *zero_bomb(size_t total, size_t *n) {
  z_stream z;
  memset(&z, 0, sizeof z);
  CHECK(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  static uint8_t zeros[1 << 20];
  size_t cap = total / 500 + 4096, len = 0;
  uint8_t *out = malloc(cap);
  for (size_t fed = 0; fed < total;) {
    size_t k = total - fed < sizeof zeros ? total - fed : sizeof zeros;
    fed += k;
    z.next_in = zeros;
    z.avail_in = (uInt)k;
    do {
      if (cap - len < 65536)
        out = realloc(out, cap *= 2);
      z.next_out = out + len;
      z.avail_out = (uInt)(cap - len);
      deflate(&z, fed == total ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      len = cap - z.avail_out;
    } while (z.avail_in || z.avail_out == 0);
  }
  deflateEnd(&z);
  CHECK(len >= 4 && memcmp(out + len - 4, "\0\0\xff\xff", 4) == 0);
  *n = len - 4;
  return out;
}

NH_TEST(bomb_of_a_gigabyte_stops_at_the_cap) {
  size_t n;
  uint8_t *bomb = zero_bomb((size_t)1 << 30, &n);
  CHECK(n < (2u << 20)); /* ~1 MB on the wire */
  nh__wsd *d = nh__wsd_new(&takeover, 0, 1);
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  size_t max = 1 << 20;
  CHECK_EQ(nh__wsd_inflate(d, bomb, n, &b, max), NH_EBODYTOOLARGE);
  CHECK_EQ(b.len, 0);
  /* The buffer never grew much past the cap (it doubles at most). */
  CHECK(b.cap <= 2 * max + 64);
  nh__dynbuf_free(&b);
  /* A buffer of its own cap is honoured the same way, its error unset. */
  nh__dynbuf_init(&b, 4096);
  CHECK_EQ(nh__wsd_inflate(d, bomb, n, &b, max), NH_EBODYTOOLARGE);
  CHECK_EQ(b.err, 0);
  CHECK(b.cap <= 4097);
  nh__dynbuf_free(&b);
  nh__wsd_free(d);
  free(bomb);
}

NH_TEST(inflate_cap_is_exact) {
  static uint8_t msg[5000];
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)(i % 7);
  nh__dynbuf c, b;
  nh__dynbuf_init(&c, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  nh__wsd *tx = nh__wsd_new(&no_takeover, 1, 6);
  CHECK_EQ(nh__wsd_deflate(tx, msg, sizeof msg, &c), 0);
  nh__wsd *rx = nh__wsd_new(&no_takeover, 0, 1);
  CHECK_EQ(nh__wsd_inflate(rx, c.p, c.len, &b, sizeof msg - 1), NH_EBODYTOOLARGE);
  CHECK_EQ(nh__wsd_inflate(rx, c.p, c.len, &b, sizeof msg), 0);
  CHECK_EQ(b.len, sizeof msg);
  CHECK(memcmp(b.p, msg, sizeof msg) == 0);
  /* Appended after what the buffer held. */
  CHECK_EQ(nh__wsd_inflate(rx, c.p, c.len, &b, sizeof msg), 0);
  CHECK_EQ(b.len, 2 * sizeof msg);
  CHECK(memcmp(b.p + sizeof msg, msg, sizeof msg) == 0);
  nh__dynbuf_free(&c);
  nh__dynbuf_free(&b);
  nh__wsd_free(tx);
  nh__wsd_free(rx);
}

/* ---- round trips ---- */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

/* Random bytes, or text-like runs from a small alphabet (compressible). */
static void fill(uint8_t *p, size_t n, int kind) {
  for (size_t i = 0; i < n; i++)
    p[i] = kind ? (uint8_t)("abcdefgh {}\":,"[rnd() % 14]) : (uint8_t)rnd();
}

static void round_trips(const nh__wsd_params *p, int level) {
  static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 100, 125, 126, 1000, 4095, 4096, 16384,
                                 65535, 65536, 65537, 300000, 1 << 20};
  uint8_t *msg = malloc(1 << 20);
  nh__wsd *srv = nh__wsd_new(p, 0, level), *cli = nh__wsd_new(p, 1, level);
  nh__dynbuf z, out;
  nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      size_t n = sizes[i];
      fill(msg, n, (int)((i + round) % 2));
      /* Server to client, then client to server: both directions. */
      for (int dir = 0; dir < 2; dir++) {
        nh__wsd *tx = dir ? cli : srv, *rx = dir ? srv : cli;
        nh__dynbuf_reset(&z);
        nh__dynbuf_reset(&out);
        CHECK_EQ(nh__wsd_deflate(tx, msg, n, &z), 0);
        int r = nh__wsd_inflate(rx, z.p, z.len, &out, 1 << 20);
        if (r != 0)
          NH_FAIL("size %zu dir %d bits %d/%d: %s", n, dir, p->server_max_window_bits,
                  p->client_max_window_bits, nh_err_name(r));
        CHECK_EQ(out.len, n);
        CHECK(n == 0 || memcmp(out.p, msg, n) == 0);
      }
    }
  nh__dynbuf_free(&z);
  nh__dynbuf_free(&out);
  nh__wsd_free(srv);
  nh__wsd_free(cli);
  free(msg);
}

NH_TEST(round_trips_every_size_and_mode) {
  round_trips(&takeover, 1);
  round_trips(&no_takeover, 1);
  round_trips(&(nh__wsd_params){1, 0, 15, 15}, 9);
  round_trips(&(nh__wsd_params){0, 1, 15, 15}, 6);
  /* Small windows: the deflater must stay within what was agreed, which
   * an inflater of that exact window checks across messages (zlib refuses
   * a distance too far back into the previous ones). */
  for (int bits = 9; bits <= 14; bits++)
    round_trips(&(nh__wsd_params){0, 0, bits, bits}, 9);
}

NH_TEST(small_window_is_enforced_on_inflate) {
  /* A 2 KiB message sent twice with context takeover: the second refers
   * back 2048 bytes into the first, fine in a 15-bit window, a distance
   * too far back for a 9-bit one (zlib checks what precedes a call's
   * output against the window). */
  uint8_t msg[2048];
  fill(msg, sizeof msg, 0);
  nh__wsd *tx = nh__wsd_new(&takeover, 0, 9);
  nh__dynbuf z1, z2, out;
  nh__dynbuf_init(&z1, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&z2, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  CHECK_EQ(nh__wsd_deflate(tx, msg, sizeof msg, &z1), 0);
  CHECK_EQ(nh__wsd_deflate(tx, msg, sizeof msg, &z2), 0);
  CHECK(z2.len < 100); /* the repeat was a match */
  nh__wsd *rx = nh__wsd_new(&(nh__wsd_params){0, 0, 9, 9}, 1, 1);
  CHECK_EQ(nh__wsd_inflate(rx, z1.p, z1.len, &out, 1 << 20), 0);
  CHECK_EQ(nh__wsd_inflate(rx, z2.p, z2.len, &out, 1 << 20), NH_EBADREQUEST);
  nh__wsd_free(rx);
  rx = nh__wsd_new(&takeover, 1, 1);
  nh__dynbuf_reset(&out);
  CHECK_EQ(nh__wsd_inflate(rx, z1.p, z1.len, &out, 1 << 20), 0);
  CHECK_EQ(nh__wsd_inflate(rx, z2.p, z2.len, &out, 1 << 20), 0);
  CHECK_EQ(out.len, 2 * sizeof msg);
  CHECK(memcmp(out.p + sizeof msg, msg, sizeof msg) == 0);
  nh__dynbuf_free(&z1);
  nh__dynbuf_free(&z2);
  nh__dynbuf_free(&out);
  nh__wsd_free(tx);
  nh__wsd_free(rx);
}

/* ---- python3-websockets as the peer ---- */

static const char py_peer[] =
    "import sys\n"
    "from websockets.extensions.permessage_deflate import PerMessageDeflate\n"
    "from websockets.frames import Frame, Opcode\n"
    "nct = sys.argv[1] == '1'\n"
    "bits = int(sys.argv[2])\n"
    "ext = PerMessageDeflate(nct, nct, bits, bits, {'memLevel': 5})\n"
    "for line in sys.stdin:\n"
    "    op, hx = line.split()\n"
    "    data = bytes.fromhex(hx) if hx != '-' else b''\n"
    "    if op == 'c':\n"
    "        f = ext.encode(Frame(Opcode.BINARY, data))\n"
    "        assert f.rsv1\n"
    "    else:\n"
    "        f = ext.decode(Frame(Opcode.BINARY, data, rsv1=True))\n"
    "    print(f.data.hex() or '-', flush=True)\n";

static int have_websockets(void) {
  return system("/usr/bin/python3 -c 'import websockets.extensions.permessage_deflate' "
                ">/dev/null 2>&1") == 0;
}

static void hexline(FILE *f, char op, const uint8_t *p, size_t n) {
  fputc(op, f);
  fputc(' ', f);
  if (!n)
    fputc('-', f);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%02x", p[i]);
  fputc('\n', f);
}

/* Messages to python in order: it compresses ("c") or decompresses ("d")
 * each with its own state, and writes the result back. */
static void python_peer(int nct, int bits) {
  char dir[] = "/tmp/nh_wsd_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char script[64], in[64], outp[64], cmd[256];
  snprintf(script, sizeof script, "%s/peer.py", dir);
  snprintf(in, sizeof in, "%s/in", dir);
  snprintf(outp, sizeof outp, "%s/out", dir);
  FILE *f = fopen(script, "w");
  fputs(py_peer, f);
  fclose(f);
  nh__wsd_params p = {nct, nct, bits, bits};
  nh__wsd *srv = nh__wsd_new(&p, 0, 1);
  nh__dynbuf z, out;
  nh__dynbuf_init(&z, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  enum { N = 24 };
  static uint8_t msgs[N][3000];
  size_t lens[N];
  /* Python (the client) compresses N messages; we (the server) compress
   * N messages that python decompresses. */
  f = fopen(in, "w");
  for (int i = 0; i < N; i++) {
    lens[i] = (size_t)(i * 131) % 3000;
    fill(msgs[i], lens[i], i % 3 != 0);
    if (i % 4 == 1 && lens[i] > 400) /* repeats across messages */
      memcpy(msgs[i], msgs[i - 1], 200);
    hexline(f, 'c', msgs[i], lens[i]);
  }
  for (int i = 0; i < N; i++) {
    nh__dynbuf_reset(&z);
    CHECK_EQ(nh__wsd_deflate(srv, msgs[i], lens[i], &z), 0);
    hexline(f, 'd', (uint8_t *)z.p, z.len);
  }
  fclose(f);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %d %d <%s >%s", script, nct, bits, in, outp);
  CHECK_EQ(system(cmd), 0);
  f = fopen(outp, "r");
  static char line[20000];
  static uint8_t bin[10000];
  for (int i = 0; i < 2 * N; i++) {
    CHECK(fgets(line, sizeof line, f) != NULL);
    line[strcspn(line, "\n")] = 0;
    size_t n = strcmp(line, "-") == 0 ? 0 : unhex(line, bin);
    int k = i % N;
    if (i < N) {
      nh__dynbuf_reset(&out);
      int r = nh__wsd_inflate(srv, bin, n, &out, 1 << 20);
      if (r != 0)
        NH_FAIL("python's message %d: %s", k, nh_err_name(r));
      CHECK_EQ(out.len, lens[k]);
      CHECK(lens[k] == 0 || memcmp(out.p, msgs[k], lens[k]) == 0);
    } else {
      CHECK_EQ(n, lens[k]);
      CHECK(n == 0 || memcmp(bin, msgs[k], n) == 0);
    }
  }
  fclose(f);
  unlink(script);
  unlink(in);
  unlink(outp);
  rmdir(dir);
  nh__dynbuf_free(&z);
  nh__dynbuf_free(&out);
  nh__wsd_free(srv);
}

NH_TEST(python_websockets_interop) {
  if (!have_websockets())
    NH_SKIP("python3-websockets is not installed");
  python_peer(0, 15);
  python_peer(1, 15);
  python_peer(0, 12);
  python_peer(0, 9);
}

NH_TEST_MAIN()
