/* Fuzz target: a cookie jar fed by a server. Input lines: the URL the
 * response came from, its Set-Cookie values, and last the URL of the next
 * request. Storing never crashes, and the Cookie header the jar writes has
 * no CR, LF or NUL and reads back as exactly the cookies it holds. */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_header(nh_cookie_jar *jar, const nh_url *u) {
  char *h = nh_cookie_jar_cookie_header(jar, u);
  if (!h)
    return;
  size_t pairs = 1;
  for (const char *p = h; *p; p++) {
    if (*p == '\r' || *p == '\n')
      abort();
    pairs += p[0] == ';' && p[1] == ' ';
  }
  nh_cookies *l;
  if (nh_cookie_jar_cookies(jar, u, &l) != 0 || nh_cookies_len(l) != pairs)
    abort();
  nh_cookies_free(l);
  free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static nh_cookie_jar *jar;
  if (!jar && !(jar = nh_cookie_jar_new(NULL))) /* the list loads once */
    abort();
  nh_cookie_jar_clear(jar);
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  char *lines[64];
  size_t n = 0;
  for (char *p = s, *nl; n < 64; p = nl + 1) {
    lines[n++] = p;
    if (!(nl = strchr(p, '\n')))
      break;
    *nl = 0;
  }
  nh_url *from = NULL, *to = NULL;
  if (n >= 2 && nh_url_parse(lines[0], &from) == 0 && nh_url_parse(lines[n - 1], &to) == 0) {
    if (nh_cookie_jar_set_cookie_lines(jar, from, (const char *const *)lines + 1, n - 2) != 0)
      abort();
    check_header(jar, from);
    check_header(jar, to);
  }
  nh_url_free(from);
  nh_url_free(to);
  free(s);
  return 0;
}
