import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RedisClient } from '../../src/redis/redis-client.ts';
import { createLogger } from '../../src/logger.ts';
import { Metrics } from '../../src/metrics.ts';
import { createRedis } from '../../src/redis/create-redis.ts';
import { hashTagOf, Keyspace } from '../../src/redis/keyspace.ts';
import { appendScript } from '../../src/redis/scripts/append-script.ts';
import { RedisStreamSink } from '../../src/sink/redis-stream-sink.ts';
import { recordFields, type StreamRecord } from '../../src/stream/stream-record.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { captureLogs, waitForReady } from '../helpers/test-app.ts';

let server: TestRedis;
let redis: RedisClient;
before(async () => {
  server = await TestRedis.start();
  redis = createRedis(server.url, createLogger({ level: 'warn', secretHeader: 'x', destination: captureLogs().destination }));
  await waitForReady(redis);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

let n = 0;
function record(payloadBytes = 100): StreamRecord {
  n += 1;
  return {
    id: `id-${n}`,
    source: 'jamf_pro.events',
    type: 'Test',
    tenant: '',
    connector: 'webhook',
    time: '2026-01-01T00:00:00.000Z',
    received: '2026-01-01T00:00:00.000Z',
    payload: 'x'.repeat(payloadBytes),
    indicators: '{}',
  };
}

describe('RedisStreamSink', () => {
  test('hash tags: dedup keys share the stream key\'s slot', () => {
    assert.equal(hashTagOf('orchard:events'), '{orchard:events}');
    assert.equal(hashTagOf('{orchard}:events'), '{orchard}');
    assert.equal(hashTagOf('a{b}c{d}'), '{b}');
    assert.equal(hashTagOf('x{}y'), '{x{}y}');
  });

  test('memory stays bounded while Redis is frozen: past the bound appends fail at once, until Redis answers', async () => {
    const stream = `bound-${Date.now()}`;
    const sink = new RedisStreamSink({ redis, stream, rejectedStream: `${stream}:r`, dedupWindowSeconds: 60, appendTimeoutMs: 200, maxPendingBytes: 10_000, logger: createLogger({ level: 'warn', secretHeader: 'x', destination: captureLogs().destination }) });
    server.pause();
    let resumed = false;
    try {
      const first = await Promise.allSettled(Array.from({ length: 40 }, () => sink.append(record(1000))));
      const accepted = first.filter((r) => r.status === 'rejected' && /did not acknowledge/.test(String(r.reason))).length;
      const refused = first.filter((r) => r.status === 'rejected' && /not keeping up/.test(String(r.reason))).length;
      assert.equal(accepted, 10, 'ten 1000-byte payloads fit in 10,000 bytes');
      assert.equal(refused, 30);
      assert.equal(sink.pendingRecords, 10, 'timed-out appends stay counted while Redis holds them');
      const later = await sink.append(record(1000)).catch((e: Error) => e.message);
      assert.match(String(later), /not keeping up/);
      server.resume();
      resumed = true;
      for (let i = 0; i < 100 && sink.pendingRecords > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(sink.pendingRecords, 0);
      assert.equal((await sink.append(record(1000))).duplicate, false);
      assert.equal(await redis.xlen(stream), 11, 'the ten answered 503 were still appended (harmless: each has its dedup key)');
    } finally {
      if (!resumed) server.resume();
    }
  });

  test('a batch sent again (ioredis resends after a lost reply) counts as appended; another batch as a duplicate', async () => {
    const stream = `nonce-${Date.now()}`;
    const dedupKey = `${hashTagOf(stream)}:dedup:jamf_pro.events:same`;
    const r = { ...record(), id: 'same' };
    const args = (nonce: string) => [2, stream, dedupKey, 60, nonce, 1, ...recordFields.map((f) => r[f]), ''];
    const first = (await redis.eval(appendScript.text, ...(args('aaaa') as [number, ...string[]]))) as [string, number];
    const resent = (await redis.eval(appendScript.text, ...(args('aaaa') as [number, ...string[]]))) as [string, number];
    const other = (await redis.eval(appendScript.text, ...(args('bbbb') as [number, ...string[]]))) as [string, number];
    assert.equal(first[1], 1);
    assert.deepEqual(resent, [first[0], 1]);
    assert.deepEqual(other, [first[0], 0]);
    assert.equal(await redis.xlen(stream), 1);
  });

  test('a dedup mark written without a nonce (older format) still counts as a duplicate', async () => {
    const stream = `old-${Date.now()}`;
    const sink = new RedisStreamSink({ redis, stream, rejectedStream: `${stream}:r`, dedupWindowSeconds: 60, appendTimeoutMs: 1000 });
    const r = record();
    await redis.set(sink.dedupKey(r.source, r.id), '1-0', 'EX', 60);
    assert.deepEqual(await sink.append(r), { id: r.id, entry: '1-0', duplicate: true });
  });

  test('a turn of 40 appends goes to Redis in script calls of at most 16 records, each answered with its own entry', async () => {
    const stream = `chunks-${Date.now()}`;
    const metrics = new Metrics({ defaultMetrics: false });
    const sink = new RedisStreamSink({ redis, stream, rejectedStream: `${stream}:r`, dedupWindowSeconds: 60, appendTimeoutMs: 5000, metrics });
    const records = Array.from({ length: 40 }, () => record());
    const results = await Promise.all(records.map((r) => sink.append(r)));
    const text = await metrics.registry.metrics();
    assert.match(text, /^orchard_append_batch_size_count 3$/m, 'three calls: 16, 16 and 8');
    assert.match(text, /^orchard_append_batch_size_bucket\{le="8"\} 1$/m);
    assert.match(text, /^orchard_append_batch_size_bucket\{le="16"\} 3$/m);
    const rows = await redis.xrange(stream, '-', '+');
    assert.deepEqual(rows.map(([entry]) => entry), results.map((r) => r.entry), 'in order, each answer its own entry');
    assert.deepEqual(rows.map(([, fields]) => fields[fields.indexOf('id') + 1]), records.map((r) => r.id));
  });
});

describe('device sightings (the missed-webhook check)', () => {
  test('a record with a device leaves its serial and udid in its tenant\'s device hash, in the append\'s step; the later time wins; a duplicate leaves nothing', async () => {
    const stream = `{s${Date.now()}}:events`;
    const sink = new RedisStreamSink({ redis, stream, rejectedStream: `${stream}:r`, dedupWindowSeconds: 60, appendTimeoutMs: 1000 });
    const keyspace = new Keyspace(stream);
    const acme = keyspace.webhookDevices('acme');
    const other = keyspace.webhookDevices('other');
    assert.notEqual(acme, other);
    assert.ok(acme.startsWith(hashTagOf(stream)), 'it shares the stream\'s hash slot');
    const results = await Promise.all([
      sink.append({ ...record(), tenant: 'acme', device: { serial: 'C02X', udid: 'U-1', atMs: 2000 } }),
      sink.append({ ...record(), tenant: 'acme', device: { serial: 'C02X', atMs: 1000 } }),
      sink.append({ ...record(), tenant: 'other', device: { udid: 'U-9', atMs: 5000 } }),
      sink.append({ ...record(), tenant: 'acme' }),
      sink.append({ ...record(), tenant: 'acme', device: { serial: 'bad|serial', udid: 'U-2', atMs: 3000 } }),
    ]);
    assert.ok(results.every((r) => !r.duplicate));
    assert.deepEqual(await redis.hgetall(acme), { 'serial:C02X': '2000', 'udid:U-1': '2000', 'udid:U-2': '3000' }, 'one batch, two tenants; a serial holding the separator is left out');
    assert.deepEqual(await redis.hgetall(other), { 'udid:U-9': '5000' });
    const again = { ...record(), tenant: 'acme', device: { serial: 'C02Y', atMs: 9000 } };
    await sink.append(again);
    await sink.append({ ...again, device: { serial: 'C02Z', atMs: 9000 } });
    assert.equal(await redis.hget(acme, 'serial:C02Z'), null, 'a duplicate appends nothing and sights nothing');
    assert.equal(await redis.xlen(stream), 6);
  });
});
