/* nethttp.h — Go's net/http, in C. The one header to include. */
#ifndef NETHTTP_H
#define NETHTTP_H

#include "nethttp/errors.h"
#include "nethttp/time.h"
#include "nethttp/log.h"
#include "nethttp/status.h"
#include "nethttp/textproto.h"
#include "nethttp/httpdate.h"
#include "nethttp/sniff.h"
#include "nethttp/runtime.h"
#include "nethttp/ctx.h"
#include "nethttp/sync.h"
#include "nethttp/netpoll.h"
#include "nethttp/dial.h"
#include "nethttp/tls.h"
#include "nethttp/offload.h"
#include "nethttp/header.h"
#include "nethttp/conn.h"
#include "nethttp/server.h"
#include "nethttp/handlers.h"
#include "nethttp/middleware.h"
#include "nethttp/client.h"
#include "nethttp/mux.h"
#include "nethttp/fileserver.h"
#include "nethttp/base64.h"
#include "nethttp/url.h"
#include "nethttp/cookie.h"
#include "nethttp/server_cookie.h"
#include "nethttp/cookiejar.h"
#include "nethttp/form.h"
#include "nethttp/json.h"
#include "nethttp/client_json.h"
#include "nethttp/websocket.h"

#define NETHTTP_VERSION "0.1.0"

#endif
