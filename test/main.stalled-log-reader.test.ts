import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { freePort } from './helpers/free-port.ts';
import { useTestRedis } from './helpers/redis-server.ts';
import { packageRoot } from '../src/package-root.ts';

// `orchard serve` whose log reader has stalled: its stdout is a pipe nobody reads. Memory stays
// bounded, the lines that cannot be written are counted, and SIGTERM still ends the process.

const shared = useTestRedis();

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

test('a log reader that never reads: RSS stays within 100 MB of idle, dropped lines are counted, SIGTERM ends Orchard', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/orchard.js', 'serve'], {
    cwd: fileURLToPath(packageRoot),
    env: { PATH: process.env.PATH, REDIS_URL: shared.server.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'debug', ORCHARD_STREAM: `stall${port}:events`, ORCHARD_WEBHOOK_SECRETS: 'stalled-reader-secret-0123456789', ORCHARD_DATA_DIR: `/tmp/orchard-stall-${port}`, ORCHARD_LOG_BUFFER_BYTES: '65536' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // Not read: once the pipe and Node's own small buffer are full, every write Orchard makes waits.
  child.stdout!.pause();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(() => child.kill('SIGKILL'));
  const agent = new Agent({ connections: 16 });
  t.after(() => agent.close());
  const get = async (path: string) => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  };
  for (let i = 0; ; i++) {
    const up = await get('/healthz').then(() => true, () => false);
    if (up) break;
    assert.ok(i < 400, 'Orchard listens');
    await new Promise((r) => setTimeout(r, 50));
  }
  const idle = rssBytes(child.pid!);
  // Every answer logs a debug line: 4,000 of them, ten times what the pipe and the 64 KiB buffer (the
  // least log_buffer_bytes allows) hold, a few hundred lines between them.
  for (let round = 0; round < 4; round++) await Promise.all(Array.from({ length: 1000 }, () => get('/healthz')));
  const loaded = rssBytes(child.pid!);
  const metrics = (await get('/metrics')).body;
  const dropped = Number(/^orchard_log_lines_dropped_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(dropped > 3_000, `dropped ${dropped}`);
  assert.ok(loaded - idle < 100 * 1024 * 1024, `RSS grew by ${Math.round((loaded - idle) / 1048576)} MB`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'a graceful exit, though stdout never drained');
});
