// Rewrites the table of settings in README.md from schemas/config.schema.json: `npm run settings`.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../src/config/settings-table.ts';

const file = new URL('../README.md', import.meta.url);
writeFileSync(file, withSettingsTable(readFileSync(file, 'utf8')));
console.log('README.md: settings table updated.');
