/**
 * A mock of JumpCloud's Directory Insights events API (`POST /insights/directory/v1/events`, and
 * `POST /insights/directory/v1/events/count` with the same body, answered `{"count": N}`, counting the
 * late events its listing still hides: TheJumpCloud/jcapi-powershell Get-JcSdkEventCount.md) and its
 * v1 system users API (`GET /api/systemusers`) on a real `node:http` server, for the JumpCloud pull
 * connectors' integration tests, `npm run demo` and the benchmarks.
 *
 * Faithful where the vendor is known (see /work/shared/VENDOR-APIS.md, the Elastic fixtures in
 * test/fixtures/jumpcloud/events/ and published sample events): `x-api-key` (and `x-org-id` for an
 * MSP) authentication; the request body (`service` from the documented list, `start_time` required,
 * `end_time` defaulting to now, `limit` up to 10000, `sort`, `search_after`); the 400 when
 * `start_time` is not before `end_time`; the answer as a bare JSON array with `X-Result-Count`,
 * `X-Limit` and an `X-Search_after` of `[epoch ms, "id"]` that is present on every page, the last and
 * an empty one included; paging by repeating the query with that array; timestamps with 0 to 9
 * fraction digits, compared at full nanosecond precision (never parsed as whole seconds); events that
 * become visible minutes after their timestamp (late indexing); event shapes modelled on the fixtures
 * (`@version`, 24-hex ids, per-service fields); `{"totalCount": N, "results": [...]}` with `limit`
 * (at most 100) and `skip` for system users, whose records carry the documented fields.
 *
 * Assumed, not confirmed by the vendor: error bodies `{"message": "..."}` and their wording (except
 * the start_time/end_time one, which the brief fixes); `DESC` as the default sort; the search_after
 * key's millisecond precision and the tie-break by id (Elasticsearch `date` sort values plus the
 * document id), so events sharing a millisecond come in id order, not nanosecond order; 405 for a
 * wrong method; 400 for `limit` 0; the shapes of systems, ldap, password_manager and software events.
 *
 * Service Accounts (JumpCloud's own CLI, TheJumpCloud/jc-cli internal/api/oauth.go and docs/AUTH.md):
 * `POST /oauth2/token` with the form `grant_type=client_credentials&scope=api` and HTTP Basic
 * `client_id:client_secret` answers `{access_token, token_type, expires_in}`; the token is then sent as
 * `Authorization: Bearer` and stops working after `expires_in` on the mock's clock. An account has up to
 * two secrets (rotation). Refusals follow RFC 6749 §5.2 as Ory Hydra words them (JumpCloud's OAuth
 * servers answer in Hydra's words: Arize-ai/phoenix issue #7652): 401 `invalid_client` for a wrong
 * secret, 400 `invalid_request` / `unsupported_grant_type` / `invalid_scope`; a client without the grant
 * gets 403 (jc-cli maps 403 to "client credentials lack permission"; its body here is assumed).
 *
 * MSP portals (`organizations`): `GET /api/organizations` (`limit` at most 100, `skip`,
 * `{"totalCount", "results": [{"_id", "displayName"}]}`; x-org-id refused with 403, "ID included on
 * unsupported route", as the v1 spec lists); every other request must name an organization in x-org-id
 * (401 without, "ID not included for multi-tenant admin"; 404 for an id the provider does not have,
 * "Organization ID Not Found"); each organization has its own events and users (`org(id)`). An
 * organization refused to the key answers 403 (`forbidOrganization`: what Directory Insights answers is
 * not documented; 403 is assumed). Services: the 16 of the current spec (TheJumpCloud/jcapi-powershell
 * SwaggerSpecs/JumpCloud.SDK.DirectoryInsights.json); an unknown one is a 400 listing the supported
 * values, as the spec says; `extraServices` plays a service JumpCloud added later. The event shapes of
 * notifications, reports, saas_app_management, access_management and asset_management are assumed.
 *
 * Events are kept as ready-made UTF-8 JSON in one array sorted by (ms, id): a page is a binary
 * search, a scan and one buffer copy, so a 10,000-event page costs no JSON.stringify. Times in queries
 * are BigInt nanoseconds; a stored event keeps the same value split as (ms, nanoseconds within the ms).
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { mulberry32 } from './jamf-pro-server.ts';
import { MockVendorServer } from './mock-http.ts';

/** Values the `service` array accepts (`all` selects every service): the current spec's, in its order. */
export const JUMPCLOUD_SERVICES = [
  'alerts', 'all', 'directory', 'ldap', 'mdm', 'notifications', 'object_storage', 'password_manager', 'radius', 'reports',
  'saas_app_management', 'software', 'sso', 'systems', 'access_management', 'asset_management',
] as const;
export type JumpCloudService = (typeof JUMPCLOUD_SERVICES)[number];

/** Services `generateEvents` has templates for (the first eight are the default). */
export const GENERATED_SERVICES = ['directory', 'sso', 'systems', 'mdm', 'radius', 'ldap', 'password_manager', 'software'] as const;
/** Every service of the current spec but `all`: what `generateEvents` can draw from. */
export const ALL_GENERATED_SERVICES = [
  ...GENERATED_SERVICES, 'alerts', 'notifications', 'object_storage', 'reports', 'saas_app_management', 'access_management', 'asset_management',
] as const;
export type GeneratedService = (typeof ALL_GENERATED_SERVICES)[number];

export interface MockJumpCloudOptions {
  /** The accepted `x-api-key`. Default 'orchard-test-jumpcloud-key'. */
  apiKey?: string;
  /** When set, `x-org-id` must name this organization (403 otherwise). */
  orgId?: string;
  /** Keys that exist but may not read: 403 `{"message":"Forbidden"}`. */
  forbiddenKeys?: string[];
  /** Added to every events and systemusers response (including 401s and faults). Default 0. */
  latencyMs?: number;
  /** Number of system users generated at start. Default 25. */
  users?: number;
  /** `organization` of generated events and users. Default options.orgId, else '1234abcdef123456789abcde' (the fixture's). */
  organization?: string;
  /** Seed of the generated users and of event ids drawn by `addEvents`. Default 1. */
  seed?: number;
  /** The mock's clock (late-event visibility, the default `end_time`, token expiry). Default Date.now: tests of windows drive a clock of their own. */
  now?: () => number;
  /** A Service Account whose tokens (POST /oauth2/token) are accepted besides the API key. */
  serviceAccount?: MockServiceAccount;
  /** An MSP portal: these organizations, each with its own data (`org(id)`); every data request must name one in x-org-id. */
  organizations?: readonly MockOrganization[];
  /** Services JumpCloud accepts besides those of the spec (a service added after the spec). */
  extraServices?: readonly string[];
}

export interface MockServiceAccount {
  clientId: string;
  /** Its one or two secrets. */
  secrets: string[];
  /** `expires_in` of its tokens. Default 3600. */
  tokenLifetimeSeconds?: number;
  /** The account exists but may not get a token for the API (no role / grant): 403. */
  grantDenied?: boolean;
}

export interface MockOrganization {
  id: string;
  name: string;
  /** System users generated at start. Default 5. */
  users?: number;
}

/** A Directory Insights event as stored and answered: the common fields plus per-service ones. */
export interface JumpCloudEvent {
  '@version': string;
  id: string;
  event_type: string;
  service: string;
  organization: string;
  /** RFC 3339, 0 to 9 fraction digits, printed exactly as added. */
  timestamp: string;
  [field: string]: unknown;
}

/** What `addEvents` takes: a timestamp (RFC 3339 string, kept verbatim, or epoch ms) and any fields; the rest is filled in. */
export interface JumpCloudEventInput {
  timestamp: string | number;
  '@version'?: string;
  id?: string;
  event_type?: string;
  service?: string;
  organization?: string;
  [field: string]: unknown;
}

export interface GenerateEventsOptions {
  /** Timestamps are drawn from [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /** Services to draw from, evenly. Default every one of GENERATED_SERVICES. */
  services?: readonly GeneratedService[];
  /** Every event gets one identical timestamp (drawn once), to test page boundaries inside one millisecond. */
  sameTimestamp?: boolean;
  /** Same seed, same events (given the same mock users). Default: a new seed per call. */
  seed?: number;
  /** Timestamps with 9 fraction digits (sub-millisecond part drawn at random); otherwise 3. */
  nanos?: boolean;
  /** Passed to addEvents. */
  visibleAfterMs?: number;
}

export interface MockJumpCloudFault {
  /** Answer this status with `{"message": "<status text>"}` (or `body`). */
  status?: number;
  /** `Retry-After` header: seconds ('1') or an HTTP date. */
  retryAfter?: string;
  /** Response body instead of the JSON message (content type guessed: `<` → text/html, else JSON). */
  body?: string;
  /** Content type of `body`. */
  contentType?: string;
  /** Destroy the socket (TCP RST) without answering. */
  reset?: boolean;
  /** Delay the answer (normal or faulty) by this much. */
  delayMs?: number;
}

export type MockJumpCloudRoute = 'events' | 'count' | 'systemusers' | 'token' | 'organizations' | 'other';

export interface MockJumpCloudRequest {
  route: MockJumpCloudRoute;
  method: string;
  path: string;
  query: Record<string, string[]>;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The request body parsed as JSON; undefined when empty or not JSON. */
  body: unknown;
  /** Status answered; 0 while pending or when the socket was reset. */
  status: number;
  /** The API key or token (and org) were accepted. */
  authorized: boolean;
  /** The organization the request was answered for (MSP portals). */
  org?: string;
  /** Date.now() when the request arrived. */
  at: number;
}

const EVENTS_PATH = '/insights/directory/v1/events';
/** The count of a query's events (TheJumpCloud/jcapi-powershell, Get-JcSdkEventCount.md): the events body, answered `{"count": N}`. */
const COUNT_PATH = '/insights/directory/v1/events/count';
const USERS_PATH = '/api/systemusers';
const TOKEN_PATH = '/oauth2/token';
const ORGANIZATIONS_PATH = '/api/organizations';
const INVALID_CLIENT = JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).' });
const JSON_TYPE = 'application/json';
const DEFAULT_ORGANIZATION = '1234abcdef123456789abcde';
const MAX_EVENTS_LIMIT = 10_000;
const DEFAULT_EVENTS_LIMIT = 1000;
const MAX_USERS_LIMIT = 100;
const DEFAULT_USERS_LIMIT = 10;
const ROUTES: Record<string, MockJumpCloudRoute> = { [EVENTS_PATH]: 'events', [COUNT_PATH]: 'count', [USERS_PATH]: 'systemusers', [TOKEN_PATH]: 'token', [ORGANIZATIONS_PATH]: 'organizations' };
type FaultRoute = Exclude<MockJumpCloudRoute, 'other'>;
const NS_PER_MS = 1_000_000n;
const SLAB_BYTES = 1 << 20;
const START_BEFORE_END = '{"message":"start_time must be before end_time"}';

// ---------------------------------------------------------------------------------------------
// Time: RFC 3339 with up to nanosecond fractions, as BigInt nanoseconds since the epoch

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Nanoseconds since the epoch, or null when `s` is not an RFC 3339 date-time. Fractions beyond 9 digits are truncated. */
export function parseRfc3339Nanos(s: string): bigint | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  d.setUTCHours(hour, minute, second, 0);
  let ns = BigInt(d.getTime()) * NS_PER_MS + BigInt((m[7] ?? '').slice(0, 9).padEnd(9, '0'));
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    const offsetNs = BigInt((oh * 60 + om) * 60_000) * NS_PER_MS;
    ns = m[9] === '+' ? ns - offsetNs : ns + offsetNs;
  }
  return ns;
}

/** [floor(ns / 1e6), ns mod 1e6] as numbers (also right before 1970). */
function splitNs(ns: bigint): [ms: number, sub: number] {
  let q = ns / NS_PER_MS;
  if (ns < 0n && q * NS_PER_MS !== ns) q -= 1n;
  return [Number(q), Number(ns - q * NS_PER_MS)];
}

// ---------------------------------------------------------------------------------------------
// Deterministic data

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const chance = (r: Rng, p: number) => r() < p;
const int = (r: Rng, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const hex32 = (r: Rng) => Math.floor(r() * 4294967296).toString(16).padStart(8, '0');
/** A MongoDB ObjectId-like id: 8 hex digits of epoch seconds and 16 drawn ones (24 in all), like JumpCloud's. */
const objectId = (ms: number, r: Rng) => (Math.max(0, Math.floor(ms / 1000)) % 4294967296).toString(16).padStart(8, '0') + hex32(r) + hex32(r);
const uuid = (r: Rng) => {
  const h = hex32(r) + hex32(r) + hex32(r) + hex32(r);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(r() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
function asciiName(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');
}

const FIRST_NAMES = ['Jane', 'John', 'Zoë', 'José', 'Björn', 'Aiko', 'Priya', 'Mohammed', 'Chloé', 'Liam', 'Olivia', 'Noah', 'Mei', 'Sven', 'Fatima', 'Lucas', 'Ana', 'Kwame', 'Ingrid', 'Rahul'];
const LAST_NAMES = ['Doe', 'Smith', 'Müller', 'García', 'Nguyen', 'O’Brien', 'Kowalski', 'Tanaka', 'Okafor', 'Rossi', 'Larsen', 'Dubois', 'Silva', 'Khan', 'Johansson', 'Chen'];
const JOB_TITLES = ['Engineer', 'Senior Engineer', 'Designer', 'Contractor', 'Account Executive', 'Finance Analyst', 'IT Administrator', 'Product Manager', 'Support Specialist'];
const DEPARTMENTS = ['Engineering', 'Design', 'Sales', 'Finance', 'IT', 'Product', 'Support'];
const LOCATIONS = ['Berlin', 'London', 'Remote', 'San Francisco', 'Paris'];
const ADMINS = [
  { id: '123456789abcdef123456789', email: 'user.name@sub.domain.tld' },
  { id: '5bf6defbdcd8233029e0c599', email: 'it.admin@acme.example' },
  { id: '603e0c284295c570a179ef4a', email: 'helpdesk@acme.example' },
];
const IP_PREFIXES = ['81.2.69.', '89.160.20.', '216.160.83.', '175.16.199.', '67.43.156.', '203.0.113.'];
const GEOIPS = [
  { continent_code: 'OC', country_code: 'AU', latitude: -27.658, longitude: 152.8915, region_code: 'QLD', region_name: 'Queensland', timezone: 'Australia/Brisbane' },
  { continent_code: 'EU', country_code: 'FR', latitude: 48.8323, longitude: 2.4075, region_code: '75', region_name: 'Paris', timezone: 'Europe/Paris' },
  { continent_code: 'NA', country_code: 'US', latitude: 42.3797, longitude: -71.1034, region_code: 'MA', region_name: 'Massachusetts', timezone: 'America/New_York' },
  { continent_code: 'EU', country_code: 'IE', latitude: 53.3379, longitude: -6.2591, region_code: 'L', region_name: 'Leinster', timezone: 'Europe/Dublin' },
  { continent_code: 'EU', country_code: 'GB', latitude: 51.5142, longitude: -0.0931, region_code: 'ENG', region_name: 'England', timezone: 'Europe/London' },
];
const USERAGENTS = [
  { device: 'Mac', major: '109', minor: '0', name: 'Chrome', os: 'Mac OS X', os_full: 'Mac OS X 10.15.7', os_major: '10', os_minor: '15', os_name: 'Mac OS X', os_patch: '7', os_version: '10.15.7', patch: '0', version: '109.0.0.0' },
  { device: 'Mac', major: '114', minor: '0', name: 'Firefox', os: 'Mac OS X', os_full: 'Mac OS X 10.15', os_major: '10', os_minor: '15', os_name: 'Mac OS X', os_version: '10.15', version: '114.0' },
  { device: 'Other', major: '7', minor: '68', name: 'curl', os: 'Other', os_full: 'Other', os_name: 'Other', patch: '0', version: '7.68.0' },
];
const SSO_APPS = [
  { display_label: 'Google Workspace', id: '60d05c1385450d17af70308f', name: 'google', sso_type: 'saml', sso_url: 'https://sso.jumpcloud.com/saml2/google' },
  { display_label: 'Salesforce', id: '5fbfaa559753353c0b83ecc0', name: 'salesforce', sso_type: 'saml', sso_url: 'https://sso.jumpcloud.com/saml2/salesforce' },
  { display_label: 'Slack', id: '62a1f0c3d2e4b5a6c7d8e9f0', name: 'slack', sso_type: 'saml', sso_url: 'https://sso.jumpcloud.com/saml2/slack' },
];
const MDM_REQUESTS = ['InstallProfile', 'ProfileList', 'DeviceInformation', 'SecurityInfo', 'InstalledApplicationList', 'RemoveProfile'];
const PROFILE_PAYLOAD = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadDisplayName</key><string>Chrome Extensions</string>' +
    '<key>PayloadIdentifier</key><string>com.jumpcloud.mdm.policy.chrome</string><key>PayloadType</key><string>Configuration</string>' +
    '<key>PayloadVersion</key><integer>1</integer></dict></plist>\n',
).toString('base64');
const PASSWORD_EVENTS = ['password_manager_item_view', 'password_manager_item_create', 'password_manager_item_update', 'password_manager_item_share'];
const SOFTWARE = [
  ['Google Chrome', '131.0.6778.86'],
  ['Slack', '4.38.125'],
  ['Zoom', '6.2.11'],
  ['1Password', '8.10.50'],
] as const;
const EVENT_TYPE_BY_SERVICE: Record<string, string> = {
  directory: 'admin_login_attempt',
  sso: 'sso_auth',
  systems: 'login_attempt',
  mdm: 'mdm_command_result',
  radius: 'radius_auth_attempt',
  ldap: 'ldap_bind',
  password_manager: 'password_manager_item_view',
  software: 'software_install',
  alerts: 'alert_created',
  object_storage: 'object_storage_access',
  notifications: 'notification_sent',
  reports: 'report_generated',
  saas_app_management: 'saas_app_login',
  access_management: 'access_request_approved',
  asset_management: 'device_assigned',
};

interface Person {
  id: string;
  username: string;
  email: string;
  hostname: string;
  systemId: string;
}

interface EventContext {
  id: string;
  ms: number;
  timestamp: string;
  organization: string;
  person: Person;
  admin: (typeof ADMINS)[number];
  ip: string;
}

type Template = (r: Rng, c: EventContext) => Record<string, unknown>;

const TEMPLATES: Record<GeneratedService, Template> = {
  directory(r, c) {
    const kind = r();
    const initiated_by = { email: c.admin.email, id: c.admin.id, type: 'admin' };
    if (kind < 0.6) {
      // The fixture's admin_login_attempt, keys in its (alphabetical) order.
      return { '@version': '1', client_ip: c.ip, event_type: 'admin_login_attempt', geoip: pick(r, GEOIPS), id: c.id, initiated_by, mfa: chance(r, 0.8), organization: c.organization, provider: null, service: 'directory', success: chance(r, 0.9), timestamp: c.timestamp, useragent: pick(r, USERAGENTS) };
    }
    const from = pick(r, JOB_TITLES);
    const update = kind < 0.85;
    return {
      '@version': '1',
      auth_method: pick(r, ['session', 'api key']),
      changes: update ? [{ field: 'jobTitle', from, to: pick(r, JOB_TITLES.filter((t) => t !== from)) }] : [{ field: 'username', to: c.person.username }, { field: 'email', to: c.person.email }],
      client_ip: c.ip,
      event_type: update ? 'user_update' : 'user_create',
      geoip: pick(r, GEOIPS),
      id: c.id,
      initiated_by,
      organization: c.organization,
      provider: null,
      resource: { id: c.person.id, type: 'user', username: c.person.username },
      service: 'directory',
      success: true,
      timestamp: c.timestamp,
      useragent: pick(r, USERAGENTS),
    };
  },
  sso(r, c) {
    const success = chance(r, 0.85);
    return {
      '@version': '1',
      application: pick(r, SSO_APPS),
      auth_context: { auth_methods: {}, system: { displayName: c.person.hostname, hostname: c.person.hostname, id: c.person.systemId, os: 'Mac OS X', version: '14.5' } },
      client_ip: c.ip,
      error_message: success ? '' : pick(r, ['not authorized', 'application unreachable']),
      event_type: 'sso_auth',
      geoip: pick(r, GEOIPS),
      id: c.id,
      idp_initiated: chance(r, 0.3),
      initiated_by: { id: c.person.id, type: 'user', username: c.person.username },
      mfa: chance(r, 0.6),
      organization: c.organization,
      provider: '',
      service: 'sso',
      sso_token_success: success,
      success,
      timestamp: c.timestamp,
      useragent: pick(r, USERAGENTS.slice(0, 2)),
      username: c.person.username,
    };
  },
  systems(r, c) {
    const success = chance(r, 0.9);
    const system = { displayName: c.person.hostname, hostname: c.person.hostname, id: c.person.systemId, os: 'Mac OS X', version: pick(r, ['13.6.7', '14.5', '15.1']) };
    return {
      '@version': '1',
      auth_context: { auth_methods: { password: { success } }, system },
      client_ip: c.ip,
      event_type: 'login_attempt',
      id: c.id,
      initiated_by: { id: c.person.id, type: 'user', username: c.person.username },
      message: success ? 'User logged in' : 'Authentication failure',
      mfa: false,
      organization: c.organization,
      process_name: pick(r, ['loginwindow', 'sshd', 'screensaver']),
      service: 'systems',
      success,
      system,
      timestamp: c.timestamp,
      username: c.person.username,
    };
  },
  mdm(r, c) {
    // Key order of the fixture test-events.newer-version.mdm_command_result.InstallProfile.message.json.
    const request_type = pick(r, MDM_REQUESTS);
    const status = chance(r, 0.9) ? 'Acknowledged' : pick(r, ['Error', 'NotNow']);
    const device = c.person.systemId;
    return {
      mdm_type: 'apple',
      request_type,
      mdm_device_id: device,
      mdm_device_manager_id: device,
      command: request_type === 'InstallProfile' ? { request_type, payload: PROFILE_PAYLOAD } : { request_type },
      event_type: 'mdm_command_result',
      command_uuid: uuid(r),
      service: 'mdm',
      organization: c.organization,
      '@version': '1',
      error_chain: status === 'Error' ? [{ error_code: 12021, error_domain: 'MCMDMErrorDomain', localized_description: 'The profile could not be installed.' }] : null,
      id: c.id,
      status,
      success: status === 'Acknowledged',
      timestamp: c.timestamp,
    };
  },
  radius(r, c) {
    const success = chance(r, 0.85);
    return {
      initiated_by: { type: 'user', username: c.person.username },
      auth_type: 'eap',
      nas_mfa_state: 'DISABLED',
      geoip: pick(r, GEOIPS),
      eap_type: 'MSCHAPv2',
      outer: success ? { eap_type: 'PEAP', username: c.person.username } : { error_message: 'eap_peap: The users session was previously rejected', eap_type: 'PEAP', username: c.person.username },
      mfa: false,
      auth_meta: { user_password_enabled: true, device_cert_enabled: false, user_cert_enabled: false, auth_idp: 'JUMPCLOUD', userid_type: 'USERNAME' },
      event_type: 'radius_auth_attempt',
      ...(success ? {} : { error_message: 'mschap: MS-CHAP2-Response is incorrect' }),
      service: 'radius',
      success,
      organization: c.organization,
      '@version': '1',
      client_ip: c.ip,
      id: c.id,
      username: c.person.username,
      timestamp: c.timestamp,
    };
  },
  ldap(r, c) {
    const success = chance(r, 0.9);
    return {
      '@version': '1',
      auth_meth: { type: 'simple' },
      client_ip: c.ip,
      dn: `uid=${c.person.username},ou=Users,o=${c.organization},dc=jumpcloud,dc=com`,
      error_code: success ? 0 : 49,
      event_type: 'ldap_bind',
      id: c.id,
      initiated_by: { type: 'user', username: c.person.username },
      mfa: false,
      operation_number: int(r, 1, 40),
      operation_type: 'bind',
      organization: c.organization,
      service: 'ldap',
      start_tls: false,
      success,
      timestamp: c.timestamp,
      tls_established: true,
      username: c.person.username,
    };
  },
  password_manager(r, c) {
    return {
      '@version': '1',
      client_ip: c.ip,
      event_type: pick(r, PASSWORD_EVENTS),
      geoip: pick(r, GEOIPS),
      id: c.id,
      initiated_by: { email: c.person.email, id: c.person.id, type: 'user', username: c.person.username },
      organization: c.organization,
      resource: { id: objectId(c.ms, r), name: pick(r, ['AWS root', 'Wi-Fi guest', 'GitHub deploy key', 'Figma']), type: 'password_item' },
      service: 'password_manager',
      success: true,
      timestamp: c.timestamp,
      username: c.person.username,
    };
  },
  software(r, c) {
    const [name, version] = pick(r, SOFTWARE);
    const success = chance(r, 0.92);
    return {
      '@version': '1',
      event_type: 'software_install',
      id: c.id,
      initiated_by: { id: c.admin.id, type: 'admin', email: c.admin.email },
      organization: c.organization,
      resource: { id: objectId(c.ms, r), name, type: 'software_app', version },
      service: 'software',
      status: success ? 'installed' : 'failed',
      success,
      system: { hostname: c.person.hostname, id: c.person.systemId },
      timestamp: c.timestamp,
    };
  },
  alerts(r, c) {
    return {
      '@version': '1',
      alert: { id: objectId(c.ms, r), name: pick(r, ['Failed logins', 'New admin', 'Device not seen']), severity: pick(r, ['low', 'medium', 'high']) },
      event_type: 'alert_created',
      id: c.id,
      organization: c.organization,
      resource: { id: c.person.id, type: 'user', username: c.person.username },
      service: 'alerts',
      success: true,
      timestamp: c.timestamp,
    };
  },
  notifications(r, c) {
    return { '@version': '1', channel: pick(r, ['email', 'slack']), event_type: 'notification_sent', id: c.id, initiated_by: { id: c.admin.id, type: 'admin', email: c.admin.email }, organization: c.organization, recipient: c.person.email, service: 'notifications', success: true, timestamp: c.timestamp };
  },
  object_storage(r, c) {
    return { '@version': '1', client_ip: c.ip, event_type: 'object_storage_access', id: c.id, initiated_by: { id: c.person.id, type: 'user', username: c.person.username }, object: { key: `exports/${hex32(r)}.csv` }, organization: c.organization, service: 'object_storage', success: true, timestamp: c.timestamp };
  },
  reports(r, c) {
    return { '@version': '1', event_type: 'report_generated', id: c.id, initiated_by: { id: c.admin.id, type: 'admin', email: c.admin.email }, organization: c.organization, report: { id: objectId(c.ms, r), type: pick(r, ['users-to-devices', 'os-patch-management']) }, service: 'reports', success: true, timestamp: c.timestamp };
  },
  saas_app_management(r, c) {
    return { '@version': '1', application: { name: pick(r, ['Notion', 'Figma', 'Dropbox']) }, client_ip: c.ip, event_type: 'saas_app_login', id: c.id, initiated_by: { id: c.person.id, type: 'user', username: c.person.username }, organization: c.organization, service: 'saas_app_management', success: chance(r, 0.9), timestamp: c.timestamp, username: c.person.username };
  },
  access_management(r, c) {
    return { '@version': '1', event_type: pick(r, ['access_request_created', 'access_request_approved']), id: c.id, initiated_by: { email: c.person.email, id: c.person.id, type: 'user', username: c.person.username }, organization: c.organization, resource: { id: objectId(c.ms, r), name: pick(r, ['Production AWS', 'Finance share']), type: 'access_request' }, service: 'access_management', success: true, timestamp: c.timestamp };
  },
  asset_management(_r, c) {
    return { '@version': '1', event_type: 'device_assigned', id: c.id, initiated_by: { id: c.admin.id, type: 'admin', email: c.admin.email }, organization: c.organization, resource: { id: c.person.systemId, type: 'device', hostname: c.person.hostname }, service: 'asset_management', success: true, timestamp: c.timestamp, username: c.person.username };
  },
};

interface StoredEvent {
  /** floor(ns / 1e6): the search_after key's precision and the primary sort key. */
  ms: number;
  /** ns - ms * 1e6: nanoseconds within the millisecond, 0..999999. */
  sub: number;
  id: string;
  service: string;
  /** Date.now() from which it is returned. */
  visibleAt: number;
  /** The event as UTF-8 JSON. */
  json: Buffer;
}

function compareKey(ms: number, id: string, e: StoredEvent): number {
  return ms !== e.ms ? ms - e.ms : id < e.id ? -1 : id > e.id ? 1 : 0;
}
const compareEvents = (a: StoredEvent, b: StoredEvent) => compareKey(a.ms, a.id, b);

/** First index whose (ms, id) is greater than (ms, id) — with id '' and ms, the first index with e.ms >= ms. */
function upperBound(events: StoredEvent[], ms: number, id: string): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKey(ms, id, events[mid]!) >= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** First index whose (ms, id) is >= (ms, id). */
function lowerBound(events: StoredEvent[], ms: number, id: string): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKey(ms, id, events[mid]!) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface StoredUser {
  record: Record<string, unknown>;
  json: string;
}

const USERS_BASE_MS = Date.UTC(2022, 2, 14, 9, 30, 0);

/** JSON with everything outside printable ASCII escaped, so it can go in a header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function message(text: string): string {
  return JSON.stringify({ message: text });
}

class BadRequest extends Error {}

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

function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null || v === undefined ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : typeof v === 'boolean' ? 4 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return (a as number) - (b as number);
  if (ra === 2 || ra === 4) return a === b ? 0 : String(a) < String(b) ? -1 : 1;
  return 0;
}

export class MockJumpCloud extends MockVendorServer<MockJumpCloudRequest> {
  readonly #apiKey: string;
  readonly #orgId: string | undefined;
  readonly #forbiddenKeys: Set<string>;
  readonly #latencyMs: number;
  readonly #organization: string;
  readonly #seed: number;
  /** Every event ever added, sorted by (ms, id). */
  #events: StoredEvent[] = [];
  readonly #eventIds = new Set<string>();
  #slab = Buffer.alloc(0);
  #slabUsed = 0;
  readonly #idRng: Rng;
  #generateSeed: number;
  /** _id → user, in creation (= _id) order. */
  readonly #users = new Map<string, StoredUser>();
  readonly #usernames = new Set<string>();
  readonly #sortedUsers = new Map<string, StoredUser[]>();
  readonly #userClockRng: Rng;
  #userClockMs = USERS_BASE_MS;
  #nextUserIndex = 0;
  readonly #faults: Record<FaultRoute, MockJumpCloudFault[]> = { events: [], count: [], systemusers: [], token: [], organizations: [] };
  /** Told of each count request before it is answered (a test reveals late events then). */
  #countListeners: ((query: { start_time: unknown; end_time: unknown; service: unknown }) => void)[] = [];
  readonly #now: () => number;
  readonly #services: Set<string>;
  readonly #serviceAccount: MockServiceAccount | undefined;
  /** access token → expiry on the mock's clock (ms). */
  readonly #tokens = new Map<string, number>();
  /** Access tokens issued so far. */
  tokensIssued = 0;
  /** MSP portals: id → name, data (a mock that never listens), refused or not; in the order added. */
  readonly #orgs: Map<string, { name: string; data: MockJumpCloud; forbidden: boolean }> | undefined;
  readonly #options: MockJumpCloudOptions;

  private constructor(options: MockJumpCloudOptions) {
    super('MockJumpCloud', JSON_TYPE);
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#services = new Set([...JUMPCLOUD_SERVICES, ...(options.extraServices ?? [])]);
    this.#serviceAccount = options.serviceAccount && { ...options.serviceAccount, secrets: [...options.serviceAccount.secrets] };
    if (options.organizations) {
      this.#orgs = new Map();
      for (const org of options.organizations) this.addOrganization(org);
    }
    this.#apiKey = options.apiKey ?? 'orchard-test-jumpcloud-key';
    this.#orgId = options.orgId;
    this.#forbiddenKeys = new Set(options.forbiddenKeys ?? []);
    this.#latencyMs = options.latencyMs ?? 0;
    this.#organization = options.organization ?? options.orgId ?? DEFAULT_ORGANIZATION;
    this.#seed = (options.seed ?? 1) >>> 0;
    this.#idRng = mulberry32(this.#seed ^ 0x1d5eed);
    this.#generateSeed = (this.#seed * 7919 + 0xe7e27) >>> 0;
    this.#userClockRng = mulberry32(this.#seed ^ 0x05e75);
    this.addUsers(options.users ?? 25);
  }

  static async start(options: MockJumpCloudOptions = {}): Promise<MockJumpCloud> {
    const mock = new MockJumpCloud(options);
    await mock.start();
    return mock;
  }

  // -------------------------------------------------------------------------------------------
  // Service Accounts and MSP organizations

  /** Every token issued so far stops working now (the next request with one is 401). */
  expireTokens(): void {
    this.#tokens.clear();
  }

  /** The Service Account's secrets from now on (a rotation: one revoked, a new one added). */
  setServiceAccountSecrets(secrets: string[]): void {
    if (!this.#serviceAccount) throw new Error('MockJumpCloud: no serviceAccount configured');
    this.#serviceAccount.secrets = [...secrets];
  }

  /** One organization's data (events, users) on an MSP portal. */
  org(id: string): MockJumpCloud {
    const org = this.#orgs?.get(id);
    if (!org) throw new Error(`MockJumpCloud: no organization ${JSON.stringify(id)}`);
    return org.data;
  }

  /** The organizations the provider has now, in the order added. */
  get organizations(): MockOrganization[] {
    return [...(this.#orgs ?? new Map()).entries()].map(([id, o]) => ({ id, name: o.name }));
  }

  /** A new organization of the MSP portal, with its own data (seeded from its id). */
  addOrganization(org: MockOrganization): MockJumpCloud {
    if (!this.#orgs) throw new Error('MockJumpCloud: not an MSP portal (start it with organizations)');
    if (this.#orgs.has(org.id)) throw new Error(`MockJumpCloud: organization ${org.id} exists`);
    const data = new MockJumpCloud({ organization: org.id, users: org.users ?? 5, seed: seedOf(org.id), now: this.#now, extraServices: this.#options.extraServices });
    this.#orgs.set(org.id, { name: org.name, data, forbidden: false });
    return data;
  }

  /** The organization leaves the provider: unlisted, and 404 for its id. */
  removeOrganization(id: string): void {
    this.org(id);
    this.#orgs!.delete(id);
  }

  /** The key may (no longer) read this organization: 403 for its id (it stays listed). */
  forbidOrganization(id: string, forbidden = true): void {
    this.org(id);
    this.#orgs!.get(id)!.forbidden = forbidden;
  }

  /** Calls `listener` with the body of each count request, before it is answered. */
  onCount(listener: (query: { start_time: unknown; end_time: unknown; service: unknown }) => void): void {
    this.#countListeners.push(listener);
  }

  /** Highest number of events and systemusers requests in flight at the same time. */
  get maxConcurrentRequests(): number {
    return this.maxInFlight;
  }

  // -------------------------------------------------------------------------------------------
  // Events: ground truth and feeding

  /** Ground truth: every event ever added, visible or not yet, sorted by (timestamp ms, id); fresh copies. */
  get events(): JumpCloudEvent[] {
    return this.#events.map((e) => JSON.parse(e.json.toString()) as JumpCloudEvent);
  }

  /** How many events were ever added (cheap, unlike `events.length`). */
  get eventCount(): number {
    return this.#events.length;
  }

  /** The events the API returns now (late ones excluded), sorted by (timestamp ms, id); fresh copies. */
  visibleEvents(): JumpCloudEvent[] {
    const now = this.#now();
    return this.#events.filter((e) => e.visibleAt <= now).map((e) => JSON.parse(e.json.toString()) as JumpCloudEvent);
  }

  /**
   * Store events. Missing `id` (24 hex), `@version` ('1'), `organization`, `service` ('directory') and
   * `event_type` are filled in; a string timestamp is kept verbatim, a number (epoch ms) is printed
   * with 3 fraction digits. With `visibleAfterMs` they are returned only from Date.now() + visibleAfterMs
   * on (late indexing). Throws on a bad timestamp or an id already stored. Returns the events as stored.
   */
  addEvents(list: readonly JumpCloudEventInput[], options: { visibleAfterMs?: number } = {}): JumpCloudEvent[] {
    const visibleAt = this.#now() + (options.visibleAfterMs ?? 0);
    const batchIds = new Set<string>();
    const out: JumpCloudEvent[] = [];
    const stored: StoredEvent[] = [];
    for (const input of list) {
      const ev: Record<string, unknown> = { ...input };
      if (typeof input.timestamp === 'number') {
        if (!Number.isFinite(input.timestamp)) throw new RangeError(`MockJumpCloud: bad timestamp ${input.timestamp}`);
        ev.timestamp = new Date(input.timestamp).toISOString();
      }
      const timestamp = ev.timestamp as string;
      const ns = typeof timestamp === 'string' ? parseRfc3339Nanos(timestamp) : null;
      if (ns === null) throw new RangeError(`MockJumpCloud: timestamp ${JSON.stringify(timestamp)} is not RFC 3339`);
      const [ms, sub] = splitNs(ns);
      ev['@version'] ??= '1';
      ev.id ??= this.#newEventId(ms);
      ev.organization ??= this.#organization;
      ev.service ??= 'directory';
      ev.event_type ??= EVENT_TYPE_BY_SERVICE[ev.service as string] ?? `${String(ev.service)}_event`;
      const id = ev.id;
      if (typeof id !== 'string' || id === '') throw new TypeError('MockJumpCloud: id must be a non-empty string');
      if (typeof ev.service !== 'string') throw new TypeError('MockJumpCloud: service must be a string');
      if (this.#eventIds.has(id) || batchIds.has(id)) throw new Error(`MockJumpCloud: an event with id ${JSON.stringify(id)} is already stored`);
      batchIds.add(id);
      out.push(ev as JumpCloudEvent);
      stored.push({ ms, sub, id, service: ev.service, visibleAt, json: this.#encode(JSON.stringify(ev)) });
    }
    for (const id of batchIds) this.#eventIds.add(id);
    this.#insert(stored);
    return out;
  }

  /** Generate `count` realistic events (templates modelled on the fixtures), add them and return them. */
  generateEvents(count: number, options: GenerateEventsOptions): JumpCloudEvent[] {
    const { fromMs, toMs } = options;
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
    if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || toMs <= fromMs || fromMs < 0 || toMs > 253402300800000) throw new RangeError(`need integer fromMs < toMs within years 1970..9999, got ${fromMs} and ${toMs}`);
    const services = options.services ?? GENERATED_SERVICES;
    if (services.length === 0) throw new RangeError('services must not be empty');
    for (const s of services) if (!(s in TEMPLATES)) throw new RangeError(`no event template for service ${JSON.stringify(s)}`);
    const seed = options.seed ?? this.#generateSeed++;
    const r = mulberry32(seed);
    const people = this.#people();
    const span = toMs - fromMs;
    const stamp = (): [number, number, string] => {
      const ms = fromMs + Math.floor(r() * span);
      const iso = new Date(ms).toISOString();
      if (!options.nanos) return [ms, 0, iso];
      const sub = Math.floor(r() * 1_000_000);
      return [ms, sub, `${iso.slice(0, -1)}${String(sub).padStart(6, '0')}Z`];
    };
    const shared = options.sameTimestamp ? stamp() : undefined;
    const visibleAt = this.#now() + (options.visibleAfterMs ?? 0);
    const out: JumpCloudEvent[] = [];
    const stored: StoredEvent[] = [];
    for (let k = 0; k < count; k++) {
      const [ms, sub, timestamp] = shared ?? stamp();
      let id = objectId(ms, r);
      while (this.#eventIds.has(id)) id = objectId(ms, r);
      this.#eventIds.add(id);
      const ip = pick(r, IP_PREFIXES) + int(r, 1, 254);
      const context: EventContext = { id, ms, timestamp, organization: this.#organization, person: pick(r, people), admin: pick(r, ADMINS), ip };
      const service = pick(r, services);
      const event = TEMPLATES[service](r, context) as JumpCloudEvent;
      out.push(event);
      stored.push({ ms, sub, id, service, visibleAt, json: this.#encode(JSON.stringify(event)) });
    }
    this.#insert(stored);
    return out;
  }

  /** UTF-8 bytes of `json`, carved out of 1 MiB slabs (cheaper than one Buffer.from per event). */
  #encode(json: string): Buffer {
    const worst = json.length * 3;
    if (this.#slab.length - this.#slabUsed < worst) {
      this.#slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, worst));
      this.#slabUsed = 0;
    }
    const n = this.#slab.write(json, this.#slabUsed);
    const bytes = this.#slab.subarray(this.#slabUsed, this.#slabUsed + n);
    this.#slabUsed += n;
    return bytes;
  }

  #newEventId(ms: number): string {
    for (;;) {
      const id = objectId(ms, this.#idRng);
      if (!this.#eventIds.has(id)) return id;
    }
  }

  #insert(batch: StoredEvent[]): void {
    if (batch.length === 0) return;
    batch.sort(compareEvents);
    const events = this.#events;
    const first = batch[0]!;
    // Usually the batch lands after everything stored: append. Otherwise merge it with the tail it overlaps.
    const at = upperBound(events, first.ms, first.id);
    const tail = at === events.length ? [] : events.splice(at);
    let i = 0;
    let j = 0;
    while (i < tail.length && j < batch.length) events.push(compareEvents(tail[i]!, batch[j]!) <= 0 ? tail[i++]! : batch[j++]!);
    while (i < tail.length) events.push(tail[i++]!);
    while (j < batch.length) events.push(batch[j++]!);
  }

  // -------------------------------------------------------------------------------------------
  // System users

  /** Ground truth: the current system users in _id order (fresh copies). */
  users(): Array<Record<string, unknown>> {
    return [...this.#users.values()].map((u) => JSON.parse(u.json) as Record<string, unknown>);
  }

  /** Create n users, `created` after every user so far (so their _ids sort last). Returns their _ids. */
  addUsers(n: number): string[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    const ids: string[] = [];
    for (let k = 0; k < n; k++) {
      this.#userClockMs += 3_600_000 + Math.floor(this.#userClockRng() * 2 * 86_400_000);
      const user = this.#generateUser(this.#nextUserIndex++, this.#userClockMs);
      const id = user._id as string;
      this.#users.set(id, { record: user, json: JSON.stringify(user) });
      ids.push(id);
    }
    this.#sortedUsers.clear();
    return ids;
  }

  /** Change these users so their records differ: the given fields, or else the next jobTitle. */
  changeUsers(ids: readonly string[], patch?: Record<string, unknown>): void {
    for (const id of ids) {
      const u = this.#user(id);
      if (patch) {
        Object.assign(u.record, patch);
      } else {
        const current = u.record.jobTitle as string;
        u.record.jobTitle = JOB_TITLES[(JOB_TITLES.indexOf(current) + 1) % JOB_TITLES.length];
      }
      u.json = JSON.stringify(u.record);
    }
    this.#sortedUsers.clear();
  }

  removeUsers(ids: readonly string[]): void {
    for (const id of ids) {
      const u = this.#user(id);
      this.#users.delete(id);
      this.#usernames.delete(u.record.username as string);
    }
    this.#sortedUsers.clear();
  }

  #user(id: string): StoredUser {
    const u = this.#users.get(id);
    if (!u) throw new Error(`MockJumpCloud: no user with _id ${JSON.stringify(id)}`);
    return u;
  }

  #generateUser(index: number, createdMs: number): Record<string, unknown> {
    const r = mulberry32(Math.imul(index + 1, 2654435761) ^ this.#seed);
    const first = pick(r, FIRST_NAMES);
    const last = pick(r, LAST_NAMES);
    let username = `${asciiName(first)}.${asciiName(last)}`;
    if (this.#usernames.has(username)) username += String(index + 1);
    this.#usernames.add(username);
    const id = objectId(createdMs, r);
    const mfa = chance(r, 0.7);
    const excluded = !mfa && chance(r, 0.3);
    // Keys in alphabetical order, as JumpCloud's v1 API prints them.
    return {
      _id: id,
      account_locked: chance(r, 0.04),
      account_locked_date: null,
      activated: true,
      addresses: [],
      allow_public_key: true,
      attributes: [],
      company: 'ACME',
      costCenter: '',
      created: new Date(createdMs).toISOString(),
      department: pick(r, DEPARTMENTS),
      description: '',
      displayname: `${first} ${last}`,
      email: `${username}@acme.example`,
      employeeIdentifier: `E${String(1001 + index)}`,
      employeeType: pick(r, ['Full-time', 'Full-time', 'Contractor']),
      enable_managed_uid: false,
      enable_user_portal_multifactor: mfa,
      externally_managed: false,
      firstname: first,
      id,
      jobTitle: pick(r, JOB_TITLES),
      lastname: last,
      ldap_binding_user: false,
      location: pick(r, LOCATIONS),
      mfa: { configured: mfa, exclusion: excluded, exclusionUntil: excluded ? new Date(createdMs + 14 * 86_400_000).toISOString() : null },
      middlename: '',
      organization: this.#organization,
      password_expired: false,
      password_never_expires: false,
      passwordless_sudo: false,
      phoneNumbers: [],
      samba_service_user: false,
      ssh_keys: [],
      state: 'ACTIVATED',
      sudo: chance(r, 0.1),
      suspended: false,
      totp_enabled: mfa,
      unix_guid: 5001 + index,
      unix_uid: 5001 + index,
      username,
    };
  }

  /** Who generated events are about: the current users, or a fixed pair when there are none. */
  #people(): Person[] {
    const fromUsers = [...this.#users.values()].map((u) => ({ id: u.record._id as string, username: u.record.username as string, email: u.record.email as string }));
    const base = fromUsers.length > 0 ? fromUsers : [{ id: '619294e65bb5c23fb2b1ce09', username: 'jane.doe', email: 'jane.doe@acme.example' }, { id: '627e7e94c17c5a34e72b862a', username: 'john.doe', email: 'john.doe@acme.example' }];
    return base.map((p) => {
      const r = mulberry32(seedOf(p.id));
      return { ...p, hostname: `${p.username.split('.')[0]!.toUpperCase()}-MBP-${hex32(r).slice(0, 4).toUpperCase()}`, systemId: objectId(USERS_BASE_MS, r) };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Faults

  /** Script the next `times` requests to a route (consumed in order, before any other check). */
  failNext(route: FaultRoute, fault: MockJumpCloudFault, times = 1): void {
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`);
    for (let k = 0; k < times; k++) this.#faults[route].push({ ...fault });
  }

  /** Answers a scripted fault; false when the fault only delays and the normal answer follows. */
  #answerFault(req: IncomingMessage, res: ServerResponse, entry: MockJumpCloudRequest, fault: MockJumpCloudFault): boolean {
    if (fault.reset) {
      this.resetConnection(req, entry);
      return true;
    }
    if (fault.status === undefined && fault.body === undefined) return false;
    const status = fault.status ?? 500;
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
    let body = fault.body;
    if (body !== undefined) headers['content-type'] = fault.contentType ?? (body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : JSON_TYPE);
    else body = message(STATUS_CODES[status] ?? 'Error');
    this.send(res, entry, status, body, headers);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const route: MockJumpCloudRoute = ROUTES[url.pathname] ?? 'other';
    const entry: MockJumpCloudRequest = { route, method: req.method ?? 'GET', path: url.pathname, query, headers, body: undefined, status: 0, authorized: false, at: Date.now() };
    this.requests.push(entry);
    try {
      if (route === 'other') {
        req.resume();
        return this.send(res, entry, 404, message('Not Found'));
      }
      const method = route === 'events' || route === 'count' || route === 'token' ? 'POST' : 'GET';
      if (req.method !== method) {
        req.resume();
        return this.send(res, entry, 405, message('Method Not Allowed'), { allow: method });
      }
      this.countInFlight(res);
      const raw = await readBody(req, 1024 * 1024);
      if (raw !== '') {
        try {
          entry.body = JSON.parse(raw);
        } catch {
          entry.body = route === 'token' ? raw : undefined;
        }
      }
      const fault = this.#faults[route].shift();
      await this.timers.sleep(this.#latencyMs + (fault?.delayMs ?? 0));
      if (fault && this.#answerFault(req, res, entry, fault)) return;
      if (route === 'token') {
        const [status, body] = this.#token(req, raw);
        return this.send(res, entry, status, body, { 'cache-control': 'no-store' });
      }
      const denied = this.#authError(req);
      if (denied) return this.send(res, entry, denied[0], denied[1]);
      if (route === 'organizations') {
        if (req.headers['x-org-id'] !== undefined) return this.send(res, entry, 403, message('ID included on unsupported route'));
        entry.authorized = true;
        let page: string;
        try {
          page = this.#organizationsPage(url.searchParams);
        } catch (err) {
          if (err instanceof BadRequest) return this.send(res, entry, 400, err.message);
          throw err;
        }
        return this.send(res, entry, 200, page);
      }
      const [target, refused] = this.#target(req);
      if (refused) return this.send(res, entry, refused[0], refused[1]);
      entry.authorized = true;
      if (this.#orgs) entry.org = target.#organization;
      try {
        if (route === 'events') {
          const [body, pageHeaders] = target.#eventsPage(raw);
          this.send(res, entry, 200, body, pageHeaders);
        } else if (route === 'count') {
          for (const listener of this.#countListeners) listener(entry.body as { start_time: unknown; end_time: unknown; service: unknown });
          this.send(res, entry, 200, JSON.stringify({ count: target.#eventsCount(raw) }));
        } else {
          this.send(res, entry, 200, target.#usersPage(url.searchParams));
        }
      } catch (err) {
        if (err instanceof BadRequest) return this.send(res, entry, 400, err.message);
        throw err;
      }
    } catch (err) {
      if (!res.headersSent) this.send(res, entry, 500, message('Internal Server Error'));
      else res.destroy(err as Error);
    }
  }

  /** The data a request is about: this mock's, or (MSP portal) the organization x-org-id names; or why not. */
  #target(req: IncomingMessage): [MockJumpCloud, [number, string] | null] {
    if (!this.#orgs) return [this, null];
    const raw = req.headers['x-org-id'];
    const id = typeof raw === 'string' ? raw.trim() : '';
    if (id === '') return [this, [401, message('ID not included for multi-tenant admin')]];
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return [this, [400, message('Malformed ID')]];
    const org = this.#orgs.get(id);
    if (!org) return [this, [404, message('Organization ID Not Found')]];
    if (org.forbidden) return [this, [403, message('Forbidden')]];
    return [org.data, null];
  }

  /** `POST /oauth2/token`: client credentials, HTTP Basic, as JumpCloud's CLI sends them. */
  #token(req: IncomingMessage, raw: string): [number, string] {
    const form = new URLSearchParams(raw);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return [400, JSON.stringify({ error: 'invalid_request', error_description: 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.' })];
    if (form.get('grant_type') !== 'client_credentials') return [400, JSON.stringify({ error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server.' })];
    if (form.get('scope') !== 'api') return [400, JSON.stringify({ error: 'invalid_scope', error_description: 'The requested scope is invalid, unknown, or malformed.' })];
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    const decoded = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const account = this.#serviceAccount;
    if (!account || colon < 0 || decoded.slice(0, colon) !== account.clientId || !account.secrets.includes(decoded.slice(colon + 1))) return [401, INVALID_CLIENT];
    if (account.grantDenied) return [403, JSON.stringify({ error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.' })];
    const token = randomBytes(32).toString('base64url');
    const lifetime = account.tokenLifetimeSeconds ?? 3600;
    this.#tokens.set(token, this.#now() + lifetime * 1000);
    this.tokensIssued++;
    return [200, JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: lifetime, scope: 'api' })];
  }

  #tokenValid(token: string): boolean {
    const expiresAt = this.#tokens.get(token);
    if (expiresAt === undefined) return false;
    if (this.#now() >= expiresAt) {
      this.#tokens.delete(token);
      return false;
    }
    return true;
  }

  #organizationsPage(q: URLSearchParams): string {
    const limit = Number(q.get('limit') ?? '10');
    const skip = Number(q.get('skip') ?? '0');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USERS_LIMIT) throw new BadRequest(message(`limit must be between 1 and ${MAX_USERS_LIMIT}`));
    const all = this.#orgs ? [...this.#orgs.entries()].map(([id, o]) => ({ _id: id, displayName: o.name })) : [{ _id: this.#organization, displayName: 'Acme' }];
    return JSON.stringify({ totalCount: all.length, results: all.slice(skip, skip + limit) });
  }

  #authError(req: IncomingMessage): [number, string] | null {
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer && this.#serviceAccount) {
      if (!this.#tokenValid(bearer[1]!)) return [401, message('Unauthorized')];
      return this.#orgCheck(req);
    }
    const key = req.headers['x-api-key'];
    if (typeof key === 'string' && this.#forbiddenKeys.has(key)) return [403, message('Forbidden')];
    if (key !== this.#apiKey) return [401, message('Unauthorized')];
    return this.#orgCheck(req);
  }

  /** The single-organization check (`orgId`): x-org-id must name it. */
  #orgCheck(req: IncomingMessage): [number, string] | null {
    if (this.#orgId !== undefined) {
      const raw = req.headers['x-org-id'];
      const orgs = (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (orgs.length === 0 || orgs.some((o) => o !== this.#orgId)) return [403, message('Forbidden: org not accessible')];
    }
    return null;
  }

  /** The query of an events (or count) request. Throws BadRequest with the JSON body to answer. */
  #eventQuery(raw: string) {
    const bad = (text: string) => new BadRequest(message(text));
    let q: unknown;
    try {
      q = JSON.parse(raw);
    } catch {
      throw bad('request body is not valid JSON');
    }
    if (q === null || typeof q !== 'object' || Array.isArray(q)) throw bad('request body must be a JSON object');
    const body = q as Record<string, unknown>;

    const service = body.service;
    if (!Array.isArray(service) || service.length === 0 || !service.every((s): s is string => typeof s === 'string')) throw bad('service must be a non-empty array of strings');
    for (const s of service) if (!this.#services.has(s)) throw bad(`invalid service: ${s}; supported values: ${[...this.#services].join(', ')}`);
    const all = service.includes('all');
    const services = new Set(service);

    if (body.start_time === undefined || body.start_time === null) throw bad('start_time is required');
    const startNs = typeof body.start_time === 'string' ? parseRfc3339Nanos(body.start_time) : null;
    if (startNs === null) throw bad('start_time must be an RFC 3339 date-time');
    let endNs = BigInt(this.#now()) * NS_PER_MS;
    if (body.end_time !== undefined && body.end_time !== null) {
      const parsed = typeof body.end_time === 'string' ? parseRfc3339Nanos(body.end_time) : null;
      if (parsed === null) throw bad('end_time must be an RFC 3339 date-time');
      endNs = parsed;
    }
    if (startNs >= endNs) throw new BadRequest(START_BEFORE_END);

    let limit = DEFAULT_EVENTS_LIMIT;
    if (body.limit !== undefined && body.limit !== null) {
      if (typeof body.limit !== 'number' || !Number.isInteger(body.limit) || body.limit < 1) throw bad('limit must be a positive integer');
      if (body.limit > MAX_EVENTS_LIMIT) throw bad(`limit must be <= ${MAX_EVENTS_LIMIT}`);
      limit = body.limit;
    }

    let descending = true;
    if (body.sort !== undefined && body.sort !== null) {
      const sort = typeof body.sort === 'string' ? body.sort.toUpperCase() : '';
      if (sort !== 'ASC' && sort !== 'DESC') throw bad('sort must be ASC or DESC');
      descending = sort === 'DESC';
    }

    let after: { ms: number; id: string } | undefined;
    const sa = body.search_after;
    if (sa !== undefined && sa !== null && !(Array.isArray(sa) && sa.length === 0)) {
      const ms = Array.isArray(sa) ? (typeof sa[0] === 'string' && /^-?\d+$/.test(sa[0]) ? Number(sa[0]) : sa[0]) : undefined;
      if (!Array.isArray(sa) || sa.length !== 2 || typeof ms !== 'number' || !Number.isSafeInteger(ms) || typeof sa[1] !== 'string') {
        throw bad('search_after must be [timestamp, id] as returned in X-Search_after');
      }
      after = { ms, id: sa[1] };
    }

    const [startMs, startSub] = splitNs(startNs);
    const [endMs, endSub] = splitNs(endNs);
    return { all, services, startMs, startSub, endMs, endSub, limit, descending, after, sa };
  }

  /**
   * `POST /insights/directory/v1/events/count`: the events the query matches, late ones included (the
   * count sees what the index holds, the listing what it returns now: "late beyond the overlap").
   */
  #eventsCount(raw: string): number {
    const { all, services, startMs, startSub, endMs, endSub } = this.#eventQuery(raw);
    let n = 0;
    for (let i = lowerBound(this.#events, startMs, ''); i < this.#events.length; i++) {
      const e = this.#events[i]!;
      if (e.ms > endMs) break;
      if (!all && !services.has(e.service)) continue;
      if ((e.ms === startMs && e.sub < startSub) || (e.ms === endMs && e.sub >= endSub)) continue;
      n += 1;
    }
    return n;
  }

  /** Throws BadRequest with the JSON body to answer. */
  #eventsPage(raw: string): [Buffer, Record<string, string>] {
    const { all, services, startMs, startSub, endMs, endSub, limit, descending, after, sa } = this.#eventQuery(raw);
    const events = this.#events;
    const now = this.#now();
    const page: StoredEvent[] = [];
    let bytes = 2;
    const take = (e: StoredEvent): void => {
      if (e.visibleAt > now) return;
      if (!all && !services.has(e.service)) return;
      if (e.ms === startMs && e.sub < startSub) return;
      if (e.ms === endMs && e.sub >= endSub) return;
      page.push(e);
      bytes += e.json.length + 1;
    };
    if (!descending) {
      let i = lowerBound(events, startMs, '');
      if (after) i = Math.max(i, upperBound(events, after.ms, after.id));
      for (; i < events.length && page.length < limit; i++) {
        const e = events[i]!;
        if (e.ms > endMs) break;
        take(e);
      }
    } else {
      let i = lowerBound(events, endMs + 1, '') - 1;
      if (after) i = Math.min(i, lowerBound(events, after.ms, after.id) - 1);
      for (; i >= 0 && page.length < limit; i--) {
        const e = events[i]!;
        if (e.ms < startMs) break;
        take(e);
      }
    }
    const last = page.at(-1);
    const searchAfter = last ? `[${last.ms},${asciiJson(last.id)}]` : sa === undefined || sa === null ? '[]' : asciiJson(sa);
    const out = Buffer.allocUnsafe(page.length === 0 ? 2 : bytes - 1);
    let o = 0;
    out[o++] = 0x5b; // [
    for (let k = 0; k < page.length; k++) {
      if (k > 0) out[o++] = 0x2c; // ,
      o += page[k]!.json.copy(out, o);
    }
    out[o++] = 0x5d; // ]
    return [out, { 'X-Result-Count': String(page.length), 'X-Limit': String(limit), 'X-Search_after': searchAfter }];
  }

  #usersPage(q: URLSearchParams): string {
    const integer = (name: string, fallback: number): number => {
      const raw = q.get(name);
      if (raw === null || raw === '') return fallback;
      if (!/^\d{1,15}$/.test(raw)) throw new BadRequest(message(`${name} must be a non-negative integer`));
      return Number(raw);
    };
    const limit = integer('limit', DEFAULT_USERS_LIMIT);
    if (limit > MAX_USERS_LIMIT) throw new BadRequest(message(`limit must be <= ${MAX_USERS_LIMIT}`));
    if (limit < 1) throw new BadRequest(message('limit must be >= 1'));
    const skip = integer('skip', 0);
    const sortKey = (q.get('sort') ?? '').split(/[\s,]+/).filter((s) => s !== '').join(' ') || '_id';
    let sorted = this.#sortedUsers.get(sortKey);
    if (!sorted) {
      const specs = sortKey.split(' ').map((s) => (s.startsWith('-') ? { field: s.slice(1), dir: -1 } : { field: s, dir: 1 }));
      sorted = [...this.#users.values()].sort((a, b) => {
        for (const { field, dir } of specs) {
          const c = compareValues(a.record[field], b.record[field]);
          if (c !== 0) return c * dir;
        }
        return compareValues(a.record._id, b.record._id);
      });
      this.#sortedUsers.set(sortKey, sorted);
    }
    const results = sorted.slice(skip, skip + limit).map((u) => u.json);
    return `{"totalCount":${sorted.length},"results":[${results.join(',')}]}`;
  }
}
