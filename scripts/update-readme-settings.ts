// Rewrites the table of settings in docs/settings.md from the configuration's schema
// (schemas/config.schema.json and the sources' settings): `npm run settings`.
import { readFileSync, writeFileSync } from 'node:fs';
import { configSchemaFor } from '../src/config/load-config.ts';
import { withSettingsTable } from '../src/config/settings-table.ts';
import { sourceDescriptors } from '../src/sources/index.ts';

const file = new URL('../docs/settings.md', import.meta.url);
writeFileSync(file, withSettingsTable(readFileSync(file, 'utf8'), configSchemaFor(sourceDescriptors)));
console.log('docs/settings.md: settings table updated.');
