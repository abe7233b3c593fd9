import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import { VendorHttpClient, type TokenProvider, type VendorAttempt, type VendorHttpClientOptions } from '../../../src/sources/http/vendor-http-client.ts';
import { VendorHttpError, VendorNetworkError, VendorResponseError, VendorResponseTooLargeError } from '../../../src/errors.ts';
import { freePort } from '../../helpers/free-port.ts';

// Every test talks to a real node:http server on 127.0.0.1, port 0, that plays the vendor.

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

interface Vendor {
  url: string;
  seen: Seen[];
  /** TCP connections the server accepted. */
  sockets: () => number;
  /** Most requests the server was handling at the same time. */
  maxInFlight: () => number;
}

async function listen(t: TestContext, server: Server, handler: Handler, scheme: 'http' | 'https' = 'http'): Promise<Vendor> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => (inFlight -= 1));
      handler(req, res, seen.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as { port: number };
  return { url: `${scheme}://127.0.0.1:${port}`, seen, sockets: () => accepted, maxInFlight: () => maxInFlight };
}

function vendor(t: TestContext, handler: Handler): Promise<Vendor> {
  return listen(t, createHttpServer(), handler);
}

function send(res: ServerResponse, status: number, body: unknown = {}, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** A client with recorded, instant backoff sleeps unless the test asks otherwise. */
function client(t: TestContext, options: Partial<VendorHttpClientOptions> & { baseUrl: string }) {
  const sleeps: number[] = [];
  const attempts: VendorAttempt[] = [];
  const c = new VendorHttpClient({
    connector: 'jamf',
    retryBaseDelayMs: 100,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onAttempt: (info) => attempts.push(info),
    ...options,
  });
  t.after(() => c.close());
  return { c, sleeps, attempts };
}

class CountingTokens implements TokenProvider {
  fetched = 0;
  invalidated = 0;
  #current: string | undefined;
  constructor(readonly prefix = 'tok') {}
  async token(): Promise<string> {
    if (this.#current === undefined) {
      this.fetched += 1;
      this.#current = `${this.prefix}-${this.fetched}`;
    }
    return this.#current;
  }
  invalidate(): void {
    this.invalidated += 1;
    this.#current = undefined;
  }
}

test('500 twice, then 200: the request succeeds on the third attempt after backoffs within the jitter bounds', async (t) => {
  const v = await vendor(t, (_req, res, n) => (n <= 2 ? send(res, 500, 'boom') : send(res, 200, { ok: true })));
  const { c, sleeps, attempts } = client(t, { baseUrl: v.url, retryBaseDelayMs: 100 });
  const res = await c.request({ method: 'GET', path: '/api/v1/things' });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json(), { ok: true });
  assert.equal(v.seen.length, 3);
  assert.equal(c.requests, 3);
  assert.equal(c.retries, 2);
  assert.equal(sleeps.length, 2);
  assert.ok(sleeps[0]! >= 0 && sleeps[0]! < 100, `first backoff ${sleeps[0]}`);
  assert.ok(sleeps[1]! >= 0 && sleeps[1]! < 200, `second backoff ${sleeps[1]}`);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.status, a.path]),
    [
      [1, 500, '/api/v1/things'],
      [2, 500, '/api/v1/things'],
      [3, 200, '/api/v1/things'],
    ],
  );
});

test('5xx on every attempt fails with VendorHttpError carrying the last status after maxAttempts', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 503, '<html>Service Unavailable</html>'));
  const { c } = client(t, { baseUrl: v.url, maxAttempts: 3 });
  await assert.rejects(c.request({ method: 'GET', path: '/api/v1/things?page=2' }), (err: unknown) => {
    assert.ok(err instanceof VendorHttpError);
    assert.equal(err.code, 'ORCHARD_ERR_VENDOR_HTTP_STATUS');
    assert.equal(err.status, 503);
    assert.equal(err.path, '/api/v1/things');
    assert.equal(err.message, 'jamf: GET /api/v1/things answered 503: <html>Service Unavailable</html>');
    return true;
  });
  assert.equal(v.seen.length, 3);
});

test('429 with Retry-After: 1 waits 1000 ms before the retry', async (t) => {
  const v = await vendor(t, (_req, res, n) => (n === 1 ? send(res, 429, 'slow down', { 'retry-after': '1' }) : send(res, 200, [])));
  const { c, sleeps } = client(t, { baseUrl: v.url });
  const res = await c.request({ method: 'GET', path: '/x' });
  assert.equal(res.status, 200);
  assert.deepEqual(sleeps, [1000]);
});

test('429 with Retry-After: 1 really waits about a second with the default sleep', async (t) => {
  const v = await vendor(t, (_req, res, n) => (n === 1 ? send(res, 429, '', { 'retry-after': '1' }) : send(res, 200, [])));
  const c = new VendorHttpClient({ baseUrl: v.url, connector: 'jamf' });
  t.after(() => c.close());
  const started = performance.now();
  const res = await c.request({ method: 'GET', path: '/x' });
  const elapsedMs = performance.now() - started;
  assert.equal(res.status, 200);
  assert.ok(elapsedMs >= 950 && elapsedMs < 2500, `waited ${elapsedMs} ms`);
});

test('429 with Retry-After as an HTTP date waits until that date', async (t) => {
  const v = await vendor(t, (_req, res, n) =>
    n === 1 ? send(res, 429, '', { 'retry-after': new Date(Date.now() + 3000).toUTCString() }) : send(res, 200, []),
  );
  const { c, sleeps } = client(t, { baseUrl: v.url });
  await c.request({ method: 'GET', path: '/x' });
  assert.equal(sleeps.length, 1);
  // HTTP dates have whole seconds: the wait is between 2 and 3 s.
  assert.ok(sleeps[0]! > 1900 && sleeps[0]! <= 3000, `waited ${sleeps[0]} ms`);
});

test('429 without Retry-After backs off with jitter', async (t) => {
  const v = await vendor(t, (_req, res, n) => (n === 1 ? send(res, 429) : send(res, 200, [])));
  const { c, sleeps } = client(t, { baseUrl: v.url, retryBaseDelayMs: 100, random: () => 0.5 });
  await c.request({ method: 'GET', path: '/x' });
  assert.deepEqual(sleeps, [50]);
});

test('429 on every attempt fails with VendorHttpError 429 and the Retry-After after maxAttempts', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 429, 'rate limited', { 'retry-after': '2' }));
  const { c, sleeps } = client(t, { baseUrl: v.url, maxAttempts: 3 });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), (err: unknown) => {
    assert.ok(err instanceof VendorHttpError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 2000);
    return true;
  });
  assert.equal(v.seen.length, 3);
  assert.deepEqual(sleeps, [2000, 2000]);
});

test('a Retry-After longer than maxRetryAfterMs fails at once instead of stalling', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 429, '', { 'retry-after': '3600' }));
  const { c, sleeps } = client(t, { baseUrl: v.url, maxRetryAfterMs: 60_000 });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), (err: unknown) => {
    assert.ok(err instanceof VendorHttpError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 3_600_000);
    return true;
  });
  assert.equal(v.seen.length, 1);
  assert.deepEqual(sleeps, []);
});

test('401 on an auth request: the token is invalidated, a new one fetched, and the retry succeeds', async (t) => {
  const v = await vendor(t, (req, res) =>
    req.headers.authorization === 'Bearer tok-2' ? send(res, 200, { results: [] }) : send(res, 401, { error: 'expired' }),
  );
  const tokens = new CountingTokens();
  const { c, sleeps } = client(t, { baseUrl: v.url, tokens });
  const res = await c.request({ method: 'GET', path: '/api/v1/computers-inventory', auth: true });
  assert.equal(res.status, 200);
  assert.equal(tokens.fetched, 2);
  assert.equal(tokens.invalidated, 1);
  assert.deepEqual(
    v.seen.map((s) => s.headers.authorization),
    ['Bearer tok-1', 'Bearer tok-2'],
  );
  assert.deepEqual(sleeps, [], 'a token refresh needs no backoff');
});

test('401 twice on an auth request fails with 401 after fetching exactly two tokens', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 401, { httpStatus: 401, errors: [] }));
  const tokens = new CountingTokens();
  const { c } = client(t, { baseUrl: v.url, tokens });
  await assert.rejects(c.request({ method: 'GET', path: '/api/v1/computers-inventory', auth: true }), (err: unknown) => {
    assert.ok(err instanceof VendorHttpError);
    assert.equal(err.status, 401);
    return true;
  });
  assert.equal(tokens.fetched, 2);
  assert.equal(v.seen.length, 2);
});

test('401 on a request without auth is not retried', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 401, { error: 'invalid_client' }));
  const { c } = client(t, { baseUrl: v.url });
  await assert.rejects(c.request({ method: 'POST', path: '/api/oauth/token', body: 'grant_type=client_credentials' }), { status: 401 });
  assert.equal(v.seen.length, 1);
});

test('a custom authorize sends the raw token (Jamf Protect)', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200, { data: {} }));
  const { c } = client(t, { baseUrl: v.url, tokens: new CountingTokens('raw'), authorize: (token) => ({ Authorization: token }) });
  await c.request({ method: 'POST', path: '/graphql', body: '{"query":"{}"}', auth: true });
  assert.equal(v.seen[0]!.headers.authorization, 'raw-1');
  assert.equal(v.seen[0]!.headers['content-type'], 'application/json');
  assert.equal(v.seen[0]!.body, '{"query":"{}"}');
});

test('a token provider can send its token request through the same client without a deadlock', async (t) => {
  const v = await vendor(t, (req, res) => {
    if (req.url === '/token') return send(res, 200, { access_token: 'fresh-token-1' });
    setTimeout(() => send(res, req.headers.authorization === 'Bearer fresh-token-1' ? 200 : 401, {}), 5);
  });
  const { c } = client(t, { baseUrl: v.url, maxConnections: 1 });
  let pending: Promise<string> | undefined;
  c.setTokens({
    token: (signal) => (pending ??= c.request({ method: 'POST', path: '/token', body: '{}' }, signal).then((r) => r.json<{ access_token: string }>().access_token)),
    invalidate: () => (pending = undefined),
  });
  const answers = await Promise.all(Array.from({ length: 4 }, () => c.request({ method: 'GET', path: '/data', auth: true })));
  assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200]);
  assert.equal(v.seen.filter((s) => s.url === '/token').length, 1);
});

test('403 is not retried and names the method, path and status', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 403, { httpStatus: 403, errors: [{ code: 'INVALID_PRIVILEGE' }] }));
  const { c, sleeps } = client(t, { baseUrl: v.url, tokens: new CountingTokens() });
  await assert.rejects(c.request({ method: 'GET', path: '/api/v1/computers-inventory', query: { page: 0 }, auth: true }), (err: unknown) => {
    assert.ok(err instanceof VendorHttpError);
    assert.equal(err.status, 403);
    assert.equal(err.connector, 'jamf');
    assert.match(err.message, /^jamf: GET \/api\/v1\/computers-inventory answered 403: .*INVALID_PRIVILEGE/);
    return true;
  });
  assert.equal(v.seen.length, 1);
  assert.deepEqual(sleeps, []);
});

test('404 is not retried', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 404, 'Not Found'));
  const { c } = client(t, { baseUrl: v.url });
  await assert.rejects(c.request({ method: 'GET', path: '/nope' }), { code: 'ORCHARD_ERR_VENDOR_HTTP_STATUS', status: 404 });
  assert.equal(v.seen.length, 1);
});

test('a connection the server resets is retried', async (t) => {
  const v = await vendor(t, (req, res, n) => (n === 1 ? req.socket.destroy() : send(res, 200, { ok: 1 })));
  const { c, attempts } = client(t, { baseUrl: v.url });
  const res = await c.request({ method: 'GET', path: '/x' });
  assert.equal(res.status, 200);
  assert.equal(v.seen.length, 2);
  assert.equal(attempts[0]!.error, 'UND_ERR_SOCKET');
  assert.equal(attempts[0]!.status, undefined);
});

test('a closed port fails with VendorNetworkError ECONNREFUSED after maxAttempts', async (t) => {
  const port = await freePort();
  const { c, sleeps } = client(t, { baseUrl: `http://127.0.0.1:${port}`, maxAttempts: 3 });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), (err: unknown) => {
    assert.ok(err instanceof VendorNetworkError);
    assert.equal(err.code, 'ORCHARD_ERR_VENDOR_NETWORK');
    assert.equal(err.errorCode, 'ECONNREFUSED');
    assert.equal(err.tls, false);
    assert.equal(err.message, 'jamf: GET /x failed: ECONNREFUSED');
    assert.ok(err.cause instanceof Error);
    return true;
  });
  assert.equal(c.requests, 3);
  assert.equal(sleeps.length, 2);
});

// undici runs headers and body timeouts on its coarse "fast timers" (ticks of about 0.5 s), so a
// 100 ms timeout fires after 0.5 to 1.5 s.
test('a server that never answers fails with UND_ERR_HEADERS_TIMEOUT after the attempts', async (t) => {
  const v = await vendor(t, () => {});
  const { c } = client(t, { baseUrl: v.url, timeoutMs: 100, maxAttempts: 2 });
  const started = performance.now();
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), (err: unknown) => {
    assert.ok(err instanceof VendorNetworkError);
    assert.equal(err.errorCode, 'UND_ERR_HEADERS_TIMEOUT');
    return true;
  });
  assert.equal(v.seen.length, 2);
  assert.ok(performance.now() - started < 5000);
});

test('a body that stalls fails with UND_ERR_BODY_TIMEOUT', async (t) => {
  const v = await vendor(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
  });
  const { c } = client(t, { baseUrl: v.url, timeoutMs: 100, maxAttempts: 1 });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), { errorCode: 'UND_ERR_BODY_TIMEOUT' });
});

test('a self-signed certificate fails at once with a TLS VendorNetworkError', async (t) => {
  const server = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT });
  const v = await listen(t, server, (_req, res) => send(res, 200, {}), 'https');
  const { c, sleeps } = client(t, { baseUrl: v.url });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), (err: unknown) => {
    assert.ok(err instanceof VendorNetworkError);
    assert.equal(err.errorCode, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(err.tls, true);
    assert.match(err.message, /\(TLS\)/);
    return true;
  });
  assert.equal(c.requests, 1);
  assert.deepEqual(sleeps, []);

  // The same server is fine once its certificate is trusted (what adding a CA does).
  const agent = new Agent({ connect: { ca: TEST_CERT } });
  t.after(() => agent.close());
  const trusting = client(t, { baseUrl: v.url, dispatcher: agent });
  assert.equal((await trusting.c.request({ method: 'GET', path: '/x' })).status, 200);
});

test('https:// to a server that speaks plain HTTP is a TLS error and not retried', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200, {}));
  const { c } = client(t, { baseUrl: v.url.replace('http:', 'https:') });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), { tls: true, errorCode: 'ERR_SSL_WRONG_VERSION_NUMBER' });
  assert.equal(c.requests, 1);
});

test('a host name that does not resolve (ENOTFOUND) is not retried', async (t) => {
  const notFound = (hostname: string, _options: unknown, callback: (err: Error) => void) =>
    callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }));
  const agent = new Agent({ connect: { lookup: notFound as never } });
  t.after(() => agent.close());
  const { c } = client(t, { baseUrl: 'http://jamf.example.invalid', dispatcher: agent });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }), { code: 'ORCHARD_ERR_VENDOR_NETWORK', errorCode: 'ENOTFOUND', tls: false });
  assert.equal(c.requests, 1);
});

test('an abort during a slow response rejects at once with the abort reason', async (t) => {
  const v = await vendor(t, () => {});
  const { c } = client(t, { baseUrl: v.url });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const started = performance.now();
  await assert.rejects(c.request({ method: 'GET', path: '/slow' }, controller.signal), { name: 'AbortError' });
  assert.ok(performance.now() - started < 1000);
  assert.equal(v.seen.length, 1);
});

test('an abort during a backoff sleep rejects at once with the abort reason', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 500, 'down'));
  const controller = new AbortController();
  const reason = new Error('shutting down');
  const c = new VendorHttpClient({
    baseUrl: v.url,
    connector: 'jamf',
    retryBaseDelayMs: 60_000,
    random: () => 0.99,
    onAttempt: () => setTimeout(() => controller.abort(reason), 20),
  });
  t.after(() => c.close());
  const started = performance.now();
  await assert.rejects(c.request({ method: 'GET', path: '/x' }, controller.signal), (err) => err === reason);
  assert.ok(performance.now() - started < 1000);
  assert.equal(v.seen.length, 1);
});

test('an already aborted signal sends nothing', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200));
  const { c } = client(t, { baseUrl: v.url });
  await assert.rejects(c.request({ method: 'GET', path: '/x' }, AbortSignal.abort()), { name: 'AbortError' });
  assert.equal(v.seen.length, 0);
});

for (const kind of ['its own pool', 'a passed Agent'] as const) {
  test(`with ${kind}, at most maxConnections of 20 simultaneous requests reach the server`, async (t) => {
    const v = await vendor(t, (_req, res) => setTimeout(() => send(res, 200, { ok: true }), 20));
    const agent = kind === 'a passed Agent' ? new Agent() : undefined;
    if (agent) t.after(() => agent.close());
    const { c } = client(t, { baseUrl: v.url, maxConnections: 5, dispatcher: agent });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request({ method: 'GET', path: `/item/${i}` })));
    assert.equal(answers.length, 20);
    assert.equal(v.seen.length, 20);
    assert.equal(v.maxInFlight(), 5);
  });
}

test('an abort while queued for a connection leaves the queue', async (t) => {
  const v = await vendor(t, (_req, res) => setTimeout(() => send(res, 200), 100));
  const { c } = client(t, { baseUrl: v.url, maxConnections: 1 });
  const first = c.request({ method: 'GET', path: '/1' });
  const controller = new AbortController();
  const queued = c.request({ method: 'GET', path: '/2' }, controller.signal);
  controller.abort();
  await assert.rejects(queued, { name: 'AbortError' });
  assert.equal((await first).status, 200);
  assert.equal((await c.request({ method: 'GET', path: '/3' })).status, 200);
  assert.deepEqual(v.seen.map((s) => s.url), ['/1', '/3']);
});

// An unread 64 KiB body holds its socket: without reading, five requests would take the five
// connections and the sixth would wait forever.
test('every body is read: 21 retried 500s with 64 KiB bodies and 3 successes reuse keep-alive sockets', { timeout: 5000 }, async (t) => {
  const big = 'x'.repeat(64 * 1024);
  const v = await vendor(t, (_req, res, n) => (n % 8 === 0 ? send(res, 200, { n }) : send(res, 500, big)));
  const { c } = client(t, { baseUrl: v.url, maxAttempts: 8 });
  for (let i = 0; i < 3; i++) assert.equal((await c.request({ method: 'GET', path: '/x' })).status, 200);
  assert.equal(v.seen.length, 24);
  assert.equal(c.retries, 21);
  // undici opens a second connection for the second request (the first is not yet marked free
  // when the next request is dispatched), then reuses the two.
  assert.ok(v.sockets() <= 2, `${v.sockets()} sockets for 24 requests`);
});

test('no token or secret reaches an error message, a body excerpt or onAttempt', async (t) => {
  const token = 'SEKRIT-TOKEN-0123456789abcdef';
  const apiKey = 'APIKEY-9876543210fedcba';
  const v = await vendor(t, (req, res) =>
    send(res, 403, {
      echoed: req.headers.authorization,
      key: req.headers['x-api-key'],
      access_token: 'another-token-from-the-vendor',
      note: `client_secret=${'s3cr3t-value'}&x=1`,
    }),
  );
  const tokens: TokenProvider = { token: async () => token, invalidate: () => {} };
  const { c, attempts } = client(t, { baseUrl: v.url, tokens });
  const err = await c
    .request({ method: 'GET', path: '/x', query: { api_key: apiKey }, headers: { 'x-api-key': apiKey }, auth: true })
    .then(() => assert.fail('should have failed'), (e: unknown) => e);
  assert.ok(err instanceof VendorHttpError);
  assert.equal(v.seen[0]!.headers.authorization, `Bearer ${token}`, 'the token was sent');
  const everything = [err.message, err.bodyExcerpt, err.path, JSON.stringify(err), String(err.stack), JSON.stringify(attempts)].join('\n');
  for (const secret of [token, apiKey, 'another-token-from-the-vendor', 's3cr3t-value']) {
    assert.ok(!everything.includes(secret), `${secret} leaked`);
  }
  assert.match(err.bodyExcerpt, /\[REDACTED\]/);
});

test('a base URL with a path prefix is joined with and without slashes', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200, {}));
  for (const [base, path] of [
    ['/prefix', '/api/v1/a'],
    ['/prefix/', 'api/v1/b'],
    ['/prefix/', '/api/v1/c'],
    ['', 'api/v1/d'],
  ] as const) {
    const { c } = client(t, { baseUrl: `${v.url}${base}` });
    await c.request({ method: 'GET', path });
  }
  assert.deepEqual(
    v.seen.map((s) => s.url),
    ['/prefix/api/v1/a', '/prefix/api/v1/b', '/prefix/api/v1/c', '/api/v1/d'],
  );
});

test('query arrays become repeated parameters; undefined values are left out; values are encoded', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200, {}));
  const { c } = client(t, { baseUrl: `${v.url}/p` });
  await c.request({
    method: 'GET',
    path: '/api/v1/computers-inventory?x=1',
    query: { section: ['GENERAL', 'HARDWARE'], page: 0, 'page-size': 100, sort: 'id:asc', filter: 'general.name=="a b"', skip: undefined },
  });
  assert.equal(
    v.seen[0]!.url,
    '/p/api/v1/computers-inventory?x=1&section=GENERAL&section=HARDWARE&page=0&page-size=100&sort=id%3Aasc&filter=general.name%3D%3D%22a%20b%22',
  );
  const params = new URL(v.seen[0]!.url, 'http://h').searchParams;
  assert.deepEqual(params.getAll('section'), ['GENERAL', 'HARDWARE']);
  assert.equal(params.get('filter'), 'general.name=="a b"');
});

test('json() of a body that is not JSON throws VendorResponseError naming the path', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200, '<html>login</html>'));
  const { c } = client(t, { baseUrl: v.url });
  const res = await c.request({ method: 'GET', path: '/api/v1/computers-inventory', query: { page: 3 } });
  assert.equal(res.body, '<html>login</html>');
  assert.throws(() => res.json(), (err: unknown) => {
    assert.ok(err instanceof VendorResponseError);
    assert.equal(err.code, 'ORCHARD_ERR_VENDOR_BAD_RESPONSE');
    assert.match(err.message, /GET \/api\/v1\/computers-inventory /);
    assert.doesNotMatch(err.message, /page=/);
    return true;
  });
});

test('the body is read as UTF-8 across chunk boundaries, a leading byte-order mark dropped; ASCII bodies read the same', async (t) => {
  const text = JSON.stringify([{ name: 'Zoë Ångström', city: 'Zürich', note: '日本語 🍏' }]);
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
  const ascii = JSON.stringify([{ name: 'plain', n: 1 }]);
  const v = await vendor(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === '/ascii') return res.end(ascii);
    // Three bytes at a time after the byte-order mark: chunks split the multi-byte characters.
    let i = 0;
    const next = () => {
      if (i >= bytes.length) return res.end();
      res.write(bytes.subarray(i, i + 3));
      i += 3;
      setImmediate(next);
    };
    next();
  });
  const { c } = client(t, { baseUrl: v.url });
  const res = await c.request({ method: 'GET', path: '/utf8' });
  assert.equal(res.body, text);
  assert.deepEqual(res.json(), JSON.parse(text));
  assert.equal((await c.request({ method: 'GET', path: '/ascii' })).body, ascii);
});

test('a 2xx answer larger than maxResponseBytes fails with VendorResponseTooLargeError, not retried; one of exactly that size is read', async (t) => {
  const limit = 2 * 1024 * 1024;
  const exact = `"${'x'.repeat(limit - 2)}"`;
  const v = await vendor(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/exact' ? exact : `${exact} `);
  });
  assert.equal(Buffer.byteLength(exact), limit);
  const { c, attempts } = client(t, { baseUrl: v.url, maxResponseBytes: limit });
  await assert.rejects(c.request({ method: 'POST', path: '/insights/directory/v1/events', body: '{}' }), (err: unknown) => {
    assert.ok(err instanceof VendorResponseTooLargeError);
    assert.equal(err.code, 'ORCHARD_ERR_VENDOR_RESPONSE_TOO_LARGE');
    assert.equal(err.status, 200);
    assert.match(err.message, /POST \/insights\/directory\/v1\/events answered HTTP 200 with more than 2097152 bytes/);
    return true;
  });
  assert.deepEqual(
    attempts.map((a) => [a.status, a.error]),
    [[200, 'TOO_LARGE']],
  );
  // The client goes on: the oversized answer's socket was given up, not left half-read.
  assert.equal((await c.request({ method: 'GET', path: '/exact' })).body, exact);
});

test('a 5xx answer larger than maxResponseBytes keeps an excerpt and is retried as a 5xx', async (t) => {
  const v = await vendor(t, (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/html' });
    res.end(`<html>maintenance${' '.repeat(3 * 1024 * 1024)}</html>`);
  });
  const { c, attempts } = client(t, { baseUrl: v.url, maxResponseBytes: 1024 * 1024, maxAttempts: 2 });
  await assert.rejects(c.request({ method: 'GET', path: '/api/v1/computers-inventory' }), (err: unknown) => {
    assert.ok(err instanceof VendorHttpError);
    assert.equal(err.status, 503);
    assert.match(err.bodyExcerpt, /^<html>maintenance/);
    return true;
  });
  assert.deepEqual(
    attempts.map((a) => a.status),
    [503, 503],
  );
});

test('close() leaves a passed-in dispatcher open', async (t) => {
  const v = await vendor(t, (_req, res) => send(res, 200, {}));
  const agent = new Agent();
  t.after(() => agent.close());
  const { c } = client(t, { baseUrl: v.url, dispatcher: agent });
  await c.request({ method: 'GET', path: '/x' });
  await c.close();
  const res = await agent.request({ origin: v.url, path: '/y', method: 'GET' });
  await res.body.dump();
  assert.equal(res.statusCode, 200);
});

test('the constructor rejects a base URL with credentials or a query', () => {
  assert.throws(() => new VendorHttpClient({ baseUrl: 'https://u:p@x.example', connector: 'j' }), TypeError);
  assert.throws(() => new VendorHttpClient({ baseUrl: 'https://x.example/?a=1', connector: 'j' }), TypeError);
  assert.throws(() => new VendorHttpClient({ baseUrl: 'ftp://x.example', connector: 'j' }), TypeError);
});

// A self-signed certificate for localhost and 127.0.0.1 (valid until 2126), made for this test only.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbKuU8ofupIp4OP+m
mzKGAIoLY0Bo+rh1KYkrg6SbGrmhRANCAATW4Osb2MqGMMTSTGCTriB4+S/Gac5s
3rO2PJm9Zl3Rbt9UpvmzhlkiYcaJPDbCu5mfhScmzVH604gD4RVeitqs
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUWozGcjMXakOosaWVCHDdSQB0bcgwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjAwMzYxM1oYDzIxMjYxMDI5
MDAzNjEzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATW4Osb2MqGMMTSTGCTriB4+S/Gac5s3rO2PJm9Zl3Rbt9Upvmzhlki
YcaJPDbCu5mfhScmzVH604gD4RVeitqso28wbTAdBgNVHQ4EFgQUvU+M1CHU+8Q7
zoBWvUGfoyITi44wHwYDVR0jBBgwFoAUvU+M1CHU+8Q7zoBWvUGfoyITi44wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgIoHpWCipqA+DfsmK/umGXuvIcAtv3aPzgZPlmPb2D+cCIQDH
IjzG7PDPGZO0lQZR3F3kd6Kfr/jDF1YIQ0oi+EYiBw==
-----END CERTIFICATE-----
`;
