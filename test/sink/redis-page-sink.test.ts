import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { Keyspace } from '../../src/redis/keyspace.ts';
import type { PageRecord } from '../../src/sink/event-sink.ts';
import { RedisPageSink } from '../../src/sink/redis-page-sink.ts';
import { readStream } from '../helpers/test-app.ts';
import { useTestRedis } from '../helpers/redis-server.ts';

const shared = useTestRedis();

function setup() {
  const unique = `p${Math.random().toString(36).slice(2, 10)}`;
  const stream = `${unique}:events`;
  const sink = new RedisPageSink({ redis: shared.redis, stream, dedupWindowSeconds: 60, appendTimeoutMs: 1000 });
  const keys = new Keyspace(stream).connector('inv');
  const state = new ConnectorStateStore(shared.redis, stream);
  return { stream, sink, keys, state };
}

function computer(id: string, version: string, append = true): PageRecord {
  return {
    record: { id: `${id}:${version}`, source: 'jamf_pro.inventory', type: 'computer', tenant: '', connector: 'inv', time: '2026-01-01T00:00:00.000Z', received: '2026-01-01T00:00:00.000Z', payload: `{"id":"${id}"}`, indicators: '{}' },
    versionField: id,
    versionValue: version,
    append,
  };
}

test('a page and its checkpoint land together; the keys share the stream\'s hash slot', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  assert.ok(keys.checkpoint.startsWith(`{${stream}}:`) && keys.lease.startsWith(`{${stream}}:`) && keys.versions.startsWith(`{${stream}}:`));
  const result = await sink.appendPage([computer('1', 'a'), computer('2', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{"page":1}' });
  assert.deepEqual(result, { outcome: 'ok', appended: 2, duplicates: 0 });
  assert.equal((await readStream(shared.redis, stream)).length, 2);
  assert.deepEqual(await shared.redis.hgetall(keys.checkpoint), { seq: '1', writer: 'w1', data: '{"page":1}', result: '2 0' });
  assert.deepEqual(await shared.redis.hgetall(keys.versions), { '1': 'a', '2': 'a' });
});

test('a version already stored is a duplicate; a changed one is appended', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  await sink.appendPage([computer('1', 'a'), computer('2', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  const second = await sink.appendPage([computer('1', 'a'), computer('2', 'b')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}' });
  assert.deepEqual(second, { outcome: 'ok', appended: 1, duplicates: 1 });
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['1:a', '2:a', '2:b']);
});

test('append: false remembers the version without appending', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  const result = await sink.appendPage([computer('1', 'old', false)], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  assert.deepEqual(result, { outcome: 'ok', appended: 0, duplicates: 0 });
  assert.equal((await readStream(shared.redis, stream)).length, 0);
  assert.equal(await shared.redis.hget(keys.versions, '1'), 'old');
});

test('without the lease nothing is written', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'someone-else');
  const result = await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  assert.deepEqual(result, { outcome: 'lease_lost' });
  assert.equal(await shared.redis.exists(stream, keys.checkpoint, keys.versions), 0);
});

test('a page computed from an older checkpoint is refused (stale); the same write sent again answers its first result', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  // ioredis re-sending the same call after a lost reply: same writer, same expected sequence.
  const resent = await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  assert.deepEqual(resent, { outcome: 'ok', appended: 1, duplicates: 0 });
  // Another writer computed from sequence 0: refused.
  const stale = await sink.appendPage([computer('2', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w2', checkpoint: '{}' });
  assert.deepEqual(stale, { outcome: 'stale', seq: 1 });
  assert.equal((await readStream(shared.redis, stream)).length, 1);
});

test('reset forgets the versions and moves the sequence on, so a run in flight is refused', async () => {
  const { sink, keys, state } = setup();
  await shared.redis.set(keys.lease, 'me');
  await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{"page":3}' });
  const reset = await state.reset({ name: 'inv', type: 'jamf_pro.inventory', start: undefined }, '2026-01-02T00:00:00.000Z');
  assert.equal(await shared.redis.hget(keys.checkpoint, 'seq'), '2');
  assert.equal(await shared.redis.exists(keys.versions), 0);
  assert.deepEqual(JSON.parse((await shared.redis.hget(keys.checkpoint, 'data'))!), reset);
  assert.equal(reset.cursor, null);
  assert.equal(reset.since, '2026-01-02T00:00:00.000Z');
  const late = await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}' });
  assert.equal(late.outcome, 'stale');
});

test('an empty page still moves the checkpoint', async () => {
  const { sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  assert.deepEqual(await sink.appendPage([], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{"done":true}' }), { outcome: 'ok', appended: 0, duplicates: 0 });
  assert.equal(await shared.redis.hget(keys.checkpoint, 'data'), '{"done":true}');
});

test('records routed to their own streams land there, in the same step as the rest of the page', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  const event = (id: string, service?: string): PageRecord => ({
    record: { id, source: 'jumpcloud.directory_insights', type: `${service ?? 'directory'}/x`, tenant: '', connector: 'di', time: '2026-01-01T00:00:00.000Z', received: '2026-01-01T00:00:00.000Z', payload: '{}', indicators: '{}' },
    ...(service ? { stream: `${stream}:jumpcloud:${service}` } : {}),
  });
  const result = await sink.appendPage([event('a', 'sso'), event('b'), event('c', 'mdm'), event('d', 'sso')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  assert.deepEqual(result, { outcome: 'ok', appended: 4, duplicates: 0 });
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['b']);
  assert.deepEqual((await readStream(shared.redis, `${stream}:jumpcloud:sso`)).map((e) => e.fields.id), ['a', 'd']);
  assert.deepEqual((await readStream(shared.redis, `${stream}:jumpcloud:mdm`)).map((e) => e.fields.id), ['c']);
  assert.equal((await readStream(shared.redis, `${stream}:jumpcloud:mdm`))[0]!.fields.v, '1');
});

test('a page of plain events (the uniform script) lands field for field as the general script writes it, and is fenced the same way', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  const event = (id: string, payload: string | Buffer, received = '2026-01-01T00:00:01.000Z'): PageRecord => ({
    record: { id, source: 'jumpcloud.directory_insights', type: 'sso/login', tenant: 'acme', connector: 'di', time: '2026-01-01T00:00:00.123Z', received, payload, indicators: '{"ip":["10.0.0.1"]}' },
  });
  const payloads = ['{"a":"é – 日本語 🍎"}', '', Buffer.from('{"raw":"\u0000\r\n$3\r\n"}'), 'x'.repeat(100_000)];
  // Every record shares source, tenant, connector and received: the uniform script.
  const uniform = await sink.appendPage(payloads.map((p, i) => event(`u${i}`, p)), { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{"n":1}' });
  assert.deepEqual(uniform, { outcome: 'ok', appended: 4, duplicates: 0 });
  // One record received at another time: the general script.
  const mixed = [...payloads.map((p, i) => event(`u${i}`, p)), event('other', '{}', '2026-01-01T00:00:02.000Z')];
  const general = await sink.appendPage(mixed, { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{"n":2}' });
  assert.deepEqual(general, { outcome: 'ok', appended: 5, duplicates: 0 });
  const entries = (await readStream(shared.redis, stream)).map((e) => e.fields);
  assert.equal(entries.length, 9);
  assert.deepEqual(entries.slice(0, 4), entries.slice(4, 8));
  assert.deepEqual(entries[0], { v: '1', ...event('u0', payloads[0] as string).record });
  assert.equal(entries[2]!.payload, '{"raw":"\u0000\r\n$3\r\n"}');
  assert.equal(entries[3]!.payload.length, 100_000);
  assert.deepEqual(await shared.redis.hgetall(keys.checkpoint), { seq: '2', writer: 'w2', data: '{"n":2}', result: '5 0' });

  // The same fence: a resend answers its first result, an older sequence is stale, another lease writes nothing.
  const page = [event('z', '{}')];
  assert.deepEqual(await sink.appendPage(page, { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}' }), { outcome: 'ok', appended: 5, duplicates: 0 });
  assert.deepEqual(await sink.appendPage(page, { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w3', checkpoint: '{}' }), { outcome: 'stale', seq: 2 });
  await shared.redis.set(keys.lease, 'someone-else');
  assert.deepEqual(await sink.appendPage(page, { keys, leaseToken: 'me', expectedSeq: 2, writer: 'w4', checkpoint: '{}' }), { outcome: 'lease_lost' });
  assert.equal((await readStream(shared.redis, stream)).length, 9);
});

test('a page written after Redis forgot its scripts (SCRIPT FLUSH, a restart) loads them again and lands once', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  const event = (id: string): PageRecord => ({
    record: { id, source: 'jumpcloud.directory_insights', type: 'sso/login', tenant: '', connector: 'di', time: '2026-01-01T00:00:00.000Z', received: '2026-01-01T00:00:00.000Z', payload: '{}', indicators: '{}' },
  });
  await sink.appendPage([event('a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  await shared.redis.script('FLUSH');
  assert.deepEqual(await sink.appendPage([event('b'), event('c')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}' }), { outcome: 'ok', appended: 2, duplicates: 0 });
  await shared.redis.script('FLUSH');
  assert.deepEqual(await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 2, writer: 'w3', checkpoint: '{}' }), { outcome: 'ok', appended: 1, duplicates: 0 });
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['a', 'b', 'c', '1:a']);
});

test('a page that names a tally counts pages, received, appended and duplicates in the same step; a resent write counts once; a reset forgets them', async () => {
  const { sink, keys, state } = setup();
  await shared.redis.set(keys.lease, 'me');
  const event = (id: string): PageRecord => ({ record: { id, source: 'jumpcloud.directory_insights', type: 'sso/sso_auth', tenant: 'a', connector: 'inv', time: '2026-01-01T00:00:00.000Z', received: '2026-01-01T00:00:00.000Z', payload: '{}', indicators: '{}' } });
  // The uniform script (events only) and the page script (versions) both count.
  await sink.appendPage([event('e1'), event('e2')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}', tally: { name: 'org:a', received: 3, dropped: 1 } });
  const commit = { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}', tally: { name: 'org:b', received: 2, dropped: 0 } };
  await sink.appendPage([computer('1', 'a'), computer('1', 'a')], commit);
  assert.deepEqual((await sink.appendPage([computer('1', 'a')], commit)).outcome, 'ok', 'the same write resent answers its first result');
  await sink.appendPage([computer('2', 'a')], { keys, leaseToken: 'me', expectedSeq: 2, writer: 'w3', checkpoint: '{}' });
  const stored = await state.read('inv');
  assert.deepEqual(stored.tallies, {
    'org:a': { pages: 1, received: 3, appended: 2, duplicates: 1 },
    'org:b': { pages: 1, received: 2, appended: 1, duplicates: 1 },
  });
  await state.reset({ name: 'inv', type: 'jumpcloud.system_users', start: undefined });
  const after = await state.read('inv');
  assert.deepEqual(after.tallies, {});
  assert.equal(after.seq, 4, 'the reset still raises the sequence');
});

test('pruning with a prefix forgets only that prefix\'s stale versions', async () => {
  const { sink, keys, state } = setup();
  await shared.redis.set(keys.lease, 'me');
  const stamped = (field: string, stamp: number, seq: number) =>
    sink.appendPage([{ ...computer(field, 'v'), versionField: field }], { keys, leaseToken: 'me', expectedSeq: seq, writer: `w${seq}`, checkpoint: '{}', stamp });
  await stamped('org[1]:u1', 1, 0);
  await stamped('org[2]:u1', 1, 1);
  await stamped('org[1]:u2', 5, 2);
  assert.equal(await state.pruneVersions('inv', 3, 'org[1]:'), 1);
  assert.deepEqual(Object.keys(await shared.redis.hgetall(keys.versions)).sort(), ['org[1]:u2', 'org[2]:u1']);
});

test('a computer whose version is stored already goes to Redis as its version alone (not its report); the page lands as if sent whole', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  const big = (id: string, version: string): PageRecord => {
    const c = computer(id, version);
    return { ...c, record: { ...c.record, payload: `{"id":"${id}","report":"${'x'.repeat(50_000)}"}` } };
  };
  const first = await sink.appendPage([big('1', 'a'), big('2', 'a'), big('3', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}', stamp: 1 });
  assert.deepEqual(first, { outcome: 'ok', appended: 3, duplicates: 0 });
  const inputBytes = async () => Number(/total_net_input_bytes:(\d+)/.exec(await shared.redis.info('stats'))![1]);
  const before = await inputBytes();
  // 1 unchanged (sent as its version), 3 changed and 4 new (sent whole).
  const second = await sink.appendPage([big('1', 'a'), big('3', 'b'), big('4', 'a')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}', stamp: 2 });
  const sent = (await inputBytes()) - before;
  assert.deepEqual(second, { outcome: 'ok', appended: 2, duplicates: 1 });
  assert.ok(sent > 100_000 && sent < 150_000, `two reports of 50 KB sent, not three: ${sent} bytes`);
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['1:a', '2:a', '3:a', '3:b', '4:a']);
  assert.deepEqual(await shared.redis.hgetall(keys.versions), { '1': 'a|2', '2': 'a|1', '3': 'b|2', '4': 'a|2' }, 'the unchanged one carries the new scan stamp');
  // One computer twice in a page is sent whole both times: it may change within the page.
  const twice = await sink.appendPage([big('2', 'a'), big('2', 'b')], { keys, leaseToken: 'me', expectedSeq: 2, writer: 'w3', checkpoint: '{}', stamp: 3 });
  assert.deepEqual(twice, { outcome: 'ok', appended: 1, duplicates: 1 });
  assert.equal(await shared.redis.hget(keys.versions, '2'), 'b|3');
});

test('a stored version that changed between the read and the write (not by this writer) makes the page stale, with nothing written', async () => {
  const { stream, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  await shared.redis.hset(keys.versions, '1', 'a|1');
  // A connection whose HMGET is followed, before the page script runs, by a change of the stored version.
  const meddling = new Proxy(shared.redis, {
    get(target, name) {
      if (name === 'hmget') return async (...args: Parameters<typeof target.hmget>) => {
        const read = await target.hmget(...args);
        await target.hset(keys.versions, '1', 'z|1');
        return read;
      };
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const sink = new RedisPageSink({ redis: meddling, stream, dedupWindowSeconds: 60, appendTimeoutMs: 1000 });
  const result = await sink.appendPage([computer('2', 'a'), computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}', stamp: 2 });
  assert.deepEqual(result, { outcome: 'stale', seq: 0 });
  assert.equal(await shared.redis.exists(stream, keys.checkpoint), 0, 'neither the new computer nor the checkpoint was written');
  assert.deepEqual(await shared.redis.hgetall(keys.versions), { '1': 'z|1' });
});

test('the record of a computer whose version is stored already is never read (an inventory builds it only when read)', async () => {
  const { stream, sink, keys } = setup();
  await shared.redis.set(keys.lease, 'me');
  await sink.appendPage([computer('1', 'a')], { keys, leaseToken: 'me', expectedSeq: 0, writer: 'w1', checkpoint: '{}' });
  const unreadable: PageRecord = {
    get record(): never {
      throw new Error('read the record of an unchanged computer');
    },
    versionField: '1',
    versionValue: 'a',
  };
  const result = await sink.appendPage([unreadable, computer('2', 'a')], { keys, leaseToken: 'me', expectedSeq: 1, writer: 'w2', checkpoint: '{}' });
  assert.deepEqual(result, { outcome: 'ok', appended: 1, duplicates: 1 });
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['1:a', '2:a']);
});
