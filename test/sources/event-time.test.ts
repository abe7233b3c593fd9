import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseEventTimeMs } from '../../src/sources/event-time.ts';

test('fractions of any length up to nanoseconds are kept to the millisecond, never read as zero', () => {
  assert.equal(parseEventTimeMs('2025-06-18T01:40:47.663248444Z'), Date.UTC(2025, 5, 18, 1, 40, 47, 663));
  assert.equal(parseEventTimeMs('2023-01-14T08:16:06.495Z'), Date.UTC(2023, 0, 14, 8, 16, 6, 495));
  assert.equal(parseEventTimeMs('2023-01-14T08:16:06.4Z'), Date.UTC(2023, 0, 14, 8, 16, 6, 400));
  assert.equal(parseEventTimeMs('2023-01-14T08:16:06.04Z'), Date.UTC(2023, 0, 14, 8, 16, 6, 40));
  assert.equal(parseEventTimeMs('2023-01-14T08:16:06Z'), Date.UTC(2023, 0, 14, 8, 16, 6, 0));
  assert.equal(parseEventTimeMs('2023-01-14T08:16:06.999999999Z'), Date.UTC(2023, 0, 14, 8, 16, 6, 999));
});

test('offsets and a missing zone (UTC) are understood', () => {
  assert.equal(parseEventTimeMs('2023-01-14T10:16:06.495+02:00'), Date.UTC(2023, 0, 14, 8, 16, 6, 495));
  assert.equal(parseEventTimeMs('2023-01-14T03:16:06.495-0500'), Date.UTC(2023, 0, 14, 8, 16, 6, 495));
  assert.equal(parseEventTimeMs('2023-01-14T08:16:06.495'), Date.UTC(2023, 0, 14, 8, 16, 6, 495));
  assert.equal(parseEventTimeMs('2023-01-14 08:16:06,495Z'), Date.UTC(2023, 0, 14, 8, 16, 6, 495));
});

test('what is not a time is undefined', () => {
  for (const bad of ['', 'yesterday', '2023-02-30T00:00:00Z', '2023-01-14T25:00:00Z', '2023-01-14', 1673684166495, null, undefined, {}, '2023-01-14T08:16:06.495Zjunk']) {
    assert.equal(parseEventTimeMs(bad), undefined, String(bad));
  }
});

test('agrees with Date.parse on every millisecond-precision time, and extra digits never change the millisecond', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4102444800000 }), fc.integer({ min: 0, max: 999_999 }), (ms, sub) => {
      const iso = new Date(ms).toISOString();
      assert.equal(parseEventTimeMs(iso), ms);
      assert.equal(parseEventTimeMs(iso.replace('Z', `${String(sub).padStart(6, '0')}Z`)), ms);
    }),
  );
});
