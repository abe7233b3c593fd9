import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { startConnector } from '../../helpers/connector-harness.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { MockJamfProtect } from '../../mocks/jamf-protect-server.ts';

// A Jamf Protect run against listAlerts' pageInfo.total: a run that read fewer alerts than Jamf Protect
// counts is read again once from its start (nothing appended twice), and what stays short is reported.

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const minute = 60_000;

async function setup(t: TestContext, unlisted: number) {
  const mock = new MockJamfProtect({ clientId: 'orchard-test-protect-client', password: 'orchard-test-protect-password' });
  await mock.start();
  t.after(() => mock.close());
  const now = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 30, seed: 21, fromMs: now - 60 * minute, toMs: now - minute }));
  mock.unlisted = unlisted;
  const h = await startConnector(server, {
    name: 'acme-protect',
    type: 'jamf_protect.alerts',
    tenant: 'acme',
    base_url: mock.url,
    client_id: 'orchard-test-protect-client',
    password: 'orchard-test-protect-password',
    interval: '1h',
    page_size: 20,
    start: new Date(now - 2 * 60 * minute).toISOString(),
  });
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  return { mock, h, s };
}

type Counted = { start: string; end: string; expected: number; got: number; result: string };
const countedOf = (s: unknown) => (s as { lastCount?: Counted }).lastCount;

test('a run that read every alert Jamf Protect counts is verified', async (t) => {
  const { mock, h, s } = await setup(t, 0);
  assert.deepEqual({ ...countedOf(s), start: undefined, end: undefined }, { start: undefined, end: undefined, expected: 30, got: 30, result: 'verified' });
  assert.equal(mock.requests.filter((r) => r.route === 'graphql').length, 2, 'two pages, no second reading');
  assert.equal(s.health.state, 'ok');
  assert.match(await h.metrics.registry.getSingleMetricAsString('orchard_completeness_windows_total'), /\{connector="acme-protect",result="verified"\} 1/);
});

test('a run short of pageInfo.total is read again once, appends nothing twice, and is reported short with its bounds', async (t) => {
  const { mock, h, s } = await setup(t, 2);
  const counted = countedOf(s)!;
  assert.equal(counted.result, 'short');
  assert.equal(counted.expected, 32);
  assert.equal(counted.got, 30);
  assert.ok(Date.parse(counted.start) < Date.parse(counted.end), 'its bounds');
  const pages = mock.requests.filter((r) => r.route === 'graphql');
  assert.equal(pages.length, 4, 'the run read again from its start');
  assert.equal((pages[2]!.variables as { next: unknown }).next, null);
  assert.equal(s.lastRun?.appended, 30);
  assert.equal(new Set(await h.ids()).size, 30);
  assert.equal((await h.ids()).length, 30, 'the second reading appended nothing again');
  assert.equal(s.health.state, 'degraded');
  assert.match(s.health.reason, /its last run read 30 of the 32 the vendor counts after/);
  assert.ok(h.logs().some((l) => typeof l.msg === 'string' && /counted 32 alert\(s\) after .*, the run read 30: reading the run again/.test(l.msg)));
  assert.ok(h.logs().some((l) => typeof l.msg === 'string' && /even after reading it again: reported as short/.test(l.msg)));
});
