/* The server's open WebSockets (ws_registry.c): each one accepted is
 * watched through its hijacked connection's record (server/hijack.h), so
 * that a graceful shutdown sends it close 1001 "going away", and counted
 * in nh_server_stats.websockets_open until it is freed. */
#ifndef NH_WEBSOCKET_REGISTRY_H
#define NH_WEBSOCKET_REGISTRY_H

#include "nethttp/server.h"
#include "nethttp/websocket.h"

/* ws was just made over w's hijacked connection: the server knows it from
 * now until nh_ws_free. Nothing is done for a writer that is not a
 * server connection's (a recorder). The handler's fiber. */
void nh__ws_registry_add(nh_response_writer *w, nh_ws *ws);

#endif
