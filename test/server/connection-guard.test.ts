import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { ConnectionGuard } from '../../src/server/connection-guard.ts';

// Who may hold connections open (src/server/connection-guard.ts), decided when a connection is
// accepted, on a real server with clients on different loopback addresses.

let server: Server;
let port = 0;
let guard: ConnectionGuard;
const refused: string[] = [];
let now = 1_000_000;

before(async () => {
  guard = new ConnectionGuard({ perAddress: 3, trusted: ['127.0.0.64/26'], onRefused: (a) => refused.push(a), now: () => now });
  server = createServer((req, res) => {
    if (req.headers['x-key'] === 'right') guard.authenticated(req.socket);
    res.end('ok');
  });
  guard.attach(server, 0);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A connection from `localAddress`; resolves once it is open, with whether the server closed it at once. */
function open(localAddress: string): Promise<{ socket: Socket; closedAtOnce: () => Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      const closed = new Promise<boolean>((r) => {
        socket.once('close', () => r(true));
        // A connection the server keeps answers a request; one it closed ends instead.
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        socket.once('data', () => r(false));
      });
      resolve({ socket, closedAtOnce: () => closed });
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

/** An idle connection (no request yet): it holds a place in its address's budget. */
function idle(localAddress: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.on('error', () => {});
  });
}

async function held(address: string, count: number): Promise<void> {
  for (let i = 0; i < 200 && guard.unauthenticated(address) !== count; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(guard.unauthenticated(address), count);
}

test('an address holds at most its budget of unauthenticated connections; others are closed when accepted, other addresses unaffected', async (t) => {
  const sockets = await Promise.all([idle('127.0.0.10'), idle('127.0.0.10'), idle('127.0.0.10')]);
  t.after(() => sockets.forEach((s) => s.destroy()));
  await held('127.0.0.10', 3);
  const fourth = await open('127.0.0.10');
  assert.equal(await fourth.closedAtOnce(), true);
  assert.deepEqual(refused, ['127.0.0.10']);
  const other = await open('127.0.0.11');
  assert.equal(await other.closedAtOnce(), false, 'another address has its own budget');
  other.socket.destroy();
  // A closed connection frees its place.
  sockets[0]!.destroy();
  await held('127.0.0.10', 2);
  const again = await open('127.0.0.10');
  assert.equal(await again.closedAtOnce(), false);
  again.socket.destroy();
});

test('a connection that authenticates stops counting, and its address escapes the budget for half an hour', async (t) => {
  const address = '127.0.0.20';
  const sockets = await Promise.all([idle(address), idle(address), idle(address)]);
  t.after(() => sockets.forEach((s) => s.destroy()));
  await held(address, 3);
  const answered = new Promise((r) => sockets[0]!.once('data', r));
  sockets[0]!.write('GET / HTTP/1.1\r\nHost: x\r\nX-Key: right\r\n\r\n');
  await answered;
  assert.equal(guard.unauthenticated(address), 2, 'the authenticated connection no longer counts');
  const extra = await Promise.all(Array.from({ length: 5 }, () => open(address)));
  for (const e of extra) assert.equal(await e.closedAtOnce(), false, 'a learned address is not refused');
  extra.forEach((e) => e.socket.destroy());
  now += 31 * 60 * 1000;
  const more = await Promise.all([idle(address), idle(address), idle(address), idle(address)]);
  t.after(() => more.forEach((s) => s.destroy()));
  const late = await open(address);
  assert.equal(await late.closedAtOnce(), true, 'after half an hour without credentials the budget applies again');
});

test('trusted addresses (CIDRs) are never refused', async (t) => {
  const sockets = await Promise.all(Array.from({ length: 10 }, () => idle('127.0.0.70')));
  t.after(() => sockets.forEach((s) => s.destroy()));
  const one = await open('127.0.0.70');
  assert.equal(await one.closedAtOnce(), false);
  one.socket.destroy();
  assert.equal(guard.unauthenticated('127.0.0.70'), 0);
});

test('an invalid trusted address is refused when the guard is made', () => {
  assert.throws(() => new ConnectionGuard({ perAddress: 1, trusted: ['10.0.0.0/33'] }), /10\.0\.0\.0\/33 is not an IP address or CIDR/);
  assert.throws(() => new ConnectionGuard({ perAddress: 1, trusted: ['jamf.example.com'] }), /not an IP address or CIDR/);
});

test('the total cap keeps its last tenth for exempt addresses: a flood from many addresses still leaves Jamf room', async (t) => {
  const refusedHere: string[] = [];
  const total = createServer((_req, res) => res.end('ok'));
  const guarded = new ConnectionGuard({ perAddress: 2, trusted: ['127.0.1.200/32'], onRefused: (a) => refusedHere.push(a) });
  guarded.attach(total, 10);
  await new Promise<void>((r) => total.listen(0, '127.0.0.1', r));
  const totalPort = (total.address() as { port: number }).port;
  t.after(async () => {
    total.closeAllConnections();
    await new Promise((r) => total.close(r));
  });
  const dial = (localAddress: string) =>
    new Promise<Socket>((resolve) => {
      const socket = connect({ port: totalPort, host: '127.0.0.1', localAddress }, () => resolve(socket));
      socket.on('error', () => {});
    });
  const settled = async (count: number) => {
    for (let i = 0; i < 400 && guarded.total !== count; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(guarded.total, count);
  };
  // Nine strangers on five addresses (2 each, within their budget) fill what strangers may hold: 10 less a tenth.
  const strangers = await Promise.all(['1', '1', '2', '2', '3', '3', '4', '4', '5'].map((n) => dial(`127.0.1.${n}`)));
  t.after(() => strangers.forEach((s) => s.destroy()));
  await settled(9);
  const late = await dial('127.0.1.6');
  t.after(() => late.destroy());
  await new Promise((r) => late.once('close', r));
  assert.deepEqual(refusedHere, ['127.0.1.6'], 'a tenth stranger is refused although its own budget is untouched');
  const jamf = await dial('127.0.1.200');
  t.after(() => jamf.destroy());
  await settled(10);
  const over = await dial('127.0.1.200');
  t.after(() => over.destroy());
  await new Promise((r) => over.once('close', r));
  assert.deepEqual(refusedHere, ['127.0.1.6', '127.0.1.200'], 'past max_connections even a trusted address is refused');
  strangers[0]!.destroy();
  await settled(9);
});
