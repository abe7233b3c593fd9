import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockJamfPro, jamfDate, type MockJamfProOptions } from './jamf-pro-server.ts';

const KEYS = ['id', 'udid', 'general', 'diskEncryption', 'localUserAccounts', 'purchasing', 'printers', 'storage', 'applications', 'userAndLocation', 'configurationProfiles', 'services', 'plugins', 'hardware', 'certificates', 'attachments', 'packageReceipts', 'fonts', 'security', 'operatingSystem', 'licensedSoftware', 'softwareUpdates', 'groupMemberships', 'extensionAttributes', 'contentCaching', 'ibeacons'];
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const CREDENTIALS = 'client_id=orchard-test-client&client_secret=orchard-test-secret';

interface Page {
  totalCount: number;
  results: Array<{ id: string; udid: string; general: { reportDate: string | null; name: string } | null; [section: string]: unknown }>;
}

async function start(t: TestContext, options?: MockJamfProOptions): Promise<MockJamfPro> {
  const mock = await MockJamfPro.start(options);
  t.after(() => mock.close());
  return mock;
}

async function tokenOf(mock: MockJamfPro): Promise<string> {
  const res = await fetch(`${mock.url}/api/oauth/token`, { method: 'POST', headers: FORM, body: `grant_type=client_credentials&${CREDENTIALS}` });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

function inventory(mock: MockJamfPro, token: string | null, query: string): Promise<Response> {
  return fetch(`${mock.url}/api/v1/computers-inventory?${query}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
}

async function page(mock: MockJamfPro, token: string, query: string): Promise<Page> {
  const res = await inventory(mock, token, query);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Page;
}

test('token: client credentials in a form body give a Bearer token with its lifetime', async (t) => {
  const mock = await start(t, { tokenTtlSeconds: 120 });
  const res = await fetch(`${mock.url}/api/oauth/token`, { method: 'POST', headers: FORM, body: `grant_type=client_credentials&${CREDENTIALS}` });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'scope']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 120);
  assert.equal(body.scope, 'api-role:1');
  assert.ok(typeof body.access_token === 'string' && body.access_token.length >= 32);
  assert.notEqual(await tokenOf(mock), body.access_token);
});

test('token: wrong credentials 401 invalid_client, missing grant_type 400, Basic credentials accepted, GET 405', async (t) => {
  const mock = await start(t, { clientId: 'id-1', clientSecret: 's3cret' });
  const post = (body: string, headers: Record<string, string> = FORM) => fetch(`${mock.url}/api/oauth/token`, { method: 'POST', headers, body });

  const wrong = await post('grant_type=client_credentials&client_id=id-1&client_secret=nope');
  assert.equal(wrong.status, 401);
  assert.deepEqual(await wrong.json(), { error: 'invalid_client', error_description: 'Client authentication failed' });

  const noGrant = await post('client_id=id-1&client_secret=s3cret');
  assert.equal(noGrant.status, 400);
  assert.deepEqual(await noGrant.json(), { error: 'invalid_request' });

  const basic = await post('grant_type=client_credentials', { ...FORM, authorization: `Basic ${Buffer.from('id-1:s3cret').toString('base64')}` });
  assert.equal(basic.status, 200);

  const get = await fetch(`${mock.url}/api/oauth/token`);
  assert.equal(get.status, 405);
  assert.deepEqual(mock.requests.map((r) => [r.route, r.status, r.authorized]), [
    ['token', 401, false],
    ['token', 400, true],
    ['token', 200, true],
    ['token', 405, false],
  ]);
});

test('inventory without a token, or with an unknown one, is 401 with Jamf\'s empty error list', async (t) => {
  const mock = await start(t);
  for (const token of [null, 'not-a-token']) {
    const res = await inventory(mock, token, 'section=GENERAL');
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { httpStatus: 401, errors: [] });
  }
  assert.deepEqual(mock.requests.map((r) => r.authorized), [false, false]);
});

test('paging a fleet of 250 by id:asc at page-size 100: 100, 100, 50, every id once in numeric order', async (t) => {
  const mock = await start(t, { computers: 250 });
  const token = await tokenOf(mock);
  const sizes: number[] = [];
  const ids: string[] = [];
  for (let p = 0; ; p++) {
    const body = await page(mock, token, `section=GENERAL&section=HARDWARE&page=${p}&page-size=100&sort=id:asc`);
    assert.equal(body.totalCount, 250);
    if (body.results.length === 0) break;
    sizes.push(body.results.length);
    ids.push(...body.results.map((r) => r.id));
  }
  assert.deepEqual(sizes, [100, 100, 50]);
  assert.deepEqual(ids, Array.from({ length: 250 }, (_, i) => String(i + 1)));
  // Numeric, not string, order: "10" after "9" and "100" after "99".
  assert.deepEqual(ids.slice(8, 10), ['9', '10']);
  assert.deepEqual(mock.requests.at(-1)?.query, { section: ['GENERAL', 'HARDWARE'], page: ['3'], 'page-size': ['100'], sort: ['id:asc'] });

  const desc = await page(mock, token, 'page-size=3&sort=id:desc');
  assert.deepEqual(desc.results.map((r) => r.id), ['250', '249', '248']);
});

test('every record has the 26 keys in Jamf\'s order; GENERAL is the default section; unrequested sections are null', async (t) => {
  const mock = await start(t, { computers: 3 });
  const token = await tokenOf(mock);

  const byDefault = await page(mock, token, '');
  for (const r of byDefault.results) {
    assert.deepEqual(Object.keys(r), KEYS);
    assert.equal(typeof r.id, 'string');
    assert.notEqual(r.general, null);
    for (const key of KEYS.slice(3)) assert.equal(r[key], null, key);
  }

  const some = await page(mock, token, 'section=HARDWARE,OPERATING_SYSTEM&section=USER_AND_LOCATION');
  for (const r of some.results) {
    for (const key of KEYS.slice(2)) assert.equal(r[key] === null, !['hardware', 'operatingSystem', 'userAndLocation'].includes(key), key);
  }
  const os = some.results[0]!.operatingSystem as Record<string, unknown>;
  assert.equal(os.name, 'macOS');
  assert.match(os.version as string, /^1[3-5]\.\d+(\.\d+)?$/);
  const user = some.results[0]!.userAndLocation as Record<string, unknown>;
  assert.match(user.email as string, /^[a-z.]+@acme\.example$/);
});

test('an unknown section is 400 INVALID_FIELD section', async (t) => {
  const mock = await start(t);
  const res = await inventory(mock, await tokenOf(mock), 'section=GENERAL&section=NOPE');
  assert.equal(res.status, 400);
  const body = (await res.json()) as { httpStatus: number; errors: Array<Record<string, unknown>> };
  assert.equal(body.httpStatus, 400);
  assert.equal(body.errors.length, 1);
  assert.deepEqual({ ...body.errors[0], description: undefined }, { code: 'INVALID_FIELD', field: 'section', description: undefined, id: '0' });
});

test('page and page-size are validated at their edges; a page-size over the clamp is cut silently, as Jamf Pro does', async (t) => {
  const mock = await start(t, { computers: 5, clampPageSize: 2 });
  const token = await tokenOf(mock);
  assert.equal((await page(mock, token, 'page-size=2')).results.length, 2);
  assert.equal((await page(mock, token, 'page-size=1')).results.length, 1);
  const clamped = await page(mock, token, 'page-size=1000&page=1&sort=id:asc');
  assert.deepEqual({ totalCount: clamped.totalCount, ids: clamped.results.map((r) => r.id) }, { totalCount: 5, ids: ['3', '4'] }, 'page 1 of the clamped size, totalCount unchanged');
  assert.deepEqual(await page(mock, token, 'page=7'), { totalCount: 5, results: [] });
  for (const [query, field] of [
    ['page-size=abc', 'page-size'],
    ['page-size=10.5', 'page-size'],
    ['page=-1', 'page'],
  ] as const) {
    const res = await inventory(mock, token, query);
    assert.equal(res.status, 400, query);
    const body = (await res.json()) as { errors: Array<{ code: string; field: string }> };
    assert.equal(body.errors[0]?.code, 'INVALID_FIELD');
    assert.equal(body.errors[0]?.field, field);
  }
});

test('a token stops working after its lifetime', async (t) => {
  const mock = await start(t, { tokenTtlSeconds: 1 });
  const token = await tokenOf(mock);
  assert.equal((await inventory(mock, token, 'page-size=1')).status, 200);
  await sleep(1_050);
  const res = await inventory(mock, token, 'page-size=1');
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { httpStatus: 401, errors: [] });
  assert.equal((await inventory(mock, await tokenOf(mock), 'page-size=1')).status, 200);
});

test('expireTokens: every token issued so far is refused, new ones work', async (t) => {
  const mock = await start(t);
  const first = await tokenOf(mock);
  const second = await tokenOf(mock);
  mock.expireTokens();
  assert.equal((await inventory(mock, first, '')).status, 401);
  assert.equal((await inventory(mock, second, '')).status, 401);
  assert.equal((await inventory(mock, await tokenOf(mock), '')).status, 200);
});

test('failNext: 429 with Retry-After, in order, then normal answers', async (t) => {
  const mock = await start(t);
  const token = await tokenOf(mock);
  mock.failNext('inventory', { status: 429, retryAfter: '1' }, 2);
  mock.failNext('inventory', { status: 403 });
  for (let k = 0; k < 2; k++) {
    const res = await inventory(mock, token, '');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(((await res.json()) as { httpStatus: number }).httpStatus, 429);
  }
  const forbidden = await inventory(mock, token, '');
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.headers.get('retry-after'), null);
  assert.deepEqual(await forbidden.json(), { httpStatus: 403, errors: [{ code: 'INVALID_PRIVILEGE', description: 'Forbidden', id: '0', field: null }] });
  assert.equal((await inventory(mock, token, '')).status, 200);
});

test('failNext on the token route: 503 with an HTTP-date Retry-After and a custom body', async (t) => {
  const mock = await start(t);
  const date = 'Wed, 21 Oct 2015 07:28:00 GMT';
  mock.failNext('token', { status: 503, retryAfter: date, body: '<html><body>Maintenance</body></html>' });
  const res = await fetch(`${mock.url}/api/oauth/token`, { method: 'POST', headers: FORM, body: `grant_type=client_credentials&${CREDENTIALS}` });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), date);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(await res.text(), '<html><body>Maintenance</body></html>');
  await tokenOf(mock);
});

test('failNext reset: the socket is destroyed without an answer, the next request works', async (t) => {
  const mock = await start(t);
  const token = await tokenOf(mock);
  mock.failNext('inventory', { reset: true });
  await assert.rejects(inventory(mock, token, ''), TypeError);
  assert.equal(mock.requests.at(-1)?.status, 0);
  assert.equal((await inventory(mock, token, '')).status, 200);
});

test('failNext delayMs delays the normal answer; latencyMs applies to every inventory answer', async (t) => {
  const mock = await start(t, { latencyMs: 50 });
  const token = await tokenOf(mock);
  mock.failNext('inventory', { delayMs: 150 });
  let t0 = performance.now();
  assert.equal((await inventory(mock, token, '')).status, 200);
  assert.ok(performance.now() - t0 >= 195);
  t0 = performance.now();
  assert.equal((await inventory(mock, null, '')).status, 401);
  assert.ok(performance.now() - t0 >= 45);
});

test('maxConcurrentRequests counts inventory requests served at the same time', async (t) => {
  const mock = await start(t, { latencyMs: 100 });
  const token = await tokenOf(mock);
  assert.equal(mock.maxConcurrentRequests, 0);
  const answers = await Promise.all(Array.from({ length: 5 }, (_, p) => inventory(mock, token, `page=${p}&page-size=5&sort=id:asc`)));
  assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
  await Promise.all(answers.map((r) => r.arrayBuffer()));
  assert.equal(mock.maxConcurrentRequests, 5);
  await inventory(mock, token, '');
  assert.equal(mock.maxConcurrentRequests, 5);
});

test('touch: a new report moves reportDate and lastContactTime past every report so far', async (t) => {
  const mock = await start(t, { computers: 20 });
  const token = await tokenOf(mock);
  const before = mock.computers();
  const newest = Math.max(...before.map((c) => Date.parse((c.general as { reportDate: string }).reportDate)));
  const dates = mock.touch(['7', '3']);
  assert.equal(dates.length, 2);
  assert.ok(Date.parse(dates[0]!) > newest);
  assert.ok(Date.parse(dates[1]!) > Date.parse(dates[0]!));

  const after = new Map(mock.computers().map((c) => [c.id, c.general as { reportDate: string; lastContactTime: string }]));
  assert.equal(after.get('7')?.reportDate, dates[0]);
  assert.equal(after.get('7')?.lastContactTime, dates[0]);
  assert.equal(after.get('1')?.reportDate, (before[0]!.general as { reportDate: string }).reportDate);

  const latest = await page(mock, token, 'sort=general.reportDate:desc&page-size=2');
  assert.deepEqual(latest.results.map((r) => r.id), ['3', '7']);
  assert.deepEqual(latest.results.map((r) => r.general?.reportDate), [dates[1], dates[0]]);

  const since = await page(mock, token, `filter=${encodeURIComponent(`general.reportDate>="${dates[0]}"`)}&sort=id:asc`);
  assert.equal(since.totalCount, 2);
  assert.deepEqual(since.results.map((r) => r.id), ['3', '7']);
});

test('withoutReportDate: those computers have general.reportDate null and sort first by reportDate', async (t) => {
  const mock = await start(t, { computers: 10, withoutReportDate: [4, 9] });
  const token = await tokenOf(mock);
  const all = await page(mock, token, 'sort=general.reportDate:asc&page-size=10');
  assert.deepEqual(all.results.slice(0, 2).map((r) => [r.id, r.general?.reportDate]), [['4', null], ['9', null]]);
  assert.ok(all.results.slice(2).every((r) => typeof r.general?.reportDate === 'string'));
  // A null report date never matches a comparison.
  const filtered = await page(mock, token, `filter=${encodeURIComponent('general.reportDate>="2000-01-01T00:00:00Z"')}`);
  assert.equal(filtered.totalCount, 8);
});

test('reportDate fractions come with 3 digits and with 2 (trailing zero dropped), as Jamf prints them', async (t) => {
  const mock = await start(t);
  const dates = (await page(mock, await tokenOf(mock), 'page-size=100')).results.map((r) => r.general!.reportDate!);
  assert.equal(dates.length, 25);
  const digits = new Set(dates.map((d) => /\.(\d+)Z$/.exec(d)?.[1]?.length ?? 0));
  assert.ok(digits.has(3), dates.join());
  assert.ok(digits.has(2), dates.join());
  for (const d of dates) assert.equal(jamfDate(Date.parse(d)), d);
  assert.equal(jamfDate(Date.UTC(2024, 5, 19, 15, 54, 37, 690)), '2024-06-19T15:54:37.69Z');
});

test('filter: id>N and ; as AND, RSQL operators; an unsupported field is 400 INVALID_FIELD filter', async (t) => {
  const mock = await start(t, { computers: 30 });
  const token = await tokenOf(mock);
  const q = (filter: string, rest = 'sort=id:asc&page-size=100') => page(mock, token, `filter=${encodeURIComponent(filter)}&${rest}`);
  assert.deepEqual((await q('id>25')).results.map((r) => r.id), ['26', '27', '28', '29', '30']);
  assert.deepEqual((await q('id>=9;id<=11')).results.map((r) => r.id), ['9', '10', '11']);
  assert.deepEqual((await q('id=gt=28,id==2')).results.map((r) => r.id), ['2', '29', '30']);
  assert.deepEqual((await q('id=in=(5,3)')).results.map((r) => r.id), ['3', '5']);
  const paged = await q('id>10', 'sort=id:asc&page=1&page-size=5');
  assert.equal(paged.totalCount, 20);
  assert.deepEqual(paged.results.map((r) => r.id), ['16', '17', '18', '19', '20']);
  for (const bad of ['general.colour==red', 'id>abc', 'id>', 'general.reportDate>="yesterday"']) {
    const res = await inventory(mock, token, `filter=${encodeURIComponent(bad)}`);
    assert.equal(res.status, 400, bad);
    assert.equal(((await res.json()) as { errors: Array<{ field: string }> }).errors[0]?.field, 'filter');
  }
  const badSort = await inventory(mock, token, 'sort=colour:asc');
  assert.equal(badSort.status, 400);
  assert.equal(((await badSort.json()) as { errors: Array<{ field: string }> }).errors[0]?.field, 'sort');
});

test('addComputers continues after the highest id ever issued; removeComputers takes them out', async (t) => {
  const mock = await start(t, { computers: 5 });
  const token = await tokenOf(mock);
  mock.removeComputers(['5', '2']);
  assert.deepEqual(mock.addComputers(2), ['6', '7']);
  const body = await page(mock, token, 'sort=id:asc');
  assert.equal(body.totalCount, 5);
  assert.deepEqual(body.results.map((r) => r.id), ['1', '3', '4', '6', '7']);
  assert.deepEqual(mock.computers().map((c) => c.id), ['1', '3', '4', '6', '7']);
  assert.throws(() => mock.touch(['2']), /no computer/);
});

test('the fleet is deterministic, realistic and complete in computers()', async (t) => {
  const a = await start(t, { computers: 200 });
  const b = await start(t, { computers: 200 });
  const fleet = a.computers();
  assert.deepEqual(fleet, b.computers());
  assert.equal(fleet.length, 200);
  const serials = new Set<string>();
  for (const c of fleet) {
    assert.deepEqual(Object.keys(c), KEYS);
    for (const key of KEYS) assert.notEqual(c[key], null, `${String(c.id)}.${key}`);
    const general = c.general as Record<string, unknown>;
    const hardware = c.hardware as Record<string, unknown>;
    assert.equal(general.platform, 'Mac');
    assert.match(general.managementId as string, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(c.udid as string, /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    assert.match(hardware.macAddress as string, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
    assert.match(hardware.serialNumber as string, /^[0-9A-Z]{10,12}$/);
    serials.add(hardware.serialNumber as string);
  }
  assert.equal(serials.size, 200);
  assert.ok(new Set(fleet.map((c) => (c.hardware as { model: string }).model)).size >= 5);
  assert.ok(new Set(fleet.map((c) => (c.operatingSystem as { version: string }).version)).size >= 4);
});

test('default sort is general.name:asc, as Jamf', async (t) => {
  const mock = await start(t, { computers: 40 });
  const names = (await page(mock, await tokenOf(mock), 'page-size=40')).results.map((r) => r.general!.name.toLowerCase());
  assert.deepEqual(names, [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
});

test('unknown paths are 404 NOT_FOUND; requests are recorded with their query', async (t) => {
  const mock = await start(t);
  const res = await fetch(`${mock.url}/api/v9/computers-inventory?x=1&x=2`);
  assert.equal(res.status, 404);
  const body = (await res.json()) as { httpStatus: number; errors: Array<{ code: string }> };
  assert.equal(body.httpStatus, 404);
  assert.equal(body.errors[0]?.code, 'NOT_FOUND');
  const [entry] = mock.requests;
  assert.equal(entry?.method, 'GET');
  assert.equal(entry?.path, '/api/v9/computers-inventory');
  assert.deepEqual(entry?.query, { x: ['1', '2'] });
  assert.equal(entry?.status, 404);
  assert.ok(Math.abs(Date.now() - (entry?.at ?? 0)) < 5_000);
});

test('1000 computers with every section: a page of 1000 holds every section (speed is measured by npm run bench, not here)', async (t) => {
  const mock = await start(t, { computers: 1000 });
  const token = await tokenOf(mock);
  const query = `${KEYS.slice(2).map((k) => `section=${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`).join('&')}&page-size=1000&sort=id:asc`;
  const first = await page(mock, token, query);
  assert.equal(first.results.length, 1000);
  assert.ok(first.results.every((r) => KEYS.every((k) => r[k] !== null)));
});

test('versions: the version endpoint, v1 deprecated by header, v3 refusing PLUGINS, v4\'s general, a removed version 404', async (t) => {
  const mock = await start(t, { computers: 3, removedApiVersions: [2] });
  const token = await tokenOf(mock);
  const auth = { authorization: `Bearer ${token}` };
  const version = await fetch(`${mock.url}/api/v1/jamf-pro-version`, { headers: auth });
  assert.deepEqual(await version.json(), { version: '11.30.1-t1784555528405' });
  assert.equal((await fetch(`${mock.url}/api/v1/jamf-pro-version`)).status, 401);
  const v1 = await fetch(`${mock.url}/api/v1/computers-inventory?section=PLUGINS`, { headers: auth });
  assert.equal(v1.headers.get('deprecation'), `@${Date.UTC(2025, 5, 30) / 1000}`);
  assert.equal((await fetch(`${mock.url}/api/v2/computers-inventory`, { headers: auth })).status, 404);
  const v3 = await fetch(`${mock.url}/api/v3/computers-inventory?section=PLUGINS`, { headers: auth });
  assert.equal(v3.status, 400);
  const v4 = await fetch(`${mock.url}/api/v4/computers-inventory?sort=id:asc`, { headers: auth });
  assert.equal(v4.headers.get('deprecation'), null);
  const item = ((await v4.json()) as Page).results[0]! as Record<string, unknown>;
  assert.ok(!('plugins' in item) && !('fonts' in item));
  const general = item.general as Record<string, unknown>;
  assert.ok(!('lastReportedIp' in general) && !('lastContactTime' in general) && 'lastCheckIn' in general && 'lastContact' in general);
  const old = await start(t, { jamfProVersion: '11.29.0' });
  const oldToken = await tokenOf(old);
  assert.equal((await fetch(`${old.url}/api/v4/computers-inventory`, { headers: { authorization: `Bearer ${oldToken}` } })).status, 404, 'no v4 before 11.30');
  assert.equal((await fetch(`${old.url}/api/v3/computers-inventory`, { headers: { authorization: `Bearer ${oldToken}` } })).headers.get('deprecation'), null);
});

test('mobile devices: detail pages sorted by mobileDeviceId, sections null unless asked, tvOS without network, exception-handling checked', async (t) => {
  const mock = await start(t, { mobileDevices: 30, clampPageSize: 8 });
  const token = await tokenOf(mock);
  const get = (q: string) => fetch(`${mock.url}/api/v2/mobile-devices/detail?${q}`, { headers: { authorization: `Bearer ${token}` } });
  const res = await get('section=GENERAL&section=HARDWARE&sort=mobileDeviceId:asc&page=1&page-size=100&exception-handling=LENIENT');
  const body = (await res.json()) as { totalCount: number; results: Array<Record<string, unknown>> };
  assert.equal(body.totalCount, 30);
  assert.deepEqual(body.results.map((d) => d.mobileDeviceId), ['9', '10', '11', '12', '13', '14', '15', '16'], 'clamped to 8');
  assert.equal(body.results[0]!.userAndLocation, null);
  assert.ok(typeof (body.results[0]!.general as { udid: string }).udid === 'string');
  const tv = body.results.find((d) => d.deviceType === 'tvOS')!;
  assert.ok(!('network' in tv));
  assert.equal((await get('exception-handling=SOMETIMES')).status, 400);
  assert.equal((await get('section=FONTS')).status, 400);
});

test('Classic webhooks: XML in and out, 201 on create and update, the password never echoed, 409 on a duplicate name, 401 and 403', async (t) => {
  const mock = await start(t, { privileges: ['Read Webhooks', 'Create Webhooks', 'Update Webhooks'] });
  const token = await tokenOf(mock);
  const call = (method: string, path: string, body?: string) => fetch(`${mock.url}/JSSResource/webhooks${path}`, { method, body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml' } });
  const created = await call('POST', '/id/0', '<webhook><name>A &amp; B</name><url>https://x.example/h</url><event>PushSent</event><authentication_type>BASIC</authentication_type><username>u</username><password>p4ss-word</password><content_type>text/csv</content_type></webhook>');
  assert.equal(created.status, 201);
  assert.match(await created.text(), /<webhook><id>1<\/id><\/webhook>/);
  const got = await (await call('GET', '/id/1')).text();
  assert.match(got, /<name>A &amp; B<\/name>.*<content_type>text\/xml<\/content_type>.*<connection_timeout>5<\/connection_timeout><read_timeout>2<\/read_timeout>/);
  assert.ok(!got.includes('p4ss-word'), 'the password is never echoed');
  assert.equal((await call('POST', '/id/0', '<webhook><name>a &amp; b</name><event>PushSent</event></webhook>')).status, 409);
  const updated = await call('PUT', '/id/1', '<webhook><authentication_type>HEADER</authentication_type><header>{"X":"y"}</header></webhook>');
  assert.equal(updated.status, 201);
  assert.equal(await updated.text(), '');
  assert.match(await (await call('GET', '/id/1')).text(), /<header>\{"X":"y"\}<\/header>/, 'the header is echoed');
  assert.match(await (await call('GET', '')).text(), /<webhooks><size>1<\/size><webhook><id>1<\/id><name>A &amp; B<\/name><\/webhook><\/webhooks>/);
  assert.equal((await call('DELETE', '/id/1')).status, 403, 'no Delete Webhooks privilege');
  assert.equal((await fetch(`${mock.url}/JSSResource/webhooks`)).status, 401);
});
