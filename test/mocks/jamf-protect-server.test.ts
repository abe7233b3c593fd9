import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { GENERATED_EVENT_TYPES, MockJamfProtect, parseAwsDateTime, type MockAlert, type MockJamfProtectOptions } from './jamf-protect-server.ts';
import { fixturesDir } from '../helpers/fixtures.ts';

const CLIENT_ID = 'orchard-test-protect-client';
const PASSWORD = 'orchard-test-protect-password';
const FIXTURE_LINES = readFileSync(new URL('jamf_protect/alerts/test-jamf-protect-alerts-sample-logs.log', fixturesDir), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const BASE_MS = Date.UTC(2026, 10, 22, 10, 0, 0, 123);

const LIST_ALERTS = `query listAlerts($input: AlertQueryInput) {
  listAlerts(input: $input) {
    items { uuid json severity eventType status created updated computer { uuid hostName serial } }
    pageInfo { next total }
  }
}`;

interface ApiAlert {
  uuid: string;
  json: string;
  severity: string;
  eventType: string;
  status: string;
  created: string;
  updated: string;
  computer: { uuid: string; hostName: string; serial: string };
}
interface ListAlerts {
  items: ApiAlert[];
  pageInfo: { next: string | null; total: number };
}
interface GraphQLBody {
  data: { listAlerts: ListAlerts | null } | null;
  errors?: Array<{ message: string; path: unknown; errorType?: string; locations?: unknown }>;
}

async function start(t: TestContext, options?: MockJamfProtectOptions): Promise<MockJamfProtect> {
  const mock = new MockJamfProtect(options);
  t.after(() => mock.close());
  await mock.start();
  return mock;
}

function postToken(mock: MockJamfProtect, body: unknown): Promise<Response> {
  return fetch(`${mock.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function getToken(mock: MockJamfProtect): Promise<string> {
  const res = await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

function postGraphql(mock: MockJamfProtect, authorization: string | undefined, body: unknown): Promise<Response> {
  return fetch(`${mock.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function list(mock: MockJamfProtect, token: string, input: Record<string, unknown>): Promise<GraphQLBody> {
  const res = await postGraphql(mock, token, { query: LIST_ALERTS, variables: { input }, operationName: 'listAlerts' });
  assert.equal(res.status, 200);
  return (await res.json()) as GraphQLBody;
}

async function page(mock: MockJamfProtect, token: string, input: Record<string, unknown>): Promise<ListAlerts> {
  const body = await list(mock, token, input);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!.listAlerts!;
}

/** Pages through a query the way a connector does; returns every page. */
async function walk(mock: MockJamfProtect, token: string, input: Record<string, unknown>): Promise<ListAlerts[]> {
  const pages: ListAlerts[] = [];
  let next: string | null = null;
  do {
    const p = await page(mock, token, { ...input, next });
    pages.push(p);
    next = p.pageInfo.next;
    assert.ok(pages.length < 1000, 'paging terminates');
  } while (next !== null);
  return pages;
}

const uuids = (alerts: readonly { uuid: string }[]) => alerts.map((a) => a.uuid);
const byCreated = (alerts: readonly MockAlert[]) => [...alerts].sort((a, b) => a.created - b.created || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));

// ---------------------------------------------------------------------------------------------
// Token

test('token: client_id + password give a Bearer token with expires_in; wrong ones 401 invalid_client; bad bodies 400', async (t) => {
  const mock = await start(t, { tokenLifetimeSeconds: 1800 });
  const ok = await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await ok.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['access_token', 'expires_in', 'token_type']);
  assert.equal(typeof body.access_token, 'string');
  assert.ok((body.access_token as string).length >= 32);
  assert.equal(body.expires_in, 1800);
  assert.equal(body.token_type, 'Bearer');

  for (const wrong of [{ client_id: CLIENT_ID, password: 'nope' }, { client_id: 'other', password: PASSWORD }]) {
    const res = await postToken(mock, wrong);
    assert.equal(res.status, 401);
    assert.equal(await res.text(), '{"error":"invalid_client","message":"Invalid client id or password"}');
  }
  for (const bad of ['not json', '[]', { client_id: CLIENT_ID }, { password: PASSWORD }, { client_id: 1, password: PASSWORD }]) {
    const res = await postToken(mock, bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
  }
  assert.equal(mock.tokensIssued, 1);
  assert.equal((await fetch(`${mock.url}/token`)).status, 405);
  assert.equal((await fetch(`${mock.url}/v1/alerts`)).status, 404);
  assert.deepEqual(
    mock.requests.map((r) => [r.route, r.status]),
    [['token', 200], ['token', 401], ['token', 401], ...Array(5).fill(['token', 400]), ['token', 405], ['other', 404]],
  );
  assert.equal(mock.requests[0]!.body, JSON.stringify({ client_id: CLIENT_ID, password: PASSWORD }));
});

test('token: expires after tokenLifetimeSeconds on the injected clock; expireTokens() ends every token at once', async (t) => {
  let now = BASE_MS;
  const mock = await start(t, { tokenLifetimeSeconds: 60, now: () => now });
  mock.addAlerts(mock.generateAlerts({ count: 3, seed: 1 }));
  const token = await getToken(mock);
  assert.equal((await list(mock, token, {})).data!.listAlerts!.items.length, 3);
  now += 59_999;
  assert.equal((await list(mock, token, {})).data!.listAlerts!.pageInfo.total, 3);
  now += 1;
  const expired = await postGraphql(mock, token, { query: LIST_ALERTS, variables: { input: {} } });
  assert.equal(expired.status, 401);
  assert.equal(await expired.text(), '{"errors":[{"errorType":"UnauthorizedException","message":"Unauthorized"}]}');

  const fresh = await getToken(mock);
  assert.equal(mock.tokensIssued, 2);
  assert.equal((await postGraphql(mock, fresh, { query: LIST_ALERTS })).status, 200);
  mock.expireTokens();
  assert.equal((await postGraphql(mock, fresh, { query: LIST_ALERTS })).status, 401);
  assert.equal((await postGraphql(mock, await getToken(mock), { query: LIST_ALERTS })).status, 200);
  assert.equal(mock.requests.at(-1)!.at, now, 'requests are stamped with the mock clock');
});

test('graphql: Authorization carries the raw token; "Bearer <token>", a missing or unknown token is 401', async (t) => {
  const mock = await start(t);
  const token = await getToken(mock);
  const query = { query: LIST_ALERTS, variables: { input: {} } };
  for (const auth of [undefined, `Bearer ${token}`, `bearer ${token}`, 'unknown-token', '']) {
    const res = await postGraphql(mock, auth, query);
    assert.equal(res.status, 401, String(auth));
    assert.deepEqual(await res.json(), { errors: [{ errorType: 'UnauthorizedException', message: 'Unauthorized' }] });
  }
  const res = await postGraphql(mock, token, query);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: { listAlerts: { items: [], pageInfo: { next: null, total: 0 } } } });
  assert.deepEqual(mock.requests.at(-1)!.variables, { input: {} });
});

test('forbidden: a client without the Read role gets 403 Not Authorized to access listAlerts', async (t) => {
  const mock = await start(t, { forbidden: true });
  const token = await getToken(mock);
  const res = await postGraphql(mock, token, { query: LIST_ALERTS, variables: { input: {} } });
  assert.equal(res.status, 403);
  assert.equal(await res.text(), '{"errors":[{"errorType":"UnauthorizedException","message":"Not Authorized to access listAlerts on type Query"}]}');
  assert.equal((await postGraphql(mock, 'bad', { query: LIST_ALERTS })).status, 401, 'a bad token is still 401');
});

// ---------------------------------------------------------------------------------------------
// listAlerts

test('listAlerts: 250 alerts with pageSize 100 come as 100 + 100 + 50, each exactly once, next null at the end', async (t) => {
  const mock = await start(t);
  const alerts = mock.generateAlerts({ count: 250, fromMs: BASE_MS, toMs: BASE_MS + 250_000, seed: 7 });
  mock.addAlerts(alerts);
  const token = await getToken(mock);
  const pages = await walk(mock, token, { pageSize: 100 });
  assert.deepEqual(pages.map((p) => p.items.length), [100, 100, 50]);
  assert.deepEqual(pages.map((p) => p.pageInfo.total), [250, 250, 250]);
  assert.equal(typeof pages[0]!.pageInfo.next, 'string');
  assert.equal(pages[2]!.pageInfo.next, null);
  const got = pages.flatMap((p) => p.items);
  assert.equal(new Set(uuids(got)).size, 250);
  assert.deepEqual(uuids(got), uuids(byCreated(alerts)), 'default order: created ASC, then uuid');

  // Default pageSize is 100.
  const first = await page(mock, token, {});
  assert.equal(first.items.length, 100);
  assert.equal(first.pageInfo.total, 250);
});

test('listAlerts: pageSize must be between 1 and 200 (GraphQL error, HTTP 200)', async (t) => {
  const mock = await start(t);
  mock.addAlerts(mock.generateAlerts({ count: 201, seed: 3 }));
  const token = await getToken(mock);
  assert.equal((await page(mock, token, { pageSize: 200 })).items.length, 200);
  assert.equal((await page(mock, token, { pageSize: 1 })).items.length, 1);
  for (const pageSize of [0, 201, -5]) {
    const body = await list(mock, token, { pageSize });
    assert.equal(body.data, null);
    assert.equal(body.errors?.length, 1);
    assert.equal(body.errors![0]!.message, 'pageSize must be between 1 and 200');
    assert.deepEqual(body.errors![0]!.path, ['listAlerts']);
    assert.equal(typeof body.errors![0]!.errorType, 'string');
  }
});

test('listAlerts: created greaterThan / greaterThanOrEqual / lessThan select by Jamf Protect creation time', async (t) => {
  const mock = await start(t);
  // One alert per second: created = BASE_MS + k * 1000.
  const alerts = mock.generateAlerts({ count: 60, fromMs: BASE_MS, toMs: BASE_MS + 60_000, seed: 11 });
  mock.addAlerts(alerts);
  const token = await getToken(mock);
  const at = (k: number) => new Date(BASE_MS + k * 1000).toISOString();
  const expect = (pred: (a: MockAlert) => boolean) => uuids(byCreated(alerts.filter(pred)));

  const after = await walk(mock, token, { filter: { created: { greaterThan: at(20) } } });
  assert.deepEqual(uuids(after.flatMap((p) => p.items)), expect((a) => a.created > BASE_MS + 20_000));
  assert.equal(after[0]!.pageInfo.total, 39);
  const fromIncl = await page(mock, token, { filter: { created: { greaterThanOrEqual: at(20) } } });
  assert.equal(fromIncl.pageInfo.total, 40);
  const window = await page(mock, token, { filter: { created: { greaterThanOrEqual: at(10), lessThan: at(15) } } });
  assert.deepEqual(uuids(window.items), expect((a) => a.created >= BASE_MS + 10_000 && a.created < BASE_MS + 15_000));
  assert.equal(window.items.length, 5);
  // Sub-millisecond and offset forms of AWSDateTime are compared exactly.
  const micro = await page(mock, token, { filter: { created: { greaterThan: at(20).replace('Z', '001Z') } } });
  assert.equal(micro.pageInfo.total, 39);
  const offset = await page(mock, token, { filter: { created: { equals: '2026-11-22T11:00:05.123+01:00' } } });
  assert.deepEqual(uuids(offset.items), expect((a) => a.created === BASE_MS + 5000));
  // An inline literal works as well as a variable.
  const res = await postGraphql(mock, token, { query: `{ listAlerts(input: {filter: {created: {greaterThan: "${at(57)}"}}}) { items { uuid } pageInfo { total } } }` });
  assert.deepEqual(((await res.json()) as GraphQLBody).data!.listAlerts!.pageInfo.total, 2);
  // Not an AWSDateTime: a request error, HTTP 200.
  const bad = await list(mock, token, { filter: { created: { greaterThan: 'yesterday' } } });
  assert.equal(bad.data, null);
  assert.match(bad.errors![0]!.message, /AWSDateTime/);
  assert.equal(bad.errors![0]!.path, null);
});

test('listAlerts: severity greaterThanOrEqual, and, or, eventType', async (t) => {
  const mock = await start(t);
  const alerts = mock.generateAlerts({ count: 200, fromMs: BASE_MS, toMs: BASE_MS + 200_000, seed: 5 });
  mock.addAlerts(alerts);
  const token = await getToken(mock);
  const rank = (s: string) => ['Informational', 'Low', 'Medium', 'High'].indexOf(s);
  const expect = (pred: (a: MockAlert) => boolean) => uuids(byCreated(alerts.filter(pred)));
  const all = async (filter: Record<string, unknown>) => uuids((await walk(mock, token, { filter, pageSize: 50 })).flatMap((p) => p.items));

  const medium = await all({ severity: { greaterThanOrEqual: 'Medium' } });
  assert.deepEqual(medium, expect((a) => rank(a.severity) >= 2));
  assert.ok(medium.length > 0 && medium.length < 200);
  const got = (await page(mock, token, { filter: { severity: { greaterThanOrEqual: 'Medium' } }, pageSize: 200 })).items;
  assert.ok(got.every((a) => a.severity === 'Medium' || a.severity === 'High'));

  const cut = BASE_MS + 100_000;
  const both = await all({ severity: { greaterThanOrEqual: 'Low' }, and: { created: { greaterThan: new Date(cut).toISOString() } } });
  assert.deepEqual(both, expect((a) => rank(a.severity) >= 1 && a.created > cut));
  const either = await all({ severity: { equals: 'High' }, or: { eventType: { equals: 'GPUSBEvent' } } });
  assert.deepEqual(either, expect((a) => a.severity === 'High' || a.eventType === 'GPUSBEvent'));
  const onlyOr = await all({ or: { severity: { lessThan: 'Low' } } });
  assert.deepEqual(onlyOr, expect((a) => a.severity === 'Informational'));
  const notUl = await all({ eventType: { notEquals: 'GPUnifiedLogEvent', contains: 'Event' } });
  assert.deepEqual(notUl, expect((a) => a.eventType !== 'GPUnifiedLogEvent'));
  // An unknown enum value is a validation error.
  const bad = await list(mock, token, { filter: { severity: { equals: 'Critical' } } });
  assert.equal(bad.data, null);
  assert.match(bad.errors![0]!.message, /Critical/);
});

test('listAlerts: garbage or a next token from another filter is "Invalid next token"', async (t) => {
  const mock = await start(t);
  mock.addAlerts(mock.generateAlerts({ count: 30, seed: 9, severities: ['Low', 'High'] }));
  const token = await getToken(mock);
  const p1 = await page(mock, token, { pageSize: 10, filter: { severity: { equals: 'High' } } });
  assert.notEqual(p1.pageInfo.next, null);
  // The same token with the same filter works.
  assert.equal((await page(mock, token, { pageSize: 10, filter: { severity: { equals: 'High' } }, next: p1.pageInfo.next })).items.length > 0, true);
  const garbage = ['garbage', '', Buffer.from('{"offset":"x"}').toString('base64'), Buffer.from('{"offset":10,"hash":"0"}').toString('base64')];
  const crossed = [
    { pageSize: 10, filter: { severity: { equals: 'Low' } }, next: p1.pageInfo.next },
    { pageSize: 10, next: p1.pageInfo.next },
    { pageSize: 10, filter: { severity: { equals: 'High' } }, direction: 'DESC', next: p1.pageInfo.next },
  ];
  for (const input of [...garbage.map((next) => ({ next })), ...crossed]) {
    const body = await list(mock, token, input);
    assert.equal(body.data, null, JSON.stringify(input));
    assert.equal(body.errors![0]!.message, 'Invalid next token');
    assert.deepEqual(body.errors![0]!.path, ['listAlerts']);
  }
});

test('listAlerts: the order is configurable (created-desc, shuffled) and direction/field are honoured; paging stays complete', async (t) => {
  for (const order of ['created-asc', 'created-desc', 'shuffled'] as const) {
    const mock = await start(t, { order, seed: 4 });
    const alerts = mock.generateAlerts({ count: 120, fromMs: BASE_MS, toMs: BASE_MS + 120_000, seed: 2 });
    mock.addAlerts(alerts);
    const token = await getToken(mock);
    const got = uuids((await walk(mock, token, { pageSize: 25 })).flatMap((p) => p.items));
    assert.deepEqual([...got].sort(), uuids(alerts).sort(), order);
    const asc = uuids(byCreated(alerts));
    if (order === 'created-asc') assert.deepEqual(got, asc);
    if (order === 'created-desc') assert.deepEqual(got, [...asc].reverse());
    if (order === 'shuffled') {
      assert.notDeepEqual(got, asc);
      assert.notDeepEqual(got, [...asc].reverse());
      // The query's own direction wins over the mock's default.
      assert.deepEqual(uuids((await walk(mock, token, { pageSize: 25, direction: 'ASC', field: 'created' })).flatMap((p) => p.items)), asc);
      const bySeverity = (await walk(mock, token, { pageSize: 50, field: 'severity', direction: 'DESC' })).flatMap((p) => p.items);
      const ranks = bySeverity.map((a) => ['Informational', 'Low', 'Medium', 'High'].indexOf(a.severity));
      assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a));
    }
  }
});

test('listAlerts: alerts sharing one created time page without loss', async (t) => {
  const mock = await start(t);
  const alerts = mock.generateAlerts({ count: 45, fromMs: BASE_MS, toMs: BASE_MS + 1, sameCreated: true, seed: 8 });
  assert.ok(alerts.every((a) => a.created === BASE_MS));
  mock.addAlerts(alerts);
  const token = await getToken(mock);
  const got = uuids((await walk(mock, token, { pageSize: 10, filter: { created: { greaterThanOrEqual: new Date(BASE_MS).toISOString() } } })).flatMap((p) => p.items));
  assert.deepEqual(got, uuids(alerts).sort());
});

test('listAlerts: json is the alert document as a JSON string; uuid, severity, created, computer come from it', async (t) => {
  const mock = await start(t);
  const alerts = mock.generateAlerts({ count: 40, fromMs: BASE_MS, toMs: BASE_MS + 40_000, seed: 12 });
  mock.addAlerts(alerts);
  const token = await getToken(mock);
  const res = await postGraphql(mock, token, { query: LIST_ALERTS, variables: { input: { pageSize: 40 } } });
  const raw = await res.text();
  assert.match(raw, /"json":"\{\\"caid\\":/, 'AWSJSON is answered as a string');
  const items = ((JSON.parse(raw) as GraphQLBody).data!.listAlerts!).items;
  const byUuid = new Map(alerts.map((a) => [a.uuid, a]));
  for (const item of items) {
    assert.equal(typeof item.json, 'string');
    const doc = JSON.parse(item.json) as { input: { match: { uuid: string; severity: number }; host: { hostname: string; serial: string }; eventType: string } };
    assert.equal(doc.input.match.uuid, item.uuid);
    assert.equal(item.severity, ['Informational', 'Low', 'Medium', 'High'][doc.input.match.severity]);
    assert.equal(item.eventType, doc.input.eventType);
    assert.equal(item.computer.hostName, doc.input.host.hostname);
    assert.equal(item.computer.serial, doc.input.host.serial);
    assert.match(item.computer.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(item.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const stored = byUuid.get(item.uuid)!;
    assert.equal(item.json, stored.documentText);
    assert.equal(item.created, new Date(stored.created).toISOString());
    assert.ok(['New', 'InProgress', 'Resolved', 'AutoResolved'].includes(item.status));
    assert.ok(Date.parse(item.updated) >= Date.parse(item.created));
  }
  // getAlert answers one alert by uuid, null for an unknown one.
  const one = await postGraphql(mock, token, { query: 'query($u: ID!) { getAlert(uuid: $u) { uuid json } }', variables: { u: alerts[3]!.uuid } });
  assert.deepEqual(await one.json(), { data: { getAlert: { uuid: alerts[3]!.uuid, json: alerts[3]!.documentText } } });
  const none = await postGraphql(mock, token, { query: '{ getAlert(uuid: "nope") { uuid } }' });
  assert.deepEqual(await none.json(), { data: { getAlert: null } });
});

test('graphql: an invalid query (unknown field, syntax error) is HTTP 200 with data null and errors', async (t) => {
  const mock = await start(t);
  const token = await getToken(mock);
  const unknown = await postGraphql(mock, token, { query: '{ listAlerts { items { uuid nope } pageInfo { next } } }' });
  assert.equal(unknown.status, 200);
  const body = (await unknown.json()) as GraphQLBody;
  assert.equal(body.data, null);
  assert.match(body.errors![0]!.message, /Cannot query field "nope" on type "Alert"/);
  assert.equal(body.errors![0]!.path, null);
  assert.deepEqual(body.errors![0]!.locations, [{ line: 1, column: 29, sourceName: null }]);

  const syntax = await postGraphql(mock, token, { query: '{ listAlerts { items { uuid } ' });
  assert.equal(syntax.status, 200);
  const sb = (await syntax.json()) as GraphQLBody;
  assert.equal(sb.data, null);
  assert.match(sb.errors![0]!.message, /Syntax Error/);

  const unknownRoot = await postGraphql(mock, token, { query: '{ listComputers { items { uuid } } }' });
  assert.match(((await unknownRoot.json()) as GraphQLBody).errors![0]!.message, /Cannot query field "listComputers" on type "Query"/);

  // Not a GraphQL request at all: 400.
  for (const bad of ['not json', { variables: {} }, { query: LIST_ALERTS, variables: [1] }]) {
    const res = await postGraphql(mock, token, bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(((await res.json()) as { errors: Array<{ errorType: string }> }).errors[0]!.errorType, 'MalformedHttpRequestException');
  }
});

test('bodies over 1 MB are 413', async (t) => {
  const mock = await start(t);
  const token = await getToken(mock);
  const big = JSON.stringify({ query: LIST_ALERTS, variables: { pad: 'x'.repeat(1024 * 1024) } });
  const res = await postGraphql(mock, token, big);
  assert.equal(res.status, 413);
  await res.arrayBuffer();
  const justUnder = JSON.stringify({ query: LIST_ALERTS, variables: { input: {} } });
  assert.equal((await postGraphql(mock, token, justUnder + ' '.repeat(1024 * 1024 - justUnder.length))).status, 200);
  assert.equal((await postToken(mock, 'x'.repeat(1024 * 1024 + 1))).status, 413);
});

// ---------------------------------------------------------------------------------------------
// Faults

test('failNext 429: with and without Retry-After, for the given number of times, then normal answers', async (t) => {
  const mock = await start(t);
  const token = await getToken(mock);
  const q = { query: LIST_ALERTS, variables: { input: {} } };
  mock.failNext('graphql', { status: 429, retryAfterSeconds: 2 }, 2);
  mock.failNext('graphql', { status: 429 });
  for (const expected of ['2', '2', null]) {
    const res = await postGraphql(mock, token, q);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), expected);
    assert.equal(await res.text(), '{"message":"Too Many Requests"}');
  }
  assert.equal((await postGraphql(mock, token, q)).status, 200);
  mock.failNext('graphql', { status: 500 }, 0);
  assert.equal((await postGraphql(mock, token, q)).status, 200, 'times 0 scripts nothing');
  assert.throws(() => mock.failNext('graphql', { status: 500 }, -1), RangeError);
  mock.failNext('token', { status: 429, retryAfterSeconds: 1 });
  const tr = await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD });
  assert.equal(tr.status, 429);
  assert.equal(tr.headers.get('retry-after'), '1');
  await tr.arrayBuffer();
  assert.equal(mock.tokensIssued, 1, 'a faulted token request issues no token');
  assert.equal((await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD })).status, 200);
});

test('failNext status: 5xx, 403, 404 and 400 with fitting bodies; faults come before authentication', async (t) => {
  const mock = await start(t);
  const q = { query: LIST_ALERTS, variables: { input: {} } };
  const cases: Array<[number, string]> = [
    [500, '{"message":"Internal Server Error"}'],
    [502, '{"message":"Bad Gateway"}'],
    [503, '{"message":"Service Unavailable"}'],
    [403, '{"errors":[{"errorType":"UnauthorizedException","message":"Not Authorized to access listAlerts on type Query"}]}'],
    [404, '{"message":"Not Found"}'],
  ];
  for (const [status, body] of cases) {
    mock.failNext('graphql', { status });
    const res = await postGraphql(mock, 'no-token-needed', q);
    assert.equal(res.status, status);
    assert.equal(await res.text(), body);
  }
  mock.failNext('graphql', { status: 400 });
  const r400 = await postGraphql(mock, undefined, q);
  assert.equal(r400.status, 400);
  assert.equal(((await r400.json()) as { errors: unknown[] }).errors.length, 1);
  mock.failNext('graphql', { status: 503, body: '<html>upstream down</html>' });
  const html = await postGraphql(mock, undefined, q);
  assert.equal(html.status, 503);
  assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(await html.text(), '<html>upstream down</html>');
  mock.failNext('token', { status: 502 });
  const tr = await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD });
  assert.equal(tr.status, 502);
  await tr.arrayBuffer();
  assert.equal((await postGraphql(mock, undefined, q)).status, 401, 'faults are used up');
});

test('failNext graphqlError: HTTP 200 with data.listAlerts null and an AppSync error', async (t) => {
  const mock = await start(t);
  const token = await getToken(mock);
  mock.failNext('graphql', { graphqlError: 'Throttled by DynamoDB', errorType: 'DynamoDB:ProvisionedThroughputExceededException' });
  mock.failNext('graphql', { graphqlError: 'Something broke' });
  const res = await postGraphql(mock, token, { query: LIST_ALERTS, variables: { input: {} } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as GraphQLBody;
  assert.deepEqual(body.data, { listAlerts: null });
  assert.equal(body.errors![0]!.message, 'Throttled by DynamoDB');
  assert.equal(body.errors![0]!.errorType, 'DynamoDB:ProvisionedThroughputExceededException');
  assert.deepEqual(body.errors![0]!.path, ['listAlerts']);
  const second = (await (await postGraphql(mock, token, { query: LIST_ALERTS })).json()) as GraphQLBody;
  assert.equal(second.errors![0]!.message, 'Something broke');
  assert.equal(typeof second.errors![0]!.errorType, 'string');
  assert.throws(() => mock.failNext('token', { graphqlError: 'x' }), TypeError);
});

test('failNext malformed: HTTP 200 with a truncated JSON body, on both routes', async (t) => {
  const mock = await start(t);
  mock.addAlerts(mock.generateAlerts({ count: 3, seed: 1 }));
  const token = await getToken(mock);
  mock.failNext('graphql', { malformed: true });
  const res = await postGraphql(mock, token, { query: LIST_ALERTS, variables: { input: {} } });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(text.startsWith('{"data":{"listAlerts":'), text.slice(0, 40));
  assert.throws(() => JSON.parse(text), SyntaxError);
  mock.failNext('token', { malformed: true });
  const tr = await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD });
  assert.equal(tr.status, 200);
  await assert.rejects(tr.json(), SyntaxError);
  assert.equal(mock.tokensIssued, 1);
});

test('failNext resetConnection: the socket is destroyed without an answer; the next request works', async (t) => {
  const mock = await start(t);
  const token = await getToken(mock);
  mock.failNext('graphql', { resetConnection: true });
  await assert.rejects(postGraphql(mock, token, { query: LIST_ALERTS }), TypeError);
  assert.equal(mock.requests.at(-1)!.status, 0);
  assert.equal((await postGraphql(mock, token, { query: LIST_ALERTS })).status, 200);
  mock.failNext('token', { resetConnection: true });
  await assert.rejects(postToken(mock, { client_id: CLIENT_ID, password: PASSWORD }), TypeError);
  assert.equal((await postToken(mock, { client_id: CLIENT_ID, password: PASSWORD })).status, 200);
});

test('latencyMs and a fault delayMs slow answers down', async (t) => {
  const mock = await start(t, { latencyMs: 60 });
  let t0 = performance.now();
  const token = await getToken(mock);
  assert.ok(performance.now() - t0 >= 55);
  mock.failNext('graphql', { status: 503, delayMs: 100 });
  t0 = performance.now();
  const res = await postGraphql(mock, token, { query: LIST_ALERTS });
  assert.equal(res.status, 503);
  await res.arrayBuffer();
  assert.ok(performance.now() - t0 >= 150);
});

// ---------------------------------------------------------------------------------------------
// Alerts

test('alertFromDocument: a pushed fixture body is served by pull byte for byte', async (t) => {
  const mock = await start(t);
  const line = FIXTURE_LINES[3]!; // GPFSEvent, severity 1, DockTileAdded
  const alert = mock.alertFromDocument(line, BASE_MS);
  assert.equal(alert.uuid, '0090c24f-dcab-44f0-9395-1c2f5e688d4b');
  assert.equal(alert.severity, 'Low');
  assert.equal(alert.eventType, 'GPFSEvent');
  assert.equal(alert.hostName, 'LMAC-ZW0GTLVDL');
  assert.equal(alert.serial, 'C02ZW0GTLVDL');
  assert.equal(alert.created, BASE_MS);
  assert.equal(alert.documentText, line);
  const unified = mock.alertFromDocument(FIXTURE_LINES[8]!, BASE_MS + 1000);
  assert.equal(unified.uuid, 'CE2F93FE-F786-4BBC-B893-3F98D82488A7');
  assert.equal(unified.eventType, 'GPUnifiedLogEvent');
  assert.equal(unified.hostName, 'mike.test’s MacBook Pro');
  mock.addAlerts([alert, unified]);
  // Lines 7 and 8 are the same alert: a uuid is stored once.
  mock.addAlerts([mock.alertFromDocument(FIXTURE_LINES[6]!, BASE_MS)]);
  assert.throws(() => mock.addAlerts([mock.alertFromDocument(FIXTURE_LINES[7]!, BASE_MS)]), /already stored/);

  const token = await getToken(mock);
  const p = await page(mock, token, { filter: { created: { greaterThanOrEqual: '2026-11-22T10:00:00.123Z' } } });
  assert.equal(p.pageInfo.total, 3);
  const served = p.items.find((i) => i.uuid === alert.uuid)!;
  assert.equal(served.json, line);
  assert.equal(served.created, '2026-11-22T10:00:00.123Z');
  assert.equal(served.severity, 'Low');
  assert.deepEqual({ hostName: served.computer.hostName, serial: served.computer.serial }, { hostName: 'LMAC-ZW0GTLVDL', serial: 'C02ZW0GTLVDL' });
  assert.equal(p.items.find((i) => i.uuid === unified.uuid)!.json, FIXTURE_LINES[8]);
  assert.throws(() => mock.alertFromDocument('{"input":{}}', BASE_MS), TypeError);
});

test('generateAlerts: deterministic, unique v4 uuids, fixture shapes, hashes, timestamps before created, 1-5 KB', () => {
  const a = new MockJamfProtect({ seed: 3 });
  const opts = { count: 300, fromMs: BASE_MS, toMs: BASE_MS + 300_000, seed: 42 };
  const alerts = a.generateAlerts(opts);
  assert.deepEqual(new MockJamfProtect({ seed: 3 }).generateAlerts(opts), alerts, 'same seeds, same alerts');
  assert.notDeepEqual(new MockJamfProtect({ seed: 3 }).generateAlerts({ ...opts, seed: 43 }), alerts);
  assert.equal(a.alerts.length, 0, 'generateAlerts does not add');
  assert.equal(new Set(uuids(alerts)).size, 300);
  assert.deepEqual(new Set(alerts.map((x) => x.eventType)), new Set(GENERATED_EVENT_TYPES));
  assert.deepEqual(new Set(alerts.map((x) => x.severity)), new Set(['Informational', 'Low', 'Medium', 'High']));
  const fixtureKeys = new Map(FIXTURE_LINES.map((l) => JSON.parse(l) as { input: { eventType: string } }).map((d) => [d.input.eventType, JSON.stringify(Object.keys(d.input))]));
  for (const [k, x] of alerts.entries()) {
    assert.equal(x.created, BASE_MS + k * 1000, 'created spread evenly');
    assert.match(x.uuid, /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/);
    assert.equal(x.documentText, JSON.stringify(x.document));
    assert.ok(x.documentText.length >= 1000 && x.documentText.length <= 5000, `${x.eventType} is ${x.documentText.length} bytes`);
    const doc = x.document as { caid: string; certid: string; input: Record<string, any> };
    assert.match(doc.caid, /^[0-9a-f]{64}$/);
    assert.match(doc.certid, /^[0-9a-f]{64}$/);
    const input = doc.input;
    assert.equal(JSON.stringify(Object.keys(input)), fixtureKeys.get(x.eventType), `${x.eventType} keys as in the fixtures`);
    assert.equal(input.eventType, x.eventType);
    assert.equal(input.match.uuid, x.uuid);
    assert.equal(input.match.severity, ['Informational', 'Low', 'Medium', 'High'].indexOf(x.severity));
    assert.equal(input.match.facts[0].severity, input.match.severity);
    assert.equal(input.host.hostname, x.hostName);
    assert.equal(input.host.serial, x.serial);
    assert.ok(Array.isArray(input.host.ips) && input.host.ips.length > 0);
    const ts = input.match.event.timestamp as number;
    assert.ok(ts * 1000 < x.created && ts * 1000 > x.created - 10_000, 'event a few seconds before created');
    assert.match(String(ts), /^\d{10}(\.\d{1,6})?$/);
    if (x.eventType === 'GPUnifiedLogEvent') {
      assert.equal(input.related, undefined);
      continue;
    }
    assert.deepEqual(Object.keys(input.related), ['files', 'users', 'groups', 'binaries', 'processes']);
    for (const f of [...input.related.files, ...input.related.binaries]) {
      if (f.isDirectory) continue;
      assert.match(f.sha1hex, /^[0-9a-f]{40}$/);
      assert.match(f.sha256hex, /^[0-9a-f]{64}$/);
    }
    for (const u of input.related.users) assert.ok(typeof u.name === 'string' && u.name !== '' && u.uuid.startsWith(x.serial));
  }
  const sized = alerts.reduce((s, x) => s + x.documentText.length, 0) / alerts.length;
  assert.ok(sized > 1500 && sized < 3500, `average ${sized} bytes`);
  assert.ok(alerts.some((x) => x.eventType !== 'GPUSBEvent' && x.eventType !== 'GPUnifiedLogEvent' && (x.document as any).input.related.users.length > 0));

  const only = a.generateAlerts({ count: 50, seed: 1, severities: ['High'], eventTypes: ['GPUSBEvent', 'GPDownloadEvent'] });
  assert.ok(only.every((x) => x.severity === 'High' && (x.eventType === 'GPUSBEvent' || x.eventType === 'GPDownloadEvent')));
  assert.throws(() => a.generateAlerts({ count: 1, eventTypes: ['GPNope'] }), RangeError);
  assert.throws(() => a.generateAlerts({ count: 1, fromMs: 10, toMs: 10 }), RangeError);
  // Without a seed, each call draws new alerts.
  assert.notDeepEqual(uuids(a.generateAlerts({ count: 5 })), uuids(a.generateAlerts({ count: 5 })));
});

test('parseAwsDateTime: AWSDateTime forms, offsets and sub-millisecond fractions; rejects the rest', () => {
  assert.equal(parseAwsDateTime('2026-11-22T10:00:00.123Z'), BASE_MS);
  assert.equal(parseAwsDateTime('2026-11-22T11:00:00.123+01:00'), BASE_MS);
  assert.equal(parseAwsDateTime('2026-11-22T10:00Z'), BASE_MS - 123);
  assert.equal(parseAwsDateTime('2026-11-22T10:00:00.1235Z'), BASE_MS + 0.5);
  for (const bad of ['2026-11-22', '2026-11-22T10:00:00', '2026-02-30T10:00:00Z', 'yesterday', '2026-11-22T24:00:00Z']) assert.equal(parseAwsDateTime(bad), null, bad);
});

test('alerts change after they are raised: updateAlert sets status, tags and a later updated, which the updated filter sees', async (t) => {
  const mock = await start(t);
  const alerts = mock.generateAlerts({ count: 6, seed: 90, fromMs: BASE_MS, toMs: BASE_MS + 60_000 });
  assert.ok(alerts.every((a) => a.status === 'New' && a.updated === a.created), 'generated alerts are New, as just raised');
  mock.addAlerts(alerts);
  const token = await getToken(mock);
  const changed = mock.updateAlert(alerts[2]!.uuid, { status: 'Resolved', tags: ['triaged'], at: BASE_MS + 3_600_000 });
  assert.equal(changed.updated, BASE_MS + 3_600_000);
  const after = await page(mock, token, { filter: { updated: { greaterThan: new Date(BASE_MS + 120_000).toISOString() } } });
  assert.deepEqual(after.items.map((i) => [i.uuid, i.status]), [[alerts[2]!.uuid, 'Resolved']]);
  const res = await postGraphql(mock, token, { query: `{ listAlerts(input: {}) { items { uuid tags } } }` });
  const items = ((await res.json()) as { data: { listAlerts: { items: { uuid: string; tags: string[] }[] } } }).data.listAlerts.items;
  assert.deepEqual(items.find((i) => i.uuid === alerts[2]!.uuid)!.tags, ['triaged']);
  assert.deepEqual(items.find((i) => i.uuid === alerts[0]!.uuid)!.tags, (alerts[0]!.document.input as { match: { tags: string[] } }).match.tags, 'the tags the alert was raised with');
  const mixed = mock.generateAlerts({ count: 60, seed: 91, mixedStatuses: true });
  assert.ok(mixed.some((a) => a.status !== 'New' && a.updated! > a.created));
});

test('the public /graphql refuses console-only fields (analytics, facts) and omitFields; AppSync wording names the field', async (t) => {
  const mock = await start(t, { omitFields: ['Alert.updated', 'AlertFiltersInput.updated'], wording: 'appsync' });
  mock.addAlerts(mock.generateAlerts({ count: 2, seed: 92 }));
  const token = await getToken(mock);
  const ask = async (query: string) => ((await (await postGraphql(mock, token, { query })).json()) as GraphQLBody).errors?.[0]?.message ?? '';
  assert.match(await ask('{ listAlerts(input: {}) { items { uuid analytics { name } } } }'), /^Validation error of type FieldUndefined: Field 'analytics' in type 'Alert' is undefined/);
  assert.match(await ask('{ listAlerts(input: {}) { items { facts { name } } } }'), /Field 'facts' in type 'Alert' is undefined/);
  assert.match(await ask('{ listAlerts(input: {}) { items { updated } } }'), /Field 'updated' in type 'Alert' is undefined/);
  assert.match(await ask('{ listAlerts(input: {filter: {updated: {greaterThan: "2026-01-01T00:00:00.000Z"}}}) { items { uuid } } }'), /contains a field not in 'AlertFiltersInput': 'updated'/);
  assert.equal(await ask('{ listAlerts(input: {}) { items { json severity created computer { hostName } } } }'), '', "Jamf's own example query is served");
  assert.throws(() => new MockJamfProtect({ omitFields: ['Alert.nope'] }), /no field Alert\.nope/);
});

test('pagingQuirk: repeat answers the same next token forever; ignore answers the first page with a new token each time', async (t) => {
  const mock = await start(t);
  mock.addAlerts(mock.generateAlerts({ count: 10, seed: 93, fromMs: BASE_MS, toMs: BASE_MS + 60_000 }));
  const token = await getToken(mock);
  mock.pagingQuirk('repeat');
  const first = await page(mock, token, { pageSize: 3 });
  const second = await page(mock, token, { pageSize: 3, next: first.pageInfo.next });
  const third = await page(mock, token, { pageSize: 3, next: second.pageInfo.next });
  assert.equal(second.pageInfo.next, first.pageInfo.next);
  assert.equal(third.pageInfo.next, first.pageInfo.next);
  assert.deepEqual(third.items.map((i) => i.uuid), second.items.map((i) => i.uuid));
  mock.pagingQuirk('ignore');
  const a = await page(mock, token, { pageSize: 3, next: first.pageInfo.next });
  const b = await page(mock, token, { pageSize: 3, next: a.pageInfo.next });
  assert.notEqual(a.pageInfo.next, b.pageInfo.next);
  assert.deepEqual(b.items.map((i) => i.uuid), first.items.map((i) => i.uuid));
});
