// `npm run bench`: the webhook path against a bare Fastify route, on this machine, in one run.
//
// Starts a private redis-server (persistence off), Orchard (`node bin/orchard.js serve`) and a bare
// Fastify server (bench/bare-server.ts) as child processes; the bare server runs twice, as the bare
// route (the target's baseline) and as the durable floor (the bare route plus one auto-pipelined XADD
// a request: the least any route that stores before it answers can do). Loads each in turn with autocannon (a 2 s
// warm-up that is not counted, then BENCH_DURATION_S seconds), every request with a different Jamf Pro
// ComputerCheckIn body, and reports req/s, latency, errors and the server's peak RSS against the
// targets in DESIGN.md ("Performance targets"). It then checks that the stream holds exactly the
// events Orchard acknowledged. Orchard runs three times: as it ships (the local spool on), with
// ORCHARD_SPOOL=off (what the spool costs the normal path while Redis is healthy), and with its Redis
// stopped (the spool alone, every answer after an fdatasync; then Redis starts and the spool drains,
// and the stream must hold every acknowledged event once). Figures are reported, never asserted:
// the exit code is 0 unless something crashed.
//
// Settings (environment): BENCH_DURATION_S (default 10), BENCH_CONNECTIONS (default 50),
// BENCH_CPU_PROF=1 (run Orchard with --cpu-prof; the profile lands in .bench/cpu-prof/ and the
// figures of that run are not comparable).
// BENCH_NODE_FLAGS: Node flags for Orchard's process (space-separated).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort } from '../test/helpers/free-port.ts';
import { hashTagOf } from '../src/redis/keyspace.ts';
import { TestRedis } from '../test/helpers/redis-server.ts';
import {
  benchNodeFlags,
  bytesToMb,
  Cleanup,
  envNumber,
  fmt,
  formatTable,
  lastOutput,
  machineFacts,
  repoRoot,
  runHttpLoad,
  startChildServer,
  startCpuMeter,
  tempDir,
  writeReport,
  type ChildServer,
  type CpuUse,
  type HttpLoadOptions,
  type HttpLoadResult,
} from './lib.ts';

const targets = { minRatio: 0.85, maxP99Ms: 10, maxRssMb: 200 } as const;
const webhookPath = '/jamf-pro-events';
const secretHeader = 'X-Orchard-Secret';
const stream = 'orchard:events';
const rejectedStream = 'orchard:rejected';
/** Where the durable floor appends; deleted before Orchard runs. */
const floorStream = 'bench:floor';
const fixture = join(repoRoot, 'test/fixtures/jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');

interface Settings {
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly pipelining: number;
  readonly cpuProfile: boolean;
}

interface TargetFigures {
  readonly name: string;
  readonly warmup: HttpLoadResult;
  readonly run: HttpLoadResult;
  /** When it was ready, before any load. */
  readonly idleRssBytes: number | undefined;
  readonly peakRssBytes: number | undefined;
  /** During the measured run. */
  readonly cpu: CpuUse;
  /** Lines the server wrote (Orchard logs at warn and above here). */
  readonly output: readonly string[];
}

/**
 * Jamf Pro ComputerCheckIn bodies, each different: webhook.id and webhook.eventTimestamp count up.
 * Orchard's id is the sha256 of the body, so every request is a new event, never a (cheaper) duplicate.
 */
function webhookBodies(): { next: () => string; readonly bodyBytes: number } {
  const template = JSON.parse(readFileSync(fixture, 'utf8')) as { webhook: { id: number; eventTimestamp: number } };
  const baseMs = Date.now();
  let n = 0;
  const next = () => {
    n += 1;
    template.webhook.id = n;
    template.webhook.eventTimestamp = baseMs + n;
    return JSON.stringify(template);
  };
  return { next, bodyBytes: Buffer.byteLength(next()) };
}

/** The inherited environment without anything that would change how either server behaves. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ORCHARD_') || ['REDIS_URL', 'HOST', 'PORT', 'LOG_LEVEL', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}

/** A warm-up that is not counted, the measured run (with the CPU each process used), then the server's peak RSS. */
async function measure(
  server: ChildServer,
  redisPid: number | undefined,
  settings: Settings,
  load: Omit<HttpLoadOptions, 'durationS' | 'connections' | 'pipelining'>,
): Promise<TargetFigures> {
  const common = { ...load, connections: settings.connections, pipelining: settings.pipelining };
  const idleRssBytes = server.rssBytes();
  process.stdout.write(`Loading ${server.name} (pid ${server.pid}): ${settings.warmupS} s warm-up, then ${settings.durationS} s…\n`);
  const warmup = await runHttpLoad({ ...common, durationS: settings.warmupS });
  const stopMeter = startCpuMeter({ server: server.pid, loadGenerator: process.pid, redis: redisPid });
  const run = await runHttpLoad({ ...common, durationS: settings.durationS });
  const cpu = stopMeter();
  const gone = server.exitDescription();
  if (gone !== undefined) throw new Error(`${server.name} ${gone} during the load. ${lastOutput(server)}`);
  return { name: server.name, warmup, run, idleRssBytes, peakRssBytes: server.peakRssBytes(), cpu, output: server.output() };
}

async function redisPidOf(client: Redis): Promise<number | undefined> {
  const match = /process_id:(\d+)/.exec(await client.info('server'));
  return match ? Number(match[1]) : undefined;
}

/** Beyond this share of a core used by other processes during a run, its figures are flagged as noisy. */
const noisyOtherPercent = 20;

function cpuRow(t: TargetFigures): string[] {
  const p = t.cpu.processes;
  return [t.name, fmt(p.server), fmt(p.loadGenerator), fmt(p.redis), fmt(t.cpu.other), fmt(t.cpu.machineBusy)];
}

async function countKeys(client: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/** A counter or histogram series from Prometheus text, summed over its label sets; NaN when absent. */
function metricValue(text: string, name: string): number {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  let sum = Number.NaN;
  for (const m of text.matchAll(re)) sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[1]);
  return sum;
}

interface AppendStats {
  readonly scriptCalls: number;
  readonly meanBatchRecords: number;
  readonly meanAppendMs: number;
}

/** Orchard's own view of its appends (warm-up included), from GET /metrics. */
async function appendStats(orchard: ChildServer): Promise<AppendStats | undefined> {
  try {
    const res = await fetch(`${orchard.baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const calls = metricValue(text, 'orchard_append_batch_size_count');
    return {
      scriptCalls: calls,
      meanBatchRecords: metricValue(text, 'orchard_append_batch_size_sum') / calls,
      meanAppendMs: (1000 * metricValue(text, 'orchard_append_duration_seconds_sum')) / metricValue(text, 'orchard_append_duration_seconds_count'),
    };
  } catch {
    return undefined;
  }
}

interface StreamCheck {
  readonly xlen: number;
  readonly acknowledged: number;
  readonly unanswered: number;
  readonly distinctIds: number;
  readonly rejected: number;
  readonly redisUsedMemoryBytes: number;
  readonly ok: boolean;
  readonly verdict: string;
}

/**
 * After Orchard stopped (so every request it had taken is finished): the stream must hold every
 * event answered 2xx (warm-up included), each once. It may hold a few more: requests that were in
 * flight when autocannon dropped its connections at the end of a run, which Orchard still appended.
 */
async function checkStream(client: Redis, orchard: TargetFigures): Promise<StreamCheck> {
  const xlen = await client.xlen(stream);
  const rejected = await client.xlen(rejectedStream);
  const distinctIds = await countKeys(client, `${hashTagOf(stream)}:dedup:*`);
  const memory = /used_memory:(\d+)/.exec(await client.info('memory'));
  const acknowledged = orchard.warmup.answered2xx + orchard.run.answered2xx;
  const unanswered = orchard.warmup.unanswered + orchard.run.unanswered;

  const problems: string[] = [];
  if (xlen < acknowledged) problems.push(`${acknowledged - xlen} events answered 2xx are NOT in the stream (lost acknowledged writes, or duplicates answered 200)`);
  if (xlen > acknowledged + unanswered) problems.push(`the stream holds ${xlen - acknowledged - unanswered} more entries than requests were sent`);
  if (distinctIds !== xlen) problems.push(`${xlen} entries but ${distinctIds} distinct ids (dedup keys): some event was appended more than once`);
  if (rejected !== 0) problems.push(`${rejected} bodies were rejected (see ${rejectedStream})`);

  const verdict =
    problems.length > 0
      ? `MISMATCH: ${problems.join('; ')}.`
      : xlen === acknowledged
        ? 'ok: XLEN equals the 2xx answers, every id once.'
        : `ok: XLEN = 2xx answers + ${xlen - acknowledged} of the ${unanswered} requests left in flight when the load stopped (appended, answer never read); every id once.`;
  return { xlen, acknowledged, unanswered, distinctIds, rejected, redisUsedMemoryBytes: Number(memory?.[1] ?? Number.NaN), ok: problems.length === 0, verdict };
}

function row(t: TargetFigures): string[] {
  const r = t.run;
  return [
    t.name,
    fmt(r.requestsPerSecond),
    fmt(r.latencyMs.p50, 2),
    fmt(r.latencyMs.p99, 2),
    fmt(r.latencyMs.max, 1),
    String(r.answered2xx),
    String(r.non2xx),
    `${r.errors}/${r.timeouts}`,
    fmt(bytesToMb(t.idleRssBytes), 1),
    fmt(bytesToMb(t.peakRssBytes), 1),
  ];
}

function targetJson(t: TargetFigures) {
  return {
    ...t.run,
    idleRssMb: bytesToMb(t.idleRssBytes),
    peakRssMb: bytesToMb(t.peakRssBytes),
    cpuPercentOfOneCore: t.cpu,
    warmup: t.warmup,
    output: t.output,
  };
}

/** Webhooks/s the spool alone must take on this machine (issue #16): Redis stopped, every answer after a sync. */
const spoolTarget = 10_000;

interface SpoolOnlyFigures {
  readonly figures: TargetFigures;
  readonly spooledEvents: number;
  readonly spoolBytes: number;
  readonly drainedEvents: number;
  readonly drainMs: number;
  readonly check: StreamCheck;
}

interface SpoolView {
  readonly state: string;
  readonly records: number;
  readonly bytes: number;
  readonly spooledTotal: number;
  readonly drainedTotal: number;
}

async function spoolOf(server: ChildServer): Promise<SpoolView> {
  const res = await fetch(`${server.baseUrl}/status`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { spool: SpoolView }).spool;
}

/**
 * Orchard with its Redis stopped: every webhook goes to the local spool (group-committed, synced
 * before its 202). Then Redis starts again and the spool drains into it; the stream must then hold
 * every acknowledged event once.
 */
async function measureSpoolOnly(
  startOrchard: (name: string, redisUrl: string) => Promise<ChildServer>,
  settings: Settings,
  headers: Record<string, string>,
  cleanup: Cleanup,
): Promise<SpoolOnlyFigures> {
  const redis = await TestRedis.start();
  cleanup.defer('stop the spool run\'s redis-server', () => redis.stop());
  await redis.kill(); // nothing listens on its port now
  const orchard = await startOrchard('orchard, Redis stopped', redis.url); // waits 5 s for Redis, then listens; /readyz 200 (degraded)
  const figures = await measure(orchard, undefined, settings, { url: `${orchard.baseUrl}${webhookPath}`, method: 'POST', headers, body: webhookBodies().next });
  const spooled = await spoolOf(orchard);
  await redis.restart();
  const started = performance.now();
  for (let view = spooled; view.state !== 'empty'; view = await spoolOf(orchard)) {
    if (performance.now() - started > 300_000) throw new Error(`The spool did not drain within 300 s: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const drainMs = performance.now() - started;
  const drained = await spoolOf(orchard);
  await orchard.stop(15_000);
  const check = await checkStream(redis.client(), figures);
  return { figures, spooledEvents: spooled.spooledTotal, spoolBytes: spooled.bytes, drainedEvents: drained.drainedTotal, drainMs, check };
}

const metOrMissed = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'met' : 'MISSED');

async function main(cleanup: Cleanup): Promise<void> {
  const settings: Settings = {
    durationS: envNumber('BENCH_DURATION_S', 10),
    warmupS: 2,
    connections: Math.round(envNumber('BENCH_CONNECTIONS', 50)),
    pipelining: 1,
    cpuProfile: process.env.BENCH_CPU_PROF === '1',
  };
  const secret = randomBytes(24).toString('hex');
  const headers = { 'content-type': 'application/json', [secretHeader.toLowerCase()]: secret };

  const redis = await TestRedis.start();
  cleanup.defer('stop redis-server', () => redis.stop());
  const client = redis.client();
  const redisPid = await redisPidOf(client);

  // The baselines first, then Orchard; only one server runs at a time.
  const measureBareServer = async (name: string, env: NodeJS.ProcessEnv): Promise<TargetFigures> => {
    const port = await freePort();
    const server = await startChildServer(
      {
        name,
        args: ['--import', 'tsx', 'bench/bare-server.ts'],
        env: { ...baseEnv(), HOST: '127.0.0.1', PORT: String(port), BENCH_PATH: webhookPath, ...env },
        baseUrl: `http://127.0.0.1:${port}`,
        readyPath: '/',
      },
      cleanup,
    );
    const figures = await measure(server, redisPid, settings, { url: `${server.baseUrl}${webhookPath}`, method: 'POST', headers, body: webhookBodies().next });
    await server.stop();
    return figures;
  };
  const bareFigures = await measureBareServer('bare fastify', {});
  const floorFigures = await measureBareServer('durable floor', { REDIS_URL: redis.url, BENCH_STREAM: floorStream });
  const floorEntries = await client.xlen(floorStream);
  await client.del(floorStream);

  // Orchard three times: as it ships (spool on), with ORCHARD_SPOOL=off (what the spool costs the
  // normal path when Redis is healthy), and with Redis stopped (the spool alone takes every webhook,
  // each synced to disk before its 202; then Redis comes back and the spool drains into it).
  const profileDir = join(repoRoot, '.bench', 'cpu-prof');
  const startOrchard = async (name: string, redisUrl: string, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> => {
    const port = await freePort();
    return startChildServer(
      {
        name,
        args: [...(settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...benchNodeFlags(), 'bin/orchard.js', 'serve'],
        env: {
          ...baseEnv(),
          REDIS_URL: redisUrl,
          HOST: '127.0.0.1',
          PORT: String(port),
          ORCHARD_WEBHOOK_SECRETS: secret,
          LOG_LEVEL: 'warn',
          ORCHARD_DATA_DIR: tempDir('orchard-bench-data-', cleanup),
          ...env,
        },
        baseUrl: `http://127.0.0.1:${port}`,
        readyPath: '/readyz',
        isReady: (status) => status === 200,
        readyTimeoutMs: 60_000,
      },
      cleanup,
    );
  };
  const orchard = await startOrchard('orchard', redis.url);
  const orchardBodies = webhookBodies();
  const orchardFigures = await measure(orchard, redisPid, settings, { url: `${orchard.baseUrl}${webhookPath}`, method: 'POST', headers, body: orchardBodies.next });
  const appends = await appendStats(orchard);
  await orchard.stop(15_000); // graceful: finishes what it had taken before the stream is counted
  const check = await checkStream(client, orchardFigures);

  await client.flushall();
  const spoolOff = await startOrchard('orchard, spool off', redis.url, { ORCHARD_SPOOL: 'off' });
  const spoolOffFigures = await measure(spoolOff, redisPid, settings, { url: `${spoolOff.baseUrl}${webhookPath}`, method: 'POST', headers, body: webhookBodies().next });
  await spoolOff.stop(15_000);
  const spoolOffCheck = await checkStream(client, spoolOffFigures);

  const spoolOnly = await measureSpoolOnly(startOrchard, settings, headers, cleanup);
  const ratio = orchardFigures.run.requestsPerSecond / bareFigures.run.requestsPerSecond;
  const floorRatio = floorFigures.run.requestsPerSecond / bareFigures.run.requestsPerSecond;
  const floorAnswered = floorFigures.warmup.answered2xx + floorFigures.run.answered2xx;
  const floorUnanswered = floorFigures.warmup.unanswered + floorFigures.run.unanswered;
  const floorOk = floorEntries >= floorAnswered && floorEntries <= floorAnswered + floorUnanswered;
  const orchardRssMb = bytesToMb(orchardFigures.peakRssBytes);
  const met = {
    ratio: ratio >= targets.minRatio,
    p99: orchardFigures.run.latencyMs.p99 < targets.maxP99Ms,
    rss: orchardRssMb === undefined ? undefined : orchardRssMb < targets.maxRssMb,
  };

  const out: string[] = [
    '',
    `Webhook benchmark: POST ${webhookPath}, ${settings.connections} connections, pipelining ${settings.pipelining}, ` +
      `${settings.durationS} s measured after a ${settings.warmupS} s warm-up; ComputerCheckIn bodies of ${orchardBodies.bodyBytes} bytes, each different.`,
    settings.cpuProfile ? `Orchard ran with --cpu-prof (profile in ${profileDir}): its figures are not comparable.` : '',
    '',
    formatTable(['target', 'req/s', 'p50 ms', 'p99 ms', 'max ms', '2xx', 'non-2xx', 'errors/timeouts', 'idle RSS MB', 'peak RSS MB'], [row(bareFigures), row(floorFigures), row(orchardFigures), row(spoolOffFigures), row(spoolOnly.figures)]),
    '',
    `CPU during the measured run, in % of one core (${bareFigures.cpu.cores} cores):`,
    formatTable(['target', 'server', 'load generator', 'redis', 'other processes', 'machine'], [cpuRow(bareFigures), cpuRow(floorFigures), cpuRow(orchardFigures), cpuRow(spoolOffFigures), cpuRow(spoolOnly.figures)]),
    ...[bareFigures, floorFigures, orchardFigures, spoolOffFigures, spoolOnly.figures]
      .filter((t) => (t.cpu.other ?? 0) > noisyOtherPercent)
      .map((t) => `NOISY: other processes used ${fmt(t.cpu.other)} % of a core during the ${t.name} run; its figures understate what this machine can do.`),
    '',
    `orchard / bare req/s: ${fmt(ratio, 3)}   target >= ${targets.minRatio}: ${metOrMissed(met.ratio)}`,
    `durable floor / bare: ${fmt(floorRatio, 3)}   (bare route + one auto-pipelined XADD a request, no auth, validation or dedup; ${floorEntries} entries for ${floorAnswered} 2xx and ${floorUnanswered} unanswered: ${floorOk ? 'ok' : 'MISMATCH'})`,
    `orchard / floor:      ${fmt(orchardFigures.run.requestsPerSecond / floorFigures.run.requestsPerSecond, 3)}`,
    `orchard p99:          ${fmt(orchardFigures.run.latencyMs.p99, 2)} ms   target < ${targets.maxP99Ms} ms: ${metOrMissed(met.p99)}`,
    `orchard peak RSS:     ${fmt(orchardRssMb, 1)} MB   target < ${targets.maxRssMb} MB: ${metOrMissed(met.rss)}`,
    '',
    `Stream ${stream}: XLEN ${check.xlen}; 2xx answers (warm-up included) ${check.acknowledged}; ` +
      `unanswered at stop ${check.unanswered}; distinct ids ${check.distinctIds}; rejected ${check.rejected}; ` +
      `Redis used_memory ${fmt(bytesToMb(check.redisUsedMemoryBytes), 1)} MB.`,
    appends
      ? `Orchard's /metrics (warm-up included): ${fmt(appends.scriptCalls)} append script calls, ${fmt(appends.meanBatchRecords, 2)} records per call on average, ${fmt(appends.meanAppendMs, 2)} ms per call.`
      : "Orchard's /metrics could not be read.",
    check.ok ? `Correctness ${check.verdict}` : `\n!!!!!!!!!! CORRECTNESS ${check.verdict} !!!!!!!!!!\n`,
    '',
    `Spool on / spool off, Redis healthy: ${fmt(orchardFigures.run.requestsPerSecond / spoolOffFigures.run.requestsPerSecond, 3)} of the req/s ` +
      `(p99 ${fmt(orchardFigures.run.latencyMs.p99, 2)} against ${fmt(spoolOffFigures.run.latencyMs.p99, 2)} ms). Spool off: ` +
      (spoolOffCheck.ok ? `correctness ${spoolOffCheck.verdict}` : `!!!!!!!!!! CORRECTNESS ${spoolOffCheck.verdict} !!!!!!!!!!`),
    `Redis stopped, spool only (every answer after an fdatasync of its group): ${fmt(spoolOnly.figures.run.requestsPerSecond)} webhooks/s   target >= ${spoolTarget}: ` +
      `${metOrMissed(spoolOnly.figures.run.requestsPerSecond >= spoolTarget)}; ${spoolOnly.spooledEvents} events spooled in ${fmt(spoolOnly.spoolBytes / (1024 * 1024), 1)} MiB` +
      '.',
    `Redis back: the spool drained ${spoolOnly.drainedEvents} events in ${fmt(spoolOnly.drainMs / 1000, 2)} s (${fmt((spoolOnly.drainedEvents * 1000) / spoolOnly.drainMs)} events/s). ` +
      (spoolOnly.check.ok ? `Correctness ${spoolOnly.check.verdict}` : `\n!!!!!!!!!! CORRECTNESS ${spoolOnly.check.verdict} !!!!!!!!!!\n`),
  ];
  for (const t of [bareFigures, floorFigures, orchardFigures, spoolOffFigures, spoolOnly.figures]) {
    const statuses = Object.entries(t.run.statuses).map(([s, n]) => `${s}: ${n}`).join(', ');
    if (t.run.non2xx > 0 || t.run.errors > 0) out.push(`${t.name} answers by status: ${statuses}.`);
    if (t.output.length > 0) out.push(`${t.name} wrote (last ${t.output.length} lines):`, ...t.output.map((l) => `  ${l}`));
  }

  const file = writeReport('webhook', {
    scenario: 'webhook',
    measuredAt: new Date().toISOString(),
    machine: machineFacts(),
    settings: { ...settings, path: webhookPath, bodyBytes: orchardBodies.bodyBytes },
    targets,
    results: { bare: targetJson(bareFigures), floor: targetJson(floorFigures), orchard: targetJson(orchardFigures), spoolOff: targetJson(spoolOffFigures), spoolOnly: targetJson(spoolOnly.figures) },
    spoolOnly: { ...spoolOnly, figures: undefined },
    spoolOffStream: spoolOffCheck,
    ratio,
    floorRatio,
    met,
    stream: check,
    orchardAppends: appends,
  });
  out.push('', `Figures written to ${file}.`);
  process.stdout.write(`${out.filter((l, i) => l !== '' || out[i - 1] !== '').join('\n')}\n`);
}

const cleanup = new Cleanup();
cleanup.onSignals();
try {
  await main(cleanup);
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup.run();
}
