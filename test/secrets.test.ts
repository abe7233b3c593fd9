import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { fixtureBytes } from './helpers/fixtures.ts';
import { killOrchard, runOrchard, startOrchardProcess } from './helpers/orchard-process.ts';
import { TestRedis } from './helpers/redis-server.ts';

// A secret that cannot appear by accident, checked against every output Orchard has.
const canary = 'CANARY-9f8e7d6c5b4a-SECRET';
const redisCanary = 'REDISCANARY-1a2b3c4d5e6f';

test('a canary secret appears in no log line, error body, metric, /status or stream entry', async (t) => {
  const redis = await TestRedis.start({ password: redisCanary });
  t.after(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-secrets-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const proc = await startOrchardProcess({
    REDIS_URL: redis.url,
    ORCHARD_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'trace',
    ORCHARD_WEBHOOK_SECRETS: `${canary},second-${canary}`,
    ORCHARD_APPEND_TIMEOUT_MS: '300',
  });
  t.after(() => killOrchard(proc));
  const url = proc.url;
  const bodies: string[] = [];
  const send = async (headers: Record<string, string>, body: string | Buffer, path = '/jamf-pro-events') => {
    const res = await request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    bodies.push(`${res.statusCode} ${JSON.stringify(res.headers)} ${await res.body.text()}`);
    return res.statusCode;
  };

  const checkIn = fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');
  assert.equal(await send({ 'x-orchard-secret': canary }, checkIn), 202);
  assert.equal(await send({ 'x-orchard-secret': canary }, checkIn), 200);
  assert.equal(await send({ 'x-orchard-secret': `${canary}x` }, checkIn), 401);
  assert.equal(await send({ 'x-orchard-secret': canary.slice(0, -1) }, checkIn), 401);
  assert.equal(await send({ authorization: `Basic ${Buffer.from(`jamf:${canary}`).toString('base64')}` }, checkIn), 401);
  assert.equal(await send({ 'x-orchard-secret': canary }, '{"bad json'), 400);
  assert.equal(await send({ 'x-orchard-secret': canary }, '{"webhook":{"webhookEvent":"JSSStartup","eventTimestamp":"x"},"event":{}}'), 400);
  assert.equal(await send({ 'x-orchard-secret': canary, 'content-type': 'text/plain' }, 'hello'), 415);
  assert.equal(await send({ 'x-orchard-secret': canary }, checkIn, '/nowhere'), 404);
  // Redis frozen: the webhook goes to the local spool, whose files are one more output to check.
  redis.pause();
  assert.equal(await send({ 'x-orchard-secret': canary }, Buffer.from(String(checkIn).replace('999', '998'))), 202);
  assert.match(bodies.at(-1)!, /"spooled":true/);
  const spoolDir = join(dataDir, 'spool');
  const spoolFiles = readdirSync(spoolDir).map((f) => readFileSync(join(spoolDir, f)).toString('latin1')).join('\n');
  assert.match(spoolFiles, /ComputerCheckIn/, 'the spool holds the event');
  redis.resume();

  const metrics = await (await request(`${url}/metrics`)).body.text();
  const status = await (await request(`${url}/status`)).body.text();
  assert.match(metrics, /orchard_http_requests_total/);
  assert.match(status, /"auth":"header"/);
  proc.child.kill('SIGTERM');
  await proc.exited;

  const client = redis.client();
  const stream = JSON.stringify(await client.xrange('orchard:events', '-', '+'));
  const rejected = JSON.stringify(await client.xrange('orchard:rejected', '-', '+'));
  assert.ok(rejected.includes('bad json'), 'the rejected stream was written');

  const outputs: Record<string, string> = {
    'log lines (stdout)': proc.stdout.join('\n'),
    stderr: proc.stderr.join('\n'),
    'response bodies and headers': bodies.join('\n'),
    metrics,
    status,
    stream,
    'rejected stream': rejected,
    'spool files': spoolFiles,
  };
  assert.ok(proc.stdout.length > 10, 'trace logging produced lines to check');
  for (const [where, text] of Object.entries(outputs)) {
    assert.ok(!text.includes(canary) && !text.includes('CANARY-9f8e'), `the canary secret appears in ${where}`);
    assert.ok(!text.includes(redisCanary), `the Redis password appears in ${where}`);
  }
});

test('a secret that fails validation is not echoed in the error', async () => {
  const proc = runOrchard({ ORCHARD_WEBHOOK_SECRETS: 'has space CANARY-abc-0123456789', ORCHARD_WEBHOOK_BASIC_PASSWORD: 'CANARY-short' });
  assert.equal((await proc.exited).code, 2);
  const err = proc.stderr.join('\n');
  assert.match(err, /ORCHARD_WEBHOOK_SECRETS \(webhook_secrets\[0\]\): must be printable ASCII without spaces or commas/);
  assert.ok(!err.includes('CANARY'), err);
});
