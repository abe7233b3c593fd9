import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { intakeStatus } from '../../src/server/intake-status.ts';
import { webhookTemplates } from '../helpers/fixtures.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { buildTestApp, testSecret, type TestApp } from '../helpers/test-app.ts';

// The push routes' freshness (when each last answered an event 202) and state, as /status shows them.

let server: TestRedis;
let app: TestApp;
before(async () => {
  server = await TestRedis.start();
  app = await buildTestApp(server);
});
after(async () => {
  await app.close();
  await server.stop();
});

const ready = { redisReady: true, spool: { enabled: false } };

test('a route taking an event is fresh from then on; the others have heard nothing', async () => {
  const before = intakeStatus(app.config, app.metrics, ready);
  assert.ok(before.every((r) => r.lastEventAt === null && r.secondsSinceLastEvent === null));
  assert.deepEqual(before.map((r) => r.route), ['/jamf-pro-events', '/jamf-protect-events', '/jamf-pro-logs']);
  const answer = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: webhookTemplates().get('ComputerAdded')! });
  assert.equal(answer.statusCode, 202);
  const refused = await app.app.inject({ method: 'POST', url: '/jamf-protect-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: '{' });
  assert.equal(refused.statusCode, 400);
  const [webhooks, protect] = intakeStatus(app.config, app.metrics, ready, Date.now() + 5000);
  assert.ok(webhooks!.lastEventAt !== null && Date.now() - Date.parse(webhooks!.lastEventAt) < 60_000);
  assert.ok(webhooks!.secondsSinceLastEvent! >= 4);
  assert.equal(protect!.lastEventAt, null, 'a refused body is not an event taken');
  assert.deepEqual(webhooks!.health, { state: 'ok', reason: 'taking events' });
  assert.match(await app.metrics.registry.getSingleMetricAsString('orchard_source_last_event_timestamp_seconds'), /\{source="\/jamf-pro-events"\} \d+/);
});

test('a route is degraded while the spool takes its events, failing when nothing can', () => {
  const state = (facts: Parameters<typeof intakeStatus>[2]) => intakeStatus(app.config, app.metrics, facts)[0]!.health;
  assert.equal(state({ redisReady: false, spool: { enabled: true, state: 'spooling', records: 3 } }).state, 'degraded');
  assert.match(state({ redisReady: true, spool: { enabled: true, state: 'draining', records: 3 } }).reason, /3 event\(s\) wait in the local spool/);
  assert.match(state({ redisReady: false, spool: { enabled: false } }).reason, /spool is off: events are answered 503/);
  assert.equal(state({ redisReady: false, spool: { enabled: false } }).state, 'failing');
  assert.equal(state({ redisReady: true, spool: { enabled: true, state: 'full', records: 9 } }).state, 'failing');
});
