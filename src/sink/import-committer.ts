import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { ImportConflictError } from '../errors.ts';
import { Keyspace } from '../redis/keyspace.ts';
import { importFixedKeys, importScript } from '../redis/scripts/import-script.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import { formatTime, recordFields, type StreamRecord } from '../stream/stream-record.ts';
import { ReplicaWait } from './replica-wait.ts';

// The store side of `orchard import`: a file's batches committed in order by the import script
// (import-script.ts), which appends a batch's records and refused lines and moves the file's progress
// record on in one atomic step, fenced on the count the batch started from.

/** A line refused by the import, for the rejected stream. */
export interface RejectedRow {
  readonly code: string;
  /** The kind of a line refused as another kind than --type. */
  readonly detected?: string;
  readonly reason: string;
  readonly source: string;
  readonly received: string;
  readonly payload: string;
}

export interface ImportBatch {
  readonly records: StreamRecord[];
  readonly rejected: RejectedRow[];
  bytes: number;
  /** Lines consumed before this batch (what the progress record holds when it is committed). */
  readonly startLines: number;
  /** Lines consumed once this batch is committed (the progress record's new `lines`). */
  endLines: number;
}

export interface ImportCommitterOptions {
  readonly redis: RedisClient;
  readonly stream: string;
  readonly rejectedStream: string;
  /** The rejected stream's approximate cap (XADD MAXLEN ~); 0 or unset: none. */
  readonly rejectedStreamMaxLen?: number;
  /** The file's progress record (Keyspace.importProgress). */
  readonly progressKey: string;
  /** What the file is called in the progress record and in errors. */
  readonly fileName: string;
  /** `lines` the progress record holds: what earlier runs committed. */
  readonly committedLines: number;
  /** Replicas that must acknowledge each batch (redis_wait_replicas), and for how long to wait. */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  /** How long one batch may take to be acknowledged. Default 60 s. */
  readonly commitTimeoutMs?: number;
  /** Told of each batch committed on the primary, with how many of its records were in the stream already. */
  readonly onCommitted: (batch: ImportBatch, duplicates: number) => void;
  readonly logger?: Logger;
}

type ScriptReply = [string, string, string];

/** The `remote` of refused lines and the `connector` of imported records. */
export const importConnector = 'import';

/** Commits a file's batches in order, two in flight at most, fenced on the progress record. */
export class ImportCommitter {
  readonly #o: ImportCommitterOptions;
  readonly #keyspace: Keyspace;
  readonly #replicas: ReplicaWait;
  readonly #inFlight: Promise<void>[] = [];
  readonly #nonce = randomBytes(6).toString('base64url');
  #batches = 0;
  /** `lines` the next batch expects to find in the progress record. */
  #sentLines: number;

  constructor(options: ImportCommitterOptions) {
    this.#o = options;
    this.#keyspace = new Keyspace(options.stream);
    this.#replicas = new ReplicaWait(options.redis, options.waitReplicas ?? 0, options.waitTimeoutMs ?? 500);
    this.#sentLines = options.committedLines;
  }

  /** Sends a batch once fewer than two are in flight; throws the error of an earlier batch that failed. */
  async send(batch: ImportBatch, done: boolean): Promise<void> {
    while (this.#inFlight.length >= 2) await this.#inFlight.shift();
    const sent = this.#commit(batch, done);
    sent.catch(() => {});
    this.#inFlight.push(sent);
  }

  /** Waits for every batch sent; throws the first failure (after all of them settled). */
  async drain(): Promise<void> {
    const pending = this.#inFlight.splice(0);
    const results = await Promise.allSettled(pending);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #commit(batch: ImportBatch, done: boolean): Promise<void> {
    const o = this.#o;
    const expected = this.#sentLines;
    this.#sentLines = batch.endLines;
    const args: (string | number)[] = [importFixedKeys + batch.records.length, o.stream, o.rejectedStream, o.progressKey];
    for (const record of batch.records) args.push(this.#keyspace.dedup(record.source, record.id)); // read, never set, by an import
    args.push(
      String(expected),
      String(batch.endLines),
      `${this.#nonce}.${(this.#batches++).toString(36)}`,
      o.fileName,
      formatTime(Date.now()),
      done ? '1' : '0',
      batch.records.length,
      batch.rejected.length,
      o.rejectedStreamMaxLen ?? 0,
    );
    for (const record of batch.records) for (const field of recordFields) args.push(record[field] as string);
    for (const r of batch.rejected) args.push(r.reason, r.source, r.received, importConnector, r.payload);
    const call = importScript.runFlat<ScriptReply>(o.redis, args, o.logger);
    const timeoutMs = o.commitTimeoutMs ?? 60_000;
    const [outcome, lines, duplicates] = await withTimeout(call, timeoutMs, `Redis did not acknowledge a batch of the import within ${timeoutMs} ms.`);
    if (outcome === 'stale') throw new ImportConflictError(o.fileName, expected, Number(lines));
    // Committed on the primary ('ok', or 'done' for a batch ioredis sent again): counted.
    o.onCommitted(batch, Number(duplicates));
    await withTimeout(this.#replicas.wait(o.stream), timeoutMs, `Redis did not answer WAIT within ${timeoutMs} ms.`);
  }
}
