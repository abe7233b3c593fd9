import type { RedisClient } from '../redis/redis-client.ts';
import { Keyspace, type ConnectorKeys } from '../redis/keyspace.ts';
import { windowRepairScript } from '../redis/scripts/window-scripts.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import type { PageRecord, WindowTallyCommit } from '../sink/event-sink.ts';
import { recordFields } from '../stream/stream-record.ts';

// A connector's window counts (docs/completeness.md): what each closed window of its vendor's events
// holds in the stream, counted by the page scripts as they append (page-scripts.ts, windowTallies), and
// what the window verification found (connectors/window-verifier.ts). The counts are about the stream,
// not the cursor: a checkpoint reset leaves them, so a window appended twice still counts its events once.

/** A page's window tallies: its records' ids grouped by organization, service and window. */
export interface PageWindows {
  /** Where counting began (again) for an organization: the start of the first window read since counting was last off. */
  readonly countedFrom?: { readonly org: string; readonly at: string };
  readonly groups: readonly { readonly org: string; readonly service: string; readonly start: string; readonly end: string; readonly ids: readonly string[] }[];
}

/** One closed window of one organization and service group: [start, end). */
export interface WindowRef {
  /** The organization id ('' for a connector's own organization). */
  readonly org: string;
  /** `all`, or one configured service. */
  readonly service: string;
  readonly start: string;
  readonly end: string;
}

/** How long a window's id set is kept: a window can be repaired (`orchard verify --repair`) this long after its events were appended. */
export const windowIdsTtlSeconds = 2 * 24 * 60 * 60;

/** Unrepaired gaps kept in the state (the most recent). */
export const maxGaps = 50;

/** A window whose count stayed below the vendor's after a re-pull. */
export interface WindowGap extends WindowRef {
  readonly vendor: number;
  readonly appended: number;
  /** Re-pulls so far. */
  readonly attempts: number;
  readonly at: string;
}

/** What the window verification found, kept in Redis so /status and a restarted Orchard see it. */
export interface CompletenessState {
  readonly v: 1;
  /** Per `<org>|<service>`: the windows before this are checked. */
  readonly checkedUntil: Readonly<Record<string, string>>;
  readonly lastVerified: (WindowRef & { readonly vendor: number; readonly appended: number; readonly at: string }) | null;
  readonly gaps: readonly WindowGap[];
  /** Windows verified (count reached), repaired (reached after a re-pull), still short, and events the re-pulls appended, ever. */
  readonly totals: { readonly verified: number; readonly repaired: number; readonly short: number; readonly recovered: number };
}

export function emptyCompletenessState(): CompletenessState {
  return { v: 1, checkedUntil: {}, lastVerified: null, gaps: [], totals: { verified: 0, repaired: 0, short: 0, recovered: 0 } };
}

/** A window's field in the counts hash: `<org>|<service>|<start>|<end>` (windows of another verify_window never share one). */
export function windowField(window: Pick<WindowRef, 'org' | 'service' | 'start' | 'end'>): string {
  return `${window.org}|${window.service}|${window.start}|${window.end}`;
}

/** The counts hash field that says where counting began for an organization. */
const fromField = (org: string) => `from|${org}`;

/** Made by the connector state store (ConnectorStateStore.windows), whose Redis, keys and timeout it shares. */
export class WindowStore {
  readonly #redis: RedisClient;
  readonly #keyspace: Keyspace;
  readonly #timeoutMs: number;

  constructor(redis: RedisClient, keyspace: Keyspace, timeoutMs: number) {
    [this.#redis, this.#keyspace, this.#timeoutMs] = [redis, keyspace, timeoutMs];
  }

  #keys(connector: string): ConnectorKeys {
    return this.#keyspace.connector(connector);
  }

  #timeout<T>(promise: Promise<T>, what: string): Promise<T> {
    return withTimeout(promise, this.#timeoutMs, `Redis did not answer within ${this.#timeoutMs} ms while ${what}.`);
  }

  /** A page's window tallies as the page scripts take them (keys of this connector). */
  commitFor(connector: string, windows: PageWindows | undefined): WindowTallyCommit | undefined {
    if (!windows || (windows.groups.length === 0 && !windows.countedFrom)) return undefined;
    const keys = this.#keys(connector);
    return {
      countsKey: keys.windowCounts,
      idsTtlSeconds: windowIdsTtlSeconds,
      ...(windows.countedFrom ? { setField: { field: fromField(windows.countedFrom.org), value: windows.countedFrom.at } } : {}),
      groups: windows.groups.map((g) => {
        const field = windowField(g);
        return { idsKey: keys.windowIds(field), field, ids: g.ids };
      }),
    };
  }

  /** Where counting began, per organization. */
  async countedFrom(connector: string): Promise<Map<string, string>> {
    const key = this.#keys(connector).windowCounts;
    const found = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#timeout(this.#redis.hscan(key, cursor, 'MATCH', 'from|*', 'COUNT', 1000), 'reading the window counts');
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) found.set(flat[i]!.slice('from|'.length), flat[i + 1]!);
    } while (cursor !== '0');
    return found;
  }

  /** The distinct events the stream holds for each window, counted as they were appended (0 for none). */
  async appended(connector: string, windows: readonly WindowRef[]): Promise<number[]> {
    if (windows.length === 0) return [];
    const values = await this.#timeout(this.#redis.hmget(this.#keys(connector).windowCounts, ...windows.map(windowField)), 'reading the window counts');
    return values.map((v) => Number(v ?? 0));
  }

  /** Forgets the counts of windows no longer checked (older than the vendor keeps, or than `orchard verify` looks). */
  async forget(connector: string, windows: readonly WindowRef[]): Promise<void> {
    if (windows.length > 0) await this.#timeout(this.#redis.hdel(this.#keys(connector).windowCounts, ...windows.map(windowField)), 'forgetting window counts');
  }

  /**
   * Appends the records of a window read again that the stream does not hold yet (by the window's id
   * set), counting them in the window (window-scripts.ts). Returns how many were appended, or
   * undefined when the window's ids are no longer kept and it holds events: it cannot be repaired.
   */
  async repair(connector: string, window: WindowRef, records: readonly PageRecord[]): Promise<number | undefined> {
    const keys = this.#keys(connector);
    const field = windowField(window);
    const streams = new Map<string, number>();
    const args: (string | Buffer | number)[] = [field, windowIdsTtlSeconds, records.length];
    for (const { record, stream } of records) {
      const key = stream ?? this.#keyspace.stream;
      if (!streams.has(key)) streams.set(key, streams.size + 3);
      args.push(streams.get(key)!);
      for (const f of recordFields) args.push(record[f]);
    }
    const added = await this.#timeout(windowRepairScript.run<number>(this.#redis, [keys.windowCounts, keys.windowIds(field), ...streams.keys()], args), 'appending a repaired window');
    return Number(added) < 0 ? undefined : Number(added);
  }

  async readState(connector: string): Promise<CompletenessState> {
    const text = await this.#timeout(this.#redis.get(this.#keys(connector).completeness), 'reading the completeness state');
    if (!text) return emptyCompletenessState();
    try {
      const state = JSON.parse(text) as CompletenessState;
      return state?.v === 1 ? state : emptyCompletenessState();
    } catch {
      return emptyCompletenessState();
    }
  }

  async writeState(connector: string, state: CompletenessState): Promise<void> {
    await this.#timeout(this.#redis.set(this.#keys(connector).completeness, JSON.stringify(state)), 'writing the completeness state');
  }
}
