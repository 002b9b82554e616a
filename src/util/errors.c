/* Error names and messages, generated from the one list in errors.h. */
#include "nethttp/errors.h"

#include <string.h>

const char *nh_strerror(int err) {
  switch (err) {
  case NH_OK:
    return "success";
#define NH__ERR_MSG(name, value, msg) \
  case NH_##name:                     \
    return msg;
    NH_ERRNO_MAP(NH__ERR_MSG)
#undef NH__ERR_MSG
  default:
    /* A -errno we do not list: strerror's table is static in glibc for
     * valid codes, and we never hand it a positive user value. */
    if (err < 0 && err > -4000)
      return strerror(-err);
    return "unknown error";
  }
}

const char *nh_err_name(int err) {
  switch (err) {
  case NH_OK:
    return "NH_OK";
#define NH__ERR_NAME(name, value, msg) \
  case NH_##name:                      \
    return "NH_" #name;
    NH_ERRNO_MAP(NH__ERR_NAME)
#undef NH__ERR_NAME
  default:
    return "NH_E?";
  }
}
