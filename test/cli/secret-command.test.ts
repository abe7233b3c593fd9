import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { headerJson } from '../../src/sources/jamf-pro/webhook-plan.ts';
import { orchardHere } from '../helpers/orchard-here.ts';
import { runOrchard } from '../helpers/orchard-process.ts';

// The first test runs `node bin/orchard.js secret` as a user does (what it prints is all of stdout);
// the others run the same main() in this process (orchardHere).

const dir = mkdtempSync(join(tmpdir(), 'orchard-secret-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('orchard secret hands out the newest secret (the last during a rotation), the one jamf-webhooks apply gives Jamf Pro', async () => {
  const old = 'old-secret-0123456789';
  const newest = 'new-secret-9876543210';
  const proc = runOrchard({ ORCHARD_DATA_DIR: join(dir, 'data'), ORCHARD_WEBHOOK_SECRETS: `${old},${newest}` }, ['secret']);
  const { code } = await proc.closed;
  assert.equal(code, 0, proc.stderr.join('\n'));
  assert.equal(proc.stdout.join('\n'), JSON.stringify({ 'X-Orchard-Secret': newest }));
  assert.equal(proc.stdout.join('\n'), headerJson({ url: 'https://orchard.example.com/jamf-pro-events', events: [], header: 'X-Orchard-Secret', secrets: [old, newest], connectionTimeoutSeconds: 5, readTimeoutSeconds: 2 }));
});

test('orchard secret without any secret says how to get one', async () => {
  const r = await orchardHere({ ORCHARD_DATA_DIR: join(dir, 'empty') }, ['secret']);
  assert.equal(r.code, 1);
  assert.match(r.err, /No webhook secret yet/);
});

test('orchard secret --tenant T hands out the newest of that tenant\'s secrets; an unknown tenant is named with the known ones', async () => {
  const env = { ORCHARD_DATA_DIR: join(dir, 'tenants'), ORCHARD_WEBHOOK_TENANT_SECRETS: 'acme=acme-old-0123456789ab,acme=acme-new-0123456789ab,globex=globex-0123456789ab' };
  const acme = await orchardHere(env, ['secret', '--tenant', 'acme']);
  assert.equal(acme.code, 0, acme.err);
  assert.equal(acme.out, `${JSON.stringify({ 'X-Orchard-Secret': 'acme-new-0123456789ab' })}\n`);
  const unknown = await orchardHere(env, ['secret', '--tenant', 'initech']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /No secret for tenant "initech" .* Tenants: acme, globex\./);
  const none = await orchardHere(env, ['secret']);
  assert.equal(none.code, 1);
  assert.match(none.err, /Only tenants' secrets are configured: give --tenant \(acme, globex\)/);
});
