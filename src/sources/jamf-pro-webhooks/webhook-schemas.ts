// The JSON Schemas of the Jamf Pro webhook events, built from the vendor's field lists
// (shared/fixtures/jamf_pro/webhook-templates-camelcase, Jamf's developer documentation, Elastic's
// samples). `npm run schemas` writes them to schemas/jamf-pro-webhooks/; a test keeps the files and
// this description equal. Lenient exactly where Jamf is inconsistent (ids as integer or string,
// timestamps in seconds or milliseconds, booleans as strings, a single item wherever a list is, null
// for any scalar, unknown properties everywhere); strict on structure.

type Schema = Record<string, unknown>;

const str: Schema = { type: ['string', 'null'] };
const id: Schema = { type: ['integer', 'string', 'null'] };
const bool: Schema = { type: ['boolean', 'string', 'null'] };
const epoch: Schema = { type: ['number', 'string', 'null'] };
const indicator = (kind: string, base: Schema = str): Schema => ({ ...base, 'x-indicator': kind });
const object = (properties: Record<string, Schema>): Schema => ({
  type: ['object', 'null'],
  properties,
  additionalProperties: true,
});
/**
 * A list. Jamf Pro converts its XML to JSON, and a one-element list can arrive as the element itself
 * (Elastic's samples have `payloadTypes`, `eventActions.action` and `reportUrls` as plain strings), so
 * a single item, or a single scalar, is accepted wherever a list is.
 */
const listOf = (items: Schema): Schema => {
  const itemTypes = (items.type as string[]).filter((t) => t !== 'null');
  const single = new Set(['string', 'integer', 'number', ...itemTypes]);
  return {
    type: ['array', ...single, 'null'],
    items,
    ...(items.properties ? { properties: items.properties, additionalProperties: true } : {}),
  };
};

export const webhookEventNames = [
  'ComputerAdded',
  'ComputerCheckIn',
  'ComputerInventoryCompleted',
  'ComputerPatchPolicyCompleted',
  'ComputerPolicyFinished',
  'ComputerPushCapabilityChanged',
  'DeviceAddedToDEP',
  'DeviceRateLimited',
  'JSSShutdown',
  'JSSStartup',
  'MobileDeviceCheckIn',
  'MobileDeviceCommandCompleted',
  'MobileDeviceEnrolled',
  'MobileDeviceInventoryCompleted',
  'MobileDevicePushSent',
  'MobileDeviceUnEnrolled',
  'PatchSoftwareTitleUpdated',
  'PushSent',
  'RestAPIOperation',
  'SCEPChallenge',
  'SmartGroupComputerMembershipChange',
  'SmartGroupMobileDeviceMembershipChange',
  'SmartGroupUserMembershipChange',
] as const;

export type WebhookEventName = (typeof webhookEventNames)[number];

const computerProperties: Record<string, Schema> = {
  alternateMacAddress: indicator('mac'),
  building: str,
  department: str,
  deviceName: indicator('hostname'),
  emailAddress: indicator('email'),
  ipAddress: indicator('ip'),
  jssID: id,
  macAddress: indicator('mac'),
  model: str,
  osBuild: str,
  osVersion: str,
  phone: str,
  position: str,
  realName: str,
  reportedIpAddress: indicator('ip'),
  room: str,
  serialNumber: indicator('serial'),
  udid: str,
  userDirectoryID: str,
  username: indicator('username'),
  managementId: id,
};

const mobileDeviceProperties: Record<string, Schema> = {
  bluetoothMacAddress: indicator('mac'),
  deviceName: indicator('hostname'),
  icciID: str,
  imei: str,
  ipAddress: indicator('ip'),
  jssID: id,
  model: str,
  modelDisplay: str,
  osBuild: str,
  osVersion: str,
  product: str,
  room: str,
  serialNumber: indicator('serial'),
  udid: str,
  userDirectoryID: str,
  username: indicator('username'),
  version: str,
  wifiMacAddress: indicator('mac'),
  managementId: id,
};

const jssLifecycle: Record<string, Schema> = {
  hostAddress: str,
  institution: str,
  isClusterMaster: bool,
  jssUrl: str,
  webApplicationPath: str,
};

const smartGroup = (devices: Record<string, Schema>): Record<string, Schema> => ({
  computer: bool,
  groupAddedDevices: listOf(object(devices)),
  groupAddedDevicesIds: listOf(id),
  groupRemovedDevices: listOf(object(devices)),
  groupRemovedDevicesIds: listOf(id),
  jssid: id,
  name: str,
  smartGroup: bool,
});

/** The `event` object of each webhook, by `webhookEvent`. */
const eventProperties: Record<WebhookEventName, Record<string, Schema>> = {
  ComputerAdded: computerProperties,
  ComputerCheckIn: { computer: object(computerProperties), trigger: str, username: indicator('username') },
  ComputerInventoryCompleted: computerProperties,
  ComputerPatchPolicyCompleted: {
    computer: object(computerProperties),
    deployedVersion: str,
    eventActions: object({ action: listOf(str) }),
    patchPolicyId: id,
    patchPolicyName: str,
    softwareTitleId: id,
    successful: bool,
  },
  ComputerPolicyFinished: { computer: object(computerProperties), policyId: id, successful: bool },
  ComputerPushCapabilityChanged: computerProperties,
  DeviceAddedToDEP: {
    assetTag: str,
    description: str,
    deviceAssignedDate: epoch,
    deviceEnrollmentProgramInstanceId: id,
    model: str,
    serialNumber: indicator('serial'),
  },
  // Jamf documents the event but not its payload: any object is accepted.
  DeviceRateLimited: {},
  JSSShutdown: jssLifecycle,
  JSSStartup: jssLifecycle,
  MobileDeviceCheckIn: mobileDeviceProperties,
  MobileDeviceCommandCompleted: mobileDeviceProperties,
  MobileDeviceEnrolled: mobileDeviceProperties,
  MobileDeviceInventoryCompleted: mobileDeviceProperties,
  MobileDevicePushSent: mobileDeviceProperties,
  MobileDeviceUnEnrolled: mobileDeviceProperties,
  PatchSoftwareTitleUpdated: {
    jssID: id,
    lastUpdate: epoch,
    latestVersion: str,
    name: str,
    reportUrls: listOf(str),
  },
  PushSent: { managementId: id, type: str },
  RestAPIOperation: {
    authorizedUsername: indicator('username'),
    objectID: id,
    objectName: str,
    objectTypeName: str,
    operationSuccessful: bool,
    restAPIOperationType: str,
  },
  SCEPChallenge: {
    scepServerUrl: str,
    payloadIdentifier: str,
    payloadTypes: listOf(str),
    targetDevice: object(mobileDeviceProperties),
    targetUser: object({
      buildingId: id,
      departmentId: id,
      dn: str,
      email: indicator('email'),
      password: str,
      phone: str,
      position: str,
      realname: str,
      room: str,
      uid: str,
      username: indicator('username'),
      uuid: str,
    }),
  },
  SmartGroupComputerMembershipChange: smartGroup(computerProperties),
  SmartGroupMobileDeviceMembershipChange: smartGroup(mobileDeviceProperties),
  SmartGroupUserMembershipChange: {
    groupAddedUserIds: listOf(id),
    groupRemovedUserIds: listOf(id),
    jssid: id,
    name: str,
    smartGroup: bool,
  },
};

/** Largest epoch value a JavaScript Date holds, in milliseconds. */
const maxEpochMs = 8.64e15;

function webhookObject(webhookEvent: Schema): Schema {
  return {
    type: 'object',
    required: ['webhookEvent', 'eventTimestamp'],
    properties: {
      id,
      name: str,
      webhookEvent,
      eventTimestamp: {
        description: 'Epoch milliseconds; 10-digit values are seconds. A string of digits is accepted.',
        anyOf: [
          { type: 'number', minimum: 0, maximum: maxEpochMs },
          { type: 'string', pattern: '^[0-9]{1,16}$' },
        ],
      },
    },
    additionalProperties: true,
  };
}

const schemaBase = 'https://orchard.dev/schemas/jamf-pro-webhooks/';

/** The envelope every webhook has: what an event of a type Orchard does not know yet must satisfy. */
export function envelopeSchema(): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${schemaBase}envelope.json`,
    title: 'Jamf Pro webhook envelope',
    type: 'object',
    required: ['webhook', 'event'],
    properties: {
      webhook: webhookObject({ type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' }),
      event: { type: 'object' },
    },
    additionalProperties: true,
  };
}

export function eventSchema(name: WebhookEventName): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${schemaBase}${name}.json`,
    title: `Jamf Pro webhook ${name}`,
    type: 'object',
    required: ['webhook', 'event'],
    properties: {
      webhook: webhookObject({ const: name }),
      event: { type: 'object', properties: eventProperties[name], additionalProperties: true },
    },
    additionalProperties: true,
  };
}

/** File name (without .json) → schema, for every file under schemas/jamf-pro-webhooks/. */
export function allWebhookSchemas(): Map<string, Schema> {
  const out = new Map<string, Schema>([['envelope', envelopeSchema()]]);
  for (const name of webhookEventNames) out.set(name, eventSchema(name));
  return out;
}
