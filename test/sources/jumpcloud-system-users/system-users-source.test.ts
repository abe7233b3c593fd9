import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { systemUserVersion } from '../../../src/sources/jumpcloud-system-users/system-users-source.ts';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { startConnector, type ConnectorHarness } from '../../helpers/connector-harness.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { readStream } from '../../helpers/test-app.ts';
import { MockJumpCloud, type MockJumpCloudOptions } from '../../mocks/jumpcloud-server.ts';

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

async function setup(t: TestContext, mockOptions: MockJumpCloudOptions, extra: Record<string, unknown> = {}): Promise<{ mock: MockJumpCloud; h: ConnectorHarness }> {
  const mock = await MockJumpCloud.start(mockOptions);
  t.after(() => mock.close());
  const h = await startConnector(server, { name: 'acme-users', type: 'jumpcloud.system_users', tenant: 'acme', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', ...extra });
  t.after(() => h.stop());
  return { mock, h };
}

const expectedIds = (mock: MockJumpCloud) => mock.users().map((u) => `${u._id as string}:${systemUserVersion(u)}`);
const userRequests = (mock: MockJumpCloud) => mock.requests.filter((r) => r.route === 'systemusers');

test('the first run lists every user, 100 a page sorted by _id, one record per user', async (t) => {
  const { mock, h } = await setup(t, { users: 345 });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const entries = await readStream(h.redis, h.stream);
  assert.deepEqual(entries.map((e) => e.fields.id).sort(), expectedIds(mock).sort());
  const requests = userRequests(mock);
  assert.deepEqual(requests.map((r) => r.query.skip?.[0]), ['0', '100', '200', '300']);
  for (const r of requests) {
    assert.deepEqual(r.query.limit, ['100']);
    assert.deepEqual(r.query.sort, ['_id']);
    assert.equal(r.headers['x-api-key'], 'orchard-test-jumpcloud-key');
  }
  const validate = createAjv().compile(readSchema('stream-entry.schema.json'));
  for (const e of entries) assert.ok(validate(e.fields), JSON.stringify(validate.errors));
  const first = entries[0]!.fields;
  const user = mock.users().find((u) => first.id!.startsWith(`${u._id as string}:`))!;
  assert.equal(first.source, 'jumpcloud.system_users');
  assert.equal(first.type, 'system_user');
  assert.equal(first.tenant, 'acme');
  assert.deepEqual(JSON.parse(first.payload!), user);
  const indicators = JSON.parse(first.indicators!) as Record<string, string[]>;
  assert.deepEqual(indicators.username, [user.username]);
  assert.ok(indicators.email?.includes((user.email as string).toLowerCase()) || indicators.email?.includes(user.email as string));
  assert.equal(await h.redis.hlen(`{${h.stream}}:connector:acme-users:versions`), 345);
});

test('later runs append only the users that changed or were added, and forget removed ones', async (t) => {
  const { mock, h } = await setup(t, { users: 150 }, { interval: '300ms' });
  await h.waitForRuns(1);
  assert.equal((await h.ids()).length, 150);
  const users = mock.users();
  const changed = [users[3]!._id as string, users[120]!._id as string];
  mock.changeUsers(changed);
  const added = mock.addUsers(2);
  mock.removeUsers([users[50]!._id as string]);
  const runsBefore = h.status().totals.runs;
  const s = await h.waitForRuns(runsBefore + 1);
  assert.equal(s.lastRun?.appended, 4, JSON.stringify(s.lastRun));
  const ids = await h.ids();
  assert.equal(ids.length, 154);
  assert.equal(new Set(ids).size, 154);
  for (const id of [...changed, ...added]) assert.equal(ids.filter((x) => x.startsWith(`${id}:`)).length, id === added[0] || id === added[1] ? 1 : 2);
  // Unchanged: the next run appends nothing; two scans later the removed user is forgotten.
  const s2 = await h.waitForRuns(runsBefore + 3);
  assert.equal(s2.lastRun?.appended, 0);
  assert.equal(await h.redis.hlen(`{${h.stream}}:connector:acme-users:versions`), 151);
});

test('the key order of a user does not make a new version', () => {
  assert.equal(systemUserVersion({ _id: 'a', username: 'x', mfa: { configured: true, exclusion: false } }), systemUserVersion({ mfa: { exclusion: false, configured: true }, username: 'x', _id: 'a' }));
  assert.notEqual(systemUserVersion({ _id: 'a', suspended: false }), systemUserVersion({ _id: 'a', suspended: true }));
});

test('a wrong key parks the connector with a credentials diagnosis; 429 is waited out', async (t) => {
  const { h } = await setup(t, {}, { api_key: 'wrong-key-0123456789' });
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'credentials');
  assert.doesNotMatch(JSON.stringify(s) + JSON.stringify(h.logs()), /wrong-key-0123456789/);

  const mock = await MockJumpCloud.start({ users: 120 });
  t.after(() => mock.close());
  mock.failNext('systemusers', { status: 429, retryAfter: '1' });
  const h2 = await startConnector(server, { name: 'u2', type: 'jumpcloud.system_users', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key' });
  t.after(() => h2.stop());
  const s2 = await h2.waitForRuns(1, 20_000);
  assert.equal(s2.lastRun?.outcome, 'success');
  assert.equal((await h2.ids()).length, 120);
});
