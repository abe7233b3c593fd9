import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { describeFsError, ensureDataDir, lockSpoolDir } from '../data-dir.ts';
import { DataDirError, OrchardError, SinkUnavailableError, SpoolUnavailableError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { AppendResult, EventSink, SinkHealth } from '../sink/event-sink.ts';
import type { RedisStreamSink } from '../sink/redis-stream-sink.ts';
import type { DeviceSighting, RejectedRecord, StreamRecord } from '../stream/stream-record.ts';
import { decodeEntry, encodeEvents, encodeRejected } from './spool-codec.ts';
import { SpoolForwarder, type RedisGate, type RedisHealth } from './spool-forwarder.ts';
import { SpoolStore } from './spool-store.ts';
import { SpooledIds } from './spooled-ids.ts';

// The push routes' sink when the spool is on: Redis first, the local spool when Redis cannot take it.
//
// - Redis ready and answering: the append goes to Redis (RedisStreamSink: same-turn batches, one
//   script call each) and is answered with its entry, as without the spool.
// - Redis not connected, or an append not acknowledged within append_timeout_ms (a Redis frozen,
//   failing over, refusing): the records go to the spool, are synced with the others of their turn,
//   and are answered `spooled` (202, no entry yet). From that failure on, appends go to the spool at
//   once until Redis answers a PING again (the forwarder probes), so a frozen Redis costs one timeout,
//   not one per request. An append that timed out may still land in Redis later: its spooled copy is
//   then a duplicate when drained (the dedup key), never a second entry.
// - A repeat of an event still in the spool is answered as a duplicate (SpooledIds).
// - The spool full (spool_max_bytes) or its disk failing: 503 with Retry-After, as without the spool.

export interface SpoolingSinkOptions {
  readonly direct: RedisStreamSink;
  readonly redis: RedisHealth;
  readonly store: SpoolStore;
  readonly ids: SpooledIds;
  /** The window of `append` (appendAll passes its own). */
  readonly dedupWindowSeconds: number;
  /** How long a drained refusal's marker is kept (its idempotence). */
  readonly rejectedMarkerTtlSeconds: number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Called once the spool is closed (releases its lock). */
  readonly onClosed?: () => void;
  /** A drained event's device sighting, read again from its payload (spool-forwarder.ts). */
  readonly sightingOf?: (record: StreamRecord) => DeviceSighting | undefined;
}

/**
 * The spooling sink in front of `direct`, as the configuration describes it: the spool in
 * `<data_dir>/spool`, locked to this process, recovered (its records indexed) before anything listens.
 */
export async function spoolingSinkFromConfig(
  config: Config,
  deps: { direct: RedisStreamSink; redis: RedisHealth; metrics?: Metrics; logger?: Logger; sightingOf?: SpoolingSinkOptions['sightingOf'] },
): Promise<SpoolingSink> {
  ensureDataDir(config.dataDir);
  const dir = join(config.dataDir, 'spool');
  let release: (() => void) | undefined;
  try {
    await SpoolStore.prepareDir(dir);
    release = lockSpoolDir(dir, config.dataDir);
    const ids = new SpooledIds();
    const store = await SpoolStore.open({ dir, maxBytes: config.spoolMaxBytes, logger: deps.logger, onRecord: (payload) => indexRecord(ids, payload) });
    const sink = new SpoolingSink({
      ...deps,
      store,
      ids,
      dedupWindowSeconds: config.dedupWindowSeconds,
      rejectedMarkerTtlSeconds: config.dedupWindowSeconds,
      onClosed: release,
    });
    deps.metrics?.spoolWith(() => sink.status());
    return sink;
  } catch (err) {
    release?.();
    if (err instanceof OrchardError) throw err;
    throw new DataDirError(`Cannot use the spool in ORCHARD_DATA_DIR=${config.dataDir} (${dir}): ${describeFsError(err)}. Give Orchard a writable data directory, or set ORCHARD_SPOOL=off to run without the spool.`, err);
  }
}

/** Adds a recovered record's ids to the index (a damaged one throws, and recovery moves it aside). */
function indexRecord(ids: SpooledIds, payload: Buffer): void {
  const entry = decodeEntry(payload);
  if (entry.kind === 'events') ids.add(entry.records.map((r) => SpooledIds.key(r.source, r.id)));
}

/** What /status shows of the spool. */
export interface SpoolStatus {
  readonly enabled: true;
  /** empty: nothing waits; spooling: events wait and Redis does not take appends; draining: they are going to Redis; full: no room. */
  readonly state: 'empty' | 'spooling' | 'draining' | 'full';
  readonly dir: string;
  readonly bytes: number;
  readonly maxBytes: number;
  /** Stream records (events and refused bodies) waiting to be drained. */
  readonly records: number;
  readonly oldestRecordAgeMs: number | null;
  readonly spooledTotal: number;
  readonly drainedTotal: number;
  readonly quarantinedBytes: number;
}

/** Room the spool must have for /readyz to say it can still take events. */
const readyRoomBytes = 64 * 1024;

export class SpoolingSink implements EventSink {
  readonly forwarder: SpoolForwarder;
  readonly #o: SpoolingSinkOptions;
  readonly #gate: RedisGate = { stalled: false };
  /** Spool writes not yet settled, for drain(). */
  readonly #writes = new Set<Promise<unknown>>();
  #spooledTotal = 0;

  constructor(options: SpoolingSinkOptions) {
    this.#o = options;
    const { store, direct, redis, ids, metrics, logger, sightingOf } = options;
    this.forwarder = new SpoolForwarder({ store, direct, redis, gate: this.#gate, ids, metrics, logger, sightingOf });
  }

  /** Appends go to Redis first (else straight to the spool). */
  get #redisFirst(): boolean {
    return this.#o.redis.status === 'ready' && !this.#gate.stalled;
  }

  append(record: StreamRecord): Promise<AppendResult> {
    const { ids, direct } = this.#o;
    if (ids.size > 0) {
      const key = SpooledIds.key(record.source, record.id);
      if (ids.has(key)) return this.#spooledDuplicate(key, record.id);
    }
    const window = this.#o.dedupWindowSeconds;
    if (!this.#redisFirst) return this.#spool([record], window, this.#whyNotRedis()).then((r) => r[0]!);
    return direct.append(record).catch((err: unknown) => this.#fallBack(err, [record], window).then((r) => r[0]!));
  }

  async appendAll(records: readonly StreamRecord[], options: { readonly dedupWindowSeconds?: number } = {}): Promise<AppendResult[]> {
    const window = options.dedupWindowSeconds ?? this.#o.dedupWindowSeconds;
    const { ids, direct } = this.#o;
    if (records.length === 0) return [];
    // Those still in the spool are duplicates; the others go on together.
    const results: (AppendResult | Promise<AppendResult>)[] = new Array(records.length);
    const rest: StreamRecord[] = [];
    const restAt: number[] = [];
    records.forEach((record, i) => {
      const key = ids.size > 0 ? SpooledIds.key(record.source, record.id) : undefined;
      if (key !== undefined && ids.has(key)) results[i] = this.#spooledDuplicate(key, record.id);
      else {
        rest.push(record);
        restAt.push(i);
      }
    });
    if (rest.length > 0) {
      const landed = this.#redisFirst
        ? await direct.appendAll(rest, { dedupWindowSeconds: window }).catch((err: unknown) => this.#fallBack(err, rest, window))
        : await this.#spool(rest, window, this.#whyNotRedis());
      landed.forEach((result, j) => (results[restAt[j]!] = result));
    }
    return Promise.all(results);
  }

  async appendRejected(record: RejectedRecord): Promise<string | undefined> {
    let reason = this.#whyNotRedis();
    if (this.#redisFirst) {
      try {
        return await this.#o.direct.appendRejected(record);
      } catch (err) {
        if (!(err instanceof SinkUnavailableError)) throw err;
        this.#stalled();
        reason = err.message;
      }
    }
    const now = Date.now();
    await this.#write(encodeRejected(record, randomBytes(16).toString('hex'), this.#o.rejectedMarkerTtlSeconds, now), 1, now, reason);
    return undefined;
  }

  /** Redis failed the append: the records go to the spool, and so does everything after them until Redis answers again. */
  async #fallBack(err: unknown, records: readonly StreamRecord[], window: number): Promise<AppendResult[]> {
    if (!(err instanceof SinkUnavailableError)) throw err;
    this.#stalled();
    return this.#spool(records, window, err.message);
  }

  /** Appends go to the spool at once until the forwarder's PING is answered (woken now, also if the spool then refuses). */
  #stalled(): void {
    this.#gate.stalled = true;
    this.forwarder.wake();
  }

  /** Writes the records as one spool record (one atomic drain); a second copy of an id in the same call is its duplicate, as Redis would answer. */
  async #spool(records: readonly StreamRecord[], window: number, reason: string): Promise<AppendResult[]> {
    const { ids } = this.#o;
    const results: (AppendResult | Promise<AppendResult>)[] = [];
    const keys: string[] = [];
    const unique: StreamRecord[] = [];
    const inCall = records.length > 1 ? new Set<string>() : undefined;
    for (const record of records) {
      const key = SpooledIds.key(record.source, record.id);
      if (ids.has(key)) results.push(this.#spooledDuplicate(key, record.id));
      else if (inCall?.has(key)) results.push({ id: record.id, entry: undefined, duplicate: true, spooled: true });
      else {
        inCall?.add(key);
        keys.push(key);
        unique.push(record);
        results.push({ id: record.id, entry: undefined, duplicate: false, spooled: true });
      }
    }
    if (unique.length > 0) {
      const now = Date.now();
      await this.#write(encodeEvents(unique, window, now), unique.length, now, reason, keys);
    }
    return Promise.all(results);
  }

  async #write(frame: Buffer, events: number, spooledAtMs: number, reason: string, keys: readonly string[] = []): Promise<void> {
    const { store, ids, metrics } = this.#o;
    const written = store.append(frame, events, spooledAtMs);
    ids.add(keys, written);
    this.#writes.add(written);
    try {
      await written;
    } catch (err) {
      metrics?.appendFailures.inc({ code: (err as OrchardError).code === 'ORCHARD_ERR_SPOOL_FULL' ? 'spool_full' : 'spool_io' });
      throw err;
    } finally {
      this.#writes.delete(written);
    }
    this.#spooledTotal += events;
    metrics?.spoolSpooled.inc(events);
    this.forwarder.spooled(reason);
  }

  async #spooledDuplicate(key: string, id: string): Promise<AppendResult> {
    await this.#o.ids.durable(key);
    return { id, entry: undefined, duplicate: true, spooled: true };
  }

  #whyNotRedis(): string {
    return this.#o.redis.status === 'ready' ? 'Redis did not answer an append in time; waiting for it to answer again.' : `Redis is not connected (${this.#o.redis.status}).`;
  }

  /**
   * Ready while Redis answers, or while the spool has room (degraded: it says why). Rejects when
   * neither is so: the node cannot durably take an event now.
   */
  async ping(timeoutMs: number): Promise<SinkHealth> {
    const { store, direct } = this.#o;
    let reason = this.#whyNotRedis();
    if (this.#redisFirst) {
      try {
        await direct.ping(timeoutMs);
        return store.waitingRecords > 0 ? { degraded: `Redis answers; ${store.waitingEvents} events from the local spool are being drained into it.` } : undefined;
      } catch (err) {
        reason = (err as Error).message;
      }
    }
    if (!store.hasRoomFor(Math.min(readyRoomBytes, store.maxBytes))) {
      throw new SpoolUnavailableError('ORCHARD_ERR_SPOOL_FULL', `${reason} The local spool is full (${store.bytes} of ${store.maxBytes} bytes, ORCHARD_SPOOL_MAX_BYTES).`);
    }
    return { degraded: `${reason} Events are kept in the local spool (${store.bytes} of ${store.maxBytes} bytes used) and drained into Redis once it answers.` };
  }

  status(): SpoolStatus {
    const { store } = this.#o;
    const oldest = store.oldestSpooledAtMs;
    const full = !store.hasRoomFor(Math.min(readyRoomBytes, store.maxBytes));
    return {
      enabled: true,
      state: full ? 'full' : store.waitingRecords === 0 ? 'empty' : this.forwarder.draining ? 'draining' : 'spooling',
      dir: store.dir,
      bytes: store.bytes,
      maxBytes: store.maxBytes,
      records: store.waitingEvents,
      oldestRecordAgeMs: oldest === undefined ? null : Math.max(0, Date.now() - oldest),
      spooledTotal: this.#spooledTotal,
      drainedTotal: this.forwarder.drainedTotal,
      quarantinedBytes: store.quarantinedBytes,
    };
  }

  /** Starts draining what the spool holds (and whatever is spooled later). */
  start(): void {
    this.forwarder.start();
  }

  async drain(): Promise<void> {
    await this.#o.direct.drain();
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
  }

  /** Stops the forwarder (after draining for up to `drainForMs` while Redis answers), then closes the spool's files. */
  async close(drainForMs = 0): Promise<void> {
    try {
      await this.drain();
      await this.forwarder.stop(drainForMs);
      await this.#o.store.close();
    } finally {
      this.#o.onClosed?.();
    }
  }
}
