import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { freePort, isAlive } from '../src/redis/embedded-redis.ts';
import { killOrchard, runOrchard, startOrchardProcess } from './helpers/orchard-process.ts';
import { TestRedis } from './helpers/redis-server.ts';
import { readStream } from './helpers/test-app.ts';
import { fixtureBytes } from './helpers/fixtures.ts';

const checkIn = fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');

describe('configuration mistakes', () => {
  test('every mistake is reported at once, naming the key, and Orchard exits non-zero before listening', async () => {
    const proc = runOrchard({
      PORT: 'ninety',
      LOG_LEVEL: 'chatty',
      ORCHARD_WEBHOOK_SECRETS: 'short',
      ORCHARD_WEBHOOK_HEADER: 'Content-Type',
      REDIS_URL: 'http://localhost:6379',
      ORCHARD_APPEND_TIMEOUT_MS: '10',
    });
    const { code } = await proc.exited;
    assert.equal(code, 2);
    const err = proc.stderr.join('\n');
    for (const expected of [
      /PORT \(port\): must be integer/,
      /LOG_LEVEL \(log_level\): must be one of/,
      /ORCHARD_WEBHOOK_SECRETS \(webhook_secrets\[0\]\): must NOT have fewer than 16 characters/,
      /ORCHARD_WEBHOOK_HEADER: Content-Type cannot carry the secret/,
      /REDIS_URL \(redis_url\): must match pattern/,
      /ORCHARD_APPEND_TIMEOUT_MS \(append_timeout_ms\): must be >= 50/,
    ]) {
      assert.match(err, expected);
    }
    assert.match(err, /6 problems/);
    assert.ok(!proc.stdout.some((l) => l.includes('listening')));
  });

  test('a YAML file: typos, wrong types and unset ${VARS} are named with their key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orchard-cfg-'));
    try {
      const file = join(dir, 'orchard.yml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        file,
        [
          'prot: 9000',
          'dedup_window_seconds: soon',
          'connectors:',
          '  - name: acme',
          '    type: jumpcloud.directory_insights',
          '    api_key: ${ACME_JUMPCLOUD_KEY}',
          '  - name: acme',
          '    type: jamf_pro.nonsense',
        ].join('\n'),
      );
      const proc = runOrchard({ ORCHARD_CONFIG: file });
      assert.equal((await proc.exited).code, 2);
      const err = proc.stderr.join('\n');
      assert.match(err, /prot: unknown setting/);
      assert.match(err, /dedup_window_seconds: must be integer/);
      assert.match(err, /connectors\[0\]\.api_key: refers to \$\{ACME_JUMPCLOUD_KEY\}, but the environment variable ACME_JUMPCLOUD_KEY is not set/);
      assert.match(err, /connectors\[1\]\.type: must be one of/);
      assert.match(err, /connectors\[1\]\.name: "acme" is used by an earlier connector/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('with REDIS_URL unset', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'orchard-data-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('starts its own redis-server with AOF, generates a 0600 secret, prints the Jamf Pro JSON, stops Redis on exit; data and secret survive a restart', async (t) => {
    const env = { ORCHARD_DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' };
    const first = await startOrchardProcess(env);
    t.after(() => killOrchard(first));

    const secretFile = join(dataDir, 'webhook-secret');
    assert.equal(statSync(secretFile).mode & 0o777, 0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    assert.ok(secret.length >= 32);
    const banner = first.stderr.join('\n');
    assert.ok(banner.includes(`{"X-Orchard-Secret":"${secret}"}`), banner);
    assert.ok(!first.stdout.join('\n').includes(secret), 'the secret is not in a log line');
    assert.ok(first.stdout.some((l) => l.includes('Started an embedded redis-server with append-only persistence')));

    const res = await request(`${first.url}/jamf-pro-events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-orchard-secret': secret }, body: checkIn });
    assert.equal(res.statusCode, 202);
    const { entry } = (await res.body.json()) as { entry: string };

    const pid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    assert.ok(isAlive(pid));
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    assert.ok(!isAlive(pid), 'redis-server stopped with Orchard');
    assert.ok(existsSync(join(dataDir, 'redis', 'appendonlydir')));

    const second = await startOrchardProcess(env);
    t.after(() => killOrchard(second));
    assert.ok(!second.stderr.join('\n').includes(secret), 'no banner the second time');
    const again = await request(`${second.url}/jamf-pro-events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-orchard-secret': secret }, body: checkIn });
    assert.equal(again.statusCode, 200, 'the dedup mark survived the restart');
    assert.equal(((await again.body.json()) as { entry: string }).entry, entry);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  test('a redis-server left behind by a killed Orchard is stopped and its data kept', async (t) => {
    const env = { ORCHARD_DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' };
    const first = await startOrchardProcess(env);
    t.after(() => killOrchard(first));
    const orphan = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(isAlive(orphan), 'redis-server outlived the SIGKILL');

    const second = await startOrchardProcess(env);
    t.after(() => killOrchard(second));
    assert.ok(!isAlive(orphan));
    assert.ok(second.stdout.some((l) => l.includes('previous Orchard left running')));
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM: the in-flight request is finished and acknowledged, new ones are refused, exit 0', async (t) => {
    const redis = await TestRedis.start();
    t.after(() => redis.stop());
    const proc = await startOrchardProcess({
      REDIS_URL: redis.url,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      ORCHARD_WEBHOOK_SECRETS: 'shutdown-secret-0123456789',
      ORCHARD_APPEND_TIMEOUT_MS: '8000',
    });
    t.after(() => killOrchard(proc));

    redis.pause();
    const inFlight = request(`${proc.url}/jamf-pro-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-orchard-secret': 'shutdown-secret-0123456789' },
      body: checkIn,
    });
    await new Promise((r) => setTimeout(r, 300));
    proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(request(`${proc.url}/healthz`), 'the listener is closed to new connections');
    redis.resume();

    const res = await inFlight;
    assert.equal(res.statusCode, 202);
    const { entry } = (await res.body.json()) as { entry: string };
    assert.equal((await proc.exited).code, 0);
    const entries = await readStream(redis.client(), 'orchard:events');
    assert.deepEqual(entries.map((e) => e.entry), [entry]);
    assert.ok(proc.stdout.some((l) => l.includes('Orchard stopped.')));
  });
});

describe('listeners', () => {
  test('HTTPS with a configured certificate, and the operations routes on their own admin port', async (t) => {
    const { execFileSync } = await import('node:child_process');
    const { Agent } = await import('undici');
    const dir = mkdtempSync(join(tmpdir(), 'orchard-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const redis = await TestRedis.start();
    t.after(() => redis.stop());
    const proc = await startOrchardProcess({
      REDIS_URL: redis.url,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      ORCHARD_ADMIN_PORT: String(await freePort()),
      ORCHARD_WEBHOOK_SECRETS: 'tls-secret-0123456789ab',
      ORCHARD_TLS_CERT_FILE: join(dir, 'cert.pem'),
      ORCHARD_TLS_KEY_FILE: join(dir, 'key.pem'),
    });
    t.after(() => killOrchard(proc));
    assert.match(proc.url, /^https:\/\//);
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    t.after(() => dispatcher.close());
    const res = await request(`${proc.url}/jamf-pro-events`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', 'x-orchard-secret': 'tls-secret-0123456789ab' },
      body: checkIn,
    });
    assert.equal(res.statusCode, 202);
    await res.body.dump();
    const onMain = await request(`${proc.url}/metrics`, { dispatcher });
    assert.equal(onMain.statusCode, 404, 'operations routes are not on the main listener');
    await onMain.body.dump();
    const metrics = await request(`${proc.adminUrl}/metrics`);
    assert.equal(metrics.statusCode, 200);
    assert.match(await metrics.body.text(), /orchard_events_appended_total\{source="jamf_pro.events",type="ComputerCheckIn"\} 1/);
    assert.equal((await request(`${proc.adminUrl}/readyz`)).statusCode, 200);
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exited).code, 0);
  });
});
