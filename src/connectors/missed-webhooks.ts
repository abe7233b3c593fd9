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

/** Computers named in the log line and /status at most. */
export const maxListed = 20;

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
  /** This scan's so far. */
  #scan: { count: number; listed: MissedWebhook[] } = { count: 0, listed: [] };
  /** The last whole scan's. */
  #last: { readonly scan: number; readonly at: string; readonly count: number; readonly computers: readonly MissedWebhook[] } | null = null;

  constructor(options: MissedWebhooksOptions) {
    this.#o = options;
  }

  /** How many the last whole scan found (0 before one ended). */
  get lastCount(): number {
    return this.#last?.count ?? 0;
  }

  /** Compares the computers whose report advanced on this page with their last webhook. */
  async afterPage(records: readonly PageRecord[], result: PageOutcome): Promise<void> {
    if (result.outcome !== 'ok' || !result.advanced) return;
    const devices = new Map<string, NonNullable<PageRecord['device']>>();
    for (const { versionField, device } of records) if (versionField !== undefined && device) devices.set(versionField, device);
    const advanced: { id: string; device: NonNullable<PageRecord['device']>; reportMs: number }[] = [];
    for (const [field, previous] of result.advanced) {
      const device = devices.get(field);
      if (device?.reportMs !== undefined && device.reportMs > Number(previous)) advanced.push({ id: field, device, reportMs: device.reportMs });
    }
    if (advanced.length === 0) return;
    const fields = advanced.flatMap(({ device }) => [`serial:${device.serial ?? ''}`, `udid:${device.udid ?? ''}`]);
    const seen = await this.#o.state.webhookSightings(this.#o.tenant, fields);
    this.#webhooksSeen = seen !== undefined;
    // The tenant never sent a check-in or inventory webhook: it has no webhooks to compare with.
    if (!seen) return;
    advanced.forEach(({ id, device, reportMs }, i) => {
      const bySerial = device.serial ? seen[2 * i] : undefined;
      const byUdid = device.udid ? seen[2 * i + 1] : undefined;
      const last = Math.max(bySerial ?? -Infinity, byUdid ?? -Infinity);
      if (reportMs - last <= this.#o.toleranceMs) return;
      this.#scan.count += 1;
      if (this.#scan.listed.length < maxListed) {
        this.#scan.listed.push({ id, serial: device.serial ?? null, udid: device.udid ?? null, reportDate: iso(reportMs), lastWebhookAt: Number.isFinite(last) ? iso(last) : null });
      }
    });
  }

  /** A scan ended: what it found is counted, logged and shown until the next one ends. */
  scanEnded(scan: number): void {
    const { count, listed } = this.#scan;
    this.#last = { scan, at: new Date().toISOString(), count, computers: listed };
    this.#scan = { count: 0, listed: [] };
    if (count === 0) return;
    this.#o.metrics?.completeness.missedWebhooks.inc({ connector: this.#o.connector }, count);
    this.#o.logger.warn(
      { scan, missedWebhooks: count, computers: listed, toleranceMs: this.#o.toleranceMs },
      `Likely missed Jamf Pro webhooks: ${count} computer(s) sent an inventory this scan later than their last check-in or inventory webhook Orchard took${count > listed.length ? ` (the first ${listed.length} listed)` : ''}.`,
    );
  }

  status(): Record<string, unknown> {
    return {
      tenant: this.#o.tenant,
      tolerance: `${Math.round(this.#o.toleranceMs / 1000)}s`,
      ...(this.#webhooksSeen === false ? { note: 'the webhook route has taken no check-in or inventory webhook of this tenant: nothing to compare with' } : {}),
      lastScan: this.#last,
    };
  }
}
