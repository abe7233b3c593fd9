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
    api_version: {
      enum: [1, 2, 3, 4],
      description: 'Pin the computers-inventory version (GET /api/v<N>/computers-inventory). Unset: the newest the server offers, chosen at the start of every run (v4 from Jamf Pro 11.30, else v3, falling back on a 404).',
    },
  },
  required: ['client_id', 'client_secret'],
} as const;

export type InventorySettings = FromSchema<typeof inventorySettingsSchema>;
