/* nethttp/status.h — status codes (provisional). */
#ifndef NETHTTP_STATUS_H
#define NETHTTP_STATUS_H
#define NH_STATUS_OK 200
#define NH_STATUS_BAD_REQUEST 400
#define NH_STATUS_REQUEST_TIMEOUT 408
#define NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE 431
#define NH_STATUS_SERVICE_UNAVAILABLE 503
const char *nh_status_text(int code);
#endif
