import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load-config.ts';
import { SinkUnavailableError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { Keyspace, spooledRejectedMarker } from '../redis/keyspace.ts';
import { RespArguments } from '../redis/resp-arguments.ts';
import { appendScript } from '../redis/scripts/append-script.ts';
import { rejectedOnceScript } from '../redis/scripts/rejected-once-script.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import { contractVersion, recordFields, type RejectedRecord, type StreamRecord } from '../stream/stream-record.ts';
import type { AppendResult, EventSink, SinkHealth } from './event-sink.ts';
import { RedisPageSink } from './redis-page-sink.ts';
import { ReplicaWait } from './replica-wait.ts';

export interface RedisStreamSinkOptions {
  readonly redis: RedisClient;
  readonly stream: string;
  readonly rejectedStream: string;
  /** Approximate cap of the rejected stream (XADD MAXLEN ~). Default 0: none. */
  readonly rejectedStreamMaxLen?: number;
  readonly dedupWindowSeconds: number;
  /** An append not acknowledged within this time fails with SinkUnavailableError. */
  readonly appendTimeoutMs: number;
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  /** Records per script call at most (default appendChunkRecords). */
  readonly maxBatch?: number;
  /**
   * Records, and payload bytes, waiting or in flight beyond which new appends fail at once. An append
   * that timed out stays counted until Redis answers it (ioredis keeps it queued), so memory stays
   * bounded however long Redis stalls.
   */
  readonly maxPending?: number;
  readonly maxPendingBytes?: number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
}

interface Pending {
  readonly record: StreamRecord;
  /** Payload size, counted against maxPendingBytes until Redis answers. */
  readonly bytes: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (err: Error) => void;
}

/** A serial or UDID as a sighting carries it ('|' separates the parts; neither ever holds one). */
const barless = (id: string | undefined) => (id === undefined || id.includes('|') ? '' : id);

/**
 * Records per append script call when a turn's appends are more. Chunks, sent one after the other,
 * let Redis answer the first records while it runs the script for the next, and Orchard answer those
 * requests meanwhile, instead of every request of the turn waiting for one long script (about 17 µs
 * of Redis a record with appendonly everysec). Measured with `npm run bench`, wrk at 50 connections on
 * the shared 2-core VM, interleaved with the same build at 256 (one call a turn, ~30 records): 1.06
 * to 1.3 of its requests/s at 8 and 16, the same CPU per request; 16 keeps the calls fewer.
 */
const appendChunkRecords = 16;

function payloadBytes(record: StreamRecord): number {
  return typeof record.payload === 'string' ? record.payload.length : record.payload.byteLength;
}

/** The push routes' sink and the connectors' page sink, as the configuration describes them. */
export function sinksFromConfig(config: Config, redis: RedisClient, observers: { metrics?: Metrics; logger?: Logger } = {}): { events: RedisStreamSink; pages: RedisPageSink } {
  const common = {
    redis,
    stream: config.stream,
    dedupWindowSeconds: config.dedupWindowSeconds,
    appendTimeoutMs: config.appendTimeoutMs,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
    logger: observers.logger,
  };
  return {
    events: new RedisStreamSink({ ...common, rejectedStream: config.rejectedStream, rejectedStreamMaxLen: config.rejectedStreamMaxLen, metrics: observers.metrics }),
    pages: new RedisPageSink(common),
  };
}

/**
 * Appends records to a Redis stream idempotently and atomically. Appends that arrive in the same
 * event-loop turn are sent together as one script call (the batch), so the durable path costs about
 * one Redis round trip per turn rather than one per request.
 */
export class RedisStreamSink implements EventSink {
  readonly #redis: RedisClient;
  readonly #options: Required<Omit<RedisStreamSinkOptions, 'metrics' | 'logger' | 'redis'>>;
  readonly #metrics: Metrics | undefined;
  readonly #logger: Logger | undefined;
  readonly #keyspace: Keyspace;
  readonly #replicas: ReplicaWait;
  #queue: Pending[] = [];
  #scheduled = false;
  /** Records and payload bytes accepted and not yet answered by Redis. */
  #pending = 0;
  #pendingBytes = 0;
  #failures = 0;
  #lastFailureLogMs = 0;
  /** Batch nonces: unique per process (random prefix) and per batch (counter). */
  readonly #noncePrefix = randomBytes(6).toString('base64url');
  #batchCount = 0;
  readonly #batches = new Set<Promise<void>>();
  readonly #deviceHashes = new Map<string, string>();

  constructor(options: RedisStreamSinkOptions) {
    this.#redis = options.redis;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#options = {
      stream: options.stream,
      rejectedStream: options.rejectedStream,
      rejectedStreamMaxLen: options.rejectedStreamMaxLen ?? 0,
      dedupWindowSeconds: options.dedupWindowSeconds,
      appendTimeoutMs: options.appendTimeoutMs,
      waitReplicas: options.waitReplicas ?? 0,
      waitTimeoutMs: options.waitTimeoutMs ?? 500,
      maxBatch: options.maxBatch ?? appendChunkRecords,
      maxPending: options.maxPending ?? 20_000,
      maxPendingBytes: options.maxPendingBytes ?? 64 * 1024 * 1024,
    };
    this.#keyspace = new Keyspace(options.stream);
    this.#replicas = new ReplicaWait(options.redis, this.#options.waitReplicas, this.#options.waitTimeoutMs);
  }

  /** The key that remembers an appended id for the dedup window. */
  dedupKey(source: string, id: string): string {
    return this.#keyspace.dedup(source, id);
  }

  /** Counts records against the backlog limits, or says why they cannot be taken. */
  #admit(records: number, bytes: number): SinkUnavailableError | undefined {
    if (this.#redis.status !== 'ready') {
      this.#metrics?.appendFailures.inc({ code: 'redis_not_ready' });
      return this.#notReady();
    }
    if (this.#pending + records > Math.max(this.#options.maxPending, records) || this.#pendingBytes + bytes > Math.max(this.#options.maxPendingBytes, bytes)) {
      this.#metrics?.appendFailures.inc({ code: 'backlog_full' });
      return new SinkUnavailableError('Redis is not keeping up: too many appends are waiting for it.');
    }
    this.#pending += records;
    this.#pendingBytes += bytes;
    return undefined;
  }

  append(record: StreamRecord): Promise<AppendResult> {
    const bytes = payloadBytes(record);
    const refused = this.#admit(1, bytes);
    if (refused) return Promise.reject(refused);
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ record, bytes, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    // The turn's script calls leave in one socket write (ioredis writes each call at once, and #send
    // reaches that write before its first await): a write is a system call that costs as much as the
    // calls' encoding. Redis still runs them one after the other and answers each. (A Cluster client
    // has a connection per node, and is not corked.)
    const socket = 'stream' in this.#redis ? this.#redis.stream : undefined;
    socket?.cork();
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#options.maxBatch);
        const done = this.#send(batch).finally(() => this.#batches.delete(done));
        this.#batches.add(done);
      }
    } finally {
      socket?.uncork();
    }
  }

  async appendAll(records: readonly StreamRecord[], options: { readonly dedupWindowSeconds?: number } = {}): Promise<AppendResult[]> {
    if (records.length === 0) return [];
    let bytes = 0;
    for (const record of records) bytes += payloadBytes(record);
    const refused = this.#admit(records.length, bytes);
    if (refused) throw refused;
    const batch: Pending[] = [];
    const results = records.map((record) => new Promise<AppendResult>((resolve, reject) => batch.push({ record, bytes: payloadBytes(record), resolve, reject })));
    const done = this.#send(batch, options.dedupWindowSeconds).finally(() => this.#batches.delete(done));
    this.#batches.add(done);
    return Promise.all(results);
  }

  async #send(batch: Pending[], dedupWindowSeconds = this.#options.dedupWindowSeconds): Promise<void> {
    const args = this.#appendArguments(batch, dedupWindowSeconds);
    let bytes = 0;
    for (const p of batch) bytes += p.bytes;
    const started = performance.now();
    const appended = appendScript.runEncoded<(string | number)[]>(this.#redis, args, this.#logger, this.#options.stream).then(async (reply) => {
      await this.#replicas.wait(this.#options.stream);
      return reply;
    });
    // Counted until Redis answers, even when the caller was already answered 503 on the timeout.
    const release = () => this.#release(batch.length, bytes);
    appended.then(release, release);
    try {
      const reply = await withTimeout(appended, this.#options.appendTimeoutMs, this.#timeoutMessage);
      this.#metrics?.appendDuration.observe((performance.now() - started) / 1000);
      this.#metrics?.appendBatchSize.observe(batch.length);
      batch.forEach((p, i) => {
        const entry = String(reply[2 * i]);
        const duplicate = Number(reply[2 * i + 1]) === 0;
        p.resolve({ id: p.record.id, entry, duplicate });
      });
    } catch (err) {
      const failure = err as SinkUnavailableError;
      this.#metrics?.appendFailures.inc({ code: failure.cause === undefined ? 'timeout' : 'redis_error' });
      this.#logFailure(failure, batch.length);
      for (const p of batch) p.reject(failure);
    }
  }

  /**
   * The append script's keys and arguments (append-script.ts), encoded here rather than by ioredis,
   * whose per-argument handling (copies, `flat()`, a byte length each) cost the webhook path more than
   * writing them once.
   */
  #appendArguments(batch: readonly Pending[], dedupWindowSeconds: number): RespArguments {
    let sizeHint = 64;
    for (const { record, bytes } of batch) sizeHint += bytes + record.indicators.length + 2 * record.id.length + 256;
    // Device hashes of the batch's sightings (one per tenant), after the dedup keys.
    const hashes = new Map<string, number>();
    for (const { record } of batch) {
      if (record.device && !hashes.has(record.tenant)) hashes.set(record.tenant, 2 + batch.length + hashes.size);
    }
    const args = new RespArguments(sizeHint);
    args.push(1 + batch.length + hashes.size).push(this.#options.stream);
    for (const { record } of batch) args.push(this.dedupKey(record.source, record.id));
    for (const tenant of hashes.keys()) args.push(this.#deviceHash(tenant));
    args.push(dedupWindowSeconds).push(`${this.#noncePrefix}${(this.#batchCount++).toString(36)}`).push(batch.length);
    for (const { record } of batch) {
      for (const field of recordFields) args.push(record[field]);
      const d = record.device;
      args.push(d ? `${hashes.get(record.tenant)}|${Math.max(0, Math.round(d.atMs))}|${barless(d.serial)}|${barless(d.udid)}` : '');
    }
    return args;
  }

  /** The device hash of a tenant (keyspace.ts), made once per tenant. */
  #deviceHash(tenant: string): string {
    let key = this.#deviceHashes.get(tenant);
    if (key === undefined) this.#deviceHashes.set(tenant, (key = this.#keyspace.webhookDevices(tenant)));
    return key;
  }

  #release(records: number, bytes: number): void {
    this.#pending -= records;
    this.#pendingBytes -= bytes;
  }

  /** One warning per 5 s at most while appends fail, with how many failed since the last one. */
  #logFailure(failure: Error, records: number): void {
    this.#failures += records;
    const now = Date.now();
    if (now - this.#lastFailureLogMs < 5000) return;
    this.#logger?.warn({ reason: failure.message, failedRecords: this.#failures }, 'Appends are failing; answering 503.');
    this.#failures = 0;
    this.#lastFailureLogMs = now;
  }

  get #timeoutMessage(): string {
    return `Redis did not acknowledge within ${this.#options.appendTimeoutMs} ms (append_timeout_ms).`;
  }

  #notReady(): SinkUnavailableError {
    return new SinkUnavailableError(`Redis is not connected (${this.#redis.status}).`);
  }

  #assertReady(): void {
    if (this.#redis.status !== 'ready') throw this.#notReady();
  }

  async appendRejected(record: RejectedRecord): Promise<string> {
    this.#assertReady();
    const cap = this.#options.rejectedStreamMaxLen;
    const xadd = this.#redis.call(
      'XADD',
      this.#options.rejectedStream,
      ...(cap > 0 ? ['MAXLEN', '~', cap] : []),
      '*',
      'v',
      contractVersion,
      'reason',
      record.reason,
      'source',
      record.source,
      'received',
      record.received,
      'remote',
      record.remote,
      'payload',
      record.payload,
    ) as Promise<string>;
    const entry = await withTimeout(xadd, this.#options.appendTimeoutMs, this.#timeoutMessage);
    await withTimeout(this.#replicas.wait(this.#options.rejectedStream), this.#options.appendTimeoutMs, this.#timeoutMessage);
    return entry;
  }

  /**
   * A refused body drained from the local spool: appended to the rejected stream once however often it
   * is sent (rejected-once-script.ts), `marker` naming the spooled record.
   */
  async appendRejectedOnce(record: RejectedRecord, marker: string, markerTtlSeconds: number): Promise<string> {
    this.#assertReady();
    const keys = [this.#options.rejectedStream, spooledRejectedMarker(this.#options.rejectedStream, marker)];
    const args = [markerTtlSeconds, this.#options.rejectedStreamMaxLen, record.reason, record.source, record.received, record.remote, record.payload];
    const entry = await withTimeout(rejectedOnceScript.run<string>(this.#redis, keys, args, this.#logger), this.#options.appendTimeoutMs, this.#timeoutMessage);
    await withTimeout(this.#replicas.wait(this.#options.rejectedStream), this.#options.appendTimeoutMs, this.#timeoutMessage);
    return entry;
  }

  /**
   * Whether an append can be made now: asked of the node that holds the stream (EXISTS on its key; on a
   * Redis Cluster that is the primary of its slot, which a PING to any node would not prove answers).
   */
  async ping(timeoutMs: number): Promise<SinkHealth> {
    this.#assertReady();
    await withTimeout(this.#redis.exists(this.#options.stream), timeoutMs, `Redis did not answer within ${timeoutMs} ms.`);
    return undefined;
  }

  /** Records accepted and not yet answered by Redis. */
  get pendingRecords(): number {
    return this.#pending;
  }

  async drain(): Promise<void> {
    while (this.#scheduled || this.#queue.length > 0 || this.#batches.size > 0) {
      if (this.#scheduled || this.#queue.length > 0) await new Promise((r) => setImmediate(r));
      await Promise.allSettled([...this.#batches]);
    }
  }
}
