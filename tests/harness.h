/* A minimal test harness.
 *
 * Why not cmocka or Check: assertions here fire on loop threads and inside
 * fibers, on stacks the framework does not know. Those frameworks recover
 * from a failed assertion with longjmp (cmocka) or by exiting a forked child
 * from the calling thread (Check); neither is safe from a fiber of another
 * thread. A failure here prints file:line and aborts the whole process,
 * which is always safe, and ctest runs one process per test case, so a
 * failure still names exactly one case.
 *
 * A test file defines cases with NH_TEST(name) { ... } and ends with
 * NH_TEST_MAIN(). `prog NAME` runs one case; `prog` runs them all. CMake reads
 * the NH_TEST( lines to register each case with ctest.
 *
 * Every case ends with a leak check of the whole process (see
 * nh_leak_baseline_take): a case that leaves a runtime running, a thread,
 * a child process or a descriptor open fails, naming each leftover. A file
 * of pure unit tests (no runtime, sockets or processes) says so with
 * NH_TEST_UNIT_FILE("why") at its top and is not checked.
 *
 * NH_SKIP("why") ends a case as skipped (exit code NH_SKIP_CODE, which
 * ctest reports as SKIP): for a case whose peer tool is missing. */
#ifndef NH_TESTS_HARNESS_H
#define NH_TESTS_HARNESS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nethttp/runtime.h>

typedef struct nh_test_case {
  const char *name;
  void (*fn)(void);
} nh_test_case;

extern nh_test_case nh_test_cases[256];
extern int nh_test_ncases;

/* The exit code ctest reads as "skipped" (SKIP_RETURN_CODE in
 * tests/CMakeLists.txt; 77 as in automake). */
#define NH_SKIP_CODE 77

/* Set by NH_TEST_UNIT_FILE: the file's cases skip the leak check. */
static int nh_test_unit_file __attribute__((unused));

#define NH_TEST_UNIT_FILE(why)                                                     \
  __attribute__((constructor)) static void nh_test_mark_unit_file(void) {          \
    nh_test_unit_file = 1;                                                         \
  }

#define NH_TEST(name)                                                              \
  static void test_##name(void);                                                   \
  __attribute__((constructor)) static void register_##name(void) {                 \
    nh_test_cases[nh_test_ncases++] = (nh_test_case){#name, test_##name};          \
  }                                                                                \
  static void test_##name(void)

#define NH_FAIL(...)                                                               \
  do {                                                                             \
    fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);                          \
    fprintf(stderr, __VA_ARGS__);                                                  \
    fputc('\n', stderr);                                                           \
    fflush(stderr);                                                                \
    abort();                                                                       \
  } while (0)

/* Ends the case as skipped, from any thread or fiber. _exit: the case is
 * abandoned as it stands, so nothing it left must be checked or freed. */
#define NH_SKIP(...)                                                               \
  do {                                                                             \
    fprintf(stderr, "%s:%d: SKIP: ", __FILE__, __LINE__);                          \
    fprintf(stderr, __VA_ARGS__);                                                  \
    fputc('\n', stderr);                                                           \
    fflush(stderr);                                                                \
    _exit(NH_SKIP_CODE);                                                           \
  } while (0)

#define CHECK(cond)                                                                \
  do {                                                                             \
    if (!(cond))                                                                   \
      NH_FAIL("CHECK(%s)", #cond);                                                 \
  } while (0)

/* Waits for cond to become true (an event: a counter reached, a state
 * entered), polling every millisecond for up to 10 s, then checks it. Use
 * it instead of a sleep that hopes the event has happened. Parks on a
 * fiber, sleeps on a plain thread. */
#define CHECK_SOON(cond)                                                           \
  do {                                                                             \
    for (int _soon = 0; _soon < 10000 && !(cond); _soon++)                         \
      nh_sleep(NH_MSEC);                                                           \
    CHECK(cond);                                                                   \
  } while (0)

#define CHECK_EQ(a, b)                                                             \
  do {                                                                             \
    long long _a = (long long)(a), _b = (long long)(b);                            \
    if (_a != _b)                                                                  \
      NH_FAIL("CHECK_EQ(%s, %s): %lld != %lld", #a, #b, _a, _b);                   \
  } while (0)

#define CHECK_STR(a, b)                                                            \
  do {                                                                             \
    const char *_a = (a), *_b = (b);                                               \
    if (!_a || !_b || strcmp(_a, _b) != 0)                                         \
      NH_FAIL("CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)",    \
              _b ? _b : "(null)");                                                 \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                                \
  do {                                                                             \
    const char *_h = (hay), *_n = (needle);                                        \
    if (!_h || !strstr(_h, _n))                                                    \
      NH_FAIL("CHECK_CONTAINS(%s, \"%s\") in: %s", #hay, _n, _h ? _h : "(null)");  \
  } while (0)

/* A thread that does nothing: started and joined once before any case,
 * so that a thread a sanitizer starts along with the process's first one
 * is already counted in every baseline. */
static inline void *nh_test_noop_thread(void *arg) { return arg; }

#define NH_TEST_MAIN()                                                             \
  nh_test_case nh_test_cases[256];                                                 \
  int nh_test_ncases;                                                              \
  int main(int argc, char **argv) {                                                \
    int ran = 0;                                                                   \
    pthread_t warm;                                                                \
    if (pthread_create(&warm, NULL, nh_test_noop_thread, NULL) == 0)               \
      pthread_join(warm, NULL);                                                    \
    for (int i = 0; i < nh_test_ncases; i++) {                                     \
      if (argc > 1 && strcmp(argv[1], nh_test_cases[i].name) != 0)                \
        continue;                                                                  \
      fprintf(stderr, "--- %s\n", nh_test_cases[i].name);                          \
      nh_leak_baseline *bl = nh_test_unit_file ? NULL : nh_leak_baseline_take(NULL); \
      nh_test_cases[i].fn();                                                       \
      /* Stragglers get a grace period: the check returns once settled. */         \
      if (bl && nh_leak_check(bl, 5 * NH_SEC, stderr) != 0)                        \
        NH_FAIL("case %s left the leftovers above behind", nh_test_cases[i].name); \
      ran++;                                                                       \
    }                                                                              \
    if (!ran) {                                                                    \
      fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "");         \
      return 2;                                                                    \
    }                                                                              \
    fprintf(stderr, "ok (%d case%s)\n", ran, ran == 1 ? "" : "s");                 \
    return 0;                                                                      \
  }

#endif
