import type { ErrorObject } from 'ajv';
import { closestName } from './closest-name.ts';
import type { ConfigSchema } from './config-schema.ts';

// Step 5 of loading the configuration: ajv's errors, in words that name the setting as the user wrote
// it (the environment variable, or the file key; a connector entry by its index and name).

/**
 * `connectors #1 (acme-jamf)`, or `connectors #1` while the entry has no name: entries are counted
 * from 1, as a reader of the file counts its `- name:` items (the first entry is #1).
 */
export function connectorLabel(index: number, entry: unknown): string {
  const name = (entry as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' ? `connectors #${index + 1} (${name})` : `connectors #${index + 1}`;
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
 * is named by its number (from 1) and its name (`connectors #1 (acme-jamf).client_id`).
 */
function settingName(instancePath: string, envSources: ReadonlyMap<string, string>, settings: Record<string, unknown>): string {
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
  name: 'must be 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit',
  base_url: 'must be an http:// or https:// URL without spaces, a query or a fragment',
  start: 'must be an RFC 3339 time such as 2026-11-01T00:00:00Z',
};

/** What a value that breaks one of the schemas' patterns must look like, in words (by the pattern). */
const patternWords: Record<string, string> = {
  "^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$": "must be a URL path starting with / (letters, digits and ._~!$&'()*+,;=:@/- only), such as /jamf-pro-events",
  '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$': 'must be an http:// or https:// URL without spaces, such as https://orchard.example.com',
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$": "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-), such as X-Orchard-Secret",
  '^[^:]+$': 'must not contain a colon (Basic authentication puts one between the user name and the password)',
  '^https?://[^\\s?#]+$': 'must be an http:// or https:// URL without spaces, a query or a fragment',
  '^[a-z0-9_]{1,40}$': 'must be 1 to 40 lower-case letters, digits and _, such as directory or sso',
};

/** The pattern every duration setting has (interval, lag, overlap, stream_max_age, …). */
const durationPattern = '^[0-9]{1,9}(ms|s|m|h|d)$';

/** The schema of the value an ajv error is about (its schemaPath without the failing keyword). */
function valueSchemaOf(root: unknown, schemaPath: string): Record<string, unknown> | undefined {
  let node = root as Record<string, unknown> | undefined;
  for (const raw of schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1)) {
    if (raw === '') continue;
    node = node?.[raw.replaceAll('~1', '/').replaceAll('~0', '~')] as Record<string, unknown> | undefined;
  }
  return node;
}

function valueAt(settings: Record<string, unknown>, instancePath: string): unknown {
  let node: unknown = settings;
  for (const part of instancePath.split('/').slice(1)) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** A duration setting's problem in words: `interval: 15` → "15 has no unit: give a duration such as 5m …". */
function durationProblem(value: unknown, example: unknown): string {
  const such = `give a duration such as ${typeof example === 'string' ? example : '5m'}: a whole number and a unit, ms, s, m, h or d (30s, 5m, 24h)`;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) return `${String(value).trim()} has no unit: ${such}`;
  return `${JSON.stringify(value)} is not a duration: ${such}`;
}

export interface ExplainContext {
  readonly schema: ConfigSchema;
  /** The settings validated (file and environment). */
  readonly settings: Record<string, unknown>;
  /** Which settings came from which environment variable. */
  readonly envSources: ReadonlyMap<string, string>;
  /** Pointers of values that referred to unset variables: already reported. */
  readonly unset: ReadonlySet<string>;
}

/** One problem per ajv error that says something new. */
export function explainErrors(errors: readonly ErrorObject[], context: ExplainContext): string[] {
  const { schema, settings, envSources, unset } = context;
  const problems: string[] = [];
  for (const e of errors) {
    // "must match then schema" only repeats the errors found inside the type's schema.
    if (e.keyword === 'if') continue;
    // A value that referred to an unset variable is already reported as such.
    if (unset.has(e.instancePath)) continue;
    const where = settingName(e.instancePath, envSources, settings);
    // The type of the connector entry the error is about itself (not one of its nested values).
    const connector = connectorAt(e.instancePath, settings);
    const type = connector && /^\/connectors\/\d+$/.test(e.instancePath) ? connector.entry?.type : undefined;
    const valueSchema = e.keyword === 'pattern' || e.keyword === 'type' ? valueSchemaOf(schema, e.schemaPath) : undefined;
    if (valueSchema?.pattern === durationPattern) {
      problems.push(`${where}: ${durationProblem(valueAt(settings, e.instancePath), valueSchema.default)}`);
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      problems.push(`${where}.${missing}: missing${typeof type === 'string' ? ` (required for type ${type})` : ''}`);
    } else if (e.keyword === 'const' && e.instancePath.endsWith('/type')) {
      continue;
    } else if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const table = typeof type === 'string' ? `docs/settings.md, connector settings for ${type}` : 'docs/settings.md';
      const known = typeof type === 'string' ? Object.keys(schema.definitions[type]?.properties ?? {}) : e.instancePath === '' ? Object.keys(schema.properties) : [];
      const near = closestName(extra, known);
      problems.push(`${where === '(top level)' ? '' : `${where}.`}${extra}: unknown setting (${near ? `did you mean ${near}? ` : ''}check the spelling; see ${table})`);
    } else if (e.keyword === 'enum') {
      problems.push(`${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`);
    } else if (connector && (e.keyword === 'pattern' || e.keyword === 'format')) {
      const words = connectorValueRules[e.instancePath.split('/').pop() ?? ''] ?? (e.keyword === 'pattern' ? patternWords[(e.params as { pattern: string }).pattern] : undefined);
      problems.push(`${where}: ${words ?? e.message}`);
    } else if (e.instancePath.startsWith('/webhook_tenant_secrets/') && e.keyword === 'pattern') {
      problems.push(`${where}: must be tenant=secret: a tenant name (letters, digits, ., - and _, up to 100) then = then its secret (16 to 512 printable ASCII characters without spaces or commas)`);
    } else if (schema.properties[e.instancePath.split('/')[1] ?? '']?.['x-secret'] && e.keyword === 'pattern') {
      problems.push(`${where}: must be printable ASCII without spaces or commas`);
    } else if (e.keyword === 'pattern' && patternWords[(e.params as { pattern: string }).pattern]) {
      problems.push(`${where}: ${patternWords[(e.params as { pattern: string }).pattern]}`);
    } else {
      problems.push(`${where}: ${e.message}`);
    }
  }
  return problems;
}
