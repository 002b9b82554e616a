/* Fuzz target: request smuggling shapes through the HTTP/1 request parser
 * (fuzz/h1_smuggle.h says what must hold). The custom mutator edits inputs
 * toward duplicate and odd Content-Length and Transfer-Encoding fields,
 * whitespace before colons, chunk-size tricks, bare CR and LF, and
 * pipelined requests; libFuzzer's own mutations are mixed in. */
#include "h1_smuggle.h"

#include <stddef.h>
#include <stdint.h>

/* Defined by libFuzzer; absent when the corpus is replayed without it. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16)
    return 0;
  smug_check(data, size, NULL);
  return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  if (LLVMFuzzerMutate && seed % 3 == 0)
    return LLVMFuzzerMutate(data, size, max_size);
  return smug_mutate((char *)data, size, max_size, seed);
}
