import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeConfigValidator } from '../../src/cli/build-config-validator.ts';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { builtValidatorFile, configValidator, precompiledValidator } from '../../src/config/precompiled-validator.ts';
import { packageRoot } from '../../src/package-root.ts';
import { createAjv } from '../../src/schema/ajv.ts';
import { sourceDescriptors } from '../../src/sources/index.ts';

// The validator `npm run build` writes as code must judge every document exactly as the schema
// compiled at start would: the same verdict, the same errors, the same defaults filled in.

// Inside the checkout, so that the validators' require('ajv/…') finds node_modules as dist/'s does.
const cache = join(fileURLToPath(packageRoot), 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const dir = mkdtempSync(join(cache, 'orchard-precompiled-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const schema = configSchemaFor(sourceDescriptors);

const documents: Record<string, unknown>[] = [
  {},
  { port: 9300, log_level: 'debug', stream: '{orchard}:events', dedup_ttl: '2d' },
  { rate_limit_per_minute: 'abc', port: -1, bogus: true },
  { connectors: [{ type: 'jamf_pro.inventory', name: 'fleet', base_url: 'https://example.jamfcloud.com', client_id: 'id', client_secret: 'secret' }] },
  { connectors: [{ type: 'jumpcloud.directory_insights', name: 'di', api_key: 'k', interval: 'soon', page_size: 0 }] },
  { connectors: [{ type: 'jamf_protect.alerts' }, { type: 'no.such.type', name: 'x' }, 'not an object'] },
  { connectors: 'none', webhook_secrets: 42, trust_proxy: ['a'] },
];

function judged(validate: ReturnType<typeof configValidator>, doc: Record<string, unknown>) {
  const copy = structuredClone(doc);
  const valid = validate(copy);
  return { valid, errors: validate.errors ?? null, filled: copy };
}

test('the written validator judges like the compiled schema: verdict, errors and defaults', () => {
  const file = join(dir, 'validator.cjs');
  writeConfigValidator(schema, file);
  const built = precompiledValidator(schema, file);
  assert.ok(built, 'the written validator is used for the schema it was made from');
  const compiled = createAjv({ useDefaults: true }).compile(schema);
  for (const doc of documents) assert.deepEqual(judged(built, doc), judged(compiled, doc), JSON.stringify(doc));
  assert.equal(judged(built, documents[2]!).valid, false, 'an invalid document is found invalid');
});

test('a validator made from another schema, or none at all: the schema is compiled at start instead', () => {
  const file = join(dir, 'other.cjs');
  writeConfigValidator({ ...schema, properties: { ...schema.properties, extra: { type: 'string' } } } as typeof schema, file);
  assert.equal(precompiledValidator(schema, file), undefined, 'made from another schema');
  assert.equal(precompiledValidator(schema, join(dir, 'missing.cjs')), undefined, 'no file');
  const validate = configValidator(schema, file);
  assert.deepEqual(judged(validate, { port: 'x' }).valid, false);
  assert.deepEqual(judged(validate, {}).valid, true);
});

test('npm run build wrote the validator of the schema these sources build (dist/config-validator.cjs)', () => {
  assert.ok(precompiledValidator(schema, builtValidatorFile), `${builtValidatorFile} is missing or stale: run npm run build`);
});
