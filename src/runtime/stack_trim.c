/* Giving back the stack pages a long park does not need.
 *
 * A fiber that waits for hours (a WebSocket between messages) keeps every
 * page its stack ever touched: the deepest call it made once (a handshake,
 * a TLS record, a big frame) stays resident for as long as it lives. Below
 * the stack pointer it was switched out at, nothing is live, so once it is
 * parked, the whole pages there can go back to the kernel; they fault in
 * again, zeroed, if the fiber goes that deep later.
 *
 * The fiber asks for it before the park (nh__fiber_trim_on_park), and the
 * scheduler does it right after the switch, on its own stack: the fiber's
 * frames, red zone included, are all above its saved stack pointer then,
 * and no signal frame can land below it while it does not run. A fiber
 * trims at most once per NH__STACK_TRIM_EVERY, so one that parks between
 * every message of a busy stream pays one madvise a second, and a page
 * fault or two after it. */
#include "internal.h"

#include <sys/mman.h>
#include <unistd.h>

void nh__fiber_trim_on_park(void) {
  nh_fiber *f = nh__fiber_current();
  if (f)
    f->trim_park = 1;
}

void nh__fiber_stack_trim(nh_fiber *f) {
  f->trim_park = 0;
  if (f->state != NH__F_PARKED || !f->sp || !f->stack_lo)
    return;
  nh_time now = nh__loop_time(f->loop);
  if (f->stack_trimmed_at && now - f->stack_trimmed_at < NH__STACK_TRIM_EVERY)
    return;
  f->stack_trimmed_at = now ? now : 1;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)f->stack_lo; /* page-aligned: just above the guard */
  uintptr_t end = (uintptr_t)f->sp & ~(page - 1); /* the page of sp stays */
  if (end > lo)
    madvise((void *)lo, end - lo, MADV_DONTNEED);
}
