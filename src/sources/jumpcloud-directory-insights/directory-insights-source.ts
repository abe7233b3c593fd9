import type { ConnectorConfig } from '../../config/config-types.ts';
import { formatDurationMs, parseDurationMs } from '../../config/duration.ts';
import type { Page, PageWindows, PullSource, RunContext, WindowCounting, WindowRef } from '../../connectors/pull-source.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { VendorResponseError } from '../../errors.ts';
import { Keyspace } from '../../redis/keyspace.ts';
import { firstHeader, type VendorResponse } from '../http/vendor-http-client.ts';
import type { JumpCloudClient } from '../jumpcloud/jumpcloud-client.ts';
import type { JumpCloudConnection } from '../jumpcloud/jumpcloud-connection.ts';
import type { OrgPager, OrgScope } from '../jumpcloud/organizations-source.ts';
import { readEventsPage, type EventsPageInput } from './events-page.ts';
import { directoryInsightsServices, type DirectoryInsightsSettings } from './settings.ts';

// JumpCloud Directory Insights (`type: jumpcloud.directory_insights`). Each run reads one time window,
// oldest first, page after page with `search_after`:
//
//   start = the end of the last window − overlap (first run: `start`, or a day ago)
//   end   = now − lag
//
// Events become visible minutes after their timestamp, so every window re-reads `overlap` before the
// last end. What was already read there is dropped by id: the cursor carries the ids of every event
// seen at or after `end − overlap` (Devo's `ids_with_same_timestamp`, widened from one timestamp to
// the whole overlap), and it is written with each page in one step, so a crash never re-appends one.
// The peer failures this avoids (VENDOR-APIS.md): restarting at `>= last timestamp` appended the
// boundary event twice on almost every cycle; a lag window with start after end got a 400 and stopped
// ingestion for good (here: a window with nothing to ask asks nothing); nanosecond fractions parsed
// as zero (event-time.ts).
//
// It reads one organization: its own (or `org_id`'s) as a pull source, or each of an MSP's `org_ids`
// as the pager of the organizations source (src/sources/jumpcloud/organizations-source.ts), which
// keeps a cursor of this shape per organization.

export { directoryInsightsSource } from './events-page.ts';
export const eventsPath = '/insights/directory/v1/events';
/**
 * The count of the events a query matches, with the same body (TheJumpCloud/jcapi-powershell,
 * SDKs/PowerShell/JumpCloud.SDK.DirectoryInsights/docs/exports/Get-JcSdkEventCount.md: POST
 * /insights/directory/v1/events/count, an EventQuery body; answered `{"count": N}`).
 */
export const countPath = '/insights/directory/v1/events/count';
const firstRunLookBackMs = 24 * 60 * 60 * 1000;

export interface DirectoryInsightsCursor {
  /** Every event before this (RFC 3339) has been read once: the end of the last finished window. */
  readonly until: string | null;
  /** The window a run is reading, and where in it; null between runs. */
  readonly window: { readonly start: string; readonly end: string; readonly searchAfter: unknown[] | null } | null;
  /** Ids seen at or after `until − overlap`: the next window re-reads them and drops them. */
  readonly seen: readonly string[];
  /** Ids seen in the open window at or after `window.end − overlap`: `seen` once the window is done. */
  readonly nextSeen: readonly string[];
  /**
   * Completeness: events from this time on have all been counted in their windows of `countedWindow`
   * (docs/completeness.md). Absent while counting is off (verify_after: off), and in checkpoints
   * written before Orchard counted; a new verify_window starts counting again.
   */
  readonly countedSince?: string;
  readonly countedWindow?: string;
}

export class DirectoryInsightsSource implements PullSource<DirectoryInsightsCursor>, OrgPager<DirectoryInsightsCursor> {
  readonly #config: ConnectorConfig<DirectoryInsightsSettings>;
  readonly #settings: DirectoryInsightsSettings;
  readonly #connection: JumpCloudConnection;
  readonly #client: JumpCloudClient;
  readonly #lagMs: number;
  readonly #overlapMs: number;
  /** The stream `stream_per_service` names its streams after. */
  readonly #stream: string;
  readonly #now: () => number;
  /** Services not in JumpCloud's published list: said once, on the first page. */
  #unknownServices: readonly string[];
  /** verify_after, undefined when off (no window counting). */
  readonly #verifyAfterMs: number | undefined;
  readonly #windowMs: number;

  constructor(config: ConnectorConfig<DirectoryInsightsSettings>, connection: JumpCloudConnection, options: { stream?: string; now?: () => number } = {}) {
    this.#config = config;
    this.#settings = config.settings;
    this.#lagMs = parseDurationMs(this.#settings.lag) ?? 120_000;
    this.#overlapMs = parseDurationMs(this.#settings.overlap) ?? 600_000;
    this.#stream = options.stream ?? 'orchard:events';
    this.#now = options.now ?? Date.now;
    this.#connection = connection;
    this.#client = connection.client(config.baseUrl);
    this.#unknownServices = this.#services.filter((s) => !(directoryInsightsServices as readonly string[]).includes(s));
    this.#verifyAfterMs = this.#settings.verify_after === 'off' ? undefined : (parseDurationMs(this.#settings.verify_after ?? '15m') ?? 900_000);
    this.#windowMs = parseDurationMs(this.#settings.verify_window ?? '1h') ?? 3_600_000;
  }

  /** The window counting of the connector's own organization (a connector without org_ids). */
  get windows(): WindowCounting | undefined {
    return this.windowCounting(() => this.#ownOrg);
  }

  /** The service groups windows are counted by: `all` when the connector reads every service, else each service. */
  get #serviceGroups(): string[] {
    return this.#services.includes('all') ? ['all'] : this.#services;
  }

  /** The window counting, with the organization scope of an organization id ('' for the connector's own). Undefined with verify_after: off. */
  windowCounting(scopeOf: (org: string) => OrgScope): WindowCounting | undefined {
    if (this.#verifyAfterMs === undefined) return undefined;
    const services = (window: WindowRef) => (window.service === 'all' ? this.#services : [window.service]);
    return {
      windowMs: this.#windowMs,
      settleMs: this.#lagMs + Math.max(this.#verifyAfterMs, this.#overlapMs),
      services: this.#serviceGroups,
      passedBefore: (cursor) => {
        const until = (cursor as DirectoryInsightsCursor | undefined)?.until;
        return typeof until === 'string' ? Date.parse(until) - this.#overlapMs : undefined;
      },
      count: async (window, signal) => {
        const body = JSON.stringify({ service: services(window), start_time: window.start, end_time: window.end });
        const answer = (await this.#client.request({ method: 'POST', path: countPath, body }, scopeOf(window.org).id, signal)).json<{ count?: unknown }>();
        const count = answer !== null && typeof answer === 'object' ? answer.count : undefined;
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
          throw new VendorResponseError(this.#config.name, 'the answer has no count: the Directory Insights API may have changed.', { method: 'POST', path: countPath });
        }
        return count;
      },
      pages: (window, signal) => this.#windowPages(scopeOf(window.org), window, services(window), signal),
    };
  }

  /** A closed window read again, page after page, every event made a record (the stream's id set tells which it holds). */
  async *#windowPages(org: OrgScope, window: WindowRef, services: readonly string[], signal: AbortSignal): AsyncGenerator<readonly PageRecord[]> {
    const limit = this.#settings.limit ?? 10_000;
    let searchAfter: unknown[] | null = null;
    for (;;) {
      const body = { service: services, start_time: window.start, end_time: window.end, limit, sort: 'ASC', ...(searchAfter ? { search_after: searchAfter } : {}) };
      const response = await this.#query(body, org.id, signal);
      const page = readEventsPage({ ...this.#pageInput(org, response.body, Date.now()), seen: [], nextSeen: [], boundaryMs: Number.POSITIVE_INFINITY });
      if (!page.array) throw this.#notAnArray();
      yield page.records;
      const resultCount = Number(firstHeader(response.headers['x-result-count']) ?? page.received);
      if (!(page.received > 0 && resultCount === Number(firstHeader(response.headers['x-limit']) ?? limit))) return;
      const next = parseSearchAfter(firstHeader(response.headers['x-search_after'])) ?? page.lastKey;
      if (!next || JSON.stringify(next) === JSON.stringify(searchAfter)) return;
      searchAfter = next;
    }
  }

  /** What every events page is read with, but the cursor's ids. */
  #pageInput(org: OrgScope, text: string, receivedMs: number): Omit<EventsPageInput, 'seen' | 'nextSeen' | 'boundaryMs'> {
    return {
      text,
      receivedMs,
      tenant: org.tenant,
      connector: this.#config.name,
      serviceStreamPrefix: this.#settings.stream_per_service ? new Keyspace(this.#stream).jumpCloudServicePrefix : undefined,
    };
  }

  /** A page's records by the window and service group they are counted in (records of a service not configured are not). */
  #windowTallies(org: OrgScope, records: readonly PageRecord[], countedFrom: string | undefined): PageWindows | undefined {
    if (this.#verifyAfterMs === undefined) return undefined;
    const all = this.#services.includes('all');
    const windowMs = this.#windowMs;
    // service group → window start (ms) → ids: one string built per window, not per event (the pull's hot path).
    const byService = new Map<string, Map<number, string[]>>();
    for (const { record } of records) {
      const service = all ? 'all' : record.type.slice(0, record.type.indexOf('/'));
      if (!all && !this.#services.includes(service)) continue;
      const ms = Date.parse(record.time);
      const start = ms - (((ms % windowMs) + windowMs) % windowMs);
      let windows = byService.get(service);
      if (!windows) byService.set(service, (windows = new Map()));
      let ids = windows.get(start);
      if (!ids) windows.set(start, (ids = []));
      ids.push(record.id);
    }
    const orgId = org.id ?? '';
    const groups = [...byService].flatMap(([service, windows]) => [...windows].map(([start, ids]) => ({ org: orgId, service, start: new Date(start).toISOString(), end: new Date(start + windowMs).toISOString(), ids })));
    if (groups.length === 0 && countedFrom === undefined) return undefined;
    return { ...(countedFrom === undefined ? {} : { countedFrom: { org: orgId, at: countedFrom } }), groups };
  }

  get requests(): number {
    return this.#connection.requests;
  }

  get #services(): string[] {
    return this.#settings.services ?? ['all'];
  }

  /** The organization of a connector without org_ids: its own, or `org_id`'s. */
  get #ownOrg(): OrgScope {
    return { id: this.#settings.org_id, tenant: this.#config.tenant, versionPrefix: '' };
  }

  async #query(body: Record<string, unknown>, org: string | undefined, signal: AbortSignal): Promise<VendorResponse> {
    return this.#client.request({ method: 'POST', path: eventsPath, body: JSON.stringify(body) }, org, signal);
  }

  #notAnArray(): VendorResponseError {
    return new VendorResponseError(this.#config.name, 'the answer is not a JSON array of events: the Directory Insights API may have changed.', { method: 'POST', path: eventsPath });
  }

  /** Where a new window starts: the last end minus the overlap, never before `since`. */
  #windowStart(cursor: DirectoryInsightsCursor | undefined, context: RunContext): number {
    const sinceMs = context.since === undefined ? undefined : Date.parse(context.since);
    if (cursor?.until) {
      const start = Date.parse(cursor.until) - this.#overlapMs;
      return sinceMs === undefined ? start : Math.max(start, sinceMs);
    }
    return sinceMs ?? this.#now() - firstRunLookBackMs;
  }

  async fetchPage(cursor: DirectoryInsightsCursor | undefined, context: RunContext): Promise<Page<DirectoryInsightsCursor>> {
    const page = await this.fetchOrgPage(this.#ownOrg, cursor, context);
    const notices = this.#connection.takeNotices();
    return notices.length === 0 ? page : { ...page, warnings: [...notices, ...(page.warnings ?? [])] };
  }

  async fetchOrgPage(org: OrgScope, cursor: DirectoryInsightsCursor | undefined, context: RunContext): Promise<Page<DirectoryInsightsCursor>> {
    const at: DirectoryInsightsCursor = cursor ?? { until: null, window: null, seen: [], nextSeen: [] };
    let window = at.window;
    if (!window) {
      const startMs = this.#windowStart(cursor, context);
      const endMs = this.#now() - this.#lagMs;
      // JumpCloud answers 400 when start_time is not before end_time: with nothing to ask, ask nothing.
      if (startMs >= endMs) return { records: [], cursor: at, more: false, received: 0 };
      window = { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), searchAfter: null };
    }
    const limit = this.#settings.limit ?? 10_000;
    const response = await this.#query(
      {
        service: this.#services,
        start_time: window.start,
        end_time: window.end,
        limit,
        sort: 'ASC',
        ...(window.searchAfter ? { search_after: window.searchAfter } : {}),
      },
      org.id,
      context.signal,
    );
    const input: EventsPageInput = { ...this.#pageInput(org, response.body, context.receivedMs), seen: at.seen, nextSeen: at.nextSeen, boundaryMs: Date.parse(window.end) - this.#overlapMs };
    const page = readEventsPage(input);
    if (!page.array) {
      if (!page.json) response.json(); // The vendor client's error for a body that is not JSON, with an excerpt.
      throw this.#notAnArray();
    }
    const { records, received, duplicates, skipped, lastKey, lastMs, nextSeen, fingerprint } = page;
    const untilMs = at.until === null ? undefined : Date.parse(at.until);

    const resultCount = Number(firstHeader(response.headers['x-result-count']) ?? received);
    const answeredLimit = Number(firstHeader(response.headers['x-limit']) ?? limit);
    const more = received > 0 && resultCount === answeredLimit && resultCount > 0;
    const warnings: string[] = [];
    if (this.#unknownServices.length > 0) {
      warnings.push(`services ${this.#unknownServices.join(', ')} ${this.#unknownServices.length === 1 ? 'is' : 'are'} not in JumpCloud's published list (${directoryInsightsServices.join(', ')}); sent as written.`);
      this.#unknownServices = [];
    }
    if (skipped > 0) warnings.push(`POST ${eventsPath} answered ${skipped} item(s) that are not event objects; they were skipped.`);
    // Counting is complete from where the new events of the window it began with begin: the last
    // window's end (the overlap before it was appended before), or the start of the very first window.
    // Off (verify_after: off), it is forgotten, so that it begins again when turned on; a new
    // verify_window begins it again too.
    const countedWindow = formatDurationMs(this.#windowMs);
    const startsCounting = this.#verifyAfterMs !== undefined && (at.countedSince === undefined || at.countedWindow !== countedWindow);
    // Begun in the middle of a window (an upgrade, a changed setting), counting is complete from that window's end only.
    const countedSince = this.#verifyAfterMs === undefined ? undefined : startsCounting ? (at.window ? at.window.end : (at.until ?? window.start)) : at.countedSince;
    const counted = countedSince === undefined ? {} : { countedSince, countedWindow };
    const tallies = this.#windowTallies(org, records, startsCounting ? countedSince : undefined);
    const found = { ...(fingerprint === undefined ? {} : { fingerprint }), ...(tallies ? { windows: tallies } : {}) };
    if (!more) {
      // The window is done: its end is where the next one starts counting from.
      const next: DirectoryInsightsCursor = { until: window.end, window: null, seen: nextSeen, nextSeen: [], ...counted };
      return { records, cursor: next, more: false, received, duplicates, warnings, ...found };
    }
    const searchAfter = parseSearchAfter(firstHeader(response.headers['x-search_after'])) ?? lastKey;
    if (!searchAfter) {
      throw new VendorResponseError(this.#config.name, 'a full page came without an X-Search_after header and without event timestamps to page on.', { method: 'POST', path: eventsPath });
    }
    // Once the pages are past the last window's end, no later event can be one read before.
    const pastSeen = untilMs !== undefined && lastMs !== undefined && lastMs > untilMs;
    const next: DirectoryInsightsCursor = {
      until: at.until,
      window: { ...window, searchAfter },
      seen: pastSeen ? [] : at.seen,
      nextSeen,
      ...counted,
    };
    return { records, cursor: next, more: true, received, duplicates, warnings, next: JSON.stringify(searchAfter), ...found };
  }

  async checkOrgAccess(org: OrgScope, signal: AbortSignal): Promise<string> {
    const end = this.#now();
    const events = (await this.#query({ service: this.#services, start_time: new Date(end - 60 * 60 * 1000).toISOString(), end_time: new Date(end).toISOString(), limit: 1, sort: 'DESC' }, org.id, signal)).json<unknown>();
    if (!Array.isArray(events)) throw this.#notAnArray();
    return events.length === 0 ? 'no event in the last hour' : 'events in the last hour';
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    const found = await this.checkOrgAccess(this.#ownOrg, signal);
    const org = this.#settings.org_id ? ` for organization ${this.#settings.org_id}` : '';
    const notices = this.#connection.takeNotices();
    return `${this.#connection.describeCredentials()} is accepted${org}; reading Directory Insights events (${this.#services.join(', ')}) is permitted (${found}).${notices.map((n) => ` ${n}`).join('')}`;
  }

  describeOrgCursor(cursor: DirectoryInsightsCursor | undefined): Record<string, unknown> {
    const { overlap: _overlap, ...rest } = this.describeCursor(cursor);
    return rest;
  }

  describeCursor(cursor: DirectoryInsightsCursor | undefined): Record<string, unknown> {
    if (!cursor) return { until: null, overlap: formatDurationMs(this.#overlapMs) };
    return {
      until: cursor.until,
      overlap: formatDurationMs(this.#overlapMs),
      ...(cursor.window ? { window: { start: cursor.window.start, end: cursor.window.end, searchAfter: cursor.window.searchAfter } } : {}),
      idsRemembered: cursor.seen.length + cursor.nextSeen.length,
    };
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** `X-Search_after` is a JSON array (`[1576181718000,"DZrPyW8BNsa9iKWoOm7h"]`), sent back verbatim; anything else is ignored. */
function parseSearchAfter(header: string | undefined): unknown[] | null {
  if (!header) return null;
  try {
    const value = JSON.parse(header) as unknown;
    return Array.isArray(value) && value.length > 0 ? value : null;
  } catch {
    return null;
  }
}
