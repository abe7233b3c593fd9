// `npm run bench`: the webhook path against the durable floor, on this machine, in one run (issue #22).
//
// Starts a private redis-server (appendonly yes, appendfsync everysec, as a production Redis would
// run) and three servers as child processes, all on that Redis: the bare Fastify route
// (bench/bare-server.ts), the durable floor (the same route plus one auto-pipelined XADD of the raw
// body a request through ioredis: the least any route that stores before it answers can do), and
// Orchard as it ships (`node bin/orchard.js serve`, every setting at its default: the spool on, no rate
// limit). wrk (Debian's package; bench/wrk.ts) loads each in turn, round after round with the order
// rotated (BENCH_ROUNDS rounds, at least 3), a 2 s warm-up that is not counted and then BENCH_DURATION_S
// seconds, 50 connections, every request with a different Jamf Pro ComputerCheckIn body. Per target it
// reports the median of the rounds: req/s, p50/p99 latency, the server's CPU per answered request
// (its /proc CPU time over the answers: less noisy than req/s on a shared VM), and its peak RSS; then
// Orchard / floor against the targets in DESIGN.md. It checks that the stream holds exactly the events
// Orchard acknowledged. Then Orchard runs twice more, once each: with ORCHARD_SPOOL=off (what the spool
// costs while Redis is healthy), and with its Redis stopped (the spool alone, every answer after an
// fdatasync; then Redis starts, the spool drains, and the stream must hold every acknowledged event
// once). Figures are reported, never asserted: the exit code is 0 unless something crashed. Without
// wrk on PATH it says so and measures nothing.
//
// Settings (environment): BENCH_DURATION_S (default 10), BENCH_CONNECTIONS (default 50), BENCH_ROUNDS
// (default 3), BENCH_WRK_THREADS (default 1: wrk's share of the two cores stays small),
// BENCH_SPOOL_RUNS=0 (skip the two spool runs), BENCH_CPU_PROF=1 (run Orchard with --cpu-prof; the
// profile lands in .bench/cpu-prof/ and the figures of that run are not comparable).
// BENCH_NODE_FLAGS: Node flags for Orchard's process (space-separated). BENCH_BASELINE_DIR: another
// checkout of Orchard, built (`npx tsc -p tsconfig.build.json` there), loaded as a fourth target in the
// same rounds, with ORCHARD_RATE_LIMIT_PER_MINUTE=0 (older defaults limited the load generator's one
// address): before and after a change, measured side by side.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { hashTagOf } from '../src/redis/keyspace.ts';
import { TestRedis } from '../test/helpers/redis-server.ts';
import {
  bytesToMb,
  Cleanup,
  envNumber,
  fmt,
  formatTable,
  lastOutput,
  machineFacts,
  processCpuMs,
  repoRoot,
  runBench,
  startCpuMeter,
  writeReport,
  type ChildServer,
  type CpuUse,
  type HttpLoadResult,
} from './lib.ts';
import { startBareServer, startOrchard, webhookPath, webhookScript } from './webhook-load.ts';
import { hasWrk, runWrk } from './wrk.ts';

/** DESIGN.md's targets (issue #22): Orchard's req/s against the durable floor's, p99 and peak RSS. */
const targets = { minFloorRatio: 0.95, maxP99Ms: 10, maxRssMb: 200 } as const;
const stream = 'orchard:events';
const rejectedStream = 'orchard:rejected';
/** Where the durable floor appends. */
const floorStream = 'bench:floor';

interface Settings {
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly rounds: number;
  readonly wrkThreads: number;
  readonly spoolRuns: boolean;
  readonly cpuProfile: boolean;
}

/** One measured run of one target. */
interface RunFigures {
  readonly round: number;
  readonly warmup: HttpLoadResult;
  readonly run: HttpLoadResult;
  /** CPU of each process and of the machine during the measured run. */
  readonly cpu: CpuUse;
  /** The server's CPU time (user + system) over its answers in the measured run, in µs. */
  readonly serverCpuUsPerRequest: number | undefined;
}

interface TargetFigures {
  readonly name: string;
  readonly runs: RunFigures[];
  /** When it was ready, before any load. */
  idleRssBytes: number | undefined;
  peakRssBytes: number | undefined;
  /** Lines the server wrote (Orchard logs at warn and above here). */
  output: readonly string[];
}

/** Hands each wrk run its own range of unique numbers (a run uses at most threads × 10^9 of them). */
let nextBase = 0;
const wrkBase = () => (nextBase += 10 ** 11);

/** A warm-up that is not counted, then the measured run with the CPU each process used. */
async function measureRun(server: ChildServer, figures: TargetFigures, round: number, redisPid: number | undefined, settings: Settings, scriptFile: string): Promise<RunFigures> {
  const load = { url: `${server.baseUrl}${webhookPath}`, scriptFile, connections: settings.connections, threads: settings.wrkThreads };
  process.stdout.write(`Round ${round + 1}: loading ${server.name} (pid ${server.pid}): ${settings.warmupS} s warm-up, then ${settings.durationS} s…\n`);
  const warmup = await runWrk({ ...load, durationS: settings.warmupS, base: wrkBase() });
  const cpuBefore = processCpuMs(server.pid);
  const stopMeter = startCpuMeter({ server: server.pid, redis: redisPid });
  const run = await runWrk({ ...load, durationS: settings.durationS, base: wrkBase() });
  const cpu = stopMeter();
  const cpuAfter = processCpuMs(server.pid);
  const gone = server.exitDescription();
  if (gone !== undefined) throw new Error(`${server.name} ${gone} during the load. ${lastOutput(server)}`);
  figures.peakRssBytes = server.peakRssBytes();
  figures.output = server.output();
  const serverCpuUsPerRequest = cpuBefore === undefined || cpuAfter === undefined || run.answered === 0 ? undefined : ((cpuAfter - cpuBefore) * 1000) / run.answered;
  return { round, warmup, run, cpu, serverCpuUsPerRequest };
}

async function redisPidOf(client: Redis): Promise<number | undefined> {
  const match = /process_id:(\d+)/.exec(await client.info('server'));
  return match ? Number(match[1]) : undefined;
}

function median(values: readonly (number | undefined)[]): number {
  const sorted = values.filter((v): v is number => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The medians of a target's measured runs. */
function summary(t: TargetFigures) {
  const runs = t.runs;
  return {
    requestsPerSecond: median(runs.map((r) => r.run.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.run.latencyMs.p50)),
    p99Ms: median(runs.map((r) => r.run.latencyMs.p99)),
    worstP99Ms: Math.max(...runs.map((r) => r.run.latencyMs.p99)),
    serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
    serverCpuPercent: median(runs.map((r) => r.cpu.processes.server)),
    redisCpuPercent: median(runs.map((r) => r.cpu.processes.redis)),
    otherCpuPercent: median(runs.map((r) => r.cpu.other)),
    non2xx: runs.reduce((n, r) => n + r.run.non2xx + r.warmup.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.run.errors + r.warmup.errors, 0),
  };
}

/** Beyond this share of a core used by other processes during a run (wrk included), its figures are flagged as noisy. */
const noisyOtherPercent = 40;

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
 * flight when wrk closed its connections at the end of a run, which Orchard still appended.
 */
async function checkStream(client: Redis, orchard: TargetFigures): Promise<StreamCheck> {
  const runs = orchard.runs.flatMap((r) => [r.warmup, r.run]);
  const xlen = await client.xlen(stream);
  const rejected = await client.xlen(rejectedStream);
  const distinctIds = await countKeys(client, `${hashTagOf(stream)}:dedup:*`);
  const memory = /used_memory:(\d+)/.exec(await client.info('memory'));
  const acknowledged = runs.reduce((n, r) => n + r.answered2xx, 0);
  const unanswered = runs.reduce((n, r) => n + r.unanswered, 0);

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
        : `ok: XLEN = 2xx answers + ${xlen - acknowledged} of at most ${unanswered} requests left in flight when the load stopped (appended, answer never read); every id once.`;
  return { xlen, acknowledged, unanswered, distinctIds, rejected, redisUsedMemoryBytes: Number(memory?.[1] ?? Number.NaN), ok: problems.length === 0, verdict };
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
  scriptFile: string,
  cleanup: Cleanup,
): Promise<SpoolOnlyFigures> {
  const redis = await TestRedis.start();
  cleanup.defer('stop the spool run\'s redis-server', () => redis.stop());
  await redis.kill(); // nothing listens on its port now
  const orchard = await startOrchard('orchard, Redis stopped', redis.url); // waits 5 s for Redis, then listens; /readyz 200 (degraded)
  const figures = await measureOnce(orchard, undefined, settings, scriptFile);
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

/** One target loaded once (the spool runs): its figures as a target of one run. */
async function measureOnce(server: ChildServer, redisPid: number | undefined, settings: Settings, scriptFile: string): Promise<TargetFigures> {
  const figures: TargetFigures = { name: server.name, runs: [], idleRssBytes: server.rssBytes(), peakRssBytes: undefined, output: [] };
  figures.runs.push(await measureRun(server, figures, 0, redisPid, settings, scriptFile));
  return figures;
}

const metOrMissed = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'met' : 'MISSED');

function row(t: TargetFigures): string[] {
  const s = summary(t);
  return [
    t.name,
    fmt(s.requestsPerSecond),
    t.runs.map((r) => fmt(r.run.requestsPerSecond)).join(' / '),
    fmt(s.p50Ms, 2),
    fmt(s.p99Ms, 2),
    fmt(s.worstP99Ms, 2),
    fmt(s.serverCpuUsPerRequest, 1),
    fmt(s.serverCpuPercent),
    fmt(s.redisCpuPercent),
    fmt(s.otherCpuPercent),
    String(s.non2xx),
    String(s.errors),
    fmt(bytesToMb(t.idleRssBytes), 1),
    fmt(bytesToMb(t.peakRssBytes), 1),
  ];
}
const header = ['target', 'req/s (median)', 'req/s of each round', 'p50 ms', 'p99 ms', 'worst p99', 'server CPU µs/req', 'server %', 'redis %', 'other %', 'non-2xx', 'errors', 'idle RSS MB', 'peak RSS MB'];

function targetJson(t: TargetFigures) {
  return { summary: summary(t), idleRssMb: bytesToMb(t.idleRssBytes), peakRssMb: bytesToMb(t.peakRssBytes), runs: t.runs, output: t.output };
}

async function main(cleanup: Cleanup): Promise<void> {
  const settings: Settings = {
    durationS: envNumber('BENCH_DURATION_S', 10),
    warmupS: 2,
    connections: Math.round(envNumber('BENCH_CONNECTIONS', 50)),
    rounds: Math.max(1, Math.round(envNumber('BENCH_ROUNDS', 3))),
    wrkThreads: Math.round(envNumber('BENCH_WRK_THREADS', 1)),
    spoolRuns: process.env.BENCH_SPOOL_RUNS !== '0',
    cpuProfile: process.env.BENCH_CPU_PROF === '1',
  };
  if (!hasWrk()) {
    process.stdout.write('\nWebhook benchmark SKIPPED: wrk is not on PATH (Debian: apt-get install wrk). It measures with wrk, not autocannon: a load generator in a Node process costs the server under test a core on this machine.\n');
    return;
  }
  const secret = randomBytes(24).toString('hex');
  const template = webhookScript(secret, cleanup);
  const scriptFile = template.scriptFile;

  const redis = await TestRedis.start({ appendonly: true, appendfsync: 'everysec' });
  cleanup.defer('stop redis-server', () => redis.stop());
  const client = redis.client();
  const redisPid = await redisPidOf(client);

  const profileDir = join(repoRoot, '.bench', 'cpu-prof');
  const orchardFlags = settings.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const launchOrchard = (name: string, redisUrl: string, env: NodeJS.ProcessEnv = {}) => startOrchard(name, { redisUrl, secret, env, nodeFlags: orchardFlags }, cleanup);

  // The three run side by side (idle but for the one under load) and are loaded in turn, round after
  // round, each round starting one further along: a slow spell of the shared VM then falls on each.
  const baselineDir = process.env.BENCH_BASELINE_DIR;
  const servers = [await startBareServer('bare fastify', {}, cleanup), await startBareServer('durable floor', { REDIS_URL: redis.url, BENCH_STREAM: floorStream }, cleanup), await launchOrchard('orchard (defaults)', redis.url)];
  if (baselineDir) {
    const env = { ORCHARD_RATE_LIMIT_PER_MINUTE: '0', ORCHARD_STREAM: 'baseline:events', ORCHARD_REJECTED_STREAM: 'baseline:rejected' };
    servers.push(await startOrchard('orchard (baseline)', { redisUrl: redis.url, secret, env, checkout: baselineDir }, cleanup));
  }
  const figures = servers.map((server): TargetFigures => ({ name: server.name, runs: [], idleRssBytes: server.rssBytes(), peakRssBytes: undefined, output: [] }));
  for (let round = 0; round < settings.rounds; round++) {
    for (let k = 0; k < servers.length; k++) {
      const i = (round + k) % servers.length;
      figures[i]!.runs.push(await measureRun(servers[i]!, figures[i]!, round, redisPid, settings, scriptFile));
    }
  }
  const [bare, floor, orchard, baseline] = figures as [TargetFigures, TargetFigures, TargetFigures, TargetFigures | undefined];
  const orchardServer = servers[2]!;
  const appends = await appendStats(orchardServer);
  for (const server of servers) await server.stop(15_000); // graceful: Orchard finishes what it had taken before the stream is counted
  const check = await checkStream(client, orchard);
  const floorEntries = await client.xlen(floorStream);
  const floorAnswered = floor.runs.reduce((n, r) => n + r.warmup.answered2xx + r.run.answered2xx, 0);
  const floorOk = floorEntries >= floorAnswered && floorEntries <= floorAnswered + 2 * settings.rounds * settings.connections;

  let spoolOff: TargetFigures | undefined;
  let spoolOffCheck: StreamCheck | undefined;
  let spoolOnly: SpoolOnlyFigures | undefined;
  if (settings.spoolRuns) {
    await client.flushall();
    const server = await launchOrchard('orchard, spool off', redis.url, { ORCHARD_SPOOL: 'off' });
    spoolOff = await measureOnce(server, redisPid, settings, scriptFile);
    await server.stop(15_000);
    spoolOffCheck = await checkStream(client, spoolOff);
    spoolOnly = await measureSpoolOnly(launchOrchard, settings, scriptFile, cleanup);
  }

  const [b, f, o] = [summary(bare), summary(floor), summary(orchard)];
  const floorRatio = o.requestsPerSecond / f.requestsPerSecond;
  const roundRatios = orchard.runs.map((r, i) => r.run.requestsPerSecond / floor.runs[i]!.run.requestsPerSecond);
  const orchardRssMb = bytesToMb(orchard.peakRssBytes);
  const met = {
    floorRatio: floorRatio >= targets.minFloorRatio,
    p99: o.p99Ms < targets.maxP99Ms,
    rss: orchardRssMb === undefined ? undefined : orchardRssMb < targets.maxRssMb,
  };
  const all = [bare, floor, orchard, ...(baseline ? [baseline] : []), ...(spoolOff ? [spoolOff] : []), ...(spoolOnly ? [spoolOnly.figures] : [])];

  const out: string[] = [
    '',
    `Webhook benchmark: POST ${webhookPath} loaded by wrk (${settings.wrkThreads} thread, ${settings.connections} connections), ${settings.rounds} interleaved rounds of ` +
      `${settings.durationS} s measured after a ${settings.warmupS} s warm-up; ComputerCheckIn bodies of ${template.bodyBytes} bytes, each different; Redis appendonly everysec.`,
    settings.cpuProfile ? `Orchard ran with --cpu-prof (profile in ${profileDir}): its figures are not comparable.` : '',
    '',
    formatTable(header, all.map(row)),
    `(CPU in % of one core of ${bare.runs[0]!.cpu.cores}; "other" is everything else on the machine, wrk and other users included. Medians of the rounds; worst p99 over them.)`,
    ...all.flatMap((t) => t.runs.filter((r) => (r.cpu.other ?? 0) > noisyOtherPercent).map((r) => `NOISY: other processes used ${fmt(r.cpu.other)} % of a core during round ${r.round + 1} of ${t.name}.`)),
    '',
    `orchard / durable floor: ${fmt(floorRatio, 3)} (medians; round by round ${roundRatios.map((r) => fmt(r, 3)).join(', ')})   target >= ${targets.minFloorRatio}: ${metOrMissed(met.floorRatio)}`,
    `orchard p99:             ${fmt(o.p99Ms, 2)} ms (median of the rounds; worst ${fmt(o.worstP99Ms, 2)})   target < ${targets.maxP99Ms} ms: ${metOrMissed(met.p99)}`,
    `orchard peak RSS:        ${fmt(orchardRssMb, 1)} MB   target < ${targets.maxRssMb} MB: ${metOrMissed(met.rss)}`,
    `durable floor / bare:    ${fmt(f.requestsPerSecond / b.requestsPerSecond, 3)}; orchard / bare ${fmt(o.requestsPerSecond / b.requestsPerSecond, 3)}. ` +
      `Floor stream: ${floorEntries} entries for ${floorAnswered} 2xx: ${floorOk ? 'ok' : 'MISMATCH'}.`,
    ...(baseline ? [`orchard / baseline:      ${fmt(o.requestsPerSecond / summary(baseline).requestsPerSecond, 3)} of the req/s, ${fmt(o.serverCpuUsPerRequest / summary(baseline).serverCpuUsPerRequest, 3)} of the CPU per request (baseline: ${baselineDir}).`] : []),
    `server CPU per request:  bare ${fmt(b.serverCpuUsPerRequest, 1)} µs, floor ${fmt(f.serverCpuUsPerRequest, 1)} µs, orchard ${fmt(o.serverCpuUsPerRequest, 1)} µs.`,
    '',
    `Stream ${stream}: XLEN ${check.xlen}; 2xx answers (warm-ups included) ${check.acknowledged}; distinct ids ${check.distinctIds}; rejected ${check.rejected}; ` +
      `Redis used_memory ${fmt(bytesToMb(check.redisUsedMemoryBytes), 1)} MB.`,
    appends
      ? `Orchard's /metrics (warm-ups included): ${fmt(appends.scriptCalls)} append script calls, ${fmt(appends.meanBatchRecords, 2)} records per call on average, ${fmt(appends.meanAppendMs, 2)} ms per call.`
      : "Orchard's /metrics could not be read.",
    check.ok ? `Correctness ${check.verdict}` : `\n!!!!!!!!!! CORRECTNESS ${check.verdict} !!!!!!!!!!\n`,
  ];
  if (spoolOff && spoolOffCheck && spoolOnly) {
    const on = orchard.runs.at(-1)!.run;
    const off = spoolOff.runs[0]!.run;
    out.push(
      '',
      `Spool on (orchard's last round) / spool off, Redis healthy: ${fmt(on.requestsPerSecond / off.requestsPerSecond, 3)} of the req/s (p99 ${fmt(on.latencyMs.p99, 2)} against ${fmt(off.latencyMs.p99, 2)} ms). Spool off: ` +
        (spoolOffCheck.ok ? `correctness ${spoolOffCheck.verdict}` : `!!!!!!!!!! CORRECTNESS ${spoolOffCheck.verdict} !!!!!!!!!!`),
      `Redis stopped, spool only (every answer after an fdatasync of its group): ${fmt(spoolOnly.figures.runs[0]!.run.requestsPerSecond)} webhooks/s   target >= ${spoolTarget}: ` +
        `${metOrMissed(spoolOnly.figures.runs[0]!.run.requestsPerSecond >= spoolTarget)}; ${spoolOnly.spooledEvents} events spooled in ${fmt(spoolOnly.spoolBytes / (1024 * 1024), 1)} MiB.`,
      `Redis back: the spool drained ${spoolOnly.drainedEvents} events in ${fmt(spoolOnly.drainMs / 1000, 2)} s (${fmt((spoolOnly.drainedEvents * 1000) / spoolOnly.drainMs)} events/s). ` +
        (spoolOnly.check.ok ? `Correctness ${spoolOnly.check.verdict}` : `\n!!!!!!!!!! CORRECTNESS ${spoolOnly.check.verdict} !!!!!!!!!!\n`),
    );
  }
  for (const t of all) if (t.output.length > 0) out.push(`${t.name} wrote (last ${t.output.length} lines):`, ...t.output.map((l) => `  ${l}`));

  const file = writeReport('webhook', {
    scenario: 'webhook',
    measuredAt: new Date().toISOString(),
    machine: machineFacts(),
    settings: { ...settings, path: webhookPath, bodyBytes: template.bodyBytes, loadGenerator: 'wrk', redis: 'appendonly everysec' },
    targets,
    results: { bare: targetJson(bare), floor: targetJson(floor), orchard: targetJson(orchard), baseline: baseline && { ...targetJson(baseline), checkout: baselineDir }, spoolOff: spoolOff && targetJson(spoolOff), spoolOnly: spoolOnly && targetJson(spoolOnly.figures) },
    spoolOnly: spoolOnly && { ...spoolOnly, figures: undefined },
    spoolOffStream: spoolOffCheck,
    floorRatio,
    roundRatios,
    met,
    stream: check,
    orchardAppends: appends,
  });
  out.push('', `Figures written to ${file}.`);
  process.stdout.write(`${out.filter((l, i) => l !== '' || out[i - 1] !== '').join('\n')}\n`);
}

await runBench(main);
