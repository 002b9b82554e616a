// WebSocket echo server on Node's ws for bench/websocket/run.sh: ws's
// defaults (no compression, as ws's server defaults to), each message
// written back with its type.
//   node node_echo.js PORT
'use strict';
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]) });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
