import type { ConnectorConfig } from '../config/load-config.ts';
import { JamfProInventorySource } from '../sources/jamf-pro-inventory/jamf-pro-inventory-source.ts';
import type { PullSource } from './pull-source.ts';
import type { VendorAttempt } from './vendor-http-client.ts';

export interface SourceOptions {
  readonly onAttempt?: (attempt: VendorAttempt) => void;
}

/** The pull source of a connector entry; undefined for types this version cannot run yet. */
export function createSource(config: ConnectorConfig, options: SourceOptions = {}): PullSource<unknown> | undefined {
  switch (config.type) {
    case 'jamf_pro.inventory':
      return new JamfProInventorySource(config, options) as PullSource<unknown>;
    default:
      return undefined;
  }
}
