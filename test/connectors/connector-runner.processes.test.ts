import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import type { StoredCheckpoint } from '../../src/connector-state/checkpoint.ts';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { killOrchard, startOrchardProcess, type OrchardProcess } from '../helpers/orchard-process.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJamfPro, mulberry32 } from '../mocks/jamf-pro-server.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';
import { MockJamfProtect } from '../mocks/jamf-protect-server.ts';

// Whole Orchard processes against one Redis and one mock Jamf Pro: SIGKILL at random points of a
// long pull, and two replicas sharing a connector.

const shared = useTestRedis();

function connectorEntry(mock: MockJamfPro | MockJumpCloud | MockJamfProtect, type?: string): Record<string, unknown> {
  if (mock instanceof MockJamfPro && type === 'jamf_pro.mobile_devices') return { name: 'fleet', type, base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${JAMF_SECRET}' };
  if (mock instanceof MockJamfPro) return { name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${JAMF_SECRET}' };
  if (mock instanceof MockJumpCloud) return { name: 'fleet', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: '${JC_KEY}' };
  return { name: 'fleet', type: 'jamf_protect.alerts', base_url: mock.url, client_id: 'orchard-test-protect-client', password: '${PROTECT_PASSWORD}' };
}

async function environment(t: TestContext, mock: MockJamfPro | MockJumpCloud | MockJamfProtect, entry: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-pull-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stream = `k${Math.random().toString(36).slice(2, 10)}:events`;
  const file = join(dir, 'orchard.yml');
  writeFileSync(
    file,
    stringify({
      connectors: [{ ...connectorEntry(mock, entry.type as string | undefined), ...entry }],
    }),
  );
  const env = async () => ({
    REDIS_URL: shared.server.url,
    ORCHARD_CONFIG: file,
    ORCHARD_STREAM: stream,
    ORCHARD_DATA_DIR: dir,
    ORCHARD_WEBHOOK_SECRETS: 'process-test-secret-0123456789',
    ORCHARD_CONNECTOR_LEASE_TTL_MS: '1000',
    JAMF_SECRET: 'orchard-test-secret',
    JC_KEY: 'orchard-test-jumpcloud-key',
    PROTECT_PASSWORD: 'orchard-test-protect-password',
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
  });
  const state = new ConnectorStateStore(shared.redis, stream);
  /** Rewrites the configuration file (the next Orchard started reads it). */
  const reconfigure = (changes: Record<string, unknown>) => writeFileSync(file, stringify({ connectors: [{ ...connectorEntry(mock), ...entry, ...changes }] }));
  return { stream, state, keys: state.keys('fleet'), env, reconfigure };
}

const inventoryRequests = (mock: MockJamfPro) => mock.requests.filter((r) => r.route === 'inventory').length;

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Starts Orchard and SIGKILLs it at a random moment once it pulls, again and again, until a run
 * finished or 6 kills; then starts it once more and waits for the run to finish. Returns the pages
 * after which kills landed mid-run.
 */
async function killAtRandomUntilDone(
  t: TestContext,
  env: () => Promise<Record<string, string>>,
  state: ConnectorStateStore,
  requests: () => number,
  random: () => number,
  ranSince: string | null = null,
): Promise<number[]> {
  /** A run ended (after `ranSince`, the end of an earlier one, when given). */
  const finished = (cp: StoredCheckpoint['checkpoint']) => cp?.runOpen === false && cp.lastRunEndedAt !== null && (ranSince === null || cp.lastRunEndedAt > ranSince);
  const killsMidRun: number[] = [];
  for (let kill = 0; kill < 6; kill++) {
    const before = requests();
    const proc = await startOrchardProcess(await env());
    t.after(() => killOrchard(proc));
    // Wait until this process is pulling (it may first wait for the dead one's lease to expire), then kill it at a random moment.
    await until(() => requests() > before, 'the restarted Orchard to pull');
    await new Promise((r) => setTimeout(r, random() * 200));
    proc.child.kill('SIGKILL');
    await proc.exited;
    const stored = await state.read('fleet');
    if (stored.checkpoint?.runOpen) killsMidRun.push(stored.seq);
    if (finished(stored.checkpoint)) break;
  }
  t.diagnostic(`killed mid-run after pages ${killsMidRun.join(', ')}`);
  const last = await startOrchardProcess(await env());
  t.after(() => killOrchard(last));
  await until(async () => finished((await state.read('fleet')).checkpoint), 'the run to finish');
  await killOrchard(last);
  return killsMidRun;
}

test('SIGKILL at random points of a long pull: after restarts the stream holds every computer exactly once', async (t) => {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  const random = mulberry32(seed);
  const mock = await MockJamfPro.start({ computers: 3000, latencyMs: 10 });
  t.after(() => mock.close());
  const { stream, state, keys, env } = await environment(t, mock, { page_size: 40, interval: '1h' });
  const killsMidRun = await killAtRandomUntilDone(t, env, state, () => inventoryRequests(mock), random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const entries = await readStream(shared.redis, stream);
  assert.equal(entries.filter((e) => e.fields.type === 'snapshot').length, 1, 'the scan\'s snapshot marker, once');
  const ids = entries.filter((e) => e.fields.type === 'computer').map((e) => e.fields.id!);
  const expected = mock.computers().map((c) => `${c.id as string}:${(c.general as { reportDate: string }).reportDate}`);
  assert.equal(ids.length, expected.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids.sort(), expected.sort());
  assert.equal(await shared.redis.hlen(keys.versions), 3000);
});

test('SIGKILL at random points of a mobile devices pull: after restarts the stream holds every device exactly once', async (t) => {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  const random = mulberry32(seed);
  const mock = await MockJamfPro.start({ computers: 1, mobileDevices: 2500, latencyMs: 10 });
  t.after(() => mock.close());
  const { stream, state, keys, env } = await environment(t, mock, { type: 'jamf_pro.mobile_devices', page_size: 40, interval: '1h' });
  const mobileRequests = () => mock.requests.filter((r) => r.route === 'mobile').length;
  const killsMidRun = await killAtRandomUntilDone(t, env, state, mobileRequests, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const entries = await readStream(shared.redis, stream);
  assert.equal(entries.filter((e) => e.fields.type === 'snapshot').length, 1, 'the scan\'s snapshot marker, once');
  const ids = entries.filter((e) => e.fields.type === 'mobile_device').map((e) => e.fields.id!);
  const expected = mock.mobileDevices().map((d) => `${d.mobileDeviceId as string}:${(d.general as { lastInventoryUpdateDate: string }).lastInventoryUpdateDate}`);
  assert.equal(ids.length, expected.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids.sort(), expected.sort());
  assert.equal(await shared.redis.hlen(keys.versions), 2500);
});

test('SIGKILL at random points of a Directory Insights backfill: after restarts the stream holds every event exactly once', async (t) => {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  const random = mulberry32(seed);
  const mock = await MockJumpCloud.start({ latencyMs: 10 });
  t.after(() => mock.close());
  const now = Date.now();
  // Two days of events, and 40 of them sharing one millisecond (page boundaries fall inside the tie).
  mock.generateEvents(12_000, { fromMs: now - 2 * 86_400_000, toMs: now - 10 * 60_000, seed, nanos: true });
  mock.generateEvents(40, { fromMs: now - 86_400_000, toMs: now - 86_400_000 + 1, sameTimestamp: true, seed: seed + 1 });
  const { stream, state, env } = await environment(t, mock, { limit: 300, interval: '1h', start: new Date(now - 3 * 86_400_000).toISOString() });
  const eventRequests = () => mock.requests.filter((r) => r.route === 'events').length;
  const killsMidRun = await killAtRandomUntilDone(t, env, state, eventRequests, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const ids = (await readStream(shared.redis, stream)).map((e) => e.fields.id!);
  const expected = mock.visibleEvents().map((e) => e.id);
  assert.equal(ids.length, expected.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids, expected, 'every event once, in the vendor\'s order');
  assert.equal(mock.requests.filter((r) => r.status === 400).length, 0);
});

test('SIGKILL at random points of a Jamf Protect alert pull (API order shuffled): after restarts the stream holds every alert exactly once', async (t) => {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  const random = mulberry32(seed);
  const mock = new MockJamfProtect({ latencyMs: 10, order: 'shuffled', seed });
  await mock.start();
  t.after(() => mock.close());
  const now = Date.now();
  // Some alerts were already worked on (InProgress, Resolved, AutoResolved): their later version lands too.
  mock.addAlerts(mock.generateAlerts({ count: 4000, seed, fromMs: now - 86_400_000 + 60_000, toMs: now - 60_000, mixedStatuses: true }).map((a) => ({ ...a, updated: a.updated === undefined ? undefined : Math.min(a.updated, now - 1000) })));
  const { stream, state, env } = await environment(t, mock, { page_size: 50, interval: '1h' });
  const graphqlRequests = () => mock.requests.filter((r) => r.route === 'graphql').length;
  const killsMidRun = await killAtRandomUntilDone(t, env, state, graphqlRequests, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const ids = (await readStream(shared.redis, stream)).map((e) => e.fields.id!);
  const updates = mock.alerts.filter((a) => a.status !== 'New').map((a) => `${a.uuid}:${new Date(a.updated!).toISOString()}`);
  assert.ok(updates.length > 100, 'a good share of the alerts were worked on');
  assert.equal(ids.length, 4000 + updates.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids.sort(), [...mock.alerts.map((a) => a.uuid), ...updates].sort());
});

test('SIGKILL at random points of an MSP connector over five organizations (one refused, one added later): each organization\'s events exactly once', async (t) => {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  const random = mulberry32(seed);
  const names: Record<string, string> = { 'org-a': 'Acme', 'org-b': 'Beta', 'org-c': 'Gamma', 'org-d': 'Delta', 'org-e': 'Epsilon', 'org-f': 'Zeta' };
  const mock = await MockJumpCloud.start({ latencyMs: 10, organizations: ['org-a', 'org-b', 'org-c', 'org-d', 'org-e'].map((id) => ({ id, name: names[id]! })) });
  t.after(() => mock.close());
  const now = Date.now();
  const backlog = (id: string, count: number, salt: number) => mock.org(id).generateEvents(count, { fromMs: now - 2 * 86_400_000, toMs: now - 10 * 60_000, seed: seed + salt, nanos: true });
  ['org-a', 'org-b', 'org-c', 'org-d', 'org-e'].forEach((id, i) => backlog(id, 1500 + 300 * i, i));
  mock.forbidOrganization('org-c');
  const { stream, state, env, reconfigure } = await environment(t, mock, { org_ids: 'all', limit: 200, interval: '1h', start: new Date(now - 3 * 86_400_000).toISOString() });
  const eventRequests = () => mock.requests.filter((r) => r.route === 'events').length;
  const killsMidRun = await killAtRandomUntilDone(t, env, state, eventRequests, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  // An organization joins the provider with two days of events; the others get new ones; the next run (interval now 1s) reads it from start.
  mock.addOrganization({ id: 'org-f', name: 'Zeta' });
  backlog('org-f', 1200, 10);
  for (const [i, id] of ['org-a', 'org-b', 'org-d', 'org-e'].entries()) mock.org(id).generateEvents(50, { fromMs: now - 9 * 60_000, toMs: now - 5 * 60_000, seed: seed + 20 + i });
  const firstEnded = (await state.read('fleet')).checkpoint!.lastRunEndedAt;
  reconfigure({ interval: '1s' });
  const killsInSecond = await killAtRandomUntilDone(t, env, state, eventRequests, random, firstEnded);
  t.diagnostic(`second run: killed mid-run after pages ${killsInSecond.join(', ')}`);
  const entries = await readStream(shared.redis, stream);
  const ids = entries.map((e) => e.fields.id!);
  assert.equal(ids.length, new Set(ids).size, `${ids.length - new Set(ids).size} duplicate(s)`);
  for (const id of ['org-a', 'org-b', 'org-d', 'org-e', 'org-f']) {
    const mine = entries.filter((e) => e.fields.tenant === names[id]).map((e) => e.fields.id!);
    assert.deepEqual(mine.sort(), mock.org(id).visibleEvents().map((e) => e.id).sort(), `${id}: every event exactly once, under its tenant`);
  }
  assert.equal(entries.filter((e) => e.fields.tenant === 'Gamma').length, 0, 'the refused organization appended nothing');
  const stored = await state.read('fleet');
  assert.equal(stored.tallies['org:org-f']?.appended, 1200);
  const cursor = stored.checkpoint!.cursor as { orgs: Record<string, { error: { status: number } | null }> };
  assert.equal(cursor.orgs['org-c']!.error?.status, 403);
});

async function statusOf(proc: OrchardProcess & { url: string }): Promise<{ leaseHeld: boolean; state: string; lastRun: { appended: number } | null }> {
  const body = (await (await fetch(`${proc.url}/status`)).json()) as { connectors: { leaseHeld: boolean; state: string; lastRun: { appended: number } | null }[] };
  return body.connectors[0]!;
}

test('two replicas share one connector: one pulls, the other stands by and takes over when the first dies', async (t) => {
  const mock = await MockJamfPro.start({ computers: 600 });
  t.after(() => mock.close());
  const { stream, state, keys, env } = await environment(t, mock, { page_size: 50, interval: '4s' });
  // Each replica has its own data directory (its own spool), as replicas do.
  const replicaEnv = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orchard-replica-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    return { ...(await env()), ORCHARD_DATA_DIR: dataDir };
  };
  const [a, b] = await Promise.all([startOrchardProcess(await replicaEnv()), startOrchardProcess(await replicaEnv())]);
  t.after(() => killOrchard(a));
  t.after(() => killOrchard(b));
  await until(async () => (await state.read('fleet')).checkpoint?.lastRunEndedAt != null, 'the first run to finish');
  assert.equal(inventoryRequests(mock), 12, 'each page read once, by one replica');
  const computers = async () => (await readStream(shared.redis, stream)).filter((e) => e.fields.type === 'computer');
  assert.equal((await computers()).length, 600);
  const [sa, sb] = await Promise.all([statusOf(a), statusOf(b)]);
  assert.equal([sa, sb].filter((s) => s.leaseHeld).length, 1, JSON.stringify([sa, sb]));
  const [holder, other] = sa.leaseHeld ? [a, b] : [b, a];
  assert.equal((await statusOf(other)).state, 'standby');
  // The holder dies without releasing; reports change; the other replica takes over and appends exactly them.
  holder.child.kill('SIGKILL');
  await holder.exited;
  const touched = mock.touch(['5', '300', '600']);
  await until(async () => (await computers()).length >= 603, 'the second run, by the other replica', 20_000);
  const s = await statusOf(other);
  assert.equal(s.leaseHeld, true);
  assert.equal(s.lastRun?.appended, 4, 'the three that reported again, and the scan\'s snapshot marker');
  const ids = (await computers()).map((e) => e.fields.id);
  assert.equal(ids.length, 603);
  for (const [i, id] of ['5', '300', '600'].entries()) assert.ok(ids.includes(`${id}:${touched[i]}`));
  assert.equal(inventoryRequests(mock), 24, 'two runs of 12 pages');
  // Graceful shutdown releases the lease at once.
  await killOrchard(other);
  assert.equal(await shared.redis.exists(keys.lease), 0);
});
