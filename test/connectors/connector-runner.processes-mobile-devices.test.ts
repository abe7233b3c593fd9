import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killAtRandomUntilDone, pullEnvironment, testSeed } from '../helpers/pull-processes.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJamfPro, mulberry32 } from '../mocks/jamf-pro-server.ts';

// Whole Orchard processes against one Redis and one mock Jamf Pro: SIGKILL at random points of a mobile devices pull.

const shared = useTestRedis();

test('SIGKILL at random points of a mobile devices pull: after restarts the stream holds every device exactly once', async (t) => {
  const seed = testSeed(t);
  const random = mulberry32(seed);
  // 63 pages of 8 devices: many pages for the kills to land between and in, few devices for each
  // of them to cost (the mock serving them, Orchard turning them into records, Redis appending).
  const mobileDevices = 500;
  const mock = await MockJamfPro.start({ computers: 1, mobileDevices, latencyMs: 20 });
  t.after(() => mock.close());
  const { stream, state, keys, env } = pullEnvironment(t, shared, mock, { type: 'jamf_pro.mobile_devices', page_size: 8, interval: '1h' });
  const killsMidRun = await killAtRandomUntilDone(t, env, state, random);
  assert.ok(killsMidRun.length >= 2, 'the kills landed in the middle of the run');
  const entries = await readStream(shared.redis, stream);
  assert.equal(entries.filter((e) => e.fields.type === 'snapshot').length, 1, 'the scan\'s snapshot marker, once');
  const ids = entries.filter((e) => e.fields.type === 'mobile_device').map((e) => e.fields.id!);
  const expected = mock.mobileDevices().map((d) => `${d.mobileDeviceId as string}:${(d.general as { lastInventoryUpdateDate: string }).lastInventoryUpdateDate}`);
  assert.equal(ids.length, expected.length, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.deepEqual(ids.sort(), expected.sort());
  assert.equal(await shared.redis.hlen(keys.versions), mobileDevices);
});
