import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startConnector, type ConnectorHarness } from '../helpers/connector-harness.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';

// The window verification of a Directory Insights connector against the mock's
// POST /insights/directory/v1/events/count: events the listing hides ("late beyond the overlap")
// are counted; a short window is re-pulled, and what stays short is reported with its bounds.

const shared = useTestRedis();

const hour = 3_600_000;
const year = 365 * 24 * hour;

interface Completeness {
  lastVerified: { start: string; end: string } | null;
  gaps: { org: string; service: string; start: string; end: string; vendor: number; appended: number; attempts: number }[];
  totals: { verified: number; repaired: number; short: number; recovered: number };
}
const completenessOf = (h: ConnectorHarness) => (h.status() as unknown as { completeness: Completeness }).completeness;

/**
 * A mock with 60 visible events in each of the two hours before the last whole hour, plus `late` events
 * in the first of them that its listing hides for a year of the mock's clock; and a connector reading
 * from three hours back. Returns the first window's start.
 */
async function setup(t: TestContext, late: number, options: { reveal: boolean }) {
  let offsetMs = 0;
  const mock = await MockJumpCloud.start({ now: () => Date.now() + offsetMs });
  t.after(() => mock.close());
  const lastHour = Math.floor(Date.now() / hour) * hour;
  const first = lastHour - 3 * hour;
  mock.generateEvents(60, { fromMs: first + 60_000, toMs: first + hour - 60_000, seed: 3 });
  mock.generateEvents(60, { fromMs: first + hour + 60_000, toMs: first + 2 * hour - 60_000, seed: 4 });
  const hidden = mock.addEvents(Array.from({ length: late }, (_, i) => ({ timestamp: first + 30 * 60_000 + i * 1000 })), { visibleAfterMs: year });
  // JumpCloud indexed them late: by the time Orchard asks the count, the listing returns them too.
  if (options.reveal) mock.onCount(() => (offsetMs = 2 * year));
  const h = await startConnector(shared.server, { name: 'acme-jc', type: 'jumpcloud.directory_insights', tenant: 'acme', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', start: new Date(first).toISOString() });
  t.after(() => h.stop());
  return { mock, h, first, hidden };
}

test('a window short of the vendor\'s count is re-pulled, its missing events appended once, and then verified', async (t) => {
  const { mock, h, first, hidden } = await setup(t, 3, { reveal: true });
  const s = await h.waitFor((st) => ((st as unknown as { completeness?: Completeness }).completeness?.totals.verified ?? 0) >= 1 && st.lastRun?.outcome === 'success', 'the windows checked');
  assert.equal(s.lastRun?.appended, 120, 'the run itself could not see the late events');
  const c = completenessOf(h);
  assert.equal(c.totals.repaired, 1, JSON.stringify(c));
  assert.equal(c.totals.recovered, 3);
  assert.equal(c.totals.short, 0);
  assert.deepEqual(c.gaps, []);
  const ids = (await readStream(h.redis, h.stream)).map((e) => e.fields.id);
  assert.equal(ids.length, 123, 'every event once: the re-pull appended only what the stream lacked');
  assert.equal(new Set(ids).size, 123);
  for (const e of hidden) assert.ok(ids.includes(e.id), `late event ${e.id} appended by the re-pull`);
  const counts = mock.requests.filter((r) => r.route === 'count');
  const firstWindow = counts.filter((r) => (r.body as { start_time: string }).start_time === new Date(first).toISOString());
  assert.equal(firstWindow.length, 2, 'the short window is counted, re-pulled, and counted again');
  assert.deepEqual((firstWindow[0]!.body as { service: string[] }).service, ['all'], 'the count asks with the services the pull reads');
  const repair = h.logs().find((l) => l.msg === 'Window re-pulled: the stream now holds every event the vendor counts.');
  assert.ok(repair, 'a log line per repair');
  assert.equal(repair.level, 'info');
  assert.equal((repair.window as { start: string }).start, new Date(first).toISOString());
  assert.equal(repair.recovered, 3);
  const metrics = await h.metrics.registry.getSingleMetricAsString('orchard_completeness_windows_total');
  assert.match(metrics, /orchard_completeness_windows_total\{connector="acme-jc",result="repaired"\} 1/);
  assert.match(await h.metrics.registry.getSingleMetricAsString('orchard_completeness_events_recovered_total'), /\{connector="acme-jc"\} 3/);
});

test('a window that stays short after the re-pull is reported with its bounds and the connector is degraded', async (t) => {
  const { h, first } = await setup(t, 2, { reveal: false });
  await h.waitFor((st) => ((st as unknown as { completeness?: Completeness }).completeness?.gaps.length ?? 0) >= 1, 'a gap');
  const c = completenessOf(h);
  assert.equal(c.gaps.length, 1, JSON.stringify(c.gaps));
  const gap = c.gaps[0]!;
  assert.equal(gap.start, new Date(first).toISOString());
  assert.equal(gap.end, new Date(first + hour).toISOString());
  assert.equal(gap.service, 'all');
  assert.equal(gap.vendor, 62);
  assert.equal(gap.appended, 60);
  assert.equal(c.totals.short, 1);
  assert.equal(c.totals.recovered, 0);
  assert.ok(c.totals.verified >= 1, `the next window is verified: ${JSON.stringify(c)}`);
  const health = h.status().health;
  assert.equal(health.state, 'degraded');
  assert.match(health.reason, /1 window\(s\) still short/);
  assert.ok(h.logs().some((l) => l.msg === "Window re-pulled and still short of the vendor's count: reported as an unrepaired gap." && l.level === 'warn'));
  assert.match(await h.metrics.registry.getSingleMetricAsString('orchard_completeness_unrepaired_gaps'), /\{connector="acme-jc"\} 1/);
  assert.equal((await readStream(h.redis, h.stream)).length, 120, 'nothing appended twice by the re-pull');
});

test('an MSP connector counts and checks each organization on its own, asking JumpCloud with its x-org-id', async (t) => {
  const mock = await MockJumpCloud.start({ organizations: [{ id: 'org-a', name: 'Alpha' }, { id: 'org-b', name: 'Beta' }] });
  t.after(() => mock.close());
  const first = Math.floor(Date.now() / hour) * hour - 3 * hour;
  mock.org('org-a').generateEvents(20, { fromMs: first + 60_000, toMs: first + hour - 60_000, seed: 11 });
  mock.org('org-b').generateEvents(25, { fromMs: first + 60_000, toMs: first + hour - 60_000, seed: 12 });
  mock.org('org-b').addEvents([{ timestamp: first + 10 * 60_000 }], { visibleAfterMs: year });
  const h = await startConnector(shared.server, { name: 'msp', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', org_ids: 'all', interval: '1h', start: new Date(first).toISOString() });
  t.after(() => h.stop());
  await h.waitFor((st) => ((st as unknown as { completeness?: Completeness }).completeness?.gaps.length ?? 0) >= 1, 'a gap');
  const c = completenessOf(h);
  assert.deepEqual(c.gaps.map((g) => [g.org, g.start, g.vendor, g.appended]), [['org-b', new Date(first).toISOString(), 26, 25]], 'org-a is whole; org-b lacks its late event');
  const counts = mock.requests.filter((r) => r.route === 'count');
  assert.ok(counts.some((r) => r.headers['x-org-id'] === 'org-a') && counts.some((r) => r.headers['x-org-id'] === 'org-b'));
  assert.deepEqual(Object.keys((h.status() as unknown as { completeness: { checkedUntil: Record<string, string> } }).completeness.checkedUntil).sort(), ['org-a|all', 'org-b|all']);
});

test('windows read while counting was off are never checked nor re-pulled: turning verify_after on counts from then on', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const first = Math.floor(Date.now() / hour) * hour - 3 * hour;
  mock.generateEvents(30, { fromMs: first + 60_000, toMs: first + 2 * hour - 60_000, seed: 13 });
  mock.addEvents([{ timestamp: first + 30 * 60_000 }], { visibleAfterMs: year });
  const stream = `w${Math.random().toString(36).slice(2, 8)}:events`;
  const entry = { name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', start: new Date(first).toISOString() };
  const off = await startConnector(shared.server, { ...entry, verify_after: 'off' }, { stream });
  t.after(() => off.stop());
  await off.waitForRuns(1);
  await off.stop();
  // As if counting had been on once, long before it was turned off.
  const reader = shared.server.client();
  t.after(() => reader.disconnect());
  await reader.hset(off.state.keys('acme-jc').windowCounts, 'from|', new Date(first - 24 * hour).toISOString());
  const on = await startConnector(shared.server, { ...entry, interval: '300ms' }, { stream });
  t.after(() => on.stop());
  await on.waitFor((st) => st.totals.runs >= 2 && st.lastRun?.outcome === 'success', 'runs with counting');
  await on.stop();
  const c = completenessOf(on);
  assert.deepEqual(c.totals, { verified: 0, repaired: 0, short: 0, recovered: 0 }, JSON.stringify(c));
  assert.equal(mock.requests.filter((r) => r.route === 'count').length, 0, 'nothing counted before counting began');
  assert.equal((await readStream(reader, stream)).length, 30, 'nothing appended twice');
});

test('a new verify_window begins counting again: the windows counted with the old length are not checked with the new one', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const first = Math.floor(Date.now() / hour) * hour - 3 * hour;
  mock.generateEvents(30, { fromMs: first + 60_000, toMs: first + 2 * hour - 60_000, seed: 17 });
  const stream = `n${Math.random().toString(36).slice(2, 8)}:events`;
  const entry = { name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', start: new Date(first).toISOString() };
  const hourly = await startConnector(shared.server, entry, { stream });
  t.after(() => hourly.stop());
  await hourly.waitFor((st) => ((st as unknown as { completeness?: Completeness }).completeness?.totals.verified ?? 0) >= 2, 'the hourly windows verified');
  await hourly.stop();
  const countsBefore = mock.requests.filter((r) => r.route === 'count').length;
  const halfHourly = await startConnector(shared.server, { ...entry, verify_window: '30m', interval: '300ms' }, { stream });
  t.after(() => halfHourly.stop());
  await halfHourly.waitFor((st) => st.totals.runs >= 2 && st.lastRun?.outcome === 'success', 'runs with 30-minute windows');
  await halfHourly.stop();
  assert.equal(mock.requests.filter((r) => r.route === 'count').length, countsBefore, 'no window of the old counting asked again');
  const c = completenessOf(halfHourly);
  assert.equal(c.totals.short, 0);
  assert.equal(c.totals.recovered, 0);
  const reader = shared.server.client();
  t.after(() => reader.disconnect());
  assert.equal((await readStream(reader, stream)).length, 30, 'nothing appended twice');
});
