import type { ConnectorConfig } from '../../config/config-types.ts';
import type { Page, PullSource, RunContext } from '../../connectors/pull-source.ts';
import { VendorResponseError } from '../../errors.ts';
import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { sha256 } from '../../sha256.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { formatTime } from '../../stream/stream-record.ts';
import { vendorClientFor, type VendorAttempt, type VendorHttpClient } from '../http/vendor-http-client.ts';
import type { SystemUsersSettings } from './settings.ts';

// JumpCloud system users (`type: jumpcloud.system_users`): like the Jamf Pro inventory, every run
// lists every user (`sort=_id`, `skip` paging, 100 a page: more is assumed not to work) and the
// versions hash keeps a hash of each user as last appended, so the first run loads every user and
// later runs append only the users that changed. A user not seen in two whole scans is forgotten.

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

export class SystemUsersSource implements PullSource<SystemUsersCursor> {
  readonly #config: ConnectorConfig<SystemUsersSettings>;
  readonly #settings: SystemUsersSettings;
  readonly #client: VendorHttpClient;

  constructor(config: ConnectorConfig<SystemUsersSettings>, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    this.#config = config;
    this.#settings = config.settings;
    this.#client = vendorClientFor(config, { onAttempt: options.onAttempt, secrets: [this.#settings.api_key] });
  }

  get requests(): number {
    return this.#client.requests;
  }

  async #list(skip: number, limit: number, signal: AbortSignal): Promise<{ totalCount: number | undefined; results: unknown[] }> {
    const response = await this.#client.request(
      {
        method: 'GET',
        path: systemUsersPath,
        query: { limit, skip, sort: '_id' },
        headers: { accept: 'application/json', 'x-api-key': this.#settings.api_key, ...(this.#settings.org_id ? { 'x-org-id': this.#settings.org_id } : {}) },
      },
      signal,
    );
    const body = response.json<{ totalCount?: unknown; results?: unknown }>();
    if (body === null || typeof body !== 'object' || !Array.isArray(body.results)) {
      throw new VendorResponseError(this.#config.name, 'the answer has no results array: the system users API may have changed.', { method: 'GET', path: systemUsersPath });
    }
    return { totalCount: typeof body.totalCount === 'number' ? body.totalCount : undefined, results: body.results };
  }

  async fetchPage(cursor: SystemUsersCursor | undefined, context: RunContext): Promise<Page<SystemUsersCursor>> {
    const at: SystemUsersCursor = cursor ?? { scan: 1, skip: 0, lastId: null };
    const { totalCount, results } = await this.#list(at.skip, pageSize, context.signal);
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
          tenant: this.#config.tenant,
          connector: this.#config.name,
          time: received,
          received,
          payload: JSON.stringify(user),
          indicators: JSON.stringify(extractor.extract(user)),
        },
        versionField: userId,
        versionValue: version,
      });
      lastId = userId;
    }
    const nextSkip = at.skip + results.length;
    const more = results.length > 0 && (totalCount === undefined ? results.length >= pageSize : nextSkip < totalCount);
    const next: SystemUsersCursor = more ? { scan: at.scan, skip: nextSkip, lastId } : { scan: at.scan + 1, skip: 0, lastId: null };
    const warnings = skipped > 0 ? [`GET ${systemUsersPath} skip=${at.skip} held ${skipped} item(s) that are not users with an _id; they were skipped.`] : [];
    return { records, cursor: next, more, received: results.length, warnings, versionStamp: at.scan, ...(more ? {} : { pruneBelowStamp: at.scan - 1 }) };
  }

  async checkAccess(signal: AbortSignal): Promise<string> {
    const { totalCount } = await this.#list(0, 1, signal);
    const org = this.#settings.org_id ? ` for organisation ${this.#settings.org_id}` : '';
    return `The API key is accepted${org}; listing system users is permitted (${totalCount === undefined ? 'count unknown' : `${totalCount} users`}).`;
  }

  describeCursor(cursor: SystemUsersCursor | undefined): Record<string, unknown> {
    if (!cursor) return { scan: 1, skip: 0 };
    return { scan: cursor.scan, skip: cursor.skip, lastUserId: cursor.lastId };
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
