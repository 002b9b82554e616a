/* HTTP/1.1 heads and chunk framing (see h1_write.h). These run for every
 * response: numbers are formatted without printf, and the common status
 * line is one copy. */
#include "http1/h1_write.h"

#include "nethttp/status.h"

/* Decimal digits of v into out; returns how many. Written from the end,
 * then moved once. */
static size_t fmt_dec(char *out, uint64_t v) {
  char tmp[24], *end = tmp + sizeof tmp, *p = end;
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10));
  size_t n = (size_t)(end - p);
  for (size_t i = 0; i < n; i++) /* a few bytes: cheaper than a memcpy call */
    out[i] = p[i];
  return n;
}

void nh__h1_put_status_line(nh__h1_buf *h, int status) {
  if (status == NH_STATUS_OK) { /* most responses: no lookup, no digits */
    nh__h1_put(h, "HTTP/1.1 200 OK\r\n", 17);
    return;
  }
  const char *text = nh_status_text(status);
  char line[16] = "HTTP/1.1 ";
  line[9] = (char)('0' + status / 100 % 10);
  line[10] = (char)('0' + status / 10 % 10);
  line[11] = (char)('0' + status % 10);
  line[12] = ' ';
  nh__h1_put(h, line, 13);
  if (!*text)
    text = "status code";
  nh__h1_put(h, text, strlen(text));
  nh__h1_put(h, "\r\n", 2);
}

void nh__h1_put_request_line(nh__h1_buf *h, const char *method, const char *target, int minor) {
  nh__h1_put(h, method, strlen(method));
  nh__h1_put(h, " ", 1);
  nh__h1_put(h, target, strlen(target));
  nh__h1_put(h, minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
}

void nh__h1_put_content_length(nh__h1_buf *h, uint64_t n) {
  char line[48]; /* the whole line, then one copy */
  memcpy(line, "Content-Length: ", 16);
  size_t len = 16 + fmt_dec(line + 16, n);
  line[len++] = '\r';
  line[len++] = '\n';
  nh__h1_put(h, line, len);
}

size_t nh__h1_fields_size(const nh_header *hdr, size_t slack) {
  size_t n = slack;
  for (uint32_t i = 0; i < hdr->len; i++)
    n += hdr->items[i].klen + hdr->items[i].vlen + 4;
  return n;
}

size_t nh__h1_chunk_line(char *out, size_t v) {
  char tmp[16];
  size_t n = 0;
  do
    tmp[n++] = "0123456789abcdef"[v & 15];
  while ((v >>= 4));
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

void nh__h1_put_last_chunk(nh__h1_buf *h, const nh_header *t) {
  nh__h1_put(h, "0\r\n", 3);
  for (uint32_t i = 0; i < t->len; i++)
    nh__h1_put_field(h, t->items[i].key, t->items[i].klen, t->items[i].value, t->items[i].vlen);
  nh__h1_put_end(h);
}
