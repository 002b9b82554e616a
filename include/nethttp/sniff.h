/* nethttp/sniff.h — content sniffing (provisional). */
#ifndef NETHTTP_SNIFF_H
#define NETHTTP_SNIFF_H
#include <stddef.h>
#define NH_SNIFF_LEN 512
const char *nh_detect_content_type(const void *data, size_t len);
#endif
