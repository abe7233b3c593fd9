import type { FromSchema } from 'json-schema-to-ts';

// The settings of a `jumpcloud.system_users` connector entry.
// The settings every connector has (name, tenant, interval, base_url, start, …) come with them
// (schemas/config.schema.json).

export const systemUsersSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    api_key: {
      type: 'string',
      minLength: 1,
      'x-secret': true,
      description: 'JumpCloud API key (x-api-key). Use ${ENV} in the file.',
    },
    org_id: {
      type: 'string',
      minLength: 1,
      description: 'JumpCloud organisation id for the multi-tenant (MSP) portal, sent as x-org-id.',
    },
  },
  required: ['api_key'],
} as const;

export type SystemUsersSettings = FromSchema<typeof systemUsersSettingsSchema>;
