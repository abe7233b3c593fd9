import type { FromSchema } from 'json-schema-to-ts';
import { jumpCloudSettingsProperties } from '../jumpcloud/jumpcloud-settings.ts';

// The settings of a `jumpcloud.directory_insights` connector entry: JumpCloud's shared ones (API key or
// Service Account, one organization or several) and its own.
// The settings every connector has (name, tenant, interval, base_url, start, …) come with them
// (schemas/config.schema.json).

/**
 * The `service` values of JumpCloud's current Directory Insights spec, in its order
 * (TheJumpCloud/jcapi-powershell SwaggerSpecs/JumpCloud.SDK.DirectoryInsights.json,
 * `EventServiceTimeQuery.service.items.enum`). JumpCloud adds services over time: a name not in this
 * list is sent as written, with a warning, rather than refused.
 */
export const directoryInsightsServices = [
  'alerts',
  'all',
  'directory',
  'ldap',
  'mdm',
  'notifications',
  'object_storage',
  'password_manager',
  'radius',
  'reports',
  'saas_app_management',
  'software',
  'sso',
  'systems',
  'access_management',
  'asset_management',
] as const;

export const directoryInsightsSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...jumpCloudSettingsProperties,
    console_url: {
      type: 'string',
      pattern: '^https?://[^\\s?#]+$',
      description:
        "With org_ids: where the organizations are listed (GET /api/organizations). Default: base_url's console host (https://api.jumpcloud.com: https://console.jumpcloud.com; https://api.eu.jumpcloud.com: https://console.eu.jumpcloud.com), or base_url itself for any other host.",
    },
    services: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[a-z0-9_]{1,40}$' },
      default: ['all'],
      description: `Directory Insights services to collect: ${directoryInsightsServices.join(', ')}. A name JumpCloud adds later is sent as written, with a warning.`,
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
    verify_after: {
      type: 'string',
      pattern: '^([0-9]{1,9}(ms|s|m|h|d)|off)$',
      default: '15m',
      description:
        "Completeness: once a window's end is lag plus this long ago (at least lag plus overlap), Orchard asks JumpCloud for the window's count (POST /insights/directory/v1/events/count, same services, per organization), compares it with what it appended, and re-pulls a window that is short. off: no counting.",
    },
    verify_window: {
      type: 'string',
      pattern: '^[0-9]{1,9}(ms|s|m|h|d)$',
      default: '1h',
      description: 'Completeness: the length of the windows counted and verified (aligned in UTC; from 1m to 1d).',
    },
    stream_per_service: {
      type: 'boolean',
      default: false,
      description: 'Append each service to its own stream, <ORCHARD_STREAM>:jumpcloud:<service> (orchard:events:jumpcloud:sso), instead of the events stream.',
    },
  },
} as const;

export type DirectoryInsightsSettings = FromSchema<typeof directoryInsightsSettingsSchema>;
