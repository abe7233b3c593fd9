import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, afterEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { deadLetterCodes, parseEntry, readGroupLag, StreamConsumer, type DeadLetterReason } from '../../src/consumer/index.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { Connections, entryFields, fieldsOf, pendingCount, produce, quietLogger, until } from './consumer-helpers.ts';

const ctx = useTestRedis();
const connections = new Connections(() => ctx.server.url);
const consumers: StreamConsumer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
  connections.closeAll();
});

/** A consumer on Orchard-style connections, stopped after the test. */
async function consumer(options: Omit<ConstructorParameters<typeof StreamConsumer>[0], 'redis' | 'createBlockingConnection'> & { createBlockingConnection?: () => import('../../src/redis/redis-client.ts').RedisClient }): Promise<StreamConsumer> {
  const c = new StreamConsumer({ redis: await connections.ready(), createBlockingConnection: connections.make, logger: quietLogger, ...options });
  consumers.push(c);
  await c.start();
  return c;
}

describe('parseEntry', () => {
  test('gives the contract v1 fields, with payload and indicators parsed', () => {
    const entry = parseEntry('1700000000000-3', entryFields('abc', { webhook: { id: 7 } }));
    assert.deepEqual(entry, {
      entryId: '1700000000000-3',
      v: '1',
      id: 'abc',
      source: 'jamf_pro.events',
      type: 'ComputerCheckIn',
      tenant: 'acme',
      connector: 'webhook',
      time: '2026-11-01T00:00:00.000Z',
      received: '2026-11-01T00:00:01.000Z',
      payload: { webhook: { id: 7 } },
      indicators: { serial: ['C02abc'] },
    });
  });

  test('a payload that is not JSON stays text; missing fields are empty; unreadable indicators are {}', () => {
    const entry = parseEntry('1-0', ['v', '1', 'id', 'x', 'payload', 'Jan 1 host sshd: accepted', 'indicators', 'not json']);
    assert.equal(entry.payload, 'Jan 1 host sshd: accepted');
    assert.deepEqual(entry.indicators, {});
    assert.equal(entry.source, '');
    assert.equal(entry.tenant, '');
  });
});

describe('StreamConsumer', () => {
  test('a consumer dies with 1,000 entries pending: another consumer claims them and handles each exactly once', async () => {
    const stream = 'dead-consumer:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await produce(ctx.redis, stream, 1000);

    // A reads all 1,000 in one batch, its handler never finishes, then its process "dies":
    // its connections go away and nothing is acknowledged.
    let aReceived = 0;
    let killA: (err: Error) => void = () => {};
    const aHandler = new Promise<void>((_, reject) => (killA = reject));
    const aRedis = await connections.ready();
    const a = new StreamConsumer({
      redis: aRedis,
      createBlockingConnection: connections.make,
      stream,
      group: 'g',
      consumer: 'A',
      count: 1000,
      blockMs: 200,
      janitorIntervalMs: 0,
      logger: quietLogger,
      handler: {
        onBatch: async (entries) => {
          aReceived = entries.length;
          await aHandler;
        },
      },
    });
    await a.start();
    await until('A to receive its batch', () => aReceived === 1000);
    aRedis.disconnect();
    const aStopped = a.stop();
    killA(new Error('A is dead'));
    await aStopped;
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 1000);

    const handled = new Map<string, number>();
    const b = await consumer({
      stream,
      group: 'g',
      consumer: 'B',
      blockMs: 100,
      claimIdleMs: 300,
      janitorIntervalMs: 100,
      handler: { onEntry: (e) => void handled.set(e.id, (handled.get(e.id) ?? 0) + 1) },
    });
    await until('B to acknowledge 1,000 entries', () => b.stats.acknowledged === 1000);
    assert.equal(handled.size, 1000);
    assert.ok([...handled.values()].every((n) => n === 1), 'each entry handled once');
    assert.equal(b.stats.claimed, 1000);
    assert.equal(b.stats.delivered, 1000);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
    assert.equal(a.stats.acknowledged, 0);
  });

  test('a poison entry reaches the dead-letter stream after maxDeliveries, with the reason and its original id', async () => {
    const stream = 'poison:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const [, poisonEntryId] = await Promise.all([
      ctx.redis.xadd(stream, '*', ...entryFields('ok-1')),
      ctx.redis.xadd(stream, '*', ...entryFields('poison', 'not json at all')),
      ctx.redis.xadd(stream, '*', ...entryFields('ok-2')),
    ]);
    const calls = new Map<string, number>();
    const c = await consumer({
      stream,
      group: 'g',
      consumer: 'C',
      blockMs: 100,
      maxDeliveries: 3,
      claimIdleMs: 100,
      janitorIntervalMs: 50,
      handler: {
        onEntry: (e) => {
          calls.set(e.id, (calls.get(e.id) ?? 0) + 1);
          if (e.id === 'poison') throw new Error('cannot map this event');
        },
      },
    });
    await until('the dead letter', async () => (await ctx.redis.xlen(`${stream}:dead`)) === 1);
    await until('the consumer to count it', () => c.stats.deadLettered === 1);

    assert.equal(calls.get('poison'), 3, 'handled maxDeliveries times, then dead-lettered');
    assert.equal(calls.get('ok-1'), 1);
    assert.equal(calls.get('ok-2'), 1);
    const [[, flat]] = (await ctx.redis.xrange(`${stream}:dead`, '-', '+')) as [string, string[]][];
    const fields = fieldsOf(flat!);
    assert.equal(flat![0], 'v', 'the dead-letter header comes first');
    assert.equal(fields.v, '1');
    assert.equal(fields.original_id, poisonEntryId);
    assert.equal(fields.stream, stream);
    assert.equal(fields.id, 'poison');
    assert.equal(fields.payload, 'not json at all');
    assert.equal(fields.source, 'jamf_pro.events');
    const reason = JSON.parse(fields.reason!) as DeadLetterReason;
    assert.equal(reason.code, deadLetterCodes.maxDeliveries);
    assert.equal(reason.deliveries, 3);
    assert.equal(reason.group, 'g');
    assert.equal(reason.consumer, 'C');
    assert.match(reason.message, /cannot map this event/);
    assert.equal(flat!.filter((_, i) => i % 2 === 0 && flat![i] === 'v').length, 1, 'one v field');

    assert.equal(await ctx.redis.hget(`${stream}:dead:counts`, 'g'), '1');
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
    assert.deepEqual({ ...c.stats, claimed: undefined }, { delivered: 5, acknowledged: 2, failed: 3, deadLettered: 1, deletedWhilePending: 0, claimed: undefined });

    const [lag] = await readGroupLag(ctx.redis, stream);
    assert.equal(lag!.deadLettered, 1);
    assert.equal(lag!.pending, 0);
    assert.equal(lag!.lag, 0);
  });

  test('onBatch: a failed batch stays pending; re-deliveries come one entry at a time, so only the poison entry is dead-lettered', async () => {
    const stream = 'batch:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await produce(ctx.redis, stream, 10);
    const batches: string[][] = [];
    const c = await consumer({
      stream,
      group: 'g',
      consumer: 'C',
      blockMs: 100,
      maxDeliveries: 2,
      claimIdleMs: 100,
      janitorIntervalMs: 50,
      handler: {
        onBatch: (entries) => {
          batches.push(entries.map((e) => e.id));
          if (entries.some((e) => e.id === 'e4')) throw new Error('e4 is poison');
        },
      },
    });
    await until('the poison entry to be dead-lettered', () => c.stats.deadLettered === 1);
    assert.deepEqual(batches[0], Array.from({ length: 10 }, (_, i) => `e${i}`), 'first delivery: the whole batch');
    assert.ok(batches.slice(1).every((b) => b.length === 1), 're-deliveries one at a time');
    assert.equal(c.stats.acknowledged, 9);
    const [[, flat]] = (await ctx.redis.xrange(`${stream}:dead`, '-', '+')) as [string, string[]][];
    assert.equal(fieldsOf(flat!).id, 'e4');
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
  });

  test('entries deleted while pending in its own PEL are acknowledged and counted, never handed to the handler', async () => {
    const stream = 'deleted-own:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const ids = await produce(ctx.redis, stream, 5);
    await ctx.redis.call('XREADGROUP', 'GROUP', 'g', 'D', 'COUNT', 5, 'STREAMS', stream, '>');
    await ctx.redis.xdel(stream, ids[1]!, ids[3]!);

    const handled: string[] = [];
    const c = await consumer({ stream, group: 'g', consumer: 'D', blockMs: 100, janitorIntervalMs: 0, handler: { onEntry: (e) => void handled.push(e.id) } });
    await until('the PEL to be drained', () => c.stats.acknowledged === 3);
    assert.deepEqual(handled, ['e0', 'e2', 'e4']);
    assert.equal(c.stats.deletedWhilePending, 2);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
  });

  test('entries deleted while pending for a dead consumer are counted by the janitor, never handed to the handler', async () => {
    const stream = 'deleted-claimed:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const ids = await produce(ctx.redis, stream, 5);
    await ctx.redis.call('XREADGROUP', 'GROUP', 'g', 'gone', 'COUNT', 5, 'STREAMS', stream, '>');
    await ctx.redis.xdel(stream, ids[0]!, ids[4]!);

    const handled: string[] = [];
    const c = await consumer({ stream, group: 'g', consumer: 'E', blockMs: 100, claimIdleMs: 50, janitorIntervalMs: 50, handler: { onEntry: (e) => void handled.push(e.id) } });
    await until('the claimed entries to be handled', () => c.stats.acknowledged === 3 && c.stats.deletedWhilePending === 2);
    assert.deepEqual(handled, ['e1', 'e2', 'e3']);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
  });

  test('on start it re-delivers its own pending entries first, then reads new ones; stop() lets the handler in flight finish and acknowledges it', async () => {
    const stream = 'restart:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await produce(ctx.redis, stream, 3);
    await ctx.redis.call('XREADGROUP', 'GROUP', 'g', 'R', 'COUNT', 2, 'STREAMS', stream, '>');

    const order: string[] = [];
    let release: () => void = () => {};
    const slow = new Promise<void>((r) => (release = r));
    const c = await consumer({
      stream,
      group: 'g',
      consumer: 'R',
      count: 1,
      blockMs: 100,
      janitorIntervalMs: 0,
      handler: {
        onEntry: async (e) => {
          order.push(e.id);
          if (e.id === 'e2') await slow;
        },
      },
    });
    await until('the third entry to be in the handler', () => order.length === 3);
    const stopped = c.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.stats.acknowledged, 2, 'stop() waits for the handler in flight');
    release();
    await stopped;
    assert.deepEqual(order, ['e0', 'e1', 'e2']);
    assert.equal(c.stats.acknowledged, 3);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
  });

  test('without `from`, a new group starts at the oldest retained entry: the backlog is read, and groupCreated says what there was', async () => {
    const stream = 'oldest-default:events';
    await produce(ctx.redis, stream, 3);
    const seen: string[] = [];
    const c = await consumer({ stream, group: 'backlog', consumer: 'O', blockMs: 100, janitorIntervalMs: 0, handler: { onEntry: (e) => void seen.push(e.id) } });
    await until('the backlog', () => seen.length === 3);
    assert.deepEqual(seen, ['e0', 'e1', 'e2']);
    assert.deepEqual(c.groupCreated, { from: '0', entriesToRead: 3 });
    await c.stop();
  });

  test('the group is created from `from` when missing, and an existing group is used as it is', async () => {
    const stream = 'from:events';
    await produce(ctx.redis, stream, 2);
    const seen: string[] = [];
    const c = await consumer({ stream, group: 'new-only', consumer: 'F', from: '$', blockMs: 100, janitorIntervalMs: 0, handler: { onEntry: (e) => void seen.push(e.id) } });
    await produce(ctx.redis, stream, 1, { from: 2 });
    await until('the new entry', () => seen.length === 1);
    assert.deepEqual(seen, ['e2']);
    await c.stop();
    const again = await consumer({ stream, group: 'new-only', consumer: 'F', from: '0', blockMs: 100, janitorIntervalMs: 0, handler: { onEntry: (e) => void seen.push(e.id) } });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, ['e2'], 'BUSYGROUP: the existing group keeps its position');
    assert.equal(again.stats.delivered, 0);
  });

  describe('a blocking read whose connection goes silent (half-open TCP)', () => {
    // A TCP proxy to Redis whose existing connections can be frozen: bytes stop flowing both ways,
    // no FIN, no RST — what a dead network path looks like to the client.
    let proxy: Server;
    const sockets: Socket[] = [];
    let frozen = new Set<Socket>();
    after(() => {
      for (const s of sockets) s.destroy();
      proxy?.close();
    });

    test('the watchdog abandons it, makes a new connection, and the entry served to the lost read is handled', async () => {
      proxy = createServer((client) => {
        const redisSocket = connect(ctx.server.port, '127.0.0.1');
        sockets.push(client, redisSocket);
        client.on('data', (d) => frozen.has(client) || redisSocket.write(d));
        redisSocket.on('data', (d) => frozen.has(client) || client.write(d));
        client.on('error', () => {});
        redisSocket.on('error', () => {});
        client.on('close', () => redisSocket.destroy());
        redisSocket.on('close', () => client.destroy());
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
      const proxyUrl = `redis://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const viaProxy = new Connections(() => proxyUrl);
      const stream = 'watchdog:events';
      await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      const handled: string[] = [];
      let made = 0;
      const c = await consumer({
        stream,
        group: 'g',
        consumer: 'W',
        blockMs: 300,
        watchdogMarginMs: 300,
        janitorIntervalMs: 0,
        createBlockingConnection: () => {
          made += 1;
          return viaProxy.make();
        },
        handler: { onEntry: (e) => void handled.push(e.id) },
      });
      try {
        await produce(ctx.redis, stream, 1);
        await until('the first entry', () => handled.length === 1);
        // Freeze while the next blocking read waits at Redis (not while it is on its way there).
        await until('a blocking read waiting at Redis', async () => /\bflags=b\b.*\bcmd=xreadgroup\b/.test(String(await ctx.redis.call('CLIENT', 'LIST'))));
        frozen = new Set(sockets);
        // Redis serves this entry to the read in flight; the reply never arrives.
        await produce(ctx.redis, stream, 1, { from: 1 });
        await until('the entry served to the lost read', () => handled.length === 2);
        assert.deepEqual(handled, ['e0', 'e1']);
        // The entry may be handled (read again from the group's pending list) just before the next
        // blocking read asks for its new connection.
        await until('a new blocking connection', () => made >= 2);
        await produce(ctx.redis, stream, 1, { from: 2 });
        await until('reading on the new connection', () => handled.length === 3);
        assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
      } finally {
        await c.stop();
        viaProxy.closeAll();
      }
    });
  });
});

describe('readGroupLag', () => {
  test('per group: pending, lag, last delivered id, oldest pending age, dead-lettered', async () => {
    const stream = 'lag:events';
    const ids = await produce(ctx.redis, stream, 10);
    await ctx.redis.xgroup('CREATE', stream, 'behind', '0');
    await ctx.redis.xgroup('CREATE', stream, 'caught-up', '$');
    await ctx.redis.call('XREADGROUP', 'GROUP', 'behind', 'x', 'COUNT', 4, 'STREAMS', stream, '>');
    await ctx.redis.xack(stream, 'behind', ids[0]!, ids[1]!);
    await ctx.redis.hset(`${stream}:dead:counts`, 'behind', '2');

    const lags = await readGroupLag(ctx.redis, stream);
    const behind = lags.find((l) => l.group === 'behind')!;
    assert.equal(behind.consumers, 1);
    assert.equal(behind.pending, 2);
    assert.equal(behind.lag, 6);
    assert.equal(behind.lagIsLowerBound, false);
    assert.equal(behind.lastDeliveredId, ids[3]);
    assert.equal(behind.oldestPendingId, ids[2]);
    assert.ok(behind.oldestPendingAgeMs !== null && behind.oldestPendingAgeMs >= 0 && behind.oldestPendingAgeMs < 60_000);
    assert.equal(behind.deadLettered, 2);
    const caughtUp = lags.find((l) => l.group === 'caught-up')!;
    assert.deepEqual({ ...caughtUp }, { group: 'caught-up', consumers: 0, pending: 0, lag: 0, lagIsLowerBound: false, lastDeliveredId: ids[9], oldestPendingId: null, oldestPendingAgeMs: null, deadLettered: 0 });
  });

  test('when Redis cannot tell the lag (an entry deleted in the unread range) it is counted', async () => {
    const stream = 'lag-deleted:events';
    const ids = await produce(ctx.redis, stream, 10);
    await ctx.redis.xgroup('CREATE', stream, 'g', '0');
    await ctx.redis.call('XREADGROUP', 'GROUP', 'g', 'x', 'COUNT', 3, 'STREAMS', stream, '>');
    await ctx.redis.xdel(stream, ids[6]!);
    const info = (await ctx.redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
    assert.equal(info[0]![info[0]!.indexOf('lag') + 1], null, 'Redis reports no lag here');
    const [lag] = await readGroupLag(ctx.redis, stream);
    assert.equal(lag!.lag, 6);
    const [capped] = await readGroupLag(ctx.redis, stream, `${stream}:dead`, { lagScanLimit: 4 });
    assert.equal(capped!.lag, 4);
    assert.equal(capped!.lagIsLowerBound, true);
  });

  test('a stream that does not exist, or has no group, has no lag to report', async () => {
    assert.deepEqual(await readGroupLag(ctx.redis, 'nothing-here'), []);
    await produce(ctx.redis, 'no-groups:events', 1);
    assert.deepEqual(await readGroupLag(ctx.redis, 'no-groups:events'), []);
  });
});

describe('StreamConsumer on RESP3 connections', () => {
  test('a caller\'s own connections speaking RESP3 (ioredis 6\'s default): pending entries, then new ones, each handled once', async (t) => {
    const stream = 'resp3:events';
    const made: Redis[] = [];
    const resp3 = () => {
      const redis = new Redis(ctx.server.url, { protocol: 3 });
      made.push(redis);
      return redis;
    };
    t.after(() => {
      for (const redis of made) redis.disconnect();
    });
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await produce(ctx.redis, stream, 3);
    // Two entries delivered to consumer c and never acknowledged: its pending list.
    await ctx.redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', 2, 'STREAMS', stream, '>');
    const handled: string[] = [];
    const c = new StreamConsumer({
      redis: resp3(),
      createBlockingConnection: resp3,
      stream,
      group: 'g',
      consumer: 'c',
      blockMs: 100,
      logger: quietLogger,
      handler: { onEntry: (e) => void handled.push(e.id) },
    });
    consumers.push(c);
    await c.start();
    await until('the pending and the unread entries handled', () => handled.length === 3);
    await produce(ctx.redis, stream, 1, { from: 3 });
    await until('the entry added while it blocks handled', () => handled.length === 4);
    assert.equal(String(await made[0]!.call('CLIENT', 'INFO')).match(/resp=(\d)/)?.[1], '3', 'the connection speaks RESP3');
    assert.deepEqual(handled, ['e0', 'e1', 'e2', 'e3']);
    await until('every entry acknowledged', async () => (await pendingCount(ctx.redis, stream, 'g')) === 0);
  });
});
