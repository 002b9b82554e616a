/* Content sniffing (provisional). */
#include "nethttp/sniff.h"
#include <string.h>
#include <strings.h>
const char *nh_detect_content_type(const void *data, size_t len) {
  const char *d = data;
  size_t i = 0;
  while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r')) i++;
  if (len - i >= 5 && (!strncasecmp(d + i, "<!DOC", 5) || !strncasecmp(d + i, "<html", 5))) return "text/html; charset=utf-8";
  for (size_t k = 0; k < len; k++) { unsigned char c = (unsigned char)d[k]; if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x0c && c != 0x1b) return "application/octet-stream"; }
  return "text/plain; charset=utf-8";
}
