// WebSocket echo server on Node's ws, a peer for nethttp's client; it
// speaks the protocol described in py_server.py (commands "!close",
// "!ping", "!frag", "!badutf8", "!big", "!ext"; /small: 1000-byte limit).
// Prints "port N", then "closed PATH CODE REASON" as each connection ends.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const FRAG = '0123456789'.repeat(300);
const echo = new WebSocketServer({ noServer: true, perMessageDeflate: true, maxPayload: 1 << 20 });
const small = new WebSocketServer({ noServer: true, perMessageDeflate: true, maxPayload: 1000 });

function serve(ws, req) {
  ws.on('error', () => {});
  ws.on('close', (code, reason) => console.log(`closed ${req.url} ${code} ${reason.toString()}`));
  ws.on('message', (data, isBinary) => {
    const s = isBinary ? '' : data.toString();
    if (isBinary || !s.startsWith('!')) return ws.send(data, { binary: isBinary });
    const sp = s.indexOf(' ');
    const verb = sp < 0 ? s : s.slice(0, sp);
    const arg = sp < 0 ? '' : s.slice(sp + 1);
    if (verb === '!close') {
      const i = arg.indexOf(' ');
      ws.close(Number(arg.slice(0, i)), arg.slice(i + 1));
    } else if (verb === '!ping') {
      ws.once('pong', (p) => ws.send('pong ' + p.toString()));
      ws.ping(Buffer.from(arg));
    } else if (verb === '!frag') {
      ws.send(FRAG.slice(0, 1000), { fin: false });
      ws.send(FRAG.slice(1000, 2000), { fin: false });
      ws.send(FRAG.slice(2000), { fin: true });
    } else if (verb === '!badutf8') {
      ws.send(Buffer.from([0x61, 0x62, 0x63, 0xff]), { binary: false, compress: false });
    } else if (verb === '!big') {
      ws.send(Buffer.alloc(Number(arg), 'x'));
    } else if (verb === '!ext') {
      ws.send(ws.extensions.includes('permessage-deflate') ? 'permessage-deflate' : 'none');
    } else {
      ws.send(s);
    }
  });
}

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
server.on('upgrade', (req, socket, head) => {
  const wss = req.url.startsWith('/small') ? small : echo;
  wss.handleUpgrade(req, socket, head, serve);
});
server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
