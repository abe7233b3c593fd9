import { defineSource } from '../source-descriptor.ts';
import { protectSource } from './alert-record.ts';
import { JamfProtectAlertsSource, graphqlPath, tokenPath } from './jamf-protect-alerts-source.ts';
import { jamfProtectSettingsSchema, type JamfProtectSettings } from './settings.ts';

/** Jamf Protect alerts, pulled from its GraphQL API with an API client. */
export const jamfProtectAlerts = defineSource<JamfProtectSettings>({
  type: 'jamf_protect.alerts',
  source: protectSource,
  settings: jamfProtectSettingsSchema,
  baseUrl: { description: 'Vendor API base URL of Jamf Protect, https://<tenant>.protect.jamfcloud.com.' },
  defaultInterval: '5m',
  credentialKeys: ['client_id', 'password'],
  pageSizeSetting: 'page_size',
  requestSettings: ['min_severity', 'page_size', 'follow_updates', 'start'],
  apiPaths: [graphqlPath, tokenPath],
  create: (config, context) => new JamfProtectAlertsSource(config, { onAttempt: context.onAttempt, dedupWindowSeconds: context.protectDedupWindowSeconds }),
});
