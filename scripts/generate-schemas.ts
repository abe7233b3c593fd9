// Writes the JSON Schemas that are derived from the code: schemas/jamf-pro-webhooks/*.json from
// src/sources/jamf-pro-webhooks/webhook-schemas.ts, and the `source` list of the stream contract
// (schemas/stream-entry.schema.json) from the sources (src/sources/index.ts). Run after changing either:
// `npm run schemas` (a test says when they are stale).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { schemasDir } from '../src/schema/read-schema.ts';
import { streamSources } from '../src/sources/index.ts';
import { allWebhookSchemas } from '../src/sources/jamf-pro-webhooks/webhook-schemas.ts';

const dir = new URL('jamf-pro-webhooks/', schemasDir);
mkdirSync(dir, { recursive: true });
for (const [name, schema] of allWebhookSchemas()) {
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`Wrote ${allWebhookSchemas().size} schemas to ${dir.pathname}`);

const entryFile = new URL('stream-entry.schema.json', schemasDir);
const entry = readFileSync(entryFile, 'utf8');
const list = `"enum": [\n${streamSources.map((s) => `        ${JSON.stringify(s)}`).join(',\n')}\n      ]`;
const updated = entry.replace(/"enum": \[[^\]]*\]/, list);
writeFileSync(entryFile, updated);
console.log(`Wrote the ${streamSources.length} sources into ${entryFile.pathname}`);
