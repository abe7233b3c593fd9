import type { ConnectorConfig } from '../../config/config-types.ts';
import type { Page, PullSource, RunContext } from '../../connectors/pull-source.ts';
import { VendorResponseError } from '../../errors.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { AccessTokenProvider } from '../http/access-token-provider.ts';
import { vendorClientFor, type VendorAttempt, type VendorHttpClient } from '../http/vendor-http-client.ts';
import { computerRecord } from './inventory-record.ts';
import type { InventorySettings } from './settings.ts';

/**
 * Where a scan of the fleet is: scan number and the next page. Pages are read sorted by id (a stable
 * key: a peer that paged by report date stalled when GENERAL was off or a computer had no report
 * date), and `lastId` drops computers a page shift shows twice.
 */
export interface InventoryCursor {
  readonly scan: number;
  readonly page: number;
  readonly lastId: string | null;
}

export const inventoryPath = '/api/v1/computers-inventory';
export const inventoryTokenPath = '/api/oauth/token';

/** Numeric ids compare as numbers (Jamf sends them as strings), others as text. */
function idAfter(id: string, lastId: string | null): boolean {
  if (lastId === null) return true;
  const a = Number(id);
  const b = Number(lastId);
  if (Number.isFinite(a) && Number.isFinite(b) && /^\d+$/.test(id) && /^\d+$/.test(lastId)) return a > b;
  return id > lastId;
}

/** Jamf Pro computer inventory (`type: jamf_pro.inventory`): every run scans the fleet; the versions hash keeps what is appended to the changed computers. */
export class JamfProInventorySource implements PullSource<InventoryCursor> {
  readonly #config: ConnectorConfig<InventorySettings>;
  readonly #settings: InventorySettings;
  readonly #client: VendorHttpClient;
  readonly tokens: AccessTokenProvider;

  constructor(config: ConnectorConfig<InventorySettings>, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    this.#config = config;
    this.#settings = config.settings;
    this.#client = vendorClientFor(config, { onAttempt: options.onAttempt, secrets: [this.#settings.client_secret] });
    const { client_id, client_secret } = this.#settings;
    this.tokens = new AccessTokenProvider(this.#client, {
      method: 'POST',
      path: inventoryTokenPath,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }).toString(),
    });
    this.#client.setTokens(this.tokens);
  }

  get requests(): number {
    return this.#client.requests;
  }

  #query(page: number, pageSize: number): Record<string, string | number | readonly string[]> {
    return { section: this.#settings.sections, page, 'page-size': pageSize, sort: 'id:asc' };
  }

  async fetchPage(cursor: InventoryCursor | undefined, context: RunContext): Promise<Page<InventoryCursor>> {
    const at: InventoryCursor = cursor ?? { scan: 1, page: 0, lastId: null };
    const pageSize = this.#settings.page_size;
    const response = await this.#client.request({ method: 'GET', path: inventoryPath, query: this.#query(at.page, pageSize), headers: { accept: 'application/json' }, auth: true }, context.signal);
    const body = response.json<{ totalCount?: unknown; results?: unknown }>();
    if (body === null || typeof body !== 'object' || !Array.isArray(body.results)) {
      throw new VendorResponseError(this.#config.name, `GET ${inventoryPath} answered without a results array: the Jamf Pro API may have changed.`);
    }
    const totalCount = typeof body.totalCount === 'number' ? body.totalCount : undefined;
    const sinceMs = context.since === undefined ? undefined : Date.parse(context.since);
    const records: PageRecord[] = [];
    let lastId = at.lastId;
    let skipped = 0;
    for (const item of body.results as unknown[]) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        skipped += 1;
        continue;
      }
      const record = computerRecord(item as Record<string, unknown>, { connector: this.#config.name, tenant: this.#config.tenant, receivedMs: context.receivedMs, sinceMs });
      if (!record) {
        skipped += 1;
        continue;
      }
      // A computer removed from an earlier page shifts the pages: what was already read comes again.
      if (!idAfter(record.versionField!, at.lastId)) continue;
      records.push(record);
      lastId = record.versionField!;
    }
    const received = body.results.length;
    const full = received >= pageSize;
    const more = full && (totalCount === undefined || (at.page + 1) * pageSize < totalCount);
    const next: InventoryCursor = more ? { scan: at.scan, page: at.page + 1, lastId } : { scan: at.scan + 1, page: 0, lastId: null };
    const warnings = skipped > 0 ? [`GET ${inventoryPath} page ${at.page} held ${skipped} item(s) that are not computer records with an id; they were skipped.`] : [];
    // A computer not seen in two whole scans is gone (a computer a page shift hid once is seen in the next scan).
    return { records, cursor: next, more, received, warnings, versionStamp: at.scan, ...(more ? {} : { pruneBelowStamp: at.scan - 1 }) };
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    await this.tokens.token(signal);
    const response = await this.#client.request({ method: 'GET', path: inventoryPath, query: this.#query(0, 1), headers: { accept: 'application/json' }, auth: true }, signal);
    const total = response.json<{ totalCount?: unknown }>()?.totalCount;
    return `Token granted for client_id ${this.#settings.client_id}; reading computer inventory is permitted (${typeof total === 'number' ? `${total} computers` : 'count unknown'}).`;
  }

  describeCursor(cursor: InventoryCursor | undefined): Record<string, unknown> {
    if (!cursor) return { scan: 1, page: 0 };
    return { scan: cursor.scan, page: cursor.page, lastComputerId: cursor.lastId };
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
