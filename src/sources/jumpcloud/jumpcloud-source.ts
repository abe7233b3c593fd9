import type { ConnectorConfig } from '../../config/config-types.ts';
import type { PullSource } from '../../connectors/pull-source.ts';
import type { VendorAttempt } from '../http/vendor-http-client.ts';
import { JumpCloudConnection, type JumpCloudCredentialSettings } from './jumpcloud-connection.ts';
import { OrganizationsSource, type OrgPager } from './organizations-source.ts';

// How a JumpCloud connector entry becomes its source, for both types: the type's own source for one
// organization (its own, or `org_id`'s), or the organizations source around it for an MSP's `org_ids`.

export type JumpCloudOrgSettings = JumpCloudCredentialSettings & {
  readonly org_ids?: string | readonly string[];
  readonly tenants?: Readonly<Record<string, string>>;
  readonly console_url?: string;
};

/** The console host of a Directory Insights host: api.jumpcloud.com → console.jumpcloud.com, api.eu. → console.eu.; any other host is its own console (a proxy, a test). */
export function consoleUrlOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (/^api\.(?:[a-z]{2}\.)?jumpcloud\.com$/.test(url.hostname)) return `${url.protocol}//${url.hostname.replace(/^api\./, 'console.')}`;
  return baseUrl;
}

export function jumpCloudSource<C>(
  config: ConnectorConfig<JumpCloudOrgSettings>,
  onAttempt: ((attempt: VendorAttempt) => void) | undefined,
  pagerOf: (connection: JumpCloudConnection) => OrgPager<C> & PullSource<C>,
): PullSource {
  const connection = new JumpCloudConnection(config, config.settings, { onAttempt });
  const pager = pagerOf(connection);
  const { org_ids: orgIds } = config.settings;
  if (orgIds === undefined) return pager as PullSource;
  return new OrganizationsSource(pager, {
    connector: config.name,
    orgIds: orgIds === 'all' ? 'all' : typeof orgIds === 'string' ? [orgIds] : orgIds,
    tenants: config.settings.tenants ?? {},
    connection,
    consoleUrl: config.settings.console_url ?? consoleUrlOf(config.baseUrl),
  }) as PullSource;
}
