import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { killOrchard, startOrchardProcess, type OrchardProcess } from '../helpers/orchard-process.ts';
import { pullEnvironment, until } from '../helpers/pull-processes.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJamfPro } from '../mocks/jamf-pro-server.ts';

// Two Orchard processes share one connector: one pulls, the other stands by and takes over.

const shared = useTestRedis();
const inventoryRequests = (mock: MockJamfPro) => mock.requests.filter((r) => r.route === 'inventory').length;

async function statusOf(proc: OrchardProcess & { url: string }): Promise<{ leaseHeld: boolean; state: string; lastRun: { appended: number; outcome: string } | null }> {
  const body = (await (await fetch(`${proc.url}/status`)).json()) as { connectors: { leaseHeld: boolean; state: string; lastRun: { appended: number; outcome: string } | null }[] };
  return body.connectors[0]!;
}

test('two replicas share one connector: one pulls, the other stands by and takes over when the first dies', async (t) => {
  // 12 pages of 10 computers: what is checked is which replica reads each page, and how often.
  const computers = 120;
  const mock = await MockJamfPro.start({ computers });
  t.after(() => mock.close());
  const { stream, state, keys, env } = pullEnvironment(t, shared, mock, { page_size: 10, interval: '4s' });
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
  const computersInStream = async () => (await readStream(shared.redis, stream)).filter((e) => e.fields.type === 'computer');
  assert.equal((await computersInStream()).length, computers);
  const [sa, sb] = await Promise.all([statusOf(a), statusOf(b)]);
  assert.equal([sa, sb].filter((s) => s.leaseHeld).length, 1, JSON.stringify([sa, sb]));
  const [holder, other] = sa.leaseHeld ? [a, b] : [b, a];
  assert.equal((await statusOf(other)).state, 'standby');
  // The holder dies without releasing; reports change; the other replica takes over and appends exactly them.
  holder.child.kill('SIGKILL');
  await holder.exited;
  // On a loaded machine the holder may have begun its next run (interval 4 s) before it died: whole
  // runs of 12 pages each, nothing appended, as nothing had changed yet.
  const requestsBefore = inventoryRequests(mock);
  assert.equal(requestsBefore % 12, 0, `whole runs only (${requestsBefore} page requests)`);
  // Computers of the first, a middle and the last page report again.
  const reporting = ['5', String(computers / 2), String(computers)];
  const touched = mock.touch(reporting);
  await until(async () => (await statusOf(other)).lastRun?.outcome === 'success', 'the second run, by the other replica, to end');
  const s = await statusOf(other);
  assert.equal(s.leaseHeld, true);
  assert.equal(s.lastRun?.appended, 4, 'the three that reported again, and the scan\'s snapshot marker');
  const ids = (await computersInStream()).map((e) => e.fields.id);
  assert.equal(ids.length, computers + 3);
  for (const [i, id] of reporting.entries()) assert.ok(ids.includes(`${id}:${touched[i]}`));
  assert.equal(inventoryRequests(mock), requestsBefore + 12, 'the run after the takeover reads each of the 12 pages once');
  // Graceful shutdown releases the lease at once.
  await killOrchard(other);
  assert.equal(await shared.redis.exists(keys.lease), 0);
});
