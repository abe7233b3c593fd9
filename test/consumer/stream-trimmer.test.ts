import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamTrimmer, type TrimResult } from '../../src/consumer/index.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { capturingLogger, entryFields, produce, quietLogger } from './consumer-helpers.ts';

const ctx = useTestRedis();

async function readAll(stream: string): Promise<{ count: number; ack: (n: number) => Promise<void> }> {
  const reply = (await ctx.redis.call('XREADGROUP', 'GROUP', 'g', 'reader', 'COUNT', 100_000, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
  const ids = reply[0]![1].map(([id]) => id);
  let acked = 0;
  return {
    count: ids.length,
    ack: async (n) => {
      const batch = ids.slice(acked, acked + n);
      acked += batch.length;
      for (let i = 0; i < batch.length; i += 1000) await ctx.redis.xack(stream, 'g', ...batch.slice(i, i + 1000));
    },
  };
}

async function eventIds(stream: string): Promise<string[]> {
  const entries = (await ctx.redis.xrange(stream, '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => f[f.indexOf('id') + 1]!);
}

describe('StreamTrimmer', () => {
  test('maxLen 100 while producers write 5,000 entries and the group reads nothing: nothing unread is removed, `held` says what was kept', async () => {
    const stream = 'len:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    const statuses: TrimResult[] = [];
    const trimmer = new StreamTrimmer({ redis: ctx.redis, stream, maxLen: 100, intervalMs: 5, logger: quietLogger, onStatus: (s) => statuses.push(s) });
    trimmer.start();
    try {
      for (let i = 0; i < 5000; i += 250) {
        await produce(ctx.redis, stream, 250, { from: i });
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 30));
    } finally {
      await trimmer.stop();
    }
    assert.ok(statuses.length > 3, `the trimmer ran while the producers wrote (${statuses.length} times)`);
    assert.ok(statuses.every((s) => s.trimmed === 0));
    const ids = await eventIds(stream);
    assert.deepEqual(ids, Array.from({ length: 5000 }, (_, i) => `e${i}`), 'every entry is there, in order');

    const once = await trimmer.trimOnce();
    assert.equal(once.reason, 'held_unread');
    assert.equal(once.trimmed, 0);
    assert.equal(once.held, 4900);
    assert.equal(once.heldIsLowerBound, false);
    assert.equal(once.length, 5000);
  });

  test('delivered but unacknowledged entries are kept; acknowledged ones are trimmed, down to maxLen once the group has acknowledged everything', async () => {
    const stream = 'ack:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await produce(ctx.redis, stream, 5000);
    const trimmer = new StreamTrimmer({ redis: ctx.redis, stream, maxLen: 100, logger: quietLogger });

    const read = await readAll(stream);
    assert.equal(read.count, 5000);
    assert.deepEqual(
      { ...(await trimmer.trimOnce()), boundary: undefined, safeBoundary: undefined },
      { reason: 'held_unread', trimmed: 0, held: 4900, heldIsLowerBound: false, length: 5000, boundary: undefined, safeBoundary: undefined, groups: 1 },
      'pending entries are unread until acknowledged',
    );

    await read.ack(2000);
    const partly = await trimmer.trimOnce();
    assert.equal(partly.trimmed, 2000);
    assert.equal(partly.held, 2900);
    assert.equal(partly.length, 3000);
    assert.equal((await eventIds(stream))[0], 'e2000', 'the oldest unacknowledged entry is kept');

    await read.ack(3000);
    const all = await trimmer.trimOnce();
    assert.deepEqual([all.reason, all.trimmed, all.held, all.length], ['ok', 2900, 0, 100]);
    assert.deepEqual(await eventIds(stream), Array.from({ length: 100 }, (_, i) => `e${4900 + i}`));
    assert.equal(trimmer.totalTrimmed, 4900);
    const again = await trimmer.trimOnce();
    assert.deepEqual([again.reason, again.trimmed, again.length], ['nothing_to_trim', 0, 100]);
  });

  test('the slowest group sets the boundary; entries after a group\'s last delivered id are unread for it', async () => {
    const stream = 'two-groups:events';
    await produce(ctx.redis, stream, 300);
    await ctx.redis.xgroup('CREATE', stream, 'fast', '$');
    await ctx.redis.xgroup('CREATE', stream, 'slow', '0');
    const reply = (await ctx.redis.call('XREADGROUP', 'GROUP', 'slow', 'x', 'COUNT', 50, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
    await ctx.redis.xack(stream, 'slow', ...reply[0]![1].map(([id]) => id));
    const result = await new StreamTrimmer({ redis: ctx.redis, stream, maxLen: 10, logger: quietLogger }).trimOnce();
    assert.deepEqual([result.trimmed, result.held, result.length], [50, 240, 250]);
    assert.equal((await eventIds(stream))[0], 'e50');
  });

  test('maxAge: old entries nobody read are kept and counted; once acknowledged they are trimmed', async () => {
    const stream = 'age:events';
    const hourAgo = Date.now() - 3_600_000;
    for (let i = 0; i < 50; i++) await ctx.redis.xadd(stream, `${hourAgo + i}-0`, ...entryFields(`old${i}`));
    await produce(ctx.redis, stream, 50);
    await ctx.redis.xgroup('CREATE', stream, 'g', '0');
    const trimmer = new StreamTrimmer({ redis: ctx.redis, stream, maxAgeMs: 60_000, logger: quietLogger });

    const held = await trimmer.trimOnce();
    assert.deepEqual([held.reason, held.trimmed, held.held, held.heldIsLowerBound, held.length], ['held_unread', 0, 50, false, 100]);
    const capped = await new StreamTrimmer({ redis: ctx.redis, stream, maxAgeMs: 60_000, heldScanLimit: 10, logger: quietLogger }).trimOnce();
    assert.deepEqual([capped.held, capped.heldIsLowerBound], [10, true]);

    const read = await readAll(stream);
    await read.ack(read.count);
    const trimmed = await trimmer.trimOnce();
    assert.deepEqual([trimmed.reason, trimmed.trimmed, trimmed.held, trimmed.length], ['ok', 50, 0, 50]);
    assert.equal((await eventIds(stream))[0], 'e0');
  });

  test('maxLen and maxAge together: an entry goes when either rule says so, and only once read', async () => {
    const stream = 'both:events';
    const hourAgo = Date.now() - 3_600_000;
    for (let i = 0; i < 30; i++) await ctx.redis.xadd(stream, `${hourAgo + i}-0`, ...entryFields(`old${i}`));
    await produce(ctx.redis, stream, 30);
    await ctx.redis.xgroup('CREATE', stream, 'g', '0');
    const read = await readAll(stream);
    await read.ack(read.count);
    const byLen = await new StreamTrimmer({ redis: ctx.redis, stream, maxLen: 10, maxAgeMs: 60_000, logger: quietLogger }).trimOnce();
    assert.deepEqual([byLen.trimmed, byLen.length], [50, 10]);
  });

  test('no consumer group: nothing is trimmed by default, with one warning a minute; trimWithoutGroups applies retention anyway', async () => {
    const stream = 'no-group:events';
    await produce(ctx.redis, stream, 500);
    const { logger, lines } = capturingLogger();
    const trimmer = new StreamTrimmer({ redis: ctx.redis, stream, maxLen: 100, logger });
    const first = await trimmer.trimOnce();
    assert.deepEqual([first.reason, first.trimmed, first.held, first.length, first.groups], ['no_groups', 0, 400, 500, 0]);
    await trimmer.trimOnce();
    assert.equal(lines.filter((l) => l.level === 40).length, 1, 'the warning is rate-limited');
    assert.match(String(lines[0]!.msg), /no consumer group/);
    assert.equal(lines[0]!.held, 400);

    const anyway = await new StreamTrimmer({ redis: ctx.redis, stream, maxLen: 100, trimWithoutGroups: true, logger: quietLogger }).trimOnce();
    assert.deepEqual([anyway.reason, anyway.trimmed, anyway.length], ['ok', 400, 100]);
  });

  test('an empty or missing stream, and no retention configured, trim nothing', async () => {
    assert.equal((await new StreamTrimmer({ redis: ctx.redis, stream: 'missing:events', maxLen: 1 }).trimOnce()).reason, 'empty');
    const disabled = new StreamTrimmer({ redis: ctx.redis, stream: 'missing:events' });
    assert.equal(disabled.enabled, false);
    assert.equal((await disabled.trimOnce()).reason, 'disabled');
    assert.throws(() => new StreamTrimmer({ redis: ctx.redis, stream: 's', maxLen: 0 }), { code: 'ORCHARD_ERR_TRIMMER_OPTIONS' });
  });
});
