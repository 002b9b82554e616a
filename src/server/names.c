/* Names for connection states and close reasons, as log records and
 * documentation spell them. */
#include "nethttp/server.h"

const char *nh_conn_state_name(nh_conn_state s) {
  static const char *const names[] = {"new", "active", "idle", "hijacked", "closed"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *nh_close_reason_name(nh_close_reason r) {
  static const char *const names[NH_CLOSE__COUNT] = {
      [NH_CLOSE_DONE] = "done",
      [NH_CLOSE_CLIENT] = "client",
      [NH_CLOSE_ERROR_REPLY] = "error_reply",
      [NH_CLOSE_BODY_TOO_LARGE] = "body_too_large",
      [NH_CLOSE_DRAIN_OVERFLOW] = "drain_overflow",
      [NH_CLOSE_SHED] = "shed",
      [NH_CLOSE_TIMEOUT_HEADER] = "timeout_header",
      [NH_CLOSE_TIMEOUT_READ] = "timeout_read",
      [NH_CLOSE_TIMEOUT_WRITE] = "timeout_write",
      [NH_CLOSE_TIMEOUT_IDLE] = "timeout_idle",
      [NH_CLOSE_HIJACKED] = "hijacked",
      [NH_CLOSE_SHUTDOWN] = "shutdown",
      [NH_CLOSE_PANIC] = "panic",
      [NH_CLOSE_TLS_HANDSHAKE] = "tls_handshake",
      [NH_CLOSE_ERROR] = "error",
      [NH_CLOSE_PROXY] = "proxy",
      [NH_CLOSE_PER_IP] = "per_ip",
  };
  return (unsigned)r < NH_CLOSE__COUNT ? names[r] : "unknown";
}
