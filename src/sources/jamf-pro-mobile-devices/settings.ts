import type { FromSchema } from 'json-schema-to-ts';

// The settings of a `jamf_pro.mobile_devices` connector entry: the same as the computer inventory's
// (an API client, sections, page size), with the mobile-device sections of
// GET /api/v2/mobile-devices/detail (Jamf's OpenAPI document, enum MobileDeviceSection).

export const mobileDeviceSections = [
  'GENERAL', 'HARDWARE', 'USER_AND_LOCATION', 'PURCHASING', 'SECURITY', 'APPLICATIONS', 'EBOOKS', 'NETWORK', 'SERVICE_SUBSCRIPTIONS',
  'CERTIFICATES', 'PROFILES', 'USER_PROFILES', 'PROVISIONING_PROFILES', 'SHARED_USERS', 'GROUPS', 'EXTENSION_ATTRIBUTES',
] as const;

export const mobileDevicesSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client_id: {
      type: 'string',
      minLength: 1,
      description: 'Jamf Pro API client id (Settings > API roles and clients), with the role privilege Read Mobile Devices.',
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
      items: { enum: mobileDeviceSections },
      default: ['GENERAL', 'HARDWARE', 'USER_AND_LOCATION'],
      description: 'Mobile device sections requested; the others come back null. GENERAL gives the last inventory update (the record id), HARDWARE the serial number and MAC addresses, USER_AND_LOCATION the user.',
    },
    page_size: {
      type: 'integer',
      minimum: 1,
      maximum: 2000,
      default: 100,
      description: 'Mobile devices per request (page-size). Jamf Pro answers at most 2000 a page whatever is asked; Orchard pages on by what it answers.',
    },
  },
  required: ['client_id', 'client_secret'],
} as const;

export type MobileDevicesSettings = FromSchema<typeof mobileDevicesSettingsSchema>;
