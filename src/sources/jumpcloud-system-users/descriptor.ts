import { jumpCloudApiPaths } from '../jumpcloud/jumpcloud-api.ts';
import { defineSource } from '../source-descriptor.ts';
import { systemUsersSettingsSchema, type SystemUsersSettings } from './settings.ts';
import { SystemUsersSource, systemUsersSource } from './system-users-source.ts';

/** JumpCloud system users, listed whole on every run; a user is appended when it first appears or changes. */
export const jumpCloudSystemUsers = defineSource<SystemUsersSettings>({
  type: 'jumpcloud.system_users',
  source: systemUsersSource,
  settings: systemUsersSettingsSchema,
  baseUrl: { default: 'https://console.jumpcloud.com', description: 'Vendor API base URL.' },
  defaultInterval: '1h',
  startDescription: 'Users are listed whole on every run and have no event time: start only resets the checkpoint when it changes (the next run appends every user again).',
  credentialKeys: ['api_key'],
  apiPaths: jumpCloudApiPaths,
  create: (config, context) => new SystemUsersSource(config, { onAttempt: context.onAttempt }),
});
