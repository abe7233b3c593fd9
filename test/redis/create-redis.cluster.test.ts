import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Cluster } from 'ioredis';
import { importCommand } from '../../src/cli/import-command.ts';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { readGroupLag, StreamConsumer } from '../../src/consumer/index.ts';
import { StreamTrimmer } from '../../src/consumer/stream-trimmer.ts';
import { ConsumerOptionsError, RedisCrossSlotError } from '../../src/errors.ts';
import { startOrchard } from '../../src/main.ts';
import { createRedis, waitUntilReady } from '../../src/redis/create-redis.ts';
import { Keyspace } from '../../src/redis/keyspace.ts';
import { LuaScript } from '../../src/redis/lua-script.ts';
import { redisFiguresReader } from '../../src/redis/redis-figures.ts';
import { isCluster, slotOf, type RedisClient } from '../../src/redis/redis-client.ts';
import { redisTargetFrom } from '../../src/redis/redis-target.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';
import { startConnector } from '../helpers/connector-harness.ts';
import { assertNothingLostWithSpool, runFailoverScenario } from '../helpers/failover-scenario.ts';
import { ClusterTopology, TopologyNode } from '../helpers/redis-topologies.ts';
import { freePort } from '../helpers/free-port.ts';
import { buildTestApp, readStream, testSecret, type TestApp } from '../helpers/test-app.ts';
import { entryFields, quietLogger, until } from '../consumer/consumer-helpers.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';

// Orchard on a real Redis Cluster (three primaries, one replica each, started once for the file):
// every path that writes or reads the stream, with each stream's keys in one slot.

let cluster: ClusterTopology;
let reader: Cluster;
let app: TestApp;
before(async () => {
  cluster = await ClusterTopology.start();
  reader = cluster.client();
  app = await buildTestApp(cluster, { ORCHARD_REDIS_WAIT_REPLICAS: '1', ORCHARD_REDIS_WAIT_TIMEOUT_MS: '2000' });
});
after(async () => {
  await app?.close();
  await cluster?.stop();
});

const webhook = (id: number) => JSON.stringify({ webhook: { id, name: 'n', webhookEvent: 'ComputerCheckIn', eventTimestamp: 1_767_225_600_000 + id }, event: { computer: { serialNumber: `C02${id}`, udid: `u-${id}` } } });
const post = (body: string) => app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: body });

/** How often a node ran a command (INFO commandstats). */
async function calls(node: { client(): RedisClient }, command: string): Promise<number> {
  const c = node.client();
  try {
    const info = (await c.info('commandstats')) as string;
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  } finally {
    c.disconnect();
  }
}

test('the configuration builds a Cluster client; the stream, its dedup keys and its rejected stream share one slot', async () => {
  assert.ok(isCluster(app.redis));
  assert.match(app.config.stream, /^\{t[a-z0-9]+\}:events$/);
  const keyspace = new Keyspace(app.config.stream);
  const keys = [app.config.stream, app.config.rejectedStream, keyspace.dedup('jamf_pro.events', 'x'), keyspace.connector('c').checkpoint, keyspace.connector('c').lease, keyspace.importProgress('ab', 't', ''), `${keyspace.jumpCloudServicePrefix}sso`, `${app.config.stream}:dead`];
  const slots = new Set(await Promise.all(keys.map((k) => reader.cluster('KEYSLOT', k))));
  assert.equal(slots.size, 1, `one slot for ${keys.join(', ')}`);
  // The slot Orchard routes a pre-encoded script or a WAIT by is the one Redis computes.
  for (const key of [...keys, 'orchard:events', '{}x', 'a{b}c{d}']) assert.equal(slotOf(key), await reader.cluster('KEYSLOT', key), key);
});

test('webhooks: appended once on the stream\'s primary, WAIT asked of that primary, a repeat answered with the first entry; /readyz ready', async () => {
  const primary = await cluster.primaryOf(app.config.stream);
  const waitsBefore = await calls(primary, 'wait');
  const first = await post(webhook(1));
  assert.equal(first.statusCode, 202, first.body);
  const again = await post(webhook(1));
  assert.equal(again.statusCode, 200, 'a repeat is answered 200 with the first entry');
  assert.equal(again.json().entry, first.json().entry);
  assert.ok((await calls(primary, 'wait')) > waitsBefore, 'WAIT went to the primary that took the write');
  const entries = await readStream(reader, app.config.stream);
  assert.deepEqual(entries.map((e) => e.entry), [first.json().entry]);
  const ready = await app.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, ready.body);
});

test('/metrics figures on a Cluster: each stream\'s length from its own primary, and that primary\'s memory', async () => {
  const streams = [app.config.stream, app.config.rejectedStream, `${app.config.stream}:dead`];
  const figures = await redisFiguresReader(app.redis, streams, { cacheMs: 0 })();
  assert.deepEqual(figures.streams, await Promise.all(streams.map(async (stream) => ({ stream, length: await reader.xlen(stream) }))));
  assert.ok(figures.usedMemoryBytes! > 0);
});

test('a refused body lands in the rejected stream beside the events stream ({tag}:rejected)', async () => {
  const refused = await post('{"webhook": ');
  assert.equal(refused.statusCode, 400);
  assert.match(app.config.rejectedStream, /^\{t[a-z0-9]+\}:rejected$/);
  const rejected = await readStream(reader, app.config.rejectedStream);
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]!.fields.payload, '{"webhook": ');
});

test('a pull connector: pages and checkpoint in one step, stream_per_service streams, lease and reset on the Cluster', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(80, { fromMs: now - 50 * 60_000, toMs: now - 5 * 60_000, services: ['sso', 'mdm'], seed: 3 });
  const h = await startConnector(cluster, { name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', limit: 25, stream_per_service: true });
  t.after(() => h.stop());
  const s = await h.waitForRuns(1, 30_000);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.ok(isCluster(h.redis));
  for (const service of ['sso', 'mdm']) {
    const ids = (await readStream(reader, `${h.stream}:jumpcloud:${service}`)).map((e) => e.fields.id);
    assert.deepEqual(ids, mock.visibleEvents().filter((e) => e.service === service).map((e) => e.id));
  }
  const keys = new Keyspace(h.stream).connector('acme-jc');
  assert.ok(await reader.exists(keys.checkpoint));
  assert.ok(await reader.exists(keys.lease), 'the lease is held while the runner runs');
  await h.stop();
  const seq = Number(await reader.hget(keys.checkpoint, 'seq'));
  const since = new Date(now - 10 * 60_000).toISOString();
  await new ConnectorStateStore(reader, h.stream).reset({ name: 'acme-jc', type: 'jumpcloud.directory_insights', start: undefined }, since);
  assert.equal(Number(await reader.hget(keys.checkpoint, 'seq')), seq + 1, 'the reset is the next checkpoint (a runner holding the old one writes nothing)');
  assert.ok((await reader.hget(keys.checkpoint, 'data'))!.includes(since.slice(0, 16)), 'the reset checkpoint starts at --since');
});

test('orchard import: a file committed batch by batch with its progress key, rejected lines beside it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-cluster-import-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const lines = Array.from({ length: 50 }, (_, n) => {
    const time = new Date(Date.UTC(2026, 0, 1) + n * 37).toISOString().replace('.', ',').replace('Z', '');
    return `[JSSACCESSLOG] ${time} - username=user${n}@example.com, status=Successful Login, ipAddress=10.0.0.${n}, entryPoint=Universal API`;
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  const out: string[] = [];
  const code = await importCommand([file], { out: (s) => void out.push(s), err: (s) => void out.push(s) }, app.redis, { stream: app.config.stream, rejectedStream: app.config.rejectedStream, tty: false, batchLines: 20 });
  assert.equal(code, 0, out.join(''));
  const imported = (await readStream(reader, app.config.stream)).filter((e) => e.fields.source === 'jamf_pro.login');
  assert.equal(imported.length, 50);
});

test('the consumer library: group reads, a poison entry dead-lettered, lag, and group-safe trimming', async (t) => {
  const stream = '{consumer}:events';
  await reader.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  for (const id of ['a', 'poison', 'b']) await reader.xadd(stream, '*', ...entryFields(id, id === 'poison' ? 'not json' : { n: id }));
  const redis = createRedis(redisTargetFrom(app.config)!, quietLogger);
  const blocking: RedisClient[] = [];
  t.after(() => [redis, ...blocking].forEach((c) => c.disconnect()));
  assert.ok(await waitUntilReady(redis, 5000));
  const handled: string[] = [];
  const consumer = new StreamConsumer({
    redis,
    createBlockingConnection: () => {
      const c = createRedis(redisTargetFrom(app.config)!, quietLogger);
      blocking.push(c);
      return c;
    },
    logger: quietLogger,
    stream,
    group: 'g',
    consumer: 'C',
    blockMs: 100,
    maxDeliveries: 2,
    claimIdleMs: 100,
    janitorIntervalMs: 50,
    handler: {
      onEntry: (e) => {
        if (e.id === 'poison') throw new Error('cannot map this event');
        handled.push(e.id);
      },
    },
  });
  await consumer.start();
  t.after(() => consumer.stop());
  await until('the dead letter', async () => (await reader.xlen(`${stream}:dead`)) === 1);
  assert.deepEqual(handled.sort(), ['a', 'b']);
  const [lag] = await readGroupLag(redis, stream);
  assert.equal(lag!.deadLettered, 1);
  assert.equal(lag!.pending, 0);
  const trimmer = new StreamTrimmer({ redis, stream, maxLen: 1, intervalMs: 60_000, logger: quietLogger });
  const result = await trimmer.trimOnce();
  assert.equal(result.reason === 'error' ? result : undefined, undefined);
  assert.equal(await reader.xlen(stream), 1, 'entries every group acknowledged were trimmed to maxLen');
});

test('keys in different slots: a consumer\'s dead-letter stream is refused up front; a script names the keys Redis refused', async () => {
  assert.throws(
    () => new StreamConsumer({ redis: app.redis, createBlockingConnection: () => app.redis, logger: quietLogger, stream: '{a}:events', group: 'g', deadLetterStream: 'elsewhere:dead', handler: { onEntry: () => {} } }),
    (err: unknown) => err instanceof ConsumerOptionsError && /deadLetterStream "elsewhere:dead" is not in the hash slot.*\{a\}/.test(err.message),
  );
  const twoKeys = new LuaScript('orchardTestTwoKeys', "return redis.call('EXISTS', KEYS[1], KEYS[2])");
  await assert.rejects(twoKeys.run(app.redis, ['{a}:x', '{b}:y'], []), (err: unknown) => err instanceof RedisCrossSlotError && /\{a\}:x, \{b\}:y/.test(err.message) && /hash tag/.test(err.message));
});

test('REDIS_URL naming a Cluster node: start-up is refused naming ORCHARD_REDIS_CLUSTER_NODES; a sink on it is never ready', async (t) => {
  const node = cluster.nodes[0]!;
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-cluster-url-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { REDIS_URL: `redis://${node.address}`, ORCHARD_DATA_DIR: dataDir, ORCHARD_WEBHOOK_SECRETS: testSecret, PORT: '0', LOG_LEVEL: 'silent' };
  await assert.rejects(startOrchard({ env, logDestination: { write: () => true } as never }), (err: Error & { code?: string }) => err.code === 'ORCHARD_ERR_REDIS_TOPOLOGY' && /ORCHARD_REDIS_CLUSTER_NODES/.test(err.message));
  // A stream whose slot another node holds: the readiness probe asks the stream's own key, and fails.
  const other = await cluster.primaryOf('{elsewhere}:events');
  const notHere = cluster.nodes.find((n) => n.alive && n !== other && n.port !== other.port)!;
  const direct = await buildTestApp({ env: { REDIS_URL: `redis://${notHere.address}` }, client: () => notHere.client() }, { ORCHARD_STREAM: '{elsewhere}:events', ORCHARD_REJECTED_STREAM: '{elsewhere}:rejected' });
  t.after(() => direct.close());
  const ready = await direct.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 503, ready.body);
});

test('REDIS_URL naming a Cluster node that was away at start: once it answers, /readyz says not ready, naming ORCHARD_REDIS_CLUSTER_NODES', async (t) => {
  const port = await freePort({ alsoFreeAt: 10_000 }); // the cluster bus port
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-cluster-late-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // Nothing listens yet: Orchard waits, then listens anyway (its spool takes webhooks meanwhile).
  const orchard = await startOrchard({ env: { REDIS_URL: `redis://127.0.0.1:${port}`, ORCHARD_DATA_DIR: dataDir, ORCHARD_WEBHOOK_SECRETS: testSecret, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' }, logDestination: { write: () => true } as never });
  t.after(() => orchard.close());
  const lone = new TopologyNode(port, dataDir, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--cluster-enabled', 'yes', '--cluster-config-file', join(dataDir, 'nodes.conf')]);
  await lone.start();
  t.after(() => lone.kill());
  await until('the Cluster node refused', async () => {
    const res = await orchard.app.inject({ method: 'GET', url: '/readyz' });
    return res.statusCode === 503 && /ORCHARD_REDIS_CLUSTER_NODES/.test(res.json().reason);
  }, 20_000);
});

test('the configuration: a Cluster without a hash tag on the stream is refused with {orchard}:events suggested', () => {
  assert.throws(() => loadOrchardConfig({ ORCHARD_REDIS_CLUSTER_NODES: cluster.seeds, ORCHARD_WEBHOOK_SECRETS: testSecret }), /ORCHARD_STREAM \(stream\) is "orchard:events", which has no hash tag.*ORCHARD_STREAM=\{orchard\}:events/);
});

// Kills a primary: last in the file.
test('SIGKILL of the stream\'s primary during a webhook burst and a pull run, WAIT 1 and the spool: nothing refused, nothing acknowledged missing, nothing twice, the connector resumes from its checkpoint', async () => {
  const result = await runFailoverScenario({ topology: cluster, stream: '{failover}:events', webhooks: 1500, concurrency: 16, killAfter: 400, spool: 'on', waitReplicas: 1, pulledEvents: 600 });
  assertNothingLostWithSpool(result, 1500);
});
