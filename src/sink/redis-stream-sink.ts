import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { randomBytes } from 'node:crypto';
import { SinkUnavailableError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { ConnectorKeys } from '../connectors/connector-keys.ts';
import type { LuaScript, ScriptArg } from '../redis/lua-script.ts';
import { appendScript, dedupKeyOf, hashTagOf } from './append-script.ts';
import { pageScript, pageWideFields, perRecordFields, resetScript, uniformPageScript } from './page-script.ts';
import { contractVersion, recordFields, type RejectedRecord, type StreamRecord } from './stream-record.ts';
import { withTimeout } from './with-timeout.ts';
import { RespArguments } from '../redis/resp-arguments.ts';

export interface AppendResult {
  readonly id: string;
  /** The stream entry id: of the new entry, or of the first append when this was a duplicate. */
  readonly entry: string;
  readonly duplicate: boolean;
}

/** Where events go. The push routes depend on this, not on Redis. */
export interface EventSink {
  append(record: StreamRecord): Promise<AppendResult>;
  /**
   * Appends records in one atomic step, never split nor merged with other appends: a batch of pushed
   * alerts lands whole or not at all. Results in the records' order.
   */
  appendAll(records: readonly StreamRecord[], options?: { readonly dedupWindowSeconds?: number }): Promise<AppendResult[]>;
  appendRejected(record: RejectedRecord): Promise<string>;
  /** Resolves when the store answers within the timeout, else rejects. */
  ping(timeoutMs: number): Promise<void>;
  /** Waits for the appends already accepted to be acknowledged (or to fail). */
  drain(): Promise<void>;
}

export interface RedisStreamSinkOptions {
  readonly redis: Redis;
  readonly stream: string;
  readonly rejectedStream: string;
  /** Approximate cap of the rejected stream (XADD MAXLEN ~). Default 0: none. */
  readonly rejectedStreamMaxLen?: number;
  readonly dedupWindowSeconds: number;
  /** An append not acknowledged within this time fails with SinkUnavailableError. */
  readonly appendTimeoutMs: number;
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  /** Records per script call. */
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

function payloadBytes(record: StreamRecord): number {
  return typeof record.payload === 'string' ? record.payload.length : record.payload.byteLength;
}


/** A record of a pulled page, with the version it carries when its source is an inventory. */
export interface PageRecord {
  readonly record: StreamRecord;
  /** Object id in the connector's versions hash (a computer id); unset for events. */
  readonly versionField?: string;
  /** The object's version (its report date); the record is appended only when it differs from the stored one. */
  readonly versionValue?: string;
  /** false: remember the version without appending (reports older than the connector's `start`). */
  readonly append?: boolean;
  /** The stream key it goes to, when not the configured stream (`stream_per_service`); it must share the stream's hash tag in a Redis Cluster. */
  readonly stream?: string;
  /**
   * Appended only when its dedup key (source and id, the one the push routes use) is not set, which
   * it then sets for the commit's `dedupWindowSeconds`: for events that also arrive pushed.
   */
  readonly dedup?: boolean;
}

/** Where the page's checkpoint goes, and what fences the write. */
export interface PageCommit {
  readonly keys: ConnectorKeys;
  readonly leaseToken: string;
  /** The checkpoint sequence number the page was computed from. */
  readonly expectedSeq: number;
  /** Unique per page write: tells our own re-sent write from someone else's. */
  readonly writer: string;
  /** The new checkpoint, JSON. */
  readonly checkpoint: string;
  /** Stored beside each version (the inventory's scan number), for pruning objects no longer seen. */
  readonly stamp?: number;
  /** How long the dedup keys of `dedup` records are kept. Default: the sink's dedup window. */
  readonly dedupWindowSeconds?: number;
}

export type PageOutcome =
  | { readonly outcome: 'ok'; readonly appended: number; readonly duplicates: number }
  | { readonly outcome: 'lease_lost' }
  | { readonly outcome: 'stale'; readonly seq: number };

/** What pull connectors need from the sink: a page and its checkpoint in one atomic step. */
export interface PageSink {
  appendPage(records: readonly PageRecord[], commit: PageCommit): Promise<PageOutcome>;
  resetCheckpoint(keys: ConnectorKeys, writer: string, checkpoint: string): Promise<number>;
}

/** About the bytes a page's script arguments take: its records' texts and the checkpoint. */
function pageSizeHint(records: readonly PageRecord[], commit: PageCommit): number {
  let bytes = commit.checkpoint.length + 1024;
  for (const { record } of records) bytes += record.payload.length + record.indicators.length + record.id.length + 256;
  return bytes;
}

/** ARGV 1 to 4 of both page scripts, which their shared fence and commit read (page-script.ts). */
function pushFence(args: RespArguments, commit: PageCommit): RespArguments {
  return args.push(commit.leaseToken).push(commit.expectedSeq).push(commit.writer).push(commit.checkpoint);
}

/** The sink as the configuration describes it. */
export function sinkFromConfig(config: Config, redis: Redis, observers: { metrics?: Metrics; logger?: Logger } = {}): RedisStreamSink {
  return new RedisStreamSink({
    redis,
    stream: config.stream,
    rejectedStream: config.rejectedStream,
    rejectedStreamMaxLen: config.rejectedStreamMaxLen,
    dedupWindowSeconds: config.dedupWindowSeconds,
    appendTimeoutMs: config.appendTimeoutMs,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
    ...observers,
  });
}

/**
 * Appends records to a Redis stream idempotently and atomically. Appends that arrive in the same
 * event-loop turn are sent together as one script call (the batch), so the durable path costs about
 * one Redis round trip per turn rather than one per request.
 */
export class RedisStreamSink implements EventSink, PageSink {
  readonly #redis: Redis;
  readonly #options: Required<Omit<RedisStreamSinkOptions, 'metrics' | 'logger' | 'redis'>>;
  readonly #metrics: Metrics | undefined;
  readonly #logger: Logger | undefined;
  /** The events stream's hash tag, which its dedup keys share. */
  readonly #hashTag: string;
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
      maxBatch: options.maxBatch ?? 256,
      maxPending: options.maxPending ?? 20_000,
      maxPendingBytes: options.maxPendingBytes ?? 64 * 1024 * 1024,
    };
    this.#hashTag = hashTagOf(options.stream);
  }

  /** Runs one of the sink's scripts: `args` is the key count, the keys, then the arguments. */
  #script<T>(script: LuaScript, args: ScriptArg[]): Promise<T> {
    return script.runFlat<T>(this.#redis, args, this.#logger);
  }

  /** The key that remembers an appended id for the dedup window. */
  dedupKey(source: string, id: string): string {
    return dedupKeyOf(this.#hashTag, source, id);
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
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      const done = this.#send(batch).finally(() => this.#batches.delete(done));
      this.#batches.add(done);
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
    const appended = appendScript.runEncoded<(string | number)[]>(this.#redis, args, this.#logger).then(async (reply) => {
      await this.#waitForReplicas();
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
    const args = new RespArguments(sizeHint);
    args.push(1 + batch.length).push(this.#options.stream);
    for (const { record } of batch) args.push(this.dedupKey(record.source, record.id));
    args.push(dedupWindowSeconds).push(`${this.#noncePrefix}${(this.#batchCount++).toString(36)}`);
    for (const { record } of batch) for (const field of recordFields) args.push(record[field]);
    return args;
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

  async #waitForReplicas(): Promise<void> {
    const wanted = this.#options.waitReplicas;
    if (wanted === 0) return;
    const acked = await this.#redis.wait(wanted, this.#options.waitTimeoutMs);
    if (acked < wanted) {
      throw new SinkUnavailableError(
        `Only ${acked} of ${wanted} Redis replicas acknowledged within ${this.#options.waitTimeoutMs} ms (redis_wait_replicas).`,
      );
    }
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
    await withTimeout(this.#waitForReplicas(), this.#options.appendTimeoutMs, this.#timeoutMessage);
    return entry;
  }

  async ping(timeoutMs: number): Promise<void> {
    this.#assertReady();
    await withTimeout(this.#redis.ping(), timeoutMs, `Redis did not answer PING within ${timeoutMs} ms.`);
  }

  /**
   * Appends a pulled page and writes its checkpoint in one atomic step, fenced by the lease and the
   * checkpoint sequence (see page-script.ts). Not batched with the webhooks: a page is its own batch.
   * A timeout rejects with SinkUnavailableError; the write may still happen later (ioredis re-sends),
   * which the sequence fence makes harmless.
   */
  async appendPage(records: readonly PageRecord[], commit: PageCommit): Promise<PageOutcome> {
    this.#assertReady();
    const uniform = this.#uniformPageArguments(records, commit);
    const [script, args] = uniform ? [uniformPageScript, uniform] : [pageScript, this.#pageArguments(records, commit)];
    const written = script.runEncoded<[string, string]>(this.#redis, args, this.#logger).then(async (reply) => {
      if (reply[0] === 'ok') await this.#waitForReplicas();
      return reply;
    });
    const [outcome, detail] = await withTimeout(written, this.#pageTimeoutMs(records.length), this.#timeoutMessage);
    if (outcome === 'ok' || outcome === 'done') {
      const [appended, duplicates] = detail.split(' ').map(Number);
      return { outcome: 'ok', appended: appended ?? 0, duplicates: duplicates ?? 0 };
    }
    if (outcome === 'lease_lost') return { outcome };
    return { outcome: 'stale', seq: Number(detail) };
  }

  /** The page script's keys and arguments (page-script.ts). */
  #pageArguments(records: readonly PageRecord[], commit: PageCommit): RespArguments {
    // Records routed to other streams name them by their index in KEYS (5 onwards); dedup keys follow.
    const streams = new Map<string, number>([[this.#options.stream, 1]]);
    for (const { stream } of records) if (stream !== undefined && !streams.has(stream)) streams.set(stream, streams.size + 4);
    const extraStreams = [...streams.keys()].slice(1);
    const dedupKeys: string[] = [];
    for (const { record, dedup } of records) if (dedup) dedupKeys.push(this.dedupKey(record.source, record.id));
    const args = this.#pageKeys(records, commit, 4 + extraStreams.length + dedupKeys.length);
    for (const key of extraStreams) args.push(key);
    for (const key of dedupKeys) args.push(key);
    pushFence(args, commit)
      .push(commit.stamp === undefined ? '' : commit.stamp)
      .push(commit.dedupWindowSeconds ?? this.#options.dedupWindowSeconds)
      .push(records.length);
    let mark = 4 + extraStreams.length;
    for (const { record, versionField, versionValue, append, stream, dedup } of records) {
      args
        .push(versionField ?? '')
        .push(versionValue ?? '')
        .push(append === false ? '0' : '1')
        .push(stream === undefined ? 1 : streams.get(stream)!)
        .push(dedup ? ++mark : 0);
      for (const field of recordFields) args.push(record[field]);
    }
    return args;
  }

  /**
   * The uniform page script's keys and arguments, when the page is only events for the configured
   * stream that share source, tenant, connector and received; else undefined.
   */
  #uniformPageArguments(records: readonly PageRecord[], commit: PageCommit): RespArguments | undefined {
    const first = records[0]?.record;
    if (!first) return undefined;
    for (const { record, versionField, append, stream, dedup } of records) {
      if (versionField !== undefined || append === false || dedup || (stream !== undefined && stream !== this.#options.stream)) return undefined;
      for (const field of pageWideFields) if (record[field] !== first[field]) return undefined;
    }
    const args = this.#pageKeys(records, commit, 4);
    pushFence(args, commit).push(records.length);
    for (const field of pageWideFields) args.push(first[field]);
    for (const { record } of records) for (const field of perRecordFields) args.push(record[field]);
    return args;
  }

  /** A page's arguments, begun: the key count, then KEYS 1 to 4 of both page scripts (page-script.ts). */
  #pageKeys(records: readonly PageRecord[], commit: PageCommit, keyCount: number): RespArguments {
    return new RespArguments(pageSizeHint(records, commit))
      .push(keyCount)
      .push(this.#options.stream)
      .push(commit.keys.checkpoint)
      .push(commit.keys.lease)
      .push(commit.keys.versions);
  }

  /** A page of many records takes longer than one webhook: the append timeout, plus 1 ms per record, at least 10 s. */
  #pageTimeoutMs(records: number): number {
    return Math.max(10_000, this.#options.appendTimeoutMs + records);
  }

  async resetCheckpoint(keys: ConnectorKeys, writer: string, checkpoint: string): Promise<number> {
    this.#assertReady();
    const reset = this.#script<number>(resetScript, [2, keys.checkpoint, keys.versions, writer, checkpoint]);
    return Number(await withTimeout(reset, 10_000, this.#timeoutMessage));
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
