import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { Keyspace } from '../../src/redis/keyspace.ts';
import type { PageRecord } from '../../src/sink/event-sink.ts';
import { RedisPageSink } from '../../src/sink/redis-page-sink.ts';
import { readStream } from '../helpers/test-app.ts';
import { useTestRedis } from '../helpers/redis-server.ts';

// What the page scripts do for completeness (docs/completeness.md), in the page's one step: window
// tallies (ids per closed window, counted once), removal records (only while the version they name is
// remembered), and the inventory reports that advanced ('w').

const shared = useTestRedis();

function setup() {
  const stream = `q${Math.random().toString(36).slice(2, 10)}:events`;
  const sink = new RedisPageSink({ redis: shared.redis, stream, dedupWindowSeconds: 60, appendTimeoutMs: 1000 });
  const keys = new Keyspace(stream).connector('c');
  const windows = new ConnectorStateStore(shared.redis, stream).windows();
  return { stream, sink, keys, windows };
}

const event = (id: string): PageRecord => ({ record: { id, source: 'jumpcloud.directory_insights', type: 'sso/sso_auth', tenant: '', connector: 'c', time: '2026-01-01T00:10:00.000Z', received: '2026-01-01T01:00:00.000Z', payload: '{}', indicators: '{}' } });
const computer = (id: string, version: string, extra: Partial<PageRecord> = {}): PageRecord => ({
  record: { id: `${id}:${version}`, source: 'jamf_pro.inventory', type: 'computer', tenant: '', connector: 'c', time: '2026-01-01T00:00:00.000Z', received: '2026-01-01T00:00:00.000Z', payload: '{}', indicators: '{}' },
  versionField: id,
  versionValue: version,
  ...extra,
});

test('window tallies: the ids counted in their window with the page, each once; a page re-sent counts nothing again', async () => {
  const { sink, keys, windows } = setup();
  await shared.redis.set(keys.lease, 'me');
  const start = '2026-01-01T00:00:00.000Z';
  const commitOf = (ids: string[], from?: string) => windows.commitFor('c', { ...(from ? { countedFrom: { org: '', at: from } } : {}), groups: [{ org: '', service: 'all', start, end: '2026-01-01T01:00:00.000Z', ids }] });
  const page = (ids: string[], seq: number, writer: string, from?: string) => sink.appendPage(ids.map(event), { keys, leaseToken: 'me', expectedSeq: seq, writer, checkpoint: '{}', windows: commitOf(ids, from) });
  assert.equal((await page(['a', 'b', 'c'], 0, 'w1', start)).outcome, 'ok');
  assert.equal((await page(['a', 'b', 'c'], 0, 'w1', start)).outcome, 'ok', 'ioredis re-sent it: answered "done"');
  await page(['c', 'd'], 1, 'w2');
  const field = `|all|${start}|2026-01-01T01:00:00.000Z`;
  assert.deepEqual(await shared.redis.hgetall(keys.windowCounts), { [field]: '4', 'from|': start }, 'a, b, c, d: c once');
  assert.deepEqual((await shared.redis.smembers(keys.windowIds(field))).sort(), ['a', 'b', 'c', 'd']);
  assert.ok((await shared.redis.ttl(keys.windowIds(field))) > 24 * 3600, 'the id set expires, days later');
  // A page without events still says where counting began (uniform and general scripts alike).
  const empty = windows.commitFor('c', { countedFrom: { org: 'org-x', at: start }, groups: [] });
  await sink.appendPage([], { keys, leaseToken: 'me', expectedSeq: 2, writer: 'w3', checkpoint: '{}', windows: empty });
  assert.equal(await shared.redis.hget(keys.windowCounts, 'from|org-x'), start);
});

test('a removal record is appended only while its version is the one remembered, which it forgets in the same step', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  await sink.appendPage([computer('1', 'v1'), computer('2', 'v1')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}', stamp: 1 });
  const removal = (id: string, stored: string): PageRecord => ({ ...computer(id, stored), record: { ...computer(id, stored).record, id: `removed:${id}`, type: 'removed' }, removal: true });
  const result = await sink.appendPage([removal('1', 'v1|1'), removal('2', 'v0|1')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}', stamp: 3 });
  assert.deepEqual(result, { outcome: 'ok', appended: 1, duplicates: 0 });
  assert.deepEqual(await shared.redis.hgetall(keys.versions), { '2': 'v1|1' }, 'computer 2 had another version: kept');
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['1:v1', '2:v1', 'removed:1']);
});

test('records naming their device report the fields whose remembered version was older', async () => {
  const { sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  const device = { serial: 'S', reportMs: 2 };
  const first = await sink.appendPage([computer('1', '100', { device }), computer('2', '100', { device })], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}', stamp: 1 });
  assert.equal(first.outcome === 'ok' && first.advanced, undefined, 'the first sight is only a baseline');
  const second = await sink.appendPage([computer('1', '200', { device }), computer('2', '100', { device }), computer('3', '100', { device }), computer('4', '5')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}', stamp: 2 });
  assert.ok(second.outcome === 'ok');
  assert.deepEqual(second.advanced, [['1', '100']]);
  assert.equal(second.appended, 3);
});
