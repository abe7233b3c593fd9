import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killAtRandomUntilDone, pullEnvironment, testSeed } from '../helpers/pull-processes.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJamfPro, mulberry32 } from '../mocks/jamf-pro-server.ts';

// Whole Orchard processes against one Redis and one mock Jamf Pro: SIGKILL at random points of a long
// inventory pull. The other sources' pulls under SIGKILL, and replicas sharing a connector, are in
// connector-runner.processes-*.test.ts (one scenario a file, so that the suite runs them side by side).

const shared = useTestRedis();

test('SIGKILL at random points of a long pull: after restarts the stream holds every computer exactly once', async (t) => {
  const seed = testSeed(t);
  const random = mulberry32(seed);
  // 75 pages of 8 computers: many pages for the kills to land between and in, few computers for
  // each of them to cost (the mock serving them, Orchard turning them into records, Redis appending).
  const computers = 600;
  const mock = await MockJamfPro.start({ computers, latencyMs: 20 });
  t.after(() => mock.close());
  const { stream, state, keys, env } = pullEnvironment(t, shared, mock, { page_size: 8, interval: '1h' });
  const killsMidRun = await killAtRandomUntilDone(t, env, state, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const entries = await readStream(shared.redis, stream);
  assert.equal(entries.filter((e) => e.fields.type === 'snapshot').length, 1, 'the scan\'s snapshot marker, once');
  const ids = entries.filter((e) => e.fields.type === 'computer').map((e) => e.fields.id!);
  const expected = mock.computers().map((c) => `${c.id as string}:${(c.general as { reportDate: string }).reportDate}`);
  assert.equal(ids.length, expected.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids.sort(), expected.sort());
  assert.equal(await shared.redis.hlen(keys.versions), computers);
});
