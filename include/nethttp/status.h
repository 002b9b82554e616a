/* nethttp/status.h — HTTP status codes and their reason phrases.
 *
 * The same set Go's net/http defines (status.go), named as Go names them:
 * StatusNotFound is NH_STATUS_NOT_FOUND. nh_status_text gives the phrase a
 * server writes on its status line ("404 Not Found"). */
#ifndef NETHTTP_STATUS_H
#define NETHTTP_STATUS_H

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nh_status {
  NH_STATUS_CONTINUE = 100,            /* RFC 9110, 15.2.1 */
  NH_STATUS_SWITCHING_PROTOCOLS = 101, /* RFC 9110, 15.2.2 */
  NH_STATUS_PROCESSING = 102,          /* RFC 2518, 10.1 */
  NH_STATUS_EARLY_HINTS = 103,         /* RFC 8297 */

  NH_STATUS_OK = 200,                     /* RFC 9110, 15.3.1 */
  NH_STATUS_CREATED = 201,                /* RFC 9110, 15.3.2 */
  NH_STATUS_ACCEPTED = 202,               /* RFC 9110, 15.3.3 */
  NH_STATUS_NON_AUTHORITATIVE_INFO = 203, /* RFC 9110, 15.3.4 */
  NH_STATUS_NO_CONTENT = 204,             /* RFC 9110, 15.3.5 */
  NH_STATUS_RESET_CONTENT = 205,          /* RFC 9110, 15.3.6 */
  NH_STATUS_PARTIAL_CONTENT = 206,        /* RFC 9110, 15.3.7 */
  NH_STATUS_MULTI_STATUS = 207,           /* RFC 4918, 11.1 */
  NH_STATUS_ALREADY_REPORTED = 208,       /* RFC 5842, 7.1 */
  NH_STATUS_IM_USED = 226,                /* RFC 3229, 10.4.1 */

  NH_STATUS_MULTIPLE_CHOICES = 300,   /* RFC 9110, 15.4.1 */
  NH_STATUS_MOVED_PERMANENTLY = 301,  /* RFC 9110, 15.4.2 */
  NH_STATUS_FOUND = 302,              /* RFC 9110, 15.4.3 */
  NH_STATUS_SEE_OTHER = 303,          /* RFC 9110, 15.4.4 */
  NH_STATUS_NOT_MODIFIED = 304,       /* RFC 9110, 15.4.5 */
  NH_STATUS_USE_PROXY = 305,          /* RFC 9110, 15.4.6 */
  /* 306 is unused (RFC 9110, 15.4.7). */
  NH_STATUS_TEMPORARY_REDIRECT = 307, /* RFC 9110, 15.4.8 */
  NH_STATUS_PERMANENT_REDIRECT = 308, /* RFC 9110, 15.4.9 */

  NH_STATUS_BAD_REQUEST = 400,                     /* RFC 9110, 15.5.1 */
  NH_STATUS_UNAUTHORIZED = 401,                    /* RFC 9110, 15.5.2 */
  NH_STATUS_PAYMENT_REQUIRED = 402,                /* RFC 9110, 15.5.3 */
  NH_STATUS_FORBIDDEN = 403,                       /* RFC 9110, 15.5.4 */
  NH_STATUS_NOT_FOUND = 404,                       /* RFC 9110, 15.5.5 */
  NH_STATUS_METHOD_NOT_ALLOWED = 405,              /* RFC 9110, 15.5.6 */
  NH_STATUS_NOT_ACCEPTABLE = 406,                  /* RFC 9110, 15.5.7 */
  NH_STATUS_PROXY_AUTH_REQUIRED = 407,             /* RFC 9110, 15.5.8 */
  NH_STATUS_REQUEST_TIMEOUT = 408,                 /* RFC 9110, 15.5.9 */
  NH_STATUS_CONFLICT = 409,                        /* RFC 9110, 15.5.10 */
  NH_STATUS_GONE = 410,                            /* RFC 9110, 15.5.11 */
  NH_STATUS_LENGTH_REQUIRED = 411,                 /* RFC 9110, 15.5.12 */
  NH_STATUS_PRECONDITION_FAILED = 412,             /* RFC 9110, 15.5.13 */
  NH_STATUS_REQUEST_ENTITY_TOO_LARGE = 413,        /* RFC 9110, 15.5.14 */
  NH_STATUS_REQUEST_URI_TOO_LONG = 414,            /* RFC 9110, 15.5.15 */
  NH_STATUS_UNSUPPORTED_MEDIA_TYPE = 415,          /* RFC 9110, 15.5.16 */
  NH_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE = 416, /* RFC 9110, 15.5.17 */
  NH_STATUS_EXPECTATION_FAILED = 417,              /* RFC 9110, 15.5.18 */
  NH_STATUS_TEAPOT = 418,                          /* RFC 9110, 15.5.19 (unused) */
  NH_STATUS_MISDIRECTED_REQUEST = 421,             /* RFC 9110, 15.5.20 */
  NH_STATUS_UNPROCESSABLE_ENTITY = 422,            /* RFC 9110, 15.5.21 */
  NH_STATUS_LOCKED = 423,                          /* RFC 4918, 11.3 */
  NH_STATUS_FAILED_DEPENDENCY = 424,               /* RFC 4918, 11.4 */
  NH_STATUS_TOO_EARLY = 425,                       /* RFC 8470, 5.2 */
  NH_STATUS_UPGRADE_REQUIRED = 426,                /* RFC 9110, 15.5.22 */
  NH_STATUS_PRECONDITION_REQUIRED = 428,           /* RFC 6585, 3 */
  NH_STATUS_TOO_MANY_REQUESTS = 429,               /* RFC 6585, 4 */
  NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE = 431, /* RFC 6585, 5 */
  NH_STATUS_UNAVAILABLE_FOR_LEGAL_REASONS = 451,   /* RFC 7725, 3 */

  NH_STATUS_INTERNAL_SERVER_ERROR = 500,           /* RFC 9110, 15.6.1 */
  NH_STATUS_NOT_IMPLEMENTED = 501,                 /* RFC 9110, 15.6.2 */
  NH_STATUS_BAD_GATEWAY = 502,                     /* RFC 9110, 15.6.3 */
  NH_STATUS_SERVICE_UNAVAILABLE = 503,             /* RFC 9110, 15.6.4 */
  NH_STATUS_GATEWAY_TIMEOUT = 504,                 /* RFC 9110, 15.6.5 */
  NH_STATUS_HTTP_VERSION_NOT_SUPPORTED = 505,      /* RFC 9110, 15.6.6 */
  NH_STATUS_VARIANT_ALSO_NEGOTIATES = 506,         /* RFC 2295, 8.1 */
  NH_STATUS_INSUFFICIENT_STORAGE = 507,            /* RFC 4918, 11.5 */
  NH_STATUS_LOOP_DETECTED = 508,                   /* RFC 5842, 7.2 */
  NH_STATUS_NOT_EXTENDED = 510,                    /* RFC 2774, 7 */
  NH_STATUS_NETWORK_AUTHENTICATION_REQUIRED = 511, /* RFC 6585, 6 */
} nh_status;

/* nh_status_text returns the reason phrase of code, as Go's StatusText does
 * ("OK", "Not Found"), or "" for a code it does not know. Static storage,
 * never NULL; thread-safe. */
NH_API const char *nh_status_text(int code);

#ifdef __cplusplus
}
#endif
#endif
