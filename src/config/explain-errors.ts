import type { ErrorObject } from 'ajv';
import { closestName } from './closest-name.ts';
import type { ConfigSchema } from './config-schema.ts';

// Step 5 of loading the configuration: ajv's errors, in words that name the setting as the user wrote
// it (the environment variable, or the file key; a connector entry by its index and name).

/** `connectors[0] (acme-jamf)`, or `connectors[0]` while the entry has no name. */
export function connectorLabel(index: number, entry: unknown): string {
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
  interval: 'must be a duration: a number and a unit, ms, s, m, h or d (30s, 5m, 24h)',
  lag: 'must be a duration: a number and a unit, ms, s, m, h or d (2m)',
  overlap: 'must be a duration: a number and a unit, ms, s, m, h or d (10m)',
  name: 'must be 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit',
  base_url: 'must be an http:// or https:// URL without spaces, a query or a fragment',
  start: 'must be an RFC 3339 time such as 2026-11-01T00:00:00Z',
};

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
    if (e.keyword === 'required') {
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
      problems.push(`${where}: ${connectorValueRules[e.instancePath.split('/').pop() ?? ''] ?? e.message}`);
    } else if (schema.properties[e.instancePath.split('/')[1] ?? '']?.['x-secret'] && e.keyword === 'pattern') {
      problems.push(`${where}: must be printable ASCII without spaces or commas`);
    } else {
      problems.push(`${where}: ${e.message}`);
    }
  }
  return problems;
}
