#!/usr/bin/python3
"""WebSocket client on python3-websockets, a peer for nethttp's server.

  py_client.py BASE all      the scenarios of run.sh against BASE
                             (ws://127.0.0.1:PORT), which speaks the
                             protocol of py_server.py
  py_client.py BASE hold N   N connections, each echoes once, "ready",
                             then each must get close 1001 and the
                             connection closed by the server
Prints "ok STEP" per step and "expect PATH CODE REASON" for each close the
server must report ("*": any reason); exits 1 at the first failure.
"""
import asyncio
import sys

import websockets
from websockets.frames import Opcode

CODES = [1000, 1001, 1003, 1007, 1008, 1009, 1011, 3000, 4999]
FRAG = "0123456789" * 300


def check(cond, what):
    if not cond:
        print("FAIL " + what, flush=True)
        sys.exit(1)


def ok(step):
    print("ok " + step, flush=True)


def connect(url, **kw):
    kw.setdefault("compression", None)
    kw.setdefault("max_size", 1 << 20)
    return websockets.connect(url, ping_interval=None, close_timeout=120, open_timeout=30, **kw)


async def echo(ws, msg, step):
    await ws.send(msg)
    got = await ws.recv()
    check(type(got) is type(msg) and got == msg,
          "%s: echo differs (%s of %d)" % (step, type(got).__name__, len(got)))
    ok(step)


async def closed_by_server(ws):
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    return ws.close_code, ws.close_reason


async def scenarios(base):
    async with connect(base + "/echo/plain") as ws:
        await echo(ws, "héllo wörld ✓", "text")
        await echo(ws, bytes(range(256)), "binary")
        await echo(ws, "", "empty text")
        await echo(ws, b"", "empty binary")
        await echo(ws, bytes(i * 7 % 251 for i in range(300 * 1024)), "large 300 KB")
        await ws.send([FRAG[0:1000], FRAG[1000:2000], FRAG[2000:]])
        check(await ws.recv() == FRAG, "fragments sent: echo differs")
        ok("fragments sent")
        await ws.send("!frag")
        check(await ws.recv() == FRAG, "fragments received: message differs")
        ok("fragments received")
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, 30)
        ok("ping answered")
        await ws.send("!ping from-server")
        check(await ws.recv() == "pong from-server", "server ping: no pong")
        ok("server ping answered")
        await ws.close(1000, "bye")
    print("expect /echo/plain 1000 bye", flush=True)

    async with connect(base + "/echo/deflate", compression="deflate") as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        check("permessage-deflate" in ext, "compression: not negotiated (%r)" % ext)
        await ws.send("!ext")
        check(await ws.recv() == "permessage-deflate", "compression: server says it is off")
        await echo(ws, "compressible text " * 2000, "compressed text")
        await echo(ws, bytes(i % 16 for i in range(300 * 1024)), "compressed binary 300 KB")
        await echo(ws, "short", "compressed short text")
    print("expect /echo/deflate 1000 *", flush=True)

    for code in CODES:
        async with connect(base + "/echo/server-%d" % code) as ws:
            await ws.send("!close %d server-%d" % (code, code))
            got = await closed_by_server(ws)
            check(got == (code, "server-%d" % code), "server close %d: got %r" % (code, got))
    ok("close codes from the server")
    for code in CODES:
        async with connect(base + "/echo/client-%d" % code) as ws:
            await ws.close(code, "client-%d" % code)
            print("expect /echo/client-%d %d client-%d" % (code, code, code), flush=True)
    ok("close codes to the server")

    async with connect(base + "/echo/badutf8-sent") as ws:
        await ws.write_frame(True, Opcode.TEXT, b"abc\xff")
        code, _ = await closed_by_server(ws)
        check(code == 1007, "invalid UTF-8 sent: close %d, not 1007" % code)
    ok("invalid UTF-8 sent: 1007")
    async with connect(base + "/echo/badutf8") as ws:
        await ws.send("!badutf8")
        try:
            msg = await ws.recv()
            # A server that will not send invalid UTF-8 says so instead.
            check(isinstance(msg, str) and msg.startswith("refused"), "invalid UTF-8: got %r" % msg)
            ok("invalid UTF-8 received: not sent, the server says: " + msg)
        except websockets.ConnectionClosed:
            await ws.wait_closed()
            print("expect /echo/badutf8 1007 *", flush=True)
            ok("invalid UTF-8 received")

    async with connect(base + "/small") as ws:
        await ws.send(b"y" * 2000)
        code, _ = await closed_by_server(ws)
        check(code == 1009, "oversize sent: close %d, not 1009" % code)
    ok("oversize sent: 1009")
    async with connect(base + "/echo/big", max_size=1000) as ws:
        await ws.send("!big 2000")
        await closed_by_server(ws)
    print("expect /echo/big 1009 *", flush=True)
    ok("oversize received")


async def hold(base, n):
    conns = []
    for i in range(n):
        ws = await connect(base + "/echo/hold-%d" % i)
        await echo(ws, "hold %d" % i, "open %d" % i)
        conns.append(ws)
    print("ready", flush=True)
    for i, ws in enumerate(conns):
        code, reason = await closed_by_server(ws)
        check(code == 1001, "shutdown: connection %d closed %r %r" % (i, code, reason))
        print("ok shutdown %d: %d %s, connection closed" % (i, code, reason), flush=True)


def main():
    base, mode = sys.argv[1], sys.argv[2]
    run = scenarios(base) if mode == "all" else hold(base, int(sys.argv[3]))
    asyncio.run(asyncio.wait_for(run, 240))


if __name__ == "__main__":
    main()
