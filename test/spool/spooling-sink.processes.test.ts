import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pool } from 'undici';
import { sha256 } from '../../src/sha256.ts';
import { killOrchard, runOrchard, startOrchardProcess, type OrchardProcess } from '../helpers/orchard-process.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { mulberry32 } from '../mocks/jamf-pro-server.ts';

// Whole Orchard processes with the spool on: SIGKILL at random points while they spool (Redis killed
// under them) and while they drain (Redis back; every other time frozen with a batch in flight, so
// that the batch lands and the cursor does not move), again and again, on one data directory.

const secret = 'spool-process-secret-0123456789';
const headers = { 'content-type': 'application/json', 'x-orchard-secret': secret };

interface SpoolView {
  state: string;
  records: number;
  drainedTotal: number;
}

async function spoolOf(proc: OrchardProcess & { url: string }): Promise<SpoolView | undefined> {
  try {
    const res = await fetch(`${proc.url}/status`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { spool: SpoolView }).spool;
  } catch {
    return undefined;
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The computer of a ComputerCheckIn webhook as Jamf Pro sends it (every field of Jamf's template,
 * test/fixtures/jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json): a record of about 1 KB,
 * so that the spool's 1 MiB drain batches hold about a thousand and a spool of 1,500 takes two.
 */
function checkInComputer(n: number) {
  const mac = `a4:83:e7:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  return {
    alternateMacAddress: mac.replace('a4', 'a6'),
    building: 'Headquarters, Building 2',
    department: 'Information Security',
    deviceName: `Jane Doe's MacBook Pro (${n})`,
    emailAddress: 'jane.doe@example.com',
    ipAddress: `10.20.${(n >> 8) & 255}.${n & 255}`,
    jssID: n,
    macAddress: mac,
    model: 'MacBook Pro (14-inch, M3 Pro, Nov 2023)',
    osBuild: '23G93',
    osVersion: '14.6.1',
    phone: '+1 555 0100',
    position: 'Security Engineer',
    realName: 'Jane Doe',
    reportedIpAddress: `192.168.${(n >> 8) & 255}.${n & 255}`,
    room: '2.14',
    serialNumber: `C02${String(n).padStart(9, '0')}`,
    udid: `5E3C2A1B-8D7F-4C6E-9B0A-${String(n).padStart(12, '0')}`,
    userDirectoryID: '-1',
    username: 'jdoe',
    managementId: `a3b1c2d4-e5f6-4a7b-8c9d-${String(n).padStart(12, '0')}`,
  };
}

/** Senders that post distinct webhooks until stopped, remembering what they sent and what was answered 2xx. */
function senders(url: string, count: number, log: { sent: Set<string>; acknowledged: Set<string>; statuses: Map<string, number> }) {
  const pool = new Pool(url, { connections: count, connect: { timeout: 2000 } });
  let stopped = false;
  let n = 0;
  const run = async () => {
    while (!stopped) {
      n += 1;
      const body = JSON.stringify({ webhook: { id: n, name: `w${Math.random()}`, webhookEvent: 'ComputerCheckIn', eventTimestamp: 1725007720000 + n }, event: { computer: checkInComputer(n), trigger: 'CHECKIN', username: 'jdoe' } });
      log.sent.add(sha256(body, 'hex'));
      try {
        const res = await pool.request({ method: 'POST', path: '/jamf-pro-events', headers, body });
        await res.body.dump();
        log.statuses.set(String(res.statusCode), (log.statuses.get(String(res.statusCode)) ?? 0) + 1);
        if (res.statusCode === 202 || res.statusCode === 200) log.acknowledged.add(sha256(body, 'hex'));
      } catch {
        log.statuses.set('connection lost', (log.statuses.get('connection lost') ?? 0) + 1); // Orchard was killed: not acknowledged
        return;
      }
    }
  };
  const running = Promise.all(Array.from({ length: count }, run));
  return {
    async stop() {
      stopped = true;
      await running;
      await pool.destroy();
    },
  };
}

async function environment(t: TestContext) {
  // appendfsync always: what Redis acknowledged survives its SIGKILL (see the in-process burst test).
  const redis = await TestRedis.start({ appendonly: true, appendfsync: 'always' });
  t.after(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-spool-kill-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = async () => ({ REDIS_URL: redis.url, ORCHARD_DATA_DIR: dataDir, ORCHARD_WEBHOOK_SECRETS: secret, ORCHARD_RATE_LIMIT_PER_MINUTE: '0', HOST: '127.0.0.1', PORT: '0' });
  return { redis, dataDir, env };
}

test('SIGKILL at random points of spooling and of draining, many times: nothing acknowledged is missing, nothing is in the stream twice', async (t) => {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  const random = mulberry32(seed);
  const { redis, env } = await environment(t);
  const log = { sent: new Set<string>(), acknowledged: new Set<string>(), statuses: new Map<string, number>() };
  const killsMidDrain: number[] = [];

  for (let cycle = 0; cycle < 4; cycle++) {
    // Spooling: Redis dies under a running Orchard, which is killed while the senders keep posting.
    const spooling = await startOrchardProcess(await env());
    t.after(() => killOrchard(spooling));
    const first = senders(spooling.url, 8, log);
    await new Promise((r) => setTimeout(r, 50 + random() * 150));
    await redis.kill();
    await until('events to be spooled', async () => ((await spoolOf(spooling))?.records ?? 0) > 1500);
    await new Promise((r) => setTimeout(r, random() * 300));
    spooling.child.kill('SIGKILL');
    await spooling.exited;
    await first.stop();

    // Draining: Redis is back; a new Orchard recovers the spool and drains it while new posts go to Redis; killed mid-drain.
    await redis.restart();
    const draining = await startOrchardProcess(await env());
    t.after(() => killOrchard(draining));
    const second = senders(draining.url, 4, log);
    let seen: SpoolView | undefined;
    await until('the drain to start', async () => {
      seen = await spoolOf(draining);
      return seen !== undefined && (seen.drainedTotal > 0 || seen.records === 0);
    });
    if (cycle % 2 === 1 && seen!.records > 0) {
      // Redis frozen with a drain batch sent: killed before the answer, so the batch lands but the cursor stays.
      redis.pause();
      await new Promise((r) => setTimeout(r, random() * 300));
      draining.child.kill('SIGKILL');
      await draining.exited;
      redis.resume();
    } else {
      await new Promise((r) => setTimeout(r, random() * 20));
      draining.child.kill('SIGKILL');
      await draining.exited;
    }
    await second.stop();
    if (seen!.records > 0) killsMidDrain.push(seen!.drainedTotal);
  }
  t.diagnostic(`killed mid-drain after ${killsMidDrain.join(', ')} drained records; answers ${JSON.stringify([...log.statuses])}`);
  assert.ok(killsMidDrain.length >= 1, 'a kill landed in the middle of a drain');
  assert.equal(log.statuses.get('503') ?? 0, 0, 'nothing refused');

  // The last Orchard drains what is left.
  const last = await startOrchardProcess(await env());
  t.after(() => killOrchard(last));
  await until('the spool to be empty', async () => (await spoolOf(last))?.state === 'empty');
  await killOrchard(last);

  const ids = (await readStream(redis.client(), 'orchard:events')).map((e) => e.fields.id!);
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.deepEqual([...counts].filter(([, c]) => c > 1), [], 'no event twice');
  assert.deepEqual([...log.acknowledged].filter((id) => !counts.has(id)), [], 'every acknowledged event is in the stream');
  assert.deepEqual(ids.filter((id) => !log.sent.has(id)), [], 'nothing that was not sent');
  assert.ok(log.acknowledged.size > 1000, `${log.acknowledged.size} acknowledged`);
});

test('ORCHARD_SPOOL=off: with Redis away a webhook is answered 503 with Retry-After, as before, and nothing is kept on disk', async (t) => {
  const { redis, dataDir, env } = await environment(t);
  const proc = await startOrchardProcess({ ...(await env()), ORCHARD_SPOOL: 'off' });
  t.after(() => killOrchard(proc));
  await redis.kill();
  const body = '{"webhook":{"id":1,"name":"off","webhookEvent":"JSSStartup","eventTimestamp":1725007720000},"event":{}}';
  const started = Date.now();
  const res = await fetch(`${proc.url}/jamf-pro-events`, { method: 'POST', headers, body });
  assert.ok(Date.now() - started < 2000);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '2');
  assert.equal(((await res.json()) as { code: string }).code, 'ORCHARD_ERR_SINK_UNAVAILABLE');
  const status = (await (await fetch(`${proc.url}/status`)).json()) as { spool: unknown };
  assert.deepEqual(status.spool, { enabled: false });
  assert.equal((await fetch(`${proc.url}/readyz`)).status, 503);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(join(dataDir, 'spool')), false);
});

test('a second Orchard on the same data directory (its own REDIS_URL) refuses to start: one spool, one owner', async (t) => {
  const { env } = await environment(t);
  const first = await startOrchardProcess(await env());
  t.after(() => killOrchard(first));
  const second = runOrchard(await env());
  t.after(() => killOrchard(second));
  assert.equal((await second.exited).code, 1);
  assert.match(second.stderr.join('\n'), new RegExp(`Another Orchard \\(pid ${first.child.pid}\\) is using the spool in ORCHARD_DATA_DIR`));
});
