/* The capped growable buffer. */
#include "harness.h"

#include <nethttp.h>

#include "util/dynbuf.h"

#include <stdlib.h>
#include <string.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

NH_TEST(dynbuf_appends_and_stays_terminated) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
  CHECK_STR(nh__dynbuf_ptr(&b), "");
  CHECK_EQ(nh__dynbuf_addstr(&b, "HTTP/1.1 "), 0);
  CHECK_EQ(nh__dynbuf_addf(&b, "%d %s", 200, "OK"), 0);
  CHECK_EQ(nh__dynbuf_addc(&b, '\r'), 0);
  CHECK_EQ(nh__dynbuf_add(&b, "\n", 1), 0);
  CHECK_STR(nh__dynbuf_ptr(&b), "HTTP/1.1 200 OK\r\n");
  CHECK_EQ(nh__dynbuf_len(&b), 17);
  nh__dynbuf_trim(&b, 2);
  CHECK_STR(nh__dynbuf_ptr(&b), "HTTP/1.1 200 OK");
  /* Growth well past the first allocation, and a long formatted piece. */
  for (int i = 0; i < 1000; i++)
    CHECK_EQ(nh__dynbuf_addf(&b, "%0200d", i), 0);
  CHECK_EQ(nh__dynbuf_len(&b), 15 + 200000);
  size_t len;
  char *s = nh__dynbuf_take(&b, &len);
  CHECK(s != NULL);
  CHECK_EQ(len, 200015);
  CHECK_EQ(strlen(s), 200015);
  CHECK(!memcmp(s + 15 + 999 * 200, "00000", 5));
  free(s);
  CHECK_EQ(nh__dynbuf_len(&b), 0); /* taken: empty again */
  s = nh__dynbuf_take(&b, NULL);   /* empty: "" */
  CHECK_STR(s, "");
  free(s);
}

NH_TEST(dynbuf_cap_refuses_and_sticks) {
  nh__dynbuf b;
  nh__dynbuf_init(&b, 10);
  CHECK_EQ(nh__dynbuf_add(&b, "0123456789", 10), 0); /* exactly the cap */
  CHECK_EQ(nh__dynbuf_addc(&b, 'x'), NH_ERANGE);      /* one past it */
  CHECK_STR(nh__dynbuf_ptr(&b), "0123456789");        /* left as it was */
  CHECK_EQ(nh__dynbuf_addstr(&b, ""), NH_ERANGE);     /* the error sticks */
  CHECK(b.cap <= 11);                                 /* no allocation past the cap */
  CHECK(nh__dynbuf_take(&b, NULL) == NULL);           /* a failed build gives nothing */
  nh__dynbuf_init(&b, 4);
  CHECK_EQ(nh__dynbuf_addf(&b, "%s", "12345"), NH_ERANGE);
  CHECK_EQ(nh__dynbuf_reserve(&b, 1), NH_ERANGE);
  nh__dynbuf_reset(&b); /* reset clears the error */
  CHECK_EQ(nh__dynbuf_addstr(&b, "1234"), 0);
  CHECK_EQ(nh__dynbuf_reserve(&b, (size_t)-1), NH_ERANGE); /* no overflow in the check */
  nh__dynbuf_free(&b);
}

NH_TEST_MAIN()
