// Writes schemas/jamf-pro-webhooks/*.json from src/sources/jamf-pro-webhooks/webhook-schemas.ts.
// Run after changing that description: `npm run schemas`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { allWebhookSchemas } from '../src/sources/jamf-pro-webhooks/webhook-schemas.ts';
import { schemasDir } from '../src/schema/read-schema.ts';

const dir = new URL('jamf-pro-webhooks/', schemasDir);
mkdirSync(dir, { recursive: true });
for (const [name, schema] of allWebhookSchemas()) {
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`Wrote ${allWebhookSchemas().size} schemas to ${dir.pathname}`);
