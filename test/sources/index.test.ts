import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { readSchema } from '../../src/schema/read-schema.ts';
import { descriptorOf, sourceDescriptors, streamSources } from '../../src/sources/index.ts';

test('each source descriptor names a distinct type and only settings its schema has', () => {
  const types = sourceDescriptors.map((d) => d.type);
  assert.equal(new Set(types).size, types.length, 'types are unique');
  for (const d of sourceDescriptors) {
    assert.match(d.type, /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, d.type);
    const own = Object.keys(d.settings.properties);
    // A function of the entry (JumpCloud: api_key, or a Service Account's client_id and client_secret): every answer it can give.
    const credentialKeys = typeof d.credentialKeys === 'function' ? [...d.credentialKeys({ api_key: 'k' }), ...d.credentialKeys({ client_id: 'i', client_secret: 's' })] : d.credentialKeys;
    assert.ok(credentialKeys.length > 0, `${d.type}: names its credentials`);
    for (const key of credentialKeys) assert.ok(own.includes(key), `${d.type}: credential ${key} is one of its settings`);
    if (d.pageSizeSetting !== undefined) assert.ok(own.includes(d.pageSizeSetting), `${d.type}: page size ${d.pageSizeSetting} is one of its settings`);
    for (const key of d.settings.required ?? []) assert.ok(own.includes(key), `${d.type}: required ${key} is one of its settings`);
    assert.ok(d.apiPaths.length > 0 && d.apiPaths.every((p) => p.startsWith('/')), `${d.type}: API paths start with /`);
    assert.equal(descriptorOf(d.type), d);
  }
  assert.throws(() => descriptorOf('nope.nothing'), /No source describes connector type nope\.nothing/);
});

test('the configuration schema is derived from the descriptors: one definition per type, with the shared settings', () => {
  const schema = configSchemaFor(sourceDescriptors);
  assert.deepEqual(Object.keys(schema.definitions).sort(), sourceDescriptors.map((d) => d.type).sort());
  for (const d of sourceDescriptors) {
    const def = schema.definitions[d.type]!;
    for (const key of ['name', 'type', 'tenant', 'enabled', 'interval', 'base_url', 'start', 'timeout_ms', 'max_connections', 'max_attempts', ...Object.keys(d.settings.properties)]) {
      assert.ok(key in def.properties, `${d.type}: ${key}`);
    }
    assert.equal(def.properties.interval!.default, d.defaultInterval);
    assert.equal(def.properties.base_url!.default, d.baseUrl.default);
    assert.equal(def.required.includes('base_url'), d.baseUrl.default === undefined, `${d.type}: base_url is required exactly when it has no default`);
  }
});

test('the stream contract lists every source the sources and push routes append (npm run schemas)', () => {
  const entry = readSchema('stream-entry.schema.json') as { properties: { source: { enum: string[] } } };
  assert.deepEqual(entry.properties.source.enum, [...streamSources], 'schemas/stream-entry.schema.json is stale: run npm run schemas');
  for (const d of sourceDescriptors) assert.ok(streamSources.includes(d.source), d.source);
});
