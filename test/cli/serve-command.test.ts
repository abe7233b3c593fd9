import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { isAlive } from '../../src/process-info.ts';
import { freePort } from '../helpers/free-port.ts';
import { killOrchard, runOrchard, startOrchardProcess } from '../helpers/orchard-process.ts';

// `orchard serve` as a process with its embedded Redis (no REDIS_URL): signals and start-up order.

const dir = mkdtempSync(join(tmpdir(), 'orchard-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const disabledConnector = (name: string) => `  - name: ${name}\n    type: jumpcloud.system_users\n    api_key: ${'k'.repeat(40)}\n    enabled: false\n`;

test('SIGHUP reloads the connectors from the file, refuses an invalid one, and never ends Orchard; SIGTERM then stops the embedded Redis', async (t) => {
  const dataDir = join(dir, 'hup');
  const config = join(dir, 'hup.yml');
  writeFileSync(config, `connectors:\n${disabledConnector('first')}`);
  const proc = await startOrchardProcess({ ORCHARD_DATA_DIR: dataDir, ORCHARD_CONFIG: config, PORT: String(await freePort()), HOST: '127.0.0.1' });
  t.after(() => killOrchard(proc));
  const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  const names = async () => ((await (await request(`${proc.url}/status`)).body.json()) as { connectors: { name: string }[] }).connectors.map((c) => c.name);
  assert.deepEqual(await names(), ['first']);

  writeFileSync(config, `connectors:\n${disabledConnector('first')}${disabledConnector('second')}`);
  proc.child.kill('SIGHUP');
  await until('the reload', () => proc.stdout.some((l) => l.includes('"Connectors reloaded."')));
  assert.deepEqual(await names(), ['first', 'second']);

  writeFileSync(config, 'connectors:\n  - name: broken\n    type: jumpcloud.system_users\n    interval: 15\n');
  proc.child.kill('SIGHUP');
  await until('the refusal', () => proc.stdout.some((l) => l.includes('Reload refused')));
  const refusal = proc.stdout.find((l) => l.includes('Reload refused'))!;
  assert.match(refusal, /15 has no unit/);
  assert.deepEqual(await names(), ['first', 'second'], 'the running connectors stay');
  assert.equal(proc.child.exitCode, null, 'still running');
  assert.ok(isAlive(redisPid), 'the embedded Redis still runs');

  proc.child.kill('SIGTERM');
  const { code } = await proc.exited;
  assert.equal(code, 0);
  assert.ok(!isAlive(redisPid), 'the embedded redis-server stopped with Orchard');
});

test('a port in use is reported before anything is generated or started: no secret, no data directory, no Redis', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  const cases: Record<string, string>[] = [{ PORT: String(port) }, { PORT: String(await freePort()), ORCHARD_ADMIN_PORT: String(port), ORCHARD_ADMIN_HOST: '127.0.0.1' }];
  for (const env of cases) {
    const dataDir = join(dir, `busy-${Math.random().toString(36).slice(2)}`);
    const proc = runOrchard({ ORCHARD_DATA_DIR: dataDir, HOST: '127.0.0.1', ...env }, ['serve']);
    t.after(() => killOrchard(proc));
    const { code } = await proc.exited;
    assert.equal(code, 1);
    const portName = env.ORCHARD_ADMIN_PORT ? 'ORCHARD_ADMIN_PORT' : 'PORT';
    assert.match(proc.stderr.join('\n'), new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is already in use \\(${portName}\\)`));
    assert.ok(!existsSync(dataDir) || readdirSync(dataDir).length === 0, `nothing in ${dataDir}`);
    assert.ok(!proc.stderr.join('\n').includes('generated a webhook secret'));
  }
});
