import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { ConfigInvalidError } from '../../../src/errors.ts';
import { configWithConnectors, startConnector, type ConnectorHarness } from '../../helpers/connector-harness.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { MockJamfPro, type MockJamfProOptions } from '../../mocks/jamf-pro-server.ts';

// The inventory on the current API: the version chosen per run, sections per version, paging that
// cannot skip, and the vendor's deprecation notices seen before they bite.

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const entryOf = (mock: MockJamfPro, entry: Record<string, unknown> = {}) => ({
  name: 'acme-jamf',
  type: 'jamf_pro.inventory',
  base_url: mock.url,
  client_id: 'orchard-test-client',
  client_secret: 'orchard-test-secret',
  interval: '1h',
  ...entry,
});

async function setup(t: TestContext, mockOptions: MockJamfProOptions, entry: Record<string, unknown> = {}, stream?: string): Promise<{ mock: MockJamfPro; h: ConnectorHarness }> {
  const mock = await MockJamfPro.start(mockOptions);
  t.after(() => mock.close());
  const h = await startConnector(server, entryOf(mock, entry), { stream });
  t.after(() => h.stop());
  return { mock, h };
}

const expectedIds = (mock: MockJamfPro) => mock.computers().map((c) => `${c.id as string}:${(c.general as { reportDate: string }).reportDate}`);
const inventory = (mock: MockJamfPro) => mock.requests.filter((r) => r.route === 'inventory');

test('a Jamf Pro 11.30 where v1 is gone: the run reads v4, asked once per run, and the records are those v1 made', async (t) => {
  const { mock, h } = await setup(t, { computers: 230, removedApiVersions: [1] }, { page_size: 100 });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual([...new Set(inventory(mock).map((r) => r.apiVersion))], [4]);
  assert.equal(mock.requests.filter((r) => r.route === 'version').length, 1);
  assert.deepEqual((await h.ids('computer')).sort(), expectedIds(mock).sort());
  assert.equal(s.checkpoint?.path, '/api/v4/computers-inventory');
});

test('an older Jamf Pro (11.29, no v4), and one whose version endpoint is gone: v3, then a 404 fallback', async (t) => {
  const { mock: old, h } = await setup(t, { computers: 20, jamfProVersion: '11.29.1-t1779999999999' });
  await h.waitForRuns(1);
  assert.deepEqual([...new Set(inventory(old).map((r) => r.apiVersion))], [3]);
  const { mock: bare, h: h2 } = await setup(t, { computers: 20, jamfProVersion: null, removedApiVersions: [4, 3] });
  const s = await h2.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual(inventory(bare).map((r) => `${r.apiVersion}:${r.status}`).slice(0, 3), ['4:404', '3:404', '2:200']);
  assert.equal((await h2.ids('computer')).length, 20);
});

test('a checkpoint written by the v1 path carries over: a run on v3 appends nothing for unchanged computers', async (t) => {
  const stream = `v${Math.random().toString(36).slice(2, 8)}:events`;
  const mock = await MockJamfPro.start({ computers: 150, jamfProVersion: '11.29.0' });
  t.after(() => mock.close());
  const first = await startConnector(server, entryOf(mock, { api_version: 1, page_size: 40 }), { stream });
  t.after(() => first.stop());
  await first.waitForRuns(1);
  await first.stop();
  assert.deepEqual([...new Set(inventory(mock).map((r) => r.apiVersion))], [1]);
  mock.touch(['7']);
  const second = await startConnector(server, { ...entryOf(mock, { page_size: 40 }), interval: '50ms' }, { stream });
  t.after(() => second.stop());
  const s = await second.waitFor((x) => x.totals.runs >= 1 && x.lastRun?.outcome === 'success', 'a run on v3');
  assert.equal(inventory(mock).at(-1)?.apiVersion, 3);
  assert.equal(s.lastRun?.appended, 2, 'only the computer that reported again, and the snapshot marker');
  assert.equal(s.lastRun?.duplicates, 149);
  const ids = await second.ids('computer');
  assert.equal(ids.length, 151);
  assert.deepEqual([...new Set(ids)].length, 151);
});

test('sections follow the version: PLUGINS on v3 parks the run with a configuration diagnosis naming it; pinned, the configuration refuses it', async (t) => {
  const { h } = await setup(t, { computers: 5, jamfProVersion: '11.29.0' }, { sections: ['GENERAL', 'PLUGINS'] });
  const s = await h.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'configuration');
  assert.match(s.lastError!.diagnosis.cause, /connectors\[acme-jamf\]\.sections: PLUGINS is not a section of \/api\/v3\/computers-inventory, the newest version this Jamf Pro offers/);
  assert.match(s.lastError!.diagnosis.cause, /set api_version: 1/);
  assert.throws(
    () => configWithConnectors([{ name: 'x', type: 'jamf_pro.inventory', base_url: 'https://acme.jamfcloud.com', client_id: 'a', client_secret: 'b', api_version: 3, sections: ['FONTS', 'PLUGINS'] }]),
    (err: unknown) => err instanceof ConfigInvalidError && /connectors #1 \(x\)\.sections: FONTS and PLUGINS are not sections of \/api\/v3\/computers-inventory \(api_version 3\)/.test(err.message),
  );
  assert.doesNotThrow(() => configWithConnectors([{ name: 'x', type: 'jamf_pro.inventory', base_url: 'https://acme.jamfcloud.com', client_id: 'a', client_secret: 'b', api_version: 1, sections: ['PLUGINS'] }]));
});

test('a pinned version the server no longer serves is a configuration problem naming api_version', async (t) => {
  const { h } = await setup(t, { computers: 5, removedApiVersions: [1] }, { api_version: 1 });
  const s = await h.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'configuration');
  assert.match(s.lastError!.diagnosis.cause, /api_version: Jamf Pro 11\.30\.1-t1784555528405 answers 404 to GET \/api\/v1\/computers-inventory: it no longer serves v1/);
});

test('a clamp below page_size on a fleet of thousands: every computer once, paging on by what the server answered', async (t) => {
  const { mock, h } = await setup(t, { computers: 3100, clampPageSize: 150 }, { page_size: 1000 });
  const s = await h.waitForRuns(1, 60_000);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const ids = await h.ids('computer');
  assert.equal(ids.length, 3100);
  assert.deepEqual(ids.sort(), expectedIds(mock).sort());
  assert.equal(inventory(mock).length, 21, 'one page of 150 at page-size 1000, then 20 more of 150');
  assert.equal(h.logs().filter((l) => /asked for 1000 computers a page, Jamf Pro answered 150 of 3100; paging on by 150/.test(String(l.msg))).length, 1);
});

test('computers removed in the middle of a scan: none of the others is skipped in that scan', async (t) => {
  const { mock, h } = await setup(t, { computers: 600, latencyMs: 5 }, { page_size: 50 });
  let removed = false;
  const timer = setInterval(() => {
    if (!removed && inventory(mock).length >= 5) {
      mock.removeComputers(['3', '4', '60']);
      removed = true;
    }
  }, 1);
  t.after(() => clearInterval(timer));
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.ok(removed);
  const ids = await h.ids('computer');
  assert.equal(new Set(ids).size, ids.length, 'nothing twice');
  for (const id of expectedIds(mock)) assert.ok(ids.includes(id), `${id} was read in the scan`);
  assert.ok(h.logs().some((l) => /totalCount fell from 600 to 597 during the scan/.test(String(l.msg))));
});

test('a server that answers the same page twice fails the run with a paging diagnosis instead of looping', async (t) => {
  const { mock, h } = await setup(t, { computers: 300, ignorePage: true }, { page_size: 100 });
  const s = await h.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s.lastError?.code, 'ORCHARD_ERR_VENDOR_PAGING');
  assert.equal(s.lastError?.diagnosis.category, 'response');
  assert.match(s.lastError!.diagnosis.cause, /page 1 holds only computers already read on earlier pages .* the run stopped rather than loop or skip items/);
  assert.equal(inventory(mock).length, 2);
  assert.equal((await h.ids('computer')).length, 100, 'the first page was written; the checkpoint is there to go on from');
});

test('Deprecation headers: a metric per connector and path, a warning in /status, one log line per run naming the date and the path to move to', async (t) => {
  const { mock, h } = await setup(t, { computers: 120, apiDeprecations: { 3: { deprecation: '@1784000000', sunset: 'Thu, 14 Jan 2027 00:00:00 GMT' } } }, { api_version: 3, page_size: 50, interval: '100ms' });
  const s = await h.waitForRuns(2);
  assert.ok(inventory(mock).length >= 6);
  const metrics = await h.metrics.registry.metrics();
  assert.match(metrics, /orchard_connector_deprecated_answers_total\{connector="acme-jamf",path="\/api\/v3\/computers-inventory"\} \d+/);
  assert.match(metrics, /orchard_connector_api_sunset_timestamp_seconds\{connector="acme-jamf",path="\/api\/v3\/computers-inventory"\} 1799884800/);
  assert.equal(s.deprecations.length, 1);
  assert.match(s.deprecations[0]!.warning, /^GET \/api\/v3\/computers-inventory is deprecated by the vendor \(since 2026-07-14; sunset 2027-01-14, when it stops answering\): move to \/api\/v4\/computers-inventory \(unset api_version, or raise it\)\.$/);
  const lines = h.logs().filter((l) => Array.isArray(l.deprecations));
  const runs = h.status().totals.runs;
  assert.ok(lines.length >= 2 && lines.length <= runs, `one line per run (${lines.length} lines, ${runs} runs)`);
  assert.equal(lines[0]!.level, 'warn');
  assert.equal(lines[0]!.msg, s.deprecations[0]!.warning);
});
