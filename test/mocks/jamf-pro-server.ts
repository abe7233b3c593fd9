/**
 * A mock of the Jamf Pro API (OAuth client credentials + computer inventory) on a real `node:http`
 * server, for the pull connector's integration tests, `npm run demo` and the benchmarks.
 *
 * Faithful where the vendor is known (see /work/shared/VENDOR-APIS.md and the Elastic fixtures in
 * test/fixtures/jamf_pro/inventory/): the 24 camelCase section keys in Jamf's order, unrequested
 * sections `null`, GENERAL as the default section, `general.name:asc` as the default sort, page
 * numbers from 0, `reportDate` printed without trailing zeros in the fraction (`.692Z`, `.69Z`,
 * rarely `.6Z`), Jamf-shaped error bodies. The fleet is generated deterministically from the ids;
 * sections are built once per computer and kept as JSON strings, so a page is a slice and a join.
 */
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { MockVendorServer } from './mock-http.ts';
import { ClassicWebhooks, statusPage, WEBHOOK_PRIVILEGES } from './jamf-pro-classic-webhooks.ts';
import { generateMobileDevice, mobileDevicesPage, type MobileDevice } from './jamf-pro-mobile-devices.ts';

/** An API version's Deprecation and Sunset headers as the mock sends them (null: none). */
export interface MockDeprecation {
  deprecation?: string;
  sunset?: string;
  link?: string;
}

/**
 * Deprecation of each computers-inventory version, from the dates Jamf's OpenAPI document gives
 * (`x-deprecation-date`: v1 2025-06-30, v2 2025-11-06, v3 2026-07-14 from 11.30.0), sent as RFC 9745
 * `@<unix seconds>`. Whether Jamf Pro sends the header at all is not documented; the mock does, so
 * Orchard's handling is exercised.
 */
export const JAMF_DEPRECATIONS: Record<1 | 2 | 3 | 4, MockDeprecation | null> = {
  1: { deprecation: `@${Date.UTC(2025, 5, 30) / 1000}` },
  2: { deprecation: `@${Date.UTC(2025, 10, 6) / 1000}` },
  3: { deprecation: `@${Date.UTC(2026, 6, 14) / 1000}` },
  4: null,
};

export interface MockJamfProOptions {
  /** Fleet size; ids are "1".."N". Default 25. */
  computers?: number;
  /** Default 'orchard-test-client'. */
  clientId?: string;
  /** Default 'orchard-test-secret'. */
  clientSecret?: string;
  /** `expires_in` of issued tokens; tokens stop working after it. Default 599. */
  tokenTtlSeconds?: number;
  /** Added to every inventory response (including 401s and faults). Default 0. */
  latencyMs?: number;
  /** A larger `page-size` is clamped to this, silently, as Jamf Pro does (totalCount unchanged). Default 2000. */
  clampPageSize?: number;
  /** What GET /api/v1/jamf-pro-version answers (null: 404). Default '11.30.1-t1784555528405'; v4 exists from 11.30.0, v3's Deprecation from 11.30.0. */
  jamfProVersion?: string | null;
  /** computers-inventory versions this server no longer serves (404). */
  removedApiVersions?: number[];
  /** Deprecation/Sunset headers per computers-inventory version (default JAMF_DEPRECATIONS, v3's only from 11.30). */
  apiDeprecations?: Partial<Record<1 | 2 | 3 | 4, MockDeprecation | null>>;
  /** A broken server that answers page 0 whatever page is asked (a self-contradicting answer). */
  ignorePage?: boolean;
  /** Mobile devices; ids "1".."N". Default 10. */
  mobileDevices?: number;
  /** The API client's privileges (Classic webhooks check them). Default: all four webhook privileges. */
  privileges?: string[];
  /** Ids (1-based, the same numbers as the ids "1".."N") of computers whose `general.reportDate` is null. */
  withoutReportDate?: number[];
}

export interface MockFault {
  /** Answer this status with a Jamf-shaped JSON error body (or `body`). */
  status?: number;
  /** `Retry-After` header: seconds ('1') or an HTTP date. */
  retryAfter?: string;
  /** Response body instead of the Jamf-shaped one (content type guessed: `<` → text/html, else JSON). */
  body?: string;
  /** Content type of `body`. */
  contentType?: string;
  /** Destroy the socket (TCP RST) without answering. */
  reset?: boolean;
  /** Delay the answer (normal or faulty) by this much. */
  delayMs?: number;
}

export type MockJamfProRoute = 'token' | 'inventory' | 'version' | 'mobile' | 'webhooks' | 'other';

export interface MockJamfProRequest {
  route: MockJamfProRoute;
  method: string;
  path: string;
  query: Record<string, string[]>;
  /** Status answered; 0 while pending or when the socket was reset. */
  status: number;
  /** inventory: a valid bearer token was sent; token: the client credentials were right. */
  authorized: boolean;
  /** Date.now() when the request arrived. */
  at: number;
  /** inventory: the computers-inventory version asked for. */
  apiVersion?: number;
}

/** Section parameter → key in a record, in the order Jamf serializes them (fixture test-inventory.json). */
const SECTIONS = [
  ['GENERAL', 'general'],
  ['DISK_ENCRYPTION', 'diskEncryption'],
  ['LOCAL_USER_ACCOUNTS', 'localUserAccounts'],
  ['PURCHASING', 'purchasing'],
  ['PRINTERS', 'printers'],
  ['STORAGE', 'storage'],
  ['APPLICATIONS', 'applications'],
  ['USER_AND_LOCATION', 'userAndLocation'],
  ['CONFIGURATION_PROFILES', 'configurationProfiles'],
  ['SERVICES', 'services'],
  ['PLUGINS', 'plugins'],
  ['HARDWARE', 'hardware'],
  ['CERTIFICATES', 'certificates'],
  ['ATTACHMENTS', 'attachments'],
  ['PACKAGE_RECEIPTS', 'packageReceipts'],
  ['FONTS', 'fonts'],
  ['SECURITY', 'security'],
  ['OPERATING_SYSTEM', 'operatingSystem'],
  ['LICENSED_SOFTWARE', 'licensedSoftware'],
  ['SOFTWARE_UPDATES', 'softwareUpdates'],
  ['GROUP_MEMBERSHIPS', 'groupMemberships'],
  ['EXTENSION_ATTRIBUTES', 'extensionAttributes'],
  ['CONTENT_CACHING', 'contentCaching'],
  ['IBEACONS', 'ibeacons'],
] as const;
const SECTION_BIT = new Map<string, number>(SECTIONS.map(([name], i) => [name, 1 << i]));
const ALL_SECTIONS = (1 << SECTIONS.length) - 1;
const GENERAL = 0;

const TOKEN_PATH = '/api/oauth/token';
const INVENTORY_PATH = /^\/api\/v([1-4])\/computers-inventory$/;
const VERSION_PATH = '/api/v1/jamf-pro-version';
const MOBILE_PATH = '/api/v2/mobile-devices/detail';
const WEBHOOKS_PATH = /^\/JSSResource\/webhooks(\/.*)?$/;
/** Sections ComputerSectionV2…V4 no longer have. */
const V1_ONLY = new Set(['PLUGINS', 'FONTS']);
const V1_ONLY_MASK = SECTION_BIT_OF('PLUGINS') | SECTION_BIT_OF('FONTS');
function SECTION_BIT_OF(name: string): number {
  return 1 << SECTIONS.findIndex(([n]) => n === name);
}
const JSON_TYPE = 'application/json;charset=UTF-8';

/** Newest report date of the generated fleet; older reports spread over the 30 days before it. */
const FLEET_BASE_MS = Date.UTC(2024, 10, 22, 16, 54, 37, 692);
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Deterministic data

type Rng = () => number;

/** A small deterministic PRNG (mulberry32): the same seed gives the same fleet, or the same test run. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (r: Rng, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const chance = (r: Rng, p: number) => r() < p;
function sample<T>(r: Rng, xs: readonly T[], n: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(r() * pool.length), 1)[0] as T);
  return out;
}
const hex = (r: Rng, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
function uuid(r: Rng, version: 4 | 5): string {
  const variant = (8 + Math.floor(r() * 4)).toString(16);
  return `${hex(r, 8)}-${hex(r, 4)}-${version}${hex(r, 3)}-${variant}${hex(r, 3)}-${hex(r, 12)}`;
}

/** Jamf prints report dates with the fraction's trailing zeros dropped: `.692Z`, `.69Z`, `.6Z`, none. */
export function jamfDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

interface MacModel {
  model: string;
  modelIdentifier: string;
  processorType: string;
  processorSpeedMhz: number;
  coreCount: number;
  ramGb: number;
  appleSilicon: boolean;
  laptop: boolean;
  softwareUpdateDeviceId: string;
  bootRom: string;
  minMajor: number;
}
const MODELS: readonly MacModel[] = [
  { model: 'MacBook Pro (14-inch, 2023)', modelIdentifier: 'Mac14,9', processorType: 'Apple M2 Pro', processorSpeedMhz: 3480, coreCount: 10, ramGb: 16, appleSilicon: true, laptop: true, softwareUpdateDeviceId: 'J414sAP', bootRom: '11881.41.5', minMajor: 13 },
  { model: 'MacBook Air (M2, 2022)', modelIdentifier: 'Mac14,2', processorType: 'Apple M2', processorSpeedMhz: 3490, coreCount: 8, ramGb: 8, appleSilicon: true, laptop: true, softwareUpdateDeviceId: 'J413AP', bootRom: '11881.41.5', minMajor: 13 },
  { model: 'MacBook Air (15-inch, M3, 2024)', modelIdentifier: 'Mac15,13', processorType: 'Apple M3', processorSpeedMhz: 4050, coreCount: 8, ramGb: 16, appleSilicon: true, laptop: true, softwareUpdateDeviceId: 'J515AP', bootRom: '11881.41.5', minMajor: 14 },
  { model: 'MacBook Pro (16-inch, Nov 2023)', modelIdentifier: 'Mac15,8', processorType: 'Apple M3 Max', processorSpeedMhz: 4050, coreCount: 16, ramGb: 48, appleSilicon: true, laptop: true, softwareUpdateDeviceId: 'J516cAP', bootRom: '11881.41.5', minMajor: 14 },
  { model: 'Mac mini (2023)', modelIdentifier: 'Mac14,3', processorType: 'Apple M2', processorSpeedMhz: 3490, coreCount: 8, ramGb: 16, appleSilicon: true, laptop: false, softwareUpdateDeviceId: 'J473AP', bootRom: '11881.41.5', minMajor: 13 },
  { model: 'iMac (24-inch, 2023)', modelIdentifier: 'Mac15,4', processorType: 'Apple M3', processorSpeedMhz: 4050, coreCount: 8, ramGb: 16, appleSilicon: true, laptop: false, softwareUpdateDeviceId: 'J433AP', bootRom: '11881.41.5', minMajor: 14 },
  { model: 'Mac Studio (2023)', modelIdentifier: 'Mac14,13', processorType: 'Apple M2 Max', processorSpeedMhz: 3490, coreCount: 12, ramGb: 32, appleSilicon: true, laptop: false, softwareUpdateDeviceId: 'J475cAP', bootRom: '11881.41.5', minMajor: 13 },
  { model: 'MacBook Pro (13-inch, 2020, Four Thunderbolt 3 ports)', modelIdentifier: 'MacBookPro16,2', processorType: 'Quad-Core Intel Core i5', processorSpeedMhz: 2000, coreCount: 4, ramGb: 16, appleSilicon: false, laptop: true, softwareUpdateDeviceId: 'J213AP', bootRom: '2069.0.0.0.0 (iBridge: 22.16.10353.0.0,0)', minMajor: 13 },
  { model: 'MacBook Pro (16-inch, 2019)', modelIdentifier: 'MacBookPro16,1', processorType: '8-Core Intel Core i9', processorSpeedMhz: 2300, coreCount: 8, ramGb: 32, appleSilicon: false, laptop: true, softwareUpdateDeviceId: 'J152FAP', bootRom: '2069.0.0.0.0 (iBridge: 22.16.10353.0.0,0)', minMajor: 13 },
  { model: 'iMac (Retina 5K, 27-inch, 2020)', modelIdentifier: 'iMac20,1', processorType: '6-Core Intel Core i5', processorSpeedMhz: 3100, coreCount: 6, ramGb: 32, appleSilicon: false, laptop: false, softwareUpdateDeviceId: 'J185AP', bootRom: '2069.0.0.0.0 (iBridge: 22.16.10353.0.0,0)', minMajor: 13 },
];

interface OsRelease {
  version: string;
  build: string;
  major: number;
  marketing: string;
}
const OS_RELEASES: readonly OsRelease[] = [
  { version: '13.6.7', build: '22G720', major: 13, marketing: 'Ventura' },
  { version: '14.4.1', build: '23E224', major: 14, marketing: 'Sonoma' },
  { version: '14.5', build: '23F79', major: 14, marketing: 'Sonoma' },
  { version: '14.6.1', build: '23G93', major: 14, marketing: 'Sonoma' },
  { version: '15.0.1', build: '24A348', major: 15, marketing: 'Sequoia' },
  { version: '15.1', build: '24B83', major: 15, marketing: 'Sequoia' },
  { version: '15.1.1', build: '24B91', major: 15, marketing: 'Sequoia' },
];
const LATEST_BY_MAJOR = new Map<number, OsRelease>(OS_RELEASES.map((r) => [r.major, r]));

const FIRST_NAMES = ['Jane', 'John', 'Zoë', 'José', 'Björn', 'Aiko', 'Priya', 'Mohammed', 'Chloé', 'Liam', 'Olivia', 'Noah', 'Mei', 'Sven', 'Fatima', 'Lucas', 'Ana', 'Kwame', 'Ingrid', 'Rahul'];
const LAST_NAMES = ['Doe', 'Smith', 'Müller', 'García', 'Nguyen', 'O’Brien', 'Kowalski', 'Tanaka', 'Okafor', 'Rossi', 'Larsen', 'Dubois', 'Silva', 'Khan', 'Johansson', 'Chen'];
const POSITIONS = ['Engineer', 'Designer', 'Contractor', 'Account Executive', 'Finance Analyst', 'IT Administrator', 'Product Manager', 'Support Specialist'];
const SITES = [{ id: '-1', name: 'None' }, { id: '-1', name: 'None' }, { id: '1', name: 'Headquarters' }, { id: '2', name: 'Berlin Office' }];
const PUBLIC_PREFIXES = ['89.160.20.', '81.2.69.', '216.160.83.', '175.16.199.', '203.0.113.', '198.51.100.'];
const APPLE_OUIS = ['A4:83:E7', '3C:22:FB', 'F0:18:98', '8C:85:90', '14:7D:DA', 'BC:D0:74', '5C:E9:1E'];
const SERIAL_CHARS = [...'0123456789ABCDEFGHJKLMNPQRSTUVWXYZ'];
const JAMF_BINARIES = ['11.4.1-t1712591696', '11.6.1-t1718635498', '11.9.1-t1726156410', '11.10.2-t1730384624'];

const APPS = [
  ['Slack.app', '/Applications/Slack.app', '4.38.125', false, 451, 'com.tinyspeck.slackmacgap'],
  ['Google Chrome.app', '/Applications/Google Chrome.app', '131.0.6778.86', false, 1236, 'com.google.Chrome'],
  ['Microsoft Outlook.app', '/Applications/Microsoft Outlook.app', '16.91', false, 2174, 'com.microsoft.Outlook'],
  ['Microsoft Teams.app', '/Applications/Microsoft Teams.app', '24295.606.3238.6194', false, 635, 'com.microsoft.teams2'],
  ['zoom.us.app', '/Applications/zoom.us.app', '6.2.11 (43613)', false, 341, 'us.zoom.xos'],
  ['Self Service.app', '/Applications/Self Service.app', '11.10.2', false, 57, 'com.jamfsoftware.selfservice.mac'],
  ['Jamf Connect.app', '/Applications/Jamf Connect.app', '2.39.0', false, 49, 'com.jamf.connect'],
  ['Xcode.app', '/Applications/Xcode.app', '16.1', true, 11930, 'com.apple.dt.Xcode'],
  ['Keynote.app', '/Applications/Keynote.app', '14.2', true, 715, 'com.apple.iWork.Keynote'],
  ['1Password.app', '/Applications/1Password.app', '8.10.50', false, 398, 'com.1password.1password'],
  ['Visual Studio Code.app', '/Applications/Visual Studio Code.app', '1.95.3', false, 612, 'com.microsoft.VSCode'],
  ['Firefox.app', '/Applications/Firefox.app', '132.0.2', false, 402, 'org.mozilla.firefox'],
  ['Docker.app', '/Applications/Docker.app', '4.36.0', false, 2210, 'com.docker.docker'],
  ['Safari.app', '/Applications/Safari.app', '18.1.1', false, 14, 'com.apple.Safari'],
  ['Siri.app', '/System/Applications/Siri.app', '1.0', false, 3, 'com.apple.Siri'],
] as const;
const PROFILES = [
  ['Jamf Pro MDM Profile', '00000000-0000-0000-A000-4A414D460003'],
  ['FileVault 2', 'com.acme.filevault'],
  ['Wi-Fi - ACME Corp', 'com.acme.wifi'],
  ['Privacy Preferences - Jamf Protect', 'com.jamf.protect.pppc'],
  ['Software Update Deferral', 'com.acme.softwareupdate'],
  ['Login Window', 'com.acme.loginwindow'],
] as const;
const FONTS = [
  ['Menlo', '7.0d1e1', '/System/Library/Fonts/Menlo.ttc'],
  ['Helvetica', '17.0d1e1', '/System/Library/Fonts/Helvetica.ttc'],
  ['Fira Code', '6.2', '/Library/Fonts/FiraCode-Regular.ttf'],
  ['Inter', '4.0', '/Library/Fonts/Inter.ttc'],
  ['SF Mono', '19.0d1e2', '/Library/Fonts/SF-Mono-Regular.otf'],
] as const;
const SERVICES = ['com.apple.Spotlight', 'com.apple.screensharing', 'com.jamf.management.daemon', 'com.jamf.protect.daemon', 'com.microsoft.autoupdate.helper', 'com.openssh.sshd'];
const PACKAGES_JAMF = ['Jamf Connect-2.39.0.pkg', 'JamfProtect-6.1.0.pkg', 'Microsoft_Office_16.91.pkg', 'Slack-4.38.125.pkg', 'Zoom-6.2.11.pkg'];
const PACKAGES_SWU = ['com.apple.pkg.XProtectPayloads_10_15.16U4316', 'com.apple.pkg.MRTConfigData_10_15.16U4211', 'com.apple.pkg.RosettaUpdateAuto', 'com.apple.pkg.CLTools_Executables'];

/** What a computer is, drawn once from its id; the sections are views of it. */
interface Computer {
  idNum: number;
  id: string;
  udid: string;
  seed: number;
  name: string;
  nameLower: string;
  serialNumber: string;
  managementId: string;
  model: MacModel;
  os: OsRelease;
  first: string;
  username: string;
  realname: string;
  email: string;
  position: string;
  lastIpAddress: string;
  lastReportedIp: string;
  macAddress: string;
  altMacAddress: string | null;
  reportMs: number | null;
  reportDate: string | null;
  contactMs: number;
  lastContactTime: string;
  enrolledMs: number;
  managed: boolean;
  supervised: boolean;
  ade: boolean;
  fileVault: boolean;
  site: { id: string; name: string };
  /** JSON of each section, built on first use. */
  sectionJson: Array<string | undefined>;
  /** JSON of the whole record by section mask. */
  projections: Map<number, string>;
}

function asciiName(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');
}

function newSerial(r: Rng, model: MacModel, taken: Set<string>): string {
  for (;;) {
    const serial = model.appleSilicon
      ? Array.from({ length: 10 }, () => pick(r, SERIAL_CHARS)).join('')
      : pick(r, ['C02', 'C07', 'FVF', 'C1M']) + Array.from({ length: 9 }, () => pick(r, SERIAL_CHARS)).join('');
    if (!taken.has(serial)) {
      taken.add(serial);
      return serial;
    }
  }
}

function generateComputer(idNum: number, reportMs: number | null, taken: Set<string>): Computer {
  const seed = Math.imul(idNum, 2654435761) ^ 0x5eed1e55;
  const r = mulberry32(seed);
  const model = pick(r, MODELS);
  const os = pick(r, OS_RELEASES.filter((o) => o.major >= model.minMajor));
  const first = pick(r, FIRST_NAMES);
  const last = pick(r, LAST_NAMES);
  const username = `${asciiName(first)}.${asciiName(last)}`;
  const serialNumber = newSerial(r, model, taken);
  const short = model.model.slice(0, model.model.indexOf(' ('));
  const namePattern = idNum % 3;
  const name = namePattern === 0 ? `${first}’s ${short}` : namePattern === 1 ? `acme-${serialNumber}` : `${username}-${short.toLowerCase().replace(/[^a-z]+/g, '')}`;
  const publicIp = pick(r, PUBLIC_PREFIXES) + int(r, 1, 254);
  const lastReportedIp = chance(r, 0.25) ? publicIp : chance(r, 0.6) ? `10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 2, 254)}` : `192.168.${int(r, 0, 10)}.${int(r, 2, 254)}`;
  const mac = () => `${pick(r, APPLE_OUIS)}:${Array.from({ length: 3 }, () => hex(r, 2).toUpperCase()).join(':')}`;
  const macAddress = mac();
  const altMacAddress = chance(r, 0.8) ? mac() : null;
  const drawnReportMs = FLEET_BASE_MS - Math.floor(r() * 30 * DAY_MS);
  let ms = reportMs ?? drawnReportMs;
  // Every third computer reports at a whole hundredth of a second: Jamf prints it with 2 digits.
  if (reportMs === null && idNum % 3 === 0) ms -= ms % 10;
  const contactMs = ms + Math.floor(r() * 1.5 * DAY_MS);
  const enrolledMs = ms - int(r, 20, 700) * DAY_MS - Math.floor(r() * DAY_MS);
  const ade = chance(r, 0.65);
  return {
    idNum,
    id: String(idNum),
    udid: uuid(r, 5).toUpperCase(),
    seed,
    name,
    nameLower: name.toLowerCase(),
    serialNumber,
    managementId: uuid(r, 4),
    model,
    os,
    first,
    username,
    realname: `${first} ${last}`,
    email: `${username}@acme.example`,
    position: pick(r, POSITIONS),
    lastIpAddress: publicIp,
    lastReportedIp,
    macAddress,
    altMacAddress,
    reportMs: ms,
    reportDate: jamfDate(ms),
    contactMs,
    lastContactTime: jamfDate(contactMs),
    enrolledMs,
    managed: chance(r, 0.95),
    supervised: ade,
    ade,
    fileVault: chance(r, 0.85),
    site: pick(r, SITES),
    sectionJson: new Array<string | undefined>(SECTIONS.length),
    projections: new Map(),
  };
}

function buildSection(c: Computer, index: number): unknown {
  const r = mulberry32(c.seed ^ Math.imul(index + 1, 0x9e3779b9));
  const m = c.model;
  const fv = c.fileVault ? 'ENCRYPTED' : 'UNENCRYPTED';
  const diskMb = pick(r, [256, 512, 1024, 2048]) * 1000;
  switch (SECTIONS[index]![1]) {
    case 'general':
      return {
        name: c.name,
        lastReportedIp: c.lastReportedIp,
        lastIpAddress: c.lastIpAddress,
        jamfBinaryVersion: pick(r, JAMF_BINARIES),
        platform: 'Mac',
        barcode1: c.idNum % 7 === 0 ? 'null' : null,
        barcode2: null,
        assetTag: chance(r, 0.5) ? `ACME-${String(10000 + c.idNum)}` : null,
        remoteManagement: { managed: c.managed },
        supervised: c.supervised,
        mdmCapable: { capable: c.managed, capableUsers: c.managed ? [c.username] : [] },
        reportDate: c.reportDate,
        lastContactTime: c.lastContactTime,
        lastCloudBackupDate: null,
        lastEnrolledDate: jamfDate(c.enrolledMs),
        mdmProfileExpiration: jamfDate(c.enrolledMs + 730 * DAY_MS),
        initialEntryDate: new Date(c.enrolledMs - int(r, 0, 30) * DAY_MS).toISOString().slice(0, 10),
        distributionPoint: null,
        enrollmentMethod: c.ade ? { id: '1', objectName: 'ACME Automated Enrollment', objectType: 'Automated Device Enrollment' } : { id: '2', objectName: 'User-initiated enrollment', objectType: 'User-initiated - no invitation' },
        site: c.site,
        itunesStoreAccountActive: false,
        enrolledViaAutomatedDeviceEnrollment: c.ade,
        userApprovedMdm: c.managed,
        declarativeDeviceManagementEnabled: c.os.major >= 14 && c.managed,
        managementId: c.managementId,
        extensionAttributes: [],
      };
    case 'diskEncryption':
      return {
        individualRecoveryKeyValidityStatus: c.fileVault ? 'VALID' : 'UNKNOWN',
        institutionalRecoveryKeyPresent: false,
        diskEncryptionConfigurationName: c.fileVault ? 'ACME FileVault' : '',
        fileVault2EligibilityMessage: 'Eligible',
        fileVault2EnabledUserNames: c.fileVault ? [c.username] : [],
        bootPartitionEncryptionDetails: { partitionName: 'Macintosh HD (Boot Partition)', partitionFileVault2State: fv, partitionFileVault2Percent: c.fileVault ? 100 : 0 },
      };
    case 'localUserAccounts':
      return [
        { uid: '501', userGuid: uuid(r, 4).toUpperCase(), username: c.username, fullName: c.realname, admin: chance(r, 0.3), homeDirectory: `/Users/${c.username}`, homeDirectorySizeMb: int(r, 2_000, 180_000), fileVault2Enabled: c.fileVault, userAccountType: 'LOCAL', passwordMinLength: 12, passwordMaxAge: 0, passwordMinComplexCharacters: 0, passwordHistoryDepth: 0, passwordRequireAlphanumeric: true, computerAzureActiveDirectoryId: null, userAzureActiveDirectoryId: null, azureActiveDirectoryId: null },
        { uid: '502', userGuid: uuid(r, 4).toUpperCase(), username: 'jamfadmin', fullName: 'Jamf Admin', admin: true, homeDirectory: '/Users/jamfadmin', homeDirectorySizeMb: int(r, 5, 80), fileVault2Enabled: false, userAccountType: 'LOCAL', passwordMinLength: 12, passwordMaxAge: 0, passwordMinComplexCharacters: 0, passwordHistoryDepth: 0, passwordRequireAlphanumeric: true, computerAzureActiveDirectoryId: null, userAzureActiveDirectoryId: null, azureActiveDirectoryId: null },
      ];
    case 'purchasing': {
      const bought = c.enrolledMs - int(r, 1, 20) * DAY_MS;
      const leased = chance(r, 0.2);
      return {
        purchased: !leased,
        leased,
        poNumber: String(int(r, 1000, 9999)),
        lifeExpectancy: 4,
        purchasePrice: int(r, 999, 3999),
        purchasingAccount: 'acme-purchasingAccount',
        purchasingContact: 'procurement@acme.example',
        appleCareId: chance(r, 0.5) ? String(int(r, 100000000, 999999999)) : '',
        vendor: pick(r, ['Apple', 'CDW', 'Insight']),
        leaseDate: leased ? jamfDate(bought + 3 * 365 * DAY_MS) : null,
        poDate: jamfDate(bought),
        warrantyDate: jamfDate(bought + 3 * 365 * DAY_MS),
        extensionAttributes: [],
      };
    }
    case 'printers':
      return sample(r, ['HP LaserJet 4th Floor', 'Canon iR-ADV Reception', 'Brother HL-L2350DW'], int(r, 0, 2)).map((name) => ({ name, type: 'Generic PostScript Printer', uri: `ipp://${asciiName(name)}.acme.example/ipp/print`, location: name.split(' ').slice(-2).join(' ') }));
    case 'storage': {
      const available = Math.floor(diskMb * (0.1 + r() * 0.8));
      return {
        bootDriveAvailableSpaceMegabytes: available,
        disks: [
          {
            id: String(c.idNum * 10 + 1),
            device: 'disk0',
            model: `APPLE SSD AP${String(diskMb / 1000).padStart(4, '0')}Z`,
            revision: '532.100.',
            serialNumber: hex(r, 16),
            sizeMegabytes: diskMb,
            smartStatus: 'Verified',
            type: 'false',
            partitions: [
              { name: 'Macintosh HD (Boot Partition)', sizeMegabytes: diskMb, availableMegabytes: available, partitionType: 'BOOT', percentUsed: Math.round((100 * (diskMb - available)) / diskMb), fileVault2State: fv, fileVault2ProgressPercent: c.fileVault ? 100 : 0, lvmManaged: false },
            ],
          },
        ],
      };
    }
    case 'applications':
      return sample(r, APPS, int(r, 5, 11))
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([name, path, version, macAppStore, sizeMegabytes, bundleId]) => ({ name, path, version, macAppStore, sizeMegabytes, bundleId, updateAvailable: chance(r, 0.1), externalVersionId: '0' }));
    case 'userAndLocation':
      return {
        username: c.username,
        realname: c.realname,
        email: c.email,
        position: c.position,
        phone: `+1555${String(int(r, 1000000, 9999999))}`,
        departmentId: String(int(r, 1, 6)),
        buildingId: String(int(r, 1, 3)),
        room: String(int(r, 100, 499)),
        extensionAttributes: [],
      };
    case 'configurationProfiles':
      return sample(r, PROFILES, int(r, 2, PROFILES.length)).map(([displayName, profileIdentifier]) => ({
        id: String(int(r, 1, 60)),
        username: '',
        lastInstalled: jamfDate(c.enrolledMs + int(r, 0, 10) * DAY_MS + int(r, 0, 999)),
        removable: false,
        displayName,
        profileIdentifier,
      }));
    case 'services':
      return sample(r, SERVICES, int(r, 2, 5)).map((name) => ({ name }));
    case 'plugins':
      return chance(r, 0.7) ? [] : [{ name: 'AdobePDFViewer.plugin', version: '24.4.0', path: '/Library/Internet Plug-Ins/AdobePDFViewer.plugin' }];
    case 'hardware':
      return {
        make: 'Apple',
        model: m.model,
        modelIdentifier: m.modelIdentifier,
        serialNumber: c.serialNumber,
        processorSpeedMhz: m.processorSpeedMhz,
        processorCount: 1,
        coreCount: m.coreCount,
        processorType: m.processorType,
        processorArchitecture: m.appleSilicon ? 'arm64' : 'x86_64',
        busSpeedMhz: 0,
        cacheSizeKilobytes: m.appleSilicon ? 0 : 8192,
        networkAdapterType: m.laptop ? 'IEEE80211' : 'Ethernet',
        macAddress: c.macAddress,
        altNetworkAdapterType: c.altMacAddress === null ? null : m.laptop ? 'Ethernet' : 'IEEE80211',
        altMacAddress: c.altMacAddress,
        totalRamMegabytes: m.ramGb * 1024,
        openRamSlots: 0,
        batteryCapacityPercent: m.laptop ? int(r, 71, 100) : null,
        smcVersion: m.appleSilicon ? null : '2.37f0',
        nicSpeed: 'n/a',
        opticalDrive: '',
        bootRom: m.bootRom,
        bleCapable: true,
        supportsIosAppInstalls: m.appleSilicon,
        appleSilicon: m.appleSilicon,
        provisioningUdid: m.appleSilicon ? `0000${m.modelIdentifier === 'Mac14,2' ? '8112' : '6020'}-${hex(r, 16).toUpperCase()}` : null,
        extensionAttributes: [],
      };
    case 'certificates':
      return [
        { commonName: c.udid, identity: true, expirationDate: jamfDate(c.enrolledMs + 730 * DAY_MS), username: '', lifecycleStatus: 'ACTIVE', certificateStatus: 'ISSUED', subjectName: `CN=${c.udid}`, serialNumber: hex(r, 16), sha1Fingerprint: hex(r, 40), issuedDate: jamfDate(c.enrolledMs) },
        { commonName: 'ACME Root CA', identity: false, expirationDate: '2034-01-01T00:00:00Z', username: '', lifecycleStatus: 'ACTIVE', certificateStatus: 'ISSUED', subjectName: 'CN=ACME Root CA,O=ACME', serialNumber: '0a1b2c3d', sha1Fingerprint: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3', issuedDate: '2024-01-01T00:00:00Z' },
      ];
    case 'attachments':
      return chance(r, 0.9) ? [] : [{ id: String(c.idNum), name: 'purchase-receipt.pdf', fileType: 'application/pdf', sizeBytes: int(r, 20_000, 400_000) }];
    case 'packageReceipts':
      return { installedByJamfPro: sample(r, PACKAGES_JAMF, int(r, 1, 4)), installedByInstallerSwu: sample(r, PACKAGES_SWU, int(r, 1, 4)), cached: [] };
    case 'fonts':
      return sample(r, FONTS, int(r, 2, 4)).map(([name, version, path]) => ({ name, version, path }));
    case 'security':
      return {
        sipStatus: 'ENABLED',
        gatekeeperStatus: 'APP_STORE_AND_IDENTIFIED_DEVELOPERS',
        xprotectVersion: pick(r, ['2192', '2195', '5279']),
        autoLoginDisabled: true,
        remoteDesktopEnabled: chance(r, 0.1),
        activationLockEnabled: false,
        recoveryLockEnabled: m.appleSilicon && chance(r, 0.4),
        firewallEnabled: chance(r, 0.7),
        secureBootLevel: 'FULL_SECURITY',
        externalBootLevel: m.appleSilicon ? 'NOT_SUPPORTED' : 'DISALLOW_BOOTING_FROM_EXTERNAL_MEDIA',
        bootstrapTokenAllowed: c.managed,
        bootstrapTokenEscrowedStatus: c.managed ? 'ESCROWED' : 'NOT_ESCROWED',
      };
    case 'operatingSystem':
      return {
        name: 'macOS',
        version: c.os.version,
        build: c.os.build,
        supplementalBuildVersion: c.os.build,
        rapidSecurityResponse: null,
        activeDirectoryStatus: 'Not Bound',
        fileVault2Status: c.fileVault ? 'ALL_ENCRYPTED' : 'NOT_ENCRYPTED',
        softwareUpdateDeviceId: m.softwareUpdateDeviceId,
        extensionAttributes: [],
      };
    case 'licensedSoftware':
      return chance(r, 0.6) ? [{ id: '1', name: 'Microsoft 365' }] : [];
    case 'softwareUpdates': {
      const updates = [...LATEST_BY_MAJOR.values()].filter((u) => u.major >= c.os.major && u.version !== c.os.version && u.major >= m.minMajor);
      return updates.map((u) => ({ name: `macOS ${u.marketing} ${u.version}`, packageName: `macOS ${u.marketing} ${u.version}-${u.build}`, version: u.version }));
    }
    case 'groupMemberships': {
      const groups = [{ groupId: '1', groupName: 'All Managed Clients', smartGroup: true }];
      if (c.managed) groups.push({ groupId: '5', groupName: 'All Managed Computers', smartGroup: true });
      if (c.os.version !== '15.1.1') groups.push({ groupId: '4', groupName: 'Computers with updates', smartGroup: true });
      if (!c.fileVault) groups.push({ groupId: '9', groupName: 'FileVault not enabled', smartGroup: true });
      if (chance(r, 0.3)) groups.push({ groupId: '12', groupName: 'Engineering Pilot', smartGroup: false });
      return groups;
    }
    case 'extensionAttributes':
      return [
        { definitionId: '1', name: 'Jamf Protect - Smart Groups', description: '', enabled: true, multiValue: false, values: [chance(r, 0.9) ? 'protect-installed' : ''], dataType: 'STRING', options: [], inputType: 'SCRIPT' },
        { definitionId: '2', name: 'Last Reboot', description: 'Days since the last reboot', enabled: true, multiValue: false, values: [String(int(r, 0, 40))], dataType: 'INTEGER', options: [], inputType: 'SCRIPT' },
      ];
    case 'contentCaching':
      return {
        computerContentCachingInformationId: String(c.idNum),
        parents: [],
        alerts: [],
        activated: false,
        active: false,
        actualCacheBytesUsed: 0,
        cacheDetails: [],
        cacheBytesFree: 0,
        cacheBytesLimit: 0,
        cacheStatus: 'DISABLED',
        cacheBytesUsed: 0,
        dataMigrationCompleted: false,
        dataMigrationProgressPercentage: 0,
        dataMigrationError: null,
        maxCachePressureLast1HourPercentage: 0,
        personalCacheBytesFree: 0,
        personalCacheBytesLimit: 0,
        personalCacheBytesUsed: 0,
        port: 0,
        publicAddress: '',
        registrationError: '',
        registrationResponseCode: 0,
        registrationStarted: null,
        registrationStatus: '',
        restrictedMedia: false,
        serverGuid: '',
        startupStatus: '',
        tetheratorStatus: 'DISABLED',
        totalBytesAreSince: null,
        totalBytesDropped: 0,
        totalBytesImported: 0,
        totalBytesReturnedToChildren: 0,
        totalBytesReturnedToClients: 0,
        totalBytesReturnedToPeers: 0,
        totalBytesStoredFromOrigin: 0,
        totalBytesStoredFromParents: 0,
        totalBytesStoredFromPeers: 0,
      };
    case 'ibeacons':
      return chance(r, 0.95) ? [] : [{ name: 'ACME Lobby Beacon' }];
  }
}

function sectionJson(c: Computer, index: number): string {
  return (c.sectionJson[index] ??= JSON.stringify(buildSection(c, index)));
}

/** v4's general: no lastReportedIp; lastContactTime replaced by lastCheckIn and lastContact (ComputerGeneralV4). */
function generalV4Json(c: Computer): string {
  const { lastReportedIp: _ip, lastContactTime, ...rest } = JSON.parse(sectionJson(c, GENERAL)) as Record<string, unknown>;
  return JSON.stringify({ ...rest, lastCheckIn: lastContactTime, lastContact: lastContactTime });
}

/** A computer as version `version` answers it: v2 and later have no plugins or fonts keys at all. */
function projection(c: Computer, mask: number, version = 1): string {
  const key = mask * 8 + version;
  let s = c.projections.get(key);
  if (s !== undefined) return s;
  s = `{"id":${JSON.stringify(c.id)},"udid":${JSON.stringify(c.udid)}`;
  for (let i = 0; i < SECTIONS.length; i++) {
    if (version > 1 && V1_ONLY_MASK & (1 << i)) continue;
    const json = !(mask & (1 << i)) ? 'null' : i === GENERAL && version >= 4 ? generalV4Json(c) : sectionJson(c, i);
    s += `,"${SECTIONS[i]![1]}":${json}`;
  }
  s += '}';
  c.projections.set(key, s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Sort and RSQL filter

type FieldType = 'id' | 'string' | 'date' | 'boolean';
type FieldValue = number | string | boolean | null;
interface Field {
  type: FieldType;
  get(c: Computer): FieldValue;
}
const FIELDS: Record<string, Field> = {
  id: { type: 'id', get: (c) => c.idNum },
  udid: { type: 'string', get: (c) => c.udid },
  'general.name': { type: 'string', get: (c) => c.name },
  'general.platform': { type: 'string', get: () => 'Mac' },
  'general.managementId': { type: 'string', get: (c) => c.managementId },
  'general.reportDate': { type: 'date', get: (c) => c.reportMs },
  'general.lastContactTime': { type: 'date', get: (c) => c.contactMs },
  'general.lastEnrolledDate': { type: 'date', get: (c) => c.enrolledMs },
  'general.remoteManagement.managed': { type: 'boolean', get: (c) => c.managed },
  'general.supervised': { type: 'boolean', get: (c) => c.supervised },
  'hardware.model': { type: 'string', get: (c) => c.model.model },
  'hardware.serialNumber': { type: 'string', get: (c) => c.serialNumber },
  'hardware.macAddress': { type: 'string', get: (c) => c.macAddress },
  'operatingSystem.version': { type: 'string', get: (c) => c.os.version },
  'operatingSystem.build': { type: 'string', get: (c) => c.os.build },
  'userAndLocation.username': { type: 'string', get: (c) => c.username },
  'userAndLocation.realname': { type: 'string', get: (c) => c.realname },
  'userAndLocation.email': { type: 'string', get: (c) => c.email },
};
const SORT_FIELDS = ['id', 'udid', 'general.name', 'general.platform', 'general.reportDate', 'general.lastContactTime', 'general.lastEnrolledDate', 'hardware.model', 'operatingSystem.version', 'operatingSystem.build', 'userAndLocation.realname'];

class QueryError extends Error {
  constructor(
    readonly field: string,
    description: string,
  ) {
    super(description);
  }
}

/** Nulls first ascending, last descending (MySQL); strings case-insensitively (Jamf's collation). */
function compareValues(a: FieldValue, b: FieldValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'string' && typeof b === 'string') {
    const la = a.toLowerCase();
    const lb = b.toLowerCase();
    if (la !== lb) return la < lb ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseSort(specs: string[]): (a: Computer, b: Computer) => number {
  const keys = specs.map((spec) => {
    const [field = '', direction = 'asc', extra] = spec.split(':');
    const def = FIELDS[field];
    if (!def || !SORT_FIELDS.includes(field) || extra !== undefined || (direction !== 'asc' && direction !== 'desc')) {
      throw new QueryError('sort', `Invalid sort criteria: ${spec}. Expected property:asc or property:desc with an allowed property.`);
    }
    return { get: def.get, sign: direction === 'asc' ? 1 : -1 };
  });
  // A stable order for equal keys: id ascending last.
  keys.push({ get: FIELDS.id!.get, sign: 1 });
  return (a, b) => {
    for (const k of keys) {
      const d = compareValues(k.get(a), k.get(b));
      if (d !== 0) return d * k.sign;
    }
    return 0;
  };
}

/** ISO 8601 instant (any number of fraction digits, `Z` or an offset) or a plain date, to ms. */
function parseInstant(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/.exec(s);
  if (!m) return NaN;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone = 'Z'] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +sec, Number(frac.padEnd(3, '0').slice(0, 3)));
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

type Predicate = (c: Computer) => boolean;
const OPS: Record<string, string> = { '==': '==', '!=': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=', '=gt=': '>', '=ge=': '>=', '=lt=': '<', '=le=': '<=', '=in=': 'in', '=out=': 'out' };

/** A small RSQL parser: `;`/`and` = AND, `,`/`or` = OR, parentheses, ==, !=, <, <=, >, >=, =in=, =out=, `*` wildcards. */
function parseFilter(text: string): Predicate {
  let i = 0;
  const fail = (why: string): never => {
    throw new QueryError('filter', `Invalid RSQL filter at position ${i}: ${why}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const keyword = (word: string) => {
    ws();
    if (text.slice(i, i + word.length + 1).toLowerCase() === `${word} ` || text.slice(i, i + word.length + 1).toLowerCase() === `${word}(`) {
      i += word.length;
      return true;
    }
    return false;
  };
  const value = (): string => {
    ws();
    const q = text[i];
    if (q === '"' || q === "'") {
      let out = '';
      i++;
      while (i < text.length && text[i] !== q) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        out += text[i++];
      }
      if (text[i] !== q) fail('unterminated string');
      i++;
      return out;
    }
    const start = i;
    while (i < text.length && !/[\s;,()"'!=<>~]/.test(text[i]!)) i++;
    if (i === start) fail('value expected');
    return text.slice(start, i);
  };
  const comparison = (): Predicate => {
    ws();
    const sel = /^[A-Za-z][A-Za-z0-9_.]*/.exec(text.slice(i));
    if (!sel) fail('field expected');
    const name = sel![0];
    i += name.length;
    const field = FIELDS[name];
    if (!field) throw new QueryError('filter', `Field ${name} is not supported in filter.`);
    ws();
    const opMatch = /^(==|!=|>=|<=|>|<|=[a-z]+=)/.exec(text.slice(i));
    const op = opMatch ? OPS[opMatch[0]] : undefined;
    if (!opMatch || !op) return fail('comparison operator expected');
    i += opMatch[0].length;
    let raw: string[];
    ws();
    if (op === 'in' || op === 'out') {
      if (text[i] !== '(') fail('( expected');
      i++;
      raw = [value()];
      for (ws(); text[i] === ','; ws()) {
        i++;
        raw.push(value());
      }
      if (text[i] !== ')') fail(') expected');
      i++;
    } else raw = [value()];
    return compile(name, field, op, raw);
  };
  const primary = (): Predicate => {
    ws();
    if (text[i] === '(') {
      i++;
      const p = or();
      ws();
      if (text[i] !== ')') fail(') expected');
      i++;
      return p;
    }
    return comparison();
  };
  const and = (): Predicate => {
    const parts = [primary()];
    for (;;) {
      ws();
      if (text[i] === ';') i++;
      else if (!keyword('and')) break;
      parts.push(primary());
    }
    return parts.length === 1 ? parts[0]! : (c) => parts.every((p) => p(c));
  };
  const or = (): Predicate => {
    const parts = [and()];
    for (;;) {
      ws();
      if (text[i] === ',') i++;
      else if (!keyword('or')) break;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : (c) => parts.some((p) => p(c));
  };
  const predicate = or();
  ws();
  if (i < text.length) fail('unexpected input');
  return predicate;
}

function compile(name: string, field: Field, op: string, raw: string[]): Predicate {
  const bad = (v: string): never => {
    throw new QueryError('filter', `Invalid value ${v} for field ${name}.`);
  };
  const values: FieldValue[] = raw.map((v) => {
    switch (field.type) {
      case 'id':
        return /^\d{1,15}$/.test(v) ? Number(v) : bad(v);
      case 'date': {
        const ms = parseInstant(v);
        return Number.isNaN(ms) ? bad(v) : ms;
      }
      case 'boolean':
        return v === 'true' ? true : v === 'false' ? false : bad(v);
      case 'string':
        return v.toLowerCase();
    }
  });
  const get = field.type === 'string' ? (c: Computer) => (field.get(c) as string | null)?.toLowerCase() ?? null : field.get;
  const eq = (got: FieldValue, want: FieldValue) => {
    if (typeof want === 'string' && want.includes('*')) {
      const re = new RegExp(`^${want.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
      return typeof got === 'string' && re.test(got);
    }
    return got === want;
  };
  const want = values[0]!;
  // SQL semantics: a comparison with a null column is never true.
  switch (op) {
    case '==':
      return (c) => eq(get(c), want);
    case '!=':
      return (c) => get(c) !== null && !eq(get(c), want);
    case 'in':
      return (c) => values.some((v) => eq(get(c), v));
    case 'out':
      return (c) => get(c) !== null && !values.some((v) => eq(get(c), v));
    default: {
      const test = { '>': (d: number) => d > 0, '>=': (d: number) => d >= 0, '<': (d: number) => d < 0, '<=': (d: number) => d <= 0 }[op]!;
      return (c) => {
        const got = get(c);
        return got !== null && test(compareValues(got, want));
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Server

const STATUS_TEXT: Record<number, [code: string, description: string]> = {
  400: ['INVALID_FIELD', 'Bad Request'],
  401: ['INVALID_TOKEN', 'Unauthorized'],
  403: ['INVALID_PRIVILEGE', 'Forbidden'],
  404: ['NOT_FOUND', 'Resource not found'],
  405: ['METHOD_NOT_ALLOWED', 'Method not allowed'],
  429: ['TOO_MANY_REQUESTS', 'Too Many Requests'],
  500: ['INTERNAL_SERVER_ERROR', 'Internal Server Error'],
  502: ['BAD_GATEWAY', 'Bad Gateway'],
  503: ['SERVICE_UNAVAILABLE', 'Service Unavailable'],
  504: ['GATEWAY_TIMEOUT', 'Gateway Timeout'],
};

function jamfError(status: number): string {
  if (status === 401) return '{"httpStatus":401,"errors":[]}';
  const [code, description] = STATUS_TEXT[status] ?? ['ERROR', `HTTP ${status}`];
  return JSON.stringify({ httpStatus: status, errors: [{ code, description, id: '0', field: null }] });
}

function invalidField(field: string, description: string): string {
  return JSON.stringify({ httpStatus: 400, errors: [{ code: 'INVALID_FIELD', field, description, id: '0' }] });
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class MockJamfPro extends MockVendorServer<MockJamfProRequest> {
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #ttlSeconds: number;
  readonly #latencyMs: number;
  readonly #clampPageSize: number;
  readonly #version: string | null;
  readonly #removed: Set<number>;
  readonly #deprecations: Record<number, MockDeprecation | null>;
  readonly #ignorePage: boolean;
  readonly #mobile: MobileDevice[] = [];
  #privileges: Set<string>;
  /** The Classic API's webhooks. */
  readonly webhooks = new ClassicWebhooks();
  /** id → computer, in id order of creation. */
  readonly #fleet = new Map<string, Computer>();
  readonly #serials = new Set<string>();
  /** access token → expiry (ms since epoch). */
  readonly #tokens = new Map<string, number>();
  readonly #faults: Record<'token' | 'inventory', MockFault[]> = { token: [], inventory: [] };
  readonly #sorted = new Map<string, Computer[]>();
  /** Where new reports land: after every report date so far, advanced by `touch` and `addComputers`. */
  #clockMs = FLEET_BASE_MS + 2 * DAY_MS;
  readonly #clockRng = mulberry32(0x7a3f11);
  #nextId = 1;

  private constructor(options: MockJamfProOptions) {
    super('MockJamfPro', JSON_TYPE);
    this.#clientId = options.clientId ?? 'orchard-test-client';
    this.#clientSecret = options.clientSecret ?? 'orchard-test-secret';
    this.#ttlSeconds = options.tokenTtlSeconds ?? 599;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#clampPageSize = options.clampPageSize ?? 2000;
    this.#version = options.jamfProVersion === undefined ? '11.30.1-t1784555528405' : options.jamfProVersion;
    const [major = 0, minor = 0] = (this.#version ?? '0.0').split('.').map(Number);
    const from1130 = major > 11 || (major === 11 && minor >= 30);
    // v4 first appears in 11.30.0, with v3's deprecation date.
    this.#removed = new Set([...(options.removedApiVersions ?? []), ...(from1130 ? [] : [4])]);
    this.#deprecations = { ...JAMF_DEPRECATIONS, ...(from1130 ? {} : { 3: null }), ...options.apiDeprecations };
    this.#ignorePage = options.ignorePage ?? false;
    this.#privileges = new Set(options.privileges ?? WEBHOOK_PRIVILEGES);
    for (let i = 1; i <= (options.mobileDevices ?? 10); i++) this.#mobile.push(generateMobileDevice(i));
    const withoutReportDate = new Set((options.withoutReportDate ?? []).map(Number));
    const n = options.computers ?? 25;
    for (let idNum = 1; idNum <= n; idNum++) {
      const c = generateComputer(idNum, null, this.#serials);
      if (withoutReportDate.has(idNum)) {
        c.reportMs = null;
        c.reportDate = null;
      }
      this.#fleet.set(c.id, c);
    }
    this.#nextId = n + 1;
  }

  static async start(options: MockJamfProOptions = {}): Promise<MockJamfPro> {
    const mock = new MockJamfPro(options);
    await mock.start();
    return mock;
  }

  /** Highest number of inventory requests in flight at the same time. */
  get maxConcurrentRequests(): number {
    return this.maxInFlight;
  }

  /** Ground truth: every computer in id order, every section filled (fresh copies). */
  computers(): Array<Record<string, unknown>> {
    return [...this.#fleet.values()].sort((a, b) => a.idNum - b.idNum).map((c) => JSON.parse(projection(c, ALL_SECTIONS)) as Record<string, unknown>);
  }

  /** A new inventory report from these computers: reportDate and lastContactTime move past every report so far. Returns the new reportDates. */
  touch(ids: string[]): string[] {
    const out = ids.map((id) => {
      const c = this.#get(id);
      const ms = this.#advanceClock();
      c.reportMs = ms;
      c.reportDate = jamfDate(ms);
      c.contactMs = ms;
      c.lastContactTime = c.reportDate;
      c.sectionJson[GENERAL] = undefined;
      c.projections.clear();
      return c.reportDate;
    });
    this.#sorted.clear();
    return out;
  }

  /** Enrol n new computers, reporting now (after every report so far); ids continue after the highest id ever issued. */
  addComputers(n: number): string[] {
    const ids: string[] = [];
    for (let k = 0; k < n; k++) {
      const c = generateComputer(this.#nextId++, this.#advanceClock(), this.#serials);
      this.#fleet.set(c.id, c);
      ids.push(c.id);
    }
    this.#sorted.clear();
    return ids;
  }

  removeComputers(ids: string[]): void {
    for (const id of ids) {
      const c = this.#get(id);
      this.#fleet.delete(id);
      this.#serials.delete(c.serialNumber);
    }
    this.#sorted.clear();
  }

  /** Script the next `times` requests to a route (consumed in order, before any other check). */
  failNext(route: 'token' | 'inventory', fault: MockFault, times = 1): void {
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`);
    for (let k = 0; k < times; k++) this.#faults[route].push({ ...fault });
  }

  /** The API client's privileges from now on (an admin editing its API role). */
  setPrivileges(privileges: string[]): void {
    this.#privileges = new Set(privileges);
  }

  /** Ground truth: every mobile device still enrolled, every section filled, in id order. */
  mobileDevices(): Array<Record<string, unknown>> {
    return JSON.parse(mobileDevicesPage(this.#mobile, new URLSearchParams({ 'page-size': '1000000', sort: 'mobileDeviceId:asc', section: 'GENERAL,HARDWARE,USER_AND_LOCATION' }), { clampPageSize: Infinity, ignorePage: false }).body).results;
  }

  /** New inventory reports from these mobile devices; returns their new lastInventoryUpdateDate. */
  touchMobileDevices(ids: string[]): string[] {
    return ids.map((id) => {
      const d = this.#mobile.find((m) => m.id === id && !m.removed);
      if (!d) throw new Error(`MockJamfPro: no mobile device with id ${JSON.stringify(id)}`);
      d.inventoryMs = this.#advanceClock();
      return jamfDate(d.inventoryMs);
    });
  }

  removeMobileDevices(ids: string[]): void {
    for (const d of this.#mobile) if (ids.includes(d.id)) d.removed = true;
  }

  /** Every token issued so far stops working (a token expiring in the middle of a run). */
  expireTokens(): void {
    this.#tokens.clear();
  }

  #get(id: string): Computer {
    const c = this.#fleet.get(id);
    if (!c) throw new Error(`MockJamfPro: no computer with id ${JSON.stringify(id)}`);
    return c;
  }

  #advanceClock(): number {
    this.#clockMs += 1000 + Math.floor(this.#clockRng() * 60_000);
    return this.#clockMs;
  }

  /** Answers a scripted fault; false when the fault only delays and the normal answer follows. */
  #answerFault(req: IncomingMessage, res: ServerResponse, entry: MockJamfProRequest, fault: MockFault, route: 'token' | 'inventory'): boolean {
    if (fault.reset) {
      this.resetConnection(req, entry);
      return true;
    }
    if (fault.status === undefined && fault.body === undefined) return false;
    const status = fault.status ?? 500;
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
    let body = fault.body;
    if (body !== undefined) headers['content-type'] = fault.contentType ?? (body.trimStart().startsWith('<') ? 'text/html;charset=UTF-8' : JSON_TYPE);
    else if (route === 'token' && status === 401) body = '{"error":"invalid_client","error_description":"Client authentication failed"}';
    else if (route === 'token' && status === 400) body = '{"error":"invalid_request"}';
    else body = jamfError(status);
    this.send(res, entry, status, body, headers);
    return true;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
    const inventoryVersion = INVENTORY_PATH.exec(url.pathname)?.[1];
    const hooks = WEBHOOKS_PATH.exec(url.pathname);
    const route: MockJamfProRoute =
      url.pathname === TOKEN_PATH ? 'token' : inventoryVersion ? 'inventory' : url.pathname === VERSION_PATH ? 'version' : url.pathname === MOBILE_PATH ? 'mobile' : hooks ? 'webhooks' : 'other';
    const entry: MockJamfProRequest = { route, method: req.method ?? 'GET', path: url.pathname, query, status: 0, authorized: false, at: Date.now(), ...(inventoryVersion ? { apiVersion: Number(inventoryVersion) } : {}) };
    this.requests.push(entry);
    try {
      if (route === 'token') {
        if (req.method !== 'POST') return this.send(res, entry, 405, jamfError(405), { allow: 'POST' });
        await this.#token(req, res, url, entry);
      } else if (route === 'inventory') {
        if (req.method !== 'GET') return this.send(res, entry, 405, jamfError(405), { allow: 'GET' });
        this.countInFlight(res);
        if (this.#removed.has(entry.apiVersion!)) {
          req.resume();
          return this.send(res, entry, 404, jamfError(404));
        }
        await this.#inventory(req, res, url, entry);
      } else if (route === 'version' || route === 'mobile') {
        req.resume();
        if (req.method !== 'GET') return this.send(res, entry, 405, jamfError(405), { allow: 'GET' });
        if (route === 'mobile') this.countInFlight(res);
        await this.timers.sleep(this.#latencyMs);
        entry.authorized = this.#validToken(req);
        if (!entry.authorized) return this.send(res, entry, 401, jamfError(401));
        if (route === 'version') return this.#version === null ? this.send(res, entry, 404, jamfError(404)) : this.send(res, entry, 200, JSON.stringify({ version: this.#version }));
        const page = mobileDevicesPage(this.#mobile, url.searchParams, { clampPageSize: this.#clampPageSize, ignorePage: this.#ignorePage });
        this.send(res, entry, page.status, page.body);
      } else if (route === 'webhooks') {
        const body = await readBody(req, 1024 * 1024);
        entry.authorized = this.#validToken(req);
        const answer = entry.authorized
          ? this.webhooks.answer(entry.method, hooks![1] ?? '', body, (p) => this.#privileges.has(p))
          : { status: 401, body: statusPage('Unauthorized', 'The request requires user authentication'), contentType: 'text/html;charset=UTF-8' };
        this.send(res, entry, answer.status, answer.body, { 'content-type': answer.contentType });
      } else {
        req.resume();
        this.send(res, entry, 404, jamfError(404));
      }
    } catch (err) {
      if (!res.headersSent) this.send(res, entry, 500, jamfError(500));
      else res.destroy(err as Error);
    }
  }

  async #token(req: IncomingMessage, res: ServerResponse, url: URL, entry: MockJamfProRequest): Promise<void> {
    const body = await readBody(req, 64 * 1024);
    const params = new URLSearchParams(url.search);
    if (/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
      for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
    }
    let clientId = params.get('client_id');
    let clientSecret = params.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
        clientSecret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      }
    }
    entry.authorized = clientId === this.#clientId && clientSecret === this.#clientSecret;
    const fault = this.#faults.token.shift();
    if (fault?.delayMs) await this.timers.sleep(fault.delayMs);
    if (fault && this.#answerFault(req, res, entry, fault, 'token')) return;
    const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
    if (!entry.authorized) return this.send(res, entry, 401, '{"error":"invalid_client","error_description":"Client authentication failed"}', noStore);
    const grantType = params.get('grant_type');
    if (!grantType) return this.send(res, entry, 400, '{"error":"invalid_request"}', noStore);
    if (grantType !== 'client_credentials') return this.send(res, entry, 400, '{"error":"unsupported_grant_type"}', noStore);
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    for (const [t, expiresAt] of this.#tokens) if (expiresAt <= now) this.#tokens.delete(t);
    this.#tokens.set(token, now + this.#ttlSeconds * 1000);
    this.send(res, entry, 200, JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: this.#ttlSeconds, scope: 'api-role:1' }), noStore);
  }

  #validToken(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const expiresAt = this.#tokens.get(m[1]!);
    return expiresAt !== undefined && Date.now() < expiresAt;
  }

  async #inventory(req: IncomingMessage, res: ServerResponse, url: URL, entry: MockJamfProRequest): Promise<void> {
    req.resume();
    entry.authorized = this.#validToken(req);
    const fault = this.#faults.inventory.shift();
    await this.timers.sleep(this.#latencyMs + (fault?.delayMs ?? 0));
    if (fault && this.#answerFault(req, res, entry, fault, 'inventory')) return;
    // Checked when answering, so a token that expires during `latencyMs` is refused, as Jamf would.
    if (!this.#validToken(req)) {
      entry.authorized = false;
      return this.send(res, entry, 401, jamfError(401));
    }
    const version = entry.apiVersion!;
    let body: string;
    try {
      body = this.#page(url.searchParams, version);
    } catch (err) {
      if (err instanceof QueryError) return this.send(res, entry, 400, invalidField(err.field, err.message));
      throw err;
    }
    const notice = this.#deprecations[version];
    const headers: Record<string, string> = {};
    if (notice?.deprecation) headers.deprecation = notice.deprecation;
    if (notice?.sunset) headers.sunset = notice.sunset;
    if (notice?.link) headers.link = notice.link;
    this.send(res, entry, 200, body, headers);
  }

  #page(q: URLSearchParams, version: number): string {
    let mask = 0;
    const sections = q.getAll('section').flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    for (const name of sections) {
      const bit = SECTION_BIT.get(name);
      if (bit === undefined || (version > 1 && V1_ONLY.has(name))) {
        throw new QueryError('section', `Invalid section: ${name}. Allowed values: ${SECTIONS.map(([n]) => n).filter((n) => version === 1 || !V1_ONLY.has(n)).join(', ')}.`);
      }
      mask |= bit;
    }
    if (mask === 0) mask = SECTION_BIT.get('GENERAL')!;
    const page = this.#ignorePage ? 0 : this.#integer(q, 'page', 0, 0, Number.MAX_SAFE_INTEGER);
    // Jamf Pro clamps an oversized page-size silently (Jamf-Concepts/jamf-cli PR #389).
    const pageSize = Math.min(this.#integer(q, 'page-size', 100, 1, Number.MAX_SAFE_INTEGER), this.#clampPageSize);
    const sortSpecs = q.getAll('sort').flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    const sortKey = (sortSpecs.length > 0 ? sortSpecs : ['general.name:asc']).join(',');
    let sorted = this.#sorted.get(sortKey);
    if (!sorted) {
      sorted = [...this.#fleet.values()].sort(parseSort(sortKey.split(',')));
      this.#sorted.set(sortKey, sorted);
    }
    const filterText = q.get('filter')?.trim() ?? '';
    const matching = filterText === '' ? sorted : sorted.filter(parseFilter(filterText));
    const start = page * pageSize;
    const parts = start >= matching.length ? [] : matching.slice(start, start + pageSize).map((c) => projection(c, mask, version));
    return `{"totalCount":${matching.length},"results":[${parts.join(',')}]}`;
  }

  #integer(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
    const raw = q.get(name);
    if (raw === null) return fallback;
    const n = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw new QueryError(name, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
    return n;
  }
}
