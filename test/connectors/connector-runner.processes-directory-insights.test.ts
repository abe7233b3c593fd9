import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killAtRandomUntilDone, pullEnvironment, testSeed } from '../helpers/pull-processes.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';
import { mulberry32 } from '../mocks/jamf-pro-server.ts';

// Whole Orchard processes against one Redis and one mock JumpCloud: SIGKILL at random points of a Directory Insights backfill.

const shared = useTestRedis();

test('SIGKILL at random points of a Directory Insights backfill: after restarts the stream holds every event exactly once', async (t) => {
  const seed = testSeed(t);
  const random = mulberry32(seed);
  const mock = await MockJumpCloud.start({ latencyMs: 20 });
  t.after(() => mock.close());
  const now = Date.now();
  // 42 pages of 30 events: many pages for the kills to land between and in, few events for each of
  // them to cost (the mock serving them, Orchard turning them into records, Redis appending).
  // Two days of events, and 40 of them sharing one millisecond: more than a page, so a page boundary
  // falls inside the tie.
  const limit = 30;
  const tie = 40;
  assert.ok(tie > limit);
  mock.generateEvents(1200, { fromMs: now - 2 * 86_400_000, toMs: now - 10 * 60_000, seed, nanos: true });
  mock.generateEvents(tie, { fromMs: now - 86_400_000, toMs: now - 86_400_000 + 1, sameTimestamp: true, seed: seed + 1 });
  const { stream, state, env } = pullEnvironment(t, shared, mock, { limit, interval: '1h', start: new Date(now - 3 * 86_400_000).toISOString() });
  const killsMidRun = await killAtRandomUntilDone(t, env, state, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const ids = (await readStream(shared.redis, stream)).map((e) => e.fields.id!);
  const expected = mock.visibleEvents().map((e) => e.id);
  assert.equal(ids.length, expected.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids, expected, 'every event once, in the vendor\'s order');
  assert.equal(mock.requests.filter((r) => r.status === 400).length, 0);
});
