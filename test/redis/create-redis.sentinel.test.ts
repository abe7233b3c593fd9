import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { isCluster } from '../../src/redis/redis-client.ts';
import { startConnector } from '../helpers/connector-harness.ts';
import { assertNothingLostWithSpool, runFailoverScenario } from '../helpers/failover-scenario.ts';
import { SentinelTopology } from '../helpers/redis-topologies.ts';
import { buildTestApp, readStream, testSecret, type TestApp } from '../helpers/test-app.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';

// Orchard through Redis Sentinel (a primary, a replica, three sentinels; passwords on both; started
// once for the file). The failover test kills the primary and so runs last; it starts the killed node
// again as a replica of the new primary (as an orchestrator would) rather than waiting up to 10 s for
// the sentinels to convert it, which bench/failover.ts measures.

let sentinel: SentinelTopology;
let reader: Redis;
let app: TestApp;
before(async () => {
  sentinel = await SentinelTopology.start({ password: 'data-secret-1', sentinelPassword: 'sentinel-secret-1' });
  reader = sentinel.client();
  app = await buildTestApp(sentinel, { ORCHARD_REDIS_WAIT_REPLICAS: '1', ORCHARD_REDIS_WAIT_TIMEOUT_MS: '2000' });
});
after(async () => {
  await app?.close();
  await sentinel?.stop();
});

const webhook = (id: number) => JSON.stringify({ webhook: { id, name: 'n', webhookEvent: 'ComputerCheckIn', eventTimestamp: 1_767_225_600_000 + id }, event: { computer: { serialNumber: `C02${id}` } } });

test('through the sentinels: webhooks appended on the primary and acknowledged by its replica; refusals kept; /readyz ready; no password in the logs', async () => {
  assert.ok(!isCluster(app.redis));
  const primary = await sentinel.primary();
  assert.equal((app.redis as Redis).stream.remotePort, primary.port, 'connected to the primary the sentinels name');
  const res = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: webhook(1) });
  assert.equal(res.statusCode, 202, res.body);
  const bad = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: '[' });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual((await readStream(reader, app.config.stream)).map((e) => e.entry), [res.json().entry]);
  assert.equal((await readStream(reader, app.config.rejectedStream)).length, 1);
  // The replica has it: WAIT 1 held the answer until it did.
  const replica = sentinel.data.find((n) => n !== primary)!.client('data-secret-1');
  try {
    assert.equal(await replica.xlen(app.config.stream), 1);
  } finally {
    replica.disconnect();
  }
  assert.equal((await app.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  assert.doesNotMatch(app.logText(), /data-secret-1|sentinel-secret-1/);
});

test('a pull connector through the sentinels: every event once, its checkpoint beside it', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(60, { fromMs: now - 50 * 60_000, toMs: now - 5 * 60_000, seed: 4 });
  const h = await startConnector(sentinel, { name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', limit: 25 });
  t.after(() => h.stop());
  const s = await h.waitForRuns(1, 30_000);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual((await h.ids()).sort(), mock.visibleEvents().map((e) => e.id).sort());
});

test('SIGKILL of the primary during a webhook burst and a pull run, WAIT 1 and the spool: nothing refused, nothing acknowledged missing, nothing twice, the connector resumes from its checkpoint', async () => {
  const result = await runFailoverScenario({ topology: sentinel, stream: 'failover:events', webhooks: 1500, concurrency: 16, killAfter: 400, spool: 'on', waitReplicas: 1, pulledEvents: 600, restart: 'replica-of-new' });
  assertNothingLostWithSpool(result, 1500);
});
