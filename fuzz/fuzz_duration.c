/* Fuzz target: Go-style duration text (command-line flags and config). */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  nh_dur d;
  if (nh_dur_parse(s, &d) == NH_OK) {
    char buf[64];
    nh_dur_format(d, buf, sizeof buf);
  }
  free(s);
  return 0;
}
