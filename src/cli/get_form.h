/* multipart/form-data bodies for `nethttp get -F name=value|name=@file`. */
#ifndef NH_CLI_GET_FORM_H
#define NH_CLI_GET_FORM_H

#include <stddef.h>

#include "util/dynbuf.h"

typedef struct get_form {
  nh__dynbuf body; /* capped at CLI_BODY_MAX */
  char boundary[48];
  char content_type[96]; /* "multipart/form-data; boundary=..." */
  int parts;
} get_form;

void get_form_init(get_form *f);
/* "name=value", "name=@path" (a file part, named after the file) or
 * "name=<path" (a text field whose value is the file's content).
 * 0, NH_EINVAL (no '='), NH_ENOMEM, NH_ERANGE (past CLI_BODY_MAX), or
 * -errno reading the file. */
int get_form_add(get_form *f, const char *spec);
/* Appends the closing boundary. 0, NH_ENOMEM or NH_ERANGE (the body
 * passed CLI_BODY_MAX). */
int get_form_finish(get_form *f);
void get_form_free(get_form *f);

#endif
