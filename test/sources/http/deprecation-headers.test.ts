import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHeaderDate, readDeprecationHeaders } from '../../../src/sources/http/deprecation-headers.ts';

test('Deprecation as RFC 9745 @<unix seconds>, as the draft\'s true, and as an HTTP date', () => {
  assert.deepEqual(readDeprecationHeaders({ deprecation: '@1784000000' }), { deprecation: '@1784000000', deprecatedAtMs: 1_784_000_000_000 });
  assert.deepEqual(readDeprecationHeaders({ deprecation: 'true' }), { deprecation: 'true' });
  assert.equal(readDeprecationHeaders({ deprecation: 'Tue, 14 Jul 2026 00:00:00 GMT' })?.deprecatedAtMs, Date.UTC(2026, 6, 14));
  assert.equal(readDeprecationHeaders({ deprecation: 'false' }), undefined);
  assert.equal(readDeprecationHeaders({}), undefined);
});

test('Sunset as an HTTP date (RFC 8594) or an ISO date, Link relations for the successor and the explanation', () => {
  const seen = readDeprecationHeaders({
    sunset: 'Thu, 14 Jan 2027 00:00:00 GMT',
    link: '<https://developer.jamf.com/jamf-pro/docs/privileges-and-deprecations>; rel="deprecation", </api/v4/computers-inventory>; rel="successor-version"',
  });
  assert.equal(seen?.sunsetAtMs, Date.UTC(2027, 0, 14));
  assert.equal(seen?.successor, '/api/v4/computers-inventory');
  assert.equal(seen?.documentation, 'https://developer.jamf.com/jamf-pro/docs/privileges-and-deprecations');
  assert.equal(parseHeaderDate('2027-01-14'), Date.UTC(2027, 0, 14));
  assert.equal(parseHeaderDate('soon'), undefined);
  assert.deepEqual(readDeprecationHeaders({ sunset: 'soon' }), { sunset: 'soon' }, 'a header that cannot be read still counts, without a date');
});
