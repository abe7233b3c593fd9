import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { readStream, testSecret, useTestApp } from '../helpers/test-app.ts';

// The gate in front of Fastify (src/server/intake-gate.ts), on a listening server: refused requests are
// answered from prepared bytes and their connection closed, so pipelining buys an attacker nothing.

const ctx = useTestApp({ ORCHARD_AUTH_FAILURE_LIMIT: '1000', ORCHARD_LOG_SUMMARY_INTERVAL_MS: '100' });
let port = 0;

const unauthenticated = (n: number) =>
  'POST /jamf-pro-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'.repeat(n);

/** Everything the server sends on one connection until it closes it. */
function exchange(bytes: string, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', localAddress }, () => socket.write(bytes));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

function webhook(serial: string): string {
  return JSON.stringify({ webhook: { id: 1, name: 'gate', webhookEvent: 'ComputerCheckIn', eventTimestamp: 1725007720123 }, event: { computer: { serialNumber: serial, udid: serial }, trigger: 'CHECKIN', username: 'u' } });
}

/** Posts a webhook with the secret from `localAddress` on the agent's kept-alive connections. */
function post(agent: Agent, body: string, localAddress = '127.0.0.2'): Promise<{ status: number; connection: string | undefined; socketReused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { port, host: '127.0.0.1', localAddress, method: 'POST', path: '/jamf-pro-events', agent, headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, socketReused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('intake gate', () => {
  before(async () => {
    await ctx.t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (ctx.t.app.server.address() as { port: number }).port;
  });
  after(() => ctx.t.app.server.closeAllConnections());

  test('a request without credentials is answered 401 once and its connection closed: what it pipelined after is never answered', async () => {
    const before = (await ctx.t.app.inject({ url: '/metrics' })).body.match(/orchard_auth_failures_total\{route="\/jamf-pro-events"\} (\d+)/)?.[1];
    const text = await exchange(unauthenticated(200));
    assert.equal(text.split('HTTP/1.1 ').length - 1, 1, 'one answer for 200 pipelined requests');
    assert.match(text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/i);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    const fromFastify = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json' }, payload: '{}' });
    assert.deepEqual(JSON.parse(body), fromFastify.json(), 'the same answer as the route itself gives');
    for (const header of ['x-content-type-options', 'content-security-policy', 'strict-transport-security']) assert.match(text, new RegExp(`\\r\\n${header}: `, 'i'), header);
    const after = (await ctx.t.app.inject({ url: '/metrics' })).body.match(/orchard_auth_failures_total\{route="\/jamf-pro-events"\} (\d+)/)?.[1];
    assert.equal(Number(after) - Number(before ?? 0), 2, 'counted once for the connection (and once for the inject)');
  });

  test('a path the listener does not serve is answered 404, as Fastify answers it, and closed', async () => {
    const text = await exchange('GET /wp-login.php?x=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(text.split('HTTP/1.1 ').length - 1, 1);
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(body, (await ctx.t.app.inject({ url: '/wp-login.php?x=1' })).json());
    assert.equal(body.message, 'No route for GET /wp-login.php.');
  });

  test('a push route asked with another method is answered 404 here and closed', async () => {
    const text = await exchange('GET /jamf-pro-events HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(20));
    assert.equal(text.split('HTTP/1.1 ').length - 1, 1, 'one answer for 20 pipelined requests');
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).message, 'No route for GET /jamf-pro-events.');
  });

  test('an operations route on a connection that never authenticated is answered once and the connection closed', async () => {
    const text = await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50));
    assert.equal(text.split('HTTP/1.1 ').length - 1, 1, 'one answer for 50 pipelined requests');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });

  test('an operations route on an authenticated connection keeps it open', async () => {
    const check = `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`;
    const hook = webhook('OPS1');
    const authenticated = `POST /jamf-pro-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Orchard-Secret: ${testSecret}\r\nContent-Length: ${Buffer.byteLength(hook)}\r\n\r\n${hook}`;
    const text = await exchange(authenticated + check + check + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(text.split('HTTP/1.1 ').length - 1, 4, 'every request answered on the one connection');
  });

  test('an address past the failed-authentication limit is answered 429 with Retry-After, still closed', async () => {
    const local = '127.0.0.5';
    let last = '';
    for (let i = 0; i <= 1000; i++) last = await exchange(unauthenticated(1), local);
    assert.match(last, /^HTTP\/1\.1 429 /);
    assert.match(last, /\r\nretry-after: \d+\r\n/i);
    assert.match(last, /ORCHARD_ERR_INTAKE_AUTH_THROTTLED/);
  });

  test('authenticated webhooks keep their connection open', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await post(agent, webhook(`KEEP${i}`)));
      assert.deepEqual(answers.map((a) => a.status), [202, 202, 202]);
      assert.ok(answers.slice(1).every((a) => a.socketReused), 'the same connection carried them all');
    } finally {
      agent.destroy();
    }
  });

  test('while connections pipeline unauthenticated requests, every legitimate webhook is answered 2xx and appended once', async () => {
    const flood = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) await Promise.all(Array.from({ length: 8 }, () => exchange(unauthenticated(64))));
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const linesBefore = ctx.t.logs.length;
    const started = Date.now();
    try {
      const attack = flood(40);
      const answers = await Promise.all(Array.from({ length: 100 }, (_v, i) => post(agent, webhook(`LEGIT-${i}`))));
      await attack;
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]));
      const serials = (await readStream(ctx.t.redis, ctx.t.config.stream)).map((e) => JSON.parse(e.fields.payload!).event.computer.serialNumber as string).filter((s) => s.startsWith('LEGIT-'));
      assert.equal(serials.length, 100);
      assert.equal(new Set(serials).size, 100);
    } finally {
      agent.destroy();
    }
    // 320 refused connections (20,480 requests pipelined) leave at most one summary line per interval
    // (100 ms here), not a line each.
    const lines = ctx.t.logs.slice(linesBefore);
    assert.equal(lines.filter((l) => l.status === 401 || l.status === 429).length, 0);
    const summaries = lines.filter((l) => typeof l.answers === 'object');
    const intervals = Math.ceil((Date.now() - started) / 100) + 1;
    assert.ok(summaries.length <= intervals, `${summaries.length} summary lines in ${intervals} intervals`);
  });
});
