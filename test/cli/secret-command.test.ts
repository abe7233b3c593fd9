import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { headerJson } from '../../src/sources/jamf-pro/webhook-plan.ts';
import { runOrchard } from '../helpers/orchard-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'orchard-secret-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('orchard secret hands out the newest secret (the last during a rotation), the one jamf-webhooks apply gives Jamf Pro', async () => {
  const old = 'old-secret-0123456789';
  const newest = 'new-secret-9876543210';
  const proc = runOrchard({ ORCHARD_DATA_DIR: join(dir, 'data'), ORCHARD_WEBHOOK_SECRETS: `${old},${newest}` }, ['secret']);
  const { code } = await proc.exited;
  assert.equal(code, 0, proc.stderr.join('\n'));
  assert.equal(proc.stdout.join('\n'), JSON.stringify({ 'X-Orchard-Secret': newest }));
  assert.equal(proc.stdout.join('\n'), headerJson({ url: 'https://orchard.example.com/jamf-pro-events', events: [], header: 'X-Orchard-Secret', secrets: [old, newest], connectionTimeoutSeconds: 5, readTimeoutSeconds: 2 }));
});

test('orchard secret without any secret says how to get one', async () => {
  const proc = runOrchard({ ORCHARD_DATA_DIR: join(dir, 'empty') }, ['secret']);
  const { code } = await proc.exited;
  assert.equal(code, 1);
  assert.match(proc.stderr.join('\n'), /No webhook secret yet/);
});
