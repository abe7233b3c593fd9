import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { startConnector, type ConnectorHarness } from '../../helpers/connector-harness.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { readStream } from '../../helpers/test-app.ts';
import { MockJamfPro, type MockJamfProOptions } from '../../mocks/jamf-pro-server.ts';

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

async function setup(t: TestContext, mockOptions: MockJamfProOptions, entry: Record<string, unknown> = {}, options: { leaseTtlMs?: number } = {}): Promise<{ mock: MockJamfPro; h: ConnectorHarness }> {
  const mock = await MockJamfPro.start(mockOptions);
  t.after(() => mock.close());
  const h = await startConnector(
    server,
    {
      name: 'acme-jamf',
      type: 'jamf_pro.inventory',
      tenant: 'acme',
      base_url: mock.url,
      client_id: 'orchard-test-client',
      client_secret: 'orchard-test-secret',
      interval: '1h',
      ...entry,
    },
    options,
  );
  t.after(() => h.stop());
  return { mock, h };
}

/** `<computer id>:<report date>` of every computer in the mock's fleet. */
function expectedIds(mock: MockJamfPro): string[] {
  return mock.computers().map((c) => `${c.id as string}:${(c.general as { reportDate: string }).reportDate}`);
}

test('the first run loads a fleet larger than ten pages, every computer once, as stream contract v1 records', async (t) => {
  const { mock, h } = await setup(t, { computers: 1234 }, { page_size: 100 });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const all = await readStream(h.redis, h.stream);
  const entries = all.filter((e) => e.fields.type === 'computer');
  assert.deepEqual(entries.map((e) => e.fields.id).sort(), expectedIds(mock).sort());
  assert.equal(all.length, entries.length + 1, 'and the scan\'s snapshot marker');
  const validateEntry = createAjv().compile(readSchema('stream-entry.schema.json'));
  for (const e of all) assert.ok(validateEntry(e.fields), JSON.stringify(validateEntry.errors));
  const validateIndicators = createAjv().compile(readSchema('indicators.schema.json'));
  assert.ok(all.every((e) => validateIndicators(JSON.parse(e.fields.indicators!))));
  const first = entries[0]!.fields;
  const computer = mock.computers().find((c) => first.id!.startsWith(`${c.id as string}:`))!;
  assert.equal(first.v, '1');
  assert.equal(first.source, 'jamf_pro.inventory');
  assert.equal(first.type, 'computer');
  assert.equal(first.tenant, 'acme');
  assert.equal(first.connector, 'acme-jamf');
  assert.equal(first.time, new Date((computer.general as { reportDate: string }).reportDate).toISOString());
  const payload = JSON.parse(first.payload!);
  assert.equal(payload.id, computer.id);
  assert.equal(payload.applications, null, 'unrequested sections stay null');
  assert.ok(payload.hardware !== null && payload.operatingSystem !== null && payload.general !== null);
  const indicators = JSON.parse(first.indicators!);
  assert.deepEqual(indicators.serial, [(computer.hardware as { serialNumber: string }).serialNumber]);
  assert.deepEqual(indicators.hostname, [(computer.general as { name: string }).name]);
  assert.ok(indicators.ip?.length >= 1 && indicators.mac?.[0] === (computer.hardware as { macAddress: string }).macAddress.toLowerCase());
  // 13 pages, sorted by id, the sections asked for, each page once.
  const pages = mock.requests.filter((r) => r.route === 'inventory');
  assert.equal(pages.length, 13);
  assert.deepEqual(pages.map((r) => r.query.page?.[0]), Array.from({ length: 13 }, (_, i) => String(i)));
  assert.deepEqual(pages[0]!.query.section, ['GENERAL', 'HARDWARE', 'OPERATING_SYSTEM']);
  assert.deepEqual(pages[0]!.query.sort, ['id:asc']);
  assert.ok(mock.maxConcurrentRequests <= 5);
  // Statistics: in /status and in one log line.
  assert.equal(s.lastRun?.received, 1234);
  assert.equal(s.lastRun?.appended, 1235, 'every computer, and the snapshot marker');
  assert.equal(s.lastRun?.duplicates, 0);
  assert.equal(s.lastRun?.pages, 13);
  assert.ok((s.lastRun?.requests ?? 0) >= 14, 'token + 13 pages');
  assert.equal(s.state, 'idle');
  assert.ok(s.nextRunAt !== null && Date.parse(s.nextRunAt) > Date.now() + 3_500_000);
  const line = h.logs().find((l) => l.msg === 'Run finished.')!;
  assert.ok(line, 'a statistics line ends the run');
  for (const key of ['requests', 'received', 'duplicates', 'appended', 'eventsPerSecond', 'durationMs']) assert.ok(key in line, `log line has ${key}`);
  assert.equal(line.connector, 'acme-jamf');
});

test('later runs append exactly the computers whose report changed, and new computers', async (t) => {
  const { mock, h } = await setup(t, { computers: 300 }, { page_size: 50, interval: '200ms' });
  await h.waitForRuns(1);
  assert.equal((await h.ids('computer')).length, 300);
  const touched = ['7', '150', '299'];
  const newDates = mock.touch(touched);
  const added = mock.addComputers(2);
  const runs = h.status().totals.runs;
  const s = await h.waitForRuns(runs + 2);
  const ids = await h.ids('computer');
  assert.equal(ids.length, 305);
  assert.equal(new Set(ids).size, 305);
  for (const [i, id] of touched.entries()) assert.ok(ids.includes(`${id}:${newDates[i]}`));
  for (const id of added) assert.ok(ids.some((x) => x.startsWith(`${id}:`)));
  assert.equal(s.lastRun?.appended, 1, 'an unchanged fleet appends only its snapshot marker');
  assert.equal(s.lastRun?.duplicates, 302);
  assert.equal(s.checkpoint?.versions, 302);
});

test('computers deleted from Jamf Pro are forgotten after two scans: the state stays bounded by the fleet', async (t) => {
  const { mock, h } = await setup(t, { computers: 100 }, { page_size: 30, interval: '100ms' });
  await h.waitForRuns(1);
  mock.removeComputers(['10', '20', '30']);
  const runs = h.status().totals.runs;
  await h.waitForRuns(runs + 3);
  const keys = h.state.keys('acme-jamf');
  assert.equal(await h.redis.hlen(keys.versions), 97);
  assert.equal(await h.redis.hexists(keys.versions, '20'), 0);
  assert.deepEqual((await h.ids('removed')).map((id) => id.split(':')[1]).sort(), ['10', '20', '30'], 'one removal record each, with the step that forgot it');
  assert.equal((await h.ids('computer')).length, 100, 'nothing appended again');
});

test('a report date written with 2 or 3 fraction digits is the same report (dates compared as dates)', async (t) => {
  const { mock, h } = await setup(t, { computers: 40 }, { page_size: 100 });
  await h.waitForRuns(1);
  const keys = h.state.keys('acme-jamf');
  const versions = await h.redis.hgetall(keys.versions);
  for (const c of mock.computers()) {
    const reportDate = (c.general as { reportDate: string }).reportDate;
    assert.equal(versions[c.id as string], `${Date.parse(reportDate)}|1`, 'report time in ms, and the scan that saw it');
  }
  assert.ok(mock.computers().some((c) => /\.\d{2}Z$/.test((c.general as { reportDate: string }).reportDate)), 'the fleet has 2-digit fractions');
});

test('without GENERAL, or without a report date, every computer is still read once (stable paging by id)', async (t) => {
  const { mock, h } = await setup(t, { computers: 230, withoutReportDate: [3, 100, 229] }, { page_size: 25, sections: ['HARDWARE'], interval: '200ms' });
  await h.waitForRuns(2);
  const ids = await h.ids('computer');
  assert.equal(ids.length, 230);
  assert.ok(ids.every((id) => /^\d+:sha256:[0-9a-f]{32}$/.test(id)));
  assert.deepEqual([...new Set(ids.map((id) => id.split(':')[0]))].sort(), mock.computers().map((c) => c.id as string).sort());
  assert.equal(h.status().lastRun?.appended, 1, 'unchanged content is not appended again (only the snapshot marker)');
});

test('computers without a report date are read completely with GENERAL on', async (t) => {
  const { mock, h } = await setup(t, { computers: 120, withoutReportDate: [1, 60, 120] }, { page_size: 10 });
  await h.waitForRuns(1);
  const ids = await h.ids('computer');
  assert.equal(ids.length, 120);
  assert.ok(ids.includes('60:sha256:' + ids.find((x) => x.startsWith('60:'))!.split(':sha256:')[1]));
  assert.equal(mock.requests.filter((r) => r.route === 'inventory').length, 12);
});

test('a token that expires in the middle of a run is refreshed once and the run completes', async (t) => {
  const { mock, h } = await setup(t, { computers: 500, latencyMs: 5 }, { page_size: 50 });
  let expired = false;
  const timer = setInterval(() => {
    if (!expired && mock.requests.filter((r) => r.route === 'inventory').length >= 4) {
      mock.expireTokens();
      expired = true;
    }
  }, 1);
  t.after(() => clearInterval(timer));
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.ok(expired);
  assert.equal(mock.requests.filter((r) => r.route === 'token').length, 2);
  assert.ok(mock.requests.some((r) => r.route === 'inventory' && r.status === 401));
  assert.deepEqual((await h.ids('computer')).sort(), expectedIds(mock).sort());
});

test('429 with Retry-After and a burst of 5xx and resets are retried; nothing is lost or doubled', async (t) => {
  const { mock, h } = await setup(t, { computers: 400 }, { page_size: 40, max_attempts: 6 });
  mock.failNext('inventory', { status: 429, retryAfter: '1' });
  mock.failNext('inventory', { status: 500 }, 2);
  mock.failNext('inventory', { status: 503 });
  mock.failNext('inventory', { reset: true });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.equal(s.totals.runs, 1, 'one request absorbed five failures');
  const statuses = mock.requests.filter((r) => r.route === 'inventory').map((r) => r.status);
  assert.deepEqual(statuses.slice(0, 5), [429, 500, 500, 503, 0]);
  const retryGap = mock.requests.filter((r) => r.route === 'inventory')[1]!.at - mock.requests.filter((r) => r.route === 'inventory')[0]!.at;
  assert.ok(retryGap >= 900, `Retry-After: 1 honoured (waited ${retryGap} ms)`);
  const ids = await h.ids('computer');
  assert.equal(ids.length, 400);
  assert.deepEqual(ids.sort(), expectedIds(mock).sort());
});

test('a request that runs out of attempts fails the run, which is retried from its checkpoint', async (t) => {
  const { mock, h } = await setup(t, { computers: 200 }, { page_size: 20, max_attempts: 2 });
  let armed = false;
  const timer = setInterval(() => {
    if (!armed && mock.requests.filter((r) => r.route === 'inventory').length >= 5) {
      mock.failNext('inventory', { status: 502 }, 2);
      armed = true;
    }
  }, 1);
  t.after(() => clearInterval(timer));
  const s = await h.waitFor((x) => x.lastRun?.outcome === 'success', 'a successful run');
  assert.equal(s.totals.runs, 2);
  assert.equal(s.lastError, null);
  assert.ok(h.logs().some((l) => l.msg === 'Run failed; retrying after a backoff.' && (l.diagnosis as { category: string }).category === 'vendor'));
  const ids = await h.ids('computer');
  assert.deepEqual(ids.sort(), expectedIds(mock).sort());
  const pages = mock.requests.filter((r) => r.route === 'inventory' && r.status === 200).map((r) => r.query.page?.[0]);
  assert.equal(pages.length, new Set(pages).size, `no page read successfully is read again: ${pages.join(',')}`);
});

test('wrong credentials park the connector with a credentials diagnosis that names the settings, and no secret', async (t) => {
  const { h } = await setup(t, { computers: 10 }, { client_secret: 'wrong-secret-value' });
  const s = await h.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'credentials');
  assert.equal(s.lastError?.diagnosis.status, 401);
  assert.match(s.lastError!.diagnosis.remedy, /client_secret/);
  assert.equal(s.lastError?.diagnosis.retryable, false);
  assert.ok(!JSON.stringify(s).includes('wrong-secret-value'));
  assert.ok(!JSON.stringify(h.logs()).includes('wrong-secret-value'));
  assert.equal((await h.ids('computer')).length, 0);
  assert.equal((await h.state.read('acme-jamf')).seq, 0);
});

test('403 is a permissions diagnosis; 404 names base_url', async (t) => {
  const { mock, h } = await setup(t, { computers: 10 });
  mock.failNext('inventory', { status: 403 }, 1);
  const s = await h.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'permissions');
  const { h: h404 } = await setup(t, { computers: 10 }, { base_url: `${mock.url}/wrong-prefix` });
  const s404 = await h404.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s404.lastError?.diagnosis.category, 'url');
  assert.match(s404.lastError!.diagnosis.remedy, /base_url/);
});

test('start: reports older than start are remembered but not appended; newer ones are', async (t) => {
  const mock0 = await MockJamfPro.start({ computers: 100 });
  const dates = mock0.computers().map((c) => Date.parse((c.general as { reportDate: string }).reportDate)).sort((a, b) => a - b);
  await mock0.close();
  const cut = new Date(dates[60]!).toISOString();
  const { mock, h } = await setup(t, { computers: 100 }, { start: cut });
  await h.waitForRuns(1);
  const expected = mock.computers().filter((c) => Date.parse((c.general as { reportDate: string }).reportDate) >= Date.parse(cut));
  assert.equal((await h.ids('computer')).length, expected.length);
  assert.equal(h.status().checkpoint?.versions, 100);
});
