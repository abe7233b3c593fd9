import type { Logger } from 'pino';
import { hostname } from 'node:os';
import { ConsumerOptionsError } from '../errors.ts';
import { isCluster, slotOf, type RedisClient } from '../redis/redis-client.ts';
import { deadLetterCountsKey, defaultDeadLetterStream, hashTagOf } from '../redis/keyspace.ts';
import type { StreamEntryHandler } from './stream-entry.ts';

// What a StreamConsumer (stream-consumer.ts) is given, its defaults, and what it counts.

export interface StreamConsumerOptions {
  /** Used for every non-blocking command (PEL reads, XACK, XAUTOCLAIM, XPENDING, scripts). */
  readonly redis: RedisClient;
  /**
   * Makes the dedicated connection for XREADGROUP … BLOCK. Called again whenever the watchdog drops
   * one. The consumer disconnects the connections it made. Do not set ioredis's `blockingTimeout` on
   * it: that answers a timed-out read with null, which looks like "no entries".
   */
  readonly createBlockingConnection: () => RedisClient;
  /** Default `orchard:events`. */
  readonly stream?: string;
  readonly group: string;
  /** Default `<hostname>-<pid>`. */
  readonly consumer?: string;
  /**
   * Where a group created by this consumer starts: `0` the oldest retained entry (the default, as
   * Redpanda Connect's `start_from_oldest: true`: a security consumer must not skip the backlog), `$`
   * only entries appended from then on, or an entry id. A group that exists keeps its position.
   */
  readonly from?: string;
  /** Entries per read. Default 100. */
  readonly count?: number;
  /** How long a read waits for new entries. Default 5000; 0 reads without blocking. */
  readonly blockMs?: number;
  readonly handler: StreamEntryHandler;
  /** Deliveries after which an entry goes to the dead-letter stream. Default 5. */
  readonly maxDeliveries?: number;
  /** Default `<stream>:dead`. With Redis Cluster it must share the stream's hash tag (`{orchard}:events:dead`). */
  readonly deadLetterStream?: string;
  /** A pending entry idle this long is claimed by the janitor (its consumer is taken for dead). Default 60000. */
  readonly claimIdleMs?: number;
  /** Time between janitor runs. Default 30000; 0 turns the janitor off. */
  readonly janitorIntervalMs?: number;
  /** A non-blocking command unanswered this long counts as failed (and is retried). Default 10000. */
  readonly commandTimeoutMs?: number;
  /** Added to blockMs before the watchdog abandons a blocking read. Default max(1000, blockMs / 2). */
  readonly watchdogMarginMs?: number;
  /** Stop once this many entries were handled and acknowledged. */
  readonly limit?: number;
  /** Stop when a read of new entries finds none (after the PEL and the janitor had nothing left). */
  readonly stopWhenIdle?: boolean;
  readonly logger?: Logger;
  /** Aborting it stops the consumer as stop() does. */
  readonly signal?: AbortSignal;
}

export interface StreamConsumerStats {
  /** Entries given to the handler (an entry delivered twice counts twice). */
  readonly delivered: number;
  readonly acknowledged: number;
  /** Entries whose handler threw (they stay pending). */
  readonly failed: number;
  readonly deadLettered: number;
  /** Entries found deleted while pending: acknowledged, not handled. */
  readonly deletedWhilePending: number;
  /** Entries taken over by the janitor (from dead consumers, or this one's failed entries). */
  readonly claimed: number;
}

/** The options with their defaults, checked. */
export interface ResolvedConsumerOptions {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly from: string;
  readonly count: number;
  readonly blockMs: number;
  readonly maxDeliveries: number;
  readonly deadLetterStream: string;
  readonly claimIdleMs: number;
  readonly janitorIntervalMs: number;
  readonly commandTimeoutMs: number;
  readonly watchdogMarginMs: number;
  readonly limit: number;
  readonly stopWhenIdle: boolean;
}

/** The options with their defaults; throws ConsumerOptionsError naming every option out of range. */
export function resolveConsumerOptions(options: StreamConsumerOptions): ResolvedConsumerOptions {
  const stream = options.stream ?? 'orchard:events';
  const blockMs = options.blockMs ?? 5000;
  const o: ResolvedConsumerOptions = {
    stream,
    group: options.group,
    consumer: options.consumer ?? `${hostname()}-${process.pid}`,
    from: options.from ?? '0',
    count: options.count ?? 100,
    blockMs,
    maxDeliveries: options.maxDeliveries ?? 5,
    deadLetterStream: options.deadLetterStream ?? defaultDeadLetterStream(stream),
    claimIdleMs: options.claimIdleMs ?? 60_000,
    janitorIntervalMs: options.janitorIntervalMs ?? 30_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
    watchdogMarginMs: options.watchdogMarginMs ?? Math.max(1000, blockMs / 2),
    limit: options.limit ?? Number.POSITIVE_INFINITY,
    stopWhenIdle: options.stopWhenIdle ?? false,
  };
  const problems: string[] = [];
  if (!o.group) problems.push('group is empty');
  if (!o.consumer) problems.push('consumer is empty');
  if (!/^(\$|0|\d+(-\d+)?)$/.test(o.from)) problems.push(`from "${o.from}" is not $, 0 or an entry id`);
  for (const [name, value, min] of [
    ['count', o.count, 1],
    ['blockMs', o.blockMs, 0],
    ['maxDeliveries', o.maxDeliveries, 1],
    ['claimIdleMs', o.claimIdleMs, 1],
    ['janitorIntervalMs', o.janitorIntervalMs, 0],
    ['commandTimeoutMs', o.commandTimeoutMs, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min) problems.push(`${name} must be a whole number ≥ ${min} (got ${value})`);
  }
  if (o.limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(o.limit) || o.limit < 1)) problems.push(`limit must be a whole number ≥ 1 (got ${o.limit})`);
  // The dead-letter script moves an entry from the stream to the dead letters in one step: on a Redis
  // Cluster both (and the counts hash beside them) must be in one hash slot.
  if (isCluster(options.redis) && [o.deadLetterStream, deadLetterCountsKey(o.deadLetterStream)].some((key) => slotOf(key) !== slotOf(o.stream))) {
    problems.push(`deadLetterStream "${o.deadLetterStream}" is not in the hash slot of stream "${o.stream}": on a Redis Cluster give it the stream's hash tag (${hashTagOf(o.stream)}), or leave it unset (${defaultDeadLetterStream(o.stream)})`);
  }
  if (problems.length > 0) throw new ConsumerOptionsError(problems);
  return o;
}
