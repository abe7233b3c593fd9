import type { ConnectorConfig } from '../../config/config-types.ts';
import { formatDurationMs, parseDurationMs } from '../../config/duration.ts';
import type { Page, PullSource, RunContext } from '../../connectors/pull-source.ts';
import { VendorGraphqlError, VendorResponseError, type GraphqlErrorItem } from '../../errors.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { parseEventTimeMs } from '../event-time.ts';
import { AccessTokenProvider } from '../http/access-token-provider.ts';
import { vendorClientFor, type VendorAttempt, type VendorHttpClient } from '../http/vendor-http-client.ts';
import { alertRecord, asPushed, checkAlert } from './alert-record.ts';
import { alertUpdateRecord } from './alert-update-record.ts';
import { listAlertsQuery, refusedFieldOf, timeField } from './list-alerts-query.ts';
import type { JamfProtectSettings } from './settings.ts';

// Jamf Protect alerts pulled from the GraphQL API (`type: jamf_protect.alerts`). A token from
// `POST /token` (client id and password, JSON) is sent raw in `Authorization` (no "Bearer"); each run
// asks `listAlerts` for the alerts updated (follow_updates, the default; else created) after the
// newest one already read, minus `overlap` (alerts can appear in the API a little late), page after
// page with `next` until it is null. The query asks only for what the public /graphql is known to
// serve (list-alerts-query.ts).
//
// Versions: the first version of an alert is its uuid (as pushed by the agents); each later version
// (its status changed, or its tags) is `<uuid>:<updated>`, type `alert_update` (alert-update-record.ts).
// An alert created after the run's start (its `after`) is new to the pull: its first version is
// offered; an older one was read by an earlier run, so only a later version can be new. A later version
// is one whose status is no longer New or whose tags differ from those it was raised with.
//
// Exactly once does not depend on the order the API returns alerts in (it is not documented): every
// version is appended only when its dedup key (source + id; for a first version the same key the push
// route /jamf-protect-events sets) is not there, and sets it in the same atomic step as the page and
// the checkpoint. So re-read alerts, alerts already pushed by the agents, and alerts pushed later all
// land once, for protect_dedup_window_seconds (default 7 days, far longer than the overlap).
//
// GraphQL errors (HTTP 200 with `errors`) are failures with a diagnosis, never empty pages; a field the
// endpoint does not serve is named with its remedy. A `next` token the API no longer accepts (it
// expired while the connector was down) restarts the run from its start: the dedup keys drop what was
// read before. A `next` that repeats stops the run (the pull engine's loop guard).

export const graphqlPath = '/graphql';
export const tokenPath = '/token';
const firstRunLookBackMs = 24 * 60 * 60 * 1000;
/** Restarts of one run after refused `next` tokens before the run fails. */
const maxRestarts = 3;

export interface JamfProtectCursor {
  /** Newest `updated` (follow_updates; else `created`) of the alerts read by finished runs; null before the first run ends. */
  readonly newest: string | null;
  /** The run under way: the time it asks after, its next page token, the newest time it read. */
  readonly run: {
    readonly after: string;
    readonly next: string | null;
    readonly newest: string | null;
    readonly restarts?: number;
    /** Alerts the run's pages held so far, and the run read again because they were fewer than `pageInfo.total`. */
    readonly read?: number;
    readonly recounted?: boolean;
  } | null;
}

interface AlertItem {
  readonly json?: unknown;
  readonly severity?: unknown;
  readonly created?: unknown;
  readonly updated?: unknown;
  readonly status?: unknown;
  readonly tags?: unknown;
  readonly computer?: unknown;
}

interface ListAlertsAnswer {
  readonly data?: { readonly listAlerts?: { readonly items?: unknown; readonly pageInfo?: { readonly next?: unknown; readonly total?: unknown } } | null } | null;
  readonly errors?: unknown;
}

export interface JamfProtectSourceOptions {
  readonly onAttempt?: (attempt: VendorAttempt) => void;
  /** protect_dedup_window_seconds: how long pulled (and pushed) alert versions are remembered. */
  readonly dedupWindowSeconds?: number;
  readonly now?: () => number;
}

export class JamfProtectAlertsSource implements PullSource<JamfProtectCursor> {
  readonly #config: ConnectorConfig<JamfProtectSettings>;
  readonly #settings: JamfProtectSettings;
  readonly #client: VendorHttpClient;
  readonly #overlapMs: number;
  readonly #followUpdates: boolean;
  readonly #dedupWindowSeconds: number | undefined;
  readonly #now: () => number;
  /** `tags` is asked for until the endpoint refuses it. */
  #tags = true;
  readonly #notices: string[] = [];
  readonly tokens: AccessTokenProvider;

  constructor(config: ConnectorConfig<JamfProtectSettings>, options: JamfProtectSourceOptions = {}) {
    this.#config = config;
    this.#settings = config.settings;
    this.#overlapMs = parseDurationMs(this.#settings.overlap) ?? 600_000;
    this.#followUpdates = this.#settings.follow_updates !== false;
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

  async #listAlerts(variables: { after: string; pageSize: number; next: string | null }, signal: AbortSignal): Promise<{ items: unknown[]; next: string | null; total: number | undefined }> {
    const minSeverity = this.#settings.min_severity;
    const query = listAlertsQuery({ followUpdates: this.#followUpdates, tags: this.#tags, minSeverity: minSeverity !== undefined });
    const body = JSON.stringify({
      query,
      variables: { [timeField(this.#followUpdates)]: variables.after, pageSize: variables.pageSize, next: variables.next, ...(minSeverity ? { minSeverity } : {}) },
    });
    const response = await this.#client.request({ method: 'POST', path: graphqlPath, headers: { accept: 'application/json' }, body, auth: true }, signal);
    const answer = response.json<ListAlertsAnswer>();
    if (answer === null || typeof answer !== 'object') {
      throw new VendorResponseError(this.#config.name, 'the answer is not a GraphQL response object.', { method: 'POST', path: graphqlPath });
    }
    if (Array.isArray(answer.errors) && answer.errors.length > 0) {
      const errors = graphqlErrors(answer.errors);
      const refused = errors.map((e) => refusedFieldOf(e.message)).find((f) => f !== undefined);
      if (refused === 'Alert.tags' && this.#tags) {
        this.#tags = false;
        this.#notices.push(`${graphqlPath} does not serve Alert.tags: alert updates are read without their current tags (those the alert was raised with stay in its json).`);
        return this.#listAlerts(variables, signal);
      }
      throw new VendorGraphqlError(this.#config.name, graphqlPath, errors, refused === undefined ? undefined : { field: refused, remedy: this.#remedyFor(refused) });
    }
    const list = answer.data?.listAlerts;
    if (!list || !Array.isArray(list.items)) {
      throw new VendorResponseError(this.#config.name, 'data.listAlerts.items is not a list: the Jamf Protect API may have changed.', { method: 'POST', path: graphqlPath });
    }
    const next = list.pageInfo?.next;
    const total = list.pageInfo?.total;
    return { items: list.items, next: typeof next === 'string' && next !== '' ? next : null, total: typeof total === 'number' ? total : undefined };
  }

  #remedyFor(field: string): string {
    const setting = `connectors[${this.#config.name}]`;
    if (this.#followUpdates && /^(?:Alert\.(?:updated|status)|AlertFiltersInput\.updated)$/.test(field)) {
      return `Following alert updates needs ${field}, which this Jamf Protect endpoint does not serve: set ${setting}.follow_updates to false to pull alerts by created with the fields of Jamf's own example query (new alerts only, no status changes).`;
    }
    return `Jamf's own example query selects ${field} from ${graphqlPath}: check that ${setting}.base_url is the tenant's address (https://<tenant>.protect.jamfcloud.com); if it is, Jamf changed its API: report it with this message.`;
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
      answer = await this.#listAlerts({ after: run.after, pageSize: this.#settings.page_size ?? 100, next: run.next }, context.signal);
    } catch (err) {
      // A next token refused (it expired while Orchard was down): read the run again from its start.
      if (err instanceof VendorGraphqlError && !err.refused && run.next !== null && /\bnext\b|token|pagination|cursor/i.test(err.text) && (run.restarts ?? 0) < maxRestarts) {
        const restarted: JamfProtectCursor = { ...at, run: { ...run, next: null, restarts: (run.restarts ?? 0) + 1 } };
        return { records: [], cursor: restarted, more: true, received: 0, warnings: [`listAlerts refused the stored next token (${err.errors[0]?.message ?? ''}); reading the run again from ${run.after}, already appended alerts are dropped as duplicates.`] };
      }
      throw err;
    }

    const sinceMs = context.since === undefined ? undefined : Date.parse(context.since);
    // Alerts created after this are new to the pull (the first run's are all new to it).
    const newAfterMs = at.newest === null ? Number.NEGATIVE_INFINITY : Date.parse(run.after);
    const records: PageRecord[] = [];
    const warnings: string[] = this.#notices.splice(0);
    let newestMs = run.newest === null ? undefined : Date.parse(run.newest);
    let skipped = 0;
    const uuids: string[] = [];
    for (const item of answer.items) {
      const mapped = this.#records(item as AlertItem, context.receivedMs, newAfterMs, sinceMs);
      if (!mapped) {
        skipped += 1;
        continue;
      }
      uuids.push(mapped.uuid);
      if (newestMs === undefined || mapped.watermarkMs > newestMs) newestMs = mapped.watermarkMs;
      records.push(...mapped.records);
    }
    if (skipped > 0) warnings.push(`listAlerts answered ${skipped} item(s) without an alert document (json with input.match.uuid) or a created time; they were skipped.`);

    const newest = newestMs === undefined ? null : new Date(newestMs).toISOString();
    const more = answer.next !== null;
    const page = {
      received: answer.items.length,
      warnings,
      dedupWindowSeconds: this.#dedupWindowSeconds,
      ...(uuids.length > 0 ? { fingerprint: `${uuids.length} ${uuids[0]} ${uuids.at(-1)}` } : {}),
    };
    const read = (run.read ?? 0) + answer.items.length;
    if (more) return { ...page, records, cursor: { newest: at.newest, run: { ...run, next: answer.next, newest, read } }, more: true, next: `${run.restarts ?? 0}${run.recounted ? ' again' : ''} ${answer.next}` };
    // The run against Jamf Protect's count (pageInfo.total, where it gives one): fewer read is read
    // again once from the run's start (what was appended is dropped as a duplicate), then reported.
    const short = answer.total !== undefined && read < answer.total;
    if (short && !run.recounted) {
      warnings.push(`listAlerts counted ${answer.total} alert(s) after ${run.after}, the run read ${read}: reading the run again from its start (alerts already appended are dropped as duplicates).`);
      // Without its fingerprint: the run's first page, read again next, may well be this one.
      const { fingerprint: _same, ...unmarked } = page;
      return { ...unmarked, records, cursor: { newest: at.newest, run: { after: run.after, next: null, newest, restarts: run.restarts, recounted: true } }, more: true, next: `recount ${run.after}` };
    }
    if (short) warnings.push(`listAlerts counted ${answer.total} alert(s) after ${run.after}, the run read ${read} even after reading it again: reported as short (completeness).`);
    const counted =
      answer.total === undefined ? {} : { counted: { start: run.after, end: new Date(context.receivedMs).toISOString(), expected: answer.total, got: read, result: short ? ('short' as const) : run.recounted ? ('repaired' as const) : ('verified' as const) } };
    const finished = [at.newest, newest].filter((t): t is string => t !== null).sort().pop() ?? null;
    return { ...page, ...counted, records, cursor: { newest: finished, run: null }, more: false };
  }

  /**
   * The records of one listAlerts item: its first version when it is new to the pull, and its current
   * version when that is a later one; undefined when it has no alert document or no created time.
   */
  #records(item: AlertItem, receivedMs: number, newAfterMs: number, sinceMs: number | undefined): { uuid: string; watermarkMs: number; records: PageRecord[] } | undefined {
    if (item === null || typeof item !== 'object') return undefined;
    const createdMs = parseEventTimeMs(item.created);
    const document = alertDocument(item.json);
    const check = document === undefined ? undefined : checkAlert(document);
    if (!check?.ok || createdMs === undefined) return undefined;
    const { uuid } = check;
    const documentText = typeof item.json === 'string' ? item.json : JSON.stringify(item.json);
    const updatedMs = this.#followUpdates ? parseEventTimeMs(item.updated) : undefined;
    const records: PageRecord[] = [];
    const tenant = this.#config.tenant;
    const connector = this.#config.name;
    if (createdMs > newAfterMs) {
      const record = alertRecord({ document, uuid, payload: documentText, tenant, connector, receivedMs, createdMs });
      records.push({ record, dedup: true, ...(sinceMs !== undefined && createdMs < sinceMs ? { append: false } : {}) });
    }
    if (updatedMs !== undefined && isLaterVersion(item, document)) {
      const tags = Array.isArray(item.tags) ? item.tags.filter((t): t is string => typeof t === 'string') : null;
      const status = typeof item.status === 'string' ? item.status : null;
      const record = alertUpdateRecord({ document, uuid, documentText, status, tags, severity: item.severity, created: new Date(createdMs).toISOString(), updatedMs, computer: item.computer, tenant, connector, receivedMs });
      records.push({ record, dedup: true, ...(sinceMs !== undefined && updatedMs < sinceMs ? { append: false } : {}) });
    }
    return { uuid, watermarkMs: updatedMs ?? createdMs, records };
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    await this.tokens.token(signal);
    const { total, items } = await this.#listAlerts({ after: new Date(this.#now() - firstRunLookBackMs).toISOString(), pageSize: 1, next: null }, signal);
    const count = total ?? items.length;
    const what = `${count === 0 ? 'no alert' : `${total === undefined ? 'alerts' : `${count} alert${count === 1 ? '' : 's'}`}`} ${this.#followUpdates ? 'updated' : 'created'} in the last day${this.#settings.min_severity ? ` at ${this.#settings.min_severity} or above` : ''}`;
    return `The API client is accepted (token from POST ${tokenPath}); listing alerts is permitted (${what}).${this.#notices.splice(0).map((n) => ` ${n}`).join('')}`;
  }

  describeCursor(cursor: JamfProtectCursor | undefined): Record<string, unknown> {
    return {
      newest: cursor?.newest ?? null,
      by: timeField(this.#followUpdates),
      overlap: formatDurationMs(this.#overlapMs),
      ...(cursor?.run ? { run: { after: cursor.run.after, paging: cursor.run.next !== null } } : {}),
    };
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

/**
 * A version later than the one the alert was raised with: its status is no longer New, or its tags
 * are not those in its json (`input.match.tags`). Status alone would miss a tag added to a New alert.
 */
function isLaterVersion(item: AlertItem, document: unknown): boolean {
  if (typeof item.status === 'string' && item.status !== 'New') return true;
  if (!Array.isArray(item.tags)) return false;
  const raised = (document as { input?: { match?: { tags?: unknown } } }).input?.match?.tags;
  const before = new Set(Array.isArray(raised) ? raised.filter((t): t is string => typeof t === 'string') : []);
  const now = new Set(item.tags.filter((t): t is string => typeof t === 'string'));
  return before.size !== now.size || [...now].some((t) => !before.has(t));
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
