import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { writerId } from '../../../src/connector-state/checkpoint.ts';
import type { ConnectorConfig } from '../../../src/config/config-types.ts';
import { Keyspace } from '../../../src/redis/keyspace.ts';
import type { DirectoryInsightsSettings } from '../../../src/sources/jumpcloud-directory-insights/settings.ts';
import { DirectoryInsightsSource, type DirectoryInsightsCursor } from '../../../src/sources/jumpcloud-directory-insights/directory-insights-source.ts';
import { JumpCloudConnection } from '../../../src/sources/jumpcloud/jumpcloud-connection.ts';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { RedisPageSink } from '../../../src/sink/redis-page-sink.ts';
import { configWithConnectors, startConnector, type ConnectorHarness } from '../../helpers/connector-harness.ts';
import { runSince } from '../../helpers/run-since.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { readStream } from '../../helpers/test-app.ts';
import { MockJumpCloud, type MockJumpCloudOptions } from '../../mocks/jumpcloud-server.ts';
import { fixturesDir } from '../../helpers/fixtures.ts';

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const key = 'orchard-test-jumpcloud-key';
const minute = 60_000;

function entry(mock: MockJumpCloud, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'acme-jc', type: 'jumpcloud.directory_insights', tenant: 'acme', base_url: mock.url, api_key: key, interval: '1h', ...extra };
}

async function setup(t: TestContext, mockOptions: MockJumpCloudOptions, extra: Record<string, unknown> = {}): Promise<{ mock: MockJumpCloud; h: ConnectorHarness }> {
  const mock = await MockJumpCloud.start(mockOptions);
  t.after(() => mock.close());
  const h = await startConnector(server, entry(mock, extra));
  t.after(() => h.stop());
  return { mock, h };
}

const eventsRequests = (mock: MockJumpCloud) => mock.requests.filter((r) => r.route === 'events');

test('a run reads every page oldest first with search_after and appends stream contract v1 records', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(250, { fromMs: now - 6 * 60 * minute, toMs: now - 5 * minute, seed: 7, nanos: true });
  const h = await startConnector(server, entry(mock, { limit: 40, start: new Date(now - 7 * 60 * minute).toISOString() }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const entries = await readStream(h.redis, h.stream);
  assert.deepEqual(entries.map((e) => e.fields.id), mock.visibleEvents().map((e) => e.id), 'every event once, in the vendor\'s order');
  assert.equal(s.lastRun?.received, 250);
  assert.equal(s.lastRun?.appended, 250);
  assert.equal(s.lastRun?.duplicates, 0);
  assert.equal(s.lastRun?.pages, 7);
  const requests = eventsRequests(mock);
  assert.equal(requests.length, 7);
  const body0 = requests[0]!.body as Record<string, unknown>;
  assert.deepEqual(body0.service, ['all']);
  assert.equal(body0.sort, 'ASC');
  assert.equal(body0.limit, 40);
  assert.equal(body0.search_after, undefined);
  assert.ok(Date.parse(body0.end_time as string) <= Date.now() - 2 * minute + 1000, 'the window ends lag (2m) before now');
  assert.equal(requests[0]!.headers['x-api-key'], key);
  for (const r of requests.slice(1)) {
    const b = r.body as Record<string, unknown>;
    assert.equal(b.start_time, body0.start_time, 'one window per run');
    assert.equal(b.end_time, body0.end_time);
    assert.ok(Array.isArray(b.search_after) && b.search_after.length === 2);
  }
  const validate = createAjv().compile(readSchema('stream-entry.schema.json'));
  for (const e of entries) assert.ok(validate(e.fields), JSON.stringify(validate.errors));
  const events = mock.visibleEvents();
  for (const [i, e] of entries.entries()) {
    const event = events[i]!;
    assert.equal(e.fields.source, 'jumpcloud.directory_insights');
    assert.equal(e.fields.type, `${event.service}/${event.event_type}`);
    assert.equal(e.fields.tenant, 'acme');
    assert.equal(e.fields.connector, 'acme-jc');
    // Nanosecond timestamps keep their millisecond.
    assert.equal(e.fields.time, `${event.timestamp.slice(0, 23)}Z`);
    assert.deepEqual(JSON.parse(e.fields.payload!), event);
  }
  const withIp = entries.find((e) => (JSON.parse(e.fields.payload!) as { client_ip?: string }).client_ip);
  if (withIp) assert.deepEqual(JSON.parse(withIp.fields.indicators!).ip, [(JSON.parse(withIp.fields.payload!) as { client_ip: string }).client_ip]);
  const runLine = h.logs().find((l) => l.msg === 'Run finished.')!;
  assert.equal(runLine.requests, 7);
  assert.equal(runLine.received, 250);
  assert.equal(runLine.duplicates, 0);
  assert.equal(runLine.appended, 250);
  assert.equal(typeof runLine.eventsPerSecond, 'number');
});

test('the fixture event maps to the record the stream contract describes, indicators included', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const fixture = JSON.parse((JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(new URL('jumpcloud/events/test-events.json', fixturesDir), 'utf8'))) as { events: { message: string }[] }).events[0]!.message) as Record<string, unknown>;
  const recent = new Date(Date.now() - 30 * minute).toISOString();
  mock.addEvents([{ ...fixture, timestamp: recent } as never]);
  const { readFile } = await import('node:fs/promises');
  const mdm = JSON.parse(await readFile(new URL('jumpcloud/events/test-events.newer-version.mdm_command_result.InstallProfile.message.json', fixturesDir), 'utf8')) as Record<string, unknown>;
  mock.addEvents([{ ...mdm, id: 'fedcba9876543210fedcba98', timestamp: recent.replace('Z', '123456Z') } as never]);
  const h = await startConnector(server, entry(mock));
  t.after(() => h.stop());
  await h.waitForRuns(1);
  const entries = await readStream(h.redis, h.stream);
  assert.equal(entries.length, 2);
  const login = entries.find((e) => e.fields.id === '63c264c6c1bd55c1b7e901a4')!.fields;
  assert.equal(login.type, 'directory/admin_login_attempt');
  assert.equal(login.time, recent);
  assert.deepEqual(JSON.parse(login.indicators!), { ip: ['81.2.69.144'], email: ['user.name@sub.domain.tld'], actor_id: ['123456789abcdef123456789'] });
  const command = entries.find((e) => e.fields.id === 'fedcba9876543210fedcba98')!.fields;
  assert.equal(command.type, 'mdm/mdm_command_result');
  assert.equal(command.time, recent);
});

test('the next run re-reads the overlap and drops what it already appended: never the boundary event twice', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const now = Date.now();
  // 30 events sharing one millisecond, 3 minutes ago: inside the overlap of the next run, across pages.
  mock.generateEvents(30, { fromMs: now - 3 * minute, toMs: now - 3 * minute + 1, sameTimestamp: true, seed: 3 });
  mock.generateEvents(20, { fromMs: now - 60 * minute, toMs: now - 4 * minute, seed: 4 });
  const h = await startConnector(server, entry(mock, { limit: 7, interval: '200ms' }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(3);
  const ids = await h.ids();
  assert.equal(ids.length, 50, `${ids.length - new Set(ids).size} duplicate(s)`);
  assert.equal(new Set(ids).size, 50);
  assert.equal(s.totals.appended, 50);
  assert.ok(s.totals.duplicates >= 60, `the later runs re-read the tied events and dropped them (${s.totals.duplicates})`);
  // Events arriving now, in the past of the window, land once too.
  mock.addEvents([{ timestamp: now - 5 * minute, id: 'aaaaaaaaaaaaaaaaaaaaaaaa', service: 'sso', event_type: 'sso_auth' }]);
  await h.waitFor((st) => st.totals.appended === 51, 'the late event');
  await h.waitForRuns(s.totals.runs + 2);
  assert.equal((await h.ids()).length, 51);
  assert.equal(eventsRequests(mock).filter((r) => r.status === 400).length, 0);
});

test('with nothing to ask (start in the future) a run asks nothing, and JumpCloud never sees start_time >= end_time', async (t) => {
  const { mock, h } = await setup(t, {}, { start: new Date(Date.now() + 60 * minute).toISOString(), interval: '100ms' });
  const s = await h.waitForRuns(3);
  assert.equal(s.lastRun?.outcome, 'success');
  assert.equal(s.lastError, null);
  assert.equal(eventsRequests(mock).length, 0);
});

test('a lag raised past the last window\'s end asks nothing instead of a window that ends before it starts', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  mock.generateEvents(5, { fromMs: Date.now() - 20 * minute, toMs: Date.now() - 15 * minute });
  const first = await startConnector(server, entry(mock, { lag: '1s' }));
  t.after(() => first.stop());
  assert.equal((await first.waitForRuns(1)).totals.appended, 5);
  await first.stop();
  // Restarted with a lag of 30 minutes: the next window would end 30 minutes before the last one did.
  const second = await startConnector(server, entry(mock, { lag: '30m', interval: '100ms' }), { stream: first.stream });
  t.after(() => second.stop());
  const s = await second.waitForRuns(3);
  assert.equal(s.lastRun?.outcome, 'success');
  assert.equal(s.lastError, null);
  assert.equal(eventsRequests(mock).length, 1, 'only the first run asked');
  assert.equal(mock.requests.filter((r) => r.status === 400).length, 0);
  assert.equal((await second.ids()).length, 5);
});

test('services and org_id are sent as configured; stream_per_service routes each service to its own stream', async (t) => {
  const mock = await MockJumpCloud.start({ orgId: 'org-0123456789' });
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(60, { fromMs: now - 50 * minute, toMs: now - 5 * minute, services: ['directory', 'sso', 'mdm'], seed: 11 });
  const h = await startConnector(server, entry(mock, { org_id: 'org-0123456789', services: ['sso', 'mdm'], stream_per_service: true }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const request = eventsRequests(mock)[0]!;
  assert.equal(request.headers['x-org-id'], 'org-0123456789');
  assert.deepEqual((request.body as { service: string[] }).service, ['sso', 'mdm']);
  assert.equal(await h.redis.xlen(h.stream), 0);
  const visible = mock.visibleEvents();
  for (const service of ['sso', 'mdm']) {
    const ids = (await readStream(h.redis, `${h.stream}:jumpcloud:${service}`)).map((e) => e.fields.id);
    assert.deepEqual(ids, visible.filter((e) => e.service === service).map((e) => e.id));
    assert.ok(ids.length > 0);
  }
  assert.equal(await h.redis.exists(`${h.stream}:jumpcloud:directory`), 0);
});

test('429 with and without Retry-After is waited out; the run succeeds with every event once', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(100, { fromMs: now - 60 * minute, toMs: now - 5 * minute, seed: 5 });
  mock.failNext('events', { status: 429, retryAfter: '1' });
  mock.failNext('events', { status: 429 }, 2);
  const h = await startConnector(server, entry(mock, { limit: 30 }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(1, 30_000);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual((await h.ids()).sort(), mock.visibleEvents().map((e) => e.id).sort());
  const statuses = eventsRequests(mock).map((r) => r.status);
  assert.deepEqual(statuses.slice(0, 3), [429, 429, 429]);
  const afterRetryAfter = eventsRequests(mock)[1]!.at - eventsRequests(mock)[0]!.at;
  assert.ok(afterRetryAfter >= 900, `Retry-After: 1 was honoured (${afterRetryAfter} ms)`);
});

test('401 and 403 park the connector with a diagnosis naming api_key / org_id; the key never shows', async (t) => {
  const wrongKey = await setup(t, {}, { api_key: 'not-the-key-0123456789' });
  const s1 = await wrongKey.h.waitFor((s) => s.state === 'parked', 'parked on 401');
  assert.equal(s1.lastError?.diagnosis.category, 'credentials');
  assert.match(JSON.stringify(s1.lastError), /api_key/);
  assert.doesNotMatch(JSON.stringify(s1) + JSON.stringify(wrongKey.h.logs()), /not-the-key-0123456789/);

  const mock = await MockJumpCloud.start({ orgId: 'org-a' });
  t.after(() => mock.close());
  const h = await startConnector(server, entry(mock, { org_id: 'org-b' }));
  t.after(() => h.stop());
  const s2 = await h.waitFor((s) => s.state === 'parked', 'parked on 403');
  assert.equal(s2.lastError?.diagnosis.category, 'permissions');
});

test('a response that is not an array of events is a response failure, not an empty page', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  mock.failNext('events', { status: 200, body: '{"results":[]}' });
  const h = await startConnector(server, entry(mock));
  t.after(() => h.stop());
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'response');
  assert.match(s.lastError!.message, /not a JSON array/);
});

test('a truncated answer is a response failure naming the body; items that are not events are skipped with a warning', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  mock.failNext('events', { status: 200, body: '[{"id":"a1","timestamp":"2026-01-01T00:00:00Z","service":"sso"},{"id":"a2","time' });
  const h = await startConnector(server, entry(mock));
  t.after(() => h.stop());
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'response');
  assert.match(s.lastError!.message, /not JSON|JSON/i);
  assert.equal((await h.ids()).length, 0);

  const mixed = await MockJumpCloud.start();
  t.after(() => mixed.close());
  const at = new Date(Date.now() - 60 * minute).toISOString();
  mixed.failNext('events', { status: 200, body: JSON.stringify([{ id: 'e1', timestamp: at, service: 'sso', event_type: 'sso_auth' }, 7, null, ['x'], { id: 'e2', timestamp: at, service: 'directory', event_type: 'user_create' }]) });
  const h2 = await startConnector(server, entry(mixed));
  t.after(() => h2.stop());
  await h2.waitForRuns(1);
  assert.deepEqual((await h2.ids()).sort(), ['e1', 'e2']);
  assert.ok(h2.logs().some((l) => /3 item\(s\) that are not event objects/.test(String(l.msg))));
});

// ---------------------------------------------------------------------------------------------------
// The property: whatever the events (late, tied on one millisecond, across pages) and however runs are
// cut short, the stream ends up holding exactly the vendor's events, each once. Time is simulated: the
// source and the mock share a clock; a run is the runner's loop (page → page + checkpoint in one
// script), and a crash leaves the run open where the last written page left it.

const lagMs = 2 * minute;
const overlapMs = 10 * minute;

interface Step {
  readonly advanceMs: number;
  readonly batches: readonly { readonly count: number; readonly offsetMs: number; readonly delayShare: number; readonly tied: boolean }[];
  readonly crashAfterPages: number | null;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  advanceMs: fc.integer({ min: 1000, max: 8 * minute }),
  batches: fc.array(
    fc.record({ count: fc.integer({ min: 1, max: 12 }), offsetMs: fc.integer({ min: 0, max: lagMs + overlapMs - 1 }), delayShare: fc.double({ min: 0, max: 1, noNaN: true }), tied: fc.boolean() }),
    { maxLength: 3 },
  ),
  crashAfterPages: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
});

test('property: after many runs with late events, ties across pages and crashes, the stream holds each event exactly once', async () => {
  let clock = Date.parse('2026-11-01T00:00:00.000Z');
  let scenario = 0;
  let badRequests = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 3, maxLength: 12 }), fc.integer({ min: 2, max: 9 }), async (steps, limit) => {
      scenario += 1;
      const mock = await MockJumpCloud.start({ now: () => clock });
      const redis = server.client();
      const stream = `prop${scenario}-${Math.random().toString(36).slice(2, 8)}:events`;
      const config = configWithConnectors([{ ...entry(mock), name: 'prop', limit, lag: '2m', overlap: '10m', start: new Date(clock - 60 * minute).toISOString() }]).connectors[0]!;
      const typed = config as ConnectorConfig<DirectoryInsightsSettings>;
      const source = new DirectoryInsightsSource(typed, new JumpCloudConnection(typed, typed.settings), { now: () => clock, stream });
      const sink = new RedisPageSink({ redis, stream, dedupWindowSeconds: 60, appendTimeoutMs: 5000 });
      const keys = new Keyspace(stream).connector('prop');
      await redis.set(keys.lease, 'me');
      const expected = new Set<string>();
      let seq = 0;
      try {
        const run = async (crashAfterPages: number | null) => {
          const stored = await redis.hget(keys.checkpoint, 'data');
          let cursor = stored ? ((JSON.parse(stored) as { cursor: DirectoryInsightsCursor }).cursor) : undefined;
          for (let pages = 0; ; pages++) {
            if (crashAfterPages !== null && pages >= crashAfterPages) return;
            const page = await source.fetchPage(cursor, { since: config.start, receivedMs: clock, signal: new AbortController().signal });
            const result = await sink.appendPage(page.records, { keys, leaseToken: 'me', expectedSeq: seq, writer: writerId(), checkpoint: JSON.stringify({ cursor: page.cursor }) });
            assert.equal(result.outcome, 'ok');
            seq += 1;
            cursor = page.cursor;
            if (!page.more) return;
          }
        };
        for (const step of steps) {
          clock += step.advanceMs;
          for (const b of step.batches) {
            // Visible at most lag + overlap after its timestamp: the promise the settings make.
            const timestamp = clock - b.offsetMs;
            const delay = Math.floor(b.delayShare * (lagMs + overlapMs - 1 - b.offsetMs));
            const added = mock.generateEvents(b.count, { fromMs: timestamp, toMs: timestamp + (b.tied ? 1 : 90_000), sameTimestamp: b.tied, visibleAfterMs: delay, nanos: true, seed: Math.floor(Math.random() * 1e9) });
            for (const e of added) expected.add(e.id);
          }
          await run(step.crashAfterPages);
        }
        // Quiet time: runs go on until every event's window has passed.
        for (let i = 0; i < 6; i++) {
          clock += 5 * minute;
          await run(null);
        }
        const ids = (await readStream(redis, stream)).map((e) => e.fields.id!);
        const generated = mock.events.filter((e) => expected.has(e.id)).map((e) => e.id);
        assert.equal(ids.length, new Set(ids).size, `${ids.length - new Set(ids).size} duplicate(s)`);
        assert.deepEqual(new Set(ids), new Set(generated), `missing ${generated.filter((id) => !ids.includes(id)).length}, unexpected ${ids.filter((id) => !expected.has(id)).length}`);
        badRequests += mock.requests.filter((r) => r.status === 400).length;
      } finally {
        await source.close();
        await mock.close();
        redis.disconnect();
      }
    }),
    { numRuns: 25 },
  );
  assert.equal(badRequests, 0, 'no window ever ended before it started');
});

// --- Service Accounts -------------------------------------------------------------------------

const account = { clientId: 'sa-0123456789', secrets: ['sa-secret-new-0123456789', 'sa-secret-spare-0123456789'] };
const saEntry = (mock: MockJumpCloud, secret: string | string[], extra: Record<string, unknown> = {}) => {
  const { api_key: _k, ...rest } = entry(mock, { client_id: account.clientId, client_secret: secret, token_url: `${mock.url}/oauth2/token`, ...extra });
  return rest;
};

test('a Service Account: a token from token_url (Basic, form, scope api), sent as Bearer on every page, fetched once, refreshed when JumpCloud expires it', async (t) => {
  const mock = await MockJumpCloud.start({ serviceAccount: account });
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(120, { fromMs: now - 60 * minute, toMs: now - 5 * minute, seed: 31 });
  // verify_after: off, so that the expired token is met by the next run's pages, not by a window's count.
  const h = await startConnector(server, saEntry(mock, account.secrets[0]!, { limit: 30, interval: '1s', verify_after: 'off' }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual((await h.ids()).sort(), mock.visibleEvents().map((e) => e.id).sort());
  assert.equal(mock.tokensIssued, 1, 'one token for the whole run');
  const token = mock.requests.find((r) => r.route === 'token')!;
  assert.equal(token.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(token.body, 'grant_type=client_credentials&scope=api');
  assert.equal(token.headers.authorization, `Basic ${Buffer.from(`${account.clientId}:${account.secrets[0]}`).toString('base64')}`);
  for (const r of eventsRequests(mock)) {
    assert.match(r.headers.authorization ?? '', /^Bearer \S+$/);
    assert.equal(r.headers['x-api-key'], undefined);
  }
  assert.equal(s.lastRun?.requests, 6, 'the token request is counted with the five pages (the fifth finds the end)');
  // JumpCloud expires the token before the next run: its first request is refused, a new token is fetched, the run goes on.
  const changedAt = Date.now();
  mock.expireTokens();
  mock.generateEvents(10, { fromMs: now - 4 * minute, toMs: now - 3 * minute, seed: 32 });
  const s2 = await runSince(h, changedAt);
  assert.equal(s2.lastRun?.outcome, 'success', JSON.stringify(s2.lastError));
  assert.equal(mock.tokensIssued, 2);
  assert.ok(eventsRequests(mock).some((r) => r.status === 401), 'the expired token was refused once');
  assert.equal(new Set(await h.ids()).size, 130);
});

test('two client secrets: the one the token endpoint refuses is passed over for the other, with a warning; the secrets never show', async (t) => {
  const mock = await MockJumpCloud.start({ serviceAccount: account });
  t.after(() => mock.close());
  const now = Date.now();
  mock.generateEvents(20, { fromMs: now - 60 * minute, toMs: now - 5 * minute, seed: 33 });
  const revoked = 'sa-secret-revoked-0123456789';
  const h = await startConnector(server, saEntry(mock, [revoked, account.secrets[1]!]));
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.equal((await h.ids()).length, 20);
  const tokens = mock.requests.filter((r) => r.route === 'token');
  assert.deepEqual(tokens.map((r) => r.status), [401, 200]);
  const logs = JSON.stringify(h.logs());
  assert.match(logs, /refused the first client_secret \(HTTP 401\); the second one is accepted and now in use/);
  assert.doesNotMatch(logs + JSON.stringify(s), new RegExp(`${revoked}|${account.secrets[1]}`));
});

test('every secret refused parks the connector as credentials (both tried); a client without the grant parks it as permissions', async (t) => {
  const mock = await MockJumpCloud.start({ serviceAccount: account });
  t.after(() => mock.close());
  const h = await startConnector(server, saEntry(mock, ['wrong-one-0123456789', 'wrong-two-0123456789']));
  t.after(() => h.stop());
  const s = await h.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'credentials');
  assert.equal(s.lastError?.diagnosis.status, 401);
  assert.match(s.lastError!.diagnosis.cause, /POST \/oauth2\/token, each of its 2 client secrets tried/);
  assert.match(s.lastError!.diagnosis.remedy, /client_id.*client_secret.*token_url/);
  assert.doesNotMatch(JSON.stringify(s) + JSON.stringify(h.logs()), /wrong-(one|two)-0123456789/);

  const denied = await MockJumpCloud.start({ serviceAccount: { ...account, grantDenied: true } });
  t.after(() => denied.close());
  const d = await startConnector(server, saEntry(denied, account.secrets[0]!));
  t.after(() => d.stop());
  const sd = await d.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(sd.lastError?.diagnosis.category, 'permissions');
  assert.match(sd.lastError!.diagnosis.cause, /does not grant them a token/);
});

// --- Every service ------------------------------------------------------------------------------

test('every service of the current spec is accepted and, with stream_per_service, gets its own stream', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const now = Date.now();
  const services = ['notifications', 'reports', 'saas_app_management', 'access_management', 'asset_management', 'alerts', 'object_storage'] as const;
  mock.generateEvents(70, { fromMs: now - 50 * minute, toMs: now - 5 * minute, services, seed: 34 });
  const h = await startConnector(server, entry(mock, { services: [...services], stream_per_service: true }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual((eventsRequests(mock)[0]!.body as { service: string[] }).service, [...services]);
  for (const service of services) {
    const ids = (await readStream(h.redis, `${h.stream}:jumpcloud:${service}`)).map((e) => e.fields.id);
    assert.deepEqual(ids, mock.visibleEvents().filter((e) => e.service === service).map((e) => e.id), service);
    assert.ok(ids.length > 0, service);
  }
  assert.equal(h.logs().filter((l) => /not in JumpCloud's published list/.test(String(l.msg))).length, 0);
});

test('a service name Orchard does not know is sent as written with one warning; one JumpCloud refuses parks the connector naming services', async (t) => {
  const mock = await MockJumpCloud.start({ extraServices: ['device_trust'] });
  t.after(() => mock.close());
  const now = Date.now();
  mock.addEvents([{ timestamp: now - 10 * minute, service: 'device_trust', event_type: 'device_trust_check' }]);
  const h = await startConnector(server, entry(mock, { services: ['directory', 'device_trust'], interval: '1s' }));
  t.after(() => h.stop());
  const s = await h.waitForRuns(2);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual(await h.ids(), [mock.visibleEvents()[0]!.id]);
  const warnings = h.logs().filter((l) => /device_trust is not in JumpCloud's published list/.test(String(l.msg)));
  assert.equal(warnings.length, 1, 'said once, not at every run');

  const strict = await MockJumpCloud.start();
  t.after(() => strict.close());
  const bad = await startConnector(server, entry(strict, { services: ['device_trust'] }));
  t.after(() => bad.stop());
  const sb = await bad.waitFor((st) => st.state === 'parked', 'parked');
  assert.equal(sb.lastError?.diagnosis.category, 'configuration');
  assert.match(sb.lastError!.diagnosis.remedy, /connectors\[acme-jc\]\.services/);
  assert.match(sb.lastError!.diagnosis.cause, /supported values/);
});
