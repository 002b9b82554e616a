/* /debug/: the live page, one self-contained HTML document
 * (debug_page.html, compiled in) that charts /debug/live.json and links
 * to the other pages. */
#include <string.h>

#include "debug_internal.h"

void nh__debug_index(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)d;
  (void)r;
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", "text/html; charset=utf-8");
  nh_header_set(h, "Cache-Control", "no-store");
  /* The page promises to fetch nothing from elsewhere; the browser holds
   * it to that: only its own inline style and script, and live.json. */
  nh_header_set(h, "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'");
  nh_header_set(h, "X-Content-Type-Options", "nosniff");
  nh_resp_write(w, nh__debug_page_html, strlen(nh__debug_page_html));
}
