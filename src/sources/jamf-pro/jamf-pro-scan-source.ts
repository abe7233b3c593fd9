import type { ConnectorConfig } from '../../config/config-types.ts';
import type { Page, PullSource, RunContext } from '../../connectors/pull-source.ts';
import { VendorHttpError, VendorResponseError } from '../../errors.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import type { VendorAttempt, VendorResponse } from '../http/vendor-http-client.ts';
import { JamfProApi, type JamfProCredentials } from './jamf-pro-api.ts';
import { startOfScan, stepScan, type ScanCursor } from './scan-cursor.ts';
import { scanEnd } from './snapshot-records.ts';

// A Jamf Pro inventory (computers, mobile devices): every run scans the whole list, sorted by id, a
// page at a time (scan-cursor.ts), and makes a record of each item; the versions hash, written with
// each page, keeps what is appended to the items that changed. The subclass says which list (and API
// version) it reads, how to ask for a page and what record an item makes.

export type ScanSettings = JamfProCredentials & {
  readonly page_size: number;
};

/** What an item is to the scan: its record, or undefined when it has no id to key it by. */
export interface ItemContext {
  readonly connector: string;
  readonly tenant: string;
  readonly receivedMs: number;
  readonly sinceMs: number | undefined;
}

export abstract class JamfProScanSource<S extends ScanSettings> implements PullSource<ScanCursor> {
  protected readonly config: ConnectorConfig<S>;
  readonly api: JamfProApi;
  /** The list path this run reads (chosen at the start of each run). */
  #path: string | undefined;

  constructor(config: ConnectorConfig<S>, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    this.config = config;
    this.api = new JamfProApi(config, options);
  }

  /** The `source` of its records. */
  protected abstract readonly streamSource: string;
  /** What the items are, plural ("computers"). */
  protected abstract readonly noun: string;
  /** What reading them is called ("computer inventory"). */
  protected abstract readonly reading: string;
  /** The list path to read this run; may ask the server's version. Throws ConfigInvalidError when the settings do not fit it. */
  protected abstract choosePath(signal: AbortSignal): Promise<string>;
  /** The path to try when `path` answered 404 (an older API version), or undefined. Throws ConfigInvalidError when a pinned version is gone. */
  protected abstract olderPath(path: string, signal: AbortSignal): Promise<string | undefined>;
  /** The query of one page. */
  protected abstract query(page: number, pageSize: number): Record<string, string | number | readonly string[]>;
  /** The item's id, as text; undefined when it has none. */
  protected abstract idOf(item: Record<string, unknown>): string | undefined;
  protected abstract record(item: Record<string, unknown>, context: ItemContext): PageRecord | undefined;

  get requests(): number {
    return this.api.requests;
  }

  /** The path read last (undefined before the first page). */
  get listPath(): string | undefined {
    return this.#path;
  }

  /** One page of the list at `page` with `pageSize`, from the chosen path, falling back to an older API version on 404. */
  protected async requestPage(page: number, pageSize: number, signal: AbortSignal, newRun: boolean): Promise<{ path: string; response: VendorResponse }> {
    if (newRun || this.#path === undefined) {
      if (newRun) this.api.forgetVersion();
      this.#path = await this.choosePath(signal);
    }
    for (;;) {
      const path: string = this.#path;
      try {
        const response = await this.api.client.request({ method: 'GET', path, query: this.query(page, pageSize), headers: { accept: 'application/json' }, auth: true }, signal);
        return { path, response };
      } catch (err) {
        const older: string | undefined = err instanceof VendorHttpError && err.status === 404 ? await this.olderPath(path, signal) : undefined;
        if (older === undefined) throw err;
        this.#path = older;
      }
    }
  }

  async fetchPage(cursor: ScanCursor | undefined, context: RunContext): Promise<Page<ScanCursor>> {
    const from = cursor ?? startOfScan(1);
    // A scan starts when its first page is asked for (its snapshot marker's start).
    const at = from.page === 0 && from.lastId === null && !from.startedAt ? { ...from, startedAt: new Date(context.receivedMs).toISOString() } : from;
    const pageSize = at.pageSize ?? this.config.settings.page_size;
    const { path, response } = await this.requestPage(at.page, pageSize, context.signal, context.newRun !== false);
    const body = response.json<{ totalCount?: unknown; results?: unknown }>();
    if (body === null || typeof body !== 'object' || !Array.isArray(body.results)) {
      throw new VendorResponseError(this.config.name, `GET ${path} answered without a results array: the Jamf Pro API may have changed.`);
    }
    const { totalCount } = body;
    if (typeof totalCount !== 'number' || !Number.isInteger(totalCount) || totalCount < 0) {
      throw new VendorResponseError(this.config.name, `GET ${path} answered without a totalCount: the Jamf Pro API may have changed.`);
    }
    const items = body.results as unknown[];
    const ids = items.map((item) => (item !== null && typeof item === 'object' && !Array.isArray(item) ? this.idOf(item as Record<string, unknown>) : undefined));
    const step = stepScan(at, pageSize, { totalCount, ids }, { connector: this.config.name, path, noun: this.noun });
    const sinceMs = context.since === undefined ? undefined : Date.parse(context.since);
    const itemContext: ItemContext = { connector: this.config.name, tenant: this.config.tenant, receivedMs: context.receivedMs, sinceMs };
    const records: PageRecord[] = [];
    for (const i of step.keep) {
      const record = this.record(items[i] as Record<string, unknown>, itemContext);
      if (record) records.push(record);
    }
    const skipped = step.discarded ? 0 : ids.filter((id) => id === undefined).length;
    const warnings = [...step.warnings];
    if (skipped > 0) warnings.push(`GET ${path} page ${at.page} held ${skipped} item(s) that are not ${this.noun} records with an id; they were skipped.`);
    const page = { records, cursor: step.next, more: step.more, received: step.discarded ? 0 : items.length, warnings, versionStamp: at.scan };
    if (!step.end) return page;
    const { connector, tenant } = itemContext;
    return { ...page, scanEnd: scanEnd({ source: this.streamSource, connector, tenant, scan: at.scan, startedAt: at.startedAt ?? null, endedMs: context.receivedMs, ...step.end }) };
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    await this.api.tokens.token(signal);
    const { path, response } = await this.requestPage(0, 1, signal, true);
    const total = response.json<{ totalCount?: unknown }>()?.totalCount;
    const version = await this.api.serverVersion(signal);
    return `Token granted for client_id ${this.config.settings.client_id}; reading ${this.reading} is permitted (${typeof total === 'number' ? `${total} ${this.noun}` : 'count unknown'}); read from GET ${path}${version ? ` of Jamf Pro ${version.text}` : ''}.`;
  }

  describeCursor(cursor: ScanCursor | undefined): Record<string, unknown> {
    const at = cursor ?? startOfScan(1);
    return { scan: at.scan, page: at.page, lastId: at.lastId, ...(at.pageSize === undefined ? {} : { pageSize: at.pageSize }), ...(this.#path ? { path: this.#path } : {}) };
  }

  close(): Promise<void> {
    return this.api.close();
  }
}
