import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recentResult } from '../src/recent-result.ts';

test('callers within maxAgeMs share one call, also while it is pending; a later caller makes a new one', async () => {
  let calls = 0;
  let release!: () => void;
  const read = recentResult(40, () => {
    calls += 1;
    return new Promise<number>((r) => (release = () => r(calls)));
  });
  const a = read();
  const b = read();
  assert.equal(calls, 1, 'the pending call is shared');
  release();
  assert.deepEqual(await Promise.all([a, b]), [1, 1]);
  await new Promise((r) => setTimeout(r, 60));
  const c = read();
  assert.equal(calls, 2);
  release();
  assert.equal(await c, 2);
});
