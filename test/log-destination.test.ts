import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/package-root.ts';

// The default log destination (src/log-destination.ts) when the log reader is slow or gone: a child
// process logs through it to a pipe nobody reads; its memory must stay bounded and the lines it could
// not write must be counted.

// The child runs the compiled module (npm run build), as Orchard does.
const child = `
import { boundedLogDestination } from ${JSON.stringify(fileURLToPath(new URL('dist/log-destination.js', packageRoot)))};
import pino from 'pino';
const destination = boundedLogDestination({ maxBufferBytes: 1024 * 1024 });
const logger = pino({}, destination.stream);
const before = process.memoryUsage().rss;
const filler = 'x'.repeat(400);
for (let round = 0; round < 40; round++) {
  for (let i = 0; i < 5000; i++) logger.info({ filler, i }, 'A line nobody reads.');
  await new Promise((r) => setImmediate(r));
}
globalThis.gc?.();
process.stderr.write(JSON.stringify({ dropped: destination.dropped(), grewBytes: process.memoryUsage().rss - before }) + '\\n');
// Closing gives up on what the reader never took: the process then ends by itself.
await destination.close(200);
`;

test('a log reader that never reads: memory stays bounded (200,000 lines, 90 MB, through a 1 MiB buffer), the dropped lines are counted, and the process still ends', async () => {
  const proc = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'pipe'] });
  // stdout is never read: the pipe fills (64 KiB) and stays full.
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => proc.on('exit', r));
  proc.stdout.destroy();
  assert.equal(code, 0, err);
  const report = JSON.parse(err.trim().split('\n').pop()!) as { dropped: number; grewBytes: number };
  assert.ok(report.dropped > 150_000, `dropped ${report.dropped}`);
  assert.ok(report.grewBytes < 40 * 1024 * 1024, `RSS grew by ${report.grewBytes} bytes`);
});

test('stdout on a file: every line is written, and close waits for them', async () => {
  const { mkdtempSync, openSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { boundedLogDestination } = await import('../src/log-destination.ts');
  const dir = mkdtempSync(join(tmpdir(), 'orchard-log-'));
  try {
    const fd = openSync(join(dir, 'out.log'), 'w');
    const destination = boundedLogDestination({ fd });
    for (let i = 0; i < 1000; i++) destination.stream.write(`{"i":${i}}\n`);
    await destination.close(5000);
    const lines = readFileSync(join(dir, 'out.log'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1000);
    assert.equal(destination.dropped(), 0);
    destination.stream.write('{"late":true}\n');
    assert.equal(destination.dropped(), 1, 'a line after close is dropped, not thrown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
