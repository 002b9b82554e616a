/* Parked descriptors (idle pooled connections kept registered with their
 * loop's epoll): reused as they are on their own loop, moved out of the old
 * epoll when another loop or a plain thread takes them, and still usable,
 * and freed, after their runtime is gone. Registration is checked in the
 * kernel's own list of the epoll's descriptors (/proc/self/fdinfo). */
#include "harness.h"
#include "support.h"

#include "runtime/internal.h"
#include "runtime/netpoll_internal.h"

#include <nethttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct park_case {
  int peer;     /* the other end of the socket pair, plain */
  nh_fd *f;     /* the parked side */
  int fd;       /* its descriptor number */
  int epfd;     /* the epoll of the loop it was parked on */
  nh_fd *taken; /* what unpark returned */
  int registered_while_parked, registered_after_take;
  char got[8];
  ssize_t n;
} park_case;

/* Runs fn(arg) on a fiber of loop `loop` and waits for it. */
static void run_and_wait(nh_runtime *rt, int loop, nh_fiber_fn fn, void *arg) {
  nh_wg *wg = nh_wg_new();
  nh_wg_add(wg, 1);
  run_on_loop(rt, loop, fn, arg, wg);
  nh_wg_wait(wg, NH_NO_DEADLINE);
  nh_wg_free(wg);
}

/* Opens a socket pair, registers one end with this loop (a read that finds
 * nothing parks on epoll until its short deadline), then parks it. */
static void open_and_park(void *arg) {
  park_case *pc = arg;
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  pc->peer = sv[1];
  nh_fd *f;
  CHECK_EQ(nh_fd_open(sv[0], &f), NH_OK);
  char b;
  CHECK_EQ(nh_fd_read(f, &b, 1, nh_deadline_after(NH_MSEC)), NH_ETIMEDOUT);
  pc->fd = sv[0];
  pc->epfd = nh__loop_current()->epfd;
  pc->f = nh__fd_park(f);
  CHECK(pc->f == f); /* parked on its own loop: kept as it is */
  pc->registered_while_parked = epoll_has(pc->epfd, pc->fd);
}

/* Takes the parked descriptor and reads what the peer sent: the read must
 * be woken by the taker's loop (or poll, off a loop). */
static void take_and_read(void *arg) {
  park_case *pc = arg;
  pc->taken = nh__fd_unpark(pc->f);
  pc->registered_after_take = epoll_has(pc->epfd, pc->fd);
  CHECK_EQ(write(pc->peer, "ping", 4), 4);
  pc->n = nh_fd_read(pc->taken, pc->got, sizeof pc->got, nh_deadline_after(2 * NH_SEC));
}

static void close_both(park_case *pc) {
  nh_fd_close(pc->taken);
  close(pc->peer);
}

static void close_on_loop(void *arg) { close_both(arg); }

NH_TEST(parked_descriptor_is_reused_as_it_is_on_its_own_loop) {
  nh_runtime *rt = nh_runtime_new(NULL);
  park_case pc = {0};
  run_and_wait(rt, 0, open_and_park, &pc);
  CHECK_EQ(pc.registered_while_parked, 1);
  run_and_wait(rt, 0, take_and_read, &pc);
  CHECK(pc.taken == pc.f);
  CHECK_EQ(pc.registered_after_take, 1); /* no epoll_ctl on either side */
  CHECK_EQ(pc.n, 4);
  CHECK_EQ(memcmp(pc.got, "ping", 4), 0);
  run_and_wait(rt, 0, close_on_loop, &pc); /* registered there again */
  nh_runtime_free(rt);
}

NH_TEST(parked_descriptor_moves_to_another_loop) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 2;
  nh_runtime *rt = nh_runtime_new(&cfg);
  park_case pc = {0};
  run_and_wait(rt, 0, open_and_park, &pc);
  CHECK_EQ(pc.registered_while_parked, 1);
  run_and_wait(rt, 1, take_and_read, &pc);
  CHECK(pc.taken != NULL);
  CHECK_EQ(pc.registered_after_take, 0); /* out of loop 0's epoll */
  CHECK_EQ(pc.n, 4);                     /* woken by loop 1's */
  run_and_wait(rt, 1, close_on_loop, &pc);
  nh_runtime_free(rt); /* loop 0 frees the old struct (ASan: no leak) */
}

NH_TEST(parked_descriptor_taken_by_a_plain_thread) {
  nh_runtime *rt = nh_runtime_new(NULL);
  park_case pc = {0};
  run_and_wait(rt, 0, open_and_park, &pc);
  take_and_read(&pc); /* this thread: poll(2) */
  CHECK(pc.taken != NULL);
  CHECK_EQ(pc.registered_after_take, 0);
  CHECK_EQ(pc.n, 4);
  close_both(&pc);
  nh_runtime_free(rt);
}

NH_TEST(parked_descriptor_outlives_its_runtime) {
  nh_runtime *rt = nh_runtime_new(NULL);
  park_case pc = {0};
  run_and_wait(rt, 0, open_and_park, &pc);
  nh_runtime_free(rt); /* the epoll stays open for the parked descriptor */
  CHECK_EQ(epoll_has(pc.epfd, pc.fd), 1);
  take_and_read(&pc);
  CHECK(pc.taken != NULL);
  CHECK_EQ(pc.n, 4);
  CHECK_EQ(memcmp(pc.got, "ping", 4), 0);
  close_both(&pc);
  /* The last parked descriptor gone, the epoll descriptor is closed too. */
  CHECK_EQ(epoll_has(pc.epfd, pc.fd), -1);
}

NH_TEST(closing_a_parked_descriptor_from_elsewhere_frees_it) {
  nh_runtime *rt = nh_runtime_new(NULL);
  park_case a = {0}, b = {0};
  run_and_wait(rt, 0, open_and_park, &a);
  run_and_wait(rt, 0, open_and_park, &b);
  nh_fd_close(a.f); /* from this thread while its loop runs */
  CHECK_EQ(epoll_has(a.epfd, a.fd), 0);
  close(a.peer);
  nh_runtime_free(rt);
  nh_fd_close(b.f); /* after its loop is gone */
  close(b.peer);
  /* ASan's leak check at exit: both structs were freed. */
}

NH_TEST_MAIN()
