import type { ConnectorConfig } from '../../config/config-types.ts';
import { formatDurationMs, parseDurationMs } from '../../config/duration.ts';
import type { Page, PullSource, RunContext } from '../../connectors/pull-source.ts';
import { VendorGraphqlError, VendorResponseError, type GraphqlErrorItem } from '../../errors.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { parseEventTimeMs } from '../event-time.ts';
import { AccessTokenProvider } from '../http/access-token-provider.ts';
import { vendorClientFor, type VendorAttempt, type VendorHttpClient } from '../http/vendor-http-client.ts';
import { alertRecord, asPushed, checkAlert } from './alert-record.ts';
import type { JamfProtectSettings } from './settings.ts';

// Jamf Protect alerts pulled from the GraphQL API (`type: jamf_protect.alerts`). A token from
// `POST /token` (client id and password, JSON) is sent raw in `Authorization` (no "Bearer"); each run
// asks `listAlerts` for the alerts created after the newest one already read, minus `overlap` (alerts
// can appear in the API a little late), page after page with `next` until it is null.
//
// Exactly once does not depend on the order the API returns alerts in (it is not documented): every
// pulled alert is appended only when its dedup key (source + uuid, the same key the push route
// /jamf-protect-events sets) is not there, and sets it in the same atomic step as the page and the
// checkpoint. So re-read alerts, alerts already pushed by the agents, and alerts pushed later all land
// once, for protect_dedup_window_seconds (default 7 days, far longer than the overlap).
//
// GraphQL errors (HTTP 200 with `errors`) are failures with a diagnosis, never empty pages. A `next`
// token the API no longer accepts (it expired while the connector was down) restarts the run from its
// start: the dedup keys drop what was read before.

export const graphqlPath = '/graphql';
export const tokenPath = '/token';
const firstRunLookBackMs = 24 * 60 * 60 * 1000;
/** Restarts of one run after refused `next` tokens before the run fails. */
const maxRestarts = 3;

export interface JamfProtectCursor {
  /** Newest `created` of the alerts read by finished runs; null before the first run ends. */
  readonly newest: string | null;
  /** The run under way: the `created` it asks after, its next page token, the newest `created` it read. */
  readonly run: { readonly after: string; readonly next: string | null; readonly newest: string | null; readonly restarts?: number } | null;
}

interface AlertItem {
  readonly uuid?: unknown;
  readonly json?: unknown;
  readonly severity?: unknown;
  readonly eventType?: unknown;
  readonly created?: unknown;
}

interface ListAlertsAnswer {
  readonly data?: { readonly listAlerts?: { readonly items?: unknown; readonly pageInfo?: { readonly next?: unknown; readonly total?: unknown } } | null } | null;
  readonly errors?: unknown;
}

/** The listAlerts query: only fields the API is known to have, the filter built from what is set. */
export function listAlertsQuery(minSeverity: boolean): string {
  const severity = minSeverity ? ', and: {severity: {greaterThanOrEqual: $minSeverity}}' : '';
  return `query listAlerts($created: AWSDateTime, $pageSize: Int, $next: String${minSeverity ? ', $minSeverity: SEVERITY' : ''}) {
  listAlerts(input: {filter: {created: {greaterThan: $created}${severity}}, pageSize: $pageSize, next: $next}) {
    items { uuid json severity eventType created computer { hostName } }
    pageInfo { next total }
  }
}`;
}

export interface JamfProtectSourceOptions {
  readonly onAttempt?: (attempt: VendorAttempt) => void;
  /** protect_dedup_window_seconds: how long pulled (and pushed) alert uuids are remembered. */
  readonly dedupWindowSeconds?: number;
  readonly now?: () => number;
}

export class JamfProtectAlertsSource implements PullSource<JamfProtectCursor> {
  readonly #config: ConnectorConfig<JamfProtectSettings>;
  readonly #settings: JamfProtectSettings;
  readonly #client: VendorHttpClient;
  readonly #overlapMs: number;
  readonly #dedupWindowSeconds: number | undefined;
  readonly #now: () => number;
  readonly tokens: AccessTokenProvider;

  constructor(config: ConnectorConfig<JamfProtectSettings>, options: JamfProtectSourceOptions = {}) {
    this.#config = config;
    this.#settings = config.settings;
    this.#overlapMs = parseDurationMs(this.#settings.overlap) ?? 600_000;
    this.#dedupWindowSeconds = options.dedupWindowSeconds;
    this.#now = options.now ?? Date.now;
    // The token goes in Authorization as it is: Jamf Protect refuses "Bearer <token>".
    this.#client = vendorClientFor(config, { onAttempt: options.onAttempt, secrets: [this.#settings.password], authorize: (token) => ({ authorization: token }) });
    this.tokens = new AccessTokenProvider(this.#client, {
      method: 'POST',
      path: tokenPath,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ client_id: this.#settings.client_id, password: this.#settings.password }),
    });
    this.#client.setTokens(this.tokens);
  }

  get requests(): number {
    return this.#client.requests;
  }

  async #listAlerts(variables: { created: string; pageSize: number; next: string | null }, signal: AbortSignal): Promise<{ items: unknown[]; next: string | null; total: number | undefined }> {
    const minSeverity = this.#settings.min_severity;
    const body = JSON.stringify({
      query: listAlertsQuery(minSeverity !== undefined),
      variables: { ...variables, ...(minSeverity ? { minSeverity } : {}) },
    });
    const response = await this.#client.request({ method: 'POST', path: graphqlPath, headers: { accept: 'application/json' }, body, auth: true }, signal);
    const answer = response.json<ListAlertsAnswer>();
    if (answer === null || typeof answer !== 'object') {
      throw new VendorResponseError(this.#config.name, 'the answer is not a GraphQL response object.', { method: 'POST', path: graphqlPath });
    }
    if (Array.isArray(answer.errors) && answer.errors.length > 0) throw new VendorGraphqlError(this.#config.name, graphqlPath, graphqlErrors(answer.errors));
    const list = answer.data?.listAlerts;
    if (!list || !Array.isArray(list.items)) {
      throw new VendorResponseError(this.#config.name, 'data.listAlerts.items is not a list: the Jamf Protect API may have changed.', { method: 'POST', path: graphqlPath });
    }
    const next = list.pageInfo?.next;
    const total = list.pageInfo?.total;
    return { items: list.items, next: typeof next === 'string' && next !== '' ? next : null, total: typeof total === 'number' ? total : undefined };
  }

  /** Where a new run asks from: the newest alert read minus the overlap; first run: `start`, or a day ago. */
  #runStart(cursor: JamfProtectCursor | undefined, context: RunContext): number {
    const sinceMs = context.since === undefined ? undefined : Date.parse(context.since);
    if (cursor?.newest) {
      const after = Date.parse(cursor.newest) - this.#overlapMs;
      return sinceMs === undefined ? after : Math.max(after, sinceMs - 1);
    }
    // `greaterThan`: one millisecond before `start` so an alert created exactly then is included.
    return sinceMs === undefined ? this.#now() - firstRunLookBackMs : sinceMs - 1;
  }

  async fetchPage(cursor: JamfProtectCursor | undefined, context: RunContext): Promise<Page<JamfProtectCursor>> {
    const at: JamfProtectCursor = cursor ?? { newest: null, run: null };
    const run = at.run ?? { after: new Date(this.#runStart(cursor, context)).toISOString(), next: null, newest: null };
    let answer;
    try {
      answer = await this.#listAlerts({ created: run.after, pageSize: this.#settings.page_size, next: run.next }, context.signal);
    } catch (err) {
      // A next token refused (it expired while Orchard was down): read the run again from its start.
      if (err instanceof VendorGraphqlError && run.next !== null && /\bnext\b|token|pagination|cursor/i.test(err.text) && (run.restarts ?? 0) < maxRestarts) {
        const restarted: JamfProtectCursor = { ...at, run: { ...run, next: null, restarts: (run.restarts ?? 0) + 1 } };
        return { records: [], cursor: restarted, more: true, received: 0, warnings: [`listAlerts refused the stored next token (${err.errors[0]?.message ?? ''}); reading the run again from ${run.after}, already appended alerts are dropped as duplicates.`] };
      }
      throw err;
    }

    const sinceMs = context.since === undefined ? undefined : Date.parse(context.since);
    const records: PageRecord[] = [];
    const warnings: string[] = [];
    let newestMs = run.newest === null ? undefined : Date.parse(run.newest);
    let skipped = 0;
    for (const item of answer.items) {
      const mapped = this.#record(item as AlertItem, context.receivedMs);
      if (!mapped) {
        skipped += 1;
        continue;
      }
      if (newestMs === undefined || mapped.createdMs > newestMs) newestMs = mapped.createdMs;
      const early = sinceMs !== undefined && mapped.createdMs < sinceMs;
      records.push({ record: mapped.record, dedup: true, ...(early ? { append: false } : {}) });
    }
    if (skipped > 0) warnings.push(`listAlerts answered ${skipped} item(s) without a uuid or created time; they were skipped.`);

    const newest = newestMs === undefined ? null : new Date(newestMs).toISOString();
    // A next token equal to the one just used would page forever.
    const more = answer.next !== null && answer.next !== run.next;
    if (answer.next !== null && !more) warnings.push('listAlerts answered the same next token again; the run ends here.');
    const page = { received: answer.items.length, warnings, dedupWindowSeconds: this.#dedupWindowSeconds };
    if (more) return { ...page, records, cursor: { newest: at.newest, run: { ...run, next: answer.next, newest } }, more: true };
    const finished = [at.newest, newest].filter((t): t is string => t !== null).sort().pop() ?? null;
    return { ...page, records, cursor: { newest: finished, run: null }, more: false };
  }

  /** The record of one listAlerts item; undefined when it has no uuid or no usable created time. */
  #record(item: AlertItem, receivedMs: number): { record: PageRecord['record']; createdMs: number } | undefined {
    if (item === null || typeof item !== 'object') return undefined;
    const createdMs = parseEventTimeMs(item.created);
    const document = alertDocument(item.json);
    // The document's own uuid is the one the agents push; the item's is the same alert's.
    const check = document === undefined ? undefined : checkAlert(document);
    const uuid = check?.ok ? check.uuid : typeof item.uuid === 'string' && item.uuid !== '' ? item.uuid : undefined;
    if (uuid === undefined || createdMs === undefined) return undefined;
    // The alert document as the API holds it; the whole item when it has none that parses.
    const payload = document === undefined ? JSON.stringify(item) : typeof item.json === 'string' ? item.json : JSON.stringify(item.json);
    const record = alertRecord({
      document: document ?? {},
      uuid,
      payload,
      tenant: this.#config.tenant,
      connector: this.#config.name,
      receivedMs,
      createdMs,
      eventType: item.eventType,
    });
    return { record, createdMs };
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    await this.tokens.token(signal);
    const { total, items } = await this.#listAlerts({ created: new Date(this.#now() - firstRunLookBackMs).toISOString(), pageSize: 1, next: null }, signal);
    const count = total ?? items.length;
    return `The API client is accepted (token from POST ${tokenPath}); listing alerts is permitted (${count === 0 ? 'no alert' : `${total === undefined ? 'alerts' : `${count} alert${count === 1 ? '' : 's'}`}`} created in the last day${this.#settings.min_severity ? ` at ${this.#settings.min_severity} or above` : ''}).`;
  }

  describeCursor(cursor: JamfProtectCursor | undefined): Record<string, unknown> {
    return {
      newest: cursor?.newest ?? null,
      overlap: formatDurationMs(this.#overlapMs),
      ...(cursor?.run ? { run: { after: cursor.run.after, paging: cursor.run.next !== null } } : {}),
    };
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

/** `json` is AWSJSON: a string holding the alert document (sometimes already an object). Undefined when it holds none. */
function alertDocument(json: unknown): unknown {
  if (typeof json === 'string') {
    try {
      return asPushed(JSON.parse(json));
    } catch {
      return undefined;
    }
  }
  return json !== null && typeof json === 'object' ? asPushed(json) : undefined;
}

function graphqlErrors(errors: unknown[]): GraphqlErrorItem[] {
  return errors.map((e) => {
    const o = (e ?? {}) as { message?: unknown; errorType?: unknown };
    return {
      message: typeof o.message === 'string' ? o.message : JSON.stringify(e).slice(0, 300),
      ...(typeof o.errorType === 'string' ? { errorType: o.errorType } : {}),
    };
  });
}
