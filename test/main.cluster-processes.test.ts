import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { Keyspace } from '../src/redis/keyspace.ts';
import { freePort } from './helpers/free-port.ts';
import { killOrchard, runOrchard, startOrchardProcess, type OrchardProcess } from './helpers/orchard-process.ts';
import { ClusterTopology } from './helpers/redis-topologies.ts';
import { readStream } from './helpers/test-app.ts';
import { MockJumpCloud } from './mocks/jumpcloud-server.ts';

// Orchard processes on one Redis Cluster: three replicas sharing one connector (one pulls at a time;
// SIGKILL it in the middle of a run and another takes the connector over once the lease expired,
// resuming from the checkpoint, with every event in the stream once), then `orchard checkpoint` and
// `orchard consume` on what they wrote. (Runs dist/: npm run build.)

let cluster: ClusterTopology;
let dir: string;
let file: string;
const stream = '{replicas}:events';
before(async () => {
  cluster = await ClusterTopology.start();
  dir = mkdtempSync(join(tmpdir(), 'orchard-cluster-processes-'));
  file = join(dir, 'orchard.yml');
});
after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What every process of the file is given: the Cluster, the stream, the connectors' file. */
const settings = () => ({ ...cluster.env, ORCHARD_CONFIG: file, ORCHARD_STREAM: stream, ORCHARD_WEBHOOK_SECRETS: 'replica-test-secret-0123456789', JC_KEY: 'orchard-test-jumpcloud-key' });

type Status = { leaseHeld: boolean; state: string; lastRun: { outcome: string } | null };

async function statusOf(proc: OrchardProcess & { url: string }): Promise<Status> {
  const body = (await (await fetch(`${proc.url}/status`)).json()) as { connectors: Status[] };
  return body.connectors[0]!;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('three replicas on a Cluster: one runs the connector; SIGKILL it mid-run and another takes over after the lease expires, every event once', async (t) => {
  const mock = await MockJumpCloud.start({ latencyMs: 100 });
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(800, { fromMs: now - 50 * 60_000, toMs: now - 5 * 60_000, seed: 21 });
  writeFileSync(file, stringify({ connectors: [{ name: 'shared-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: '${JC_KEY}', interval: '1h', limit: 20 }] }));
  const leaseTtlMs = 2000;
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  // Started together; the run (40 pages, 100 ms each) outlasts their start.
  const replicas = await Promise.all(ports.map((port, i) =>
    startOrchardProcess({
      ...cluster.env,
      ...settings(),
      ORCHARD_DATA_DIR: mkdtempSync(join(dir, `replica${i}-`)),
      ORCHARD_CONNECTOR_LEASE_TTL_MS: String(leaseTtlMs),
      ORCHARD_REDIS_WAIT_REPLICAS: '1',
      HOST: '127.0.0.1',
      PORT: String(port),
    }),
  ));
  for (const proc of replicas) t.after(() => killOrchard(proc));
  const reader = cluster.client();
  const lease = new Keyspace(stream).connector('shared-jc').lease;
  // Some pages in: exactly one replica holds the lease and pulls; the others stand by.
  await until('a few pages of the run', async () => (await reader.xlen(stream)) >= 100);
  const statuses = await Promise.all(replicas.map(statusOf));
  assert.equal(statuses.filter((s) => s.leaseHeld).length, 1, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s.state === 'standby').length, 2, JSON.stringify(statuses));
  const holder = replicas[statuses.findIndex((s) => s.leaseHeld)]!;
  assert.match((await reader.get(lease))!, new RegExp(`:${holder.child.pid} `), 'the lease names the holder\'s process');
  const killedAt = Date.now();
  holder.child.kill('SIGKILL');
  await holder.exited;
  const survivors = replicas.filter((r) => r !== holder);
  await until('another replica finishing the run', async () => (await Promise.all(survivors.map(statusOf))).some((s) => s.leaseHeld && s.lastRun?.outcome === 'success')).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(await Promise.all(survivors.map(statusOf)))}\n${survivors.map((r) => r.stdout.slice(-8).join('\n')).join('\n---\n')}`);
  });
  const after = await Promise.all(survivors.map(statusOf));
  assert.equal(after.filter((s) => s.leaseHeld).length, 1, JSON.stringify(after));
  assert.ok(Date.now() - killedAt >= leaseTtlMs * 0.9, 'taken over only once the dead holder\'s lease expired');
  const ids = (await readStream(reader, stream)).map((e) => e.fields.id!);
  assert.equal(new Set(ids).size, ids.length, 'nothing twice');
  assert.deepEqual(ids.sort(), mock.visibleEvents().map((e) => e.id).sort(), 'every event once');
});

test('orchard checkpoint and orchard consume on the Cluster: the checkpoint and lease shown, every entry printed once', async () => {
  const show = runOrchard({ ...settings(), LOG_LEVEL: 'warn' }, ['checkpoint', 'show', 'shared-jc']);
  assert.equal((await show.exited).code, 0, show.stderr.join('\n'));
  assert.match(show.stdout.join('\n'), /shared-jc/);
  const consume = runOrchard({ ...settings(), LOG_LEVEL: 'warn' }, ['consume', '--group', 'cli', '--from', '0']);
  assert.equal((await consume.exited).code, 0, consume.stderr.join('\n'));
  const printed = consume.stdout.map((line) => (JSON.parse(line) as { id: string }).id);
  const reader = cluster.client();
  const ids = (await readStream(reader, stream)).map((e) => e.fields.id!);
  assert.equal(ids.length, 800, 'what the replicas pulled');
  assert.equal(printed.length, ids.length);
  assert.deepEqual([...printed].sort(), [...ids].sort());
});
