import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Backoff, fullJitterDelayMs, parseRetryAfterMs } from '../src/backoff.ts';
import { VendorHttpError } from '../src/errors.ts';

test('full jitter stays within [0, min(cap, base·2^attempt)) and is a whole number of ms', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 0, max: 600_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, baseMs, capMs, r) => {
        const delayMs = fullJitterDelayMs(attempt, baseMs, capMs, () => r);
        const ceilingMs = Math.min(capMs, baseMs * 2 ** attempt);
        assert.ok(Number.isInteger(delayMs));
        assert.ok(delayMs >= 0);
        assert.ok(ceilingMs === 0 ? delayMs === 0 : delayMs < ceilingMs, `${delayMs} < ${ceilingMs}`);
      },
    ),
  );
});

test('full jitter at its edges: random 0 gives 0, random just below 1 gives just below the ceiling, the cap holds', () => {
  assert.equal(fullJitterDelayMs(0, 500, 30_000, () => 0), 0);
  assert.equal(fullJitterDelayMs(0, 500, 30_000, () => 0.999999), 499);
  assert.equal(fullJitterDelayMs(3, 500, 30_000, () => 0.5), 2000);
  assert.equal(fullJitterDelayMs(10, 500, 30_000, () => 0.5), 15_000);
  assert.equal(fullJitterDelayMs(5000, 500, 30_000, () => 0.5), 15_000, 'no overflow for huge attempts');
  assert.equal(fullJitterDelayMs(-1, 500, 30_000, () => 0.5), 250, 'a negative attempt counts as 0');
  assert.equal(fullJitterDelayMs(2, 500, 0, () => 0.5), 0);
  assert.equal(fullJitterDelayMs(2, 500, 30_000, () => 1), 1999, 'a random of 1 still stays below the ceiling');
});

test('full jitter is spread over the whole range with Math.random', () => {
  const delays = Array.from({ length: 2000 }, () => fullJitterDelayMs(2, 1000, 30_000));
  assert.ok(Math.min(...delays) < 400);
  assert.ok(Math.max(...delays) > 3600);
  assert.ok(delays.every((d) => d >= 0 && d < 4000));
});

test('Retry-After in delta-seconds', () => {
  assert.equal(parseRetryAfterMs('1'), 1000);
  assert.equal(parseRetryAfterMs(' 120 '), 120_000);
  assert.equal(parseRetryAfterMs('0'), 0);
  assert.equal(parseRetryAfterMs('-5'), 0);
  assert.equal(parseRetryAfterMs('1.5'), 1500);
});

test('Retry-After as an HTTP date, relative to now; a past date gives 0', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfterMs('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfterMs('Tue, 31 Dec 2024 23:59:00 GMT', now), 0);
  assert.equal(parseRetryAfterMs('Wednesday, 01-Jan-25 00:01:00 GMT', now), 60_000, 'RFC 850 form');
});

test('an absent or unreadable Retry-After gives undefined', () => {
  for (const value of [undefined, '', '  ', 'soon', '12abc', '1e3', 'Wed, 99 Foo 2025 00:00:00 GMT', 'NaN']) {
    assert.equal(parseRetryAfterMs(value), undefined, String(value));
  }
});

test('property: any whole number of seconds reads back in ms; any HTTP date reads back as its distance from now', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), (s) => parseRetryAfterMs(String(s)) === s * 1000));
  fc.assert(
    fc.property(
      fc.integer({ min: Date.parse('2000-01-01T00:00:00Z') / 1000, max: Date.parse('2100-01-01T00:00:00Z') / 1000 }),
      fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2100-01-01T00:00:00Z') }),
      (atSeconds, nowMs) => parseRetryAfterMs(new Date(atSeconds * 1000).toUTCString(), nowMs) === Math.max(0, atSeconds * 1000 - nowMs),
    ),
  );
});

test('Backoff: the ceiling doubles with each consecutive failure up to the cap, and reset starts over', () => {
  const backoff = new Backoff({ baseMs: 1000, capMs: 5000, random: () => 0.999 });
  assert.deepEqual(
    Array.from({ length: 5 }, () => backoff.next()),
    [999, 1998, 3996, 4995, 4995],
  );
  assert.equal(backoff.failures, 5);
  backoff.reset();
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.next(), 999);
});

test('Backoff: a failure with a Retry-After waits at least that long', () => {
  const backoff = new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0 });
  const rateLimited = new VendorHttpError({ connector: 'j', method: 'GET', path: '/x', status: 429, retryAfterMs: 42_000 });
  assert.equal(backoff.next(rateLimited), 42_000);
  assert.equal(backoff.next(new Error('other')), 0);
});

test('property: Backoff delays stay within full-jitter bounds for any failure count', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 300_000 }), (n, baseMs, capMs) => {
      const backoff = new Backoff({ baseMs, capMs });
      for (let i = 0; i < n; i++) {
        const delayMs = backoff.next();
        assert.ok(delayMs >= 0 && delayMs < Math.max(1, Math.min(capMs, baseMs * 2 ** i)));
      }
    }),
  );
});
