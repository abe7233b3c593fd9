import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { createAjv } from '../../src/schema/ajv.ts';
import { readSchema, schemasDir } from '../../src/schema/read-schema.ts';
import { sourceDescriptors } from '../../src/sources/index.ts';

// createAjv() skips JSON Schema's meta-schema at run time (src/schema/ajv.ts says why): the check is
// made here instead, on every schema Orchard ships and on the configuration's.

const metaChecker = createAjv({ validateSchema: true });

function shippedSchemas(): string[] {
  return (readdirSync(fileURLToPath(schemasDir), { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
}

test('every schema under schemas/, and the configuration schema with every source, is valid against its meta-schema', () => {
  const files = shippedSchemas();
  assert.ok(files.length > 30, `${files.length} schemas`);
  for (const file of files) {
    assert.equal(metaChecker.validateSchema(readSchema(file)), true, `${file}: ${metaChecker.errorsText(metaChecker.errors)}`);
  }
  assert.equal(metaChecker.validateSchema(configSchemaFor(sourceDescriptors)), true, metaChecker.errorsText(metaChecker.errors));
});

test('the meta-schema check fails on a malformed schema, which createAjv() without it would compile', () => {
  const malformed = { type: 'object', properties: { name: { type: 'string', minLength: -1 } } };
  assert.equal(metaChecker.validateSchema(malformed), false);
  assert.match(metaChecker.errorsText(metaChecker.errors), /minLength must be >= 0/);
  assert.equal(typeof createAjv().compile(malformed), 'function');
  // Strict mode still refuses what it knows to refuse at compile time, meta-schema or not.
  assert.throws(() => createAjv().compile({ type: 'object', propertees: {} }), /unknown keyword: "propertees"/);
});
