// How far behind each consumer group is, for /status and the metrics. The Redis Streams traps it
// avoids:
//
// - XINFO GROUPS `pending` counts entries delivered and not acknowledged, not entries waiting: a group
//   that stopped reading has few pending and a huge backlog. The backlog is `lag` (Redis 7), which is
//   null when Redis cannot tell (entries deleted with XDEL inside the unread range, or Redis 6.2 where
//   the field does not exist); then it is counted by walking the entries after last-delivered-id, in a
//   script that returns only the number (at most `lagScanLimit` entries; `lagIsLowerBound` says when
//   the count stopped there).
// - "Oldest pending" by XPENDING idle time resets on every re-delivery and hides an entry that has
//   been failing for hours. The age here is from the oldest pending entry's id (when it was appended),
//   against Redis's clock (TIME), so client clock skew does not count.
// - Counting dead letters per group by reading the dead-letter stream grows with that stream; the
//   consumer increments a hash `<deadLetterStream>:counts` (field = group) in the same script that
//   writes the dead letter, and this reads the hash.

import type { RedisClient } from '../redis/redis-client.ts';
import { countAfterScript } from '../redis/scripts/count-after-script.ts';
import { deadLetterCountsKey, defaultDeadLetterStream } from '../redis/keyspace.ts';

export interface GroupLag {
  readonly group: string;
  readonly consumers: number;
  /** Entries delivered to the group and not acknowledged. */
  readonly pending: number;
  /** Entries appended and not yet delivered to the group: Redis's `lag`, or counted when Redis reports none. */
  readonly lag: number;
  /** True when `lag` stopped counting at lagScanLimit: there are at least that many. */
  readonly lagIsLowerBound: boolean;
  readonly lastDeliveredId: string;
  /** The oldest entry delivered and not acknowledged; null when none is pending. */
  readonly oldestPendingId: string | null;
  /** How long ago (Redis clock) the oldest pending entry was appended; null when none is pending. */
  readonly oldestPendingAgeMs: number | null;
  /** Entries of this group moved to the dead-letter stream, ever. */
  readonly deadLettered: number;
}

export interface ReadGroupLagOptions {
  /** The most entries walked to count a lag Redis does not report. Default 100,000. */
  readonly lagScanLimit?: number;
}


type FlatReply = (string | number | null)[];

function toMap(flat: FlatReply): Map<string, string | number | null> {
  const map = new Map<string, string | number | null>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(String(flat[i]), flat[i + 1] ?? null);
  return map;
}

/** The time part of an entry id, in ms. */
function idTimeMs(id: string): number {
  return Number(id.split('-')[0]);
}

/**
 * Per group of `stream`: consumers, pending, lag, last-delivered id, oldest pending entry and its age,
 * dead-lettered count. An empty list when the stream does not exist or has no group.
 */
export async function readGroupLag(redis: RedisClient, stream: string, deadLetterStream = defaultDeadLetterStream(stream), options: ReadGroupLagOptions = {}): Promise<GroupLag[]> {
  const lagScanLimit = options.lagScanLimit ?? 100_000;
  let groups: FlatReply[];
  try {
    groups = (await redis.call('XINFO', 'GROUPS', stream)) as FlatReply[];
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return [];
    throw err;
  }
  if (groups.length === 0) return [];
  const [time, counts] = await Promise.all([
    redis.call('TIME') as Promise<[string, string]>,
    redis.hgetall(deadLetterCountsKey(deadLetterStream)),
  ]);
  const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  return Promise.all(
    groups.map(async (flat): Promise<GroupLag> => {
      const info = toMap(flat);
      const group = String(info.get('name'));
      const pending = Number(info.get('pending') ?? 0);
      const lastDeliveredId = String(info.get('last-delivered-id') ?? '0-0');
      let oldestPendingId: string | null = null;
      if (pending > 0) {
        const summary = (await redis.call('XPENDING', stream, group)) as [number, string | null, string | null, unknown];
        oldestPendingId = summary[1] ?? null;
      }
      const reported = info.get('lag');
      let lag: number;
      let lagIsLowerBound = false;
      if (reported !== null && reported !== undefined) {
        lag = Number(reported);
      } else {
        lag = Number(await countAfterScript.run<number>(redis, [stream], [lastDeliveredId, lagScanLimit]));
        lagIsLowerBound = lag >= lagScanLimit;
      }
      return {
        group,
        consumers: Number(info.get('consumers') ?? 0),
        pending,
        lag,
        lagIsLowerBound,
        lastDeliveredId,
        oldestPendingId,
        oldestPendingAgeMs: oldestPendingId === null ? null : Math.max(0, nowMs - idTimeMs(oldestPendingId)),
        deadLettered: Number(counts[group] ?? 0),
      };
    }),
  );
}
