/* Refusing connections at accept: the user's accept hook (Go's wrapped
 * net.Listener) and the closing of what it or the per-IP limit refuses.
 *
 * A refused connection is closed on the acceptor before anything is read
 * from it or sent to it, and never becomes a server connection: no state
 * hook, no ConnContext, not counted as accepted. */
#include "internal.h"

#include <unistd.h>

void nh__accept_refuse(nh_server *srv, int fd, const struct sockaddr_storage *peer,
                       socklen_t peer_len, const char *why) {
  close(fd);
  if (!nh_log_enabled(srv->log, NH_LOG_DEBUG))
    return;
  char remote[128];
  nh__format_addr((const struct sockaddr *)peer, peer_len, remote, sizeof remote);
  NH_LOG(srv->log, NH_LOG_DEBUG, "connection refused at accept", NH_LSTR("remote", remote),
         NH_LSTR("reason", why));
}

int nh__accept_hook_refuses(nh__srv_loop *sl, int listener, int fd,
                            const struct sockaddr_storage *peer, socklen_t peer_len) {
  nh_server *srv = sl->srv;
  const nh__listener *l = &srv->listeners[listener];
  /* A wildcard listener's connection has its own local address. */
  struct sockaddr_storage local = l->addr;
  socklen_t local_len = l->addr_len;
  if (l->wildcard) {
    local_len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
      local = l->addr;
      local_len = l->addr_len;
    }
  }
  char remote_s[128], local_s[128];
  nh__format_addr((const struct sockaddr *)peer, peer_len, remote_s, sizeof remote_s);
  nh__format_addr((const struct sockaddr *)&local, local_len, local_s, sizeof local_s);
  nh_accept_info info = {(const struct sockaddr *)peer, peer_len, (const struct sockaddr *)&local,
                         local_len, remote_s, local_s, l->name, sl->index};
  nh_time t0 = nh_now();
  int refused = srv->cfg.accept_hook(&info, srv->cfg.accept_hook_user) != 0;
  nh_dur took = nh_now() - t0;
  if (took > srv->cfg.slow_hook_threshold) {
    NH__STAT_INC(srv, st_slow_hooks);
    NH_LOG(srv->log, NH_LOG_WARN, "slow accept hook", NH_LDUR("took", took),
           NH_LSTR("remote", remote_s), NH_LINT("loop", sl->index),
           NH_LSTR("hint", "the hook runs synchronously on the loop; keep it short"));
  }
  if (refused)
    NH__STAT_INC(srv, st_refused_hook);
  return refused;
}
