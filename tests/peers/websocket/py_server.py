#!/usr/bin/python3
"""WebSocket echo server on python3-websockets, a peer for nethttp's client.

The protocol every peer server here speaks (see run.sh):
  any path: data messages are echoed with their type; /small allows
  messages of 1000 bytes at most (bigger: close 1009), other paths 1 MiB.
  permessage-deflate is accepted when the client offers it.
  Text commands:
    "!close CODE REASON"  close with that code and reason
    "!ping PAYLOAD"       send a ping; once its pong is back, "pong PAYLOAD"
    "!frag"               "0123456789" * 300 as a text message in 3 frames
    "!badutf8"            a text frame holding b"abc\\xff" (not UTF-8)
    "!big N"              a binary message of N bytes "x"
    "!ext"                "permessage-deflate" if negotiated, else "none"
Prints "port N" once listening, then "closed PATH CODE REASON" each time a
connection ends (1005: a close frame without a code; 1006: no close).
On SIGTERM it shuts down (close 1001 to each connection), prints
"shutdown returned 0", and stays up until killed (at most 120 s).
"""
import asyncio
import signal
import sys

import websockets
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Opcode

FRAG = "0123456789" * 300


async def command(ws, msg):
    verb, _, arg = msg.partition(" ")
    if verb == "!close":
        code, _, reason = arg.partition(" ")
        await ws.close(int(code), reason)
    elif verb == "!ping":
        waiter = await ws.ping(arg.encode())
        await waiter
        await ws.send("pong " + arg)
    elif verb == "!frag":
        await ws.send([FRAG[0:1000], FRAG[1000:2000], FRAG[2000:]])
    elif verb == "!badutf8":
        await ws.write_frame(True, Opcode.TEXT, b"abc\xff")
    elif verb == "!big":
        await ws.send(b"x" * int(arg))
    elif verb == "!ext":
        on = any(isinstance(e, PerMessageDeflate) for e in ws.extensions)
        await ws.send("permessage-deflate" if on else "none")
    else:
        await ws.send(msg)


class Protocol(websockets.WebSocketServerProtocol):
    # The limit must be in place before the first frame is read, which
    # starts as soon as the connection opens, before the handler runs.
    def connection_open(self):
        if self.path.startswith("/small"):
            self.max_size = 1000
        super().connection_open()


async def handler(ws, path):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("!"):
                await command(ws, msg)
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    print("closed %s %d %s" % (ws.path, ws.close_code, ws.close_reason), flush=True)


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=1 << 20,
                                compression="deflate", ping_interval=None,
                                create_protocol=Protocol) as srv:
        print("port %d" % srv.sockets[0].getsockname()[1], flush=True)
        # SIGTERM: websockets' own shutdown (close 1001 to every
        # connection), to check run.sh's shutdown clients against it.
        stop = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
        await stop
        srv.close()
        await srv.wait_closed()
        print("shutdown returned 0", flush=True)
        await asyncio.sleep(120)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
