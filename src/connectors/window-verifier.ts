import type { Logger } from 'pino';
import { maxGaps, type CompletenessState, type WindowGap, type WindowStore } from '../connector-state/window-store.ts';
import type { Metrics } from '../metrics.ts';
import type { WindowCounting, WindowRef } from './pull-source.ts';

// Completeness you can prove (docs/completeness.md): once a closed window of a connector's events is
// old enough that no run will add to it (its source's settleMs: lag plus verify_after, at least lag plus
// overlap), the vendor's count of the window (same filters, per organization and service) is compared
// with what the stream holds of it, which the page scripts counted as they appended. A window short of
// the count is read again and what the stream lacks is appended (its id set makes that safe: the
// repair script appends an id once), then counted again; a window still short is kept, with its bounds,
// as an unrepaired gap (tried again at the next runs, at most `maxAttempts` times in all). Nothing short
// is hidden: a metric, /status and a log line per re-pull say it.

/** What checking one window found. */
export interface WindowCheck extends WindowRef {
  /** The vendor's count, and what the stream held, before any re-pull. */
  readonly vendor: number;
  readonly appended: number;
  /** Events the re-pull appended. */
  readonly recovered: number;
  /** After a re-pull: the vendor's count then, and what the stream held then. */
  readonly after?: { readonly vendor: number; readonly appended: number };
  /**
   * verified: the stream held at least the vendor's count; repaired: it did after the re-pull; short:
   * it did not (or was not re-pulled); unrepairable: the window's ids are no longer kept, so a re-pull
   * could not tell what the stream holds.
   */
  readonly result: 'verified' | 'repaired' | 'short' | 'unrepairable';
}

/** Windows checked per run at most: a backlog (a long outage, a first run a day back) is worked off over several runs. */
const maxWindowsPerRun = 24;
/** Re-pulls of one window at most, the first included. */
const maxAttempts = 3;
/** How often a gap past its re-pulls is counted again. */
const recountEveryMs = 60 * 60 * 1000;
/** How long a window's count is kept after it was checked (what `orchard verify` can still compare). */
export const countsKeptMs = 7 * 24 * 60 * 60 * 1000;

const iso = (ms: number) => new Date(ms).toISOString();

export interface WindowVerifierOptions {
  readonly connector: string;
  readonly counting: WindowCounting;
  readonly store: WindowStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export class WindowVerifier {
  readonly #o: WindowVerifierOptions;
  readonly #now: () => number;
  /** The state as last read or written, for /status. */
  #state: CompletenessState | undefined;

  constructor(options: WindowVerifierOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get state(): CompletenessState | undefined {
    return this.#state;
  }

  get windowMs(): number {
    return this.#o.counting.windowMs;
  }

  /** The windows of [sinceMs, untilMs) of every organization counted and service group, aligned. */
  async windowsIn(sinceMs: number, untilMs: number): Promise<WindowRef[]> {
    const { windowMs, services } = this.#o.counting;
    const orgs = [...(await this.#o.store.countedFrom(this.#o.connector)).keys()];
    if (orgs.length === 0) orgs.push('');
    const windows: WindowRef[] = [];
    for (let start = Math.floor(sinceMs / windowMs) * windowMs; start < untilMs; start += windowMs) {
      for (const org of orgs) for (const service of services) windows.push({ org, service, start: iso(start), end: iso(start + windowMs) });
    }
    return windows;
  }

  /** Checks one window against the vendor's count; with `repair`, re-pulls it when short and counts again. */
  async check(window: WindowRef, repair: boolean, signal: AbortSignal): Promise<WindowCheck> {
    const { counting, store, connector } = this.#o;
    const vendor = await counting.count(window, signal);
    const [appended = 0] = await store.appended(connector, [window]);
    if (appended >= vendor) return { ...window, vendor, appended, recovered: 0, result: 'verified' };
    if (!repair) return { ...window, vendor, appended, recovered: 0, result: 'short' };
    let recovered = 0;
    for await (const records of counting.pages(window, signal)) {
      if (records.length === 0) continue;
      const added = await store.repair(connector, window, records);
      if (added === undefined) {
        this.#o.logger.warn({ window, vendor, appended }, "A short window cannot be re-pulled: its ids are no longer kept (two days), so what the stream holds of it cannot be told apart; it stays reported.");
        return { ...window, vendor, appended, recovered, result: 'unrepairable' };
      }
      recovered += added;
    }
    const vendorAfter = await counting.count(window, signal);
    const [appendedAfter = 0] = await store.appended(connector, [window]);
    const result = appendedAfter >= vendorAfter ? 'repaired' : 'short';
    const fields = { window, vendor: vendorAfter, appended: appendedAfter, before: appended, recovered };
    if (result === 'repaired') this.#o.logger.info(fields, 'Window re-pulled: the stream now holds every event the vendor counts.');
    else this.#o.logger.warn(fields, 'Window re-pulled and still short of the vendor\'s count: reported as an unrepaired gap.');
    return { ...window, vendor, appended, recovered, after: { vendor: vendorAfter, appended: appendedAfter }, result };
  }

  /**
   * Checks the windows that closed since the last run (and retries the gaps), repairing what is short;
   * `cursor`: the connector's stored cursor (a window is checked only once its runs have passed it).
   */
  async run(signal: AbortSignal, cursor: unknown): Promise<CompletenessState> {
    const { counting, store, connector, metrics } = this.#o;
    const state = await store.readState(connector);
    const nowMs = this.#now();
    const settled = (org: string) => Math.min(nowMs - counting.settleMs, counting.passedBefore(cursor, org) ?? Number.NEGATIVE_INFINITY);
    const checkedUntil: Record<string, string> = { ...state.checkedUntil };
    const totals = { ...state.totals };
    let gaps: WindowGap[] = [...state.gaps];
    let lastVerified = state.lastVerified;
    let budget = maxWindowsPerRun;
    const record = (check: WindowCheck, attempts: number) => {
      const result = check.result === 'unrepairable' ? 'short' : check.result;
      metrics?.completeness.windows.inc({ connector, result });
      metrics?.completeness.recovered.inc({ connector }, check.recovered);
      totals.recovered += check.recovered;
      const key = `${check.org}|${check.service}|${check.start}`;
      const known = gaps.find((g) => `${g.org}|${g.service}|${g.start}` === key);
      gaps = gaps.filter((g) => g !== known);
      if (result === 'short') {
        if (!known) totals.short += 1;
        const now = check.after ?? check;
        const { org, service, start, end } = check;
        gaps.push({ org, service, start, end, vendor: now.vendor, appended: now.appended, attempts: check.result === 'unrepairable' ? maxAttempts : attempts, at: iso(this.#now()) });
        return;
      }
      if (result === 'repaired') totals.repaired += 1;
      else if (!known) totals.verified += 1;
      if (known && result === 'verified') totals.repaired += 1;
      const now = check.after ?? check;
      lastVerified = { org: check.org, service: check.service, start: check.start, end: check.end, vendor: now.vendor, appended: now.appended, at: iso(this.#now()) };
    };
    const from = await store.countedFrom(connector);
    const { windowMs } = counting;
    for (const [org, fromIso] of from) {
      for (const service of counting.services) {
        const key = `${org}|${service}`;
        // The first whole window counting saw since it last began: windows from a time it was off
        // (verify_after: off) are not checked, their events were appended without their ids.
        const counted = Math.ceil(Date.parse(fromIso) / windowMs) * windowMs;
        let start = Math.max(counted, checkedUntil[key] === undefined ? counted : Date.parse(checkedUntil[key]));
        while (budget > 0 && start + windowMs <= settled(org) && !signal.aborted) {
          const window = { org, service, start: iso(start), end: iso(start + windowMs) };
          record(await this.check(window, true, signal), 1);
          await store.forget(connector, [{ ...window, start: iso(start - countsKeptMs) }]);
          start += windowMs;
          checkedUntil[key] = iso(start);
          budget -= 1;
        }
      }
    }
    // Gaps found at earlier runs: re-pulled again (late events may have become visible), a few times;
    // after that only counted again, once an hour, so that one `orchard verify --repair` closed is seen.
    for (const gap of state.gaps) {
      if (budget <= 0 || signal.aborted || Date.parse(gap.end) > settled(gap.org)) continue;
      const repull = gap.attempts < maxAttempts;
      if (!repull && nowMs - Date.parse(gap.at) < recountEveryMs) continue;
      budget -= 1;
      record(await this.check(gap, repull, signal), repull ? gap.attempts + 1 : gap.attempts);
    }
    gaps = gaps.slice(-maxGaps);
    const next: CompletenessState = { v: 1, checkedUntil, lastVerified, gaps, totals };
    await store.writeState(connector, next);
    metrics?.completeness.gaps.set({ connector }, gaps.length);
    this.#state = next;
    return next;
  }

  /** Reads the state for /status before the first run checked anything. */
  async load(): Promise<void> {
    this.#state = await this.#o.store.readState(this.#o.connector);
    this.#o.metrics?.completeness.gaps.set({ connector: this.#o.connector }, this.#state.gaps.length);
  }
}
