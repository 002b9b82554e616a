/* The README's example: a fiber hands a message to another over a channel. */
#include <nethttp.h>
#include <stdio.h>

static void worker(void *arg) {
  nh_sleep(10 * NH_MSEC);                 /* parks this fiber, not the thread */
  nh_chan_send(arg, "done", NH_NO_DEADLINE);
}

static void main_fiber(void *arg) {
  (void)arg;
  nh_chan *ch = nh_chan_new(0);
  nh_go(worker, ch);                      /* Go's `go worker(ch)` */
  void *msg;
  nh_chan_recv(ch, &msg, nh_deadline_after(NH_SEC));
  printf("worker says %s\n", (char *)msg);
  nh_chan_free(ch);
}

int main(void) { return nh_run(NULL, main_fiber, NULL); }
