import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killAtRandomUntilDone, pullEnvironment, testSeed } from '../helpers/pull-processes.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';
import { mulberry32 } from '../mocks/jamf-pro-server.ts';

// Whole Orchard processes against one Redis and one mock JumpCloud MSP: SIGKILL at random points of a pull over several organizations.

const shared = useTestRedis();

test('SIGKILL at random points of an MSP connector over five organizations (one refused, one added later): each organization\'s events exactly once', async (t) => {
  const seed = testSeed(t);
  const random = mulberry32(seed);
  const names: Record<string, string> = { 'org-a': 'Acme', 'org-b': 'Beta', 'org-c': 'Gamma', 'org-d': 'Delta', 'org-e': 'Epsilon', 'org-f': 'Zeta' };
  const mock = await MockJumpCloud.start({ latencyMs: 20, organizations: ['org-a', 'org-b', 'org-c', 'org-d', 'org-e'].map((id) => ({ id, name: names[id]! })) });
  t.after(() => mock.close());
  const now = Date.now();
  const backlog = (id: string, count: number, salt: number) => mock.org(id).generateEvents(count, { fromMs: now - 2 * 86_400_000, toMs: now - 10 * 60_000, seed: seed + salt, nanos: true });
  // About 50 pages of up to 40 events in the first run: many pages for the kills to land between and
  // in, few events for each of them to cost (the mock serving them, Orchard turning them into records,
  // Redis appending).
  ['org-a', 'org-b', 'org-c', 'org-d', 'org-e'].forEach((id, i) => backlog(id, 300 + 60 * i, i));
  mock.forbidOrganization('org-c');
  const { stream, state, env, reconfigure } = pullEnvironment(t, shared, mock, { org_ids: 'all', limit: 40, interval: '1h', start: new Date(now - 3 * 86_400_000).toISOString() });
  const killsMidRun = await killAtRandomUntilDone(t, env, state, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  // An organization joins the provider with two days of events; the others get new ones; the next run (interval now 1s) reads it from start.
  mock.addOrganization({ id: 'org-f', name: 'Zeta' });
  const joined = 240;
  backlog('org-f', joined, 10);
  for (const [i, id] of ['org-a', 'org-b', 'org-d', 'org-e'].entries()) mock.org(id).generateEvents(10, { fromMs: now - 9 * 60_000, toMs: now - 5 * 60_000, seed: seed + 20 + i });
  const firstEnded = (await state.read('fleet')).checkpoint!.lastRunEndedAt;
  reconfigure({ interval: '1s' });
  const killsInSecond = await killAtRandomUntilDone(t, env, state, random, firstEnded);
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
  assert.equal(stored.tallies['org:org-f']?.appended, joined);
  const cursor = stored.checkpoint!.cursor as { orgs: Record<string, { error: { status: number } | null }> };
  assert.equal(cursor.orgs['org-c']!.error?.status, 403);
});
