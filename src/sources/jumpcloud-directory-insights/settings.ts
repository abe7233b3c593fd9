import type { FromSchema } from 'json-schema-to-ts';

// The settings of a `jumpcloud.directory_insights` connector entry.
// The settings every connector has (name, tenant, interval, base_url, start, …) come with them
// (schemas/config.schema.json).

export const directoryInsightsSettingsSchema = {
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
    services: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        enum: ['all', 'directory', 'systems', 'sso', 'radius', 'ldap', 'mdm', 'software', 'password_manager', 'object_storage', 'alerts'],
      },
      default: ['all'],
      description: 'Directory Insights services to collect.',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 10000,
      description: 'Events per request (the API allows at most 10000).',
    },
    lag: {
      type: 'string',
      pattern: '^[0-9]{1,9}(ms|s|m|h|d)$',
      default: '2m',
      description: 'Each run reads up to this long before now (events still being indexed are left for the next run).',
    },
    overlap: {
      type: 'string',
      pattern: '^[0-9]{1,9}(ms|s|m|h|d)$',
      default: '10m',
      description: 'Each run re-reads this much before the checkpoint to catch late-indexed events (re-read events are dropped as duplicates).',
    },
    stream_per_service: {
      type: 'boolean',
      default: false,
      description: 'Append each service to its own stream, <ORCHARD_STREAM>:jumpcloud:<service> (orchard:events:jumpcloud:sso), instead of the events stream.',
    },
  },
  required: ['api_key'],
} as const;

export type DirectoryInsightsSettings = FromSchema<typeof directoryInsightsSettingsSchema>;
