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

import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../backoff.ts';
import { deadLetterCodes, ReadAbandonedError } from '../errors.ts';
import { BlockingReader, entriesOf, type RawEntry, type ReadReply } from './blocking-reader.ts';
import { deadLetterCountsKey } from '../redis/keyspace.ts';
import { deadLetterScript } from '../redis/scripts/dead-letter-script.ts';
import { resolveConsumerOptions, type ResolvedConsumerOptions, type StreamConsumerOptions, type StreamConsumerStats } from './consumer-options.ts';
import { parseEntry, type DeadLetterReason, type StreamEntry, type StreamEntryHandler } from './stream-entry.ts';

export { parseEntry, type DeadLetterReason, type StreamEntry, type StreamEntryHandler } from './stream-entry.ts';
export type { StreamConsumerOptions, StreamConsumerStats } from './consumer-options.ts';

/** Where a group this consumer created started (`0`, `$` or an id) and how many entries it had to read then (null: unknown). */
export interface GroupCreated {
  readonly from: string;
  readonly entriesToRead: number | null;
}

type Origin = 'new' | 'pending' | 'claimed';

/** The last handler errors remembered per entry, for the dead-letter reason. */
const maxRememberedErrors = 10_000;

/**
 * Reads a stream with a consumer group and hands each entry to a handler, at least once. See the
 * header comment for what it guarantees.
 */
export class StreamConsumer {
  readonly #redis: RedisClient;
  readonly #handler: StreamEntryHandler;
  readonly #logger: Logger | undefined;
  readonly #o: ResolvedConsumerOptions;
  readonly #stats = { delivered: 0, acknowledged: 0, failed: 0, deadLettered: 0, deletedWhilePending: 0, claimed: 0 };
  readonly #abort = new AbortController();
  readonly #lastErrors = new Map<string, string>();
  readonly #blocking: BlockingReader;
  /** Set at start and after any failed read: the PEL may hold entries nobody is handling. */
  #recoverPending = true;
  #loop: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #markStarted: () => void = () => {};
  /** Consecutive reads whose handler failed, for the pause before the next read. */
  #handlerFailures = 0;
  #troubles = 0;
  #lastTroubleLogMs = 0;
  #groupCreated: GroupCreated | undefined;

  constructor(options: StreamConsumerOptions) {
    this.#redis = options.redis;
    this.#handler = options.handler;
    this.#logger = options.logger;
    this.#o = resolveConsumerOptions(options);
    this.#blocking = new BlockingReader(options.createBlockingConnection, this.#abort.signal, this.#o.watchdogMarginMs);
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

  /** Set when this consumer created its group (it did not exist): where it started and what there was to read. */
  get groupCreated(): GroupCreated | undefined {
    return this.#groupCreated;
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
        this.#blocking.close();
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
    this.#blocking.abandon('the consumer is stopping');
    await this.#loop;
    this.#blocking.close();
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
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      return;
    }
    const entriesToRead = await this.#entriesToRead().catch(() => null);
    this.#groupCreated = { from: this.#o.from, entriesToRead };
    this.#logger?.info({ stream: this.#o.stream, group: this.#o.group, from: this.#o.from, entriesToRead }, 'Created the consumer group.');
  }

  /** The new group's lag as Redis reports it (7.0+), or the stream's length for a group at the oldest entry; null when neither tells. */
  async #entriesToRead(): Promise<number | null> {
    const groups = (await this.#command(this.#redis.call('XINFO', 'GROUPS', this.#o.stream))) as (string | number | null)[][];
    for (const flat of groups) {
      const name = flat.indexOf('name');
      const lag = flat.indexOf('lag');
      if (String(flat[name + 1]) === this.#o.group && lag !== -1 && flat[lag + 1] !== null) return Number(flat[lag + 1]);
    }
    if (this.#o.from === '0') return Number(await this.#command(this.#redis.xlen(this.#o.stream)));
    return this.#o.from === '$' ? 0 : null;
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
      ? await this.#blocking.read([...args, 'BLOCK', blockMs, 'STREAMS', this.#o.stream, '>'], blockMs).catch((err: unknown) => {
          // Redis may have served the abandoned read: its entries are in the PEL, read again next.
          if (err instanceof ReadAbandonedError) this.#recoverPending = true;
          throw err;
        })
      : ((await this.#command(this.#redis.call('XREADGROUP', ...args, 'STREAMS', this.#o.stream, '>'))) as ReadReply);
    const entries = entriesOf(reply);
    if (entries.length === 0) return 0;
    const ok = await this.#process(entries, 'new');
    return ok ? entries.length : -1;
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
