import type { Logger } from 'pino';
import type { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import type { Metrics } from '../metrics.ts';
import type { PageOutcome, PageRecord } from '../sink/event-sink.ts';

// Missed webhooks (docs/completeness.md). Jamf Pro does not retry a webhook, so one lost on the way is
// invisible; the inventory sees its trace. A computer whose report date advanced from one scan to the
// next (the first scan is only the baseline: the page script names the computers whose remembered
// version was older) past the last ComputerCheckIn or ComputerInventoryCompleted webhook the push route
// took for it (by serial or udid, in the tenant's device hash the append script keeps), by more than
// missed_webhook_tolerance, counts as a likely missed webhook. A tenant whose route never took such a
// webhook has none to compare with (webhooks not set up): nothing is reported. Told per scan: a metric, /status and a
// log line naming a bounded list of computers.
//
// A computer is judged one whole scan after the scan that saw its report advance, and only once its
// report is older than the tolerance: the check-in webhook of that report may still be on its way (in
// flight, or waiting in the local spool) when the scan reads the report. Until then it waits, in
// memory (a restart forgets the waiting ones; they are not reported).

/** Computers named in the log line and /status at most. */
export const maxListed = 20;
/** Computers waiting to be judged at most; past it the longest waiting are dropped (not reported). */
const maxWaiting = 10_000;

export interface MissedWebhook {
  /** The computer's Jamf id. */
  readonly id: string;
  readonly serial: string | null;
  readonly udid: string | null;
  readonly reportDate: string;
  /** The last check-in or inventory webhook seen for it; null: none. */
  readonly lastWebhookAt: string | null;
}

export interface MissedWebhooksOptions {
  readonly connector: string;
  /** The tenant of the inventory connector, which is the webhook route's (webhook_tenant). */
  readonly tenant: string;
  readonly toleranceMs: number;
  readonly state: ConnectorStateStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class MissedWebhooks {
  readonly #o: MissedWebhooksOptions;
  /** Whether the route has taken a check-in or inventory webhook of the tenant (null: not asked yet). */
  #webhooksSeen: boolean | null = null;
  /** Computers whose report advanced, waiting to be judged, by Jamf id; `scans` is the number of scans ended when it was seen. */
  readonly #waiting = new Map<string, { device: NonNullable<PageRecord['device']>; reportMs: number; scans: number }>();
  #scansEnded = 0;
  /** The last whole scan's. */
  #last: { readonly scan: number; readonly at: string; readonly count: number; readonly computers: readonly MissedWebhook[] } | null = null;

  readonly #now: () => number;

  constructor(options: MissedWebhooksOptions & { readonly now?: () => number }) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** How many the last whole scan found (0 before one ended). */
  get lastCount(): number {
    return this.#last?.count ?? 0;
  }

  /** Notes the computers whose report advanced on this page: they are judged after the next scan. */
  afterPage(records: readonly PageRecord[], result: PageOutcome): void {
    if (result.outcome !== 'ok' || !result.advanced) return;
    const devices = new Map<string, NonNullable<PageRecord['device']>>();
    for (const { versionField, device } of records) if (versionField !== undefined && device) devices.set(versionField, device);
    for (const [field, previous] of result.advanced) {
      const device = devices.get(field);
      if (device?.reportMs === undefined || device.reportMs <= Number(previous)) continue;
      this.#waiting.delete(field);
      if (this.#waiting.size >= maxWaiting) this.#waiting.delete(this.#waiting.keys().next().value!);
      this.#waiting.set(field, { device, reportMs: device.reportMs, scans: this.#scansEnded });
    }
  }

  /** A scan ended: the computers due are compared with their last webhook; what it found is counted, logged and shown until the next one ends. */
  async scanEnded(scan: number): Promise<void> {
    this.#scansEnded += 1;
    const due = [...this.#waiting].filter(([, w]) => w.scans < this.#scansEnded - 1 && this.#now() - w.reportMs > this.#o.toleranceMs);
    let count = 0;
    const listed: MissedWebhook[] = [];
    if (due.length > 0) {
      const fields = due.flatMap(([, { device }]) => [`serial:${device.serial ?? ''}`, `udid:${device.udid ?? ''}`]);
      const seen = await this.#o.state.webhookSightings(this.#o.tenant, fields);
      this.#webhooksSeen = seen !== undefined;
      for (const [id] of due) this.#waiting.delete(id);
      // The tenant never sent a check-in or inventory webhook: it has no webhooks to compare with.
      due.forEach(([id, { device, reportMs }], i) => {
        if (!seen) return;
        const bySerial = device.serial ? seen[2 * i] : undefined;
        const byUdid = device.udid ? seen[2 * i + 1] : undefined;
        const last = Math.max(bySerial ?? -Infinity, byUdid ?? -Infinity);
        if (reportMs - last <= this.#o.toleranceMs) return;
        count += 1;
        if (listed.length < maxListed) listed.push({ id, serial: device.serial ?? null, udid: device.udid ?? null, reportDate: iso(reportMs), lastWebhookAt: Number.isFinite(last) ? iso(last) : null });
      });
    }
    this.#last = { scan, at: new Date().toISOString(), count, computers: listed };
    if (count === 0) return;
    this.#o.metrics?.completeness.missedWebhooks.inc({ connector: this.#o.connector }, count);
    this.#o.logger.warn(
      { scan, missedWebhooks: count, computers: listed, toleranceMs: this.#o.toleranceMs },
      `Likely missed Jamf Pro webhooks: ${count} computer(s) sent an inventory later than their last check-in or inventory webhook Orchard took${count > listed.length ? ` (the first ${listed.length} listed)` : ''}.`,
    );
  }

  status(): Record<string, unknown> {
    return {
      tenant: this.#o.tenant,
      tolerance: `${Math.round(this.#o.toleranceMs / 1000)}s`,
      ...(this.#webhooksSeen === false ? { note: 'the webhook route has taken no check-in or inventory webhook of this tenant: nothing to compare with' } : {}),
      waiting: this.#waiting.size,
      lastScan: this.#last,
    };
  }
}
