import type { FromSchema } from 'json-schema-to-ts';

// The settings of a `jamf_protect.alerts` connector entry: its Jamf Protect API client and what it asks for.
// The settings every connector has (name, tenant, interval, base_url, start, …) come with them
// (schemas/config.schema.json).

export const jamfProtectSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client_id: {
      type: 'string',
      minLength: 1,
      description: 'Jamf Protect API client id (Read Only role at least).',
    },
    password: {
      type: 'string',
      minLength: 1,
      'x-secret': true,
      description: 'Jamf Protect API client password. Use ${ENV} in the file.',
    },
    min_severity: {
      enum: ['Informational', 'Low', 'Medium', 'High'],
      description: 'Only alerts of this severity or higher.',
    },
    page_size: {
      type: 'integer',
      minimum: 1,
      maximum: 200,
      default: 100,
      description: "Alerts per listAlerts page (the API's limit is not documented; Jamf's own examples use 100).",
    },
    follow_updates: {
      type: 'boolean',
      default: true,
      description:
        "Pull alerts by `updated` and append each later version (a status change, new tags) as an `alert_update` record. false: pull by `created`, first versions only, asking only for the fields of Jamf's own example query (for a /graphql that does not serve `updated` or `status`).",
    },
    overlap: {
      type: 'string',
      pattern: '^[0-9]{1,9}(ms|s|m|h|d)$',
      default: '10m',
      description: 'Each run asks again for alerts updated (or created) this long before the newest one already read, so alerts that appear late in the API are caught; versions already appended are dropped by id (protect_dedup_window_seconds).',
    },
  },
  required: ['client_id', 'password'],
} as const;

export type JamfProtectSettings = FromSchema<typeof jamfProtectSettingsSchema>;
