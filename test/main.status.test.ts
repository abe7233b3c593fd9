import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { Keyspace } from '../src/redis/keyspace.ts';
import { fixtureBytes } from './helpers/fixtures.ts';
import { freePort } from './helpers/free-port.ts';
import { killOrchard, startOrchardProcess } from './helpers/orchard-process.ts';
import { TestRedis } from './helpers/redis-server.ts';
import { readStream } from './helpers/test-app.ts';

// A running Orchard's /status: every source with a state and reason, the push routes' freshness; the
// webhook route writes ORCHARD_WEBHOOK_TENANT and remembers the check-in's computer for that tenant.

test('/status lists every source with its state; a check-in makes its route fresh and is remembered for the webhook tenant', async (t) => {
  const redis = await TestRedis.start();
  t.after(() => redis.stop());
  const stream = `s${Math.random().toString(36).slice(2, 8)}:events`;
  const proc = await startOrchardProcess({ REDIS_URL: redis.url, PORT: String(await freePort()), HOST: '127.0.0.1', ORCHARD_STREAM: stream, ORCHARD_WEBHOOK_SECRETS: 'status-secret-0123456789', ORCHARD_WEBHOOK_TENANT: 'acme' });
  t.after(() => killOrchard(proc));
  const status = async () => (await (await request(`${proc.url}/status`)).body.json()) as { sources: { source: string; kind: string; state: string; reason: string }[]; intake: { route: string; lastEventAt: string | null; health: { state: string } }[] };
  const before = await status();
  assert.deepEqual(before.sources.map((s) => [s.source, s.kind, s.state]), [
    ['/jamf-pro-events', 'route', 'ok'],
    ['/jamf-protect-events', 'route', 'ok'],
    ['/jamf-pro-logs', 'route', 'ok'],
  ]);
  assert.ok(before.intake.every((r) => r.lastEventAt === null));
  const body = JSON.parse(fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json').toString());
  body.event.computer.serialNumber = 'C02STATUS01';
  body.webhook.eventTimestamp = 1_767_225_600_000;
  const res = await request(`${proc.url}/jamf-pro-events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-orchard-secret': 'status-secret-0123456789' }, body: JSON.stringify(body) });
  assert.equal(res.statusCode, 202);
  await res.body.dump();
  const after = await status();
  assert.ok(after.intake.find((r) => r.route === '/jamf-pro-events')!.lastEventAt !== null);
  const client = redis.client();
  t.after(() => client.disconnect());
  assert.equal((await readStream(client, stream))[0]!.fields.tenant, 'acme');
  assert.equal(await client.hget(new Keyspace(stream).webhookDevices('acme'), 'serial:C02STATUS01'), '1767225600000');
  const metrics = await (await request(`${proc.url}/metrics`)).body.text();
  assert.match(metrics, /orchard_source_last_event_timestamp_seconds\{source="\/jamf-pro-events"\} \d+/);
});
