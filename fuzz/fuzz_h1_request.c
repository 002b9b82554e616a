/* Fuzz target: HTTP/1 request bytes through the server's parser, whole and
 * split in two at an offset taken from the input, as a connection would see
 * them across reads. Checks what must always hold: the parser never reads
 * outside the buffer, spans lie inside it, a failure has an HTTP status in
 * 400..505, and splitting never changes the outcome of the head. */
#include "http1/h1_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct outcome {
  int result; /* 1 head done, -1 failed, 0 need more */
  int status;
  size_t head_end;
  int nfields;
  long body;
} outcome;

static outcome run(const uint8_t *data, size_t size, size_t cut) {
  outcome o = {0, 0, 0, 0, 0};
  nh__h1_field fields[32];
  nh__h1_req p;
  nh__h1_req_init(&p, fields, 32);
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  size_t pos = 0;
  /* First piece, then the rest: the head parser sees bytes as they come. */
  o.result = nh__h1_parse_head(&p, buf, &pos, cut);
  if (o.result == 0)
    o.result = nh__h1_parse_head(&p, buf, &pos, size);
  if (o.result < 0) {
    o.status = p.status;
    if (p.status < 400 || p.status > 505)
      abort();
  } else if (o.result == 1) {
    o.head_end = pos;
    o.nfields = p.nfields;
    if (pos > size || p.method.off + p.method.len > pos || p.target.off + p.target.len > pos)
      abort();
    for (int i = 0; i < p.nfields; i++)
      if (fields[i].name.off + fields[i].name.len > pos || fields[i].value.off + fields[i].value.len > pos)
        abort();
    char out[64];
    for (int guard = 0; guard < 100000 && p.phase == NH__H1_BODY; guard++) {
      long n = nh__h1_parse_body(&p, buf, &pos, size, out, sizeof out);
      if (n < 0 || (n == 0 && pos == size))
        break;
      if (n > (long)sizeof out)
        abort();
      o.body += n;
    }
  }
  free(buf);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t cut = data[0] % size;
  outcome whole = run(data + 1, size - 1, size - 1);
  outcome split = run(data + 1, size - 1, cut < size - 1 ? cut : size - 1);
  if (whole.result != split.result || whole.status != split.status ||
      whole.head_end != split.head_end || whole.nfields != split.nfields)
    abort();
  return 0;
}
