/* nghttp2's allocator for one connection, server or client: blocks of 64
 * bytes to 2 KiB kept on per-size free lists (h2_mem.c). Not locked: one
 * connection's session is used by one fiber at a time (the server's
 * connection fiber; the client's holders of its mutex). */
#ifndef NH_HTTP2_H2_MEM_H
#define NH_HTTP2_H2_MEM_H

#include <nghttp2/nghttp2.h>
#include <stdint.h>

#define NH__H2_MEM_CLASSES 6
typedef struct nh__h2_mem {
  nghttp2_mem ng; /* given to nghttp2; its user data is this */
  union blk *free[NH__H2_MEM_CLASSES];
  uint32_t nfree[NH__H2_MEM_CLASSES];
} nh__h2_mem;
void nh__h2_mem_init(nh__h2_mem *m);
/* Free what is kept: after nghttp2_session_del. */
void nh__h2_mem_dispose(nh__h2_mem *m);

#endif
