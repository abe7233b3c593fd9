import type { ConnectorKeys } from '../redis/keyspace.ts';
import type { RejectedRecord, StreamRecord } from '../stream/stream-record.ts';

// What the push routes and the pull engine need from the store, apart from how Redis does it
// (redis-stream-sink.ts, redis-page-sink.ts): the routes and connectors depend on these interfaces.

export interface AppendResult {
  readonly id: string;
  /**
   * The stream entry id: of the new entry, or of the first append when this was a duplicate.
   * Undefined when the record is spooled: on this node's disk, in the stream later.
   */
  readonly entry: string | undefined;
  readonly duplicate: boolean;
  /** True when Redis could not take it and it is in the local spool (src/spool/), drained into the stream once Redis is back. */
  readonly spooled?: boolean;
}

/** What `ping` found: nothing when all is well, a reason when the sink still takes work but degraded (the spool takes it). */
export type SinkHealth = { readonly degraded: string } | undefined;

/** Where pushed events go. */
export interface EventSink {
  append(record: StreamRecord): Promise<AppendResult>;
  /**
   * Appends records in one atomic step, never split nor merged with other appends: a batch of pushed
   * alerts lands whole or not at all. Results in the records' order.
   */
  appendAll(records: readonly StreamRecord[], options?: { readonly dedupWindowSeconds?: number }): Promise<AppendResult[]>;
  /** The entry id in the rejected stream; undefined when the refusal is spooled. */
  appendRejected(record: RejectedRecord): Promise<string | undefined>;
  /** Resolves when the sink can durably take work within the timeout (saying so when degraded), else rejects. */
  ping(timeoutMs: number): Promise<SinkHealth>;
  /** Waits for the appends already accepted to be acknowledged (or to fail). */
  drain(): Promise<void>;
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
  /**
   * A removal record (inventory snapshots): appended only while the versions hash holds exactly
   * `versionValue` (as stored, with its stamp) for `versionField`, which is then forgotten in the same step.
   */
  readonly removal?: boolean;
  /**
   * The device the record is about (an inventory's computer): when the versions hash held an older
   * version of it, the page's outcome names it in `advanced` (the missed-webhook check).
   */
  readonly device?: { readonly serial?: string; readonly udid?: string; readonly reportMs?: number };
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
  /**
   * Counts the page under this tally in the checkpoint hash, in the same step: pages, received, appended
   * and duplicates (those the script finds plus `dropped`, the ones the source already dropped).
   */
  readonly tally?: { readonly name: string; readonly received: number; readonly dropped: number };
  /** The ids the page appends, by the closed window they fall in, counted in the same step (page-scripts.ts). */
  readonly windows?: WindowTallyCommit;
}

/** The window tallies of a page, as keys: each group's ids go to its id set and are counted in the counts hash. */
export interface WindowTallyCommit {
  readonly countsKey: string;
  readonly idsTtlSeconds: number;
  /** Set with the page (where counting began, again, for an organization). */
  readonly setField?: { readonly field: string; readonly value: string };
  readonly groups: readonly { readonly idsKey: string; readonly field: string; readonly ids: readonly string[] }[];
}

export type PageOutcome =
  | {
      readonly outcome: 'ok';
      readonly appended: number;
      readonly duplicates: number;
      /** The version fields of records with a `device` whose stored version was older, each with that version (absent for a page re-sent). */
      readonly advanced?: readonly (readonly [field: string, previous: string])[];
    }
  | { readonly outcome: 'lease_lost' }
  | { readonly outcome: 'stale'; readonly seq: number };

/** What pull connectors need from the sink: a page and its checkpoint in one atomic step. */
export interface PageSink {
  appendPage(records: readonly PageRecord[], commit: PageCommit): Promise<PageOutcome>;
}
