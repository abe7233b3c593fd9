// `npm run bench` (and `npm run bench:attack` alone): legitimate webhooks while hostile traffic pours
// in, on this machine, in one run.
//
// Starts a private redis-server and Orchard (`node bin/orchard.js serve`, compiled) as child
// processes. A legitimate sender posts authenticated ComputerCheckIn webhooks from 127.0.0.2 at a
// steady rate (BENCH_ATTACK_RATE a second, on 8 kept-alive connections, as Jamf Cloud would), and
// records each answer's status and latency. Meanwhile wrk (Debian's package) floods Orchard from
// 127.0.0.1, one phase after the other:
//
//   quiet          no attack (the legitimate sender alone): the baseline
//   401 × 32       32 connections pipelining 16 unauthenticated webhooks each
//   401 × 256      256 connections pipelining 8
//   404 × 32       32 connections asking for paths Orchard does not serve
//
// Per phase: the legitimate answers (2xx count, p50, p99, max, over 1 s, over 2 s), what the attacker
// got answered (wrk's requests/s), Orchard's RSS at the end of the phase against its idle RSS, and the
// log lines Orchard wrote. Orchard's log level is info (the default): a flood must not become a flood
// of log lines. Figures are reported, never asserted. Without wrk the hostile phases are skipped.
//
// Settings (environment): BENCH_ATTACK_S (seconds per phase, default 20), BENCH_ATTACK_RATE (legitimate
// webhooks a second, default 50).

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../test/helpers/free-port.ts';
import { TestRedis } from '../test/helpers/redis-server.ts';
import { hasWrk } from './wrk.ts';
import { bytesToMb, Cleanup, envNumber, fmt, formatTable, machineFacts, percentile, startChildServer, tempDir, writeReport } from './lib.ts';

const phaseS = envNumber('BENCH_ATTACK_S', 20);
const rate = envNumber('BENCH_ATTACK_RATE', 50);
const secret = 'bench-attack-secret-0123456789abcdef';

interface Phase {
  readonly name: string;
  /** wrk arguments after the URL's host, or undefined for the quiet phase. */
  readonly wrk?: { readonly connections: number; readonly script: 'pipeline' | 'notfound' | 'operations'; readonly depth: number };
}

const phases: Phase[] = [
  { name: 'quiet' },
  { name: '401 × 32 pipelined', wrk: { connections: 32, script: 'pipeline', depth: 16 } },
  { name: '401 × 256 pipelined', wrk: { connections: 256, script: 'pipeline', depth: 8 } },
  { name: '404 × 32', wrk: { connections: 32, script: 'notfound', depth: 1 } },
  // The operations routes Orchard serves on the public port when no admin port is set: Fastify answers
  // them, and the gate closes each unauthenticated connection after its one answer.
  { name: '/healthz /metrics /status × 32 pipelined', wrk: { connections: 32, script: 'operations', depth: 16 } },
];

const pipelineLua = `init = function(args)
  local depth = tonumber(args[1]) or 8
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format("POST", "/jamf-pro-events", {["Content-Type"] = "application/json"}, '{"webhook":{"webhookEvent":"ComputerCheckIn"}}')
  end
  req = table.concat(r)
end
request = function() return req end
`;
const operationsLua = `init = function(args)
  local depth = tonumber(args[1]) or 8
  local paths = {"/healthz", "/metrics", "/status", "/readyz"}
  local r = {}
  for i = 1, depth do r[i] = wrk.format("GET", paths[(i % 4) + 1]) end
  req = table.concat(r)
end
request = function() return req end
`;
const notFoundLua = `request = function() return wrk.format("GET", "/wp-login.php?x=" .. math.random(1, 1000000)) end
`;

/** Legitimate webhooks at `rate` a second for `seconds`; every answer's status and latency. */
async function legitimateSender(url: URL, seconds: number): Promise<{ statuses: Record<string, number>; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const sent: Promise<void>[] = [];
  let n = 0;
  const post = () =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({ webhook: { id: 1, name: 'bench', webhookEvent: 'ComputerCheckIn', eventTimestamp: Date.now() }, event: { computer: { serialNumber: `ATTACK${n++}-${Math.random()}`, udid: 'u' }, trigger: 'CHECKIN', username: 'u' } });
      const started = performance.now();
      const done = (status: string) => {
        latencies.push(performance.now() - started);
        statuses[status] = (statuses[status] ?? 0) + 1;
        resolve();
      };
      const req = request({ host: url.hostname, port: url.port, path: '/jamf-pro-events', method: 'POST', agent, localAddress: '127.0.0.2', timeout: 10_000, headers: { 'content-type': 'application/json', 'x-orchard-secret': secret } }, (res) => {
        res.resume();
        res.on('end', () => done(String(res.statusCode)));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => done((err as NodeJS.ErrnoException).code ?? err.message));
      req.end(body);
    });
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    sent.push(post());
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await Promise.all(sent);
  agent.destroy();
  return { statuses, latencies: latencies.sort((a, b) => a - b) };
}

function runWrk(url: URL, phase: NonNullable<Phase['wrk']>, scripts: Record<string, string>, seconds: number): Promise<string> {
  return new Promise((resolve) => {
    const wrk = spawn('wrk', ['-t2', `-c${phase.connections}`, `-d${seconds}s`, '-s', scripts[phase.script]!, `${url.origin}/`, '--', String(phase.depth)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrk.stdout.on('data', (d) => (out += d));
    wrk.on('exit', () => resolve(out));
  });
}

/** V8's heap in use, from Orchard's own /metrics (prom-client's default metrics), in bytes. */
async function heapUsedBytes(baseUrl: string): Promise<number | undefined> {
  const text = await fetch(`${baseUrl}/metrics`).then((r) => r.text(), () => '');
  const value = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir('orchard-bench-attack-', cleanup);
    const scripts = { pipeline: join(dir, 'pipeline.lua'), notfound: join(dir, 'notfound.lua'), operations: join(dir, 'operations.lua') };
    writeFileSync(scripts.pipeline, pipelineLua);
    writeFileSync(scripts.notfound, notFoundLua);
    writeFileSync(scripts.operations, operationsLua);
    const redis = await TestRedis.start();
    cleanup.defer('stop redis-server', () => redis.stop());
    const port = await freePort();
    const orchard = await startChildServer(
      {
        name: 'orchard',
        args: ['bin/orchard.js', 'serve'],
        env: { PATH: process.env.PATH, REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port), ORCHARD_DATA_DIR: join(dir, 'data'), ORCHARD_WEBHOOK_SECRETS: secret, LOG_LEVEL: 'info' },
        baseUrl: `http://127.0.0.1:${port}`,
        readyPath: '/readyz',
        isReady: (s) => s === 200,
      },
      cleanup,
    );
    const url = new URL(orchard.baseUrl);
    const wrk = hasWrk();
    const idleRss = orchard.rssBytes();
    const idleHeap = await heapUsedBytes(orchard.baseUrl);
    const rows: string[][] = [];
    const report: Record<string, unknown>[] = [];
    for (const phase of phases) {
      if (phase.wrk && !wrk) {
        rows.push([phase.name, 'skipped: wrk is not installed (apt-get install wrk)']);
        continue;
      }
      const linesBefore = orchard.lineCount();
      const attack = phase.wrk ? runWrk(url, phase.wrk, scripts, phaseS) : Promise.resolve('');
      const legit = await legitimateSender(url, phaseS - 1);
      const wrkOut = await attack;
      const rss = orchard.rssBytes();
      const { latencies, statuses } = legit;
      const ok = Object.entries(statuses).filter(([s]) => s.startsWith('2')).reduce((sum, [, n]) => sum + n, 0);
      const attackRate = /Requests\/sec:\s+([\d.]+)/.exec(wrkOut)?.[1];
      const row = {
        phase: phase.name,
        legitimate: latencies.length,
        answered2xx: ok,
        statuses,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies[latencies.length - 1],
        over1s: latencies.filter((l) => l > 1000).length,
        over2s: latencies.filter((l) => l > 2000).length,
        attackerAnsweredPerS: attackRate === undefined ? undefined : Number(attackRate),
        rssMb: bytesToMb(rss),
        rssAboveIdleMb: bytesToMb(rss === undefined || idleRss === undefined ? undefined : rss - idleRss),
        logLines: orchard.lineCount() - linesBefore,
      };
      report.push(row);
      rows.push([phase.name, `${ok}/${latencies.length}`, fmt(row.p50Ms, 1), fmt(row.p99Ms, 1), fmt(row.maxMs, 0), String(row.over1s), String(row.over2s), fmt(row.attackerAnsweredPerS), fmt(row.rssMb), fmt(row.rssAboveIdleMb), String(row.logLines)]);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const afterRss = orchard.rssBytes();
    const afterHeap = await heapUsedBytes(orchard.baseUrl);
    console.log(`\nLegitimate webhooks (${rate}/s from 127.0.0.2) while wrk floods Orchard from 127.0.0.1, ${phaseS} s per phase. ${JSON.stringify(machineFacts())}`);
    console.log(formatTable(['phase', 'legit 2xx', 'p50 ms', 'p99 ms', 'max ms', '>1 s', '>2 s', 'attacker answered/s', 'RSS MB', 'RSS − idle MB', 'log lines'], rows));
    console.log(`Idle: RSS ${fmt(bytesToMb(idleRss))} MB, heap used ${fmt(bytesToMb(idleHeap))} MB; 2 s after the last phase: RSS ${fmt(bytesToMb(afterRss))} MB, heap used ${fmt(bytesToMb(afterHeap))} MB.`);
    console.log(`Report: ${writeReport('attack', { phaseS, rate, idleRssMb: bytesToMb(idleRss), afterRssMb: bytesToMb(afterRss), idleHeapMb: bytesToMb(idleHeap), afterHeapMb: bytesToMb(afterHeap), phases: report })}`);
  } finally {
    await cleanup.run();
  }
}

await main();
