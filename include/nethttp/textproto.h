/* nethttp/textproto.h — header names and values (provisional). */
#ifndef NETHTTP_TEXTPROTO_H
#define NETHTTP_TEXTPROTO_H
#include <stddef.h>
void nh_canonical_header_key(char *key, size_t len);
int nh_valid_header_name(const char *s, size_t len);
int nh_valid_header_value(const char *s, size_t len);
int nh_token_list_has(const char *list, const char *token);
#endif
