import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pool } from 'undici';
import { sha256 } from '../../src/sha256.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import { TestRedis, type TestRedisOptions } from '../helpers/redis-server.ts';
import { buildTestApp, readStream, testSecret, waitForReady, type TestApp } from '../helpers/test-app.ts';

// The push routes with the spool on, against a real redis-server that the tests kill, freeze and
// restart: nothing is refused while Redis is away, and once it is back each event is in the stream once.

const headers = { 'content-type': 'application/json', 'x-orchard-secret': testSecret };
let n = 0;
const body = (tag = 'spool') => {
  n += 1;
  return JSON.stringify({ webhook: { id: n, name: tag, webhookEvent: 'ComputerCheckIn', eventTimestamp: 1725007720000 + n }, event: { computer: { jssID: n, serialNumber: `C02${n}` }, trigger: 'CHECKIN' } });
};

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Setup {
  readonly server: TestRedis;
  readonly app: TestApp;
  readonly dataDir: string;
}

async function setUp(t: TestContext, env: Record<string, string> = {}, redisOptions: TestRedisOptions = {}): Promise<Setup> {
  const server = await TestRedis.start(redisOptions);
  t.after(() => server.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-spool-app-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const app = await buildTestApp(server, { ORCHARD_SPOOL: 'on', ORCHARD_DATA_DIR: dataDir, ...env });
  t.after(() => app.close());
  return { server, app, dataDir };
}

const post = (app: TestApp, payload: string, url = '/jamf-pro-events', extra: Record<string, string> = {}) => app.app.inject({ method: 'POST', url, headers: { ...headers, ...extra }, payload });
const spoolStatus = async (app: TestApp) => (await app.app.inject({ url: '/status' })).json().spool;
const killed = async (s: Setup) => {
  await s.server.kill();
  await until('the connection to notice', () => s.app.redis.status !== 'ready');
};

test('Redis healthy: appended at once with an entry id, nothing on disk', async (t) => {
  const s = await setUp(t);
  const res = await post(s.app, body());
  assert.equal(res.statusCode, 202);
  assert.match(res.json().entry, /^\d+-\d+$/);
  assert.equal(res.json().spooled, undefined);
  assert.deepEqual(readdirSync(join(s.dataDir, 'spool')).filter((f) => f.endsWith('.spool')), []);
  assert.equal((await spoolStatus(s.app)).state, 'empty');
});

test('Redis killed: webhooks, Protect batches and refusals are spooled and answered; once Redis is back each lands once, with its original received time', async (t) => {
  // A long append timeout: with Redis known to be away the spool answers at once, without waiting
  // for it (were it waited for, the answer would take 30 s: far beyond the 15 s allowed, however loaded the machine).
  const s = await setUp(t, { ORCHARD_APPEND_TIMEOUT_MS: '30000' }, { appendonly: true });
  const { app } = s;
  await killed(s);

  const webhook = body();
  const started = Date.now();
  const first = await post(app, webhook);
  const answeredAt = Date.now();
  assert.ok(answeredAt - started < 15_000, `answered after ${answeredAt - started} ms`);
  assert.equal(first.statusCode, 202, first.body);
  assert.deepEqual(first.json(), { id: sha256(webhook, 'hex'), spooled: true });
  const again = await post(app, webhook);
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json(), { id: sha256(webhook, 'hex'), duplicate: true, spooled: true });

  const alerts = fixtureBytes('jamf_protect/alerts/test-jamf-protect-alerts-sample-logs.log').toString();
  const batch = await post(app, alerts, '/jamf-protect-events', { 'content-type': 'application/x-ndjson' });
  assert.equal(batch.statusCode, 202, batch.body);
  const answer = batch.json();
  assert.ok(answer.spooled > 0);
  assert.equal(answer.appended, 0);
  assert.ok(answer.results.every((r: { spooled?: boolean; entry?: string }) => (r.spooled === true && r.entry === undefined)));
  const refused = await post(app, '{"broken":');
  assert.equal(refused.statusCode, 400, 'a 4xx stays truthful: the refused body is kept in the spool');
  assert.equal(refused.json().code, 'ORCHARD_ERR_INTAKE_MALFORMED_JSON');

  const ready = await app.app.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200, 'the node still takes events durably');
  assert.match(ready.json().degraded, /Redis is not connected .*local spool/);
  const status = await spoolStatus(app);
  assert.equal(status.state, 'spooling');
  assert.equal(status.records, 1 + answer.spooled + 1);
  assert.ok(status.oldestRecordAgeMs >= 0);
  const metrics = (await app.app.inject({ url: '/metrics' })).body;
  assert.match(metrics, new RegExp(`^orchard_spool_records ${status.records}$`, 'm'));
  assert.match(metrics, /^orchard_spool_bytes [1-9]\d*$/m);
  assert.match(metrics, new RegExp(`^orchard_spool_records_spooled_total ${status.records}$`, 'm'));
  assert.equal(app.logs.filter((l) => /events are kept in the local spool/.test(String(l.msg))).length, 1, 'one warning when spooling starts');

  await s.server.restart();
  await waitForReady(app.redis);
  await until('the spool to drain', async () => (await spoolStatus(app)).state === 'empty');
  const entries = await readStream(s.server.client(), app.config.stream);
  const ids = entries.map((e) => e.fields.id);
  assert.equal(ids.length, new Set(ids).size, 'each once');
  assert.ok(ids.includes(sha256(webhook, 'hex')));
  assert.equal(ids.length, 1 + answer.spooled);
  const landed = entries.find((e) => e.fields.id === sha256(webhook, 'hex'))!;
  assert.equal(landed.fields.payload, webhook, 'byte for byte');
  assert.ok(Date.parse(landed.fields.received!) <= answeredAt && Date.parse(landed.fields.received!) >= started - 10, 'received when it arrived, not when drained');
  const rejected = await readStream(s.server.client(), app.config.rejectedStream);
  assert.deepEqual(rejected.map((e) => e.fields.payload), ['{"broken":']);
  await until('the info line', () => app.logs.some((l) => l.msg === 'The local spool is empty again: every event it held is in Redis.'));
  // The segments are deleted just after the last release, once their files are closed.
  await until('the drained segments to be deleted', () => readdirSync(join(s.dataDir, 'spool')).filter((f) => f.endsWith('.spool')).length === 0);
  const after = (await app.app.inject({ url: '/metrics' })).body;
  assert.match(after, new RegExp(`^orchard_spool_records_drained_total ${status.records}$`, 'm'));
  assert.match(after, /^orchard_events_appended_total\{source="jamf_pro.events",type="ComputerCheckIn"\} 1$/m, 'counted as appended when drained');

  // Back to Redis first: a new webhook gets its entry at once.
  const direct = await post(app, body());
  assert.equal(direct.statusCode, 202);
  assert.ok(direct.json().entry);
});

/** How each event was acknowledged: appended (with its entry id) or spooled. */
type Acknowledged = Map<string, string>;

async function burst(s: Setup, total: number, senders: number, trouble: () => Promise<void>): Promise<{ acknowledged: Acknowledged; slowestMs: number; statuses: Map<number, number> }> {
  const url = await s.app.app.listen({ host: '127.0.0.1', port: 0 });
  const pool = new Pool(url, { connections: senders });
  const acknowledged: Acknowledged = new Map();
  const statuses = new Map<number, number>();
  let sent = 0;
  let slowestMs = 0;
  let troubled: Promise<void> | undefined;
  const worker = async () => {
    while (sent < total) {
      sent += 1;
      if (sent === Math.floor(total / 4)) troubled = trouble();
      const payload = body('burst');
      const started = performance.now();
      const res = await pool.request({ method: 'POST', path: '/jamf-pro-events', headers, body: payload });
      const answer = (await res.body.json()) as { id: string; entry?: string; spooled?: boolean };
      slowestMs = Math.max(slowestMs, performance.now() - started);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 202 || res.statusCode === 200) acknowledged.set(answer.id, answer.spooled ? 'spooled' : `appended as ${answer.entry}`);
    }
  };
  await Promise.all(Array.from({ length: senders }, worker));
  await troubled;
  await pool.close();
  return { acknowledged, slowestMs, statuses };
}

async function assertEachOnce(s: Setup, acknowledged: Acknowledged): Promise<void> {
  await waitForReady(s.app.redis);
  await until('the spool to drain', async () => (await spoolStatus(s.app)).state === 'empty', 30_000);
  const ids = (await readStream(s.server.client(), s.app.config.stream)).map((e) => e.fields.id!);
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, c]) => c > 1);
  assert.deepEqual(twice, [], 'no event twice');
  const missing = [...acknowledged].filter(([id]) => !counts.has(id)).map(([id, how]) => `${id} (${how})`);
  assert.deepEqual(missing, [], 'every acknowledged event is in the stream');
}

test('Redis SIGKILLed during a burst of 16 concurrent senders: every request answered 2xx within 2 s; after it returns, each body once', async (t) => {
  // appendfsync always: what Redis acknowledged is in its file before the kill (with everysec and a
  // slow disk Redis may answer before it writes, and the kill would lose what it answered, spool or not).
  const s = await setUp(t, { LOG_LEVEL: 'warn' }, { appendonly: true, appendfsync: 'always' });
  const result = await burst(s, 1600, 16, async () => {
    await s.server.kill();
    await new Promise((r) => setTimeout(r, 800));
    await s.server.restart();
  });
  t.diagnostic(`answers ${JSON.stringify([...result.statuses])}, slowest ${Math.round(result.slowestMs)} ms`);
  assert.deepEqual([...result.statuses.keys()].filter((status) => status !== 202), []);
  assert.ok(result.slowestMs < 2000, `slowest answer ${result.slowestMs} ms`);
  assert.ok((await spoolStatus(s.app)).spooledTotal > 0, 'the kill was felt');
  await assertEachOnce(s, result.acknowledged);
});

test('Redis frozen (SIGSTOP) during a burst: every request answered 2xx within 2 s (one append timeout, then the spool at once); each body once after', async (t) => {
  const s = await setUp(t, { LOG_LEVEL: 'warn' });
  const result = await burst(s, 1600, 16, async () => {
    s.server.pause();
    await new Promise((r) => setTimeout(r, 2500));
    s.server.resume();
  });
  t.diagnostic(`answers ${JSON.stringify([...result.statuses])}, slowest ${Math.round(result.slowestMs)} ms`);
  assert.deepEqual([...result.statuses.keys()].filter((status) => status !== 202), []);
  assert.ok(result.slowestMs < 2000, `slowest answer ${result.slowestMs} ms`);
  assert.ok((await spoolStatus(s.app)).spooledTotal > 0, 'the freeze was felt');
  await assertEachOnce(s, result.acknowledged);
});

test('full spool: 503 with Retry-After and ORCHARD_ERR_SPOOL_FULL, /readyz 503; room again once drained', async (t) => {
  const s = await setUp(t, { ORCHARD_SPOOL_MAX_BYTES: '65536' });
  await killed(s);
  let res;
  let spooled = 0;
  for (;;) {
    res = await post(s.app, body('full'));
    if (res.statusCode !== 202) break;
    spooled += 1;
  }
  assert.ok(spooled > 10);
  assert.equal(res.statusCode, 503);
  assert.equal(res.headers['retry-after'], '2');
  assert.equal(res.json().code, 'ORCHARD_ERR_SPOOL_FULL');
  assert.match(res.json().message, /ORCHARD_SPOOL_MAX_BYTES/);
  const ready = await s.app.app.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 503);
  assert.match(ready.json().reason, /spool is full/);
  assert.equal((await spoolStatus(s.app)).state, 'full');
  await s.server.restart();
  await until('the spool to drain', async () => (await spoolStatus(s.app)).state === 'empty');
  assert.equal(await s.server.client().xlen(s.app.config.stream), spooled);
  assert.equal((await post(s.app, body('full'))).statusCode, 202);
});

test('back at once: after a restart, appends go to Redis within 1 s of Redis answering, however long Redis estimates its loading', async (t) => {
  const s = await setUp(t, { LOG_LEVEL: 'warn' }, { appendonly: true });
  const client = s.server.client();
  // Small keys that load slowly (key-load-delay: a few seconds), then, in database 1 (loaded after 0),
  // 20 MB that load fast: while Redis reads the small keys it estimates the 20 MB at their pace, so its
  // loading_eta_seconds is far too long, as with a real AOF whose start loads slower than its end.
  for (let i = 0; i < 20; i++) await client.mset(Object.fromEntries(Array.from({ length: 1000 }, (_, j) => [`load:${i}:${j}`, 'x'])));
  await client.select(1);
  await client.set('load:big', randomBytes(10 * 1024 * 1024).toString('hex'));
  await client.select(0);
  await client.bgrewriteaof();
  await until('the AOF rewrite', async () => /aof_rewrite_in_progress:0/.test(await client.info('persistence')) && /aof_rewrite_scheduled:0/.test(await client.info('persistence')));
  await killed(s);
  await s.server.restart(['--key-load-delay', '100', '--loading-process-events-interval-bytes', '1024']);
  const answeredAt = Date.now(); // redis-server said "Ready to accept connections": loading is over
  let res;
  do {
    res = await post(s.app, body('back'));
  } while (res.json().spooled && Date.now() - answeredAt < 15_000);
  const tookMs = Date.now() - answeredAt;
  t.diagnostic(`appends went to Redis again ${tookMs} ms after it finished loading`);
  assert.ok(res.json().entry, 'appended to Redis');
  assert.ok(tookMs < 1000, `${tookMs} ms`);
});
