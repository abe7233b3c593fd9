import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startConnector } from '../helpers/connector-harness.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { MockJamfPro } from '../mocks/jamf-pro-server.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';

// Silence is not health: a connector whose runs succeed but that appends nothing for longer than
// expect_events_within is silent; one whose runs fail is failing; freshness says when it last did what.

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const entry = (mock: MockJumpCloud, extra: Record<string, unknown>) => ({ name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '200ms', verify_after: 'off', ...extra });

test('runs that succeed but append nothing for longer than expect_events_within make the connector silent; an event makes it ok', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const h = await startConnector(server, entry(mock, { expect_events_within: '1s' }));
  t.after(() => h.stop());
  const silent = await h.waitFor((s) => s.health.state === 'silent', 'silent');
  assert.equal(silent.lastError, null, 'its runs succeed');
  assert.match(silent.health.reason, /no event appended since Orchard started \(\d+s?m?s?\), longer than expect_events_within \(1s\), although its runs succeed/);
  const freshness = (silent as unknown as { freshness: { lastEventAt: string | null; lastSuccessAt: string | null; expectEventsWithin: string } }).freshness;
  assert.equal(freshness.lastEventAt, null);
  assert.ok(freshness.lastSuccessAt !== null);
  assert.equal(freshness.expectEventsWithin, '1s');
  mock.generateEvents(3, { fromMs: Date.now() - 10 * 60_000, toMs: Date.now() - 5 * 60_000, seed: 9 });
  const ok = await h.waitFor((s) => s.health.state === 'ok', 'ok again');
  assert.match(ok.health.reason, /the last run succeeded at/);
  assert.ok((ok as unknown as { freshness: { secondsSinceLastEvent: number } }).freshness.secondsSinceLastEvent <= 1);
});

test('a connector whose runs fail is failing, with the diagnosis; without expect_events_within it is never silent', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const quiet = await startConnector(server, entry(mock, { name: 'quiet-jc' }));
  t.after(() => quiet.stop());
  const h = await startConnector(server, entry(mock, { api_key: 'wrong-key-0123456789' }));
  t.after(() => h.stop());
  const s = await h.waitFor((x) => x.health.state === 'failing', 'failing');
  assert.match(s.health.reason, /^parked: .*401.* \(credentials\)$/);
  assert.ok(!JSON.stringify(s.health).includes('wrong-key-0123456789'));
  await quiet.waitForRuns(3);
  assert.equal(quiet.status().health.state, 'ok');
});

test('an inventory whose scans find nothing new is silent: its snapshot markers are not events', async (t) => {
  const mock = await MockJamfPro.start({ computers: 5 });
  t.after(() => mock.close());
  const h = await startConnector(server, { name: 'acme-jamf', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', interval: '200ms', expect_events_within: '1s' });
  t.after(() => h.stop());
  await h.waitForRuns(1);
  assert.notEqual(h.status().health.state, 'silent', 'the first scan appended the fleet');
  const s = await h.waitFor((x) => x.health.state === 'silent', 'silent');
  // A finished run (the status above may show one under way).
  const later = await h.waitForRuns(s.totals.runs + 1);
  assert.ok((later.lastRun?.appended ?? 0) >= 1, 'its scans still append their markers');
  assert.equal(later.health.state, 'silent');
});
