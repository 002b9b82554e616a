/* HTTPS connections: the server handshake and closing a TLS stream. Reads
 * and writes go through the connection's nh__stream (net/stream.h), which
 * serves plain and TLS alike. */
#ifndef NH_SERVER_TLS_IO_H
#define NH_SERVER_TLS_IO_H

#include "internal.h"
#include "nethttp/tls.h"

/* The server handshake on a new connection, bounded by the read-header
 * timeout. Returns 0 (c->h1.io.tls set) or an error (logged, counted).
 * Parks. */
int nh__tls_io_handshake(nh__sconn *c);
/* Close with close_notify (on the connection's fiber only: it may park). */
void nh__tls_io_close(nh__sconn *c);
/* Free the TLS state and close the socket without sending anything. */
void nh__tls_io_abort(nh__sconn *c);

#endif
