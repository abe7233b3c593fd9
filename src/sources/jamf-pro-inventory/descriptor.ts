import { defineSource } from '../source-descriptor.ts';
import { inventorySource } from './inventory-record.ts';
import { JamfProInventorySource, inventoryPath, inventoryTokenPath } from './jamf-pro-inventory-source.ts';
import { inventorySettingsSchema, type InventorySettings } from './settings.ts';

/** Jamf Pro computer inventory, pulled from the Jamf Pro API with an API client (OAuth2 client credentials). */
export const jamfProInventory = defineSource<InventorySettings>({
  type: 'jamf_pro.inventory',
  source: inventorySource,
  settings: inventorySettingsSchema,
  baseUrl: { description: 'Vendor API base URL of Jamf Pro, e.g. https://acme.jamfcloud.com.' },
  defaultInterval: '15m',
  credentialKeys: ['client_id', 'client_secret'],
  pageSizeSetting: 'page_size',
  // The paths asked for and their leading parts; the API docs and the Classic API, often pasted instead.
  requestSettings: ['sections', 'page_size', 'start'],
  apiPaths: [inventoryPath, inventoryTokenPath, '/api/oauth', '/api/v1', '/api/v2', '/api/doc', '/api', '/uapi', '/JSSResource', '/classicapi/doc', '/classicapi'],
  create: (config, context) => new JamfProInventorySource(config, { onAttempt: context.onAttempt }),
});
