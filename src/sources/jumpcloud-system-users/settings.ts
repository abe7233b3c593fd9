import type { FromSchema } from 'json-schema-to-ts';
import { jumpCloudSettingsProperties } from '../jumpcloud/jumpcloud-settings.ts';

// The settings of a `jumpcloud.system_users` connector entry: JumpCloud's shared ones (API key or
// Service Account, one organization or several).
// The settings every connector has (name, tenant, interval, base_url, start, …) come with them
// (schemas/config.schema.json).

export const systemUsersSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...jumpCloudSettingsProperties,
  },
} as const;

export type SystemUsersSettings = FromSchema<typeof systemUsersSettingsSchema>;
