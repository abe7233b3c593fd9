import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigInvalidError } from '../errors.ts';
import { createAjv } from '../schema/ajv.ts';
import { readSchema } from '../schema/read-schema.ts';
import { parseDurationMs } from './duration.ts';

export type WebhookAuthMode = 'header' | 'basic' | 'none';

export const connectorTypes = ['jamf_pro.inventory', 'jamf_protect.alerts', 'jumpcloud.directory_insights', 'jumpcloud.system_users'] as const;
export type ConnectorType = (typeof connectorTypes)[number];

/** One entry of `connectors:`, validated against its type's schema, defaults applied. */
export interface ConnectorConfig {
  readonly name: string;
  readonly type: ConnectorType;
  readonly tenant: string;
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly baseUrl: string;
  /** RFC 3339; changing it resets the checkpoint. */
  readonly start: string | undefined;
  readonly timeoutMs: number;
  readonly maxConnections: number;
  readonly maxAttempts: number;
  /** The entry as written (file keys), with defaults: what the connector type reads its own settings from. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The validated, frozen configuration. Keys mirror the file keys in camelCase. */
export interface Config {
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  readonly redisAppendfsync: 'always' | 'everysec';
  readonly host: string;
  readonly port: number;
  readonly adminPort: number | undefined;
  readonly adminHost: string;
  readonly stream: string;
  readonly rejectedStream: string;
  /** Approximate cap of the rejected stream (XADD MAXLEN ~); 0: none. */
  readonly rejectedStreamMaxLen: number;
  /** Retention (src/consumer/stream-trimmer.ts): never trims what a consumer group has not acknowledged. */
  readonly streamMaxLen: number | undefined;
  readonly streamMaxAge: string | undefined;
  readonly streamMaxAgeMs: number | undefined;
  readonly streamTrimIntervalMs: number;
  readonly streamTrimWithoutGroups: boolean;
  readonly webhookPath: string;
  readonly webhookAuth: WebhookAuthMode;
  readonly webhookHeader: string;
  /** Undefined in header mode until main.ts loads or generates the secret. */
  readonly webhookSecrets: readonly string[] | undefined;
  readonly webhookBasicUsername: string | undefined;
  readonly webhookBasicPassword: string | undefined;
  readonly dedupWindowSeconds: number;
  readonly protectPath: string;
  /** Unset (with protectSecrets): the Jamf Protect route uses the webhook's authentication. */
  readonly protectHeader: string | undefined;
  readonly protectSecrets: readonly string[] | undefined;
  readonly protectDedupWindowSeconds: number;
  readonly logsPath: string;
  /** Unset (with logsSecrets): the logs route uses the webhook's authentication. */
  readonly logsHeader: string | undefined;
  readonly logsSecrets: readonly string[] | undefined;
  readonly bodyLimitBytes: number;
  readonly decodedBodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly authFailureLimit: number;
  readonly trustProxy: boolean | string[];
  readonly appendTimeoutMs: number;
  readonly redisWaitReplicas: number;
  readonly redisWaitTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly logLevel: string;
  readonly connectorLeaseTtlMs: number;
  readonly connectors: readonly ConnectorConfig[];
  /** Where the configuration came from, for the start-up log line. */
  readonly configFile: string | undefined;
}

interface SettingSchema {
  type?: string;
  enum?: string[];
  'x-env'?: string;
  'x-secret'?: boolean;
  default?: unknown;
  description?: string;
}

export const configSchema = readSchema('config.schema.json') as {
  properties: Record<string, SettingSchema>;
  definitions: Record<ConnectorType, { required: string[]; properties: Record<string, SettingSchema & { const?: string }> }>;
};

/** Header names Jamf Pro refuses as Header Authentication keys, and ones a proxy owns. */
const forbiddenHeaders = new Set(['content-type', 'user-agent', 'accept-encoding', 'content-length', 'host', 'connection', 'transfer-encoding']);

const camel = (key: string) => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

function fromEnv(raw: string, setting: SettingSchema): unknown {
  switch (setting.type) {
    case 'integer':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : raw;
    }
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return raw;
  }
}

/** A `${NAME}` reference to an environment variable in a string of the file. */
const envReference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replace ${NAME} in every string of a parsed YAML document; collect references to unset variables,
 * and the JSON pointers of the values that held them (their validation errors would say it twice).
 */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[], unset: Set<string>, pointer = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(envReference, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${path}: refers to \${${name}}, but the environment variable ${name} is not set`);
        unset.add(pointer);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) {
    // Connector entries are named by their index and name, as everywhere else.
    const label = (i: number, v: unknown) => (pointer === '/connectors' ? connectorLabel(i, v) : `${path}[${i}]`);
    return value.map((v, i) => substituteEnv(v, env, label(i, v), problems, unset, `${pointer}/${i}`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, path ? `${path}.${k}` : k, problems, unset, `${pointer}/${k}`)]));
  }
  return value;
}

/**
 * `onlyConnector`: the document with that connector as its only entry, so that the other entries'
 * settings (and the variables they refer to) do not matter; a name no entry has is the one problem.
 */
function onlyTheConnector(doc: Record<string, unknown>, only: string, env: NodeJS.ProcessEnv, configFile: string | undefined): Record<string, unknown> {
  const entries = doc.connectors;
  if (!Array.isArray(entries)) return doc;
  const nameOf = (entry: unknown) => {
    const name = (entry as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? name.replace(envReference, (_m, v: string) => env[v] ?? '') : undefined;
  };
  const names = entries.map(nameOf).filter((n): n is string => n !== undefined && n !== '');
  const index = entries.findIndex((entry) => nameOf(entry) === only);
  if (index === -1) {
    const near = closestName(only, names);
    throw new ConfigInvalidError([
      `No connector named "${only}" in ${configFile ?? 'the configuration'}.${names.length > 0 ? ` Configured: ${names.join(', ')}.` : ' It has no connectors.'}${near ? ` Did you mean ${near}?` : ''}`,
    ]);
  }
  return { ...doc, connectors: [entries[index]] };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** What is wrong with a Redis URL, never quoting it (it may hold a password); undefined when fine. */
export function redisUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL (expected redis://[user:password@]host[:port][/db]; characters such as @ : / % in the password must be percent-encoded)';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'must start with redis:// or rediss://';
  if (!url.hostname) return 'names no host';
  if (url.pathname && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) return 'the path must be a database number such as /0';
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return 'has a badly percent-encoded user or password';
  }
  return undefined;
}

/** `connectors[0] (acme-jamf)`, or `connectors[0]` while the entry has no name. */
function connectorLabel(index: number, entry: unknown): string {
  const name = (entry as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' ? `connectors[${index}] (${name})` : `connectors[${index}]`;
}

/** The connector entry an ajv instance path is about (`/connectors/0/...`), with its index. */
function connectorAt(instancePath: string, settings: Record<string, unknown>): { index: number; entry: Record<string, unknown> | undefined } | undefined {
  const match = /^\/connectors\/(\d+)(?:\/|$)/.exec(instancePath);
  if (!match) return undefined;
  const index = Number(match[1]);
  return { index, entry: (settings.connectors as Record<string, unknown>[] | undefined)?.[index] };
}

/**
 * Turns an ajv instance path (/connectors/0/client_id) into the name a user wrote; a connector entry
 * is named by its index and its name (`connectors[0] (acme-jamf).client_id`).
 */
function settingName(instancePath: string, envSources: Map<string, string>, settings: Record<string, unknown>): string {
  const parts = instancePath.split('/').filter(Boolean);
  const top = parts[0] ?? '';
  const env = envSources.get(top);
  const connector = connectorAt(instancePath, settings);
  const rest = connector ? parts.slice(2) : parts;
  const dotted =
    (connector ? connectorLabel(connector.index, connector.entry) : '') +
    rest.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 && !connector ? p : `.${p}`)).join('');
  return env ? `${env} (${dotted})` : dotted || '(top level)';
}

/** What a connector setting that breaks its pattern or format must look like. */
const connectorValueRules: Record<string, string> = {
  interval: 'must be a duration: a number and a unit, ms, s, m, h or d (30s, 5m, 24h)',
  lag: 'must be a duration: a number and a unit, ms, s, m, h or d (2m)',
  overlap: 'must be a duration: a number and a unit, ms, s, m, h or d (10m)',
  name: 'must be 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit',
  base_url: 'must be an http:// or https:// URL without spaces, a query or a fragment',
  start: 'must be an RFC 3339 time such as 2026-11-01T00:00:00Z',
};

/**
 * Paths a connector's base_url must not end in: the paths Orchard asks for after it, their leading
 * parts, and the vendor addresses most often pasted instead of the base (API docs, the Classic API).
 * Any other path is a prefix (Jamf Pro behind a proxy) and stays. The sources' own paths are checked
 * against these lists by test/config/load-config.test.ts.
 */
const jumpCloudApiPaths = [
  '/insights/directory/v1/events',
  '/insights/directory/v1',
  '/insights/directory',
  '/insights',
  '/api/systemusers',
  '/api/systems',
  '/api/organizations',
  '/api/v2',
  '/api',
];
export const apiPathsByType: Record<ConnectorType, readonly string[]> = {
  'jamf_pro.inventory': ['/api/v1/computers-inventory', '/api/oauth/token', '/api/oauth', '/api/v1', '/api/v2', '/api/doc', '/api', '/uapi', '/JSSResource', '/classicapi/doc', '/classicapi'],
  'jamf_protect.alerts': ['/graphql', '/token'],
  'jumpcloud.directory_insights': jumpCloudApiPaths,
  'jumpcloud.system_users': jumpCloudApiPaths,
};

/**
 * The longest API path `url`'s path ends in (trailing slashes aside), as written there, and the base
 * URL without it (origin and the path before it); `apiPath` undefined when there is none.
 */
function splitApiPath(type: string, url: URL): { apiPath: string | undefined; base: string } {
  const path = url.pathname.replace(/\/+$/, '');
  const lower = path.toLowerCase();
  let found: string | undefined;
  for (const candidate of apiPathsByType[type as ConnectorType] ?? []) {
    if (lower.endsWith(candidate.toLowerCase()) && (found === undefined || candidate.length > found.length)) found = candidate;
  }
  const cut = path.length - (found?.length ?? 0);
  return { apiPath: found === undefined ? undefined : path.slice(cut), base: `${url.origin}${path.slice(0, cut)}` };
}

/** The known name a mistyped one most likely meant: at most two edits away (one for short names), else undefined. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const limit = name.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_v, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** `; did you mean https://…?` for a base_url written without a scheme (`acme.jamfcloud.com`, `jamf.corp:8443`), without an API path. */
function schemeHint(value: string, type: string): string {
  if (!/^[\w-]+(?:\.[\w-]+)*(?::\d+)?(?:\/\S*)?$/.test(value) || !/[.:]/.test(value)) return '';
  let url: URL;
  try {
    url = new URL(`https://${value}`);
  } catch {
    return '';
  }
  return `; did you mean ${splitApiPath(type, url).base}?`;
}

function connectorConfig(entry: Record<string, any>): ConnectorConfig {
  return {
    name: entry.name,
    type: entry.type,
    tenant: entry.tenant ?? '',
    enabled: entry.enabled ?? true,
    intervalMs: parseDurationMs(entry.interval)!,
    baseUrl: String(entry.base_url).replace(/\/+$/, ''),
    start: entry.start,
    timeoutMs: entry.timeout_ms,
    maxConnections: entry.max_connections,
    maxAttempts: entry.max_attempts,
    settings: entry,
  };
}

const validateSettings = createAjv({ useDefaults: true }).compile(configSchema);

/**
 * Builds the configuration from schema defaults ← optional YAML file (ORCHARD_CONFIG) ← environment.
 * Every problem is collected and thrown together as ConfigInvalidError; the result is frozen.
 */
export interface LoadConfigOptions {
  /**
   * A command about one connector (`orchard test`, `orchard checkpoint`): only that entry is read and
   * checked, so the others' secrets need not be set; the configuration holds it alone (as
   * `connectors[0]`). A name no entry has throws ConfigInvalidError naming the configured ones.
   */
  readonly onlyConnector?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const unsetReferences = new Set<string>();
  let settings: Record<string, unknown> = {};
  const configFile = env.ORCHARD_CONFIG ? resolve(cwd, env.ORCHARD_CONFIG) : undefined;

  if (configFile) {
    let text: string | undefined;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (err) {
      problems.push(`ORCHARD_CONFIG: cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (text !== undefined) {
      try {
        const doc: unknown = parseYaml(text, { prettyErrors: true });
        if (doc === null || doc === undefined) settings = {};
        else if (typeof doc !== 'object' || Array.isArray(doc)) problems.push(`ORCHARD_CONFIG: ${configFile} must hold a YAML mapping of settings`);
        else {
          const scoped = options.onlyConnector === undefined ? doc : onlyTheConnector(doc as Record<string, unknown>, options.onlyConnector, env, configFile);
          settings = substituteEnv(scoped, env, '', problems, unsetReferences) as Record<string, unknown>;
        }
      } catch (err) {
        if (err instanceof ConfigInvalidError) throw err;
        problems.push(`ORCHARD_CONFIG: ${configFile} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  const envSources = new Map<string, string>();
  for (const [key, setting] of Object.entries(configSchema.properties)) {
    const name = setting['x-env'];
    if (!name) continue;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    settings[key] = fromEnv(raw, setting);
    envSources.set(key, name);
  }

  if (!validateSettings(settings)) {
    for (const e of validateSettings.errors ?? []) {
      // "must match then schema" only repeats the errors found inside the type's schema.
      if (e.keyword === 'if') continue;
      // A value that referred to an unset variable is already reported as such.
      if (unsetReferences.has(e.instancePath)) continue;
      const where = settingName(e.instancePath, envSources, settings);
      // The type of the connector entry the error is about itself (not one of its nested values).
      const connector = connectorAt(e.instancePath, settings);
      const type = connector && /^\/connectors\/\d+$/.test(e.instancePath) ? connector.entry?.type : undefined;
      if (e.keyword === 'required') {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        problems.push(`${where}.${missing}: missing${typeof type === 'string' ? ` (required for type ${type})` : ''}`);
      } else if (e.keyword === 'const' && e.instancePath.endsWith('/type')) {
        continue;
      } else if (e.keyword === 'additionalProperties') {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const table = typeof type === 'string' ? `the README's connector settings for ${type}` : "the README's table of settings";
        const known = typeof type === 'string' ? Object.keys(configSchema.definitions[type as ConnectorType]?.properties ?? {}) : e.instancePath === '' ? Object.keys(configSchema.properties) : [];
        const near = closestName(extra, known);
        problems.push(`${where === '(top level)' ? '' : `${where}.`}${extra}: unknown setting (${near ? `did you mean ${near}? ` : ''}check the spelling; see ${table})`);
      } else if (e.keyword === 'enum') {
        problems.push(`${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`);
      } else if (connector && (e.keyword === 'pattern' || e.keyword === 'format')) {
        problems.push(`${where}: ${connectorValueRules[e.instancePath.split('/').pop() ?? ''] ?? e.message}`);
      } else if (configSchema.properties[e.instancePath.split('/')[1] ?? '']?.['x-secret'] && e.keyword === 'pattern') {
        problems.push(`${where}: must be printable ASCII without spaces or commas`);
      } else {
        problems.push(`${where}: ${e.message}`);
      }
    }
  }
  const s = settings as Record<string, any>;

  // Rules that span settings.
  const basicSet = s.webhook_basic_username !== undefined || s.webhook_basic_password !== undefined;
  const auth: WebhookAuthMode = s.webhook_auth ?? (basicSet ? 'basic' : 'header');
  if (auth === 'basic' && (s.webhook_basic_username === undefined || s.webhook_basic_password === undefined)) {
    problems.push('ORCHARD_WEBHOOK_AUTH=basic needs both ORCHARD_WEBHOOK_BASIC_USERNAME and ORCHARD_WEBHOOK_BASIC_PASSWORD');
  }
  for (const key of ['webhook_header', 'protect_header', 'logs_header']) {
    if (typeof s[key] === 'string' && forbiddenHeaders.has(s[key].toLowerCase())) {
      problems.push(`${envSources.get(key) ?? key}: ${s[key]} cannot carry the secret (Jamf does not allow it as a custom authentication header)`);
    }
  }
  for (const route of ['protect', 'logs']) {
    const header = `${route}_header`;
    const secrets = `${route}_secrets`;
    if (s[header] !== undefined && s[secrets] === undefined) {
      problems.push(`${envSources.get(header) ?? header} is set without ${secrets} (ORCHARD_${secrets.toUpperCase()}): give the route its secrets too, or unset it to use the webhook's authentication`);
    }
  }
  const paths = new Map<string, string>();
  for (const [key, fallback] of [['webhook_path', '/jamf-pro-events'], ['protect_path', '/jamf-protect-events'], ['logs_path', '/jamf-pro-logs']] as const) {
    const path = (s[key] as string | undefined) ?? fallback;
    const other = paths.get(path);
    const label = (k: string) => `${configSchema.properties[k]?.['x-env'] ?? k} (${k})`;
    if (other) problems.push(`${label(key)} is ${path}, the same as ${label(other)}: each push route needs its own path`);
    paths.set(path, key);
  }
  if ((s.tls_cert_file === undefined) !== (s.tls_key_file === undefined)) {
    problems.push('tls_cert_file and tls_key_file (ORCHARD_TLS_CERT_FILE, ORCHARD_TLS_KEY_FILE) must be set together');
  }
  if (typeof s.stream_max_age === 'string' && parseDurationMs(s.stream_max_age) === 0) {
    problems.push(`${envSources.get('stream_max_age') ?? 'stream_max_age'}: must be longer than 0 (leave it unset for no age limit)`);
  }
  if (s.stream !== undefined && s.stream === s.rejected_stream) {
    problems.push('ORCHARD_REJECTED_STREAM (rejected_stream) must differ from ORCHARD_STREAM (stream)');
  }
  if (typeof s.redis_url === 'string') {
    const problem = redisUrlProblem(s.redis_url);
    if (problem) problems.push(`${envSources.get('redis_url') ?? 'redis_url'}: ${problem}`);
  }
  if (s.request_timeout_ms !== undefined && s.shutdown_timeout_ms !== undefined && s.request_timeout_ms >= s.shutdown_timeout_ms) {
    problems.push('ORCHARD_REQUEST_TIMEOUT_MS (request_timeout_ms) must be below ORCHARD_SHUTDOWN_TIMEOUT_MS (shutdown_timeout_ms), or a slow request outlives shutdown');
  }
  if (s.admin_port !== undefined && s.admin_port !== 0 && s.admin_port === s.port) {
    problems.push('ORCHARD_ADMIN_PORT (admin_port) must differ from PORT (port)');
  }
  if (Array.isArray(s.connectors)) {
    const seen = new Set<string>();
    s.connectors.forEach((c: Record<string, unknown>, i: number) => {
      if (typeof c?.name === 'string') {
        if (seen.has(c.name)) problems.push(`${connectorLabel(i, c)}.name: "${c.name}" is used by an earlier connector; names must be unique`);
        seen.add(c.name);
      }
      const entry = connectorLabel(i, c);
      for (const key of ['interval', 'lag', 'overlap']) {
        if (typeof c?.[key] === 'string' && parseDurationMs(c[key] as string) === 0) problems.push(`${entry}.${key}: must be longer than 0`);
      }
      if (typeof c?.base_url === 'string') {
        // Credentials belong in their own settings (kept secret); a URL is logged and shown in /status.
        let url: URL | undefined;
        try {
          url = new URL(c.base_url);
        } catch {
          url = undefined;
        }
        if (!url || !/^https?:$/.test(url.protocol)) {
          // One problem for base_url: the schema's pattern has reported it already when it is on the file.
          const hint = schemeHint(c.base_url, typeof c.type === 'string' ? c.type : '');
          const reported = problems.findIndex((p) => p.startsWith(`${entry}.base_url: `));
          if (reported === -1) problems.push(`${entry}.base_url: is not an http:// or https:// URL${hint}`);
          else problems[reported] += hint;
          url = undefined;
        }
        if (url && (url.username || url.password || url.search || url.hash)) {
          problems.push(`${entry}.base_url: must not carry a user, password, query or fragment (credentials go in the connector's own settings)`);
        }
        const { apiPath, base } = url && typeof c.type === 'string' ? splitApiPath(c.type, url) : { apiPath: undefined, base: '' };
        if (apiPath) {
          problems.push(`${entry}.base_url: ends in ${apiPath}, a path of the API itself: Orchard puts the paths it asks for after base_url, and the vendor would answer 404; use ${base}`);
        }
      }
    });
  }

  if (problems.length > 0) throw new ConfigInvalidError([...new Set(problems)]);

  const trustRaw = String(s.trust_proxy).trim();
  const trustProxy = trustRaw === 'true' ? true : trustRaw === '' || trustRaw === 'false' ? false : trustRaw.split(',').map((x) => x.trim()).filter(Boolean);

  const config: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.properties)) config[camel(key)] = s[key];
  Object.assign(config, {
    dataDir: isAbsolute(s.data_dir) ? s.data_dir : resolve(cwd, s.data_dir),
    webhookAuth: auth,
    trustProxy,
    configFile,
    streamMaxAgeMs: s.stream_max_age === undefined ? undefined : parseDurationMs(s.stream_max_age),
    connectors: (s.connectors as Record<string, any>[]).map(connectorConfig),
  });
  return deepFreeze(config as unknown as Config);
}
