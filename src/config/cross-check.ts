import { defaultRejectedStream } from '../redis/keyspace.ts';
import { addressProblem } from './address-list.ts';
import { parseDurationMs } from './duration.ts';
import { checkBaseUrl } from './base-url-check.ts';
import type { ConfigSchema } from './config-schema.ts';
import type { ConnectorTypeSpec, WebhookAuthMode } from './config-types.ts';
import { connectorLabel } from './explain-errors.ts';
import { checkRedisTopology } from './redis-topology-check.ts';

// Step 6 of loading the configuration: the rules that span settings, which a schema cannot say.

/** Header names Jamf Pro refuses as Header Authentication keys, and ones a proxy owns. */
const forbiddenHeaders = new Set(['content-type', 'user-agent', 'accept-encoding', 'content-length', 'host', 'connection', 'transfer-encoding']);

/** What a Redis URL gets wrong, never quoting it (it may hold a password); undefined when fine. */
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

/** The webhook's authentication mode: as set, else basic when a basic user or password is set, else header. */
export function webhookAuthMode(s: Record<string, any>): WebhookAuthMode {
  const basicSet = s.webhook_basic_username !== undefined || s.webhook_basic_password !== undefined;
  return s.webhook_auth ?? (basicSet ? 'basic' : 'header');
}

export interface CrossCheckContext {
  readonly schema: ConfigSchema;
  readonly envSources: ReadonlyMap<string, string>;
  readonly connectorTypes: readonly ConnectorTypeSpec[];
}

/** Adds to `problems` what the settings get wrong together. */
export function crossCheck(s: Record<string, any>, context: CrossCheckContext, problems: string[]): void {
  const { schema, envSources } = context;
  const named = (key: string) => envSources.get(key) ?? key;
  if (webhookAuthMode(s) === 'basic' && (s.webhook_basic_username === undefined || s.webhook_basic_password === undefined)) {
    problems.push('ORCHARD_WEBHOOK_AUTH=basic needs both ORCHARD_WEBHOOK_BASIC_USERNAME and ORCHARD_WEBHOOK_BASIC_PASSWORD');
  }
  checkTenantSecrets(s, named, problems);
  for (const key of ['webhook_header', 'protect_header', 'logs_header']) {
    if (typeof s[key] === 'string' && forbiddenHeaders.has(s[key].toLowerCase())) {
      problems.push(`${named(key)}: ${s[key]} cannot carry the secret (Jamf does not allow it as a custom authentication header)`);
    }
  }
  for (const route of ['protect', 'logs']) {
    const header = `${route}_header`;
    const secrets = `${route}_secrets`;
    if (s[header] !== undefined && s[secrets] === undefined) {
      problems.push(`${named(header)} is set without ${secrets} (ORCHARD_${secrets.toUpperCase()}): give the route its secrets too, or unset it to use the webhook's authentication`);
    }
  }
  const paths = new Map<string, string>();
  for (const [key, fallback] of [['webhook_path', '/jamf-pro-events'], ['protect_path', '/jamf-protect-events'], ['logs_path', '/jamf-pro-logs']] as const) {
    const path = (s[key] as string | undefined) ?? fallback;
    const other = paths.get(path);
    const label = (k: string) => `${schema.properties[k]?.['x-env'] ?? k} (${k})`;
    if (other) problems.push(`${label(key)} is ${path}, the same as ${label(other)}: each push route needs its own path`);
    paths.set(path, key);
  }
  if (typeof s.public_url === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(s.public_url);
    } catch {
      url = undefined;
    }
    if (!url) problems.push(`${named('public_url')}: is not a URL (expected https://orchard.example.com)`);
    else if (url.username || url.password || url.search || url.hash) problems.push(`${named('public_url')}: must not carry a user, password, query or fragment (Jamf Pro posts to public_url + webhook_path)`);
  }
  if ((s.tls_cert_file === undefined) !== (s.tls_key_file === undefined)) {
    problems.push('tls_cert_file and tls_key_file (ORCHARD_TLS_CERT_FILE, ORCHARD_TLS_KEY_FILE) must be set together');
  }
  if (typeof s.stream_max_age === 'string' && parseDurationMs(s.stream_max_age) === 0) {
    problems.push(`${named('stream_max_age')}: must be longer than 0 (leave it unset for no age limit)`);
  }
  if ((s.rejected_stream ?? defaultRejectedStream(s.stream ?? '')) === s.stream) {
    problems.push('ORCHARD_REJECTED_STREAM (rejected_stream) must differ from ORCHARD_STREAM (stream)');
  }
  if (typeof s.redis_url === 'string') {
    const problem = redisUrlProblem(s.redis_url);
    if (problem) problems.push(`${named('redis_url')}: ${problem}`);
  }
  checkRedisTopology(s, (k) => `${schema.properties[k]?.['x-env'] ?? k} (${k})`, problems);
  if (s.request_timeout_ms !== undefined && s.shutdown_timeout_ms !== undefined && s.request_timeout_ms >= s.shutdown_timeout_ms) {
    problems.push('ORCHARD_REQUEST_TIMEOUT_MS (request_timeout_ms) must be below ORCHARD_SHUTDOWN_TIMEOUT_MS (shutdown_timeout_ms), or a slow request outlives shutdown');
  }
  if (s.admin_port !== undefined && s.admin_port !== 0 && s.admin_port === s.port) {
    problems.push('ORCHARD_ADMIN_PORT (admin_port) must differ from PORT (port)');
  }
  if (Array.isArray(s.trusted_addresses)) {
    for (const entry of s.trusted_addresses as string[]) {
      const problem = addressProblem(entry);
      if (problem) problems.push(`${named('trusted_addresses')}: ${problem}`);
    }
  }
  if (Array.isArray(s.connectors)) checkConnectors(s.connectors, context.connectorTypes, problems);
}

/**
 * webhook_tenant_secrets: header mode only, and each secret names one tenant (the same tenant may have
 * two, for a rotation). A secret is never shown: problems name the tenants.
 */
function checkTenantSecrets(s: Record<string, any>, named: (key: string) => string, problems: string[]): void {
  const entries = s.webhook_tenant_secrets as string[] | undefined;
  if (!Array.isArray(entries) || entries.length === 0) return;
  if (webhookAuthMode(s) !== 'header') {
    problems.push(`${named('webhook_tenant_secrets')}: tenants' secrets need header authentication, but ORCHARD_WEBHOOK_AUTH is ${webhookAuthMode(s)}`);
    return;
  }
  const owner = new Map<string, string>();
  for (const secret of (s.webhook_secrets as string[] | undefined) ?? []) owner.set(secret, 'webhook_secrets');
  for (const entry of entries) {
    const at = typeof entry === 'string' ? entry.indexOf('=') : -1;
    if (at < 1) continue;
    const tenant = entry.slice(0, at);
    const secret = entry.slice(at + 1);
    const earlier = owner.get(secret);
    if (earlier !== undefined && earlier !== `tenant ${tenant}`) {
      problems.push(`${named('webhook_tenant_secrets')}: tenant ${tenant} has the same secret as ${earlier}; each tenant needs a secret of its own, or its events could not be told apart`);
    }
    owner.set(secret, `tenant ${tenant}`);
  }
}

/** Unique names, durations longer than 0, base URLs a vendor can answer, and each type's own rules. */
function checkConnectors(entries: Record<string, unknown>[], types: readonly ConnectorTypeSpec[], problems: string[]): void {
  const seen = new Set<string>();
  entries.forEach((c, i) => {
    const entry = connectorLabel(i, c);
    if (typeof c?.name === 'string') {
      if (seen.has(c.name)) problems.push(`${entry}.name: "${c.name}" is used by an earlier connector; names must be unique`);
      seen.add(c.name);
    }
    for (const key of ['interval', 'lag', 'overlap']) {
      if (typeof c?.[key] === 'string' && parseDurationMs(c[key] as string) === 0) problems.push(`${entry}.${key}: must be longer than 0`);
    }
    const spec = types.find((t) => t.type === c?.type);
    if (typeof c?.base_url === 'string') checkBaseUrl(c.base_url, spec, entry, problems);
    if (c !== null && typeof c === 'object') for (const problem of spec?.checkSettings?.(c) ?? []) problems.push(`${entry}.${problem}`);
  });
}
