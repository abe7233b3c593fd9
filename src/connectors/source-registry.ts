import type { ConnectorConfig } from '../config/load-config.ts';
import { JamfProInventorySource } from '../sources/jamf-pro-inventory/jamf-pro-inventory-source.ts';
import type { PullSource } from './pull-source.ts';
import type { Metrics } from '../metrics.ts';
import type { VendorAttempt } from './vendor-http-client.ts';

export interface SourceOptions {
  /** Each vendor request attempt is counted in orchard_connector_requests_total. */
  readonly metrics?: Metrics;
  /** Told of every vendor request attempt (`orchard test` prints the failed ones). */
  readonly onAttempt?: (attempt: VendorAttempt) => void;
}

/** The pull source of a connector entry; undefined for types this version cannot run yet. */
export function createSource(config: ConnectorConfig, options: SourceOptions = {}): PullSource<unknown> | undefined {
  const { metrics } = options;
  const onAttempt = (a: VendorAttempt) => {
    metrics?.connectorRequests.inc({ connector: config.name, status: a.status === undefined ? 'error' : String(a.status) });
    options.onAttempt?.(a);
  };
  switch (config.type) {
    case 'jamf_pro.inventory':
      return new JamfProInventorySource(config, { onAttempt }) as PullSource<unknown>;
    default:
      return undefined;
  }
}
