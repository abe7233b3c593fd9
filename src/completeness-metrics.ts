import { Counter, Gauge, type Registry } from 'prom-client';

// The metrics of completeness (docs/completeness.md), on the registry of Orchard's metrics (metrics.ts):
// closed windows checked against the vendors' counts, what their re-pulls recovered, the gaps left,
// likely missed webhooks, and when each source last took an event.

export class CompletenessMetrics {
  readonly windows: Counter<'connector' | 'result'>;
  readonly recovered: Counter<'connector'>;
  readonly gaps: Gauge<'connector'>;
  readonly missedWebhooks: Counter<'connector'>;
  readonly lastEvent: Gauge<'source'>;
  /** When each source last took an event (see sawEvent). */
  readonly #lastEventMs = new Map<string, number>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.windows = new Counter({
      name: 'orchard_completeness_windows_total',
      help: "Closed windows (and inventory scans, Jamf Protect runs) checked against the vendor's count, by connector and result: verified (the stream held them all), repaired (after a re-pull), short (still short after one: see /status for its bounds).",
      labelNames: ['connector', 'result'] as const,
      registers,
    });
    this.recovered = new Counter({
      name: 'orchard_completeness_events_recovered_total',
      help: "Events a window's re-pull appended that the connector's runs had missed, by connector.",
      labelNames: ['connector'] as const,
      registers,
    });
    this.gaps = new Gauge({
      name: 'orchard_completeness_unrepaired_gaps',
      help: "Windows still short of the vendor's count after a re-pull, by connector (their bounds are in /status).",
      labelNames: ['connector'] as const,
      registers,
    });
    this.missedWebhooks = new Counter({
      name: 'orchard_missed_webhooks_total',
      help: 'Computers whose inventory report advanced past the last check-in or inventory webhook seen for them by more than missed_webhook_tolerance: likely missed Jamf Pro webhooks, by inventory connector.',
      labelNames: ['connector'] as const,
      registers,
    });
    const lastEventMs = this.#lastEventMs;
    this.lastEvent = new Gauge({
      name: 'orchard_source_last_event_timestamp_seconds',
      help: 'When each source last took an event (Unix time): a pull connector by its name (an event appended), a push route by its path (an event answered 202).',
      labelNames: ['source'] as const,
      registers,
      collect(this: Gauge<'source'>) {
        for (const [source, ms] of lastEventMs) this.set({ source }, ms / 1000);
      },
    });
  }

  /** A source (a connector's name, a push route's path) took an event now: set on the hot path, so a map, read at scrape time. */
  sawEvent(source: string, atMs = Date.now()): void {
    this.#lastEventMs.set(source, atMs);
  }

  /** When a source last took an event in this process (ms), if it did. */
  lastEventAt(source: string): number | undefined {
    return this.#lastEventMs.get(source);
  }
}
