import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { startConnector } from '../helpers/connector-harness.ts';
import { webhookTemplates } from '../helpers/fixtures.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { buildTestApp, readStream, testSecret } from '../helpers/test-app.ts';
import { MockJamfPro } from '../mocks/jamf-pro-server.ts';

// Missed webhooks: the webhook route (tenant acme, ORCHARD_WEBHOOK_TENANT) takes check-ins for most
// computers; a few are withheld. When the inventory's next scan sees every computer's report advance,
// the withheld ones, and only they, are reported.

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

const template = JSON.parse(webhookTemplates().get('ComputerCheckIn')!.toString()) as { webhook: Record<string, unknown>; event: { computer: Record<string, unknown> } };

function checkIn(computer: Record<string, unknown>, atMs: number): string {
  const hardware = computer.hardware as { serialNumber: string };
  return JSON.stringify({ ...template, webhook: { ...template.webhook, eventTimestamp: atMs }, event: { ...template.event, computer: { ...template.event.computer, jssID: Number(computer.id), serialNumber: hardware.serialNumber, udid: computer.udid } } });
}

/** The webhook route (tenant acme) and an inventory connector of tenant acme on one stream; the first scan done (the baseline). */
async function setup(t: TestContext, computers: number, extra: Record<string, unknown> = {}, env: Record<string, string> = { ORCHARD_WEBHOOK_TENANT: 'acme' }, secret = testSecret) {
  const stream = `m${Math.random().toString(36).slice(2, 8)}:events`;
  const app = await buildTestApp(server, { ORCHARD_STREAM: stream, ORCHARD_REJECTED_STREAM: `${stream}:rejected`, ...env });
  t.after(() => app.close());
  const mock = await MockJamfPro.start({ computers });
  t.after(() => mock.close());
  const entry = { name: 'acme-jamf', type: 'jamf_pro.inventory', tenant: 'acme', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', interval: '300ms', page_size: 100, ...extra };
  const h = await startConnector(server, entry, { stream, env });
  t.after(() => h.stop());
  await h.waitForRuns(1);
  // The connector stops while a test changes the reports and posts the check-ins (with interval 300ms a
  // scan could otherwise run between the two, and take the check-ins still to come for missed ones),
  // then starts again on the same stream and checkpoint: its next scan is the one after the baseline.
  const paused = async (change: () => Promise<void>) => {
    await h.stop();
    await change();
    const again = await startConnector(server, entry, { stream, env });
    t.after(() => again.stop());
    return again;
  };
  const post = async (payload: string) => {
    const answer = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': secret }, payload });
    assert.equal(answer.statusCode, 202, answer.body);
  };
  return { app, mock, h, stream, post, paused };
}

interface Missed { scan: number; count: number; computers: { id: string; serial: string; lastWebhookAt: string | null }[] }
const missedOf = (s: unknown) => (s as { missedWebhooks?: { lastScan: Missed | null } }).missedWebhooks?.lastScan ?? null;

test('computers whose report advanced past their last check-in webhook are reported, and only they', async (t) => {
  const { app, mock, h: first, stream, post, paused } = await setup(t, 12);
  assert.equal(missedOf(first.status())?.count, 0, 'the first scan is only the baseline');
  // Every computer reports again; the webhook route takes a check-in for all but three.
  const computers = mock.computers();
  const withheld = new Set([computers[1]!.id, computers[5]!.id, computers[10]!.id] as string[]);
  const h = await paused(async () => {
    const touched = mock.touch(computers.map((c) => c.id as string));
    for (const [i, c] of computers.entries()) {
      if (withheld.has(c.id as string)) continue;
      await post(checkIn(c, Date.parse(touched[i]!)));
    }
  });
  const s = await h.waitFor((st) => (missedOf(st)?.count ?? 0) > 0, 'a scan that saw the reports advance');
  const missed = missedOf(s)!;
  assert.equal(missed.count, 3);
  assert.deepEqual(new Set(missed.computers.map((c) => c.id)), withheld);
  for (const c of missed.computers) assert.equal(c.lastWebhookAt, null, 'no webhook was ever seen for it');
  // The webhooks carry the route's tenant; the device hash is the tenant's.
  const hooks = (await readStream(app.redis, stream)).filter((e) => e.fields.source === 'jamf_pro.events');
  assert.equal(hooks.length, 9);
  assert.ok(hooks.every((e) => e.fields.tenant === 'acme'));
  const line = h.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('Likely missed Jamf Pro webhooks'));
  assert.ok(line, 'a log line names them');
  assert.equal(line.level, 'warn');
  assert.equal(line.missedWebhooks, 3);
  assert.match(await h.metrics.registry.getSingleMetricAsString('orchard_missed_webhooks_total'), /\{connector="acme-jamf"\} 3/);
  assert.equal(s.health.state, 'degraded');
  assert.match(s.health.reason, /3 computer\(s\) with a likely missed webhook/);
  // The next scan sees no report advance: nothing more is counted.
  const scan = missed.scan;
  const later = await h.waitFor((st) => (missedOf(st)?.scan ?? 0) > scan, 'the next scan');
  assert.equal(missedOf(later)!.count, 0);
  assert.match(await h.metrics.registry.getSingleMetricAsString('orchard_missed_webhooks_total'), /\{connector="acme-jamf"\} 3/);
});

test('a check-in later than the report, within the tolerance, is not a missed webhook; an old one is', async (t) => {
  const { mock, post, paused } = await setup(t, 4, { missed_webhook_tolerance: '10m' });
  const computers = mock.computers();
  let at: number[] = [];
  const h = await paused(async () => {
    const touched = mock.touch(computers.map((c) => c.id as string)).map((d) => Date.parse(d));
    at = [touched[0]! - 5 * 60_000, touched[1]! + 60_000, touched[2]! - 11 * 60_000, touched[3]! - 60 * 60_000];
    for (const [i, c] of computers.entries()) await post(checkIn(c, at[i]!));
  });
  const s = await h.waitFor((st) => (missedOf(st)?.count ?? 0) > 0, 'a scan that saw the reports advance');
  const missed = missedOf(s)!;
  assert.deepEqual(missed.computers.map((c) => c.id).sort(), [computers[2]!.id, computers[3]!.id].sort() as string[]);
  assert.equal(missed.computers.find((c) => c.id === computers[3]!.id)!.lastWebhookAt, new Date(at[3]!).toISOString());
});

test('an MSP\'s tenant secret links its webhooks to the inventory of that tenant', async (t) => {
  const acmeSecret = 'acme-secret-0123456789abcdef';
  const { app, mock, stream, post, paused } = await setup(t, 3, {}, { ORCHARD_WEBHOOK_TENANT_SECRETS: `acme=${acmeSecret}` }, acmeSecret);
  const computers = mock.computers();
  const h = await paused(async () => {
    const touched = mock.touch(computers.map((c) => c.id as string));
    await post(checkIn(computers[0]!, Date.parse(touched[0]!)));
  });
  const s = await h.waitFor((st) => (missedOf(st)?.count ?? 0) > 0, 'a scan that saw the reports advance');
  assert.deepEqual(missedOf(s)!.computers.map((c) => c.id).sort(), [computers[1]!.id, computers[2]!.id].sort() as string[]);
  const hooks = (await readStream(app.redis, stream)).filter((e) => e.fields.source === 'jamf_pro.events');
  assert.deepEqual(hooks.map((e) => e.fields.tenant), ['acme'], 'the secret\'s tenant');
});
