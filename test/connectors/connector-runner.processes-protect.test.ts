import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killAtRandomUntilDone, pullEnvironment, testSeed } from '../helpers/pull-processes.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJamfProtect } from '../mocks/jamf-protect-server.ts';
import { mulberry32 } from '../mocks/jamf-pro-server.ts';

// Whole Orchard processes against one Redis and one mock Jamf Protect: SIGKILL at random points of an alert pull.

const shared = useTestRedis();

test('SIGKILL at random points of a Jamf Protect alert pull (API order shuffled): after restarts the stream holds every alert exactly once', async (t) => {
  const seed = testSeed(t);
  const random = mulberry32(seed);
  const mock = new MockJamfProtect({ latencyMs: 20, order: 'shuffled', seed });
  await mock.start();
  t.after(() => mock.close());
  const now = Date.now();
  // 80 pages of 10 alerts: many pages for the kills to land between and in, few alerts for each of
  // them to cost (the mock serving them, Orchard turning them into records, Redis appending).
  const count = 800;
  // Some alerts were already worked on (InProgress, Resolved, AutoResolved): their later version lands too.
  mock.addAlerts(mock.generateAlerts({ count, seed, fromMs: now - 86_400_000 + 60_000, toMs: now - 60_000, mixedStatuses: true }).map((a) => ({ ...a, updated: a.updated === undefined ? undefined : Math.min(a.updated, now - 1000) })));
  const { stream, state, env } = pullEnvironment(t, shared, mock, { page_size: 10, interval: '1h' });
  const killsMidRun = await killAtRandomUntilDone(t, env, state, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const ids = (await readStream(shared.redis, stream)).map((e) => e.fields.id!);
  const updates = mock.alerts.filter((a) => a.status !== 'New').map((a) => `${a.uuid}:${new Date(a.updated!).toISOString()}`);
  assert.ok(updates.length > 100, 'a good share of the alerts were worked on');
  assert.equal(ids.length, count + updates.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids.sort(), [...mock.alerts.map((a) => a.uuid), ...updates].sort());
});
