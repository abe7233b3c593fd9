import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRedis, waitUntilReady } from '../../src/redis/create-redis.ts';
import { isCluster } from '../../src/redis/redis-client.ts';
import { redisTargetFrom } from '../../src/redis/redis-target.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';
import { freePort } from '../helpers/free-port.ts';
import { ClusterTopology, dataArgs, SentinelTopology, TopologyNode } from '../helpers/redis-topologies.ts';
import { buildTestApp, captureLogs, readStream, testSecret } from '../helpers/test-app.ts';
import { createLogger } from '../../src/logger.ts';

// Redis over TLS: a Redis Cluster whose nodes, bus and replication speak TLS only
// (ORCHARD_REDIS_TLS, ORCHARD_REDIS_TLS_CA_FILE), a Sentinel set-up whose data nodes do (the sentinels
// plain: ORCHARD_REDIS_SENTINEL_TLS is their own setting), and one TLS Redis through rediss://. The certificate is
// self-signed: without the CA file Orchard must not connect.

let cluster: ClusterTopology;
before(async () => {
  cluster = await ClusterTopology.start({ tls: true, password: 'tls-cluster-secret' });
});
after(() => cluster?.stop());

const quiet = () => createLogger({ level: 'warn', secretHeader: 'x', destination: captureLogs().destination });
const webhook = JSON.stringify({ webhook: { id: 1, name: 'tls', webhookEvent: 'JSSStartup', eventTimestamp: 1_767_225_600_000 }, event: {} });

test('a TLS Cluster: webhooks appended and acknowledged by a replica over TLS', async (t) => {
  const app = await buildTestApp(cluster, { ORCHARD_REDIS_WAIT_REPLICAS: '1', ORCHARD_REDIS_WAIT_TIMEOUT_MS: '2000' });
  t.after(() => app.close());
  assert.ok(isCluster(app.redis));
  const res = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: webhook });
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual((await readStream(cluster.client(), app.config.stream)).map((e) => e.entry), [res.json().entry]);
});

test('a TLS Cluster without the CA file: the self-signed certificate is not trusted, no connection', async (t) => {
  const { ORCHARD_REDIS_TLS_CA_FILE: _ca, ...env } = cluster.env;
  const config = loadOrchardConfig({ ...env, ORCHARD_STREAM: '{tls}:events', ORCHARD_WEBHOOK_SECRETS: testSecret });
  const redis = createRedis(redisTargetFrom(config)!, quiet());
  t.after(() => redis.disconnect());
  assert.equal(await waitUntilReady(redis, 1500), false);
});

test('rediss:// with ORCHARD_REDIS_TLS_CA_FILE and ORCHARD_REDIS_PASSWORD', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-rediss-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const node = new TopologyNode(port, dir, dataArgs(port, dir, 'lone-secret', [], cluster.tls), 'lone-secret', cluster.tls);
  await node.start();
  t.after(() => node.kill());
  const config = loadOrchardConfig({ REDIS_URL: `rediss://127.0.0.1:${port}`, ORCHARD_REDIS_PASSWORD: 'lone-secret', ORCHARD_REDIS_TLS_CA_FILE: cluster.tls!.certFile, ORCHARD_WEBHOOK_SECRETS: testSecret });
  const redis = createRedis(redisTargetFrom(config)!, quiet());
  t.after(() => redis.disconnect());
  assert.ok(await waitUntilReady(redis, 5000));
  assert.equal(await redis.set('tls:probe', '1'), 'OK');
});

test('Sentinel with TLS data nodes (ORCHARD_REDIS_TLS, plain sentinels): the primary reached over TLS, a webhook acknowledged by the replica', async (t) => {
  const sentinel = await SentinelTopology.start({ tls: 'data', password: 'tls-sentinel-data' });
  t.after(() => sentinel.stop());
  const app = await buildTestApp(sentinel, { ORCHARD_REDIS_WAIT_REPLICAS: '1', ORCHARD_REDIS_WAIT_TIMEOUT_MS: '2000' });
  t.after(() => app.close());
  const res = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: webhook });
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual((await readStream(sentinel.client(), app.config.stream)).map((e) => e.entry), [res.json().entry]);
});
