/* Checks on what the client got back, shared by the client tests (after
 * harness.h): the status, then the whole body read and the response
 * closed. */
#ifndef NH_TESTS_CLIENT_ANSWER_H
#define NH_TESTS_CLIENT_ANSWER_H

#include <nethttp.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX_BODY 65536

/* The body of resp (malloc'd, NUL-terminated; its length in *len if len
 * is not NULL) once its status was checked to be status; resp is closed. */
static inline char *answer_body(nh_response *resp, int status, size_t *len) {
  CHECK_EQ(nh_response_status(resp), status);
  char *body = NULL;
  CHECK_EQ(nh_response_read_all(resp, ANSWER_MAX_BODY, &body, len), NH_OK);
  nh_response_close(resp);
  return body;
}

/* resp has this status and exactly this body; resp is closed. */
static inline void expect_answer(nh_response *resp, int status, const char *want) {
  size_t len = 0;
  char *body = answer_body(resp, status, &len);
  CHECK_EQ(len, strlen(want));
  CHECK_STR(body, want);
  free(body);
}

#endif
