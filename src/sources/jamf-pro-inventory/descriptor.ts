import { defineSource } from '../source-descriptor.ts';
import { jamfProTokenPath, jamfProVersionPath } from '../jamf-pro/jamf-pro-api.ts';
import { inventoryApiVersions, inventoryPathOf, sectionsProblem } from './api-versions.ts';
import { inventorySource } from './inventory-record.ts';
import { JamfProInventorySource } from './jamf-pro-inventory-source.ts';
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
  apiPaths: [
    ...inventoryApiVersions.map(inventoryPathOf),
    jamfProTokenPath,
    jamfProVersionPath,
    '/api/oauth',
    ...inventoryApiVersions.map((v) => `/api/v${v}`),
    '/api/doc',
    '/api',
    '/uapi',
    '/JSSResource/webhooks',
    '/JSSResource',
    '/classicapi/doc',
    '/classicapi',
  ],
  // A pinned api_version must take the sections asked for (v2 and later have no PLUGINS or FONTS).
  checkSettings: (entry) => {
    const version = entry.api_version as (typeof inventoryApiVersions)[number] | undefined;
    const sections = Array.isArray(entry.sections) ? (entry.sections as string[]) : [];
    const problem = version === undefined || !inventoryApiVersions.includes(version) ? undefined : sectionsProblem(version, sections, true);
    return problem ? [problem] : [];
  },
  create: (config, context) => new JamfProInventorySource(config, { onAttempt: context.onAttempt }),
});
