import type { FromSchema } from 'json-schema-to-ts';

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
      description: 'Jamf Pro API client id (Settings > API roles and clients), with the role privilege Read Computers.',
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
      items: {
        enum: ['GENERAL', 'DISK_ENCRYPTION', 'PURCHASING', 'APPLICATIONS', 'STORAGE', 'USER_AND_LOCATION', 'CONFIGURATION_PROFILES', 'PRINTERS', 'SERVICES', 'HARDWARE', 'LOCAL_USER_ACCOUNTS', 'CERTIFICATES', 'ATTACHMENTS', 'PLUGINS', 'PACKAGE_RECEIPTS', 'FONTS', 'SECURITY', 'OPERATING_SYSTEM', 'LICENSED_SOFTWARE', 'IBEACONS', 'SOFTWARE_UPDATES', 'EXTENSION_ATTRIBUTES', 'CONTENT_CACHING', 'GROUP_MEMBERSHIPS'],
      },
      default: ['GENERAL', 'HARDWARE', 'OPERATING_SYSTEM'],
      description: 'Inventory sections requested; the others come back null.',
    },
    page_size: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 100,
      description: 'Computers per request (page-size).',
    },
  },
  required: ['client_id', 'client_secret'],
} as const;

export type InventorySettings = FromSchema<typeof inventorySettingsSchema>;
