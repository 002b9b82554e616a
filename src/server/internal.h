/* Server internals shared by the files of src/server/.
 *
 * Ownership: each connection belongs to the loop that accepted it, and only
 * that loop's thread touches it. Per-loop state (srv->loops[i]) holds the
 * lists used to shed connections and close idle ones at shutdown. Counters
 * that anyone may read are atomics in the server. */
#ifndef NH_SERVER_INTERNAL_H
#define NH_SERVER_INTERNAL_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "exchange.h"
#include "hijack.h"
#include "per_ip.h"
#include "http1/h1_server.h"
#include "http2/h2_server.h"
#include "nethttp/netpoll.h"
#include "nethttp/server.h"
#include "nethttp/sync.h"
#include "nethttp/tls.h"
#include "runtime/internal.h"
#include "util/arena.h"
#include "util/bufpool.h"
#include "util/header_internal.h"
#include "util/list.h"

typedef struct nh__sconn nh__sconn;
typedef struct nh__srv_loop nh__srv_loop;

/* A server connection. What its protocol shares with it (the byte stream,
 * closing, close reason, client wait, remote address) is h1; the rest is
 * the server's: lists, state, timers, contexts, hijack records. */
struct nh__sconn {
  nh__h1_link h1;
  nh_server *srv;
  nh__srv_loop *sl;
  int handshaking;  /* its fiber is in the TLS handshake */
  uint64_t id;
  nh_conn_state state;
  int has_fiber;
  int closed_early; /* its descriptor went before its fiber finished */
  nh__timer timer;  /* read-header / idle deadline while no fiber holds it;
                       may be armed earlier than deadline (see conn_wait) */
  nh_time deadline; /* when the current read-header or idle wait ends */
  nh_time since;    /* when the current state (or header read) began */
  nh__list node;    /* in sl->idle, reading, active or hijacked */
  nh__list *list;   /* which of them (NULL: none) */
  nh_ctx *ctx;      /* the connection's own context while it serves (owned) */
  nh_ctx *user_ctx; /* its parent: ConnContext's result (owned if not base) */
  /* The request in progress, so shutdown and close can reach it. */
  nh_ctx *req_ctx;
  int hijack_fd; /* after a hijack: the socket and its inode, to shut it
                    down at close only if it is still the same socket */
  unsigned long hijack_ino;
  nh_tls_conn *hijack_tls; /* a TLS hijack: the stream the handler took */
  nh__owned own;  /* the fibers that hold the hijacked socket */
  int forgotten;  /* off the server's lists; freed when its owners end */
  nh__h2_conn *h2; /* while it is served as HTTP/2: to kick at shutdown */
  int is_h2;       /* it speaks HTTP/2 */
  int listener;    /* index in srv->listeners of the one that accepted it */
  /* PROXY protocol (proxy_conn.c): a header still to read (NH_PROXY_REQUIRED
   * or NH_PROXY_OPTIONAL; 0: none); addr_pending while the address is not
   * final (hooks and ConnContext wait for it); what the header said. */
  uint8_t proxy_pending;
  uint8_t addr_pending;
  struct nh__proxy_conn *proxy;
  nh__peer_slot peer; /* its count under max_conns_per_ip (per_ip.c) */
  /* After a hijack, what its new owner asked to be told (hijack.h):
   * watch.going_away is NULL when nothing; going_away_told once told. */
  nh__hijack_watch watch;
  int watched, going_away_told;
};

/* The connection a list node belongs to (NULL for none). */
static inline nh__sconn *nh__sconn_of(nh__list *n) {
  return n ? nh__container_of(n, nh__sconn, node) : NULL;
}

enum { NH__MAX_FREE_CTXS = 64 };

typedef struct nh__listener {
  int fd;               /* the listening socket */
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int family;
  int wildcard;   /* bound to every address: a connection's own local
                     address needs getsockname */
  char name[112]; /* addr formatted once, for nh_conn_info.local_addr */
  nh_proxy_policy proxy; /* PROXY protocol (nh_listen_options) */
  char *proxy_trusted;   /* its trusted sources as given, owned */
  struct nh__proxy_net *proxy_nets; /* proxy_trusted parsed (proxy_trust.h), owned */
  int proxy_nnets;
} nh__listener;

struct nh__srv_loop {
  nh_server *srv;
  nh_loop *loop;
  int index;
  nh__list idle, reading, active, hijacked; /* connections, oldest first */
  /* Connections by state on this loop (new, active, idle, hijacked): only
   * this loop's thread writes them, two changes per keep-alive request, so
   * each loop counts apart and nh_server_stats_get adds them up. */
  _Atomic int64_t gauges[4];
  /* When the oldest idle connection of this loop went idle (+1; 0: none
   * idle), for acceptors on every loop to find the server's oldest. Only
   * this loop's thread writes it, when its idle list's head changes. */
  _Atomic int64_t idle_since;
  nh_fd **accept_fds; /* one per listener, dup'd for this loop */
  int *accept_dups;   /* those duplicates, made by nh_server_start */
  int naccept;
  int acceptors_running;
  nh__bufpool rbufs; /* read buffers (NH__READ_BUF) kept for reuse */
  nh__bufpool fields; /* HTTP/1 parsers' field arrays (max_header_count
                         entries): off the fiber's stack, given back at a
                         hijack */
  nh__bufpool wbufs; /* response body buffers (NH__WRITE_BUF) */
  nh__exchange_env xenv; /* what this loop's exchanges share */
  /* Serving contexts (children of srv->base) kept for reuse: making and
   * freeing one per activation took four lock pairs, two of them on the
   * base all loops share. A kept one stays linked under srv->base, so a
   * shutdown that cancels the base reaches it too. */
  nh_ctx *free_ctxs[NH__MAX_FREE_CTXS];
  int nfree_ctxs;
};

enum { NH__MAX_LISTENERS = 8 };
/* How long a graceful shutdown lets a new connection that has sent nothing
 * yet (or is in its TLS handshake) send its request (conn.c). */
#define NH__NEW_CONN_GRACE (2 * NH_SEC)

typedef struct nh__hook {
  void (*fn)(void *);
  void *arg;
  struct nh__hook *next;
} nh__hook;

struct nh_server {
  nh_server_config cfg;
  nh_runtime *rt;
  nh_logger *log;
  nh_ctx *base; /* cancelled at close / shutdown deadline */
  nh__listener listeners[NH__MAX_LISTENERS];
  int nlisteners;
  nh__srv_loop *loops;
  int nloops;
  pthread_mutex_t mu; /* state changes, hooks */
  int started;
  atomic_int shutting_down;
  atomic_int closed;
  nh_wg *acceptors; /* acceptor fibers running */
  nh_wg *pending;   /* messages posted to loops, not yet handled */
  nh_chan *done;    /* closed when serve should return */
  nh__hook *hooks;
  nh__h1_host h1; /* how HTTP/1 connections reach this server */
  nh__h2_host h2; /* how HTTP/2 connections reach this server */
  _Atomic int64_t conns; /* open connections (not hijacked) */
  _Atomic int64_t hijacked_open; /* counted by nh__conns_reap_hijacked */
  /* Of those, the ones that hold a descriptor: what max_conns limits,
   * across every loop (admit.c). A slot is taken before a connection is
   * served and given back when its descriptor closes. */
  _Atomic int64_t open;
  atomic_uint_fast64_t next_conn_id;
  /* stats */
  _Atomic int64_t st_accepted, st_closed, st_requests, st_hijacked, st_shed_idle,
      st_shed_reading, st_to_header, st_to_idle, st_to_read, st_to_write, st_bad, st_drained,
      st_too_large_closed, st_accept_errors, st_slow_hooks, st_panics, st_tls_handshake_errors;
  _Atomic int64_t st_proxy_refused;
  _Atomic int64_t st_h2_conns, st_h2_streams, st_h2_resets, st_h2_rapid_reset,
      st_h2_header_floods, st_h2_control_floods, st_h2_empty_floods, st_h2_too_large;
  _Atomic int64_t st_closes[NH_CLOSE__COUNT];
  /* Per-IP limit, accept hook, drain delay (per_ip.c, accept_hook.c,
   * drain.c). draining: shutdown or close has begun (readiness is 503);
   * drain_cut closes to end the drain delay early (close, a shutdown that
   * skips it); drain_until: when the delay ends (0 before shutdown). */
  nh__peer_table *peers; /* NULL without max_conns_per_ip */
  _Atomic int64_t st_refused_per_ip, st_refused_hook;
  atomic_int draining;
  atomic_int drain_cut_closed;
  nh_chan *drain_cut;
  _Atomic int64_t drain_until;
  /* Hijacked connections watched (hijack.h): a graceful shutdown has told
   * them it began (set before the loops are told); open WebSockets. */
  atomic_int going_away;
  _Atomic int64_t going_away_deadline;
  _Atomic int64_t websockets_open;
};

/* conn.c */
/* slot: what the connection took under max_conns_per_ip, now its own to
 * give back (NULL: nothing). */
void nh__sconn_accepted(nh__srv_loop *sl, int listener, int fd,
                        const struct sockaddr_storage *peer, socklen_t peer_len,
                        const nh__peer_slot *slot);
void nh__sconn_set_state(nh__sconn *c, nh_conn_state s);
/* The idle list's head changed: tell the acceptors (see idle_since). */
void nh__sconn_idle_publish(nh__srv_loop *sl);
/* Off its list (if on one). Inline: two or three moves per request. */
static inline void nh__sconn_list_remove(nh__sconn *c) {
  nh__list *l = c->list;
  if (!l)
    return;
  int idle_head = l == &c->sl->idle && l->next == &c->node;
  nh__list_remove(&c->node);
  c->list = NULL;
  if (idle_head)
    nh__sconn_idle_publish(c->sl);
}
/* Onto list l (of c's loop), as its newest; its state's age starts now. */
static inline void nh__sconn_list_move(nh__sconn *c, nh__list *l) {
  nh__sconn_list_remove(c);
  nh__list_push_back(l, &c->node);
  c->list = l;
  c->since = nh__loop_time(c->sl->loop);
  if (l == &c->sl->idle && l->next == &c->node)
    nh__sconn_idle_publish(c->sl);
}
/* Free a connection that has no fiber working on it (closing its stream). */
void nh__sconn_free(nh__sconn *c);
/* Free the connection's contexts. */
void nh__sconn_ctx_free(nh__sconn *c);
/* The loop's count of connections in state s moves by d. */
void nh__sconn_gauge_add(nh__srv_loop *sl, nh_conn_state s, int64_t d);
/* Shed the connection that costs most and serves least on this loop: the
 * oldest idle one, else the one stuck longest reading its headers. Returns 1
 * if one was closed. Runs on sl's thread. */
int nh__sconn_shed_one(nh__srv_loop *sl, int desperate);
/* Close this loop's oldest idle keep-alive connection that has nothing to
 * read (gracefully: it has no request in flight). Returns 1 if one was
 * closed. Runs on sl's thread. */
int nh__sconn_evict_idle(nh__srv_loop *sl);
/* Give back a connection's slot under max_conns (its descriptor closed). */
static inline void nh__sconn_slot_release(nh_server *srv) {
  atomic_fetch_sub_explicit(&srv->open, 1, memory_order_release);
}
/* Close every idle connection of the loop (shutdown). */
void nh__sconns_close_idle(nh__srv_loop *sl);
/* Close every connection of the loop now (close). */
void nh__sconns_close_all(nh__srv_loop *sl);

/* The connection's address is final: the PROXY header, if its listener
 * wants one, has been read (or c was accepted without one). Runs
 * ConnContext and the NEW state hook, which wait for it. Anything that
 * judges a connection by its client's address belongs here. Returns 0, or
 * an error: c must be closed (its close reason noted). On c's loop. */
int nh__sconn_address_final(nh__sconn *c);

/* proxy_conn.c: the PROXY header of a connection that must or may send
 * one. On c's fiber, before anything else is read: reads exactly the
 * header (within read_header_timeout), makes its addresses c's. Returns 0,
 * or an error (c must close; counted, reason noted, logged at DEBUG).
 * Parks. */
int nh__sconn_proxy_read(nh__sconn *c);
/* At accept: whether c, from peer, must send a header, may, or is refused
 * at once (untrusted under REQUIRED: returns -1, counted and logged). */
int nh__sconn_proxy_accept(nh__sconn *c, const struct sockaddr *peer);
/* Free what the header left (at c's free). */
void nh__sconn_proxy_free(nh__sconn *c);
/* The client's address: the PROXY header's source, else the socket's peer. */
int nh__sconn_client_sockaddr(const nh__sconn *c, struct sockaddr_storage *a, socklen_t *len);
/* The header's destination, if it gave one (for nh_request_local_addr). */
const char *nh__sconn_proxy_dest(const nh__sconn *c);

/* conn_serve.c: a connection's turns on a fiber, and its waits without. */
/* Start serving c on a new fiber (it was just accepted, or is readable). */
void nh__sconn_spawn(nh__sconn *c);
/* The HTTP/1 host of srv (its limits and callbacks), set up once. */
void nh__sconn_h1_host_init(nh_server *srv);

/* conn_h2.c: connections served as HTTP/2. */
/* The HTTP/2 host of srv, set up once. */
void nh__sconn_h2_host_init(nh_server *srv);
/* Whether c, new and on its fiber, should be served as HTTP/2: ALPN "h2"
 * on TLS, or the preface on a plain listener with h2c on (peeked, so
 * HTTP/1 finds the bytes where they were). Parks while a partial preface
 * waits for the rest. */
int nh__sconn_wants_h2(nh__sconn *c);
/* Serve c as HTTP/2 on its fiber until it ends; c is closed and freed
 * after. Parks. */
void nh__sconn_serve_h2(nh__sconn *c);

/* conn_hijack.c */
/* The handler took the connection: socket fd, or the TLS stream tls over
 * it (NULL for a plain one). The calling fiber owns it (nh__owned). */
void nh__sconn_hijacked(nh__sconn *c, int fd, nh_tls_conn *tls);
/* Forget hijacked connections, shutting their sockets down if shut. */
void nh__sconns_end_hijacked(nh__srv_loop *sl, int shut);
/* Forget hijacked connections whose owners closed them; add the number
 * still open to srv->hijacked_open. */
void nh__sconns_reap_hijacked(nh__srv_loop *sl);
/* Tell each watched hijacked connection of the loop that a graceful
 * shutdown began (srv->going_away and its deadline set first). */
void nh__sconns_going_away(nh__srv_loop *sl);

/* admit.c */
/* Take a slot under max_conns for a connection just accepted on sl,
 * making room if the server is at its limit (see admit.c); may park the
 * acceptor fiber. wg: the caller's own, for answers from other loops.
 * Returns 1 with the slot taken, 0 if the server is stopping. */
int nh__sconn_admit(nh__srv_loop *sl, nh_wg *wg);
/* Close one connection anywhere to free a descriptor (idle first, then a
 * slow client); returns 1 if one was closed. May park. */
int nh__sconn_make_room(nh__srv_loop *sl, nh_wg *wg);

/* listener.c */
int nh__listener_open(nh__listener *l, const char *addr, int reuseport);
/* Fill l->name and l->wildcard from l->addr (after it is bound). */
void nh__listener_describe(nh__listener *l);
int nh__acceptors_start(nh_server *srv);
void nh__acceptors_stop(nh__srv_loop *sl);
void nh__format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap);

/* accept_hook.c: cfg.accept_hook on a connection just accepted on sl's
 * listener (fd, peer): 1 if the hook refuses it (the caller closes it;
 * counted and logged here), 0 to go on. Slow calls are logged. */
int nh__accept_hook_refuses(nh__srv_loop *sl, int listener, int fd,
                            const struct sockaddr_storage *peer, socklen_t peer_len);
/* A connection refused at accept (why: "per_ip", "hook"...): closed now,
 * nothing read or sent, logged at DEBUG. */
void nh__accept_refuse(nh_server *srv, int fd, const struct sockaddr_storage *peer,
                       socklen_t peer_len, const char *why);

/* drain.c: shutdown with the drain delay (skip_delay: without it, e.g. a
 * restart that hands the listeners over). nh_server_shutdown is
 * nh__server_shutdown(srv, deadline, 0). */
int nh__server_shutdown(nh_server *srv, nh_time deadline, int skip_delay);
/* Mark the server draining (readiness 503), logging it the first time;
 * then, unless skip_delay, wait until the drain delay ends, the deadline
 * comes or the wait is cut (nh__drain_cut). Any thread or fiber. */
void nh__drain_begin(nh_server *srv, nh_time deadline, int skip_delay);
/* End every drain-delay wait now (close, a shutdown that skips it). */
void nh__drain_cut(nh_server *srv);

/* local_addr.c: the request arrived on a Unix socket listener. */
int nh__request_on_unix(const nh_request *r);

/* The default size of a connection's read buffer while it holds a request. */
#define NH__READ_BUF 8192

#define NH__STAT_INC(srv, field) atomic_fetch_add_explicit(&(srv)->field, 1, memory_order_relaxed)
/* Note why c will close: the first reason given is the one counted. */
static inline void nh__sconn_close_why(nh__sconn *c, nh_close_reason r) {
  nh__h1_close_why(&c->h1, r);
}

#define NH__STAT_DEC(srv, field) atomic_fetch_sub_explicit(&(srv)->field, 1, memory_order_relaxed)

#endif
