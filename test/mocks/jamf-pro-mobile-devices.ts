/**
 * The mobile devices of the mock Jamf Pro: `GET /api/v2/mobile-devices/detail`, built to Jamf's own
 * OpenAPI document (deploymenttheory/go-sdk-jamfpro-v2: openapi-specs/11.30.1-t1784555528405/api-schema.json,
 * paths["/v2/mobile-devices/detail"] and MobileDeviceResponse): `{totalCount, results}` whose items are
 * discriminated by `deviceType` (iOS, tvOS, watchOS, visionOS), id `mobileDeviceId` (a string), the
 * udid in `general.udid`, sections as requested (GENERAL when none), unrequested ones null, flat sort
 * names (`mobileDeviceId:asc`; default `displayName:asc`), `exception-handling` STRICT or LENIENT
 * (from Jamf Pro 11.29), `page-size` clamped silently like every list.
 */
import { jamfDate, mulberry32 } from './jamf-pro-server.ts';

export const MOBILE_SECTIONS = [
  ['GENERAL', 'general'],
  ['HARDWARE', 'hardware'],
  ['USER_AND_LOCATION', 'userAndLocation'],
  ['PURCHASING', 'purchasing'],
  ['SECURITY', 'security'],
  ['APPLICATIONS', 'applications'],
  ['EBOOKS', 'ebooks'],
  ['NETWORK', 'network'],
  ['SERVICE_SUBSCRIPTIONS', 'serviceSubscriptions'],
  ['CERTIFICATES', 'certificates'],
  ['PROFILES', 'profiles'],
  ['USER_PROFILES', 'userProfiles'],
  ['PROVISIONING_PROFILES', 'provisioningProfiles'],
  ['SHARED_USERS', 'sharedUsers'],
  ['GROUPS', 'groups'],
  ['EXTENSION_ATTRIBUTES', 'extensionAttributes'],
] as const;

const MODELS = [
  { deviceType: 'iOS', model: 'iPhone 15', modelIdentifier: 'iPhone15,4', modelNumber: 'MTLE3LL/A' },
  { deviceType: 'iOS', model: 'iPad Pro (11-inch) (4th generation)', modelIdentifier: 'iPad14,3', modelNumber: 'MNXD3LL/A' },
  { deviceType: 'iOS', model: 'iPad (10th generation)', modelIdentifier: 'iPad13,18', modelNumber: 'MPQ03LL/A' },
  { deviceType: 'tvOS', model: 'Apple TV 4K (3rd generation)', modelIdentifier: 'AppleTV14,1', modelNumber: 'MN873LL/A' },
] as const;
const NAMES = ['Ana', 'Björn', 'Chloé', 'José', 'Mei', 'Priya', 'Sven', 'Zoë'];

export interface MobileDevice {
  idNum: number;
  id: string;
  seed: number;
  inventoryMs: number;
  /** Gone from the list (removed from Jamf Pro). */
  removed?: boolean;
}

const BASE_MS = Date.UTC(2026, 2, 3, 9, 15, 2, 480);
const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const mac = (r: () => number) => Array.from({ length: 6 }, () => hex(r, 2)).join(':');

/** One device as Jamf Pro answers it, with `mask` (a bit per MOBILE_SECTIONS entry) filled and the rest null. */
export function mobileDeviceJson(d: MobileDevice, mask: number): Record<string, unknown> {
  const r = mulberry32(d.seed);
  const m = MODELS[d.idNum % 7 === 0 ? 3 : Math.floor(r() * 3)]!;
  const first = NAMES[Math.floor(r() * NAMES.length)]!;
  const username = `${first.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()}.${d.idNum}`;
  const tv = m.deviceType === 'tvOS';
  const udid = tv ? hex(r, 40) : `0000${hex(r, 4).toUpperCase()}-${hex(r, 16).toUpperCase()}`;
  const sections: Record<string, unknown> = {
    general: {
      udid,
      displayName: tv ? `Lobby TV ${d.idNum}` : `${first}’s ${m.model.split(' (')[0]}`,
      assetTag: null,
      lastInventoryUpdateDate: jamfDate(d.inventoryMs),
      lastContactDate: jamfDate(d.inventoryMs + 60_000),
      lastEnrolledDate: jamfDate(d.inventoryMs - 90 * 86_400_000),
      ipAddress: `10.${d.idNum % 250}.${Math.floor(r() * 250)}.${2 + Math.floor(r() * 250)}`,
      osVersion: tv ? '18.1' : '18.1.1',
      osBuild: tv ? '22J580' : '22B91',
      managementId: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`,
      managed: true,
      supervised: r() < 0.8,
    },
    hardware: { serialNumber: `F${hex(r, 10).toUpperCase()}`, wifiMacAddress: mac(r), bluetoothMacAddress: mac(r), model: m.model, modelIdentifier: m.modelIdentifier, modelNumber: m.modelNumber },
    userAndLocation: tv ? { username: null, realName: null, emailAddress: null } : { username, realName: `${first} ${d.idNum}`, emailAddress: `${username}@acme.example` },
    purchasing: { purchased: true, leased: false },
    security: { dataProtected: true, passcodePresent: !tv },
    applications: [],
    ebooks: [],
    // tvOS and watchOS answers carry no network section at all (MobileDeviceTvOsInventory).
    network: tv ? undefined : { cellularTechnology: 'GSM', imei: null, iccid: null, phoneNumber: null },
    serviceSubscriptions: [],
    certificates: [],
    profiles: [],
    userProfiles: [],
    provisioningProfiles: [],
    sharedUsers: [],
    groups: [],
    extensionAttributes: [],
  };
  const out: Record<string, unknown> = { mobileDeviceId: d.id, deviceType: m.deviceType };
  MOBILE_SECTIONS.forEach(([, key], i) => {
    if (tv && key === 'network') return;
    out[key] = mask & (1 << i) ? sections[key] : null;
  });
  return out;
}

const SORTS: Record<string, (d: MobileDevice) => number | string> = {
  mobileDeviceId: (d) => d.idNum,
  displayName: (d) => String((mobileDeviceJson(d, 1).general as { displayName: string }).displayName).toLowerCase(),
  lastInventoryUpdateDate: (d) => d.inventoryMs,
};

/** A page of the list: `{status, body}`, 400 with Jamf's INVALID_FIELD for a bad parameter. */
export function mobileDevicesPage(devices: readonly MobileDevice[], q: URLSearchParams, options: { clampPageSize: number; ignorePage: boolean }): { status: number; body: string } {
  const invalid = (field: string, description: string) => ({ status: 400, body: JSON.stringify({ httpStatus: 400, errors: [{ code: 'INVALID_FIELD', field, description, id: '0' }] }) });
  let mask = 0;
  for (const name of q.getAll('section').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const i = MOBILE_SECTIONS.findIndex(([n]) => n === name);
    if (i < 0) return invalid('section', `Invalid section: ${name}.`);
    mask |= 1 << i;
  }
  if (mask === 0) mask = 1;
  const handling = q.get('exception-handling');
  if (handling !== null && handling !== 'STRICT' && handling !== 'LENIENT') return invalid('exception-handling', `Invalid exception-handling: ${handling}.`);
  const page = q.get('page') === null ? 0 : Number(q.get('page'));
  const asked = q.get('page-size') === null ? 100 : Number(q.get('page-size'));
  if (!Number.isInteger(page) || page < 0) return invalid('page', 'page must be a non-negative integer.');
  if (!Number.isInteger(asked) || asked < 1) return invalid('page-size', 'page-size must be a positive integer.');
  const size = Math.min(asked, options.clampPageSize);
  const [field = 'displayName', direction = 'asc'] = (q.get('sort') ?? 'displayName:asc').split(':');
  const key = SORTS[field];
  if (!key) return invalid('sort', `Invalid sort criteria: ${field}.`);
  const sign = direction === 'desc' ? -1 : 1;
  const sorted = devices.filter((d) => !d.removed).sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x === y ? a.idNum - b.idNum : (x < y ? -1 : 1) * sign;
  });
  const start = (options.ignorePage ? 0 : page) * size;
  const results = sorted.slice(start, start + size).map((d) => mobileDeviceJson(d, mask));
  return { status: 200, body: JSON.stringify({ totalCount: sorted.length, results }) };
}

export function generateMobileDevice(idNum: number, inventoryMs?: number): MobileDevice {
  const seed = Math.imul(idNum, 0x27d4eb2d) ^ 0x0b11e;
  const r = mulberry32(seed ^ 0x55);
  return { idNum, id: String(idNum), seed, inventoryMs: inventoryMs ?? BASE_MS - Math.floor(r() * 20 * 86_400_000) };
}
