import type { Logger } from 'pino';
import type { ConnectorConfig } from '../config/config-types.ts';
import { formatDurationMs } from '../config/duration.ts';
import type { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import type { WindowStore } from '../connector-state/window-store.ts';
import type { Metrics } from '../metrics.ts';
import type { Page, PageWindows, PullSource, ScanEnd } from './pull-source.ts';
import type { PageOutcome, PageRecord, WindowTallyCommit } from '../sink/event-sink.ts';
import { MissedWebhooks } from './missed-webhooks.ts';
import { WindowVerifier } from './window-verifier.ts';

// What a connector's runs prove beside moving data (docs/completeness.md): its closed windows checked
// against the vendor's counts (window-verifier.ts), its freshness (when it last appended an event, when
// a run last succeeded) and the state /status gives it: ok, degraded, silent or failing, with the reason.
// Silence is not health: a connector whose runs succeed but that appends nothing for longer than its
// expect_events_within is "silent".

export type HealthState = 'ok' | 'degraded' | 'silent' | 'failing';

export interface SourceHealth {
  readonly state: HealthState;
  readonly reason: string;
}

/** What the runner knows that the health needs. */
export interface RunnerFacts {
  readonly state: string;
  readonly lastError: { readonly message: string; readonly diagnosis: { readonly category: string } } | null;
  /** Problems a page reported that are not failures (likely missed webhooks), with how many. */
  readonly concerns?: readonly string[];
}

export interface ConnectorChecksOptions {
  readonly config: ConnectorConfig;
  readonly source: PullSource<unknown>;
  /** The window counts; without it no window is counted or verified. */
  readonly windows?: WindowStore;
  /** Where the webhook sightings are read (the missed-webhook check). */
  readonly state?: ConnectorStateStore;
  /** The tenants the Jamf Pro webhook route writes (webhook_tenant, webhook_tenant_secrets): an inventory of one of them compares its scans with the webhooks. */
  readonly webhookTenants?: readonly string[];
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export class ConnectorChecks {
  readonly #o: ConnectorChecksOptions;
  readonly #now: () => number;
  readonly #verifier: WindowVerifier | undefined;
  readonly #startedMs: number;
  #lastEventMs: number | undefined;
  #lastSuccessMs: number | undefined;
  #verifyError: { readonly at: string; readonly message: string } | null = null;
  #loaded = false;
  readonly #missed: MissedWebhooks | undefined;
  /** The last inventory scan's count against the vendor's totalCount. */
  #lastScan: (Omit<ScanEnd, 'removed' | 'marker' | 'belowStamp'> & { readonly short: number }) | null = null;
  /** The last run the vendor counted (Jamf Protect), against what it read. */
  #lastCount: Page<unknown>['counted'] | null = null;

  constructor(options: ConnectorChecksOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#startedMs = this.#now();
    const counting = options.source.windows;
    if (counting && options.windows) {
      this.#verifier = new WindowVerifier({ connector: options.config.name, counting, store: options.windows, logger: options.logger, metrics: options.metrics, now: this.#now });
    }
    const toleranceMs = options.source.missedWebhookToleranceMs;
    if (toleranceMs !== undefined && options.state && (options.webhookTenants ?? ['']).includes(options.config.tenant)) {
      this.#missed = new MissedWebhooks({ connector: options.config.name, tenant: options.config.tenant, toleranceMs, state: options.state, logger: options.logger, metrics: options.metrics });
    }
  }

  /** The verifier (for `orchard verify`), when the source counts windows. */
  get verifier(): WindowVerifier | undefined {
    return this.#verifier;
  }

  /** A page's window tallies, as the page sink writes them. */
  windowsCommit(windows: PageWindows | undefined): WindowTallyCommit | undefined {
    return this.#verifier ? this.#o.windows?.commitFor(this.#o.config.name, windows) : undefined;
  }

  /** A page was written (with `records`): its appended events make the connector fresh; an inventory's reports are compared with the webhooks. */
  async afterPage(page: Page<unknown>, records: readonly PageRecord[], result: PageOutcome): Promise<void> {
    if (result.outcome !== 'ok') return;
    // Fresh by the vendor's events only: a scan's snapshot marker and removal records are Orchard's own.
    if (result.appended - (records.length - page.records.length) > 0) {
      this.#lastEventMs = this.#now();
      this.#o.metrics?.completeness.sawEvent(this.#o.config.name, this.#lastEventMs);
    }
    await this.#missed?.afterPage(records, result).catch((err: unknown) => this.#o.logger.warn({ error: (err as Error).message }, 'Could not compare the page with the webhooks seen.'));
    if (page.counted) {
      this.#lastCount = page.counted;
      this.#o.metrics?.completeness.windows.inc({ connector: this.#o.config.name, result: page.counted.result });
    }
    const end = page.scanEnd;
    if (!end) return;
    this.#missed?.scanEnded(end.scan);
    // The scan against the vendor's count: fewer read is reported, and the next scan is its re-pull.
    const { scan, startedAt, endedAt, seen, totalCount } = end;
    const short = Math.max(0, totalCount - seen);
    this.#lastScan = { scan, startedAt, endedAt, seen, totalCount, short };
    this.#o.metrics?.completeness.windows.inc({ connector: this.#o.config.name, result: short > 0 ? 'short' : 'verified' });
  }

  /** A run ended well (its checkpoint's cursor now `cursor`): the closed windows are checked (a failure to check is reported, not a failed run). */
  async afterRun(signal: AbortSignal, cursor: unknown): Promise<void> {
    this.#lastSuccessMs = this.#now();
    if (!this.#verifier) return;
    try {
      await this.#verifier.run(signal, cursor);
      this.#verifyError = null;
    } catch (err) {
      if (signal.aborted) return;
      this.#verifyError = { at: new Date(this.#now()).toISOString(), message: (err as Error)?.message ?? String(err) };
      this.#o.logger.warn({ error: this.#verifyError.message }, 'Could not check the closed windows against the vendor\'s counts; tried again after the next run.');
    }
  }

  /** Reads the verification's state once (a restarted Orchard shows what was found before). */
  async load(): Promise<void> {
    if (this.#loaded || !this.#verifier) return;
    this.#loaded = true;
    await this.#verifier.load().catch(() => {});
  }

  health(facts: RunnerFacts): SourceHealth {
    const nowMs = this.#now();
    if (facts.state === 'parked' || facts.state === 'retrying') {
      return { state: 'failing', reason: `${facts.state}: ${facts.lastError?.message ?? 'the last run failed'}${facts.lastError ? ` (${facts.lastError.diagnosis.category})` : ''}` };
    }
    if (facts.state === 'standby') return { state: 'ok', reason: 'another replica holds the lease and runs it' };
    const expectMs = this.#o.config.expectEventsWithinMs;
    const sinceMs = this.#lastEventMs ?? this.#startedMs;
    if (expectMs !== undefined && nowMs - sinceMs > expectMs) {
      const what = this.#lastEventMs === undefined ? 'since Orchard started' : `since ${iso(this.#lastEventMs)}`;
      return { state: 'silent', reason: `no event appended ${what} (${formatDurationMs(nowMs - sinceMs)}), longer than expect_events_within (${formatDurationMs(expectMs)}), although its runs succeed` };
    }
    const concerns = [...(facts.concerns ?? [])];
    if ((this.#lastScan?.short ?? 0) > 0) concerns.push(`its last scan read ${this.#lastScan!.seen} of the ${this.#lastScan!.totalCount} the vendor counts (the next scan reads them)`);
    if (this.#lastCount?.result === 'short') concerns.push(`its last run read ${this.#lastCount.got} of the ${this.#lastCount.expected} the vendor counts after ${this.#lastCount.start}`);
    if ((this.#missed?.lastCount ?? 0) > 0) concerns.push(`${this.#missed!.lastCount} computer(s) with a likely missed webhook in the last scan (missedWebhooks)`);
    const gaps = this.#verifier?.state?.gaps.length ?? 0;
    if (gaps > 0) concerns.unshift(`${gaps} window(s) still short of the vendor's count (completeness.gaps)`);
    if (this.#verifyError) concerns.push(`the windows could not be checked: ${this.#verifyError.message}`);
    if (concerns.length > 0) return { state: 'degraded', reason: concerns.join('; ') };
    return { state: 'ok', reason: this.#lastSuccessMs === undefined ? 'no run has ended yet in this process' : `the last run succeeded at ${iso(this.#lastSuccessMs)}` };
  }

  /** The connector's freshness and completeness, for /status. */
  status(): Record<string, unknown> {
    const nowMs = this.#now();
    const ageSeconds = (ms: number | undefined) => (ms === undefined ? null : Math.round((nowMs - ms) / 1000));
    const state = this.#verifier?.state;
    return {
      freshness: {
        lastEventAt: iso(this.#lastEventMs),
        secondsSinceLastEvent: ageSeconds(this.#lastEventMs),
        lastSuccessAt: iso(this.#lastSuccessMs),
        secondsSinceLastSuccess: ageSeconds(this.#lastSuccessMs),
        expectEventsWithin: this.#o.config.expectEventsWithinMs === undefined ? null : formatDurationMs(this.#o.config.expectEventsWithinMs),
      },
      ...(this.#lastScan ? { lastScan: this.#lastScan } : {}),
      ...(this.#lastCount ? { lastCount: this.#lastCount } : {}),
      ...(this.#missed ? { missedWebhooks: this.#missed.status() } : {}),
      ...(this.#verifier
        ? {
            completeness: {
              window: formatDurationMs(this.#verifier.windowMs),
              lastVerified: state?.lastVerified ?? null,
              checkedUntil: state?.checkedUntil ?? {},
              gaps: state?.gaps ?? [],
              totals: state?.totals ?? { verified: 0, repaired: 0, short: 0, recovered: 0 },
              error: this.#verifyError,
            },
          }
        : {}),
    };
  }
}
