import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { ConnectorStateStore } from '../../../src/connector-state/connector-state-store.ts';
import { createSource } from '../../../src/sources/index.ts';
import { configWithConnectors, startConnector } from '../../helpers/connector-harness.ts';
import { runSince } from '../../helpers/run-since.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { readStream } from '../../helpers/test-app.ts';
import { MockJumpCloud, type MockJumpCloudOptions } from '../../mocks/jumpcloud-server.ts';

// One MSP key, many organizations (org_ids), for both JumpCloud types.

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const key = 'orchard-test-jumpcloud-key';
const minute = 60_000;
const orgs = ['org-a', 'org-b', 'org-c', 'org-d', 'org-e'].map((id, i) => ({ id, name: ['Acme', 'Beta', 'Gamma', 'Delta', 'Epsilon'][i]!, users: 3 + i }));

async function mockOf(t: TestContext, options: MockJumpCloudOptions = {}): Promise<MockJumpCloud> {
  const mock = await MockJumpCloud.start({ organizations: orgs, ...options });
  t.after(() => mock.close());
  return mock;
}

const di = (mock: MockJumpCloud, extra: Record<string, unknown> = {}) => ({ name: 'msp', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: key, org_ids: 'all', interval: '1h', ...extra });

interface OrgStatus {
  id: string;
  tenant: string;
  listed: boolean;
  lastReadAt: string | null;
  error: { status?: number; message: string } | null;
  totals: { pages: number; received: number; appended: number; duplicates: number };
}

const organizationsOf = (checkpoint: Record<string, unknown> | null) => (checkpoint?.organizations ?? []) as OrgStatus[];

test('org_ids: all reads every organization once, each with its tenant and its totals; one refused (403) is named in /status and skipped; one added later is read from start', async (t) => {
  const mock = await mockOf(t);
  const now = Date.now();
  const start = new Date(now - 6 * 60 * minute).toISOString();
  for (const [i, org] of orgs.entries()) mock.org(org.id).generateEvents(20 + i * 7, { fromMs: now - 5 * 60 * minute, toMs: now - 10 * minute, seed: 40 + i });
  mock.forbidOrganization('org-c');
  const h = await startConnector(server, di(mock, { start, limit: 8, interval: '1s', tenants: { 'org-d': 'delta-corp' } }));
  t.after(() => h.stop());
  const s = await runSince(h, 0);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));

  const entries = await readStream(h.redis, h.stream);
  const readable = orgs.filter((o) => o.id !== 'org-c');
  const expected = readable.flatMap((o) => mock.org(o.id).visibleEvents().map((e) => e.id));
  assert.deepEqual(entries.map((e) => e.fields.id).sort(), expected.sort(), 'every readable organization\'s events, each once');
  for (const e of entries) {
    const org = JSON.parse(e.fields.payload!).organization as string;
    assert.equal(e.fields.tenant, org === 'org-d' ? 'delta-corp' : orgs.find((o) => o.id === org)!.name, 'the mapping, else the organization\'s name');
  }
  for (const r of mock.requests.filter((q) => q.route === 'events')) assert.ok(r.headers['x-org-id'], 'every events request names its organization');
  assert.equal(mock.requests.find((r) => r.route === 'organizations')!.headers['x-org-id'], undefined);

  const status = organizationsOf(s.checkpoint);
  assert.deepEqual(status.map((o) => o.id).sort(), orgs.map((o) => o.id));
  const c = status.find((o) => o.id === 'org-c')!;
  assert.equal(c.error?.status, 403);
  assert.equal(c.lastReadAt, null);
  assert.deepEqual(s.checkpoint?.failing, ['org-c']);
  for (const o of readable) {
    const st = status.find((x) => x.id === o.id)!;
    assert.equal(st.error, null);
    assert.equal(st.totals.appended, mock.org(o.id).visibleEvents().length, `${o.id}: its own totals`);
    assert.equal(st.totals.received, st.totals.appended);
  }
  assert.match(JSON.stringify(h.logs()), /Organization org-c \(Gamma\) could not be read/);

  // Later: a new organization with a backlog, org-c readable again, and new events everywhere.
  const changedAt = Date.now();
  mock.addOrganization({ id: 'org-f', name: 'Zeta' });
  mock.org('org-f').generateEvents(15, { fromMs: now - 5 * 60 * minute, toMs: now - 10 * minute, seed: 50 });
  mock.forbidOrganization('org-c', false);
  for (const [i, org] of orgs.entries()) mock.org(org.id).generateEvents(3, { fromMs: now - 9 * minute, toMs: now - 5 * minute, seed: 60 + i });
  const s2 = await runSince(h, changedAt);
  assert.equal(s2.lastRun?.outcome, 'success', JSON.stringify(s2.lastError));
  const all = [...orgs.map((o) => o.id), 'org-f'].flatMap((id) => mock.org(id).visibleEvents().map((e) => e.id));
  const ids = (await readStream(h.redis, h.stream)).map((e) => e.fields.id!);
  assert.equal(ids.length, new Set(ids).size, 'no event twice');
  assert.deepEqual(ids.sort(), all.sort(), 'the new organization backfilled from start, org-c read once it could be');
  const f = organizationsOf(s2.checkpoint).find((o) => o.id === 'org-f')!;
  assert.equal(f.tenant, 'Zeta');
  assert.equal(f.totals.appended, 15);
  assert.deepEqual(s2.checkpoint?.failing, []);
});

test('an organization that leaves org_ids: all keeps its cursor; one removed from a configured list is 404 and named', async (t) => {
  const mock = await mockOf(t);
  const now = Date.now();
  for (const [i, org] of orgs.entries()) mock.org(org.id).generateEvents(5, { fromMs: now - 50 * minute, toMs: now - 10 * minute, seed: 70 + i });
  const h = await startConnector(server, di(mock, { org_ids: ['org-a', 'org-b'], interval: '1s' }));
  t.after(() => h.stop());
  assert.equal((await h.waitForRuns(1)).lastRun?.outcome, 'success');
  const removedAt = Date.now();
  mock.removeOrganization('org-b');
  const s = await runSince(h, removedAt);
  const b = organizationsOf(s.checkpoint).find((o) => o.id === 'org-b')!;
  assert.equal(b.error?.status, 404);
  assert.equal(b.tenant, 'Beta', 'its last known name');
  assert.equal(s.lastRun?.outcome, 'success', 'one organization failing does not fail the run');
  assert.equal((await h.ids()).length, 10);
});

test('every organization refused: the run fails with the diagnosis of the refusal (not five warnings and a success)', async (t) => {
  const mock = await mockOf(t);
  for (const org of orgs) mock.forbidOrganization(org.id);
  const h = await startConnector(server, di(mock));
  t.after(() => h.stop());
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'permissions');
  assert.match(s.lastError!.diagnosis.remedy, /for an MSP, access to the organization/);
});

test('org_ids: all when the key cannot list organizations parks the connector with the diagnosis', async (t) => {
  const mock = await mockOf(t);
  mock.failNext('organizations', { status: 403 });
  const h = await startConnector(server, di(mock));
  t.after(() => h.stop());
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'permissions');
  assert.match(s.lastError!.message, /GET \/api\/organizations answered 403/);
});

test('system users over several organizations: each organization\'s users once, later only its changes; a removed user is forgotten in its organization only', async (t) => {
  const mock = await mockOf(t);
  const entry = { name: 'msp-users', type: 'jumpcloud.system_users', base_url: mock.url, api_key: key, org_ids: ['org-a', 'org-b', 'org-e'], interval: '1s' };
  const h = await startConnector(server, entry);
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const users = (id: string) => mock.org(id).users();
  assert.equal(s.totals.appended, 3 + 4 + 7);
  const versions = await h.redis.hkeys(h.state.keys('msp-users').versions);
  assert.deepEqual(versions.sort(), ['org-a', 'org-b', 'org-e'].flatMap((id) => users(id).map((u) => `${id}:${u._id as string}`)).sort());
  const tenants = new Set((await readStream(h.redis, h.stream)).map((e) => e.fields.tenant));
  assert.deepEqual([...tenants].sort(), ['Acme', 'Beta', 'Epsilon']);

  const gone = users('org-a')[0]!._id as string;
  const changedAt = Date.now();
  mock.org('org-a').removeUsers([gone]);
  mock.org('org-b').changeUsers([users('org-b')[1]!._id as string]);
  const s2 = await runSince(h, changedAt);
  assert.equal(s2.totals.appended - s.totals.appended, 1, 'only the changed user');
  await h.waitForRuns(4);
  const left = await h.redis.hkeys(h.state.keys('msp-users').versions);
  assert.ok(!left.includes(`org-a:${gone}`), 'forgotten after two scans of its organization');
  assert.equal(left.length, 3 + 4 + 7 - 1, 'the other organizations\' users stay');
});

test('a checkpoint written without org_ids starts every organization from start, with a warning', async (t) => {
  const mock = await mockOf(t);
  const now = Date.now();
  mock.org('org-a').generateEvents(4, { fromMs: now - 50 * minute, toMs: now - 10 * minute, seed: 80 });
  // The checkpoint a connector of one organization (org_id) wrote, before org_ids was configured.
  const stream = `m${Math.random().toString(36).slice(2, 10)}:events`;
  const redis = server.client();
  t.after(() => redis.disconnect());
  const keys = new ConnectorStateStore(redis, stream).keys('msp');
  const legacy = { v: 1, type: 'jumpcloud.directory_insights', start: null, since: null, cursor: { until: new Date(now).toISOString(), window: null, seen: [], nextSeen: [] }, runOpen: false, runStartedAt: null, lastRunEndedAt: new Date(now - 2 * 60 * minute).toISOString(), pages: 3, updatedAt: new Date(now).toISOString() };
  await redis.hset(keys.checkpoint, 'seq', '3', 'data', JSON.stringify(legacy));
  const h = await startConnector(server, di(mock, { org_ids: ['org-a'] }), { stream });
  t.after(() => h.stop());
  await h.waitFor((st) => (st.lastRun?.outcome === 'success' && st.lastRun.appended === 4) || st.state === 'parked', 'a run over the old checkpoint');
  assert.match(JSON.stringify(h.logs()), /written without org_ids/);
});

test('orchard test on an MSP key: credentials, the organizations listed, which can be read and which not', async (t) => {
  const mock = await mockOf(t);
  mock.forbidOrganization('org-b');
  const config = configWithConnectors([di(mock, { tenants: { 'org-a': 'acme-corp' } })]);
  const { source } = createSource(config.connectors[0]!, config);
  t.after(() => source.close());
  const said = await source.checkAccess(AbortSignal.timeout(10_000));
  assert.match(said, /^The API key is accepted; org_ids: all lists 5 organization\(s\); readable: acme-corp \(org-a\): no event in the last hour; Gamma/);
  assert.match(said, /not readable \(skipped by each run, shown in \/status\): Beta \(org-b\): HTTP 403/);
});
