// The reference consumer of the events stream: a consumer group reader that loses nothing and never
// stalls. The Redis Streams traps it avoids:
//
// - XREADGROUP '>' moves an entry into this consumer's pending list (PEL) the moment Redis serves it,
//   whether or not the reply arrives. A reply lost with the connection (or a read abandoned on
//   shutdown) leaves entries pending that nobody handles. So the consumer reads its own PEL first
//   (XREADGROUP … ID 0, paged until empty) at start and again after every failed or abandoned read.
// - An entry is acknowledged (XACK) only after its handler resolved. A handler that throws leaves the
//   entry pending; the janitor re-delivers it (XAUTOCLAIM of entries idle ≥ claimIdleMs, which also
//   rescues the entries of consumers that died). XACK after a crash never happens, so nothing is
//   acknowledged that was not handled.
// - A poison entry would be re-delivered forever. Every delivery counts (XREADGROUP ID 0 and
//   XAUTOCLAIM both increment the delivery count); once the count exceeds maxDeliveries the entry is
//   copied to the dead-letter stream, counted per group, and acknowledged — in one Lua script, so a
//   crash cannot leave it dead-lettered and pending, or acknowledged and not dead-lettered. The script
//   first checks the entry is still pending for this consumer, so ioredis re-sending it after a
//   reconnect writes nothing twice.
// - An entry deleted (XDEL, or trimmed by hand) while pending comes back as `[id, null]` from a read
//   of the PEL, and as a "deleted id" from XAUTOCLAIM on Redis 7 (Redis 6.2 returns it as a null
//   entry and keeps it pending). Such entries are acknowledged and counted, never given to a handler.
// - A blocking read ties up its connection, so it runs on a dedicated connection. ioredis can leave a
//   blocking command hanging after a reconnect (it re-sends it on a new socket, or a half-open socket
//   never answers), so a watchdog abandons a read that has not returned within blockMs + a margin, or
//   whose connection closed or started reconnecting: that connection is disconnected and a new one
//   created, and the PEL is read again in case Redis had served the abandoned read. BLOCK 0 (forever)
//   is never sent: blockMs 0 means "do not block" here.
// - Redis unavailable: every step is retried with backoff, logged (rate-limited), and never exits.
//
// Everything runs in one sequential loop (PEL, janitor, new entries), so the handler is never called
// concurrently, the janitor never claims an entry this consumer is handling, and stop() has exactly
// one handler to wait for. claimIdleMs must be longer than the time to handle a batch: past it, the
// janitor of another consumer may claim entries of the batch still in hand (they would then be handled
// twice, which at-least-once delivery allows).

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../connectors/backoff.ts';
import { OrchardError } from '../errors.ts';
import type { StreamRecord } from '../sink/stream-record.ts';
import { LuaScript } from '../redis/lua-script.ts';

/** An entry of the events stream as contract v1 describes it (StreamRecord), with its payload and indicators parsed. */
export interface StreamEntry extends Omit<StreamRecord, 'payload' | 'indicators'> {
  /** The stream entry id (`1700000000000-0`). */
  readonly entryId: string;
  readonly v: string;
  /** The event, JSON.parse'd; the raw text when it is not JSON. */
  readonly payload: unknown;
  /** The indicators object; `{}` when the field is missing or not a JSON object. */
  readonly indicators: Readonly<Record<string, readonly string[]>>;
}

/**
 * Called for each entry, or for each batch read; an entry is acknowledged after the call resolved.
 * A batch that throws stays pending as a whole; its re-deliveries are handed to onBatch one entry at
 * a time, so only the entries that keep failing reach the dead-letter stream.
 */
export type StreamEntryHandler =
  | { readonly onEntry: (entry: StreamEntry) => Promise<void> | void }
  | { readonly onBatch: (entries: readonly StreamEntry[]) => Promise<void> | void };

export interface StreamConsumerOptions {
  /** Used for every non-blocking command (PEL reads, XACK, XAUTOCLAIM, XPENDING, scripts). */
  readonly redis: Redis;
  /**
   * Makes the dedicated connection for XREADGROUP … BLOCK. Called again whenever the watchdog drops
   * one. The consumer disconnects the connections it made. Do not set ioredis's `blockingTimeout` on
   * it: that answers a timed-out read with null, which looks like "no entries".
   */
  readonly createBlockingConnection: () => Redis;
  /** Default `orchard:events`. */
  readonly stream?: string;
  readonly group: string;
  /** Default `<hostname>-<pid>`. */
  readonly consumer?: string;
  /** Where a group created by this consumer starts: `$` (new entries, the default), `0` (all) or an entry id. */
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

/** The `code` in a dead-letter entry's `reason`. */
export const deadLetterCodes = {
  maxDeliveries: 'ORCHARD_ERR_CONSUMER_MAX_DELIVERIES',
} as const;

/** What a dead-letter entry's `reason` field holds (JSON). */
export interface DeadLetterReason {
  readonly code: (typeof deadLetterCodes)[keyof typeof deadLetterCodes];
  readonly message: string;
  /** Deliveries that did not end in an acknowledgement. */
  readonly deliveries: number;
  readonly group: string;
  /** The consumer that dead-lettered it. */
  readonly consumer: string;
}

/** The hash of dead-lettered counts per group, kept beside the dead-letter stream. */
export function deadLetterCountsKey(deadLetterStream: string): string {
  return `${deadLetterStream}:counts`;
}

const contractFields = ['v', 'id', 'source', 'type', 'tenant', 'connector', 'time', 'received', 'payload', 'indicators'] as const;

/** The contract v1 object of a stream entry; `fields` is the flat `[name, value, …]` list Redis returns. */
export function parseEntry(entryId: string, fields: readonly string[]): StreamEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (!map.has(fields[i]!)) map.set(fields[i]!, fields[i + 1]!);
  }
  const text = Object.fromEntries(contractFields.map((f) => [f, map.get(f) ?? ''])) as Record<(typeof contractFields)[number], string>;
  return {
    entryId,
    v: text.v,
    id: text.id,
    source: text.source,
    type: text.type,
    tenant: text.tenant,
    connector: text.connector,
    time: text.time,
    received: text.received,
    payload: parseJsonOr(text.payload, text.payload),
    indicators: parseIndicators(text.indicators),
  };
}

function parseJsonOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

function parseIndicators(text: string): Record<string, string[]> {
  const value = parseJsonOr(text, undefined);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, string[]>) : {};
}


// KEYS[1] the stream, KEYS[2] the dead-letter stream, KEYS[3] the counts hash.
// ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer, ARGV[4] reason (JSON).
// Returns 1 dead-lettered, 0 not pending for this consumer any more (already done, or claimed by
// another consumer), -1 deleted from the stream (acknowledged only).
// The original fields follow the dead-letter header; an original field named like a header field
// (`v`, `reason`, `original_id`, `stream`) is left out so each name appears once.
const deadLetterScript = new LuaScript('orchardDeadLetter', `local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then return 0 end
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #found == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return -1
end
local header = { v = true, reason = true, original_id = true, stream = true }
local args = { 'XADD', KEYS[2], '*', 'v', '1', 'reason', ARGV[4], 'original_id', ARGV[2], 'stream', KEYS[1] }
local fields = found[1][2]
for i = 1, #fields, 2 do
  if not header[fields[i]] then
    args[#args + 1] = fields[i]
    args[#args + 1] = fields[i + 1]
  end
end
redis.call(unpack(args))
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
`);

/** `[entry id, fields]`; fields null when the entry was deleted while pending. */
type RawEntry = [string, string[] | null];
/**
 * XREADGROUP's answer for one stream: `[[stream, entries]]` over RESP2. Over RESP3 (ioredis 6's default
 * for a connection the caller made) it is a map, which ioredis's `call()` hands over flattened:
 * `[stream, entries]`.
 */
type ReadReply = [string, RawEntry[]][] | [string, RawEntry[]] | null;

function entriesOf(reply: ReadReply): RawEntry[] {
  if (!reply || reply.length === 0) return [];
  return (typeof reply[0] === 'string' ? reply[1] : reply[0]![1]) as RawEntry[];
}

type Origin = 'new' | 'pending' | 'claimed';

/** The last handler errors remembered per entry, for the dead-letter reason. */
const maxRememberedErrors = 10_000;

class ReadAbandonedError extends Error {
  constructor(readonly why: string) {
    super(`Blocking read abandoned: ${why}.`);
  }
}

/**
 * Reads a stream with a consumer group and hands each entry to a handler, at least once. See the
 * header comment for what it guarantees.
 */
export class StreamConsumer {
  readonly #redis: Redis;
  readonly #createBlocking: () => Redis;
  readonly #handler: StreamEntryHandler;
  readonly #logger: Logger | undefined;
  readonly #o: {
    stream: string;
    group: string;
    consumer: string;
    from: string;
    count: number;
    blockMs: number;
    maxDeliveries: number;
    deadLetterStream: string;
    claimIdleMs: number;
    janitorIntervalMs: number;
    commandTimeoutMs: number;
    watchdogMarginMs: number;
    limit: number;
    stopWhenIdle: boolean;
  };
  readonly #stats = { delivered: 0, acknowledged: 0, failed: 0, deadLettered: 0, deletedWhilePending: 0, claimed: 0 };
  readonly #abort = new AbortController();
  readonly #lastErrors = new Map<string, string>();
  #blocking: Redis | undefined;
  #abandonRead: (() => void) | undefined;
  /** Set at start and after any failed read: the PEL may hold entries nobody is handling. */
  #recoverPending = true;
  #loop: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #markStarted: () => void = () => {};
  /** Consecutive reads whose handler failed, for the pause before the next read. */
  #handlerFailures = 0;
  #troubles = 0;
  #lastTroubleLogMs = 0;

  constructor(options: StreamConsumerOptions) {
    this.#redis = options.redis;
    this.#createBlocking = options.createBlockingConnection;
    this.#handler = options.handler;
    this.#logger = options.logger;
    const stream = options.stream ?? 'orchard:events';
    const blockMs = options.blockMs ?? 5000;
    this.#o = {
      stream,
      group: options.group,
      consumer: options.consumer ?? `${hostname()}-${process.pid}`,
      from: options.from ?? '$',
      count: options.count ?? 100,
      blockMs,
      maxDeliveries: options.maxDeliveries ?? 5,
      deadLetterStream: options.deadLetterStream ?? `${stream}:dead`,
      claimIdleMs: options.claimIdleMs ?? 60_000,
      janitorIntervalMs: options.janitorIntervalMs ?? 30_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
      watchdogMarginMs: options.watchdogMarginMs ?? Math.max(1000, blockMs / 2),
      limit: options.limit ?? Number.POSITIVE_INFINITY,
      stopWhenIdle: options.stopWhenIdle ?? false,
    };
    const problems: string[] = [];
    if (!this.#o.group) problems.push('group is empty');
    if (!this.#o.consumer) problems.push('consumer is empty');
    if (!/^(\$|0|\d+(-\d+)?)$/.test(this.#o.from)) problems.push(`from "${this.#o.from}" is not $, 0 or an entry id`);
    for (const [name, value, min] of [
      ['count', this.#o.count, 1],
      ['blockMs', this.#o.blockMs, 0],
      ['maxDeliveries', this.#o.maxDeliveries, 1],
      ['claimIdleMs', this.#o.claimIdleMs, 1],
      ['janitorIntervalMs', this.#o.janitorIntervalMs, 0],
      ['commandTimeoutMs', this.#o.commandTimeoutMs, 1],
    ] as const) {
      if (!Number.isInteger(value) || value < min) problems.push(`${name} must be a whole number ≥ ${min} (got ${value})`);
    }
    if (this.#o.limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(this.#o.limit) || this.#o.limit < 1)) problems.push(`limit must be a whole number ≥ 1 (got ${this.#o.limit})`);
    if (problems.length > 0) throw new OrchardError('ORCHARD_ERR_CONSUMER_OPTIONS', 500, `Invalid consumer options: ${problems.join('; ')}.`);
    if (options.signal) {
      if (options.signal.aborted) this.#abort.abort();
      else options.signal.addEventListener('abort', () => void this.stop(), { once: true });
    }
  }

  get stream(): string {
    return this.#o.stream;
  }

  get group(): string {
    return this.#o.group;
  }

  get consumer(): string {
    return this.#o.consumer;
  }

  get deadLetterStream(): string {
    return this.#o.deadLetterStream;
  }

  get stats(): StreamConsumerStats {
    return { ...this.#stats };
  }

  /**
   * Starts the loop. Resolves once the group exists (created from `from` when missing) and reading
   * has begun, or when the consumer was stopped first; while Redis is unreachable it keeps retrying.
   */
  start(): Promise<void> {
    if (!this.#started) {
      this.#started = new Promise<void>((resolve) => (this.#markStarted = resolve));
      this.#loop = this.#run().finally(() => {
        this.#markStarted();
        this.#dropBlocking();
      });
    }
    return this.#started;
  }

  /** Resolves when the loop has ended: after stop(), the limit, or an idle read with stopWhenIdle. */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Lets the handler in flight finish (and its entries be acknowledged), then returns. */
  async stop(): Promise<void> {
    if (!this.#abort.signal.aborted) this.#abort.abort();
    this.#abandonRead?.();
    await this.#loop;
    this.#dropBlocking();
  }

  get #stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Entries still wanted under `limit`, at most `count` per read. */
  get #wanted(): number {
    return Math.max(0, Math.min(this.#o.count, this.#o.limit - this.#stats.acknowledged));
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ baseMs: 100, capMs: 5000 });
    const janitorOn = this.#o.janitorIntervalMs > 0;
    let groupReady = false;
    let janitorDueMs = 0;
    while (!this.#stopping && this.#wanted > 0) {
      try {
        if (!groupReady) {
          await this.#ensureGroup();
          groupReady = true;
          this.#markStarted();
        }
        if (this.#recoverPending) {
          await this.#readOwnPending();
          this.#recoverPending = false;
        }
        if (janitorOn && Date.now() >= janitorDueMs) {
          await this.#janitor();
          janitorDueMs = Date.now() + this.#o.janitorIntervalMs;
        }
        if (this.#stopping || this.#wanted === 0) break;
        let blockMs = this.#o.blockMs;
        if (blockMs > 0 && janitorOn) blockMs = Math.max(1, Math.min(blockMs, janitorDueMs - Date.now()));
        const read = await this.#readNew(blockMs);
        if (this.#troubles > 0) this.#logRecovered();
        backoff.reset();
        if (read === 0 && this.#o.stopWhenIdle) break;
        if (read < 0) await this.#pauseAfterFailure();
      } catch (err) {
        if (this.#stopping) break;
        if (/NOGROUP/.test((err as Error).message)) groupReady = false;
        this.#recoverPending = true;
        this.#logTrouble(err);
        await sleep(backoff.next(err), undefined, { signal: this.#abort.signal }).catch(() => {});
      }
    }
  }

  /** After a handler failure: wait a little (growing) before the next read, so a broken downstream is not hammered. */
  async #pauseAfterFailure(): Promise<void> {
    const delayMs = Math.min(5000, 50 * 2 ** Math.min(this.#handlerFailures, 7));
    await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => {});
  }

  async #ensureGroup(): Promise<void> {
    try {
      await this.#command(this.#redis.call('XGROUP', 'CREATE', this.#o.stream, this.#o.group, this.#o.from, 'MKSTREAM'));
      this.#logger?.info({ stream: this.#o.stream, group: this.#o.group, from: this.#o.from }, 'Created the consumer group.');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** This consumer's own pending entries, oldest first, each read once (XREADGROUP … ID after the last one seen). */
  async #readOwnPending(): Promise<void> {
    let after = '0';
    while (!this.#stopping && this.#wanted > 0) {
      const reply = (await this.#command(
        this.#redis.call('XREADGROUP', 'GROUP', this.#o.group, this.#o.consumer, 'COUNT', this.#wanted, 'STREAMS', this.#o.stream, after),
      )) as ReadReply;
      const entries = entriesOf(reply);
      if (entries.length === 0) return;
      after = entries[entries.length - 1]![0];
      await this.#process(entries, 'pending');
    }
  }

  /** Claims entries idle ≥ claimIdleMs from any consumer of the group (one pass over the group's PEL). */
  async #janitor(): Promise<void> {
    let cursor = '0-0';
    do {
      if (this.#stopping || this.#wanted === 0) return;
      const reply = (await this.#command(
        this.#redis.call('XAUTOCLAIM', this.#o.stream, this.#o.group, this.#o.consumer, this.#o.claimIdleMs, cursor, 'COUNT', this.#wanted),
      )) as [string, RawEntry[], string[]?];
      cursor = reply[0];
      const deleted = reply[2] ?? [];
      if (deleted.length > 0) await this.#acknowledgeDeleted(deleted);
      if (reply[1].length > 0) {
        this.#stats.claimed += reply[1].length;
        this.#logger?.info({ group: this.#o.group, consumer: this.#o.consumer, entries: reply[1].length }, 'Claimed pending entries idle longer than claimIdleMs.');
        await this.#process(reply[1], 'claimed');
      }
    } while (cursor !== '0-0');
  }

  /** Reads new entries; returns how many it read, or -1 when a handler failed. */
  async #readNew(blockMs: number): Promise<number> {
    const args = ['GROUP', this.#o.group, this.#o.consumer, 'COUNT', this.#wanted] as (string | number)[];
    const reply = blockMs > 0
      ? await this.#blockingRead([...args, 'BLOCK', blockMs, 'STREAMS', this.#o.stream, '>'], blockMs)
      : ((await this.#command(this.#redis.call('XREADGROUP', ...args, 'STREAMS', this.#o.stream, '>'))) as ReadReply);
    const entries = entriesOf(reply);
    if (entries.length === 0) return 0;
    const ok = await this.#process(entries, 'new');
    return ok ? entries.length : -1;
  }

  /**
   * XREADGROUP … BLOCK on the dedicated connection, abandoned (connection dropped) when it outlives
   * blockMs + the margin, when its connection closes or reconnects, or on stop.
   */
  async #blockingRead(args: (string | number)[], blockMs: number): Promise<ReadReply> {
    const conn = await this.#blockingConnection(blockMs + this.#o.watchdogMarginMs);
    return new Promise<ReadReply>((resolve, reject) => {
      let settled = false;
      const finish = (then: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const event of ['close', 'end', 'reconnecting'] as const) conn.off(event, onTrouble);
        this.#abandonRead = undefined;
        then();
      };
      const abandon = (why: string) =>
        finish(() => {
          this.#dropBlocking(conn);
          this.#recoverPending = true;
          reject(new ReadAbandonedError(why));
        });
      const onTrouble = () => abandon('its connection was lost');
      const timer = setTimeout(() => abandon(`no answer within ${blockMs + this.#o.watchdogMarginMs} ms`), blockMs + this.#o.watchdogMarginMs);
      for (const event of ['close', 'end', 'reconnecting'] as const) conn.once(event, onTrouble);
      this.#abandonRead = () => abandon('the consumer is stopping');
      conn.call('XREADGROUP', ...args).then(
        (reply) => finish(() => resolve(reply as ReadReply)),
        (err: unknown) =>
          finish(() => {
            this.#dropBlocking(conn);
            reject(err instanceof Error ? err : new Error(String(err)));
          }),
      );
    });
  }

  /** The blocking connection, created when missing; waits (bounded) until it is ready. */
  async #blockingConnection(timeoutMs: number): Promise<Redis> {
    let conn = this.#blocking;
    if (!conn) {
      conn = this.#createBlocking();
      this.#blocking = conn;
      if (conn.status === 'wait') conn.connect().catch(() => {});
    }
    if (conn.status === 'end') {
      this.#dropBlocking(conn);
      throw new ReadAbandonedError('the blocking connection had ended');
    }
    if (conn.status === 'ready') return conn;
    const ready = await new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        conn.off('ready', onReady);
        this.#abort.signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onReady = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      conn.once('ready', onReady);
      this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    });
    if (!ready) throw new ReadAbandonedError(this.#stopping ? 'the consumer is stopping' : `the blocking connection was not ready within ${timeoutMs} ms`);
    return conn;
  }

  #dropBlocking(conn: Redis | undefined = this.#blocking): void {
    if (!conn) return;
    if (this.#blocking === conn) this.#blocking = undefined;
    conn.disconnect();
  }

  /**
   * Hands entries to the handler and acknowledges the ones it handled. Deleted entries are
   * acknowledged and counted; re-delivered ones past maxDeliveries are dead-lettered.
   * Returns false when the handler failed for some entry.
   */
  async #process(raw: RawEntry[], origin: Origin): Promise<boolean> {
    const deleted = raw.filter(([, fields]) => fields === null).map(([id]) => id);
    if (deleted.length > 0) await this.#acknowledgeDeleted(deleted);
    let live = raw.filter((e): e is [string, string[]] => e[1] !== null);
    if (origin !== 'new' && live.length > 0) live = await this.#deadLetterOverLimit(live);
    if (live.length === 0 || this.#stopping) return true;
    const entries = live.map(([id, fields]) => parseEntry(id, fields));
    const handler = this.#handler;
    // Re-deliveries go to onBatch one entry at a time: a poison entry then fails alone instead of
    // taking its whole batch to the dead-letter stream with it.
    const batches = 'onBatch' in handler ? (origin === 'new' ? [entries] : entries.map((e) => [e])) : entries.map((e) => [e]);
    const call = 'onBatch' in handler ? (batch: StreamEntry[]) => handler.onBatch(batch) : (batch: StreamEntry[]) => handler.onEntry(batch[0]!);
    let ok = true;
    for (const batch of batches) {
      if (this.#stopping) break;
      this.#stats.delivered += batch.length;
      try {
        await call(batch);
      } catch (err) {
        this.#handlerFailed(batch, err);
        ok = false;
        continue;
      }
      await this.#acknowledge(batch.map((e) => e.entryId));
    }
    if (ok) this.#handlerFailures = 0;
    return ok;
  }

  #handlerFailed(entries: readonly StreamEntry[], err: unknown): void {
    this.#handlerFailures += 1;
    this.#stats.failed += entries.length;
    const message = String((err as Error)?.message ?? err).slice(0, 500);
    for (const { entryId } of entries) {
      this.#lastErrors.delete(entryId);
      this.#lastErrors.set(entryId, message);
    }
    while (this.#lastErrors.size > maxRememberedErrors) this.#lastErrors.delete(this.#lastErrors.keys().next().value!);
    this.#logger?.warn(
      { group: this.#o.group, consumer: this.#o.consumer, entries: entries.length, firstEntryId: entries[0]?.entryId, error: message },
      'The handler failed; the entries stay pending and are delivered again after claimIdleMs (the janitor claims them).',
    );
  }

  /** Dead-letters the entries delivered more than maxDeliveries times; returns the others. */
  async #deadLetterOverLimit(live: [string, string[]][]): Promise<[string, string[]][]> {
    const first = live[0]![0];
    const last = live[live.length - 1]![0];
    const asked = live.length + 1000;
    const pending = (await this.#command(
      this.#redis.call('XPENDING', this.#o.stream, this.#o.group, first, last, asked, this.#o.consumer),
    )) as [string, string, number, number][];
    const deliveries = new Map(pending.map(([id, , , count]) => [id, Number(count)]));
    const complete = pending.length < asked;
    const keep: [string, string[]][] = [];
    for (const entry of live) {
      const count = deliveries.get(entry[0]);
      // Not in this consumer's PEL any more (claimed by another consumer meanwhile): theirs to handle.
      if (count === undefined && complete) continue;
      if (count !== undefined && count > this.#o.maxDeliveries) await this.#deadLetter(entry[0], count - 1);
      else keep.push(entry);
    }
    return keep;
  }

  async #deadLetter(entryId: string, deliveries: number): Promise<void> {
    const lastError = this.#lastErrors.get(entryId);
    const reason: DeadLetterReason = {
      code: deadLetterCodes.maxDeliveries,
      message: `Delivered ${deliveries} times without being acknowledged (maxDeliveries ${this.#o.maxDeliveries})${lastError === undefined ? '' : `; last error: ${lastError}`}.`,
      deliveries,
      group: this.#o.group,
      consumer: this.#o.consumer,
    };
    const outcome = await this.#retrying(() =>
      this.#command(
        deadLetterScript.run<number>(
          this.#redis,
          [this.#o.stream, this.#o.deadLetterStream, deadLetterCountsKey(this.#o.deadLetterStream)],
          [this.#o.group, entryId, this.#o.consumer, JSON.stringify(reason)],
        ),
      ),
    );
    this.#lastErrors.delete(entryId);
    if (outcome === 1) {
      this.#stats.deadLettered += 1;
      this.#logger?.warn({ group: this.#o.group, entryId, deliveries, deadLetterStream: this.#o.deadLetterStream }, 'An entry was moved to the dead-letter stream.');
    } else if (outcome === -1) {
      this.#stats.deletedWhilePending += 1;
    }
  }

  async #acknowledgeDeleted(ids: readonly string[]): Promise<void> {
    await this.#retrying(() => this.#command(this.#redis.xack(this.#o.stream, this.#o.group, ...ids)));
    this.#stats.deletedWhilePending += ids.length;
    this.#logger?.warn({ group: this.#o.group, entries: ids.length, firstEntryId: ids[0] }, 'Pending entries were deleted from the stream before being handled; acknowledged them.');
  }

  async #acknowledge(ids: readonly string[]): Promise<void> {
    await this.#retrying(() => this.#command(this.#redis.xack(this.#o.stream, this.#o.group, ...ids)));
    this.#stats.acknowledged += ids.length;
  }

  /**
   * Retries a step that must happen after a handler succeeded (XACK, dead-lettering) until Redis
   * answers. When stopping it is tried once more and then given up: the entry stays pending and is
   * delivered again, which is at-least-once, never a loss.
   */
  async #retrying<T>(step: () => Promise<T>): Promise<T> {
    const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
    for (;;) {
      try {
        return await step();
      } catch (err) {
        if (this.#stopping) throw err;
        this.#logTrouble(err);
        await sleep(backoff.next(err), undefined, { signal: this.#abort.signal }).catch(() => {});
      }
    }
  }

  /** A non-blocking command, failed after commandTimeoutMs (it may still run later; every step is idempotent). */
  #command<T>(command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#o.commandTimeoutMs} ms.`)), this.#o.commandTimeoutMs);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }

  /** One warning per 5 s at most while Redis steps fail. */
  #logTrouble(err: unknown): void {
    this.#troubles += 1;
    const now = Date.now();
    if (now - this.#lastTroubleLogMs < 5000) return;
    this.#lastTroubleLogMs = now;
    this.#logger?.warn(
      { group: this.#o.group, consumer: this.#o.consumer, error: String((err as Error)?.message ?? err), failures: this.#troubles },
      'Reading the stream failed; retrying with backoff.',
    );
  }

  #logRecovered(): void {
    this.#logger?.info({ group: this.#o.group, consumer: this.#o.consumer, failures: this.#troubles }, 'Reading the stream again.');
    this.#troubles = 0;
  }
}
