/* Status codes and reason phrases, as Go's StatusText gives them. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

NH_TEST(status_text) {
  CHECK_STR(nh_status_text(NH_STATUS_CONTINUE), "Continue");
  CHECK_STR(nh_status_text(NH_STATUS_EARLY_HINTS), "Early Hints");
  CHECK_STR(nh_status_text(NH_STATUS_OK), "OK");
  CHECK_STR(nh_status_text(NH_STATUS_NON_AUTHORITATIVE_INFO), "Non-Authoritative Information");
  CHECK_STR(nh_status_text(NH_STATUS_NO_CONTENT), "No Content");
  CHECK_STR(nh_status_text(NH_STATUS_IM_USED), "IM Used");
  CHECK_STR(nh_status_text(NH_STATUS_MOVED_PERMANENTLY), "Moved Permanently");
  CHECK_STR(nh_status_text(NH_STATUS_NOT_MODIFIED), "Not Modified");
  CHECK_STR(nh_status_text(NH_STATUS_PERMANENT_REDIRECT), "Permanent Redirect");
  CHECK_STR(nh_status_text(NH_STATUS_BAD_REQUEST), "Bad Request");
  CHECK_STR(nh_status_text(NH_STATUS_NOT_FOUND), "Not Found");
  CHECK_STR(nh_status_text(NH_STATUS_PROXY_AUTH_REQUIRED), "Proxy Authentication Required");
  CHECK_STR(nh_status_text(NH_STATUS_REQUEST_ENTITY_TOO_LARGE), "Request Entity Too Large");
  CHECK_STR(nh_status_text(NH_STATUS_TEAPOT), "I'm a teapot");
  CHECK_STR(nh_status_text(NH_STATUS_TOO_EARLY), "Too Early");
  CHECK_STR(nh_status_text(NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE),
            "Request Header Fields Too Large");
  CHECK_STR(nh_status_text(NH_STATUS_INTERNAL_SERVER_ERROR), "Internal Server Error");
  CHECK_STR(nh_status_text(NH_STATUS_SERVICE_UNAVAILABLE), "Service Unavailable");
  CHECK_STR(nh_status_text(NH_STATUS_HTTP_VERSION_NOT_SUPPORTED), "HTTP Version Not Supported");
  CHECK_STR(nh_status_text(NH_STATUS_NETWORK_AUTHENTICATION_REQUIRED),
            "Network Authentication Required");
}

NH_TEST(status_values) {
  CHECK_EQ(NH_STATUS_CONTINUE, 100);
  CHECK_EQ(NH_STATUS_OK, 200);
  CHECK_EQ(NH_STATUS_NOT_FOUND, 404);
  CHECK_EQ(NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE, 431);
  CHECK_EQ(NH_STATUS_UNAVAILABLE_FOR_LEGAL_REASONS, 451);
  CHECK_EQ(NH_STATUS_NETWORK_AUTHENTICATION_REQUIRED, 511);
}

NH_TEST(status_text_unknown) {
  CHECK_STR(nh_status_text(0), "");
  CHECK_STR(nh_status_text(-1), "");
  CHECK_STR(nh_status_text(199), "");
  CHECK_STR(nh_status_text(306), ""); /* reserved, unused */
  CHECK_STR(nh_status_text(419), "");
  CHECK_STR(nh_status_text(509), "");
  CHECK_STR(nh_status_text(600), "");
  CHECK_STR(nh_status_text(99999), "");
  /* Exactly Go's 62 codes have text. */
  int known = 0;
  for (int c = 0; c < 1000; c++)
    known += nh_status_text(c)[0] != 0;
  CHECK_EQ(known, 62);
}

NH_TEST_MAIN()
