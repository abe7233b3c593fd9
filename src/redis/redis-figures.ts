import type { RedisFigures } from '../metrics.ts';
import { isCluster, SlotRoutedCommand, type RedisClient } from './redis-client.ts';
import { recentResult } from '../recent-result.ts';
import { withTimeout } from './with-timeout.ts';

/** `maxmemory` and `used_memory` from the text of INFO memory (https://redis.io/docs/latest/commands/info/). */
export function memoryFromInfo(info: string): { usedMemoryBytes?: number; maxMemoryBytes?: number } {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:(\\d+)\\r?$`, 'm').exec(info);
    return m ? Number(m[1]) : undefined;
  };
  return { usedMemoryBytes: field('used_memory'), maxMemoryBytes: field('maxmemory') };
}

/**
 * What the Redis gauges of /metrics show: each stream's length (XLEN, O(1)) and INFO memory, in one
 * round trip, at most once per `cacheMs` however often Prometheus scrapes, and given up after
 * `timeoutMs` so a scrape never waits on a stalled Redis. A Redis that refuses INFO (an ACL without
 * it) still gives the lengths. On a Redis Cluster each XLEN goes to its key's primary and INFO memory to
 * the primary of the first stream (the one that grows), as separate commands: a Cluster pipeline must
 * keep to one slot.
 */
export function redisFiguresReader(redis: RedisClient, streams: readonly string[], options: { cacheMs?: number; timeoutMs?: number } = {}): () => Promise<RedisFigures> {
  const cacheMs = options.cacheMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 2000;
  const readEach = async (): Promise<RedisFigures> => {
    const info = redis.sendCommand(new SlotRoutedCommand('info', ['memory'], streams[0]!, { replyEncoding: 'utf8' })) as Promise<string>;
    const lengths = await Promise.all(streams.map(async (stream) => ({ stream, length: Number(await redis.xlen(stream)) })));
    const memory = await info.then(memoryFromInfo, () => ({}));
    return { streams: lengths, ...memory };
  };
  const read = async (): Promise<RedisFigures> => {
    if (isCluster(redis)) return readEach();
    const pipeline = redis.pipeline();
    for (const stream of streams) pipeline.xlen(stream);
    pipeline.info('memory');
    const replies = (await pipeline.exec()) ?? [];
    const lengths = streams.map((stream, i) => {
      const [err, length] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      return { stream, length: Number(length) };
    });
    const [infoErr, info] = replies[streams.length] ?? [new Error('no reply')];
    return { streams: lengths, ...(infoErr ? {} : memoryFromInfo(String(info))) };
  };
  return recentResult(cacheMs, () => withTimeout(read(), timeoutMs, 'Redis did not answer XLEN and INFO memory in time.'));
}
