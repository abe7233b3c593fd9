import { loadConfig, type Config, type ConnectorConfig, type LoadConfigOptions } from '../config/load-config.ts';
import { DeprecationNotices } from '../connectors/deprecation-notices.ts';
import type { SourceInfo } from '../connectors/diagnosis.ts';
import type { PullSource } from '../connectors/pull-source.ts';
import type { Metrics } from '../metrics.ts';
import type { VendorAttempt } from './http/vendor-http-client.ts';
import { changeManagementSource, complianceReporterSource, loginSource } from './jamf-pro-logs/log-kinds.ts';
import { webhookSource } from './jamf-pro-webhooks/webhook-record.ts';
import { jamfProInventory } from './jamf-pro-inventory/descriptor.ts';
import { jamfProMobileDevices } from './jamf-pro-mobile-devices/descriptor.ts';
import { jamfProtectAlerts } from './jamf-protect-alerts/descriptor.ts';
import { jumpCloudDirectoryInsights } from './jumpcloud-directory-insights/descriptor.ts';
import { jumpCloudSystemUsers } from './jumpcloud-system-users/descriptor.ts';
import type { SourceDescriptor } from './source-descriptor.ts';

// The one list of pull sources. A new source is a folder with its descriptor, and one line here.
// Each descriptor is typed by its own settings, hence `any` for the list.
export const sourceDescriptors: readonly SourceDescriptor<any>[] = [jamfProInventory, jamfProMobileDevices, jamfProtectAlerts, jumpCloudDirectoryInsights, jumpCloudSystemUsers];

/** Every `source` the events stream holds (the stream contract): the push routes' and the pull sources'. */
export const streamSources: readonly string[] = [...new Set([webhookSource, ...sourceDescriptors.map((d) => d.source), loginSource, changeManagementSource, complianceReporterSource])];

/** The configuration, with the connector types the sources describe. */
export function loadOrchardConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), options: Omit<LoadConfigOptions, 'connectorTypes'> = {}): Config {
  return loadConfig(env, cwd, { ...options, connectorTypes: sourceDescriptors });
}

/** The descriptor of a connector type (every type the configuration accepts has one). */
export function descriptorOf(type: string): SourceDescriptor<unknown> {
  const descriptor = sourceDescriptors.find((d) => d.type === type);
  if (!descriptor) throw new TypeError(`No source describes connector type ${type}.`);
  return descriptor;
}

export interface CreateSourceOptions {
  /** Each vendor request attempt is counted in orchard_connector_requests_total. */
  readonly metrics?: Metrics;
  /** Told of every vendor request attempt (`orchard test` prints the failed ones). */
  readonly onAttempt?: (attempt: VendorAttempt) => void;
}

/** A connector entry's source, with what a diagnosis of its failures names and the deprecations its vendor announced. */
export function createSource(
  config: ConnectorConfig,
  orchard: Pick<Config, 'stream' | 'protectDedupWindowSeconds'>,
  options: CreateSourceOptions = {},
): { source: PullSource; info: SourceInfo; deprecations: DeprecationNotices } {
  const descriptor = descriptorOf(config.type);
  const { metrics } = options;
  const deprecations = new DeprecationNotices();
  const onAttempt = (a: VendorAttempt) => {
    metrics?.connectorRequests.inc({ connector: config.name, status: a.status === undefined ? 'error' : String(a.status) });
    if (a.deprecation) {
      metrics?.recordDeprecation(config.name, a.path, a.deprecation.sunsetAtMs);
      deprecations.record(a.method, a.path, a.deprecation);
    }
    options.onAttempt?.(a);
  };
  // The configuration validated the entry against this descriptor's settings schema: its settings are the descriptor's.
  const source = descriptor.create(config as ConnectorConfig<never>, { onAttempt, stream: orchard.stream, protectDedupWindowSeconds: orchard.protectDedupWindowSeconds });
  const keys = descriptor.credentialKeys;
  const credentialKeys = typeof keys === 'function' ? keys(config.settings) : keys;
  return { source, info: { credentialKeys, pageSizeSetting: descriptor.pageSizeSetting, requestSettings: descriptor.requestSettings }, deprecations };
}
