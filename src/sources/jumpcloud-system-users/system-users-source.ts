import type { ConnectorConfig } from '../../config/config-types.ts';
import type { Page, PullSource, RunContext } from '../../connectors/pull-source.ts';
import { VendorResponseError } from '../../errors.ts';
import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { sha256 } from '../../sha256.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { formatTime } from '../../stream/stream-record.ts';
import type { JumpCloudClient } from '../jumpcloud/jumpcloud-client.ts';
import type { JumpCloudConnection } from '../jumpcloud/jumpcloud-connection.ts';
import type { OrgPager, OrgScope } from '../jumpcloud/organizations-source.ts';
import type { SystemUsersSettings } from './settings.ts';

// JumpCloud system users (`type: jumpcloud.system_users`): like the Jamf Pro inventory, every run
// lists every user (`sort=_id`, `skip` paging, 100 a page: more is assumed not to work) and the
// versions hash keeps a hash of each user as last appended, so the first run loads every user and
// later runs append only the users that changed. A user not seen in two whole scans is forgotten.
// For an MSP's org_ids (src/sources/jumpcloud/organizations-source.ts) each organization has its own
// scans, and its users' entries in the versions hash start with `<org id>:`, so it is pruned alone.

export const systemUsersSource = 'jumpcloud.system_users';
export const systemUsersPath = '/api/systemusers';
const pageSize = 100;

export interface SystemUsersCursor {
  readonly scan: number;
  readonly skip: number;
  /** The last `_id` read in this scan: a user removed from an earlier page shifts the pages, and what was read comes again. */
  readonly lastId: string | null;
}

const extractor = new IndicatorExtractor(readSchema('jumpcloud/system-user.schema.json'));

/** JSON with keys sorted at every level: the same user hashes the same whatever order JumpCloud writes its keys in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function systemUserVersion(user: Record<string, unknown>): string {
  return sha256(canonicalJson(user), 'hex').slice(0, 32);
}

export class SystemUsersSource implements PullSource<SystemUsersCursor>, OrgPager<SystemUsersCursor> {
  readonly #config: ConnectorConfig<SystemUsersSettings>;
  readonly #settings: SystemUsersSettings;
  readonly #connection: JumpCloudConnection;
  readonly #client: JumpCloudClient;

  constructor(config: ConnectorConfig<SystemUsersSettings>, connection: JumpCloudConnection) {
    this.#config = config;
    this.#settings = config.settings;
    this.#connection = connection;
    this.#client = connection.client(config.baseUrl);
  }

  get requests(): number {
    return this.#connection.requests;
  }

  /** The organization of a connector without org_ids: its own, or `org_id`'s. */
  get #ownOrg(): OrgScope {
    return { id: this.#settings.org_id, tenant: this.#config.tenant, versionPrefix: '' };
  }

  async #list(skip: number, limit: number, org: string | undefined, signal: AbortSignal): Promise<{ totalCount: number | undefined; results: unknown[] }> {
    const response = await this.#client.request({ method: 'GET', path: systemUsersPath, query: { limit, skip, sort: '_id' } }, org, signal);
    const body = response.json<{ totalCount?: unknown; results?: unknown }>();
    if (body === null || typeof body !== 'object' || !Array.isArray(body.results)) {
      throw new VendorResponseError(this.#config.name, 'the answer has no results array: the system users API may have changed.', { method: 'GET', path: systemUsersPath });
    }
    return { totalCount: typeof body.totalCount === 'number' ? body.totalCount : undefined, results: body.results };
  }

  async fetchPage(cursor: SystemUsersCursor | undefined, context: RunContext): Promise<Page<SystemUsersCursor>> {
    const page = await this.fetchOrgPage(this.#ownOrg, cursor, context);
    const notices = this.#connection.takeNotices();
    return notices.length === 0 ? page : { ...page, warnings: [...notices, ...(page.warnings ?? [])] };
  }

  async fetchOrgPage(org: OrgScope, cursor: SystemUsersCursor | undefined, context: RunContext): Promise<Page<SystemUsersCursor>> {
    const at: SystemUsersCursor = cursor ?? { scan: 1, skip: 0, lastId: null };
    const { totalCount, results } = await this.#list(at.skip, pageSize, org.id, context.signal);
    const records: PageRecord[] = [];
    const received = formatTime(context.receivedMs);
    let lastId = at.lastId;
    let skipped = 0;
    for (const item of results) {
      const user = item as Record<string, unknown>;
      const userId = user !== null && typeof user === 'object' && !Array.isArray(user) ? (user._id ?? user.id) : undefined;
      if (typeof userId !== 'string' || userId === '') {
        skipped += 1;
        continue;
      }
      if (at.lastId !== null && userId <= at.lastId) continue;
      const version = systemUserVersion(user);
      records.push({
        record: {
          id: `${userId}:${version}`,
          source: systemUsersSource,
          type: 'system_user',
          tenant: org.tenant,
          connector: this.#config.name,
          time: received,
          received,
          payload: JSON.stringify(user),
          indicators: JSON.stringify(extractor.extract(user)),
        },
        versionField: `${org.versionPrefix}${userId}`,
        versionValue: version,
      });
      lastId = userId;
    }
    const nextSkip = at.skip + results.length;
    const more = results.length > 0 && (totalCount === undefined ? results.length >= pageSize : nextSkip < totalCount);
    const next: SystemUsersCursor = more ? { scan: at.scan, skip: nextSkip, lastId } : { scan: at.scan + 1, skip: 0, lastId: null };
    const warnings = skipped > 0 ? [`GET ${systemUsersPath} skip=${at.skip} held ${skipped} item(s) that are not users with an _id; they were skipped.`] : [];
    const ids = results.map((u) => (u as { _id?: unknown } | null)?._id);
    const fingerprint = results.length === 0 ? {} : { fingerprint: `${results.length} ${String(ids[0])} ${String(ids.at(-1))}` };
    const prune = more ? {} : { pruneBelowStamp: at.scan - 1, ...(org.versionPrefix === '' ? {} : { prunePrefix: org.versionPrefix }) };
    return { records, cursor: next, more, received: results.length, warnings, versionStamp: at.scan, ...(more ? { next: String(nextSkip) } : {}), ...fingerprint, ...prune };
  }

  async checkOrgAccess(org: OrgScope, signal: AbortSignal): Promise<string> {
    const { totalCount } = await this.#list(0, 1, org.id, signal);
    return totalCount === undefined ? 'user count unknown' : `${totalCount} users`;
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    const found = await this.checkOrgAccess(this.#ownOrg, signal);
    const org = this.#settings.org_id ? ` for organization ${this.#settings.org_id}` : '';
    const notices = this.#connection.takeNotices();
    return `${this.#connection.describeCredentials()} is accepted${org}; listing system users is permitted (${found}).${notices.map((n) => ` ${n}`).join('')}`;
  }

  describeOrgCursor(cursor: SystemUsersCursor | undefined): Record<string, unknown> {
    return this.describeCursor(cursor);
  }

  describeCursor(cursor: SystemUsersCursor | undefined): Record<string, unknown> {
    if (!cursor) return { scan: 1, skip: 0 };
    return { scan: cursor.scan, skip: cursor.skip, lastUserId: cursor.lastId };
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}
