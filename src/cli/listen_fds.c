/* --listen-fd: the listening sockets a process is started with, by systemd
 * (socket activation) or by the previous process on SIGUSR2 (a handover),
 * instead of --addr. A handed-over process serves exactly the sockets the
 * old one served, whatever its own --listen-fd flags say. */
#include "flags.h"

int server_flags_listen_fds(const server_flags *f, nh_server *srv, const nh_listen_options *o) {
  if (nh_server_handover_child()) {
    if (nh_server_listen_activated(srv, "auto", o) > 0)
      return 1;
    fprintf(stderr, "nethttp: the sockets handed over could not be served\n");
    return -1;
  }
  for (int i = 0; i < f->nlisten_fds; i++) {
    int e = nh_server_listen_activated(srv, f->listen_fds[i], o);
    if (e < 0) { /* logged too */
      fprintf(stderr, "nethttp: --listen-fd %s: %s\n", f->listen_fds[i],
              e != NH_ENOENT            ? "not a listening stream socket"
              : nh_listen_fds_count() ? "no such socket passed (LISTEN_FDNAMES)"
                                        : "no socket passed (LISTEN_FDS)");
      return -1;
    }
  }
  return f->nlisten_fds > 0;
}
