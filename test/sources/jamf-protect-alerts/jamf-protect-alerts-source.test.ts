import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { configWithConnectors, startConnector, type ConnectorHarness } from '../../helpers/connector-harness.ts';
import { runSince } from '../../helpers/run-since.ts';
import { protectAlertLines } from '../../helpers/fixtures.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { buildTestApp, readStream, testSecret } from '../../helpers/test-app.ts';
import { MockJamfProtect, type MockJamfProtectOptions } from '../../mocks/jamf-protect-server.ts';
import { createSource } from '../../../src/sources/index.ts';

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const clientId = 'orchard-test-protect-client';
const password = 'orchard-test-protect-password';
const minute = 60_000;

function entry(mock: MockJamfProtect, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'acme-protect', type: 'jamf_protect.alerts', tenant: 'acme', base_url: mock.url, client_id: clientId, password, interval: '1h', ...extra };
}

async function startMock(t: TestContext, options: MockJamfProtectOptions = {}): Promise<MockJamfProtect> {
  const mock = new MockJamfProtect({ clientId, password, ...options });
  await mock.start();
  t.after(() => mock.close());
  return mock;
}

async function run(t: TestContext, mock: MockJamfProtect, extra: Record<string, unknown> = {}, options: { stream?: string } = {}): Promise<ConnectorHarness> {
  const h = await startConnector(server, entry(mock, extra), options);
  t.after(() => h.stop());
  return h;
}

const graphqlRequests = (mock: MockJamfProtect) => mock.requests.filter((r) => r.route === 'graphql');

test('a run pages through listAlerts with next and appends each alert once as a contract v1 record', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 230, seed: 3, fromMs: now - 3 * 60 * minute, toMs: now - minute }));
  const h = await run(t, mock, { page_size: 50, start: new Date(now - 4 * 60 * minute).toISOString() });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.equal(s.lastRun?.received, 230);
  assert.equal(s.lastRun?.appended, 230);
  assert.equal(s.lastRun?.pages, 5);
  const entries = await readStream(h.redis, h.stream);
  assert.deepEqual(entries.map((e) => e.fields.id).sort(), mock.alerts.map((a) => a.uuid).sort());

  const requests = graphqlRequests(mock);
  assert.equal(requests.length, 5);
  for (const r of requests) {
    assert.equal(r.headers.authorization?.startsWith('Bearer'), false, 'the raw token, no Bearer');
    assert.ok(r.headers.authorization && r.headers.authorization.length > 10);
  }
  const vars = requests.map((r) => r.variables as { updated: string; pageSize: number; next: string | null });
  assert.equal(vars[0]!.next, null);
  assert.equal(vars[0]!.pageSize, 50);
  assert.ok(vars.slice(1).every((v) => typeof v.next === 'string'), 'later pages pass next');
  assert.ok(vars.every((v) => typeof v.updated === 'string' && v.updated === vars[0]!.updated), 'one updated filter per run (follow_updates, the default)');

  const validate = createAjv().compile(readSchema('stream-entry.schema.json'));
  const byUuid = new Map(mock.alerts.map((a) => [a.uuid, a]));
  for (const { fields } of entries) {
    assert.ok(validate(fields), JSON.stringify(validate.errors));
    const alert = byUuid.get(fields.id!)!;
    assert.equal(fields.source, 'jamf_protect.alerts');
    assert.equal(fields.type, alert.eventType);
    assert.equal(fields.tenant, 'acme');
    assert.equal(fields.connector, 'acme-protect');
    assert.equal(fields.time, new Date(alert.created).toISOString(), 'time = alert creation time');
    assert.equal(fields.payload, alert.documentText, 'payload = the alert JSON document as the API holds it');
    const indicators = JSON.parse(fields.indicators!) as Record<string, string[]>;
    assert.deepEqual(indicators.hostname, [alert.hostName]);
    assert.deepEqual(indicators.serial, [alert.serial]);
  }
  assert.equal(mock.tokensIssued, 1, 'one token for the whole run');
});

test('the next run asks after the newest alert minus overlap and appends only new alerts; re-read ones are duplicates', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  const first = mock.generateAlerts({ count: 40, seed: 5, fromMs: now - 60 * minute, toMs: now - 2 * minute });
  mock.addAlerts(first);
  const h = await run(t, mock, { interval: '300ms', page_size: 25, overlap: '30m' });
  await h.waitForRuns(1);
  // New alerts, some created inside the overlap (late), some after.
  const changedAt = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 10, seed: 6, fromMs: now - 20 * minute, toMs: now - 10 * minute }));
  mock.addAlerts(mock.generateAlerts({ count: 10, seed: 7, fromMs: now - minute, toMs: now }));
  await h.waitForRuns(3);
  const s = await runSince(h, changedAt);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const ids = (await readStream(h.redis, h.stream)).map((e) => e.fields.id);
  assert.equal(ids.length, 60);
  assert.equal(new Set(ids).size, 60, 'each alert once');
  assert.ok(s.totals.duplicates > 0, 'the overlap re-read alerts, dropped as duplicates');
  const second = graphqlRequests(mock).find((r) => (r.variables as { next: string | null }).next === null && r !== graphqlRequests(mock)[0]);
  // The alerts are New (updated = created): the newest updated is the newest created.
  const newest = Math.max(...first.map((a) => a.created));
  assert.equal((second!.variables as { updated: string }).updated, new Date(newest - 30 * minute).toISOString());
});

test('follow_updates: false asks after the newest created alert minus overlap, with the fields of Jamf\'s own example only', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  const first = mock.generateAlerts({ count: 12, seed: 8, fromMs: now - 60 * minute, toMs: now - 2 * minute, mixedStatuses: true });
  mock.addAlerts(first);
  const h = await run(t, mock, { interval: '300ms', overlap: '30m', follow_updates: false });
  const s = await h.waitForRuns(2);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual((await h.ids()).sort(), first.map((a) => a.uuid).sort(), 'first versions only, whatever their status');
  const [one, two] = graphqlRequests(mock);
  assert.match((JSON.parse(one!.body) as { query: string }).query, /items \{ json severity created computer \{ hostName \} \}/);
  assert.match((JSON.parse(one!.body) as { query: string }).query, /filter: \{created: \{greaterThan: \$created\}\}/);
  const newest = Math.max(...first.map((a) => a.created));
  assert.equal((two!.variables as { created: string }).created, new Date(newest - 30 * minute).toISOString());
});

test('min_severity filters in the query', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 60, seed: 9, fromMs: now - 30 * minute, toMs: now, severities: ['Informational', 'Low', 'Medium', 'High'] }));
  const h = await run(t, mock, { min_severity: 'Medium' });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const expected = mock.alerts.filter((a) => a.severity === 'Medium' || a.severity === 'High').map((a) => a.uuid).sort();
  assert.ok(expected.length > 0 && expected.length < 60);
  assert.deepEqual((await readStream(h.redis, h.stream)).map((e) => e.fields.id).sort(), expected);
});

test('the order the API returns alerts in does not matter (descending, shuffled)', async (t) => {
  for (const order of ['created-desc', 'shuffled'] as const) {
    const mock = await startMock(t, { order });
    const now = Date.now();
    mock.addAlerts(mock.generateAlerts({ count: 120, seed: 11, fromMs: now - 60 * minute, toMs: now }));
    const h = await run(t, mock, { page_size: 30 });
    const s = await h.waitForRuns(1);
    assert.equal(s.lastRun?.outcome, 'success', `${order}: ${JSON.stringify(s.lastError)}`);
    const ids = (await readStream(h.redis, h.stream)).map((e) => e.fields.id);
    assert.deepEqual(ids.sort(), mock.alerts.map((a) => a.uuid).sort(), order);
  }
});

test('an expired token is refreshed once and the run goes on', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 90, seed: 13, fromMs: now - 60 * minute, toMs: now }));
  const h = await run(t, mock, { page_size: 30, interval: '200ms' });
  await h.waitForRuns(1);
  const changedAt = Date.now();
  mock.expireTokens();
  mock.addAlerts(mock.generateAlerts({ count: 5, seed: 14, fromMs: Date.now() - 1000, toMs: Date.now() }));
  const s = await runSince(h, changedAt);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.equal(mock.tokensIssued, 2);
  assert.equal((await readStream(h.redis, h.stream)).length, 95);
});

test('GraphQL errors in a 200 answer are failures with a diagnosis, not empty pages', async (t) => {
  const mock = await startMock(t);
  mock.addAlerts(mock.generateAlerts({ count: 10, seed: 15 }));
  mock.failNext('graphql', { graphqlError: 'Validation error of type FieldUndefined: Field \'json\' in type \'Alert\' is undefined', errorType: 'ValidationError' });
  const h = await run(t, mock);
  const s = await h.waitFor((st) => st.lastError !== null, 'a failure');
  assert.equal(s.lastError?.code, 'ORCHARD_ERR_VENDOR_GRAPHQL');
  assert.equal(s.lastError?.diagnosis.category, 'response');
  assert.equal(s.lastError?.diagnosis.retryable, false);
  assert.match(s.lastError!.diagnosis.cause, /FieldUndefined/);
  assert.equal((await readStream(h.redis, h.stream)).length, 0, 'nothing appended, checkpoint not moved');
  assert.equal(h.status().checkpoint?.newest ?? null, null);
});

test('a throttling GraphQL error and a 429 are retried; 5xx too', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 20, seed: 17, fromMs: now - 10 * minute, toMs: now }));
  mock.failNext('graphql', { status: 429, retryAfterSeconds: 1 });
  mock.failNext('graphql', { status: 503 });
  mock.failNext('graphql', { graphqlError: 'Rate exceeded', errorType: 'ThrottlingException' });
  const h = await run(t, mock);
  const s = await h.waitFor((st) => st.lastRun?.outcome === 'success', 'a successful run', 30_000);
  assert.equal(s.totals.appended, 20);
  assert.equal((await readStream(h.redis, h.stream)).length, 20);
});

test('403 and "Not Authorized" GraphQL errors are diagnosed as permissions; wrong credentials as credentials', async (t) => {
  const forbidden = await startMock(t, { forbidden: true });
  const h1 = await run(t, forbidden);
  const s1 = await h1.waitFor((st) => st.lastError !== null, 'a failure');
  assert.equal(s1.lastError?.diagnosis.category, 'permissions', JSON.stringify(s1.lastError));
  assert.equal(s1.lastError?.diagnosis.retryable, false);

  const mock = await startMock(t);
  const h2 = await run(t, mock, { password: 'not-the-password' });
  const s2 = await h2.waitFor((st) => st.lastError !== null, 'a failure');
  assert.equal(s2.lastError?.diagnosis.category, 'credentials', JSON.stringify(s2.lastError));
  assert.doesNotMatch(JSON.stringify(s2), /not-the-password/, 'the password is never shown');
});

test('a next token the API refuses (expired while down) restarts the run from its start without duplicates', async (t) => {
  const mock = await startMock(t, { latencyMs: 100 });
  const now = Date.now();
  mock.addAlerts(mock.generateAlerts({ count: 75, seed: 19, fromMs: now - 60 * minute, toMs: now }));
  const h = await startConnector(server, entry(mock, { page_size: 25 }));
  t.after(() => h.stop());
  // The second page's request is refused as if its next token had expired (the mock answers each
  // request after 100 ms, so the fault is queued before the second request arrives).
  while (graphqlRequests(mock).length < 1) await new Promise((r) => setTimeout(r, 5));
  mock.failNext('graphql', { graphqlError: 'Invalid next token', errorType: 'BadRequestException' });
  const s = await h.waitFor((st) => st.lastRun?.outcome === 'success' && st.totals.runs >= 1, 'a successful run', 20_000);
  const ids = (await readStream(h.redis, h.stream)).map((e) => e.fields.id);
  assert.equal(new Set(ids).size, ids.length, 'no alert twice');
  assert.equal(ids.length, 75, JSON.stringify(s.lastError));
  const vars = graphqlRequests(mock).map((r) => r.variables as { next: string | null });
  assert.deepEqual(vars.slice(0, 3).map((v) => v.next === null), [true, false, true], 'the refused next token sent the run back to its first page');
  assert.match(JSON.stringify(h.logs()), /refused the stored next token/);
});

test('the same alert pushed by the agent and pulled from the API lands once, whichever comes first', async (t) => {
  const mock = await startMock(t);
  const stream = `x${Math.random().toString(36).slice(2, 10)}:events`;
  const app = await buildTestApp(server, { ORCHARD_STREAM: stream, ORCHARD_REJECTED_STREAM: `${stream}:rejected` });
  t.after(() => app.close());
  const lines = protectAlertLines();
  const now = Date.now();
  // Alerts 0-4 are pushed before the pull; 5-10 are pulled first and pushed afterwards.
  for (const line of lines.slice(0, 5)) {
    const res = await app.app.inject({ method: 'POST', url: '/jamf-protect-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: line });
    assert.ok([200, 202].includes(res.statusCode), res.body);
  }
  const unique = new Map<string, string>();
  for (const line of lines) unique.set((JSON.parse(line) as { input: { match: { uuid: string } } }).input.match.uuid, line);
  mock.addAlerts([...unique.values()].map((text, i) => mock.alertFromDocument(text, now - (20 - i) * 1000)));
  const h = await run(t, mock, { page_size: 4 }, { stream });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.equal(s.lastRun?.received, 10);
  assert.equal(s.lastRun?.duplicates, 5, 'the five pushed alerts are not appended again');
  const res = await app.app.inject({ method: 'POST', url: '/jamf-protect-events', headers: { 'content-type': 'application/x-ndjson', 'x-orchard-secret': testSecret }, payload: lines.slice(5).join('\n') });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().appended, 0, 'alerts pulled first are duplicates when pushed');
  const ids = (await readStream(app.redis, stream)).map((e) => e.fields.id);
  assert.equal(ids.length, 10);
  assert.deepEqual(new Set(ids), new Set(unique.keys()));
});

test('orchard test: checkAccess fetches a token and one alert', async (t) => {
  const mock = await startMock(t);
  mock.addAlerts(mock.generateAlerts({ count: 3, seed: 21 }));
  const config = configWithConnectors([entry(mock)]);
  const { source } = createSource(config.connectors[0]!, config);
  t.after(() => source.close());
  const said = await source.checkAccess(AbortSignal.timeout(10_000));
  assert.match(said, /accepted/);
  assert.match(said, /3 alerts/);
  assert.equal(graphqlRequests(mock).at(-1)?.variables && (graphqlRequests(mock).at(-1)!.variables as { pageSize: number }).pageSize, 1);
});

// --- Later versions of an alert ----------------------------------------------------------------

test('a status change lands once, as an alert_update record naming the alert and its version; a second change lands too; the first version is never appended again', async (t) => {
  const mock = await startMock(t);
  const now = Date.now();
  const alerts = mock.generateAlerts({ count: 8, seed: 41, fromMs: now - 90 * minute, toMs: now - 60 * minute });
  mock.addAlerts(alerts);
  const h = await run(t, mock, { interval: '300ms', overlap: '5m', start: new Date(now - 2 * 60 * minute).toISOString() });
  await h.waitForRuns(1);
  assert.deepEqual((await h.ids()).sort(), alerts.map((a) => a.uuid).sort());
  const target = alerts[3]!;
  const resolvedAt = Date.now() - 1000;
  mock.updateAlert(target.uuid, { status: 'InProgress', at: resolvedAt });
  await h.waitFor((s) => s.totals.appended >= 9, 'the update appended');
  await h.waitForRuns(h.status().totals.runs + 3);
  const entries = await readStream(h.redis, h.stream);
  const updates = entries.filter((e) => e.fields.type === 'alert_update');
  assert.equal(updates.length, 1, 'the update once, however often the overlap reads it again');
  const update = updates[0]!.fields;
  assert.equal(update.id, `${target.uuid}:${new Date(resolvedAt).toISOString()}`);
  assert.equal(update.time, new Date(resolvedAt).toISOString());
  assert.equal(update.source, 'jamf_protect.alerts');
  const payload = JSON.parse(update.payload!) as { uuid: string; status: string; tags: string[]; created: string; updated: string; alert: unknown; computer: { hostName: string } };
  assert.equal(payload.uuid, target.uuid);
  assert.equal(payload.status, 'InProgress');
  assert.equal(payload.created, new Date(target.created).toISOString());
  assert.deepEqual(payload.alert, target.document, 'the alert document rides along');
  assert.equal(payload.computer.hostName, target.hostName);
  assert.deepEqual(JSON.parse(update.indicators!).hostname, [target.hostName]);
  assert.ok(createAjv().compile(readSchema('stream-entry.schema.json'))(update));
  const ajv = createAjv();
  ajv.addSchema(readSchema('jamf-protect/alert.schema.json'));
  const updateSchema = ajv.compile(readSchema('jamf-protect/alert-update.schema.json'));
  assert.ok(updateSchema(payload), JSON.stringify(updateSchema.errors));
  assert.equal(entries.filter((e) => e.fields.id === target.uuid).length, 1, 'the first version once');

  // Resolved later, and a tag added to another (still New) alert: two more versions.
  const later = Date.now() - 500;
  mock.updateAlert(target.uuid, { status: 'Resolved', at: later });
  mock.updateAlert(alerts[5]!.uuid, { tags: ['triage', 'phishing'], at: later });
  await h.waitFor((s) => s.totals.appended >= 11, 'two more versions');
  await h.waitForRuns(h.status().totals.runs + 2);
  const ids = (await h.ids());
  assert.equal(ids.length, 11);
  assert.ok(ids.includes(`${target.uuid}:${new Date(later).toISOString()}`));
  assert.ok(ids.includes(`${alerts[5]!.uuid}:${new Date(later).toISOString()}`));
  assert.equal(new Set(ids).size, ids.length);
});

test('an alert first seen already updated lands as its first version and its update; pushed first, its update still lands once', async (t) => {
  const mock = await startMock(t);
  const stream = `u${Math.random().toString(36).slice(2, 10)}:events`;
  const app = await buildTestApp(server, { ORCHARD_STREAM: stream, ORCHARD_REJECTED_STREAM: `${stream}:rejected` });
  t.after(() => app.close());
  const now = Date.now();
  const line = protectAlertLines()[0]!;
  const pushed = mock.alertFromDocument(line, now - 30 * minute);
  const res = await app.app.inject({ method: 'POST', url: '/jamf-protect-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: line });
  assert.ok([200, 202].includes(res.statusCode), res.body);
  const resolved = mock.generateAlerts({ count: 1, seed: 43, fromMs: now - 20 * minute, toMs: now - 19 * minute })[0]!;
  mock.addAlerts([pushed, { ...resolved, status: 'AutoResolved', updated: now - 10 * minute }]);
  mock.updateAlert(pushed.uuid, { status: 'Resolved', at: now - 5 * minute });
  const h = await run(t, mock, {}, { stream });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const ids = (await readStream(h.redis, stream)).map((e) => e.fields.id).sort();
  assert.deepEqual(ids, [pushed.uuid, `${pushed.uuid}:${new Date(now - 5 * minute).toISOString()}`, resolved.uuid, `${resolved.uuid}:${new Date(now - 10 * minute).toISOString()}`].sort());
  assert.equal(s.lastRun?.duplicates, 1, 'the pushed first version');
});

test('a /graphql that does not serve Alert.updated parks the connector naming the field and follow_updates; with follow_updates: false it runs', async (t) => {
  const mock = await startMock(t, { omitFields: ['Alert.updated', 'AlertFiltersInput.updated'], wording: 'appsync' });
  mock.addAlerts(mock.generateAlerts({ count: 5, seed: 45 }));
  const h = await run(t, mock);
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'response');
  assert.equal(s.lastError?.diagnosis.retryable, false);
  assert.match(s.lastError!.diagnosis.cause, /does not serve (Alert|AlertFiltersInput)\.updated/);
  assert.match(s.lastError!.diagnosis.remedy, /connectors\[acme-protect\]\.follow_updates to false/);
  assert.equal((await h.ids()).length, 0);

  const h2 = await run(t, mock, { name: 'by-created', follow_updates: false });
  const s2 = await h2.waitForRuns(1);
  assert.equal(s2.lastRun?.outcome, 'success', JSON.stringify(s2.lastError));
  assert.equal((await h2.ids()).length, 5);
});

test('a /graphql that does not serve Alert.tags: updates are read without them, said once', async (t) => {
  const mock = await startMock(t, { omitFields: ['Alert.tags'] });
  const now = Date.now();
  const [alert] = mock.generateAlerts({ count: 1, seed: 46, fromMs: now - 30 * minute, toMs: now - 29 * minute });
  mock.addAlerts([{ ...alert!, status: 'Resolved', updated: now - 60_000 }]);
  const h = await run(t, mock);
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const update = (await readStream(h.redis, h.stream)).find((e) => e.fields.type === 'alert_update')!;
  assert.equal((JSON.parse(update.fields.payload!) as { tags: unknown }).tags, null);
  assert.match(JSON.stringify(h.logs()), /does not serve Alert\.tags/);
});

test('a next token that repeats fails the run fast (nothing written twice); an API that ignores next (the same page again) too', async (t) => {
  for (const quirk of ['repeat', 'ignore'] as const) {
    const mock = await startMock(t);
    const now = Date.now();
    mock.addAlerts(mock.generateAlerts({ count: 30, seed: 47, fromMs: now - 30 * minute, toMs: now }));
    mock.pagingQuirk(quirk);
    const h = await run(t, mock, { page_size: 10, name: `loop-${quirk}` });
    const s = await h.waitFor((st) => st.state === 'parked', `parked on ${quirk}`);
    assert.equal(s.lastError?.code, 'ORCHARD_ERR_VENDOR_LOOP');
    assert.equal(s.lastError?.diagnosis.category, 'response');
    assert.match(s.lastError!.message, quirk === 'repeat' ? /a next-page token it had already answered/ : /the same page as the one before/);
    assert.ok(graphqlRequests(mock).length <= 4, `stopped after a few requests (${graphqlRequests(mock).length})`);
    const ids = await h.ids();
    assert.equal(new Set(ids).size, ids.length, 'nothing twice');
    assert.ok(ids.length <= 20);
  }
});
