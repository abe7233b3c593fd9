import assert from 'node:assert/strict';
import type { RedisClient } from '../../src/redis/redis-client.ts';
import { after, test } from 'node:test';
import { StreamConsumer } from '../../src/consumer/index.ts';
import { waitUntilReady } from '../../src/redis/create-redis.ts';
import type { TestRedis } from '../helpers/redis-server.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { capturingLogger, Connections, entryFields, pendingCount, until } from './consumer-helpers.ts';

const ctx = useTestRedis({ appendonly: true });
const connections = new Connections(() => ctx.server.url);
after(() => connections.closeAll());

/**
 * Appends `total` entries, each retried until Redis acknowledges it, SIGKILLing Redis and restarting
 * it on its AOF after `killAt` of them. Returns the event ids Redis acknowledged. (A retry after a
 * lost reply may append an entry twice: the consumer then sees that event id twice, which
 * at-least-once allows.)
 */
async function produceThroughRestart(producer: RedisClient, server: TestRedis, stream: string, total: number, killAt: number): Promise<Set<string>> {
  const produced = new Set<string>();
  let outage: Promise<void> | undefined;
  for (let n = 0; n < total; n++) {
    if (n === killAt) {
      outage = server
        .kill()
        .then(() => new Promise((r) => setTimeout(r, 300)))
        .then(() => server.restart());
    }
    for (;;) {
      try {
        await producer.xadd(stream, '*', ...entryFields(`e${n}`));
        produced.add(`e${n}`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  await outage;
  return produced;
}

test('Redis SIGKILLed and restarted on its AOF during consumption: every entry produced is handled and acknowledged, the consumer never stops', { timeout: 60_000 }, async () => {
  const stream = 'restart:events';
  ctx.redis.on('error', () => {}); // the assertion client sees the outage too
  await ctx.redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  const handled = new Map<string, number>();
  const { logger, lines } = capturingLogger();
  const consumer = new StreamConsumer({
    redis: await connections.ready(),
    createBlockingConnection: connections.make,
    stream,
    group: 'g',
    consumer: 'survivor',
    count: 50,
    blockMs: 200,
    claimIdleMs: 1000,
    janitorIntervalMs: 500,
    commandTimeoutMs: 2000,
    logger,
    handler: {
      onEntry: async (e) => {
        handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
      },
    },
  });
  await consumer.start();
  try {
    const producer = await connections.ready();
    const produced = await produceThroughRestart(producer, ctx.server, stream, 1500, 500);
    assert.equal(produced.size, 1500);
    await waitUntilReady(ctx.redis, 5000);

    await until('every produced entry to be handled', () => [...produced].every((id) => handled.has(id)), 20_000);
    await until('nothing pending', async () => (await pendingCount(ctx.redis, stream, 'g')) === 0, 10_000);
    assert.ok(consumer.stats.acknowledged >= produced.size, `acknowledged ${consumer.stats.acknowledged}`);
    assert.ok(lines.some((l) => /retrying with backoff/.test(String(l.msg))), 'the outage was logged');
    assert.equal(lines.filter((l) => Number(l.level) >= 50).length, 0, 'no error-level line');

    // Still consuming after the outage.
    await producer.xadd(stream, '*', ...entryFields('after'));
    await until('an entry appended after the outage', () => handled.has('after'));
  } finally {
    await consumer.stop();
  }
});
