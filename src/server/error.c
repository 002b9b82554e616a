/* Go's http.Error: the one plain-text error reply, for handlers, the mux
 * and the file server alike. */
#include "nethttp/server.h"

void nh__error(nh_response_writer *w, const char *text, int status, const char *file, int line) {
  nh_header *h = nh_resp_header(w);
  /* A length set for some other content would be a lie about this one. */
  nh_header_del_at(h, "Content-Length", file, line);
  nh_header_set_at(h, "Content-Type", "text/plain; charset=utf-8", file, line);
  nh_header_set_at(h, "X-Content-Type-Options", "nosniff", file, line);
  nh__resp_write_header(w, status, file, line);
  nh__resp_printf(w, file, line, "%s\n", text ? text : "");
}

/* The function behind the macro, for callers that take its address. */
#undef nh_error

void nh_error(nh_response_writer *w, const char *text, int status) {
  nh__error(w, text, status, __FILE__, __LINE__);
}
