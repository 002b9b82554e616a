/* What a layer above the server may ask of a hijacked connection's record
 * (WebSockets): to be told when a graceful shutdown begins, so it can say
 * goodbye in its own protocol, and when the server forgets the record.
 * The server still waits for a watched connection at shutdown until its
 * deadline, and shuts its socket down then, as for any hijacked one. */
#ifndef NH_SERVER_HIJACK_H
#define NH_SERVER_HIJACK_H

#include "nethttp/server.h"
#include "nethttp/time.h"

struct nh__sconn;

typedef struct nh__hijack_watch {
  /* A graceful shutdown began (nh_server_shutdown, after the drain delay):
   * called once, on the connection's loop thread, maybe off any fiber
   * (what parks belongs on a fiber of its own: nh__fiber_spawn). deadline:
   * the shutdown's, after which the socket is shut down. */
  void (*going_away)(void *arg, nh_time deadline);
  /* The server forgets the record (its socket was closed by its owner, or
   * the server closes or is freed): no call follows. Same thread. May be
   * NULL. */
  void (*forgotten)(void *arg);
  void *arg;
  /* Counted in nh_server_stats.websockets_open while watched. */
  int websocket;
} nh__hijack_watch;

/* Right after nh_resp_hijack or nh_resp_hijack_tls on w, on the handler's
 * fiber: the record of w's connection now carries *watch (copied).
 * Returns the record, to unwatch with, or NULL when w's connection is not
 * a server's hijacked one (a recorder, HTTP/2). If a shutdown began
 * already, going_away is called before this returns. */
struct nh__sconn *nh__resp_hijack_watch(nh_response_writer *w, const nh__hijack_watch *watch);

/* The watcher is done (before it closes the socket): no call follows.
 * The record's loop thread. */
void nh__hijack_unwatch(struct nh__sconn *c);

#endif
