/* nethttp/json.h — JSON request bodies and responses, on jansson.
 *
 *   json_t *in;
 *   int e = nh_request_json(r, 1 << 20, &in);
 *   if (e) { nh_resp_json_error(w, e == NH_EBODYTOOLARGE ? 413 : 400, nh_strerror(e)); return; }
 *   ...
 *   nh_resp_json(w, 200, out);
 *
 * Handler fiber only; reading and writing park the fiber. JSON bodies of
 * client requests are in nethttp/client_json.h. */
#ifndef NETHTTP_JSON_H
#define NETHTTP_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "nethttp/export.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Body cap used when nh_request_json is given max_bytes 0. */
#define NH_JSON_DEFAULT_MAX ((size_t)1 << 20)

/* nh_request_json reads the whole body (at most max_bytes; 0 =
 * NH_JSON_DEFAULT_MAX) and decodes one JSON value of any type; whatever
 * follows it but whitespace is an error. The cap is put on the body as
 * nh_request_limit_body does (a lower cap already set stays), so a body
 * over it fails at once when its Content-Length says so, before any 100
 * Continue, and, if the handler then answers nothing itself, the server
 * sends 413 and closes the connection. The Content-Type is not checked.
 * On success *out is a new reference (json_decref it); else *out is NULL
 * and the result is NH_EBADJSON (an empty body too), NH_EBODYTOOLARGE, a
 * read error (NH_ETIMEDOUT, NH_ECONNRESET...) or NH_ENOMEM. "\u0000" is
 * accepted in strings, as Go does (see json_string_length). */
NH_API int nh_request_json(nh_request *r, size_t max_bytes, json_t **out);

/* nh_resp_json sends status and v encoded compactly, followed by a newline
 * (as Go's json.Encoder), with Content-Type: application/json unless the
 * handler set one. nh_resp_json_flags takes jansson's dump flags
 * (JSON_INDENT(2), JSON_SORT_KEYS, ...). v is borrowed. Returns 0,
 * NH_EINVAL (a value jansson cannot encode; nothing is sent), NH_ENOMEM or
 * a write error. */
NH_API int nh_resp_json(nh_response_writer *w, int status, const json_t *v);
NH_API int nh_resp_json_flags(nh_response_writer *w, int status, const json_t *v, size_t flags);

/* nh_resp_json_string sends an already encoded JSON text as is, with the
 * same headers. */
NH_API int nh_resp_json_string(nh_response_writer *w, int status, const char *json);

/* nh_resp_json_error sends {"error": message} with status. */
NH_API int nh_resp_json_error(nh_response_writer *w, int status, const char *message);

/* The four are macros passing the caller's file:line (as nh_resp_write
 * does), so a warning about the response names the caller's line. */
NH_API int nh__resp_json(nh_response_writer *w, int status, const json_t *v, size_t flags,
                         const char *file, int line);
NH_API int nh__resp_json_string(nh_response_writer *w, int status, const char *json,
                                const char *file, int line);
NH_API int nh__resp_json_error(nh_response_writer *w, int status, const char *message,
                               const char *file, int line);
#define nh_resp_json(w, status, v) nh__resp_json((w), (status), (v), JSON_COMPACT, __FILE__, __LINE__)
#define nh_resp_json_flags(w, status, v, flags)                                            \
  nh__resp_json((w), (status), (v), (flags), __FILE__, __LINE__)
#define nh_resp_json_string(w, status, json)                                               \
  nh__resp_json_string((w), (status), (json), __FILE__, __LINE__)
#define nh_resp_json_error(w, status, message)                                             \
  nh__resp_json_error((w), (status), (message), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
