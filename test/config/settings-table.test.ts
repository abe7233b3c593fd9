import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { settingsEnd, settingsStart, withSettingsTable } from '../../src/config/settings-table.ts';
import { sourceDescriptors } from '../../src/sources/index.ts';
import { packageRoot } from '../../src/package-root.ts';

const configSchema = configSchemaFor(sourceDescriptors);
const page = readFileSync(new URL('docs/settings.md', packageRoot), 'utf8');

test('docs/settings.md documents every setting exactly as the config schema defines it', () => {
  assert.equal(page, withSettingsTable(page, configSchema), 'docs/settings.md settings table is stale: run npm run settings');
  for (const [key, s] of Object.entries(configSchema.properties)) {
    assert.ok(page.includes(`\`${key}\``), key);
    if (s['x-env']) assert.ok(page.includes(`\`${s['x-env']}\``), s['x-env']);
  }
  for (const type of Object.keys(configSchema.definitions)) assert.ok(page.includes(`## Connector settings: \`${type}\``), type);
});

test('the table is written between the markers only, and a page without them is refused', () => {
  const text = `before\n${settingsStart}\nold table\n${settingsEnd}\nafter\n`;
  const out = withSettingsTable(text, configSchema);
  assert.ok(out.startsWith(`before\n${settingsStart}\n| environment |`));
  assert.ok(out.endsWith(`${settingsEnd}\nafter\n`));
  assert.ok(!out.includes('old table'));
  assert.throws(() => withSettingsTable('no markers', configSchema), /docs\/settings\.md lacks the settings markers/);
});
