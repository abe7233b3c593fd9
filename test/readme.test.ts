import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { withSettingsTable } from '../src/config/settings-table.ts';
import { configSchemaFor } from '../src/config/load-config.ts';
import { sourceDescriptors } from '../src/sources/index.ts';

const configSchema = configSchemaFor(sourceDescriptors);

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README documents every setting exactly as the config schema defines it', () => {
  assert.equal(readme, withSettingsTable(readme, configSchema), 'README.md settings table is stale: run npm run settings');
  for (const [key, s] of Object.entries(configSchema.properties)) {
    assert.ok(readme.includes(`\`${key}\``), key);
    if (s['x-env']) assert.ok(readme.includes(`\`${s['x-env']}\``), s['x-env']);
  }
});

test('the README gives the test command that .ci/run runs', () => {
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
  assert.match(ci, /^npm test$/m);
  assert.match(readme, /npm test/);
});
