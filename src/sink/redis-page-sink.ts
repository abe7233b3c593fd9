import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { SinkUnavailableError } from '../errors.ts';
import { Keyspace } from '../redis/keyspace.ts';
import { RespArguments } from '../redis/resp-arguments.ts';
import { pageScript, pageWideFields, perRecordFields, uniformPageScript } from '../redis/scripts/page-scripts.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import { recordFields } from '../stream/stream-record.ts';
import type { PageCommit, PageOutcome, PageRecord, PageSink, WindowTallyCommit } from './event-sink.ts';
import { ReplicaWait } from './replica-wait.ts';

// A pulled page and its connector's new checkpoint, written to Redis in one atomic step (DESIGN.md,
// promise 3): the page scripts (page-scripts.ts) fenced by the connector's lease and checkpoint
// sequence. A page is its own batch: never merged with the push routes' appends.

export interface RedisPageSinkOptions {
  readonly redis: RedisClient;
  readonly stream: string;
  /** How long the dedup keys of `dedup` records are kept when the commit does not say. */
  readonly dedupWindowSeconds: number;
  /** The push path's append timeout: a page is given this, plus 1 ms per record, at least 10 s. */
  readonly appendTimeoutMs: number;
  /** Replicas that must acknowledge each page (redis_wait_replicas), and for how long to wait. */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  readonly logger?: Logger;
}

/** About the bytes a page's script arguments take: its records' texts (those sent whole) and the checkpoint. */
function pageSizeHint(records: readonly PageRecord[], commit: PageCommit, known?: Uint8Array): number {
  let bytes = commit.checkpoint.length + 1024;
  records.forEach((r, i) => {
    if (known?.[i] === 1) bytes += 128;
    else bytes += r.record.payload.length + r.record.indicators.length + r.record.id.length + 256;
  });
  return bytes;
}

/** ARGV 1 to 7 of both page scripts, which their shared fence and commit read (page-scripts.ts). */
function pushFence(args: RespArguments, commit: PageCommit): RespArguments {
  const tally = commit.tally;
  return args
    .push(commit.leaseToken)
    .push(commit.expectedSeq)
    .push(commit.writer)
    .push(commit.checkpoint)
    .push(tally?.name ?? '')
    .push(tally?.received ?? 0)
    .push(tally?.dropped ?? 0);
}


/** The keys the window tallies add after a page's own (KEYS from `first` on): the counts hash, then each group's id set. */
function windowKeys(windows: WindowTallyCommit | undefined): string[] {
  return windows ? [windows.countsKey, ...windows.groups.map((g) => g.idsKey)] : [];
}

/** The window tallies' arguments, after a page's records (page-scripts.ts, windowTallies); `first`: the index in KEYS of the counts hash. */
function pushWindows(args: RespArguments, windows: WindowTallyCommit | undefined, first: number): RespArguments {
  if (!windows) return args.push(0);
  args.push(windows.groups.length).push(first).push(windows.idsTtlSeconds).push(windows.setField?.field ?? '').push(windows.setField?.value ?? '');
  windows.groups.forEach((group, i) => {
    args.push(first + 1 + i).push(group.field).push(group.ids.length);
    for (const id of group.ids) args.push(id);
  });
  return args;
}

export class RedisPageSink implements PageSink {
  readonly #redis: RedisClient;
  readonly #options: RedisPageSinkOptions;
  readonly #keyspace: Keyspace;
  readonly #replicas: ReplicaWait;
  readonly #logger: Logger | undefined;

  constructor(options: RedisPageSinkOptions) {
    this.#redis = options.redis;
    this.#options = options;
    this.#keyspace = new Keyspace(options.stream);
    this.#replicas = new ReplicaWait(options.redis, options.waitReplicas ?? 0, options.waitTimeoutMs ?? 500);
    this.#logger = options.logger;
  }

  /**
   * Appends a pulled page and writes its checkpoint in one atomic step, fenced by the lease and the
   * checkpoint sequence (see page-scripts.ts). Not batched with the webhooks: a page is its own batch.
   * A timeout rejects with SinkUnavailableError; the write may still happen later (ioredis re-sends),
   * which the sequence fence makes harmless.
   */
  async appendPage(records: readonly PageRecord[], commit: PageCommit): Promise<PageOutcome> {
    this.#assertReady();
    const uniform = this.#uniformPageArguments(records, commit);
    const [script, args] = uniform ? [uniformPageScript, uniform] : [pageScript, this.#pageArguments(records, commit, await this.#storedAlready(records, commit))];
    const written = script.runEncoded<[string, string, string[]?]>(this.#redis, args, this.#logger, this.#keyspace.stream).then(async (reply) => {
      if (reply[0] === 'ok') await this.#replicas.wait(this.#keyspace.stream);
      return reply;
    });
    const [outcome, detail, flat] = await withTimeout(written, this.#pageTimeoutMs(records.length), this.#timeoutMessage);
    if (outcome === 'ok' || outcome === 'done') {
      const [appended, duplicates] = detail.split(' ').map(Number);
      const advanced: [string, string][] = [];
      for (let i = 0; flat && i + 1 < flat.length; i += 2) advanced.push([flat[i]!, flat[i + 1]!]);
      return { outcome: 'ok', appended: appended ?? 0, duplicates: duplicates ?? 0, ...(advanced.length > 0 ? { advanced } : {}) };
    }
    if (outcome === 'lease_lost') return { outcome };
    return { outcome: 'stale', seq: Number(detail) };
  }

  /**
   * Which records carry a version the versions hash already holds (one HMGET for the page): the page
   * script gets only their version, not their fields (flag '2', page-scripts.ts). An inventory run
   * finds most computers unchanged; sent whole, each cost Redis about 38 µs of parsing its 2 KB report
   * into Lua strings only to drop it (an unchanged 1000-computer page: 38 ms of Redis), and Orchard
   * its encoding. Undefined when no record has a version.
   */
  async #storedAlready(records: readonly PageRecord[], commit: PageCommit): Promise<Uint8Array | undefined> {
    const fields: string[] = [];
    // A field twice in one page (a page shift) may change within the page: those are sent whole.
    const seen = new Map<string, number>();
    for (const { versionField } of records) {
      if (versionField === undefined) continue;
      fields.push(versionField);
      seen.set(versionField, (seen.get(versionField) ?? 0) + 1);
    }
    if (fields.length === 0) return undefined;
    const stored = await withTimeout(this.#redis.hmget(commit.keys.versions, ...fields), this.#pageTimeoutMs(fields.length), this.#timeoutMessage);
    const known = new Uint8Array(records.length);
    let at = 0;
    records.forEach(({ versionField, versionValue, removal }, i) => {
      if (versionField === undefined) return;
      const value = stored[at++];
      // A removal names the version as stored: it is always sent, to be appended while that holds.
      if (removal) return;
      const version = versionValue ?? '';
      // Stored as "<version>" or "<version>|<scan stamp>".
      if (seen.get(versionField) !== 1) return;
      if (value === version || (value !== null && value !== undefined && value.startsWith(`${version}|`))) known[i] = 1;
    });
    return known;
  }

  /** The page script's keys and arguments (page-scripts.ts); `known`: records whose version is stored already (sent without their fields). */
  #pageArguments(records: readonly PageRecord[], commit: PageCommit, known: Uint8Array | undefined): RespArguments {
    // Records routed to other streams name them by their index in KEYS (5 onwards); dedup keys follow.
    const streams = new Map<string, number>([[this.#options.stream, 1]]);
    for (const { stream } of records) if (stream !== undefined && !streams.has(stream)) streams.set(stream, streams.size + 4);
    const extraStreams = [...streams.keys()].slice(1);
    const dedupKeys: string[] = [];
    for (const r of records) if (r.dedup) dedupKeys.push(this.#keyspace.dedup(r.record.source, r.record.id));
    const tallies = windowKeys(commit.windows);
    const args = this.#pageKeys(records, commit, 4 + extraStreams.length + dedupKeys.length + tallies.length, known);
    for (const key of extraStreams) args.push(key);
    for (const key of dedupKeys) args.push(key);
    for (const key of tallies) args.push(key);
    pushFence(args, commit)
      .push(commit.stamp === undefined ? '' : commit.stamp)
      .push(commit.dedupWindowSeconds ?? this.#options.dedupWindowSeconds)
      .push(records.length);
    let mark = 4 + extraStreams.length;
    records.forEach((r, i) => {
      const sent = known?.[i] !== 1;
      args
        .push(r.versionField ?? '')
        .push(r.versionValue ?? '')
        .push(!sent ? '2' : r.removal ? 'r' : r.append === false ? '0' : r.device ? 'w' : '1')
        .push(r.stream === undefined ? 1 : streams.get(r.stream)!)
        .push(r.dedup ? ++mark : 0);
      if (sent) {
        const record = r.record;
        for (const field of recordFields) args.push(record[field]);
      }
    });
    return pushWindows(args, commit.windows, 5 + extraStreams.length + dedupKeys.length);
  }

  /**
   * The uniform page script's keys and arguments, when the page is only events for the configured
   * stream that share source, tenant, connector and received; else undefined.
   */
  #uniformPageArguments(records: readonly PageRecord[], commit: PageCommit): RespArguments | undefined {
    if (records.length === 0) return undefined;
    // Versions first: an inventory's records are built when read (inventory-record.ts).
    for (const { versionField, append, stream, dedup } of records) {
      if (versionField !== undefined || append === false || dedup || (stream !== undefined && stream !== this.#options.stream)) return undefined;
    }
    const first = records[0]!.record;
    for (const { record } of records) for (const field of pageWideFields) if (record[field] !== first[field]) return undefined;
    const tallies = windowKeys(commit.windows);
    const args = this.#pageKeys(records, commit, 4 + tallies.length);
    for (const key of tallies) args.push(key);
    pushFence(args, commit).push(records.length);
    for (const field of pageWideFields) args.push(first[field]);
    for (const { record } of records) for (const field of perRecordFields) args.push(record[field]);
    return pushWindows(args, commit.windows, 5);
  }

  /** A page's arguments, begun: the key count, then KEYS 1 to 4 of both page scripts (page-scripts.ts). */
  #pageKeys(records: readonly PageRecord[], commit: PageCommit, keyCount: number, known?: Uint8Array): RespArguments {
    return new RespArguments(pageSizeHint(records, commit, known))
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

  get #timeoutMessage(): string {
    return `Redis did not acknowledge within ${this.#options.appendTimeoutMs} ms (append_timeout_ms).`;
  }

  #assertReady(): void {
    if (this.#redis.status !== 'ready') throw new SinkUnavailableError(`Redis is not connected (${this.#redis.status}).`);
  }
}
