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

test('property: the fast reading of the common shape agrees with the general one on any text close to it', () => {
  // Texts built around the canonical shape, with digits, separators and lengths varied, plus stray characters.
  const piece = (s: string) => fc.oneof(fc.constant(s), fc.constantFrom('', '0', '9', '99', 'x', ' ', '.', ':', '-', 'Z', 'z', 'T', '+01:00'));
  const text = fc
    .tuple(
      fc.integer({ min: 0, max: 253402300799999 }),
      fc.integer({ min: 0, max: 12 }),
      fc.array(fc.tuple(fc.nat(40), fc.string({ maxLength: 2 })), { maxLength: 2 }),
      fc.integer({ min: 0, max: 999_999_999_999 }),
    )
    .map(([ms, digits, edits, sub]) => {
      let iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, digits === 0 ? 'Z' : `.${String(sub).padStart(12, '0').slice(0, digits)}Z`);
      for (const [at, insert] of edits) iso = iso.slice(0, at) + insert + iso.slice(at + insert.length);
      return iso;
    });
  const general = (value: string): number | undefined => {
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,12}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/.exec(value.trim());
    if (!m) return undefined;
    const [, y, mo, d, h, mi, s, fraction = ''] = m;
    const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, '0').slice(0, 3)));
    const check = new Date(utc);
    if (m[8] !== undefined && m[8] !== 'Z' && m[8] !== 'z') return parseEventTimeMs(value); // offsets: not the fast shape
    if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
    return utc;
  };
  fc.assert(fc.property(fc.oneof(text, piece('2026-11-20T10:00:00Z')), (value) => assert.equal(parseEventTimeMs(value), general(value), value)), { numRuns: 5000 });
  assert.equal(parseEventTimeMs('2026-11-20T10:00:00.Z'), undefined);
  assert.equal(parseEventTimeMs('2026-11-20T10:00:00.999999999999Z'), Date.UTC(2026, 10, 20, 10, 0, 0, 999));
  assert.equal(parseEventTimeMs('2026-11-20T10:00:60Z'), Date.UTC(2026, 10, 20, 10, 1, 0, 0));
  assert.equal(parseEventTimeMs('2026-02-29T10:00:00Z'), undefined);
});
