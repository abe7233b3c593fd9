import type { FromSchema } from 'json-schema-to-ts';
import { inventorySectionsV1 } from './api-versions.ts';

// The settings of a `jamf_pro.inventory` connector entry: its Jamf Pro API client and what it asks for.
// The settings every connector has (name, tenant, interval, base_url, start, …) come with them
// (schemas/config.schema.json).

export const inventorySettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client_id: {
      type: 'string',
      minLength: 1,
      description: 'Jamf Pro API client id (Settings > API roles and clients), with the role privilege Read Computers (and Create, Read and Update Webhooks for `orchard jamf-webhooks`).',
    },
    client_secret: {
      type: 'string',
      minLength: 1,
      'x-secret': true,
      description: 'Jamf Pro API client secret. Use ${ENV} in the file.',
    },
    sections: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: inventorySectionsV1 },
      default: ['GENERAL', 'HARDWARE', 'OPERATING_SYSTEM'],
      description: 'Inventory sections requested; the others come back null. PLUGINS and FONTS exist only in v1 of the API (see api_version).',
    },
    page_size: {
      type: 'integer',
      minimum: 1,
      maximum: 2000,
      default: 100,
      description: 'Computers per request (page-size). Jamf Pro answers at most 2000 a page whatever is asked; Orchard pages on by what it answers.',
    },
    missed_webhook_tolerance: {
      type: 'string',
      pattern: '^([0-9]{1,9}(ms|s|m|h|d)|off)$',
      default: '10m',
      description:
        "Missed webhooks: a computer whose report date advanced between two scans by more than this past the last ComputerCheckIn or ComputerInventoryCompleted webhook the webhook route took for it (by serial or udid) counts as a likely missed webhook. Compared only when the connector's tenant is the webhook route's (ORCHARD_WEBHOOK_TENANT). off: not compared.",
    },
    api_version: {
      enum: [1, 2, 3, 4],
      description: 'Pin the computers-inventory version (GET /api/v<N>/computers-inventory). Unset: the newest the server offers, chosen at the start of every run (v4 from Jamf Pro 11.30, else v3, falling back on a 404).',
    },
  },
  required: ['client_id', 'client_secret'],
} as const;

export type InventorySettings = FromSchema<typeof inventorySettingsSchema>;
