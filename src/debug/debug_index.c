/* /debug/: the list of pages. */
#include "debug_internal.h"

void nh__debug_index(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)d;
  (void)r;
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain; charset=utf-8");
  for (const nh__debug_page *p = nh__debug_pages; p->path; p++)
    nh_resp_printf(w, "%-28s %s\n", p->path, p->title);
}
