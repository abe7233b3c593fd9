import type { RedisClient } from '../redis/redis-client.ts';
import type { ConnectorConfig } from '../config/load-config.ts';
import { Keyspace, type ConnectorKeys } from '../redis/keyspace.ts';
import { pruneVersionsScript, resetScript } from '../redis/scripts/connector-state-scripts.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import { tallyFieldPrefix } from '../redis/scripts/page-scripts.ts';
import { emptyCheckpoint, writerId, type Checkpoint, type StoredCheckpoint, type Tally } from './checkpoint.ts';
import { ConnectorLease } from './connector-lease.ts';
import { WindowStore } from './window-store.ts';

// The one owner of a pull connector's state in Redis: its checkpoint (read, reset), its lease, and
// the versions an inventory remembers (counted, pruned). The page write itself, which moves the
// checkpoint on in the same atomic step as the records, is the page sink's (redis-page-sink.ts), fenced
// on what this store reads: the lease token and the checkpoint's sequence number.

export class ConnectorStateStore {
  readonly #redis: RedisClient;
  readonly #keyspace: Keyspace;
  readonly #timeoutMs: number;

  /** `stream`: the events stream whose hash tag the connectors' keys carry. */
  constructor(redis: RedisClient, stream: string, options: { readonly timeoutMs?: number } = {}) {
    this.#redis = redis;
    this.#keyspace = new Keyspace(stream);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The connectors' window counts and their verification's state (docs/completeness.md). */
  windows(): WindowStore {
    return new WindowStore(this.#redis, this.#keyspace, this.#timeoutMs);
  }

  keys(connector: string): ConnectorKeys {
    return this.#keyspace.connector(connector);
  }

  /** The stored checkpoint, its sequence number, how many versions are remembered and its tallies. */
  async read<C = unknown>(connector: string): Promise<StoredCheckpoint<C>> {
    const keys = this.keys(connector);
    const read = Promise.all([this.#redis.hgetall(keys.checkpoint), this.#redis.hlen(keys.versions)]);
    const [hash, versions] = await withTimeout(read, this.#timeoutMs, `Redis did not answer within ${this.#timeoutMs} ms while reading a checkpoint.`);
    const { seq, data } = hash;
    let checkpoint: Checkpoint<C> | undefined;
    if (data) {
      try {
        checkpoint = JSON.parse(data) as Checkpoint<C>;
      } catch {
        checkpoint = undefined;
      }
    }
    return { seq: Number(seq ?? 0), checkpoint, versions, tallies: talliesOf(hash) };
  }

  /**
   * Forgets a connector's progress: its cursor and the versions it remembers, so the next run starts
   * again from `since` (or the config's `start`, or the beginning) and inventories reload in full.
   */
  async reset(connector: Pick<ConnectorConfig, 'name' | 'type' | 'start'>, since?: string): Promise<Checkpoint> {
    const checkpoint = emptyCheckpoint(connector, since ?? connector.start ?? null);
    const keys = this.keys(connector.name);
    const reset = resetScript.run<number>(this.#redis, [keys.checkpoint, keys.versions], [writerId(), JSON.stringify(checkpoint)]);
    await withTimeout(reset, this.#timeoutMs, `Redis did not acknowledge within ${this.#timeoutMs} ms while resetting a checkpoint.`);
    return checkpoint;
  }

  /** The lease object of a connector (not yet taken). */
  lease(connector: string, ttlMs: number, holder: string): ConnectorLease {
    return new ConnectorLease({ redis: this.#redis, key: this.keys(connector).lease, ttlMs, holder });
  }

  /**
   * The last check-in or inventory webhook time (ms) the push route saw for each `serial:` / `udid:`
   * field of a tenant's devices; undefined when it never saw one for the tenant (no webhooks to compare).
   */
  async webhookSightings(tenant: string, fields: readonly string[]): Promise<(number | undefined)[] | undefined> {
    const key = this.#keyspace.webhookDevices(tenant);
    const read = Promise.all([this.#redis.exists(key), fields.length === 0 ? Promise.resolve([]) : this.#redis.hmget(key, ...fields)]);
    const [exists, values] = await withTimeout(read, this.#timeoutMs, `Redis did not answer within ${this.#timeoutMs} ms while reading webhook sightings.`);
    return exists === 0 ? undefined : values.map((v) => (v === null ? undefined : Number(v)));
  }

  /** Who holds a connector's lease now, read without taking it. */
  async leaseHolder(connector: string): Promise<{ holder: string; ttlMs: number } | undefined> {
    const key = this.keys(connector).lease;
    const [value, ttl] = await Promise.all([this.#redis.get(key), this.#redis.pttl(key)]);
    if (value === null) return undefined;
    return { holder: value.slice(0, value.lastIndexOf(' ')), ttlMs: ttl };
  }

  /**
   * Forgets the versions last seen before scan `belowStamp` (objects deleted from the vendor), so the
   * hash stays bounded by the fleet. Each version carries the scan that last saw it ("<version>|<scan>").
   * With `prefix`, only the fields that start with it (one organization's users, each with its own scans).
   * Done in HSCAN slices, so Redis is never blocked for long. Returns how many were forgotten.
   */
  async pruneVersions(connector: string, belowStamp: number, prefix?: string): Promise<number> {
    const key = this.keys(connector).versions;
    let removed = 0;
    await this.#scanStale(key, belowStamp, prefix, async (stale) => {
      removed += Number(await pruneVersionsScript.run<number>(this.#redis, [key], stale.flat()));
    });
    return removed;
  }

  /**
   * The versions last seen before scan `belowStamp`, each as stored ("<version>|<scan>"), but those of
   * `except` (the objects a page is about to write): what an inventory's last page of a scan forgets,
   * with a removal record each, in its own atomic step.
   */
  async staleVersions(connector: string, belowStamp: number, except: ReadonlySet<string>): Promise<[field: string, value: string][]> {
    const found: [string, string][] = [];
    await this.#scanStale(this.keys(connector).versions, belowStamp, undefined, async (stale) => {
      for (const pair of stale) if (!except.has(pair[0])) found.push(pair);
    });
    return found;
  }

  /** Calls `onSlice` with each HSCAN slice's versions stamped below `belowStamp` (prefix: fields that start with it). */
  async #scanStale(key: string, belowStamp: number, prefix: string | undefined, onSlice: (stale: [string, string][]) => Promise<void>): Promise<void> {
    let cursor = '0';
    const pattern = prefix === undefined ? undefined : `${globEscaped(prefix)}*`;
    do {
      const [next, flat] = pattern === undefined ? await this.#redis.hscan(key, cursor, 'COUNT', 1000) : await this.#redis.hscan(key, cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const stale: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const value = flat[i + 1]!;
        const bar = value.lastIndexOf('|');
        const stamp = bar < 0 ? 0 : Number(value.slice(bar + 1));
        if (!(stamp >= belowStamp)) stale.push([flat[i]!, value]);
      }
      if (stale.length > 0) await onSlice(stale);
    } while (cursor !== '0');
  }
}

/** The `tally:<name>:<count>` fields of a checkpoint hash, by name. */
function talliesOf(hash: Record<string, string>): Record<string, Tally> {
  const tallies: Record<string, { pages: number; received: number; appended: number; duplicates: number }> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(tallyFieldPrefix)) continue;
    const colon = field.lastIndexOf(':');
    const name = field.slice(tallyFieldPrefix.length, colon);
    const count = field.slice(colon + 1);
    const tally = (tallies[name] ??= { pages: 0, received: 0, appended: 0, duplicates: 0 });
    if (count === 'pages' || count === 'received' || count === 'appended' || count === 'duplicates') tally[count] = Number(value);
  }
  return tallies;
}

/** `text` as a literal in a Redis glob pattern (HSCAN MATCH). */
function globEscaped(text: string): string {
  return text.replace(/[\\*?[\]^-]/g, '\\$&');
}
