/* nethttp/httpdate.h — HTTP dates (provisional). */
#ifndef NETHTTP_HTTPDATE_H
#define NETHTTP_HTTPDATE_H
#include <stddef.h>
#include <stdint.h>
size_t nh_http_date_format(int64_t unix_seconds, char out[30]);
void nh_http_date_now(char out[30]);
#endif
