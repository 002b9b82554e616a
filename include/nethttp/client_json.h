/* nethttp/client_json.h — JSON bodies of client requests, on jansson
 * (the handler side is nethttp/json.h). */
#ifndef NETHTTP_CLIENT_JSON_H
#define NETHTTP_CLIENT_JSON_H

#include <jansson.h>

#include "nethttp/export.h"
#include "nethttp/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nh_client_request_set_json_value sets the body of a client request to v
 * encoded compactly (any JSON type) and Content-Type: application/json,
 * as nh_client_request_set_json (nethttp/client.h) does with a text. v is
 * borrowed; the encoding is copied. 0, NH_EINVAL (NULL, or a value jansson
 * cannot encode) or NH_ENOMEM. Any thread. */
NH_API int nh_client_request_set_json_value(nh_client_request *req, const json_t *v);
/* nh_client_post_json_value POSTs v so encoded; errors as nh_client_do.
 * Parks a fiber (blocks a plain thread) until the response head. */
#define nh_client_post_json_value(c, url, v, out)                                              \
  nh_client_post_json_value_at((c), (url), (v), (out), __FILE__, __LINE__)
NH_API int nh_client_post_json_value_at(nh_client *c, const char *url, const json_t *v,
                                        nh_response **out, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
