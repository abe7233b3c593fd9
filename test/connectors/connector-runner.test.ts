import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { startConnector } from '../helpers/connector-harness.ts';
import { TestRedis, useTestRedis } from '../helpers/redis-server.ts';
import { SinkUnavailableError } from '../../src/errors.ts';
import type { PageSink } from '../../src/sink/event-sink.ts';
import type { RedisPageSink } from '../../src/sink/redis-page-sink.ts';

import { MockJamfPro, type MockJamfProOptions } from '../mocks/jamf-pro-server.ts';

const shared = useTestRedis();

async function mockOf(t: TestContext, options: MockJamfProOptions): Promise<MockJamfPro> {
  const mock = await MockJamfPro.start(options);
  t.after(() => mock.close());
  return mock;
}

const entry = (mock: MockJamfPro, extra: Record<string, unknown> = {}) => ({
  name: 'inv',
  type: 'jamf_pro.inventory',
  base_url: mock.url,
  client_id: 'orchard-test-client',
  client_secret: 'orchard-test-secret',
  interval: '1h',
  ...extra,
});

test('the first run starts at once; the next one an interval after the previous ended; runs never overlap', async (t) => {
  const mock = await mockOf(t, { computers: 30, latencyMs: 20 });
  const started = Date.now();
  const h = await startConnector(shared.server, entry(mock, { interval: '300ms', page_size: 10 }));
  t.after(() => h.stop());
  await h.waitForRuns(3);
  await h.stop();
  const firstPage = mock.requests.find((r) => r.route === 'inventory')!;
  assert.ok(firstPage.at - started < 2000, 'first run at once');
  // Page 0 requests mark run starts; each starts ≥ 300 ms after the previous run's last page.
  const inventory = mock.requests.filter((r) => r.route === 'inventory');
  const runStarts = inventory.map((r, i) => ({ r, i })).filter(({ r }) => r.query.page?.[0] === '0');
  assert.ok(runStarts.length >= 3);
  for (let k = 1; k < runStarts.length; k++) {
    const previousEnd = inventory[runStarts[k]!.i - 1]!;
    assert.ok(runStarts[k]!.r.at - previousEnd.at >= 280, `gap ${runStarts[k]!.r.at - previousEnd.at} ms`);
  }
  assert.ok(mock.maxConcurrentRequests <= 2, 'one page fetched ahead at most: runs do not overlap');
  const metrics = await h.metrics.registry.metrics();
  // Each computer once, and each finished scan's snapshot marker.
  const scans = Number(/orchard_connector_runs_total\{connector="inv",outcome="success"\} (\d+)/.exec(metrics)?.[1]);
  assert.match(metrics, new RegExp(`orchard_connector_events_total\\{connector="inv",result="appended"\\} ${30 + scans}\n`));
  assert.match(metrics, /orchard_connector_events_total\{connector="inv",result="duplicate"\} [1-9]\d*\n/);
  assert.match(metrics, /orchard_connector_runs_total\{connector="inv",outcome="success"\} [3-9]\n/);
  assert.match(metrics, /orchard_connector_requests_total\{connector="inv",status="200"\} \d+\n/);
  assert.match(metrics, /orchard_connector_pages_total\{connector="inv"\} \d+\n/);
  assert.match(metrics, /orchard_connector_state\{connector="inv",state="stopped"\} 1\n/);
  assert.match(metrics, /orchard_connector_last_success_timestamp_seconds\{connector="inv"\} \d/);
});

test('changing start in the configuration resets the checkpoint on the next start', async (t) => {
  const mock = await mockOf(t, { computers: 20 });
  const stream = `s${Math.random().toString(36).slice(2, 8)}:events`;
  const first = await startConnector(shared.server, entry(mock), { stream });
  t.after(() => first.stop());
  await first.waitForRuns(1);
  await first.stop();
  assert.equal((await first.ids('computer')).length, 20);
  // Same start: the connector waits for its interval. New start: it reloads at once.
  const second = await startConnector(shared.server, entry(mock, { start: '2000-01-01T00:00:00Z' }), { stream });
  t.after(() => second.stop());
  await second.waitForRuns(1);
  assert.ok(second.logs().some((l) => l.msg === "The connector's start changed in the configuration: its checkpoint is reset."));
  assert.equal((await second.ids('computer')).length, 40, 'the whole fleet again, once');
  const stored = await new ConnectorStateStore(shared.redis, stream).read('inv');
  assert.equal(stored.checkpoint?.start, '2000-01-01T00:00:00Z');
});

test('a replica that lost its lease writes nothing and stands by', async (t) => {
  const mock = await mockOf(t, { computers: 400, latencyMs: 15 });
  const h = await startConnector(shared.server, entry(mock, { page_size: 10 }), { leaseTtlMs: 60_000 });
  t.after(() => h.stop());
  const keys = h.state.keys('inv');
  await h.waitFor((s) => (s.lastRun?.pages ?? 0) >= 3, 'three pages');
  // Another replica took the lease (this one was paused past its expiry, say).
  await shared.redis.set(keys.lease, 'other-host:1 token', 'PX', 60_000);
  const s = await h.waitFor((x) => x.state === 'standby', 'standby');
  const written = (await h.ids('computer')).length;
  const seq = (await new ConnectorStateStore(shared.redis, h.stream).read('inv')).seq;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await h.ids('computer')).length, written, 'nothing written after the lease was lost');
  assert.equal((await new ConnectorStateStore(shared.redis, h.stream).read('inv')).seq, seq);
  assert.equal(s.leaseHeld, false);
  assert.ok(h.logs().some((l) => /lease/.test(String(l.msg))));
  // The other replica's lease is left alone on shutdown.
  await h.stop();
  assert.equal(await shared.redis.get(keys.lease), 'other-host:1 token');
});

test('shutdown in the middle of a run finishes the page being written, keeps the progress and releases the lease', async (t) => {
  const mock = await mockOf(t, { computers: 1000, latencyMs: 10 });
  const h = await startConnector(shared.server, entry(mock, { page_size: 10 }));
  t.after(() => h.stop());
  const keys = h.state.keys('inv');
  await h.waitFor((s) => (s.lastRun?.pages ?? 0) >= 5, 'five pages');
  await h.stop();
  const s = h.status();
  assert.equal(s.state, 'stopped');
  assert.equal(s.lastRun?.outcome, 'interrupted');
  const stored = await new ConnectorStateStore(shared.redis, h.stream).read('inv');
  assert.equal(stored.checkpoint?.runOpen, true);
  assert.equal((await h.ids('computer')).length, stored.versions);
  assert.equal((await h.ids('computer')).length, (stored.checkpoint?.cursor as { page: number }).page * 10);
  assert.equal(await shared.redis.exists(keys.lease), 0);
  assert.ok(h.logs().some((l) => l.msg === 'Run interrupted by shutdown; the checkpoint keeps its progress.'));
  // The next start goes on from there at once and ends with the whole fleet, once.
  const again = await startConnector(shared.server, entry(mock, { page_size: 10 }), { stream: h.stream });
  t.after(() => again.stop());
  await again.waitForRuns(1);
  const ids = await again.ids('computer');
  assert.equal(ids.length, 1000);
  assert.equal(new Set(ids).size, 1000);
});

test('an operator reset that lands between two page writes of a run is honoured, and no page is skipped', async (t) => {
  // The reset reaches Redis after page 1's write and before page 2's (as when it arrives while page 2
  // is fetched). Page 2's write is fenced out, the run starts again from the reset checkpoint, and no
  // later write may take the reset's place. (Sending a page's write before the previous one is
  // confirmed broke this: a reset raises the sequence by one, like a page.)
  const mock = await mockOf(t, { computers: 50 });
  const outcomes: string[] = [];
  const h = await startConnector(shared.server, entry(mock, { page_size: 10 }), {
    wrapSink: (sink: RedisPageSink, state: ConnectorStateStore): PageSink => ({
      async appendPage(records, commit) {
        if (outcomes.length === 1) await state.reset({ name: 'inv', type: 'jamf_pro.inventory', start: undefined });
        const result = await sink.appendPage(records, commit);
        outcomes.push(result.outcome);
        return result;
      },
    }),
  });
  t.after(() => h.stop());
  await h.waitFor((s) => s.lastRun?.outcome === 'success', 'a successful run');
  assert.equal(outcomes[1], 'stale', 'the write after the reset is fenced out');
  const computers = new Set((await h.ids('computer')).map((id) => id.split(':')[0]));
  assert.equal(computers.size, 50, 'every computer is in the stream: no page was skipped');
});

test('a run whose last write landed but was not confirmed by the replicas runs again after its backoff, not an interval later', async (t) => {
  // As after a failover: Redis takes the last page's write, then WAIT (redis_wait_replicas) times out,
  // so the run fails although its checkpoint says it ended. It must not stand as the last run for an
  // hour (interval 1h); the write is not taken for an operator's reset either.
  const mock = await mockOf(t, { computers: 20 });
  let failedOnce = false;
  const h = await startConnector(shared.server, entry(mock, { page_size: 10 }), {
    retryBaseDelayMs: 200,
    wrapSink: (sink: RedisPageSink): PageSink => ({
      async appendPage(records, commit) {
        const result = await sink.appendPage(records, commit);
        if (!failedOnce && JSON.parse(commit.checkpoint).runOpen === false) {
          failedOnce = true;
          throw new SinkUnavailableError('Only 0 of 1 Redis replicas acknowledged within 500 ms (redis_wait_replicas).');
        }
        return result;
      },
    }),
  });
  t.after(() => h.stop());
  const failed = await h.waitForRuns(1);
  assert.equal(failed.lastRun?.outcome, 'failed');
  assert.equal((await h.state.read('inv')).checkpoint?.runOpen, false, 'the failed run\'s last write is in the checkpoint');
  const s = await h.waitForRuns(2, 20_000);
  assert.equal(s.lastRun?.outcome, 'success');
  assert.equal(s.lastError, null);
  assert.equal(s.state, 'idle');
  assert.ok(!h.logs().some((l) => l.msg === 'The checkpoint was reset: running again now.'), 'its own write is not taken for a reset');
  const computers = (await h.ids('computer')).map((id) => id.split(':')[0]);
  assert.equal(new Set(computers).size, 20);
  assert.equal(computers.length, 20, 'each computer once');
});

test('`orchard checkpoint reset` from another client during a multi-page run is honoured and skips nothing', async (t) => {
  const mock = await mockOf(t, { computers: 200, latencyMs: 30 });
  const h = await startConnector(shared.server, entry(mock, { page_size: 10 }));
  t.after(() => h.stop());
  await h.waitFor((s) => (s.lastRun?.pages ?? 0) >= 3, 'three pages');
  await new ConnectorStateStore(shared.redis, h.stream).reset(h.config.connectors[0]!);
  await h.waitFor((s) => s.lastRun?.outcome === 'success', 'a successful run', 30_000);
  const computers = new Set((await h.ids('computer')).map((id) => id.split(':')[0]));
  assert.equal(computers.size, 200, 'every computer is in the stream: the checkpoint never moved past a page that was not written');
});

test('Redis unavailable during a run: the run fails as retryable (shared.redis) and completes once Redis is back', async (t) => {
  const mock = await mockOf(t, { computers: 300, latencyMs: 10 });
  const own = await TestRedis.start();
  t.after(() => own.stop());
  const h = await startConnector(own, entry(mock, { page_size: 10 }), { leaseTtlMs: 30_000 });
  t.after(() => h.stop());
  await h.waitFor((s) => (s.lastRun?.pages ?? 0) >= 3, 'three pages');
  own.pause();
  await h.waitFor((s) => s.lastError?.diagnosis.category === 'redis', 'a shared.redis diagnosis', 30_000);
  own.resume();
  const s = await h.waitFor((x) => x.lastRun?.outcome === 'success', 'a successful run', 30_000);
  assert.equal(s.lastError, null);
  const ids = await h.ids('computer');
  assert.equal(ids.length, 300);
  assert.equal(new Set(ids).size, 300);
});

test('a checkpoint reset while the connector waits for its next run starts the run at once', async (t) => {
  const mock = await mockOf(t, { computers: 25 });
  const h = await startConnector(shared.server, entry(mock));
  t.after(() => h.stop());
  await h.waitForRuns(1);
  assert.equal(h.status().state, 'idle');
  await h.state.reset(h.config.connectors[0]!);
  // The waiting connector reads its checkpoint every 2 s; the interval is an hour.
  const s = await h.waitForRuns(2, 30_000);
  assert.equal(s.lastRun?.appended, 26, 'the whole fleet again after a reset, and the scan\'s snapshot marker');
  // /status reads the checkpoint again as the run ends, but gives up after a second (a slow Redis must
  // not hold the run up): on a loaded machine the versions it shows may come with the next read.
  await h.waitFor((x) => x.checkpoint?.versions === 25, 'the status to show the 25 versions remembered again');
});
