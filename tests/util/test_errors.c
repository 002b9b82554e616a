/* Error codes: their names and messages, and errno's codes kept as they are. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

NH_TEST(error_names) {
  CHECK_STR(nh_err_name(NH_ETIMEDOUT), "NH_ETIMEDOUT");
  CHECK_STR(nh_strerror(NH_ETIMEDOUT), "timed out");
  CHECK_STR(nh_err_name(NH_ECLOSED), "NH_ECLOSED");
  CHECK_STR(nh_strerror(NH_OK), "success");
  CHECK_STR(nh_err_name(12345), "NH_E?");
  CHECK(strlen(nh_strerror(-EDOM)) > 0); /* unlisted errno: strerror */
  CHECK_EQ(NH_ECANCELED, -ECANCELED);
}

NH_TEST_MAIN()
