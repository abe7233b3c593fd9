import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Keyspace } from '../../src/redis/keyspace.ts';
import { webhookTemplates } from '../helpers/fixtures.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { buildTestApp, testSecret, waitForReady } from '../helpers/test-app.ts';

// A check-in that reached Orchard while Redis was away waits in the local spool, which keeps only the
// stream fields; drained, its computer is read again from the payload and remembered for the webhook
// tenant like one appended at once (the missed-webhook check, docs/completeness.md).

test('a spooled check-in, once drained, is remembered as its computer\'s last webhook', async (t) => {
  const server = await TestRedis.start({ appendonly: true });
  t.after(() => server.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-spool-sightings-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const app = await buildTestApp(server, { ORCHARD_SPOOL: 'on', ORCHARD_DATA_DIR: dataDir, ORCHARD_WEBHOOK_TENANT: 'acme' });
  t.after(() => app.close());
  await server.kill();
  for (let i = 0; i < 200 && app.redis.status === 'ready'; i++) await new Promise((r) => setTimeout(r, 20));
  const checkIn = JSON.parse(webhookTemplates().get('ComputerCheckIn')!.toString());
  checkIn.event.computer.serialNumber = 'C02SPOOLED1';
  checkIn.event.computer.udid = 'UDID-SPOOLED-1';
  checkIn.webhook.eventTimestamp = 1_767_225_600_000;
  const inventory = JSON.parse(webhookTemplates().get('ComputerInventoryCompleted')!.toString());
  inventory.event.serialNumber = 'C02SPOOLED2';
  inventory.event.udid = null;
  inventory.webhook.eventTimestamp = 1_767_225_700_000;
  for (const body of [checkIn, inventory]) {
    const res = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: JSON.stringify(body) });
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().spooled, true);
  }
  await server.restart();
  await waitForReady(app.redis);
  const client = server.client();
  t.after(() => client.disconnect());
  const devices = new Keyspace(app.config.stream).webhookDevices('acme');
  const deadline = Date.now() + 15_000;
  while (Object.keys(await client.hgetall(devices)).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await client.hgetall(devices), { 'serial:C02SPOOLED1': '1767225600000', 'udid:UDID-SPOOLED-1': '1767225600000', 'serial:C02SPOOLED2': '1767225700000' });
});
