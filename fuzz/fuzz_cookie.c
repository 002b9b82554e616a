/* Fuzz target: Cookie and Set-Cookie header values, as a client or a
 * server reads them from the network. Parsing never crashes; every cookie
 * kept has a token name and a value a cookie may carry, so a parsed cookie
 * formats (and a parsed Set-Cookie cookie re-parses to the same name and
 * value). */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  nh_cookies *l = nh_cookies_new();
  if (nh_cookies_parse_header(l, s, NULL) != 0)
    abort();
  for (size_t i = 0; i < nh_cookies_len(l); i++) {
    const nh_cookie *c = nh_cookies_at(l, i);
    nh_cookie plain = {.name = c->name, .value = c->value, .quoted = c->quoted};
    char *out;
    if (nh_cookie_format(&plain, &out) != 0)
      abort();
    free(out);
  }
  nh_cookies *sc = nh_cookies_new();
  if (nh_cookies_parse_set_cookie(sc, s) == 0) {
    const nh_cookie *c = nh_cookies_at(sc, 0);
    nh_cookie plain = {.name = c->name, .value = c->value, .quoted = c->quoted};
    char *out;
    if (nh_cookie_format(&plain, &out) != 0)
      abort();
    nh_cookies *again = nh_cookies_new();
    if (nh_cookies_parse_set_cookie(again, out) != 0)
      abort();
    const nh_cookie *d = nh_cookies_at(again, 0);
    if (strcmp(d->name, c->name) != 0 || strcmp(d->value, c->value) != 0)
      abort();
    nh_cookies_free(again);
    free(out);
    /* The full cookie formats unless an attribute is one format refuses. */
    char *full;
    if (nh_cookie_format(c, &full) == 0)
      free(full);
  }
  nh_cookies_free(sc);
  nh_cookies_free(l);
  free(s);
  return 0;
}
