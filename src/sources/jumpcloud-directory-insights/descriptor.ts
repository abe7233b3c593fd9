import { jumpCloudApiPaths } from '../jumpcloud/jumpcloud-api.ts';
import { checkJumpCloudSettings, jumpCloudCredentialKeys } from '../jumpcloud/jumpcloud-settings.ts';
import { jumpCloudSource } from '../jumpcloud/jumpcloud-source.ts';
import { defineSource } from '../source-descriptor.ts';
import { DirectoryInsightsSource } from './directory-insights-source.ts';
import { directoryInsightsSource } from './events-page.ts';
import { directoryInsightsSettingsSchema, type DirectoryInsightsSettings } from './settings.ts';
import { parseDurationMs } from '../../config/duration.ts';

/** verify_window: from a minute to a day (a window's count is one request per organization and service). */
function checkVerifyWindow(entry: Readonly<Record<string, unknown>>): string[] {
  const ms = typeof entry.verify_window === 'string' ? parseDurationMs(entry.verify_window) : undefined;
  return ms === undefined || (ms >= 60_000 && ms <= 86_400_000) ? [] : [`verify_window: ${entry.verify_window} is not between 1m and 1d.`];
}

/** JumpCloud Directory Insights events, pulled by time window with `search_after` paging, for one organization or many. */
export const jumpCloudDirectoryInsights = defineSource<DirectoryInsightsSettings>({
  type: 'jumpcloud.directory_insights',
  source: directoryInsightsSource,
  settings: directoryInsightsSettingsSchema,
  baseUrl: { default: 'https://api.jumpcloud.com', description: 'Vendor API base URL (EU: https://api.eu.jumpcloud.com).' },
  defaultInterval: '5m',
  startDescription: "Earliest event time to collect on the first run, and for an organization org_ids adds later (RFC 3339; default: one day before the first run). Changing it resets the connector's checkpoint on the next start.",
  credentialKeys: jumpCloudCredentialKeys,
  pageSizeSetting: 'limit',
  requestSettings: ['services', 'start', 'limit', 'lag', 'overlap'],
  apiPaths: jumpCloudApiPaths,
  checkSettings: (entry) => [...checkJumpCloudSettings(entry), ...checkVerifyWindow(entry)],
  create: (config, context) => jumpCloudSource(config, context.onAttempt, (connection) => new DirectoryInsightsSource(config, connection, { stream: context.stream })),
});
