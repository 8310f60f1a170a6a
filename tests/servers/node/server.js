'use strict';
// A small PBX on node's socket.io, the server the Switchvox PBX itself runs, for the conformance
// tests (tests/conformance): the Realtime API's JSON-RPC (login, subscribe, unsubscribe, dial,
// logout, line state notifications) and the faults the tests need, switched over HTTP.
//
//   node server.js --io 1|2 [--port 0] [--ping-interval ms] [--ping-timeout ms] [--accounts json]
//
// It listens on 127.0.0.1 only and prints {"port": N} once listening. Control (POST JSON to
// /control): {"cmd": "notify", "extension", "params"}, {"cmd": "raw", "packet"} (an Engine.IO
// message as it is), {"cmd": "burst", "burst": [{"extension", "params"}, ...]} (all in one
// tick), {"cmd": "disconnect"} (socket.io's "41"), {"cmd": "close"} (the Engine.IO
// session), {"cmd": "ignore", "method", "value"}; GET /control/state says what is connected.

const http = require('http');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const socketio = require(option('io', '2') === '1' ? 'socket.io-1' : 'socket.io-2');
const accounts = JSON.parse(option('accounts', '{"101": "secret", "102": "secret"}'));
const TOPIC = 'state.change.extension.line';
const ignored = new Set();
let dials = 0;

function error(code, message) {
  return {code, message};
}

function handle(socket, method, params) {
  const session = socket.switchvox;
  if (method === 'login') {
    if (session.extension) return {error: error(-32002, 'Already authenticated')};
    if (!params || accounts[params.extension] !== params.password) {
      return {error: error(-32000, 'Invalid extension or password')};
    }
    session.extension = params.extension;
    return {result: true};
  }
  if (!session.extension) return {error: error(-32000, 'Not authenticated')};
  if (method === 'subscribe' || method === 'unsubscribe') {
    if (!params || params.topic !== TOPIC || !Array.isArray(params.targets)) {
      return {error: error(-32602, 'Invalid params')};
    }
    for (const target of params.targets) {
      const extension = target && target.account && target.account.extension;
      if (!(extension in accounts)) return {error: error(-32001, `Not authorized: ${extension}`)};
      if (method === 'subscribe') session.watched.add(extension);
      else session.watched.delete(extension);
    }
    return {result: true};
  }
  if (method === 'dial') {
    if (!params || typeof params.extension !== 'string') {
      return {error: error(-32602, 'Invalid params')};
    }
    dials += 1;
    const channel = {
      uniqueId: `node.${dials}`,
      status: 'starting',
      direction: 'toPbx',
      account: {extension: session.extension},
      remotes: [{callerIdNumber: params.extension}],
    };
    if (params.dialData !== undefined) channel.dialData = params.dialData;
    setImmediate(() => notify(session.extension, channel));
    return {result: true};
  }
  if (method === 'logout') {
    setImmediate(() => socket.disconnect(true));
    return {result: true};
  }
  return {error: error(-32601, 'Method not found')};
}

function notify(extension, params) {
  for (const socket of sockets()) {
    if (socket.switchvox.watched.has(extension)) {
      socket.emit('notification', {jsonrpc: '2.0', method: TOPIC, params});
    }
  }
}

function sockets() {
  const connected = io.sockets.connected;
  return Object.keys(connected).map((id) => connected[id]);
}

function control(request, response) {
  const reply = (status, body) => {
    response.writeHead(status, {'Content-Type': 'application/json'});
    response.end(JSON.stringify(body));
  };
  if (request.method === 'GET' && request.url === '/control/state') {
    return reply(200, {connections: sockets().length, engines: io.engine.clientsCount});
  }
  if (request.method !== 'POST' || request.url !== '/control') return reply(404, {});
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const command = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const broadcast = ['notify', 'burst', 'ignore'].includes(command.cmd);
    for (const socket of broadcast ? [] : sockets()) {
      if (command.cmd === 'raw') socket.conn.send(command.packet);
      else if (command.cmd === 'disconnect') socket.disconnect(false);
      else if (command.cmd === 'close') socket.conn.close();
    }
    if (command.cmd === 'notify') notify(command.extension, command.params);
    if (command.cmd === 'burst') {
      // Every notification in one tick: WebSocket frames back to back, one polling payload.
      command.burst.forEach((item) => notify(item.extension, item.params));
    }
    if (command.cmd === 'ignore') {
      if (command.value === false) ignored.delete(command.method);
      else ignored.add(command.method);
    }
    reply(200, {ok: true});
  });
  return undefined;
}

const server = http.createServer(control);
const io = socketio(server, {
  path: '/rtapi/socket.io',
  serveClient: false,
  pingInterval: Number(option('ping-interval', '25000')),
  pingTimeout: Number(option('ping-timeout', '60000')),
});

io.on('connection', (socket) => {
  socket.switchvox = {extension: null, watched: new Set()};
  socket.on('request', (request) => {
    if (!request || typeof request !== 'object' || ignored.has(request.method)) return;
    const outcome = handle(socket, request.method, request.params);
    socket.emit('response', Object.assign({jsonrpc: '2.0', id: request.id}, outcome));
  });
});

server.listen(Number(option('port', '0')), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({port: server.address().port})}\n`);
});
process.on('SIGTERM', () => process.exit(0));
