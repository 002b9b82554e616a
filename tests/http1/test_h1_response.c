/* The client's HTTP/1 response reader on bytes alone: each input arrives
 * in small pieces through the room the reader gives, as reads from a
 * socket would, and the head, fields, body and trailers come out. */
#include "harness.h"

#include "http1/h1_response.h"
#include "nethttp/errors.h"
#include "nethttp/header.h"

NH_TEST_UNIT_FILE("pure parsing of bytes: no runtime, sockets or processes")

/* Feeds up to step bytes of *in into r's room; how many went in. */
static size_t feed(nh__h1_response *r, const char **in, size_t *left, size_t step) {
  char *at;
  size_t room;
  CHECK_EQ(nh__h1_response_room(r, &at, &room), NH_OK);
  size_t n = *left < step ? *left : step;
  if (n > room)
    n = room;
  memcpy(at, *in, n);
  nh__h1_response_fed(r, n);
  *in += n;
  *left -= n;
  return n;
}

/* The head from wire fed step bytes at a time: 1, or the reader's error. */
static int head_of(nh__h1_response *r, const char **in, size_t *left, size_t step, int head_req) {
  for (;;) {
    int e = nh__h1_response_head(r, head_req, 0);
    if (e)
      return e;
    if (!*left)
      return 0;
    feed(r, in, left, step);
  }
}

/* The whole body into out: its length, or an error (eof: the input ended). */
static long body_of(nh__h1_response *r, const char **in, size_t *left, size_t step, char *out,
                    size_t cap) {
  size_t got = 0;
  for (;;) {
    long n = nh__h1_response_body(r, out + got, cap - got);
    if (n > 0) {
      got += (size_t)n;
      continue;
    }
    if (n == 0)
      return (long)got;
    if (n != NH_EAGAIN)
      return n;
    if (!*left) {
      int e = nh__h1_response_eof(r);
      return e ? e : (long)got;
    }
    feed(r, in, left, step);
  }
}

NH_TEST(interim_heads_skipped_chunked_body_and_trailers) {
  static const char wire[] = "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nx-lower: v\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Sum: 42\r\n\r\n";
  for (size_t step = 1; step <= 64; step *= 4) {
    nh__h1_response r;
    CHECK_EQ(nh__h1_response_init(&r, 1 << 20), NH_OK);
    const char *in = wire;
    size_t left = sizeof wire - 1;
    CHECK_EQ(head_of(&r, &in, &left, step, 0), 1);
    CHECK_EQ(nh__h1_response_status(&r), 200);
    char proto[12];
    nh__h1_response_proto(&r, proto);
    CHECK_STR(proto, "HTTP/1.1");
    nh_header *h = nh_header_new();
    CHECK_EQ(nh__h1_response_fields(&r, h), NH_OK);
    CHECK_STR(nh_header_get(h, "Content-Type"), "text/plain");
    CHECK_STR(nh_header_get(h, "X-Lower"), "v");
    CHECK(nh_header_get(h, "Link") == NULL); /* the 103's field is not the answer's */
    CHECK_EQ(nh__h1_response_content_length(&r), -1);
    CHECK(nh__h1_response_chunked(&r) && nh__h1_response_has_body(&r));
    nh_header *trailer = nh_header_new();
    nh__h1_response_set_trailer(&r, trailer);
    char body[64];
    CHECK_EQ(body_of(&r, &in, &left, step, body, sizeof body), 12);
    CHECK(memcmp(body, "hello, world", 12) == 0);
    CHECK_STR(nh_header_get(trailer, "X-Sum"), "42");
    CHECK(nh__h1_response_keep_alive(&r));
    nh_header_free(trailer);
    nh_header_free(h);
    nh__h1_response_dispose(&r);
  }
}

NH_TEST(stop_at_100_returns_the_interim_head) {
  static const char wire[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  nh__h1_response r;
  CHECK_EQ(nh__h1_response_init(&r, 1 << 20), NH_OK);
  const char *in = wire;
  size_t left = sizeof wire - 1;
  feed(&r, &in, &left, sizeof wire);
  CHECK_EQ(nh__h1_response_head(&r, 0, 1), 1);
  CHECK_EQ(nh__h1_response_status(&r), 100);
  CHECK_EQ(nh__h1_response_head(&r, 0, 1), 1);
  CHECK_EQ(nh__h1_response_status(&r), 204);
  CHECK(!nh__h1_response_has_body(&r));
  nh__h1_response_dispose(&r);
}

NH_TEST(length_and_close_delimited_bodies) {
  /* Two answers on one connection: a length, then a body to the close. */
  static const char wire[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                             "HTTP/1.1 200 OK\r\n\r\nuntil the end";
  nh__h1_response r;
  CHECK_EQ(nh__h1_response_init(&r, 1 << 20), NH_OK);
  const char *in = wire;
  size_t left = sizeof wire - 1;
  char body[64];
  CHECK_EQ(head_of(&r, &in, &left, 7, 0), 1);
  CHECK_EQ(nh__h1_response_content_length(&r), 3);
  CHECK_EQ(body_of(&r, &in, &left, 7, body, sizeof body), 3);
  CHECK(nh__h1_response_keep_alive(&r));
  CHECK_EQ(head_of(&r, &in, &left, 7, 0), 1);
  CHECK_EQ(nh__h1_response_content_length(&r), -1);
  CHECK(!nh__h1_response_keep_alive(&r)); /* the close ends it */
  CHECK_EQ(body_of(&r, &in, &left, 7, body, sizeof body), 13);
  CHECK(memcmp(body, "until the end", 13) == 0);
  nh__h1_response_dispose(&r);
}

NH_TEST(body_cut_short_is_a_reset) {
  static const char wire[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  nh__h1_response r;
  CHECK_EQ(nh__h1_response_init(&r, 1 << 20), NH_OK);
  const char *in = wire;
  size_t left = sizeof wire - 1;
  char body[64];
  CHECK_EQ(head_of(&r, &in, &left, 100, 0), 1);
  CHECK_EQ(body_of(&r, &in, &left, 100, body, sizeof body), NH_ECONNRESET);
  nh__h1_response_dispose(&r);
}

NH_TEST(head_request_has_no_body_but_keeps_its_length) {
  static const char wire[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  nh__h1_response r;
  CHECK_EQ(nh__h1_response_init(&r, 1 << 20), NH_OK);
  const char *in = wire;
  size_t left = sizeof wire - 1;
  CHECK_EQ(head_of(&r, &in, &left, 5, 1), 1);
  CHECK(!nh__h1_response_has_body(&r));
  CHECK_EQ(nh__h1_response_content_length(&r), 1234);
  nh__h1_response_dispose(&r);
}

NH_TEST(head_over_the_limit_is_refused) {
  nh__h1_response r;
  CHECK_EQ(nh__h1_response_init(&r, 1024), NH_OK);
  static const char start[] = "HTTP/1.1 200 OK\r\n";
  const char *in = start;
  size_t left = sizeof start - 1;
  feed(&r, &in, &left, sizeof start);
  int e = 0;
  /* Fields of 100 bytes until the reader refuses: never past the limit. */
  for (int i = 0; i < 200 && e == 0; i++) {
    char field[128];
    int n = snprintf(field, sizeof field, "X-F%03d: %086d\r\n", i, 0);
    const char *f = field;
    size_t fl = (size_t)n;
    while (fl && e == 0) {
      char *at;
      size_t room;
      if ((e = nh__h1_response_room(&r, &at, &room)) != 0)
        break;
      feed(&r, &f, &fl, fl);
      e = nh__h1_response_head(&r, 0, 0);
    }
  }
  CHECK_EQ(e, NH_EBADRESPONSE);
  CHECK(nh__h1_response_head_bytes(&r) <= 1024 + 128);
  nh__h1_response_dispose(&r);
}

NH_TEST_MAIN()
