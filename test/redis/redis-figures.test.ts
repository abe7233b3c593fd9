import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryFromInfo, redisFiguresReader } from '../../src/redis/redis-figures.ts';
import { useTestRedis } from '../helpers/redis-server.ts';

const ctx = useTestRedis();

test('the reader gives each stream\'s length and Redis memory in one read, 0 for a stream not yet made', async () => {
  const { redis } = ctx;
  await redis.xadd('figures:events', '*', 'v', '1');
  await redis.xadd('figures:events', '*', 'v', '1');
  await redis.xadd('figures:rejected', '*', 'v', '1');
  await redis.config('SET', 'maxmemory', String(256 * 1024 * 1024));
  const read = redisFiguresReader(redis, ['figures:events', 'figures:rejected', 'figures:events:dead'], { cacheMs: 0 });
  const figures = await read();
  assert.deepEqual(figures.streams, [
    { stream: 'figures:events', length: 2 },
    { stream: 'figures:rejected', length: 1 },
    { stream: 'figures:events:dead', length: 0 },
  ]);
  assert.equal(figures.maxMemoryBytes, 256 * 1024 * 1024);
  assert.ok(figures.usedMemoryBytes! > 100_000, `used_memory ${figures.usedMemoryBytes}`);
  await redis.config('SET', 'maxmemory', '0');
  assert.equal((await read()).maxMemoryBytes, 0);
});

test('within the cache time the reader answers from its last read; after it, it reads again', async () => {
  const { redis } = ctx;
  const read = redisFiguresReader(redis, ['figures:cached'], { cacheMs: 60_000 });
  assert.equal((await read()).streams[0]!.length, 0);
  await redis.xadd('figures:cached', '*', 'v', '1');
  assert.equal((await read()).streams[0]!.length, 0, 'a scrape storm costs Redis one read per cache time');
  const fresh = redisFiguresReader(redis, ['figures:cached'], { cacheMs: 0 });
  assert.equal((await fresh()).streams[0]!.length, 1);
});

test('a stalled Redis makes the read fail within its timeout instead of holding the scrape', async () => {
  const { server, redis } = ctx;
  const read = redisFiguresReader(redis, ['figures:events'], { cacheMs: 0, timeoutMs: 300 });
  server.pause();
  try {
    await assert.rejects(read(), /did not answer XLEN and INFO memory in time/);
  } finally {
    server.resume();
  }
});

test('INFO memory\'s text is read by field name, whatever else it holds', () => {
  const info = '# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n';
  assert.deepEqual(memoryFromInfo(info), { usedMemoryBytes: 1048576, maxMemoryBytes: 0 });
  assert.deepEqual(memoryFromInfo('# Memory\r\n'), { usedMemoryBytes: undefined, maxMemoryBytes: undefined });
});
