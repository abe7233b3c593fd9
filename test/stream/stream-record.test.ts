import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatTime } from '../../src/stream/stream-record.ts';

test('property: formatTime writes what toISOString writes, whatever order the times come in', () => {
  const near = fc.tuple(fc.integer({ min: -62_000_000_000_000, max: 253_402_300_799_999 }), fc.array(fc.integer({ min: -90_000_000, max: 90_000_000 }), { maxLength: 30 }));
  fc.assert(
    fc.property(near, ([base, steps]) => {
      let ms = base;
      for (const step of [0, ...steps]) {
        ms = Math.min(8.64e15, Math.max(-8.64e15, ms + step));
        assert.equal(formatTime(ms), new Date(ms).toISOString());
        assert.equal(formatTime(new Date(ms)), new Date(ms).toISOString());
      }
    }),
    { numRuns: 2000 },
  );
  for (const ms of [0, -1, 86_399_999, 86_400_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001]) assert.equal(formatTime(ms), new Date(ms).toISOString());
});
