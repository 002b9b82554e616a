"""/websocket/echo of `nethttp httpbin` driven by python3-websockets: text
and binary echoed, with permessage-deflate on and off, a message over
max_message_size closed with 1009, a bad size refused with 400, and a
graceful close. Usage: httpbin_ws_check.py PORT"""
import asyncio
import sys

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

PORT = int(sys.argv[1])
URL = "ws://127.0.0.1:%d/websocket/echo" % PORT


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


async def echo(compression):
    async with websockets.connect(URL, compression=compression, max_size=None) as ws:
        want_deflate = compression is not None
        ext = [e.name for e in ws.protocol.extensions] if hasattr(ws, "protocol") else \
              [e.name for e in ws.extensions]
        check(("permessage-deflate" in ext) == want_deflate, "extensions %r" % ext)
        for msg in ["hello", "é" * 1000, b"\x00\x01\xff" * 5000, "x" * 70000]:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), 10)
            check(got == msg, "echo of a %s of %d" % (type(msg).__name__, len(msg)))
        await ws.close(1000, "done")
        check(ws.close_code == 1000, "close code %r" % ws.close_code)


async def too_big():
    async with websockets.connect(URL + "?max_message_size=100", compression=None) as ws:
        await ws.send("y" * 101)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "a message over max_message_size was echoed")
        except ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1009, "close %r" % (e.rcvd,))


async def bad_size():
    try:
        async with websockets.connect(URL + "?max_fragment_size=0"):
            check(False, "max_fragment_size=0 accepted")
    except InvalidStatusCode as e:
        check(e.status_code == 400, "status %d" % e.status_code)


async def main():
    await echo("deflate")
    await echo(None)
    await too_big()
    await bad_size()
    print("websocket echo ok")


asyncio.run(main())
