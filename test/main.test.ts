import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Agent, request } from 'undici';
import { commandLine, isAlive } from '../src/process-info.ts';
import { freePort } from './helpers/free-port.ts';
import { killOrchard, runOrchard, startOrchardProcess, type OrchardProcess } from './helpers/orchard-process.ts';
import { TestRedis } from './helpers/redis-server.ts';
import { TcpProxy } from './helpers/tcp-proxy.ts';
import { readStream } from './helpers/test-app.ts';
import { fixtureBytes } from './helpers/fixtures.ts';

const checkIn = fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');

/** Posts the ComputerCheckIn sample with a header secret. */
const postCheckIn = (url: string, secret: string) =>
  request(`${url}/jamf-pro-events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-orchard-secret': secret }, body: checkIn });

/** Polls `check` every 20 ms until it holds; fails naming `what` after 30 s. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGTERM, and the exit code that follows. */
async function terminate(proc: OrchardProcess): Promise<number | null> {
  proc.child.kill('SIGTERM');
  return (await proc.exited).code;
}

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
      /REDIS_URL: must start with redis:\/\/ or rediss:\/\//,
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
      assert.match(err, /connectors #1 \(acme\)\.api_key: refers to \$\{ACME_JUMPCLOUD_KEY\}, but the environment variable ACME_JUMPCLOUD_KEY is not set/);
      assert.match(err, /connectors #2 \(acme\)\.type: must be one of/);
      assert.match(err, /connectors #2 \(acme\)\.name: "acme" is used by an earlier connector/);
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
    const env = { ORCHARD_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
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

    const res = await postCheckIn(first.url, secret);
    assert.equal(res.statusCode, 202);
    const { entry } = (await res.body.json()) as { entry: string };

    const pid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    assert.ok(isAlive(pid));
    assert.equal(await terminate(first), 0);
    assert.ok(!isAlive(pid), 'redis-server stopped with Orchard');
    assert.ok(existsSync(join(dataDir, 'redis', 'appendonlydir')));

    const second = await startOrchardProcess(env);
    t.after(() => killOrchard(second));
    assert.ok(!second.stderr.join('\n').includes(secret), 'no banner the second time');
    const again = await postCheckIn(second.url, secret);
    assert.equal(again.statusCode, 200, 'the dedup mark survived the restart');
    assert.equal(((await again.body.json()) as { entry: string }).entry, entry);
    assert.equal(await terminate(second), 0);
  });

  test('a redis-server left behind by a killed Orchard is stopped and its data kept', async (t) => {
    const env = { ORCHARD_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
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
    assert.equal(await terminate(second), 0);
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM: the in-flight request is finished and acknowledged, new ones are refused, exit 0', async (t) => {
    const redis = await TestRedis.start();
    t.after(() => redis.stop());
    // Orchard reaches Redis through a proxy that holds the webhook's append back: the request is
    // then surely in flight (its append at Redis's door) when the signal comes, however slow the machine.
    const proxy = await TcpProxy.start(redis.port);
    t.after(() => proxy.close());
    const proc = await startOrchardProcess({
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      PORT: '0',
      HOST: '127.0.0.1',
      ORCHARD_WEBHOOK_SECRETS: 'shutdown-secret-0123456789',
      ORCHARD_APPEND_TIMEOUT_MS: '30000',
    });
    t.after(() => killOrchard(proc));

    const appendHeld = proxy.holdFrom('ComputerCheckIn');
    const inFlight = request(`${proc.url}/jamf-pro-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-orchard-secret': 'shutdown-secret-0123456789' },
      body: checkIn,
    });
    await appendHeld;
    proc.child.kill('SIGTERM');
    await until(() => proc.stdout.some((l) => l.includes('Shutting down: finishing in-flight requests.')), 'the shutdown to begin');
    await until(() => request(`${proc.url}/healthz`).then((r) => (r.body.dump(), false), () => true), 'the listener to refuse new connections');
    proxy.release();

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
    const dir = mkdtempSync(join(tmpdir(), 'orchard-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const redis = await TestRedis.start();
    t.after(() => redis.stop());
    const proc = await startOrchardProcess({
      REDIS_URL: redis.url,
      PORT: '0',
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
    assert.equal(await terminate(proc), 0);
  });
});

/** A client that sends the headers of a POST and then one body byte a second, never finishing. */
function trickle(url: string, secret: string): { socket: import('node:net').Socket; response: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(`POST /jamf-pro-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Orchard-Secret: ${secret}\r\nContent-Length: 1000\r\n\r\n{`);
  const timer = setInterval(() => socket.writable && socket.write(' '), 1000);
  let received = '';
  socket.on('data', (d) => (received += d));
  socket.on('error', () => {});
  const response = new Promise<string>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(received);
    }),
  );
  return { socket, response };
}

describe('robustness', () => {
  test('a second Orchard on the same data directory refuses to start; the first keeps working', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orchard-two-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = { ORCHARD_DATA_DIR: dataDir, HOST: '127.0.0.1', ORCHARD_WEBHOOK_SECRETS: 'two-secret-0123456789abcd' };
    const first = await startOrchardProcess({ ...env, PORT: '0' });
    t.after(() => killOrchard(first));
    const second = runOrchard({ ...env, PORT: '0' });
    assert.equal((await second.exited).code, 1);
    assert.match(second.stderr.join('\n'), new RegExp(`Another Orchard \\(pid ${first.child.pid}\\) is using ORCHARD_DATA_DIR`));
    const res = await postCheckIn(first.url, 'two-secret-0123456789abcd');
    assert.equal(res.statusCode, 202);
    assert.equal(await terminate(first), 0);
    assert.ok(!existsSync(join(dataDir, 'orchard.lock')), 'the lock is released');
  });

  test('a data directory too deep for a socket path still gets a unix socket, never a TCP port', async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'orchard-deep-'));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const dataDir = join(base, 'a'.repeat(90));
    const proc = await startOrchardProcess({ ORCHARD_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', ORCHARD_WEBHOOK_SECRETS: 'deep-secret-0123456789abc' });
    t.after(() => killOrchard(proc));
    const pid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    // redis-server titles itself with what it listens on: host:port for TCP, unixsocket:<path> otherwise.
    const title = commandLine(pid) ?? '';
    const match = /^redis-server unixsocket:(\S+)$/.exec(title);
    assert.ok(match, title);
    const socket = match[1]!;
    assert.ok(socket.length < 100 && socket.startsWith(tmpdir()), socket);
    assert.equal(statSync(join(socket, '..')).mode & 0o777, 0o700);
    const res = await postCheckIn(proc.url, 'deep-secret-0123456789abc');
    assert.equal(res.statusCode, 202);
    assert.equal(await terminate(proc), 0);
    assert.ok(!existsSync(join(socket, '..')), 'the private socket directory is removed');
  });

  test('a client trickling its body is answered 408 in Orchard\'s error format after request_timeout_ms', async (t) => {
    const redis = await TestRedis.start();
    t.after(() => redis.stop());
    const proc = await startOrchardProcess({ REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: '0', ORCHARD_WEBHOOK_SECRETS: 'slow-secret-0123456789abc', ORCHARD_REQUEST_TIMEOUT_MS: '1500' });
    t.after(() => killOrchard(proc));
    const { response } = trickle(proc.url, 'slow-secret-0123456789abc');
    const text = await response;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /"code":"ORCHARD_ERR_REQUEST_TIMEOUT"/);
  });

  /** Orchard with an embedded Redis and a client trickling its body; all stopped after the test. */
  async function embeddedWithSlowClient(t: TestContext, timeouts: { requestMs: number; shutdownMs: number }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'orchard-slow-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const secret = 'slow-secret-0123456789abc';
    const proc = await startOrchardProcess({
      ORCHARD_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      ORCHARD_WEBHOOK_SECRETS: secret,
      ORCHARD_REQUEST_TIMEOUT_MS: String(timeouts.requestMs),
      ORCHARD_SHUTDOWN_TIMEOUT_MS: String(timeouts.shutdownMs),
    });
    t.after(() => killOrchard(proc));
    const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    const { socket } = trickle(proc.url, secret);
    t.after(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    await new Promise((r) => setTimeout(r, 400));
    return { proc, redisPid };
  }

  test('SIGTERM with a slow client connected still ends in time: exit 0, embedded Redis stopped', async (t) => {
    // Open connections are cut 3 s before the shutdown deadline, well before the request timeout.
    const { proc, redisPid } = await embeddedWithSlowClient(t, { requestMs: 5500, shutdownMs: 6000 });
    assert.equal(await terminate(proc), 0);
    assert.ok(!isAlive(redisPid), 'the embedded redis-server stopped');
  });

  test('a second signal exits at once and still stops the embedded Redis', async (t) => {
    const { proc, redisPid } = await embeddedWithSlowClient(t, { requestMs: 30000, shutdownMs: 40000 });
    proc.child.kill('SIGINT');
    // Two signals sent close together may reach the process as one: the second waits for the first's log line.
    await until(() => proc.stdout.some((l) => l.includes('"Signal received."')), 'the first signal to be handled');
    proc.child.kill('SIGINT');
    assert.equal((await proc.exited).code, 130);
    for (let i = 0; i < 50 && isAlive(redisPid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!isAlive(redisPid), 'the embedded redis-server stopped');
  });

  test('a signal while start-up waits for Redis ends it at once, before listening', async (t) => {
    // A "Redis" that accepts connections and never answers: Orchard's start-up waits for it (up to
    // 5 s, then it would listen anyway). Its first connection says that the wait has begun.
    const sockets: import('node:net').Socket[] = [];
    let connected!: () => void;
    const firstConnection = new Promise<void>((resolve) => (connected = resolve));
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      connected();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const proc = runOrchard({ REDIS_URL: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`, HOST: '127.0.0.1', PORT: '0', ORCHARD_WEBHOOK_SECRETS: 'early-secret-0123456789ab' });
    t.after(() => killOrchard(proc));
    await firstConnection;
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 143);
    assert.match(proc.stderr.join('\n'), /Start-up was interrupted by a signal/);
    assert.ok(!proc.stdout.some((l) => l.includes('Orchard is listening.')), 'it ended before its wait for Redis was over');
  });

  test('unknown ORCHARD_* variables are named in a warning, with the likely setting', async (t) => {
    const redis = await TestRedis.start();
    t.after(() => redis.stop());
    const proc = await startOrchardProcess({ REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: '0', ORCHARD_WEBHOOK_SECRETS: 'typo-secret-0123456789abc', ORCHARD_WEBHOOK_SECRET: 'x' });
    t.after(() => killOrchard(proc));
    assert.ok(proc.stdout.some((l) => l.includes('ORCHARD_WEBHOOK_SECRET is not an Orchard setting and is ignored (did you mean ORCHARD_WEBHOOK_SECRETS?)')));
  });
});
