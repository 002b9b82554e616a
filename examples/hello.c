/* The smallest nethttp program: a fiber that greets from every loop. */
#include <nethttp.h>
#include <stdio.h>

static void greet(void *arg) { printf("hello, world from fiber %llu\n", (unsigned long long)nh_fiber_id()); }

static void hello_main(void *arg) {
  for (int i = 0; i < nh_runtime_loops(nh_runtime_current()); i++)
    nh_runtime_go(nh_runtime_current(), i, greet, NULL);
}

int main(void) { return nh_run(NULL, hello_main, NULL); }
