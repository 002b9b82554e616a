// WebSocket client on Node's ws, a peer for nethttp's server.
//   node_client.js BASE all      the scenarios of run.sh (as py_client.py)
//   node_client.js BASE hold N   N connections; each must get close 1001
//                                and then the connection closed
// Prints "ok STEP", "expect PATH CODE REASON" for each close the server must
// report ("*": any reason); exits 1 at the first failure.
'use strict';
const WebSocket = require('ws');

const CODES = [1000, 1001, 1003, 1007, 1008, 1009, 1011, 3000, 4999];
const FRAG = '0123456789'.repeat(300);

function fail(what) { console.log('FAIL ' + what); process.exit(1); }
function check(cond, what) { if (!cond) fail(what); }
function ok(step) { console.log('ok ' + step); }

// A connection with a queue of messages and a promise of its close.
function connect(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 20, ...opts });
    const queue = [], waiters = [];
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift()(m); else queue.push(m);
    });
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => {
      const c = [code, reason.toString()];
      while (waiters.length) waiters.shift()({ closed: c });   // no message is coming
      queue.push({ closed: c });
      res(c);
    }));
    ws.next = () => new Promise((res) => { if (queue.length) res(queue.shift()); else waiters.push(res); });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (req, resp) => reject(new Error('status ' + resp.statusCode)));
    ws.once('close', () => reject(new Error('closed before open')));
  });
}

async function echo(ws, data, isBinary, step) {
  ws.send(data, { binary: isBinary });
  const m = await ws.next();
  if (m.closed) fail(`${step}: closed ${m.closed}`);
  check(m.isBinary === isBinary && Buffer.compare(m.data, Buffer.from(data)) === 0,
        `${step}: echo differs (${m.data.length} bytes)`);
  ok(step);
}

async function text(ws) {
  const m = await ws.next();
  if (m.closed) fail(`closed ${m.closed}`);
  check(!m.isBinary, 'a binary message where text was expected');
  return m.data.toString();
}

async function scenarios(base) {
  let ws = await connect(base + '/echo/plain');
  await echo(ws, 'héllo wörld ✓', false, 'text');
  await echo(ws, Buffer.from([...Array(256).keys()]), true, 'binary');
  await echo(ws, '', false, 'empty text');
  await echo(ws, Buffer.alloc(0), true, 'empty binary');
  await echo(ws, Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 7) % 251)), true, 'large 300 KB');
  ws.send(FRAG.slice(0, 1000), { fin: false });
  ws.send(FRAG.slice(1000, 2000), { fin: false });
  ws.send(FRAG.slice(2000), { fin: true });
  check(await text(ws) === FRAG, 'fragments sent: echo differs');
  ok('fragments sent');
  ws.send('!frag');
  check(await text(ws) === FRAG, 'fragments received: message differs');
  ok('fragments received');
  const pong = new Promise((res) => ws.once('pong', (p) => res(p.toString())));
  ws.ping('are you there');
  check(await pong === 'are you there', 'ping: pong payload differs');
  ok('ping answered');
  ws.send('!ping from-server');
  check(await text(ws) === 'pong from-server', 'server ping: no pong');
  ok('server ping answered');
  ws.close(1000, 'bye');
  await ws.closed;
  console.log('expect /echo/plain 1000 bye');

  ws = await connect(base + '/echo/deflate', { perMessageDeflate: true });
  check(ws.extensions.includes('permessage-deflate'), `compression: not negotiated (${ws.extensions})`);
  ws.send('!ext');
  check(await text(ws) === 'permessage-deflate', 'compression: server says it is off');
  await echo(ws, 'compressible text '.repeat(2000), false, 'compressed text');
  await echo(ws, Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => i % 16)), true, 'compressed binary 300 KB');
  await echo(ws, 'short', false, 'compressed short text');
  ws.close(1000);
  await ws.closed;
  console.log('expect /echo/deflate 1000 *');

  for (const code of CODES) {
    ws = await connect(base + `/echo/server-${code}`);
    ws.send(`!close ${code} server-${code}`);
    const [c, r] = await ws.closed;
    check(c === code && r === `server-${code}`, `server close ${code}: got ${c} ${r}`);
  }
  ok('close codes from the server');
  for (const code of CODES) {
    ws = await connect(base + `/echo/client-${code}`);
    ws.close(code, `client-${code}`);
    await ws.closed;
    console.log(`expect /echo/client-${code} ${code} client-${code}`);
  }
  ok('close codes to the server');

  ws = await connect(base + '/echo/badutf8-sent');
  ws.send(Buffer.from([0x61, 0x62, 0x63, 0xff]), { binary: false });
  let [c] = await ws.closed;
  check(c === 1007, `invalid UTF-8 sent: close ${c}, not 1007`);
  ok('invalid UTF-8 sent: 1007');
  ws = await connect(base + '/echo/badutf8');
  ws.send('!badutf8');
  const bm = await ws.next();
  if (bm.closed) {
    console.log('expect /echo/badutf8 1007 *');
    ok('invalid UTF-8 received');
  } else {
    // A server that will not send invalid UTF-8 says so instead.
    const s = bm.data.toString();
    check(!bm.isBinary && s.startsWith('refused'), `invalid UTF-8: got ${s}`);
    ok('invalid UTF-8 received: not sent, the server says: ' + s);
    ws.close(1000);
    await ws.closed;
  }

  ws = await connect(base + '/small');
  ws.send(Buffer.alloc(2000, 'y'));
  [c] = await ws.closed;
  check(c === 1009, `oversize sent: close ${c}, not 1009`);
  ok('oversize sent: 1009');
  ws = await connect(base + '/echo/big', { maxPayload: 1000 });
  ws.send('!big 2000');
  await ws.closed;
  console.log('expect /echo/big 1009 *');
  ok('oversize received');
}

async function hold(base, n) {
  const conns = [];
  for (let i = 0; i < n; i++) {
    const ws = await connect(base + `/echo/hold-${i}`);
    await echo(ws, `hold ${i}`, false, `open ${i}`);
    conns.push(ws);
  }
  console.log('ready');
  for (let i = 0; i < n; i++) {
    // 'close' fires once the TCP connection is closed (ws waits for the
    // server to close it, up to its own 30 s timer: run.sh waits less).
    const [c, r] = await conns[i].closed;
    check(c === 1001, `shutdown: connection ${i} closed ${c} ${r}`);
    console.log(`ok shutdown ${i}: ${c} ${r}, connection closed`);
  }
}

const [base, mode, n] = process.argv.slice(2);
setTimeout(() => fail('took over 240 s'), 240000).unref();
(mode === 'all' ? scenarios(base) : hold(base, Number(n)))
  .then(() => process.exit(0), (e) => fail(String(e)));
