import type { ConnectorConfig } from '../../config/config-types.ts';
import { parseDurationMs } from '../../config/duration.ts';
import { ConfigInvalidError } from '../../errors.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import type { VendorAttempt } from '../http/vendor-http-client.ts';
import { atLeast } from '../jamf-pro/jamf-pro-api.ts';
import { JamfProScanSource, type ItemContext } from '../jamf-pro/jamf-pro-scan-source.ts';
import { inventoryPathOf, inventoryVersionOf, inventoryVersionSince, newestInventoryVersion, sectionsProblem, type InventoryApiVersion } from './api-versions.ts';
import { computerIdOf, computerRecord, inventorySource } from './inventory-record.ts';
import type { InventorySettings } from './settings.ts';

/** The path Orchard asked for before it chose versions; kept for the base_url check's list. */
export const inventoryPath = inventoryPathOf(1);

/**
 * Jamf Pro computer inventory (`type: jamf_pro.inventory`): every run scans the fleet, sorted by id, on
 * the newest computers-inventory version the server offers (or `api_version`); the versions hash keeps
 * what is appended to the computers whose report changed.
 */
export class JamfProInventorySource extends JamfProScanSource<InventorySettings> {
  protected readonly streamSource = inventorySource;
  protected readonly noun = 'computers';
  protected readonly reading = 'computer inventory';
  /** The version the server's answers showed it offers, newest first found this run. */
  #offered: InventoryApiVersion | undefined;

  constructor(config: ConnectorConfig<InventorySettings>, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    super(config, options);
  }

  get tokens() {
    return this.api.tokens;
  }

  #check(version: InventoryApiVersion): string {
    const problem = sectionsProblem(version, this.config.settings.sections, this.config.settings.api_version !== undefined);
    if (problem) throw new ConfigInvalidError([`connectors[${this.config.name}].${problem}`]);
    return inventoryPathOf(version);
  }

  protected async choosePath(signal: AbortSignal): Promise<string> {
    const pinned = this.config.settings.api_version;
    if (pinned !== undefined) return this.#check(pinned);
    // The newest version this Jamf Pro's release offers; a 404 on it falls back to the one before.
    const server = await this.api.serverVersion(signal);
    const since = inventoryVersionSince[newestInventoryVersion]!;
    const version: InventoryApiVersion = server === null || atLeast(server, since) ? newestInventoryVersion : ((newestInventoryVersion - 1) as InventoryApiVersion);
    this.#offered = version;
    return this.#check(version);
  }

  protected async olderPath(path: string, signal: AbortSignal): Promise<string | undefined> {
    const version = inventoryVersionOf(path);
    const pinned = this.config.settings.api_version;
    if (pinned !== undefined) {
      // A Jamf Pro that answers its version is there: the pinned version is what it no longer serves.
      const server = await this.api.serverVersion(signal);
      if (server === null) return undefined;
      throw new ConfigInvalidError([`connectors[${this.config.name}].api_version: Jamf Pro ${server.text} answers 404 to GET ${path}: it no longer serves v${pinned}. Remove api_version (Orchard then uses the newest version the server offers) or pin a newer one.`]);
    }
    if (version === undefined || version === 1) return undefined;
    this.#offered = (version - 1) as InventoryApiVersion;
    return this.#check(this.#offered);
  }

  protected query(page: number, pageSize: number): Record<string, string | number | readonly string[]> {
    return { section: this.config.settings.sections, page, 'page-size': pageSize, sort: 'id:asc' };
  }

  protected idOf(item: Record<string, unknown>): string | undefined {
    return computerIdOf(item);
  }

  protected record(item: Record<string, unknown>, context: ItemContext): PageRecord | undefined {
    return computerRecord(item, context, this.missedWebhookToleranceMs !== undefined);
  }

  /** missed_webhook_tolerance; undefined when off. */
  get missedWebhookToleranceMs(): number | undefined {
    const setting = this.config.settings.missed_webhook_tolerance ?? '10m';
    return setting === 'off' ? undefined : parseDurationMs(setting);
  }

  /** The next computers-inventory version after a deprecated one (at most the newest Orchard knows). */
  successorPath(path: string): string | undefined {
    const version = inventoryVersionOf(path);
    if (version === undefined || version >= newestInventoryVersion) return undefined;
    const next = Math.max(version + 1, this.#offered ?? 0) as InventoryApiVersion;
    const pinned = this.config.settings.api_version !== undefined ? ' (unset api_version, or raise it)' : '';
    return `${path.replace(/\/api\/v\d+\/computers-inventory$/, inventoryPathOf(next))}${pinned}`;
  }
}
