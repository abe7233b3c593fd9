import type { ConnectorConfig, ConnectorType } from '../config/load-config.ts';
import { JamfProInventorySource } from '../sources/jamf-pro-inventory/jamf-pro-inventory-source.ts';
import { JamfProtectAlertsSource } from '../sources/jamf-protect/jamf-protect-alerts-source.ts';
import { DirectoryInsightsSource } from '../sources/jumpcloud/directory-insights-source.ts';
import { SystemUsersSource } from '../sources/jumpcloud/system-users-source.ts';
import type { PullSource } from './pull-source.ts';
import type { Metrics } from '../metrics.ts';
import type { VendorAttempt } from './vendor-http-client.ts';

export interface SourceOptions {
  /** Each vendor request attempt is counted in orchard_connector_requests_total. */
  readonly metrics?: Metrics;
  /** Told of every vendor request attempt (`orchard test` prints the failed ones). */
  readonly onAttempt?: (attempt: VendorAttempt) => void;
  /** The configured events stream (sources that route records to streams of their own name them after it). */
  readonly stream?: string;
  /** protect_dedup_window_seconds: how long Jamf Protect alert uuids are remembered. */
  readonly protectDedupWindowSeconds?: number;
}

interface FactoryOptions {
  readonly onAttempt: (attempt: VendorAttempt) => void;
  readonly stream: string | undefined;
  readonly protectDedupWindowSeconds: number | undefined;
}

/** The pull source of a connector entry; undefined for types this version cannot run yet. */
export function createSource(config: ConnectorConfig, options: SourceOptions = {}): PullSource<unknown> | undefined {
  if (!isRunnableType(config.type)) return undefined;
  const { metrics } = options;
  const onAttempt = (a: VendorAttempt) => {
    metrics?.connectorRequests.inc({ connector: config.name, status: a.status === undefined ? 'error' : String(a.status) });
    options.onAttempt?.(a);
  };
  return sourceFactories[config.type as RunnableType](config, { onAttempt, stream: options.stream, protectDedupWindowSeconds: options.protectDedupWindowSeconds });
}

/** The connector types this version runs, and how each builds its source. */
const sourceFactories = {
  'jamf_pro.inventory': (config, options) => new JamfProInventorySource(config, options) as PullSource<unknown>,
  'jamf_protect.alerts': (config, options) =>
    new JamfProtectAlertsSource(config, { onAttempt: options.onAttempt, dedupWindowSeconds: options.protectDedupWindowSeconds }) as PullSource<unknown>,
  'jumpcloud.directory_insights': (config, options) => new DirectoryInsightsSource(config, options) as PullSource<unknown>,
  'jumpcloud.system_users': (config, options) => new SystemUsersSource(config, options) as PullSource<unknown>,
} satisfies Partial<Record<ConnectorType, (config: ConnectorConfig, options: FactoryOptions) => PullSource<unknown>>>;
type RunnableType = keyof typeof sourceFactories;

/** Whether this version runs connectors of this type (the others are validated but not run yet). */
export function isRunnableType(type: string): type is RunnableType {
  return Object.hasOwn(sourceFactories, type);
}
