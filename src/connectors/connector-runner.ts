import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { fullJitterDelayMs } from '../backoff.ts';
import type { ConnectorConfig } from '../config/config-types.ts';
import { emptyCheckpoint, writerId, type Checkpoint, type StoredCheckpoint } from '../connector-state/checkpoint.ts';
import type { ConnectorLease } from '../connector-state/connector-lease.ts';
import type { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import type { WindowStore } from '../connector-state/window-store.ts';
import { CheckpointChangedError, LeaseLostError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { ConnectorKeys } from '../redis/keyspace.ts';
import type { PageSink } from '../sink/event-sink.ts';
import { ConnectorChecks, type SourceHealth } from './connector-checks.ts';
import type { DeprecationNotice, DeprecationNotices } from './deprecation-notices.ts';
import { diagnoseConnector, type Diagnosis, type SourceInfo } from './diagnosis.ts';
import { PageLoopGuard } from './page-loop-guard.ts';
import { recordsWithScanEnd } from './scan-end.ts';
import type { PullSource } from './pull-source.ts';

// One loop per connector instance (DESIGN.md, "Pull path"): take the lease → read the checkpoint →
// wait until the run is due → fetch a page → append page + checkpoint atomically → next page at
// once, or sleep until the next interval. Retryable failures back off with full jitter; the others
// park the connector with a diagnosis until the next interval.

export type ConnectorState = 'starting' | 'standby' | 'idle' | 'running' | 'retrying' | 'parked' | 'stopped';

export interface RunStatistics {
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly outcome: 'running' | 'success' | 'failed' | 'interrupted';
  readonly pages: number;
  readonly requests: number;
  readonly received: number;
  readonly duplicates: number;
  readonly appended: number;
  readonly eventsPerSecond: number;
  readonly durationMs: number;
}

export interface ConnectorStatus {
  readonly name: string;
  readonly type: string;
  readonly tenant: string;
  readonly state: ConnectorState;
  readonly intervalMs: number;
  readonly leaseHeld: boolean;
  readonly lastRun: RunStatistics | null;
  readonly totals: { readonly runs: number; readonly requests: number; readonly received: number; readonly duplicates: number; readonly appended: number };
  readonly checkpoint: Record<string, unknown> | null;
  readonly nextRunAt: string | null;
  readonly lastError: { readonly at: string; readonly message: string; readonly code: string | undefined; readonly diagnosis: Diagnosis } | null;
  /** API paths the vendor said it will remove (Deprecation/Sunset headers), each with a warning naming the date and the path to move to. */
  readonly deprecations: readonly DeprecationNotice[];
  /** ok, degraded, silent or failing, with the reason (connector-checks.ts). */
  readonly health: SourceHealth;
  /** Time since the last event appended and the last run that succeeded; the closed windows verified (when the source counts them). */
  readonly freshness?: unknown;
  readonly completeness?: unknown;
}

export interface ConnectorRunnerOptions {
  readonly config: ConnectorConfig;
  readonly source: PullSource<unknown>;
  /** What a diagnosis of the source's failures names (its descriptor's credential and page-size settings). */
  readonly sourceInfo: SourceInfo;
  /** Deprecation or Sunset headers in the source's vendor answers (createSource records them). */
  readonly deprecations?: DeprecationNotices;
  readonly sink: PageSink;
  /** The connector's checkpoint, lease and versions. */
  readonly state: ConnectorStateStore;
  /** The connector's window counts (docs/completeness.md); without it, windows are neither counted nor verified. */
  readonly windows?: WindowStore;
  /** The tenants the Jamf Pro webhook route writes (webhook_tenant, webhook_tenant_secrets): an inventory of one of them looks for missed webhooks. */
  readonly webhookTenants?: readonly string[];
  readonly leaseTtlMs: number;
  /** Who this replica is (host, pid), stored in the lease. */
  readonly holder: string;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Base of the retry backoff; the cap is the interval (at most 5 min). */
  readonly retryBaseDelayMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How often a connector waiting for its next run looks at its checkpoint (a reset starts the run at once). */
const checkpointPollMs = 2000;

export class ConnectorRunner {
  readonly #o: ConnectorRunnerOptions;
  readonly #config: ConnectorConfig;
  readonly #keys: ConnectorKeys;
  readonly #lease: ConnectorLease;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  /** Aborted when the lease is lost: ends waits and fetches of the current holder's work. */
  #leaseAbort = new AbortController();
  #state: ConnectorState = 'starting';
  #lastRun: RunStatistics | null = null;
  #totals = { runs: 0, requests: 0, received: 0, duplicates: 0, appended: 0 };
  #checkpoint: StoredCheckpoint | undefined;
  #nextRunAtMs: number | undefined;
  #lastError: ConnectorStatus['lastError'] = null;
  #failures = 0;
  readonly #checks: ConnectorChecks;

  constructor(options: ConnectorRunnerOptions) {
    this.#o = options;
    this.#config = options.config;
    this.#keys = options.state.keys(options.config.name);
    this.#lease = options.state.lease(options.config.name, options.leaseTtlMs, options.holder);
    this.#log = options.logger.child({ connector: options.config.name, type: options.config.type });
    this.#checks = new ConnectorChecks({ ...options, logger: this.#log });
    this.#setState('starting');
  }

  get name(): string {
    return this.#config.name;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Finishes the page being written, releases the lease and ends the loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stop.abort();
    await this.#loop;
    clearInterval(this.#renewTimer);
    await this.#lease.release().catch((err: unknown) => this.#log.warn({ error: (err as Error).message }, 'Could not release the lease; it expires by itself.'));
    this.#setState('stopped');
    await this.#o.source.close();
  }

  status(): ConnectorStatus {
    const cp = this.#checkpoint?.checkpoint;
    return {
      name: this.#config.name,
      type: this.#config.type,
      tenant: this.#config.tenant,
      state: this.#state,
      intervalMs: this.#config.intervalMs,
      leaseHeld: this.#lease.held,
      lastRun: this.#lastRun,
      totals: { ...this.#totals },
      checkpoint: this.#checkpoint
        ? {
            seq: this.#checkpoint.seq,
            ...(cp ? { ...this.#o.source.describeCursor(cp.cursor ?? undefined, this.#checkpoint.tallies), runOpen: cp.runOpen, since: cp.since, lastRunEndedAt: cp.lastRunEndedAt, updatedAt: cp.updatedAt } : {}),
            versions: this.#checkpoint.versions,
          }
        : null,
      nextRunAt: this.#nextRunAtMs === undefined ? null : iso(this.#nextRunAtMs),
      lastError: this.#lastError,
      deprecations: this.#o.deprecations?.list(this.#successorOf) ?? [],
      health: this.#checks.health({ state: this.#state, lastError: this.#lastError }),
      ...this.#checks.status(),
    };
  }

  readonly #successorOf = (path: string): string | undefined => this.#o.source.successorPath?.(path);

  #setState(state: ConnectorState): void {
    this.#state = state;
    this.#o.metrics?.setConnectorState(this.#config.name, state);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    await this.#checks.load();
    while (!signal.aborted) {
      let delayMs = 0;
      try {
        if (!this.#lease.held) {
          if (!(await this.#lease.acquire())) {
            if (this.#state !== 'standby') this.#log.info({ leaseTtlMs: this.#lease.ttlMs }, 'Another replica holds the lease; standing by.');
            this.#setState('standby');
            this.#nextRunAtMs = undefined;
            delayMs = Math.min(this.#lease.ttlMs / 2, 5000);
            await this.#wait(delayMs, signal);
            continue;
          }
          this.#onLeaseTaken();
        }
        const stored = await this.#readCheckpoint();
        const cp = stored.checkpoint;
        if (cp && (cp.start ?? null) !== (this.#config.start ?? null)) {
          this.#log.warn({ previousStart: cp.start, start: this.#config.start ?? null }, 'The connector\'s start changed in the configuration: its checkpoint is reset.');
          await this.#o.state.reset(this.#config);
          continue;
        }
        const now = Date.now();
        // A run that failed on its last write although the write landed (Redis took it; the replicas
        // redis_wait_replicas asks for did not confirm it in time) ended in the checkpoint: it runs
        // again after its backoff rather than after the interval, so that a run's writes are confirmed
        // and /status does not show a failed run as the last one for a whole interval.
        const landedButFailed = cp?.lastRunEndedAt && this.#lastRun?.outcome === 'failed' && cp.lastRunEndedAt >= this.#lastRun.startedAt;
        const dueMs = !cp || cp.runOpen || !cp.lastRunEndedAt || landedButFailed ? now : Date.parse(cp.lastRunEndedAt) + this.#config.intervalMs;
        if (dueMs > now) {
          this.#setState('idle');
          this.#nextRunAtMs = dueMs;
          // A lost lease ends the wait at once; a reset of the checkpoint too.
          await this.#waitUnlessReset(dueMs - now, AbortSignal.any([signal, this.#leaseAbort.signal]));
          continue;
        }
        await this.#runOnce(stored);
        this.#failures = 0;
        if (!signal.aborted) await this.#checks.afterRun(AbortSignal.any([signal, this.#leaseAbort.signal]), this.#checkpoint?.checkpoint?.cursor);
      } catch (err) {
        if (signal.aborted && this.#stopping) break;
        if (err instanceof CheckpointChangedError) {
          this.#log.info(err.message);
          continue;
        }
        if (err instanceof LeaseLostError) {
          this.#log.warn(err.message);
          this.#onLeaseLost();
          continue;
        }
        delayMs = this.#onFailure(err);
        // What the failed run wrote before failing (a write can land and still fail: see above) is not
        // a reset of the checkpoint: the backoff is measured against the checkpoint as it is now.
        await this.#readCheckpoint().catch(() => undefined);
        await this.#waitUnlessReset(delayMs, signal);
      }
    }
  }

  #onFailure(err: unknown): number {
    const diagnosis = diagnoseConnector(err, this.#config, this.#o.sourceInfo);
    this.#lastError = { at: iso(Date.now()), message: (err as Error)?.message ?? String(err), code: (err as { code?: string })?.code, diagnosis };
    this.#o.metrics?.connectorErrors.inc({ connector: this.#config.name, category: diagnosis.category });
    let delayMs: number;
    if (diagnosis.retryable) {
      this.#failures += 1;
      const capMs = Math.min(this.#config.intervalMs, 300_000);
      delayMs = Math.max(250, fullJitterDelayMs(this.#failures, this.#o.retryBaseDelayMs ?? 1000, capMs));
      this.#setState('retrying');
    } else {
      this.#failures = 0;
      delayMs = this.#config.intervalMs;
      this.#setState('parked');
    }
    this.#nextRunAtMs = Date.now() + delayMs;
    this.#log.warn(
      { error: { message: this.#lastError.message, code: this.#lastError.code }, diagnosis, retryInMs: Math.round(delayMs), ...(diagnosis.retryable ? { consecutiveFailures: this.#failures } : {}) },
      diagnosis.retryable
        ? 'Run failed; retrying after a backoff.'
        : 'Run failed; the connector is parked until its next interval (or `orchard checkpoint reset`). See diagnosis.remedy.',
    );
    return delayMs;
  }

  #onLeaseTaken(): void {
    this.#leaseAbort = new AbortController();
    this.#log.info({ leaseTtlMs: this.#lease.ttlMs }, 'Took the lease: this replica runs the connector.');
    clearInterval(this.#renewTimer);
    this.#renewTimer = setInterval(() => {
      this.#lease.renew().then(
        (held) => {
          if (!held) {
            this.#log.warn('The lease expired or was taken by another replica.');
            this.#onLeaseLost();
          }
        },
        (err: unknown) => {
          // Redis unreachable: keep trying while the lease may still be valid; the page write is fenced anyway.
          this.#log.warn({ error: (err as Error).message }, 'Could not renew the lease.');
        },
      );
    }, Math.max(100, Math.floor(this.#lease.ttlMs / 3)));
    this.#renewTimer.unref();
  }

  #onLeaseLost(): void {
    clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
    this.#lease.lost();
    this.#leaseAbort.abort();
    this.#setState('standby');
  }

  async #readCheckpoint(): Promise<StoredCheckpoint> {
    this.#checkpoint = await this.#o.state.read(this.#config.name);
    return this.#checkpoint;
  }

  async #wait(ms: number, signal: AbortSignal): Promise<void> {
    await sleep(ms, undefined, { signal }).catch(() => {});
  }

  /**
   * Waits, but ends early when the checkpoint is written meanwhile (`orchard checkpoint reset` on an
   * idle or parked connector): it is read every few seconds, which also keeps /status current.
   */
  async #waitUnlessReset(ms: number, signal: AbortSignal): Promise<void> {
    const seq = this.#checkpoint?.seq;
    const until = Date.now() + ms;
    while (!signal.aborted && Date.now() < until) {
      await this.#wait(Math.min(until - Date.now(), checkpointPollMs), signal);
      if (signal.aborted || seq === undefined || !this.#lease.held) return;
      const now = await this.#readCheckpoint().catch(() => undefined);
      if (now && now.seq !== seq) {
        this.#log.info('The checkpoint was reset: running again now.');
        return;
      }
    }
  }

  /** One run: pages back to back until the source has no more, each written with its checkpoint. */
  async #runOnce(stored: StoredCheckpoint): Promise<void> {
    const startedMs = Date.now();
    const requestsBefore = this.#o.source.requests;
    let seq = stored.seq;
    let cp: Checkpoint = stored.checkpoint ?? emptyCheckpoint(this.#config);
    const runStartedAt = cp.runOpen && cp.runStartedAt ? cp.runStartedAt : iso(startedMs);
    const stats = { pages: 0, received: 0, duplicates: 0, appended: 0 };
    const statistics = (outcome: RunStatistics['outcome']): RunStatistics => {
      const durationMs = Date.now() - startedMs;
      return {
        startedAt: iso(startedMs),
        endedAt: outcome === 'running' ? null : iso(Date.now()),
        outcome,
        ...stats,
        requests: this.#o.source.requests - requestsBefore,
        eventsPerSecond: durationMs > 0 ? Math.round((stats.appended * 1000) / durationMs) : 0,
        durationMs,
      };
    };
    this.#setState('running');
    this.#nextRunAtMs = undefined;
    this.#lastRun = statistics('running');
    // A fetch is cut short by shutdown or a lost lease; a write is always awaited.
    const fetchAbort = new AbortController();
    const fetchSignal = AbortSignal.any([this.#stop.signal, this.#leaseAbort.signal, fetchAbort.signal]);
    const since = cp.since ?? undefined;
    let newRun = true;
    const fetch = (cursor: unknown) => {
      const page = this.#o.source.fetchPage(cursor ?? undefined, { since, receivedMs: Date.now(), signal: fetchSignal, newRun });
      newRun = false;
      page.catch(() => {});
      return page;
    };
    let outcome: RunStatistics['outcome'] = 'failed';
    const loops = new PageLoopGuard(this.#config.name);
    try {
      let next = fetch(cp.cursor);
      for (;;) {
        const page = await next;
        for (const warning of page.warnings ?? []) this.#log.warn(warning);
        loops.check(page);
        // The next page is fetched while this one is written: its cursor is already known.
        if (page.more) next = fetch(page.cursor);
        const endedMs = Date.now();
        const written: Checkpoint = {
          ...cp,
          cursor: page.cursor,
          runOpen: page.more,
          runStartedAt,
          lastRunEndedAt: page.more ? cp.lastRunEndedAt : iso(endedMs),
          pages: cp.pages + 1,
          updatedAt: iso(endedMs),
        };
        const records = await recordsWithScanEnd(page, this.#o.state, this.#config.name);
        const result = await this.#o.sink.appendPage(records, {
          keys: this.#keys,
          leaseToken: this.#lease.token,
          expectedSeq: seq,
          writer: writerId(),
          checkpoint: JSON.stringify(written),
          stamp: page.versionStamp,
          dedupWindowSeconds: page.dedupWindowSeconds,
          ...(page.tally === undefined ? {} : { tally: { name: page.tally, received: page.received, dropped: page.duplicates ?? 0 } }),
          windows: this.#checks.windowsCommit(page.windows),
        });
        if (result.outcome === 'lease_lost') throw new LeaseLostError(this.#config.name);
        if (result.outcome === 'stale') throw new CheckpointChangedError(this.#config.name);
        seq += 1;
        cp = written;
        await this.#checks.afterPage(page, records, result);
        this.#checkpoint = { seq, checkpoint: cp, versions: this.#checkpoint?.versions ?? 0, tallies: this.#checkpoint?.tallies ?? {} };
        stats.pages += 1;
        stats.received += page.received;
        stats.duplicates += result.duplicates + (page.duplicates ?? 0);
        stats.appended += result.appended;
        this.#o.metrics?.recordPage(this.#config.name, page.received, result.duplicates + (page.duplicates ?? 0), result.appended);
        this.#lastRun = statistics('running');
        if (page.pruneBelowStamp !== undefined) {
          const pruned = await this.#o.state.pruneVersions(this.#config.name, page.pruneBelowStamp, page.prunePrefix);
          if (pruned > 0) this.#log.info({ pruned }, 'Forgot the versions of objects the vendor no longer lists.');
        }
        if (!page.more) break;
        if (this.#stopping) {
          outcome = 'interrupted';
          return;
        }
      }
      outcome = 'success';
    } catch (err) {
      // Not a failure of the run: the operator reset the checkpoint, or another replica has the lease.
      if (err instanceof CheckpointChangedError || err instanceof LeaseLostError) outcome = 'interrupted';
      throw err;
    } finally {
      fetchAbort.abort();
      if (outcome === 'failed' && this.#stopping) outcome = 'interrupted';
      const run = statistics(outcome);
      // What /status shows of the checkpoint (versions remembered, per-organization totals) is read
      // again before the run is shown as ended, so that a run's end and its figures appear together.
      if (outcome !== 'failed') await this.#refreshCheckpoint();
      this.#lastRun = run;
      this.#totals.runs += 1;
      this.#totals.requests += run.requests;
      this.#totals.received += run.received;
      this.#totals.duplicates += run.duplicates;
      this.#totals.appended += run.appended;
      this.#o.metrics?.recordRun(this.#config.name, outcome, run.durationMs / 1000);
      if (outcome === 'success') {
        this.#lastError = null;
        this.#nextRunAtMs = Date.now() + this.#config.intervalMs;
        this.#setState('idle');
      }
      const { startedAt: _s, endedAt: _e, ...line } = run;
      const message = outcome === 'success' ? 'Run finished.' : outcome === 'failed' ? 'Run failed.' : this.#stopping ? 'Run interrupted by shutdown; the checkpoint keeps its progress.' : 'Run interrupted.';
      this.#log[outcome === 'failed' ? 'warn' : 'info']({ ...line, nextRunAt: this.#nextRunAtMs === undefined ? undefined : iso(this.#nextRunAtMs) }, message);
      // One line per run for the paths the vendor will remove, naming the date and the path to move to.
      const deprecated = this.#o.deprecations?.sinceLastRun(this.#successorOf) ?? [];
      if (deprecated.length > 0) {
        const deprecations = deprecated.map(({ method, path, deprecation, sunset, moveTo }) => ({ method, path, deprecation, sunset, moveTo }));
        this.#log.warn({ deprecations }, deprecated.map((d) => d.warning).join(' '));
      }
    }
  }

  /** The checkpoint as /status shows it, read again (at most a second: a slow Redis does not hold the run up). */
  async #refreshCheckpoint(): Promise<void> {
    const read = this.#o.state.read(this.#config.name).then(
      (stored) => (this.#checkpoint = stored),
      () => {},
    );
    await Promise.race([read, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
