import { readSchema } from '../schema/read-schema.ts';
import type { ConnectorTypeSpec, SettingSchema } from './config-types.ts';

// The configuration's JSON Schema: schemas/config.schema.json holds the top-level settings and the
// settings every connector shares; each connector type adds its own from its source's descriptor. So a
// new source brings its settings with it, and the settings tables of docs/settings.md (settings-table.ts) follow.

export interface ConnectorDefinition {
  readonly type: 'object';
  readonly additionalProperties: false;
  readonly required: string[];
  readonly properties: Record<string, SettingSchema>;
}

export interface ConfigSchema {
  readonly properties: Record<string, SettingSchema>;
  /** Each connector type's whole entry (shared settings and its own), by type. */
  readonly definitions: Record<string, ConnectorDefinition>;
  readonly [key: string]: unknown;
}

interface BaseSchema {
  readonly properties: Record<string, SettingSchema & { items?: Record<string, unknown> }>;
  readonly definitions: { readonly connector: { readonly properties: Record<string, SettingSchema> } };
  readonly [key: string]: unknown;
}

/** schemas/config.schema.json as it is on disk: without the connector types. */
export const baseConfigSchema = readSchema('config.schema.json') as unknown as BaseSchema;

/** A connector type's whole entry: the shared settings, with its base_url and interval, then its own. */
function connectorDefinition(spec: ConnectorTypeSpec): ConnectorDefinition {
  const shared = baseConfigSchema.definitions.connector.properties;
  const properties: Record<string, SettingSchema> = {};
  for (const [key, setting] of Object.entries(shared)) {
    properties[key] = { ...setting };
    if (key === 'name') properties.type = { const: spec.type };
  }
  properties.interval = { ...properties.interval, default: spec.defaultInterval };
  properties.base_url = { ...properties.base_url, description: spec.baseUrl.description, ...(spec.baseUrl.default === undefined ? {} : { default: spec.baseUrl.default }) };
  if (spec.startDescription) properties.start = { ...properties.start, description: spec.startDescription };
  Object.assign(properties, spec.settings.properties);
  const required = ['name', 'type', ...(spec.baseUrl.default === undefined ? ['base_url'] : []), ...(spec.settings.required ?? [])];
  return { type: 'object', additionalProperties: false, required, properties };
}

/** The whole schema for these connector types. */
export function buildConfigSchema(types: readonly ConnectorTypeSpec[]): ConfigSchema {
  const definitions: Record<string, ConnectorDefinition> = {};
  for (const spec of types) definitions[spec.type] = connectorDefinition(spec);
  const connectors = baseConfigSchema.properties.connectors!;
  const items = connectors.items as { properties: Record<string, unknown> };
  return {
    ...baseConfigSchema,
    properties: {
      ...baseConfigSchema.properties,
      connectors: {
        ...connectors,
        items: {
          ...items,
          properties: { ...items.properties, type: { enum: types.map((t) => t.type) } },
          allOf: types.map((t) => ({ if: { properties: { type: { const: t.type } }, required: ['type'] }, then: { $ref: `#/definitions/${t.type}` } })),
        },
      } as SettingSchema,
    },
    definitions,
  };
}
