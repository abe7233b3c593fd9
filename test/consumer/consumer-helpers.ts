import type { RedisClient } from '../../src/redis/redis-client.ts';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { createRedis, waitUntilReady } from '../../src/redis/create-redis.ts';

export const quietLogger: Logger = pino({ level: 'silent' });

/** The fields of a contract v1 entry whose event id is `id`. */
export function entryFields(id: string, payload: unknown = { n: id }): string[] {
  return [
    'v', '1',
    'id', id,
    'source', 'jamf_pro.events',
    'type', 'ComputerCheckIn',
    'tenant', 'acme',
    'connector', 'webhook',
    'time', '2026-11-01T00:00:00.000Z',
    'received', '2026-11-01T00:00:01.000Z',
    'payload', typeof payload === 'string' ? payload : JSON.stringify(payload),
    'indicators', JSON.stringify({ serial: [`C02${id}`] }),
  ];
}

/** Appends entries with event ids `<prefix><from>` … `<prefix><from + count - 1>`; returns their entry ids. */
export async function produce(redis: RedisClient, stream: string, count: number, options: { from?: number; prefix?: string } = {}): Promise<string[]> {
  const from = options.from ?? 0;
  const prefix = options.prefix ?? 'e';
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(count, start + 500); i++) pipeline.xadd(stream, '*', ...entryFields(`${prefix}${from + i}`));
    const replies = (await pipeline.exec()) ?? [];
    for (const [err, id] of replies) {
      if (err) throw err;
      ids.push(String(id));
    }
  }
  return ids;
}

export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Connections made the way Orchard makes them (no offline queue, reconnect forever), closed by closeAll(). */
export class Connections {
  readonly made: RedisClient[] = [];

  constructor(readonly url: () => string) {}

  make = (): RedisClient => {
    const redis = createRedis(this.url(), quietLogger);
    this.made.push(redis);
    return redis;
  };

  async ready(): Promise<RedisClient> {
    const redis = this.make();
    if (!(await waitUntilReady(redis, 5000))) throw new Error('Redis connection not ready');
    return redis;
  }

  closeAll(): void {
    for (const r of this.made.splice(0)) r.disconnect();
  }
}

/** A pino logger whose lines are kept as objects. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, destination), lines };
}

/** XPENDING summary count of a group. */
export async function pendingCount(redis: RedisClient, stream: string, group: string): Promise<number> {
  const summary = (await redis.call('XPENDING', stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

/** A stream entry's fields as an object. */
export function fieldsOf(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
