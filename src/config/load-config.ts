import { isAbsolute, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { ConfigInvalidError } from '../errors.ts';
import { defaultRejectedStream } from '../redis/keyspace.ts';
import { buildConfigSchema, type ConfigSchema } from './config-schema.ts';
import type { Config, ConnectorConfig, ConnectorTypeSpec } from './config-types.ts';
import { crossCheck, webhookAuthMode } from './cross-check.ts';
import { parseDurationMs } from './duration.ts';
import { overlayEnv } from './env-overlay.ts';
import { configValidator } from './precompiled-validator.ts';
import { explainErrors } from './explain-errors.ts';
import { interpolateEnv, onlyTheConnector, readConfigFile, referencedVariables } from './read-config-file.ts';
import { readSecretFiles, secretVariables } from './secret-files.ts';

export type { Config, ConnectorConfig, ConnectorTypeSpec, WebhookAuthMode } from './config-types.ts';

// The configuration, built in steps: read the file → interpolate ${VAR} → overlay the environment →
// validate against the schema (defaults applied) → explain what is wrong → cross-check what spans
// settings. Every problem is collected and thrown together as ConfigInvalidError; the result is frozen.
// The connector types (and so the connector settings) come from the sources' descriptors, which the
// caller passes (src/sources/index.ts), so that this module knows no source.

export interface LoadConfigOptions {
  /** The connector types there are: their settings, base URLs and API paths (the sources' descriptors). */
  readonly connectorTypes: readonly ConnectorTypeSpec[];
  /**
   * A command about one connector (`orchard test`, `orchard checkpoint`): only that entry is read and
   * checked, so the others' secrets need not be set; the configuration holds it alone (as
   * `connectors[0]`). A name no entry has throws ConfigInvalidError naming the configured ones.
   */
  readonly onlyConnector?: string;
}

/** The schema and its compiled validator, per list of connector types (built once). */
const compiled = new WeakMap<readonly ConnectorTypeSpec[], { schema: ConfigSchema; validate: ValidateFunction }>();

export function configSchemaFor(types: readonly ConnectorTypeSpec[]): ConfigSchema {
  return compiledFor(types).schema;
}

function compiledFor(types: readonly ConnectorTypeSpec[]) {
  let found = compiled.get(types);
  if (!found) {
    const schema = buildConfigSchema(types);
    found = { schema, validate: configValidator(schema) };
    compiled.set(types, found);
  }
  return found;
}

export function loadConfig(env: NodeJS.ProcessEnv, cwd: string, options: LoadConfigOptions): Config {
  const { schema, validate } = compiledFor(options.connectorTypes);
  const problems: string[] = [];
  const configFile = env.ORCHARD_CONFIG ? resolve(cwd, env.ORCHARD_CONFIG) : undefined;

  let doc = readConfigFile(configFile, problems);
  let fileIndex = 0;
  if (options.onlyConnector !== undefined) ({ doc, fileIndex } = onlyTheConnector(doc, options.onlyConnector, env, configFile));
  // NAME_FILE for the secret settings and the variables the file refers to (secret-files.ts).
  env = readSecretFiles(env, [...secretVariables(schema.properties), ...referencedVariables(doc)], problems);
  const { value: settings, unset } = interpolateEnv(doc, env, problems);
  const envSources = overlayEnv(settings, schema.properties, env);
  if (!validate(settings)) problems.push(...explainErrors(validate.errors ?? [], { schema, settings, envSources, unset }));
  crossCheck(settings, { schema, envSources, connectorTypes: options.connectorTypes }, problems);
  // With one connector read alone it is entry #1 of what was checked; problems give its number in the file.
  if (fileIndex > 0) problems.forEach((p, i) => (problems[i] = p.replace(/^connectors #1\b/, `connectors #${fileIndex + 1}`)));
  if (problems.length > 0) throw new ConfigInvalidError([...new Set(problems)]);
  return deepFreeze(configFrom(settings as Record<string, any>, schema, { cwd, configFile }));
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The validated settings as the Config object: camelCase keys, durations in ms, paths resolved. */
function configFrom(s: Record<string, any>, schema: ConfigSchema, where: { cwd: string; configFile: string | undefined }): Config {
  const trustRaw = String(s.trust_proxy).trim();
  const trustProxy = trustRaw === 'true' ? true : trustRaw === '' || trustRaw === 'false' ? false : trustRaw.split(',').map((x) => x.trim()).filter(Boolean);
  const config: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) config[camel(key)] = s[key];
  Object.assign(config, {
    dataDir: isAbsolute(s.data_dir) ? s.data_dir : resolve(where.cwd, s.data_dir),
    rejectedStream: s.rejected_stream ?? defaultRejectedStream(s.stream),
    publicUrl: typeof s.public_url === 'string' ? s.public_url.replace(/\/+$/, '') : undefined,
    webhookAuth: webhookAuthMode(s),
    webhookTenantSecrets: (s.webhook_tenant_secrets as string[] | undefined)?.map((entry) => {
      const at = entry.indexOf('=');
      return { tenant: entry.slice(0, at), secret: entry.slice(at + 1) };
    }),
    trustProxy,
    configFile: where.configFile,
    streamMaxAgeMs: s.stream_max_age === undefined ? undefined : parseDurationMs(s.stream_max_age),
    connectors: (s.connectors as Record<string, any>[]).map(connectorConfig),
  });
  return config as unknown as Config;
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
    expectEventsWithinMs: entry.expect_events_within === undefined ? undefined : parseDurationMs(entry.expect_events_within),
    settings: entry,
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
