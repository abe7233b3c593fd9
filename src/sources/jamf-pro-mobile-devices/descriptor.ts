import { jamfProTokenPath, jamfProVersionPath } from '../jamf-pro/jamf-pro-api.ts';
import { defineSource } from '../source-descriptor.ts';
import { JamfProMobileDevicesSource, mobileDevicesPath } from './jamf-pro-mobile-devices-source.ts';
import { mobileDevicesSource } from './mobile-device-record.ts';
import { mobileDevicesSettingsSchema, type MobileDevicesSettings } from './settings.ts';

/** Jamf Pro mobile devices (iPhone, iPad, Apple TV), pulled from the Jamf Pro API with an API client. */
export const jamfProMobileDevices = defineSource<MobileDevicesSettings>({
  type: 'jamf_pro.mobile_devices',
  source: mobileDevicesSource,
  settings: mobileDevicesSettingsSchema,
  baseUrl: { description: 'Vendor API base URL of Jamf Pro, e.g. https://acme.jamfcloud.com.' },
  defaultInterval: '15m',
  credentialKeys: ['client_id', 'client_secret'],
  pageSizeSetting: 'page_size',
  apiPaths: [mobileDevicesPath, '/api/v2/mobile-devices', jamfProTokenPath, jamfProVersionPath, '/api/oauth', '/api/v1', '/api/v2', '/api/doc', '/api', '/uapi', '/JSSResource', '/classicapi/doc', '/classicapi'],
  create: (config, context) => new JamfProMobileDevicesSource(config, { onAttempt: context.onAttempt }),
});
