// Memory and throughput of `orchard import` on a large file, run by hand (not part of `npm run bench`,
// not a test): npm run bench:import (builds dist/ first: the importer runs as `node bin/orchard.js import`)
//
// Generates a file of distinct access-log lines (IMPORT_BENCH_MB, default 1024 MB) in a temporary
// directory, starts a fresh redis-server on a free port, runs `orchard import` on the file as a child
// process and samples its resident set (VmRSS in /proc/<pid>/status) every 500 ms. A million imported
// lines take well over a GB of Redis memory, so the stream is trimmed to about 100,000 entries every
// second while the import runs (IMPORT_BENCH_TRIM=0 keeps everything: mind the machine's memory).
// Prints peak RSS, lines/s, MB/s and the duration; removes the file and stops Redis afterwards.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../src/redis/spawn-redis-server.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { Cleanup, envNumber, procStatusBytes, repoRoot, tempDir } from './lib.ts';

const targetMb = envNumber('IMPORT_BENCH_MB', 1024);
const trimTo = Number(process.env.IMPORT_BENCH_TRIM ?? 100_000);
const stream = 'bench:events';

function accessLine(n: number): string {
  const t = new Date(Date.UTC(2026, 0, 1) + n * 37).toISOString().replace('.', ',').replace('Z', '');
  return `[JSSACCESSLOG] ${t} - username=user${n}@example.com, status=Successful Login, ipAddress=10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}, entryPoint=Universal API\n`;
}

async function generate(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path, { highWaterMark: 1024 * 1024 });
  let written = 0;
  let lines = 0;
  let chunk = '';
  while (written < bytes) {
    const line = accessLine(lines++);
    chunk += line;
    written += line.length;
    if (chunk.length >= 256 * 1024) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return lines;
}

const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);

function childEnv(port: number, dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', REDIS_URL: `redis://127.0.0.1:${port}`, ORCHARD_STREAM: stream, ORCHARD_DATA_DIR: join(dir, 'data') };
}

/** The highest VmRSS of a child process, sampled every `everyMs` until it exits. */
async function peakRssOf(child: ChildProcess, everyMs: number): Promise<number> {
  let peak = 0;
  const timer = setInterval(() => {
    const rss = child.pid === undefined ? undefined : procStatusBytes(child.pid, 'VmRSS');
    if (rss !== undefined) peak = Math.max(peak, rss);
  }, everyMs);
  await new Promise((resolve) => child.once('exit', resolve));
  clearInterval(timer);
  return peak;
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const dir = tempDir('orchard-import-bench-', cleanup);
    const file = join(dir, 'access.log');
    process.stdout.write(`generating ${targetMb} MB of access-log lines in ${file}…\n`);
    const genStarted = performance.now();
    const lines = await generate(file, targetMb * 1024 * 1024);
    const size = statSync(file).size;
    process.stdout.write(`  ${lines} lines, ${mib(size)} MiB in ${((performance.now() - genStarted) / 1000).toFixed(1)} s\n`);

    const port = await freePort();
    const redisServer = await spawnRedisServer({
      args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory', '0', '--logfile', ''],
    });
    cleanup.defer('stop redis-server', () => {
      if (redisServer.exitCode === null) redisServer.kill('SIGKILL');
    });
    const redis = new Redis(port, '127.0.0.1');
    cleanup.defer('disconnect', () => redis.disconnect());

    // The same command on a 10-line file: what the process takes before any import work (the CLI loads
    // the whole of Orchard).
    const small = join(dir, 'small.log');
    writeFileSync(small, Array.from({ length: 10 }, (_, n) => accessLine(n)).join(''));
    const baselineRss = await peakRssOf(spawn(process.execPath, ['bin/orchard.js', 'import', small], { cwd: repoRoot, env: childEnv(port, dir), stdio: 'ignore' }), 20);
    await redis.del(stream);
    process.stdout.write(`baseline: orchard import of a 10-line file peaks at ${mib(baselineRss)} MiB RSS\n`);

    const child = spawn(process.execPath, ['bin/orchard.js', 'import', file], {
      cwd: repoRoot,
      env: childEnv(port, dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.defer('stop the import', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const output: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => {
      output.push(l);
      process.stdout.write(`  > ${l}\n`);
    });
    createInterface({ input: child.stderr! }).on('line', (l) => process.stdout.write(`  | ${l}\n`));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = performance.now();
    let peakRss = 0;
    let samples = 0;
    let rssSum = 0;
    const rssTimeline: number[] = [];
    const sampler = setInterval(() => {
      const rss = child.pid === undefined ? undefined : procStatusBytes(child.pid, 'VmRSS');
      if (rss === undefined) return;
      peakRss = Math.max(peakRss, rss);
      samples++;
      rssSum += rss;
      rssTimeline.push(rss);
    }, 500);
    let trimmed = 0;
    let peakRedisMemory = 0;
    const trimmer =
      trimTo > 0
        ? setInterval(() => {
            // LIMIT 0: with ~ Redis trims at most 10,000 entries per call otherwise, fewer than are appended.
            void redis.call('XTRIM', stream, 'MAXLEN', '~', String(trimTo), 'LIMIT', '0').then((n) => (trimmed += Number(n)), () => {});
            void redis.info('memory').then((info) => {
              peakRedisMemory = Math.max(peakRedisMemory, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
            }, () => {});
          }, 1000)
        : undefined;
    const code = await exited;
    const durationMs = performance.now() - started;
    clearInterval(sampler);
    if (trimmer) clearInterval(trimmer);
    const length = await redis.xlen(stream);
    const summary = output.find((l) => l.startsWith(`${file}: `)) ?? '(no summary)';
    const appended = Number(/(\d+) appended/.exec(summary)?.[1] ?? NaN);
    const seconds = durationMs / 1000;
    // RSS over the run, in tenths: flat means the later tenths are no higher than the early ones.
    const tenths = Array.from({ length: 10 }, (_, i) => {
      const part = rssTimeline.slice(Math.floor((i * rssTimeline.length) / 10), Math.floor(((i + 1) * rssTimeline.length) / 10));
      return part.length === 0 ? 0 : Math.max(...part);
    });
    process.stdout.write(
      [
        '',
        `orchard import exit code: ${code}`,
        `summary: ${summary}`,
        `file: ${lines} lines, ${mib(size)} MiB`,
        `appended (summary): ${appended}; entries trimmed meanwhile: ${trimmed}; left in the stream: ${length}; appended = trimmed + left: ${appended === trimmed + length}`,
        `duration (hashing included, process start to exit): ${seconds.toFixed(1)} s`,
        `throughput: ${Math.round(lines / seconds)} lines/s, ${(size / (1024 * 1024) / seconds).toFixed(1)} MiB/s`,
        `RSS of the import process: peak ${mib(peakRss)} MiB, mean ${mib(rssSum / Math.max(1, samples))} MiB over ${samples} samples (baseline ${mib(baselineRss)} MiB)`,
        `RSS peak per tenth of the run (MiB): ${tenths.map(mib).join(' ')}`,
        trimTo > 0 ? `Redis used_memory peak (trimmed to ~${trimTo} entries): ${mib(peakRedisMemory)} MiB` : '',
        '',
      ].join('\n'),
    );
    if (code !== 0) process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
