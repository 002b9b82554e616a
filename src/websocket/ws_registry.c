/* The server's open WebSockets (see ws_registry.h).
 *
 * One entry per WebSocket, on its connection's loop thread only. At a
 * graceful shutdown the server calls going_away on that thread, maybe off
 * any fiber, while the handler may be parked reading: the close frame is
 * sent from a fiber of its own (nh__ws_send_close takes the write lock).
 * The entry lives until the WebSocket is freed; a free while that fiber
 * is still sending waits for it, so the fiber never meets a freed ws. */
#include "ws_registry.h"

#include <stdlib.h>

#include "runtime/internal.h"
#include "server/hijack.h"
#include "ws_internal.h"

typedef struct ws_entry {
  nh_ws *ws;          /* NULL once freed */
  struct nh__sconn *c; /* the server's record; NULL once it forgot it */
  nh_time deadline;    /* the shutdown's */
  int sending;         /* the going-away fiber is running */
} ws_entry;

static void send_going_away(void *arg) {
  ws_entry *e = arg;
  if (e->ws)
    nh__ws_send_close(e->ws, NH_WS_CLOSE_GOING_AWAY, "going away", e->deadline);
  e->sending = 0; /* last touch: a free waiting for this may go on */
}

static void going_away(void *arg, nh_time deadline) {
  ws_entry *e = arg;
  if (!e->ws || e->sending)
    return;
  e->deadline = deadline;
  e->sending = 1;
  if (nh__fiber_spawn(nh__loop_current(), send_going_away, e) != NH_OK)
    e->sending = 0; /* no memory: the deadline shuts it down anyway */
}

static void forgotten(void *arg) {
  ws_entry *e = arg;
  e->c = NULL;
}

static void on_free(nh_ws *ws, void *arg) {
  (void)ws;
  ws_entry *e = arg;
  e->ws = NULL;
  nh__hijack_unwatch(e->c);
  e->c = NULL;
  /* Rare: the close frame waits for room in the socket (or for another
   * writer); its deadline, or the shutdown's cut, ends that. */
  nh_dur pause = NH_MSEC;
  while (e->sending) {
    nh_sleep(pause);
    pause = pause < 50 * NH_MSEC ? pause * 2 : pause;
  }
  free(e);
}

void nh__ws_registry_add(nh_response_writer *w, nh_ws *ws) {
  ws_entry *e = calloc(1, sizeof *e);
  if (!e)
    return; /* not known to shutdown: it is still shut down at the deadline */
  e->ws = ws;
  /* Nothing parks between the watch and the hook: ws cannot be freed in
   * between (a going_away the watch calls at once runs its fiber later). */
  nh__hijack_watch watch = {going_away, forgotten, e, 1};
  e->c = nh__resp_hijack_watch(w, &watch);
  if (!e->c) {
    free(e);
    return;
  }
  nh__ws_set_free_hook(ws, on_free, e);
}
