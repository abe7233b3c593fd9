import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockJumpCloud, parseRfc3339Nanos, type JumpCloudEvent, type MockJumpCloudOptions } from './jumpcloud-server.ts';
import { fixturesDir } from '../helpers/fixtures.ts';

const KEY = 'orchard-test-jumpcloud-key';
const FIXTURES = new URL('jumpcloud/events/', fixturesDir);
const FIXTURE_MESSAGE = (JSON.parse(readFileSync(new URL('test-events.json', FIXTURES), 'utf8')) as { events: Array<{ message: string }> }).events[0]!.message;
const MDM_MESSAGE = readFileSync(new URL('test-events.newer-version.mdm_command_result.InstallProfile.message.json', FIXTURES), 'utf8').trim();

async function start(t: TestContext, options?: MockJumpCloudOptions): Promise<MockJumpCloud> {
  const mock = await MockJumpCloud.start(options);
  t.after(() => mock.close());
  return mock;
}

function post(mock: MockJumpCloud, body: unknown, headers: Record<string, string> = { 'x-api-key': KEY }, path = '/insights/directory/v1/events'): Promise<Response> {
  return fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface Page {
  events: JumpCloudEvent[];
  count: number;
  limit: number;
  searchAfter: unknown;
}

async function page(mock: MockJumpCloud, body: Record<string, unknown>): Promise<Page> {
  const res = await post(mock, body);
  assert.equal(res.status, 200, await res.clone().text());
  const raw = res.headers.get('x-search_after');
  assert.notEqual(raw, null, 'X-Search_after is on every page');
  const events = (await res.json()) as JumpCloudEvent[];
  const count = Number(res.headers.get('x-result-count'));
  assert.equal(count, events.length);
  return { events, count, limit: Number(res.headers.get('x-limit')), searchAfter: JSON.parse(raw!) };
}

/** Pages through a query the way a connector does; returns every page. */
async function walk(mock: MockJumpCloud, query: Record<string, unknown>): Promise<Page[]> {
  const pages: Page[] = [];
  let searchAfter: unknown;
  for (;;) {
    const p = await page(mock, searchAfter === undefined ? query : { ...query, search_after: searchAfter });
    pages.push(p);
    if (p.count < p.limit) return pages;
    searchAfter = p.searchAfter;
    assert.ok(pages.length < 1000, 'paging terminates');
  }
}

const ids = (events: readonly JumpCloudEvent[]) => events.map((e) => e.id);

test('events: a missing or wrong x-api-key is 401 Unauthorized, a forbidden key 403', async (t) => {
  const mock = await start(t, { forbiddenKeys: ['read-only-key'] });
  const query = { service: ['all'], start_time: '2023-01-01T00:00:00Z' };
  for (const headers of [{}, { 'x-api-key': 'wrong' }] as Array<Record<string, string>>) {
    const res = await post(mock, query, headers);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await res.text(), '{"message":"Unauthorized"}');
  }
  const forbidden = await post(mock, query, { 'x-api-key': 'read-only-key' });
  assert.equal(forbidden.status, 403);
  assert.equal(await forbidden.text(), '{"message":"Forbidden"}');
  assert.equal((await post(mock, query)).status, 200);
  assert.deepEqual(mock.requests.map((r) => [r.status, r.authorized]), [[401, false], [401, false], [403, false], [200, true]]);
});

test('events and systemusers: with orgId set, x-org-id must name it (403 otherwise)', async (t) => {
  const mock = await start(t, { orgId: '5f3c1e2d4b6a798012345678', apiKey: 'msp-key' });
  const query = { service: ['all'], start_time: '2023-01-01T00:00:00Z' };
  for (const org of [undefined, 'aaaaaaaaaaaaaaaaaaaaaaaa']) {
    const headers: Record<string, string> = { 'x-api-key': 'msp-key', ...(org ? { 'x-org-id': org } : {}) };
    const res = await post(mock, query, headers);
    assert.equal(res.status, 403);
    assert.equal(await res.text(), '{"message":"Forbidden: org not accessible"}');
    const users = await fetch(`${mock.url}/api/systemusers`, { headers });
    assert.equal(users.status, 403);
    assert.deepEqual(await users.json(), { message: 'Forbidden: org not accessible' });
  }
  assert.equal((await post(mock, query, { 'x-api-key': 'msp-key', 'x-org-id': '5f3c1e2d4b6a798012345678' })).status, 200);
  assert.equal((await post(mock, query, { 'x-api-key': KEY, 'x-org-id': '5f3c1e2d4b6a798012345678' })).status, 401);
  const generated = mock.generateEvents(3, { fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 0, 2) });
  assert.ok(generated.every((e) => e.organization === '5f3c1e2d4b6a798012345678'));
});

test('events: start_time not before end_time is 400 {"message":"start_time must be before end_time"}', async (t) => {
  const mock = await start(t);
  mock.generateEvents(5, { fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 0, 2) });
  const cases = [
    { start_time: '2024-01-02T00:00:00Z', end_time: '2024-01-01T00:00:00Z' },
    { start_time: '2024-01-01T00:00:00Z', end_time: '2024-01-01T00:00:00Z' },
    // Equal at nanosecond precision, written differently.
    { start_time: '2024-01-01T00:00:00.5Z', end_time: '2024-01-01T01:00:00.500000000+01:00' },
    // One nanosecond apart, the wrong way.
    { start_time: '2024-01-01T00:00:00.000000002Z', end_time: '2024-01-01T00:00:00.000000001Z' },
    // end_time defaults to now.
    { start_time: new Date(Date.now() + 60_000).toISOString() },
  ];
  for (const c of cases) {
    const res = await post(mock, { service: ['all'], ...c });
    assert.equal(res.status, 400, JSON.stringify(c));
    assert.equal(await res.text(), '{"message":"start_time must be before end_time"}');
  }
  // One nanosecond apart the right way is a valid (empty) window.
  const ok = await page(mock, { service: ['all'], start_time: '2024-01-01T00:00:00.000000001Z', end_time: '2024-01-01T00:00:00.000000002Z' });
  assert.equal(ok.count, 0);
});

test('events: malformed queries are 400 with a message', async (t) => {
  const mock = await start(t);
  const base = { service: ['all'], start_time: '2024-01-01T00:00:00Z' };
  const bad: unknown[] = [
    '{"service": ["all"], ',
    '[1,2]',
    { service: ['all'] },
    { ...base, service: 'all' },
    { ...base, service: [] },
    { ...base, service: ['directory', 'nonsense'] },
    { ...base, start_time: '2024-01-01' },
    { ...base, start_time: '2024-13-01T00:00:00Z' },
    { ...base, start_time: 1704067200000 },
    { ...base, end_time: 'yesterday' },
    { ...base, limit: 10_001 },
    { ...base, limit: 0 },
    { ...base, limit: 2.5 },
    { ...base, sort: 'sideways' },
    { ...base, search_after: ['abc', 'def'] },
    { ...base, search_after: [1] },
  ];
  for (const body of bad) {
    const res = await post(mock, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const answer = (await res.json()) as { message: unknown };
    assert.equal(typeof answer.message, 'string');
    assert.deepEqual(Object.keys(answer), ['message']);
  }
  const over = await post(mock, { ...base, limit: 10_001 });
  assert.deepEqual(await over.json(), { message: 'limit must be <= 10000' });
  // search_term and fields are accepted and ignored; search_after [] is "no key".
  const fine = await page(mock, { ...base, limit: 10_000, search_term: { and: [{ event_type: 'sso_auth' }] }, fields: ['id'], search_after: [] });
  assert.equal(fine.limit, 10_000);
});

test('events: the fixture event is answered byte for byte, with the paging headers', async (t) => {
  const mock = await start(t);
  mock.addEvents([JSON.parse(FIXTURE_MESSAGE) as JumpCloudEvent]);
  const res = await post(mock, { service: ['directory'], start_time: '2023-01-14T00:00:00Z', end_time: '2023-01-15T00:00:00Z', limit: 100 });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('x-result-count'), '1');
  assert.equal(res.headers.get('x-limit'), '100');
  assert.equal(res.headers.get('x-search_after'), '[1673684166495,"63c264c6c1bd55c1b7e901a4"]');
  assert.equal(await res.text(), `[${FIXTURE_MESSAGE}]`);
});

test('events: 25 events in one millisecond, limit 10, search_after: 10 + 10 + 5, each exactly once', async (t) => {
  const mock = await start(t, { users: 5 });
  const generated = mock.generateEvents(25, { fromMs: Date.UTC(2024, 5, 1, 12), toMs: Date.UTC(2024, 5, 1, 13), sameTimestamp: true, seed: 42 });
  assert.equal(new Set(generated.map((e) => e.timestamp)).size, 1);
  const query = { service: ['all'], start_time: '2024-06-01T00:00:00Z', end_time: '2024-06-02T00:00:00Z', limit: 10, sort: 'ASC' };

  const pages = await walk(mock, query);
  assert.deepEqual(pages.map((p) => [p.count, p.limit]), [[10, 10], [10, 10], [5, 10]]);
  const seen = pages.flatMap((p) => ids(p.events));
  assert.equal(seen.length, 25);
  assert.equal(new Set(seen).size, 25);
  // Inside one millisecond the order is the id order.
  assert.deepEqual(seen, ids(generated).sort());
  const ms = Date.parse(generated[0]!.timestamp);
  for (const p of pages) assert.deepEqual(p.searchAfter, [ms, p.events.at(-1)!.id]);

  // Asking past the last page: nothing, and the header echoes the key that was sent.
  const past = await page(mock, { ...query, search_after: pages[2]!.searchAfter });
  assert.equal(past.count, 0);
  assert.deepEqual(past.searchAfter, pages[2]!.searchAfter);
  // An empty first page has `[]`.
  const empty = await page(mock, { ...query, start_time: '2020-01-01T00:00:00Z', end_time: '2020-01-02T00:00:00Z' });
  assert.deepEqual([empty.count, empty.searchAfter], [0, []]);

  // DESC (the default sort) walks the same set backwards.
  const { sort: _sort, ...descQuery } = query;
  const desc = (await walk(mock, descQuery)).flatMap((p) => ids(p.events));
  assert.deepEqual(desc, [...seen].reverse());
});

test('events: nanosecond timestamps are compared at full precision, ordered by (ms, id), printed verbatim', async (t) => {
  const mock = await start(t);
  const mdm = JSON.parse(MDM_MESSAGE) as JumpCloudEvent;
  assert.equal(mdm.timestamp, '2025-06-18T01:40:47.663248444Z');
  mock.addEvents([
    mdm, // id 0123456789abcdef12345678
    { id: 'ffff00000000000000000001', service: 'sso', timestamp: '2025-06-18T01:40:47.663000001Z' },
    { id: '00000000000000000000000a', service: 'sso', timestamp: '2025-06-18T01:40:47.663999999Z' },
    { id: 'aaaa00000000000000000002', service: 'sso', timestamp: '2025-06-18T01:40:47.662999999Z' },
    { id: 'bbbb00000000000000000003', service: 'sso', timestamp: '2025-06-18T01:40:47.664Z' },
    { id: 'cccc00000000000000000004', service: 'sso', timestamp: '2025-06-18T03:40:47.6632+02:00' },
    { id: 'dddd00000000000000000005', service: 'sso', timestamp: Date.UTC(2025, 5, 18, 1, 40, 48) },
  ]);
  const q = (start_time: string, end_time: string) => page(mock, { service: ['all'], start_time, end_time, sort: 'ASC' }).then((p) => ids(p.events));

  // Sorted by millisecond, then id (not by nanosecond inside the millisecond).
  assert.deepEqual(await q('2025-06-18T00:00:00Z', '2025-06-19T00:00:00Z'), [
    'aaaa00000000000000000002',
    '00000000000000000000000a',
    '0123456789abcdef12345678',
    'cccc00000000000000000004',
    'ffff00000000000000000001',
    'bbbb00000000000000000003',
    'dddd00000000000000000005',
  ]);
  // start_time is inclusive, end_time exclusive, to the nanosecond.
  assert.ok((await q('2025-06-18T01:40:47.663248444Z', '2025-06-18T01:40:47.664Z')).includes('0123456789abcdef12345678'));
  assert.ok(!(await q('2025-06-18T01:40:47.663248445Z', '2025-06-18T01:40:47.664Z')).includes('0123456789abcdef12345678'));
  assert.ok(!(await q('2025-06-18T01:40:47Z', '2025-06-18T01:40:47.663248444Z')).includes('0123456789abcdef12345678'));
  assert.ok((await q('2025-06-18T01:40:47Z', '2025-06-18T01:40:47.663248445Z')).includes('0123456789abcdef12345678'));
  // The fraction counts: .663 excludes .662999999, whole seconds would not.
  assert.deepEqual(await q('2025-06-18T01:40:47.663Z', '2025-06-18T01:40:47.664Z'), ['00000000000000000000000a', '0123456789abcdef12345678', 'cccc00000000000000000004', 'ffff00000000000000000001']);
  assert.deepEqual(await q('2025-06-18T01:40:47.663000001Z', '2025-06-18T01:40:47.663248444Z'), ['cccc00000000000000000004', 'ffff00000000000000000001']);
  // Offsets are honoured.
  assert.deepEqual(await q('2025-06-18T03:40:47.664+02:00', '2025-06-18T03:40:48.000000001+02:00'), ['bbbb00000000000000000003', 'dddd00000000000000000005']);

  // Timestamps come back as they were added; numbers as 3-digit RFC 3339.
  const byId = new Map(mock.events.map((e) => [e.id, e.timestamp]));
  assert.equal(byId.get('0123456789abcdef12345678'), '2025-06-18T01:40:47.663248444Z');
  assert.equal(byId.get('cccc00000000000000000004'), '2025-06-18T03:40:47.6632+02:00');
  assert.equal(byId.get('dddd00000000000000000005'), '2025-06-18T01:40:48.000Z');
  // The mdm fixture is stored as given (its key order included).
  assert.equal(JSON.stringify(mock.events.find((e) => e.id === '0123456789abcdef12345678')), MDM_MESSAGE);
  assert.equal(parseRfc3339Nanos('2025-06-18T01:40:47.663248444Z'), 1_750_210_847_663_248_444n);
});

test('events: late events are stored at once but returned only after visibleAfterMs', async (t) => {
  const mock = await start(t);
  const query = { service: ['all'], start_time: '2024-03-01T00:00:00Z', end_time: '2024-03-02T00:00:00Z', sort: 'ASC' };
  const onTime = mock.generateEvents(3, { fromMs: Date.UTC(2024, 2, 1, 10), toMs: Date.UTC(2024, 2, 1, 11), seed: 1 });
  const late = mock.addEvents([{ service: 'sso', timestamp: '2024-03-01T09:00:00.123456789Z' }], { visibleAfterMs: 300 });
  assert.equal(late.length, 1);
  assert.match(late[0]!.id, /^[0-9a-f]{24}$/);
  assert.equal(late[0]!.event_type, 'sso_auth');

  assert.deepEqual(ids((await page(mock, query)).events), ids(onTime.slice().sort((a, b) => a.timestamp.localeCompare(b.timestamp))));
  assert.equal(mock.events.length, 4);
  assert.equal(mock.eventCount, 4);
  assert.equal(mock.visibleEvents().length, 3);
  assert.ok(mock.events.some((e) => e.id === late[0]!.id));

  await sleep(320);
  const after = await page(mock, query);
  assert.equal(after.count, 4);
  assert.equal(after.events[0]!.id, late[0]!.id, 'the late event has the oldest timestamp');
  assert.equal(mock.visibleEvents().length, 4);
});

test('events/count: the events a query matches, late ones included, with the same filters and bounds; the same errors', async (t) => {
  const mock = await start(t);
  const count = async (body: Record<string, unknown>, headers?: Record<string, string>) => {
    const res = await post(mock, body, headers, '/insights/directory/v1/events/count');
    return { status: res.status, body: (await res.json()) as { count?: number; message?: string } };
  };
  const generated = mock.generateEvents(50, { fromMs: Date.UTC(2024, 3, 1, 10), toMs: Date.UTC(2024, 3, 1, 11), seed: 4 });
  mock.addEvents([{ service: 'sso', timestamp: '2024-04-01T10:30:00Z' }], { visibleAfterMs: 3_600_000 });
  const seen: unknown[] = [];
  mock.onCount((query) => seen.push(query.start_time));
  const window = { start_time: '2024-04-01T10:00:00Z', end_time: '2024-04-01T11:00:00Z' };
  assert.deepEqual(await count({ ...window, service: ['all'] }), { status: 200, body: { count: 51 } }, 'the late event is counted, though not listed yet');
  assert.equal((await page(mock, { ...window, service: ['all'], limit: 1000, sort: 'ASC' })).count, 50);
  const sso = generated.filter((e) => e.service === 'sso').length;
  assert.deepEqual((await count({ ...window, service: ['sso'] })).body, { count: sso + 1 });
  assert.deepEqual((await count({ start_time: '2024-04-01T10:30:00Z', end_time: '2024-04-01T10:30:00.001Z', service: ['sso'] })).body, { count: 1 + generated.filter((e) => e.service === 'sso' && e.timestamp.startsWith('2024-04-01T10:30:00.000')).length }, 'start inclusive, end exclusive');
  assert.equal((await count({ ...window, service: ['all'] }, { 'x-api-key': 'wrong' })).status, 401);
  assert.deepEqual(await count({ start_time: window.end_time, end_time: window.start_time, service: ['all'] }), { status: 400, body: { message: 'start_time must be before end_time' } });
  assert.deepEqual(seen, [window.start_time, window.start_time, '2024-04-01T10:30:00Z', window.end_time], 'onCount hears each count request that reaches the data');
  assert.equal(mock.requests.filter((r) => r.route === 'count').length, 5);
});

test('events: the service filter selects services; "all" selects every one', async (t) => {
  const mock = await start(t);
  const generated = mock.generateEvents(240, { fromMs: Date.UTC(2024, 1, 1), toMs: Date.UTC(2024, 1, 2), seed: 7 });
  const base = { start_time: '2024-02-01T00:00:00Z', end_time: '2024-02-02T00:00:00Z', limit: 10_000 };
  const count = (services: string[]) => generated.filter((e) => services.includes(e.service)).length;

  const sso = await page(mock, { ...base, service: ['sso'] });
  assert.ok(sso.count > 0);
  assert.equal(sso.count, count(['sso']));
  assert.ok(sso.events.every((e) => e.service === 'sso' && e.event_type === 'sso_auth'));

  const two = await page(mock, { ...base, service: ['mdm', 'radius'] });
  assert.equal(two.count, count(['mdm', 'radius']));
  assert.deepEqual(new Set(two.events.map((e) => e.service)), new Set(['mdm', 'radius']));

  assert.equal((await page(mock, { ...base, service: ['all'] })).count, 240);
  assert.equal((await page(mock, { ...base, service: ['alerts', 'all'] })).count, 240);
  assert.equal((await page(mock, { ...base, service: ['alerts'] })).count, 0);
  assert.equal(new Set(generated.map((e) => e.service)).size, 8);

  // Paging with a filter gives the same set.
  const paged = (await walk(mock, { ...base, service: ['directory'], limit: 7 })).flatMap((p) => ids(p.events));
  assert.deepEqual(new Set(paged), new Set(generated.filter((e) => e.service === 'directory').map((e) => e.id)));
  assert.equal(paged.length, count(['directory']));
});

test('events: defaults are DESC, limit 1000 and end_time now', async (t) => {
  const mock = await start(t);
  const now = Date.now();
  mock.generateEvents(1100, { fromMs: now - 3_600_000, toMs: now - 1000, seed: 3 });
  const future = mock.addEvents([{ timestamp: now + 3_600_000 }]);
  const p = await page(mock, { service: ['all'], start_time: new Date(now - 7_200_000).toISOString() });
  assert.deepEqual([p.count, p.limit], [1000, 1000]);
  const keys = p.events.map((e) => [Date.parse(e.timestamp), e.id] as const);
  for (let i = 1; i < keys.length; i++) {
    const [a, b] = [keys[i - 1]!, keys[i]!];
    assert.ok(a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]), 'descending');
  }
  assert.ok(!p.events.some((e) => e.id === future[0]!.id));
});

test('generateEvents: realistic, unique 24-hex ids, 3 or 9 fraction digits, deterministic by seed', async (t) => {
  const mock = await start(t);
  const fromMs = Date.UTC(2024, 4, 1);
  const toMs = Date.UTC(2024, 4, 2);
  const plain = mock.generateEvents(300, { fromMs, toMs, seed: 11 });
  const nanos = mock.generateEvents(300, { fromMs, toMs, seed: 12, nanos: true });
  const all = [...plain, ...nanos];
  assert.equal(new Set(all.map((e) => e.id)).size, 600);
  for (const e of all) {
    assert.match(e.id, /^[0-9a-f]{24}$/);
    assert.equal(e['@version'], '1');
    assert.equal(e.organization, '1234abcdef123456789abcde');
    assert.equal(typeof e.success, 'boolean');
    assert.equal(typeof e.event_type, 'string');
    const ms = Date.parse(e.timestamp);
    assert.ok(ms >= fromMs && ms < toMs);
  }
  assert.ok(plain.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.timestamp)));
  assert.ok(nanos.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(e.timestamp)));

  const login = all.find((e) => e.event_type === 'admin_login_attempt')!;
  assert.deepEqual(Object.keys(login), Object.keys(JSON.parse(FIXTURE_MESSAGE) as object));
  assert.equal((login.initiated_by as { type: string }).type, 'admin');
  const sso = all.find((e) => e.service === 'sso')!;
  assert.equal(typeof sso.username, 'string');
  assert.equal(typeof sso.client_ip, 'string');
  const systems = all.find((e) => e.service === 'systems')!;
  assert.equal(systems.event_type, 'login_attempt');
  assert.equal(typeof (systems.system as { hostname: string }).hostname, 'string');
  const mdm = all.find((e) => e.service === 'mdm')!;
  assert.deepEqual(Object.keys(mdm).slice(0, 5), ['mdm_type', 'request_type', 'mdm_device_id', 'mdm_device_manager_id', 'command']);
  assert.ok(all.some((e) => e.event_type === 'ldap_bind'));
  assert.ok(all.some((e) => e.event_type === 'radius_auth_attempt'));
  assert.ok(all.some((e) => e.service === 'password_manager'));
  assert.ok(all.some((e) => e.service === 'software'));
  // Users of the mock are who the events are about.
  const usernames = new Set(mock.users().map((u) => u.username));
  assert.ok(usernames.has(sso.username));

  const again = await start(t);
  assert.deepEqual(again.generateEvents(300, { fromMs, toMs, seed: 11 }), plain);
  assert.throws(() => mock.addEvents([{ id: plain[0]!.id, timestamp: fromMs }]), /already stored/);
  assert.throws(() => mock.addEvents([{ timestamp: 'not a time' }]), RangeError);
  assert.throws(() => mock.generateEvents(1, { fromMs: toMs, toMs: fromMs }), RangeError);
});

test('events: 10,000-event pages over 25,000 events, added out of order', async (t) => {
  const mock = await start(t);
  const fromMs = Date.UTC(2024, 7, 1);
  // Three batches; the second lands before the first, the third overlaps both.
  mock.generateEvents(10_000, { fromMs: fromMs + 3_600_000, toMs: fromMs + 7_200_000, seed: 21 });
  mock.generateEvents(10_000, { fromMs, toMs: fromMs + 3_600_000, seed: 22, nanos: true });
  mock.generateEvents(5_000, { fromMs, toMs: fromMs + 7_200_000, seed: 23 });
  const t0 = performance.now();
  const pages = await walk(mock, { service: ['all'], start_time: '2024-08-01T00:00:00Z', end_time: '2024-08-02T00:00:00Z', limit: 10_000, sort: 'ASC' });
  const elapsed = performance.now() - t0;
  assert.deepEqual(pages.map((p) => p.count), [10_000, 10_000, 5_000]);
  const seen = pages.flatMap((p) => p.events);
  assert.equal(new Set(seen.map((e) => e.id)).size, 25_000);
  const truth = mock.events;
  assert.deepEqual(ids(seen), ids(truth));
  for (let i = 1; i < seen.length; i++) assert.ok(Date.parse(seen[i - 1]!.timestamp) <= Date.parse(seen[i]!.timestamp));
  assert.ok(elapsed < 5_000, `paging 25,000 events took ${Math.round(elapsed)} ms`);
});

test('failNext: 429 with and without Retry-After, a custom body, then normal answers', async (t) => {
  const mock = await start(t);
  const query = { service: ['all'], start_time: '2024-01-01T00:00:00Z' };
  mock.failNext('events', { status: 429, retryAfter: '2' });
  mock.failNext('events', { status: 429 });
  mock.failNext('events', { status: 503, body: '<html>down</html>' });
  const first = await post(mock, query);
  assert.equal(first.status, 429);
  assert.equal(first.headers.get('retry-after'), '2');
  assert.equal(await first.text(), '{"message":"Too Many Requests"}');
  const second = await post(mock, query);
  assert.equal(second.status, 429);
  assert.equal(second.headers.get('retry-after'), null);
  assert.deepEqual(await second.json(), { message: 'Too Many Requests' });
  const third = await post(mock, query);
  assert.equal(third.status, 503);
  assert.match(third.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(await third.text(), '<html>down</html>');
  assert.equal((await post(mock, query)).status, 200);

  // Faults come before authentication, and per route.
  mock.failNext('systemusers', { status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }, 2);
  for (let k = 0; k < 2; k++) {
    const res = await fetch(`${mock.url}/api/systemusers`);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), 'Wed, 21 Oct 2015 07:28:00 GMT');
    await res.arrayBuffer();
  }
  assert.equal((await fetch(`${mock.url}/api/systemusers`)).status, 401);
  assert.equal((await post(mock, query)).status, 200);
});

test('failNext reset: the socket is destroyed without an answer, the next request works', async (t) => {
  const mock = await start(t);
  const query = { service: ['all'], start_time: '2024-01-01T00:00:00Z' };
  mock.failNext('events', { reset: true });
  await assert.rejects(post(mock, query), TypeError);
  assert.equal(mock.requests.at(-1)?.status, 0);
  assert.equal((await post(mock, query)).status, 200);
  mock.failNext('systemusers', { reset: true });
  await assert.rejects(fetch(`${mock.url}/api/systemusers`, { headers: { 'x-api-key': KEY } }), TypeError);
  assert.equal((await fetch(`${mock.url}/api/systemusers`, { headers: { 'x-api-key': KEY } })).status, 200);
});

test('failNext delayMs and latencyMs delay answers; maxConcurrentRequests counts overlapping requests', async (t) => {
  const mock = await start(t, { latencyMs: 60 });
  const query = { service: ['all'], start_time: '2024-01-01T00:00:00Z' };
  mock.failNext('events', { delayMs: 100 });
  let t0 = performance.now();
  assert.equal((await post(mock, query)).status, 200);
  assert.ok(performance.now() - t0 >= 150);
  t0 = performance.now();
  assert.equal((await post(mock, query, {})).status, 401);
  assert.ok(performance.now() - t0 >= 55);
  assert.equal(mock.maxConcurrentRequests, 1);
  const answers = await Promise.all([
    ...Array.from({ length: 3 }, () => post(mock, query)),
    ...Array.from({ length: 2 }, () => fetch(`${mock.url}/api/systemusers`, { headers: { 'x-api-key': KEY } })),
  ]);
  await Promise.all(answers.map((r) => r.arrayBuffer()));
  assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(mock.maxConcurrentRequests, 5);
});

test('systemusers: 401 without the key; totalCount and limit/skip paging in _id order; limit above 100 is 400', async (t) => {
  const mock = await start(t);
  const get = (query: string, headers: Record<string, string> = { 'x-api-key': KEY }) => fetch(`${mock.url}/api/systemusers${query}`, { headers });
  const unauthorized = await get('', {});
  assert.equal(unauthorized.status, 401);
  assert.equal(await unauthorized.text(), '{"message":"Unauthorized"}');

  const truth = mock.users();
  assert.equal(truth.length, 25);
  const seen: Array<Record<string, unknown>> = [];
  for (const skip of [0, 10, 20]) {
    const res = await get(`?limit=10&skip=${skip}&sort=_id`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as { totalCount: number; results: Array<Record<string, unknown>> };
    assert.equal(body.totalCount, 25);
    assert.equal(body.results.length, skip === 20 ? 5 : 10);
    seen.push(...body.results);
  }
  assert.deepEqual(seen, truth);
  const sortedIds = seen.map((u) => u._id as string);
  assert.deepEqual(sortedIds, [...sortedIds].sort());
  assert.equal(new Set(sortedIds).size, 25);

  const defaults = (await (await get('')).json()) as { totalCount: number; results: unknown[] };
  assert.equal(defaults.results.length, 10);
  const desc = (await (await get('?limit=100&sort=-_id')).json()) as { results: Array<{ _id: string }> };
  assert.deepEqual(desc.results.map((u) => u._id), [...sortedIds].reverse());
  const byName = (await (await get('?limit=100&sort=username')).json()) as { results: Array<{ username: string }> };
  assert.deepEqual(byName.results.map((u) => u.username), truth.map((u) => u.username as string).sort());

  const over = await get('?limit=101');
  assert.equal(over.status, 400);
  assert.equal(await over.text(), '{"message":"limit must be <= 100"}');
  assert.equal((await get('?skip=-1')).status, 400);
  const beyond = (await (await get('?skip=500')).json()) as { totalCount: number; results: unknown[] };
  assert.deepEqual(beyond, { totalCount: 25, results: [] });
});

test('systemusers: records are shaped like JumpCloud systemusers and deterministic', async (t) => {
  const mock = await start(t, { users: 3 });
  const other = await start(t, { users: 3 });
  assert.deepEqual(mock.users(), other.users());
  for (const u of mock.users()) {
    assert.match(u._id as string, /^[0-9a-f]{24}$/);
    assert.equal(u.id, u._id);
    for (const key of ['username', 'email', 'firstname', 'lastname', 'displayname', 'created', 'employeeIdentifier', 'jobTitle', 'department', 'organization']) assert.equal(typeof u[key], 'string', key);
    for (const key of ['activated', 'suspended', 'account_locked', 'totp_enabled', 'sudo']) assert.equal(typeof u[key], 'boolean', key);
    assert.equal(u.state, 'ACTIVATED');
    assert.deepEqual(Object.keys(u.mfa as object), ['configured', 'exclusion', 'exclusionUntil']);
    assert.ok(Array.isArray(u.attributes) && Array.isArray(u.addresses) && Array.isArray(u.phoneNumbers));
    assert.equal(new Date(u.created as string).toISOString(), u.created);
  }
});

test('systemusers: changeUsers, addUsers and removeUsers change what the API answers', async (t) => {
  const mock = await start(t, { users: 5 });
  const list = async () => (await (await fetch(`${mock.url}/api/systemusers?limit=100`, { headers: { 'x-api-key': KEY } })).json()) as { totalCount: number; results: Array<Record<string, unknown>> };
  const before = mock.users();
  const target = before[2]!._id as string;

  mock.changeUsers([target]);
  const changed = (await list()).results.find((u) => u._id === target)!;
  assert.notDeepEqual(changed, before[2]);
  assert.notEqual(changed.jobTitle, before[2]!.jobTitle);
  mock.changeUsers([target], { suspended: true, state: 'SUSPENDED' });
  assert.equal((await list()).results.find((u) => u._id === target)!.suspended, true);

  const added = mock.addUsers(2);
  assert.equal(added.length, 2);
  let body = await list();
  assert.equal(body.totalCount, 7);
  assert.deepEqual(body.results.slice(-2).map((u) => u._id), added);

  mock.removeUsers([before[0]!._id as string, added[1]!]);
  body = await list();
  assert.equal(body.totalCount, 5);
  assert.ok(!body.results.some((u) => u._id === before[0]!._id || u._id === added[1]));
  assert.deepEqual(body.results, mock.users());
  assert.throws(() => mock.removeUsers(['nope']), /no user/);
});

test('other paths are 404, wrong methods 405; requests are logged with headers and parsed bodies', async (t) => {
  const mock = await start(t);
  const nf = await fetch(`${mock.url}/api/v2/systemgroups`, { headers: { 'x-api-key': KEY } });
  assert.equal(nf.status, 404);
  assert.equal(await nf.text(), '{"message":"Not Found"}');
  const get = await fetch(`${mock.url}/insights/directory/v1/events`, { headers: { 'x-api-key': KEY } });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  await get.arrayBuffer();

  await post(mock, { service: ['sso'], start_time: '2024-01-01T00:00:00Z', limit: 5 }, { 'X-Api-Key': KEY, 'X-Org-Id': 'ignored-without-orgId' });
  await fetch(`${mock.url}/api/systemusers?limit=5&skip=5&sort=_id`, { headers: { 'x-api-key': KEY } });
  const [notFound, wrongMethod, events, users] = mock.requests;
  assert.deepEqual([notFound!.route, notFound!.status], ['other', 404]);
  assert.deepEqual([wrongMethod!.route, wrongMethod!.method, wrongMethod!.status], ['events', 'GET', 405]);
  assert.equal(events!.route, 'events');
  assert.equal(events!.method, 'POST');
  assert.equal(events!.path, '/insights/directory/v1/events');
  assert.equal(events!.status, 200);
  assert.equal(events!.headers['x-api-key'], KEY);
  assert.equal(events!.headers['x-org-id'], 'ignored-without-orgId');
  assert.deepEqual(events!.body, { service: ['sso'], start_time: '2024-01-01T00:00:00Z', limit: 5 });
  assert.ok(events!.at > 0 && events!.at <= Date.now());
  assert.equal(users!.route, 'systemusers');
  assert.deepEqual(users!.query, { limit: ['5'], skip: ['5'], sort: ['_id'] });
  assert.equal(users!.body, undefined);
  assert.equal(users!.status, 200);
});

const tokenRequest = (mock: MockJumpCloud, clientId: string, secret: string, body = 'grant_type=client_credentials&scope=api', type = 'application/x-www-form-urlencoded') =>
  fetch(`${mock.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': type },
    body,
  });

test('service accounts: POST /oauth2/token with Basic credentials and a form; the Bearer token works until it expires; either secret of a rotation', async (t) => {
  let clock = Date.parse('2026-11-01T00:00:00Z');
  const mock = await start(t, { now: () => clock, serviceAccount: { clientId: 'sa-1', secrets: ['secret-one', 'secret-two'], tokenLifetimeSeconds: 60 } });
  for (const secret of ['secret-one', 'secret-two']) {
    const res = await tokenRequest(mock, 'sa-1', secret);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type.toLowerCase(), 'bearer');
    assert.equal(body.expires_in, 60);
    const users = await fetch(`${mock.url}/api/systemusers?limit=1`, { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(users.status, 200);
  }
  const { access_token: token } = (await (await tokenRequest(mock, 'sa-1', 'secret-one')).json()) as { access_token: string };
  clock += 61_000;
  assert.equal((await fetch(`${mock.url}/api/systemusers`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'an expired token');
  const wrong = await tokenRequest(mock, 'sa-1', 'nope');
  assert.equal(wrong.status, 401);
  assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
  assert.equal((await tokenRequest(mock, 'sa-1', 'secret-one', 'grant_type=password&scope=api')).status, 400);
  assert.equal(((await (await tokenRequest(mock, 'sa-1', 'secret-one', 'grant_type=client_credentials&scope=admin')).json()) as { error: string }).error, 'invalid_scope');
  assert.equal((await tokenRequest(mock, 'sa-1', 'secret-one', '{"grant_type":"client_credentials"}', 'application/json')).status, 400);
  mock.setServiceAccountSecrets(['secret-two', 'secret-three']);
  assert.equal((await tokenRequest(mock, 'sa-1', 'secret-one')).status, 401, 'a revoked secret');
  assert.equal(mock.tokensIssued, 3);
});

test('service accounts: an account without the grant gets 403', async (t) => {
  const mock = await start(t, { serviceAccount: { clientId: 'sa-1', secrets: ['s1'], grantDenied: true } });
  assert.equal((await tokenRequest(mock, 'sa-1', 's1')).status, 403);
  assert.equal((await tokenRequest(mock, 'sa-1', 'bad')).status, 401, 'a wrong secret is still 401');
});

test('MSP portal: /api/organizations lists the organizations (no x-org-id); data requests need x-org-id and see that organization only', async (t) => {
  const now = Date.now();
  const mock = await start(t, { organizations: [{ id: 'org-a', name: 'Acme' }, { id: 'org-b', name: 'Beta', users: 2 }] });
  mock.org('org-a').generateEvents(5, { fromMs: now - 3_600_000, toMs: now - 60_000, seed: 1 });
  mock.org('org-b').generateEvents(3, { fromMs: now - 3_600_000, toMs: now - 60_000, seed: 2 });
  const list = await fetch(`${mock.url}/api/organizations?limit=100&skip=0`, { headers: { 'x-api-key': KEY } });
  assert.deepEqual(await list.json(), { totalCount: 2, results: [{ _id: 'org-a', displayName: 'Acme' }, { _id: 'org-b', displayName: 'Beta' }] });
  assert.equal((await fetch(`${mock.url}/api/organizations`, { headers: { 'x-api-key': KEY, 'x-org-id': 'org-a' } })).status, 403, 'x-org-id on the organizations route');
  const query = { service: ['all'], start_time: new Date(now - 7_200_000).toISOString(), limit: 100, sort: 'ASC' };
  assert.equal((await post(mock, query)).status, 401, 'no x-org-id for a multi-tenant admin');
  const a = (await (await post(mock, query, { 'x-api-key': KEY, 'x-org-id': 'org-a' })).json()) as JumpCloudEvent[];
  assert.deepEqual(ids(a), ids(mock.org('org-a').visibleEvents()));
  assert.ok(a.every((e) => e.organization === 'org-a'));
  const users = (await (await fetch(`${mock.url}/api/systemusers?limit=100`, { headers: { 'x-api-key': KEY, 'x-org-id': 'org-b' } })).json()) as { totalCount: number };
  assert.equal(users.totalCount, 2);
  mock.forbidOrganization('org-b');
  assert.equal((await post(mock, query, { 'x-api-key': KEY, 'x-org-id': 'org-b' })).status, 403);
  mock.removeOrganization('org-a');
  assert.equal((await post(mock, query, { 'x-api-key': KEY, 'x-org-id': 'org-a' })).status, 404);
  assert.deepEqual(mock.organizations.map((o) => o.id), ['org-b']);
  mock.addOrganization({ id: 'org-c', name: 'Gamma' });
  assert.equal((await post(mock, query, { 'x-api-key': KEY, 'x-org-id': 'org-c' })).status, 200);
});

test('every service of the current spec is accepted and generated; an unknown one is 400 with the supported values; extraServices plays one added later', async (t) => {
  const now = Date.now();
  const mock = await start(t, { extraServices: ['future_service'] });
  const services = ['alerts', 'directory', 'ldap', 'mdm', 'notifications', 'object_storage', 'password_manager', 'radius', 'reports', 'saas_app_management', 'software', 'sso', 'systems', 'access_management', 'asset_management'] as const;
  mock.generateEvents(services.length * 4, { fromMs: now - 3_600_000, toMs: now - 60_000, services, seed: 3 });
  for (const service of services) {
    const p = await page(mock, { service: [service], start_time: new Date(now - 7_200_000).toISOString(), limit: 1000, sort: 'ASC' });
    assert.ok(p.events.length > 0 && p.events.every((e) => e.service === service), service);
  }
  assert.equal((await post(mock, { service: ['future_service'], start_time: new Date(now - 7_200_000).toISOString() })).status, 200);
  const bad = await post(mock, { service: ['nonsense'], start_time: new Date(now - 7_200_000).toISOString() });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /supported values: alerts, all, directory/);
});
