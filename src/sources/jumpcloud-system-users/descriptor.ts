import { jumpCloudApiPaths } from '../jumpcloud/jumpcloud-api.ts';
import { checkJumpCloudSettings, jumpCloudCredentialKeys } from '../jumpcloud/jumpcloud-settings.ts';
import { jumpCloudSource } from '../jumpcloud/jumpcloud-source.ts';
import { defineSource } from '../source-descriptor.ts';
import { systemUsersSettingsSchema, type SystemUsersSettings } from './settings.ts';
import { SystemUsersSource, systemUsersSource } from './system-users-source.ts';

/** JumpCloud system users, listed whole on every run; a user is appended when it first appears or changes. One organization or many. */
export const jumpCloudSystemUsers = defineSource<SystemUsersSettings>({
  type: 'jumpcloud.system_users',
  source: systemUsersSource,
  settings: systemUsersSettingsSchema,
  baseUrl: { default: 'https://console.jumpcloud.com', description: 'Vendor API base URL (EU: https://console.eu.jumpcloud.com).' },
  defaultInterval: '1h',
  startDescription: 'Users are listed whole on every run and have no event time: start only resets the checkpoint when it changes (the next run appends every user again).',
  credentialKeys: jumpCloudCredentialKeys,
  apiPaths: jumpCloudApiPaths,
  checkSettings: checkJumpCloudSettings,
  create: (config, context) => jumpCloudSource(config, context.onAttempt, (connection) => new SystemUsersSource(config, connection)),
});
