import type { Page, PullSource, RunContext, Tally, WindowCounting } from '../../connectors/pull-source.ts';
import { VendorHttpError } from '../../errors.ts';
import type { JumpCloudConnection } from './jumpcloud-connection.ts';
import { listOrganizations, type Organization } from './organizations-list.ts';

// One MSP key, many organizations (`org_ids: [..]` or `org_ids: all`), for both JumpCloud types. A run
// lists the organizations (GET /api/organizations: `all` takes every one, a list takes their names),
// then reads them one after the other, each with its own cursor (the single-organization source's),
// its own tenant and its own tally, all in the one checkpoint written with each page (the pull engine's
// atomic page step). So:
//   - a crash anywhere resumes the organization being read, at its page; none is read twice;
//   - an organization refused (403) or gone (404) is recorded with its error (in /status) and the run
//     goes on with the next one; only when every organization fails does the run fail, with that
//     error's diagnosis (a wrong key is not five warnings);
//   - an organization new to the list has no cursor: it is read from the connector's `start`;
//   - an organization that leaves the list keeps its cursor, should it come back.
// The per-organization cursor is the single-organization source's, so what that cursor learns (a
// per-window count, say) every organization gets.

export interface OrgScope {
  /** Sent as x-org-id; undefined: the key's own organization (no header). */
  readonly id: string | undefined;
  /** The `tenant` of its records. */
  readonly tenant: string;
  /** What its objects' entries in the connector's versions hash start with: `<id>:`, or '' for a connector of one organization. */
  readonly versionPrefix: string;
}

/** What a single-organization source offers the organizations source. */
export interface OrgPager<C> {
  fetchOrgPage(org: OrgScope, cursor: C | undefined, context: RunContext): Promise<Page<C>>;
  /** One cheap request about the organization, for `orchard test`: a phrase such as `3 users`. */
  checkOrgAccess(org: OrgScope, signal: AbortSignal): Promise<string>;
  describeOrgCursor(cursor: C | undefined): Record<string, unknown>;
  /** The vendor's window counts, asked for the organization an id names (Directory Insights). */
  windowCounting?(scopeOf: (org: string) => OrgScope): WindowCounting | undefined;
  readonly requests: number;
  close(): Promise<void>;
}

export interface OrgState<C> {
  /** Its name in JumpCloud, when the list gave one. */
  readonly name: string | null;
  /** In the latest list (or the configured org_ids). */
  readonly listed: boolean;
  readonly cursor: C | null;
  /** When a run last finished reading it. */
  readonly lastReadAt: string | null;
  /** Why it could not be read in its latest attempt; null once read. */
  readonly error: { readonly at: string; readonly status?: number; readonly message: string } | null;
}

export interface OrgsCursor<C> {
  readonly orgs: Readonly<Record<string, OrgState<C>>>;
  /** The run under way: the organizations it reads, in order, the one it is at, and how many failed. */
  readonly run: { readonly order: readonly string[]; readonly at: number; readonly failed: number } | null;
}

export interface OrganizationsSourceOptions {
  readonly connector: string;
  /** `all`, or the organization ids to read. */
  readonly orgIds: 'all' | readonly string[];
  readonly tenants: Readonly<Record<string, string>>;
  readonly connection: JumpCloudConnection;
  /** The console's base URL, where the organizations are listed. */
  readonly consoleUrl: string;
}

const isOrgsCursor = (c: unknown): c is OrgsCursor<unknown> => c !== null && typeof c === 'object' && 'orgs' in c && typeof (c as { orgs: unknown }).orgs === 'object';

/** A refusal that is about the organization (not accessible, or gone), not about the key. */
function isOrgFailure(err: unknown): err is VendorHttpError {
  return err instanceof VendorHttpError && (err.status === 403 || err.status === 404);
}

export class OrganizationsSource<C> implements PullSource<OrgsCursor<C>> {
  readonly #pager: OrgPager<C>;
  readonly #o: OrganizationsSourceOptions;
  /** The organizations' names the last page's cursor knew (their tenant when tenants has none). */
  #names = new Map<string, string | null>();
  readonly windows: WindowCounting | undefined;

  constructor(pager: OrgPager<C>, options: OrganizationsSourceOptions) {
    this.#pager = pager;
    this.#o = options;
    const counting = pager.windowCounting?.((id) => this.#scope(id, this.#names.get(id) ?? null));
    // Each organization's own cursor says how far the runs have read it.
    this.windows = counting && { ...counting, passedBefore: (cursor, org) => counting.passedBefore(isOrgsCursor(cursor) ? cursor.orgs[org]?.cursor : undefined, org) };
  }

  get requests(): number {
    return this.#o.connection.requests;
  }

  #tenantOf(id: string, name: string | null): string {
    return this.#o.tenants[id] ?? name ?? id;
  }

  #scope(id: string, name: string | null): OrgScope {
    return { id, tenant: this.#tenantOf(id, name), versionPrefix: `${id}:` };
  }

  /** The organizations of a new run, with their names; the old ones keep their state. */
  async #startRun(orgs: Readonly<Record<string, OrgState<C>>>, signal: AbortSignal): Promise<{ orgs: Record<string, OrgState<C>>; order: string[]; warnings: string[] }> {
    const warnings: string[] = [];
    let listed: Organization[];
    const { orgIds } = this.#o;
    const consoleClient = this.#o.connection.client(this.#o.consoleUrl);
    if (orgIds === 'all') {
      listed = await listOrganizations(consoleClient, this.#o.connector, signal);
    } else {
      let names = new Map<string, string | null>();
      if (orgIds.some((id) => this.#o.tenants[id] === undefined)) {
        try {
          names = new Map((await listOrganizations(consoleClient, this.#o.connector, signal)).map((o) => [o.id, o.name]));
        } catch (err) {
          if (!(err instanceof VendorHttpError)) throw err;
          warnings.push(`Could not list the organizations for their names (GET /api/organizations answered ${err.status}); the tenant of an organization without one in tenants is its last known name, or its id.`);
        }
      }
      listed = orgIds.map((id) => ({ id, name: names.get(id) ?? orgs[id]?.name ?? null }));
    }
    const next: Record<string, OrgState<C>> = {};
    for (const [id, state] of Object.entries(orgs)) next[id] = { ...state, listed: false };
    for (const org of listed) {
      const old = next[org.id];
      next[org.id] = { name: org.name ?? old?.name ?? null, listed: true, cursor: old?.cursor ?? null, lastReadAt: old?.lastReadAt ?? null, error: old?.error ?? null };
    }
    return { orgs: next, order: listed.map((o) => o.id), warnings };
  }

  async fetchPage(cursor: OrgsCursor<C> | undefined, context: RunContext): Promise<Page<OrgsCursor<C>>> {
    const warnings: string[] = [];
    if (cursor !== undefined && !isOrgsCursor(cursor)) {
      warnings.push('The checkpoint was written without org_ids (one organization): every organization is read from start.');
      cursor = undefined;
    }
    let orgs: Readonly<Record<string, OrgState<C>>> = cursor?.orgs ?? {};
    this.#names = new Map(Object.entries(orgs).map(([id, state]) => [id, state.name]));
    let run = cursor?.run ?? null;
    if (!run) {
      const started = await this.#startRun(orgs, context.signal);
      warnings.push(...started.warnings);
      orgs = started.orgs;
      if (started.order.length === 0) {
        warnings.push('The key sees no organization (GET /api/organizations listed none): nothing to read.');
        return { records: [], cursor: { orgs, run: null }, more: false, received: 0, warnings };
      }
      run = { order: started.order, at: 0, failed: 0 };
    }
    const id = run.order[run.at]!;
    const state: OrgState<C> = orgs[id] ?? { name: null, listed: true, cursor: null, lastReadAt: null, error: null };
    const nextOrg = run.at + 1 < run.order.length ? { ...run, at: run.at + 1 } : null;
    let page: Page<C>;
    try {
      page = await this.#pager.fetchOrgPage(this.#scope(id, state.name), state.cursor ?? undefined, context);
    } catch (err) {
      if (!isOrgFailure(err)) throw err;
      const failed = run.failed + 1;
      // Every organization of the run refused: the key, not the organizations; the run fails with it.
      if (failed === run.order.length) throw err;
      const error = { at: new Date(context.receivedMs).toISOString(), status: err.status, message: err.message };
      warnings.push(`Organization ${id} (${this.#tenantOf(id, state.name)}) could not be read: ${err.message}. The other organizations are read; this one is tried again at the next run.`);
      const after = { ...orgs, [id]: { ...state, error } };
      return { records: [], cursor: { orgs: after, run: nextOrg && { ...nextOrg, failed } }, more: nextOrg !== null, received: 0, warnings };
    }
    warnings.push(...this.#o.connection.takeNotices(), ...(page.warnings ?? []));
    const done = !page.more;
    const after = { ...orgs, [id]: { ...state, cursor: page.cursor, ...(done ? { lastReadAt: new Date(context.receivedMs).toISOString(), error: null } : {}) } };
    const { cursor: _inner, next, fingerprint, ...rest } = page;
    return {
      ...rest,
      warnings,
      cursor: { orgs: after, run: done ? nextOrg : run },
      more: done ? nextOrg !== null : true,
      // Tokens and pages are an organization's own: another's may look alike.
      ...(page.more && next !== undefined ? { next: `${id} ${next}` } : {}),
      ...(fingerprint === undefined ? {} : { fingerprint: `${id} ${fingerprint}` }),
      tally: `org:${id}`,
    };
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    const { orgs, order, warnings } = await this.#startRun({}, signal);
    const ok: string[] = [];
    const refused: string[] = [];
    let firstRefusal: unknown;
    for (const id of order) {
      const org = this.#scope(id, orgs[id]?.name ?? null);
      try {
        ok.push(`${org.tenant} (${id}): ${await this.#pager.checkOrgAccess(org, signal)}`);
      } catch (err) {
        if (!isOrgFailure(err)) throw err;
        firstRefusal ??= err;
        refused.push(`${org.tenant} (${id}): HTTP ${err.status}`);
      }
    }
    if (ok.length === 0 && firstRefusal !== undefined) throw firstRefusal;
    const which = this.#o.orgIds === 'all' ? `org_ids: all lists ${order.length} organization(s)` : `${order.length} organization(s) configured`;
    return [
      `${this.#o.connection.describeCredentials()} is accepted; ${which}; readable: ${ok.length === 0 ? 'none' : ok.join('; ')}`,
      ...(refused.length > 0 ? [`not readable (skipped by each run, shown in /status): ${refused.join('; ')}`] : []),
      ...warnings,
      ...this.#o.connection.takeNotices(),
    ].join('. ') + '.';
  }

  describeCursor(cursor: OrgsCursor<C> | undefined, tallies: Readonly<Record<string, Tally>> = {}): Record<string, unknown> {
    const orgs = cursor && isOrgsCursor(cursor) ? cursor.orgs : {};
    const organizations = Object.entries(orgs).map(([id, state]) => ({
      id,
      tenant: this.#tenantOf(id, state.name),
      listed: state.listed,
      lastReadAt: state.lastReadAt,
      error: state.error,
      totals: tallies[`org:${id}`] ?? { pages: 0, received: 0, appended: 0, duplicates: 0 },
      ...this.#pager.describeOrgCursor(state.cursor ?? undefined),
    }));
    const run = cursor && isOrgsCursor(cursor) ? cursor.run : null;
    return {
      orgIds: this.#o.orgIds === 'all' ? 'all' : this.#o.orgIds.length,
      ...(run ? { run: { reading: run.order[run.at], organization: run.at + 1, of: run.order.length, failed: run.failed } } : {}),
      failing: organizations.filter((o) => o.error !== null && o.listed).map((o) => o.id),
      organizations,
    };
  }

  close(): Promise<void> {
    return this.#pager.close();
  }
}
