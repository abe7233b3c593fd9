import { Command, type Cluster, type Redis } from 'ioredis';

// Orchard's connection to Redis is one of two ioredis clients: `Redis` (one Redis, or the primary that
// Redis Sentinel names) or `Cluster` (a Redis Cluster: each command goes to the primary of its key's
// hash slot). Both speak the same commands; what differs is where a command without a key goes (a
// Cluster sends it to any node) and where a script is cached (on each node). This module holds what
// Orchard needs to do about that: commands routed by a key they do not carry (WAIT after a write, the
// pre-encoded EVALSHA of a page) and a script loaded where it will run.

export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis.isCluster;
}

/** The hash slot of a key, as ioredis computes it (CRC16 of the key or of its {hash tag}, mod 16384). */
export function slotOf(key: string): number {
  return new Command('get', [key]).getSlot()!;
}

/**
 * A command that goes to the primary of `routeKey`'s slot on a Cluster, whatever its own arguments
 * hold (WAIT has no key; the pre-encoded EVALSHA carries its keys in a buffer ioredis does not read).
 * On a single Redis the slot is ignored.
 */
export class SlotRoutedCommand extends Command {
  readonly #slot: number;

  constructor(name: string, args: (string | number | Buffer)[], routeKey: string, options?: ConstructorParameters<typeof Command>[2]) {
    super(name, args, options);
    this.#slot = slotOf(routeKey);
  }

  override getSlot(): number {
    return this.#slot;
  }
}

/**
 * `WAIT replicas timeoutMs` on the connection that carried the writes to `routeKey`: on a Cluster, the
 * primary of its slot (a WAIT sent anywhere else would count another node's replicas).
 * https://redis.io/docs/latest/commands/wait/
 */
export function waitReplicas(redis: RedisClient, routeKey: string, replicas: number, timeoutMs: number): Promise<number> {
  if (!isCluster(redis)) return redis.wait(replicas, timeoutMs);
  return redis.sendCommand(new SlotRoutedCommand('wait', [replicas, timeoutMs], routeKey)) as Promise<number>;
}

/** SCRIPT LOAD where the script will run: the one Redis, or every primary of a Cluster (a failover may move any slot). */
export async function loadScript(redis: RedisClient, text: string): Promise<void> {
  if (!isCluster(redis)) {
    await redis.script('LOAD', text);
    return;
  }
  await Promise.all(redis.nodes('master').map((node) => node.script('LOAD', text)));
}

/**
 * Redis Cluster's answer to a command or script whose keys are in different hash slots. A single
 * Redis never gives it; Orchard builds every key of a stream with the stream's hash tag, so it means
 * a setting names keys with different tags (ORCHARD_REJECTED_STREAM, a consumer's dead-letter stream).
 */
export function isCrossSlot(err: unknown): boolean {
  return /^CROSSSLOT|CROSSSLOT Keys/.test((err as Error)?.message ?? '');
}
