import type { Logger } from 'pino';
import { OrchardError, SinkUnavailableError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { RedisStreamSink } from '../sink/redis-stream-sink.ts';
import type { DeviceSighting, StreamRecord } from '../stream/stream-record.ts';
import { decodeEntry } from './spool-codec.ts';
import type { SpoolBatch, SpoolStore } from './spool-store.ts';
import { SpooledIds } from './spooled-ids.ts';

// Drains the local spool into Redis, oldest first, as soon as Redis answers: batches read from the
// drain cursor go through the same idempotent appends as the routes' (the append script and its dedup
// keys; refused bodies through the rejected-once script), several spool records to one script call
// (each record still lands whole: a Jamf Protect batch is never split), and the cursor moves on only
// once Redis acknowledged the whole batch. Meanwhile new requests go straight to Redis again.
//
// It also decides when appends may go to Redis first again after a failure (the gate's `stalled`):
// one PING at a time, until Redis answers one.

/** What the forwarder needs of the Redis connection: ioredis's Redis is one. */
export interface RedisHealth {
  readonly status: string;
  ping(): Promise<unknown>;
}

/** Shared with the spooling sink: whether appends go to the spool at once until Redis answers again. */
export interface RedisGate {
  stalled: boolean;
}

export interface SpoolForwarderOptions {
  readonly store: SpoolStore;
  readonly direct: RedisStreamSink;
  readonly redis: RedisHealth;
  readonly gate: RedisGate;
  readonly ids: SpooledIds;
  /** Bytes read from the spool per batch. Default 1 MiB. */
  readonly batchBytes?: number;
  /** Events per script call. Default 512. */
  readonly eventsPerCall?: number;
  /** A probe (PING) not answered within this counts as "not yet". Default 500 ms. */
  readonly probeTimeoutMs?: number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /**
   * A drained event's device sighting (the missed-webhook check, docs/completeness.md): the spool keeps
   * the stream fields only, so a check-in's computer is read again from its payload.
   */
  readonly sightingOf?: (record: StreamRecord) => DeviceSighting | undefined;
}

const progressEveryMs = 5000;
const failureLogEveryMs = 5000;

export class SpoolForwarder {
  readonly #o: SpoolForwarderOptions;
  readonly #batchBytes: number;
  readonly #eventsPerCall: number;
  readonly #probeTimeoutMs: number;
  #loop: Promise<void> | undefined;
  #stopping = false;
  /** Ends a sleep that waits for work. */
  #wake: (() => void) | undefined;
  /** Ends any sleep (stop). */
  #interrupt: (() => void) | undefined;
  #probing: Promise<boolean> | undefined;
  /** The current episode: from the first event spooled (or recovered) to the spool being empty again. */
  #episode: { startedMs: number; drained: number; lastProgressMs: number; drainStartedMs?: number; drainedAtProgress: number } | undefined;
  #lastFailureLogMs = 0;
  #failedBatches = 0;
  #drainedTotal = 0;

  constructor(options: SpoolForwarderOptions) {
    this.#o = options;
    this.#batchBytes = options.batchBytes ?? 1024 * 1024;
    this.#eventsPerCall = options.eventsPerCall ?? 512;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 500;
    options.store.onWritten = () => this.wake();
  }

  /** Events drained into Redis since the start. */
  get drainedTotal(): number {
    return this.#drainedTotal;
  }

  /** Whether events are being drained now (Redis answers and the spool holds some). */
  get draining(): boolean {
    return this.#o.store.waitingRecords > 0 && !this.#o.gate.stalled && this.#o.redis.status === 'ready';
  }

  start(): void {
    const { store, logger } = this.#o;
    if (store.waitingRecords > 0) {
      this.#beginEpisode();
      logger?.warn(
        { events: store.waitingEvents, records: store.waitingRecords, bytes: store.bytes, oldestSpooledAt: new Date(store.oldestSpooledAtMs!).toISOString(), dir: store.dir },
        'The local spool holds events from before this start; they are drained into Redis as soon as it answers.',
      );
    }
    this.#loop ??= this.#run();
  }

  /** An event was spooled: the first of an episode is announced (one warning), and the loop looks again. */
  spooled(reason: string): void {
    if (!this.#episode) {
      this.#beginEpisode();
      this.#o.logger?.warn({ reason, dir: this.#o.store.dir, maxBytes: this.#o.store.maxBytes }, 'Redis cannot take appends now: events are kept in the local spool and drained into Redis once it answers.');
    }
    this.wake();
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Stops the loop after the batch under way. With `drainForMs`, first goes on draining while Redis
   * answers, until the spool is empty or that time is up: what is left waits on disk for the next start.
   */
  async stop(drainForMs = 0): Promise<void> {
    const deadline = Date.now() + drainForMs;
    while (drainForMs > 0 && this.#loop && Date.now() < deadline && this.#o.store.waitingRecords > 0 && this.#o.redis.status === 'ready' && !this.#o.gate.stalled) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#stopping = true;
    this.#interrupt?.();
    await this.#loop;
    const { store, logger } = this.#o;
    if (store.waitingRecords > 0) logger?.warn({ events: store.waitingEvents, bytes: store.bytes, dir: store.dir }, 'Stopping with events still in the local spool; they are drained at the next start on this data directory.');
  }

  async #run(): Promise<void> {
    const { store, redis, gate } = this.#o;
    while (!this.#stopping) {
      if (store.waitingRecords === 0) {
        if (store.empty) this.#endEpisode();
        if (gate.stalled && redis.status === 'ready') {
          if (await this.#probe()) gate.stalled = false;
          else await this.#sleep(100);
        } else {
          await this.#sleep(gate.stalled ? 100 : undefined);
        }
        continue;
      }
      if (redis.status !== 'ready') {
        await this.#sleep(100);
        continue;
      }
      if (gate.stalled) {
        if (await this.#probe()) gate.stalled = false;
        else await this.#sleep(100);
        continue;
      }
      await this.#drainOnce();
    }
  }

  async #drainOnce(): Promise<void> {
    const { store, ids, gate, logger, metrics } = this.#o;
    let batch: SpoolBatch | undefined;
    try {
      batch = await store.read(this.#batchBytes);
    } catch (err) {
      logger?.error({ code: 'ORCHARD_ERR_SPOOL_IO', reason: (err as Error).message, dir: store.dir }, 'Reading the local spool failed; retrying in 1 s.');
      await this.#sleep(1000);
      return;
    }
    if (!batch) {
      await this.#sleep(50); // records counted but not readable yet: their segment is being written
      return;
    }
    try {
      const keys = await this.#send(batch);
      const events = await store.release(batch);
      ids.delete(keys);
      this.#drainedTotal += events;
      metrics?.spoolDrained.inc(events);
      this.#progress(events);
      this.#failedBatches = 0;
      if (store.empty) this.#endEpisode();
    } catch (err) {
      if (!(err instanceof SinkUnavailableError)) {
        // The spool's own files failed (the cursor's sync, a deletion): the batch drains again later (a duplicate at worst).
        logger?.error({ code: 'ORCHARD_ERR_SPOOL_IO', reason: (err as Error).message, dir: store.dir }, 'Moving the spool\'s drain cursor failed; retrying in 1 s.');
        await this.#sleep(1000);
        return;
      }
      gate.stalled = true;
      this.#failedBatches += 1;
      const now = Date.now();
      if (now - this.#lastFailureLogMs >= failureLogEveryMs) {
        this.#lastFailureLogMs = now;
        logger?.warn({ reason: err.message, failedBatches: this.#failedBatches, waitingEvents: store.waitingEvents }, 'Draining the local spool failed; trying again once Redis answers.');
      }
      await this.#sleep(Math.min(100 * this.#failedBatches, 1000));
    }
  }

  /** Appends every record of the batch (several to one script call); resolves once Redis has them all. Returns their index keys. */
  async #send(batch: SpoolBatch): Promise<string[]> {
    const { direct, metrics, logger } = this.#o;
    const calls: Promise<void>[] = [];
    const keys: string[] = [];
    let events: StreamRecord[] = [];
    let window = -1;
    const send = () => {
      if (events.length === 0) return;
      const records = events;
      events = [];
      calls.push(
        direct.appendAll(records, { dedupWindowSeconds: window }).then((results) => {
          results.forEach((result, i) => {
            const record = records[i]!;
            if (result.duplicate) metrics?.duplicates.inc({ source: record.source });
            else metrics?.eventsAppended.inc({ source: record.source, type: record.type });
          });
        }),
      );
    };
    for (const spooled of batch.records) {
      let entry;
      try {
        entry = decodeEntry(spooled.payload);
      } catch (err) {
        // It passed its checksum, so it was written like this: dropped with an error, never retried forever.
        logger?.error({ code: (err as OrchardError).code, offset: spooled.offset, segment: batch.seq, reason: (err as Error).message }, 'A spool record cannot be read; it is skipped.');
        continue;
      }
      if (entry.kind === 'rejected') {
        send();
        calls.push(direct.appendRejectedOnce(entry.record, entry.marker, entry.markerTtlSeconds).then(() => {}));
        continue;
      }
      if (entry.dedupWindowSeconds !== window || events.length + entry.records.length > this.#eventsPerCall) send();
      window = entry.dedupWindowSeconds;
      for (const record of entry.records) {
        const device = this.#o.sightingOf?.(record);
        events.push(device ? { ...record, device } : record);
        keys.push(SpooledIds.key(record.source, record.id));
      }
    }
    send();
    await Promise.all(calls);
    return keys;
  }

  /** Resolves true once Redis answers a PING; false when it has not within the probe timeout (that PING stays the one in flight). */
  async #probe(): Promise<boolean> {
    this.#probing ??= this.#o.redis
      .ping()
      .then(
        () => true,
        () => false,
      )
      .finally(() => (this.#probing = undefined));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#probeTimeoutMs)));
    try {
      return await Promise.race([this.#probing, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Without `ms`: until there is work (a write, a failed append) or stop. With `ms`: that long, or
   * until stop; a write does not cut it short (every spooled request would otherwise wake the loop
   * while Redis is away, for nothing).
   */
  #sleep(ms?: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        if (this.#interrupt === done) this.#interrupt = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.#interrupt = done;
      if (ms === undefined) this.#wake = done;
    });
  }

  #beginEpisode(): void {
    const now = Date.now();
    this.#episode = { startedMs: now, drained: 0, lastProgressMs: now, drainedAtProgress: 0 };
  }

  /** One line every 5 s while draining: how many went, how many wait, how fast. */
  #progress(events: number): void {
    const episode = this.#episode;
    if (!episode) return;
    const now = Date.now();
    episode.drainStartedMs ??= now;
    episode.drained += events;
    if (now - episode.lastProgressMs < progressEveryMs) return;
    const eventsPerSecond = Math.round(((episode.drained - episode.drainedAtProgress) * 1000) / (now - episode.lastProgressMs));
    episode.lastProgressMs = now;
    episode.drainedAtProgress = episode.drained;
    this.#o.logger?.info({ drained: episode.drained, waiting: this.#o.store.waitingEvents, eventsPerSecond }, 'Draining the local spool into Redis.');
  }

  #endEpisode(): void {
    const episode = this.#episode;
    if (!episode) return;
    this.#episode = undefined;
    this.#o.logger?.info({ drained: episode.drained, spooledForMs: Date.now() - episode.startedMs }, 'The local spool is empty again: every event it held is in Redis.');
  }
}
