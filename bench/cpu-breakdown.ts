// `npm run bench:cpu`: where the webhook path's CPU goes, per request and by stage (issue #22), for
// Orchard (defaults) and for the durable floor (bench/bare-server.ts with Redis) side by side.
//
// Each runs as a child process with `--cpu-prof`, on a private redis-server (appendonly everysec), and
// is loaded by wrk (bench/wrk.ts: 50 connections, a different ComputerCheckIn body a request): a warm-up,
// then BENCH_DURATION_S seconds. The profile's samples of the measured window (V8 stamps them with the
// monotonic clock process.hrtime reads, so the window is cut exactly) are put into stages by their
// stack: the innermost frame that belongs to a stage decides (stageOf below), so that Node's own helpers
// (Buffer, crypto, events) count for whoever called them, and a sample with no stage frame on its
// stack counts as "event loop, promises, other". Each stage's time over the requests answered in the
// window gives µs per request. On this shared VM the per-request CPU is steadier than req/s: other
// work slows the process down but does not add samples to it.
//
// Settings (environment): BENCH_DURATION_S (default 10), BENCH_CONNECTIONS (default 50),
// BENCH_CPU_TOP (default 0: how many of Orchard's hottest functions, by self time, to list too),
// BENCH_CPU_PROF_DIR (keep the .cpuprofile files there, to open in Chrome's DevTools or speedscope),
// BENCH_BASELINE_DIR (another checkout of Orchard, built: profiled too, as "before", with
// ORCHARD_RATE_LIMIT_PER_MINUTE=0 since older defaults limited the load generator's one address).

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRedis } from '../test/helpers/redis-server.ts';
import { Cleanup, envNumber, fmt, formatTable, machineFacts, processCpuMs, runBench, tempDir, threadCpuMs, writeReport, type ChildServer } from './lib.ts';
import { startBareServer, startOrchard, webhookPath, webhookScript } from './webhook-load.ts';
import { hasWrk, runWrk } from './wrk.ts';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly parent?: number;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The stages, in the order the table lists them. */
const stages = [
  'HTTP parsing (request line, headers, body)',
  'auth (gate: secret check, connection guard)',
  'JSON.parse',
  'validation (ajv)',
  'record building (id sha256, times, indicators)',
  'Redis: sink, script arguments, ioredis',
  'spool (in front of the sink)',
  'Fastify: routing, hooks, reply, serializer',
  'HTTP response (writeHead, headers, end)',
  'socket writes and reads (net, streams)',
  'logging and metrics',
  'garbage collection',
  'event loop, promises, other',
] as const;
type Stage = (typeof stages)[number];

/**
 * The stage a frame belongs to, or undefined when it belongs to its caller's. Node's internal helpers
 * (buffer, crypto, events, timers) are undefined on purpose: the sha256 of a body is record building,
 * that of a secret is auth.
 */
function stageOf(f: CallFrame): Stage | undefined {
  const { url, functionName: fn } = f;
  // Orchard's own modules, from src/ (tsx) or dist/ (compiled, unbundled: startOrchard's `modules`): "orchard/server/intake-gate.js".
  const own = url.includes('/node_modules/') ? '' : url.replace(/^.*\/(?:src|dist)\//, 'orchard/');
  const lib = (...names: string[]) => names.some((n) => url.includes(`/node_modules/${n}`));
  const mine = (...paths: string[]) => paths.some((p) => own.startsWith(`orchard/${p}`));
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === 'parse' && url === '') return 'JSON.parse';
  if (mine('server/webhook-authenticator', 'server/intake-gate', 'server/connection-guard') || lib('@fastify/proxy-addr')) return 'auth (gate: secret check, connection guard)';
  if (mine('sources/jamf-pro-webhooks/webhook-validator') || lib('ajv') || (url === '' && /^validate\d*$/.test(fn))) return 'validation (ajv)';
  if (mine('sources/', 'stream/', 'indicators/', 'server/routes/')) return 'record building (id sha256, times, indicators)';
  if (mine('spool/')) return 'spool (in front of the sink)';
  if (mine('sink/', 'redis/') || lib('ioredis', 'redis-parser', 'denque', '@ioredis')) return 'Redis: sink, script arguments, ioredis';
  if (mine('metrics', 'logger', 'server/lazy-request-logger', 'server/request-noise') || lib('prom-client', 'pino', 'sonic-boom')) return 'logging and metrics';
  if (mine('server/') || url.includes('bench/bare-server') || lib('fastify', 'find-my-way', 'avvio', 'fast-json-stringify', '@fastify/', 'light-my-request', 'secure-json-parse', 'toad-cache')) return 'Fastify: routing, hooks, reply, serializer';
  if (url === 'node:_http_outgoing' || (url === 'node:_http_server' && /write|end|send|finish|header/i.test(fn))) return 'HTTP response (writeHead, headers, end)';
  if (url === 'node:_http_common' || url === 'node:_http_incoming' || url === 'node:_http_server') return 'HTTP parsing (request line, headers, body)';
  if (url === 'node:net' || url.startsWith('node:internal/stream_base_commons') || url.startsWith('node:internal/streams/') || url === 'node:stream') return 'socket writes and reads (net, streams)';
  return undefined;
}

/** µs per stage in [fromUs, toUs] (monotonic clock), the idle time apart, and the hottest functions by self time. */
function breakdown(profile: CpuProfile, fromUs: number, toUs: number): { byStage: Map<Stage, number>; busyUs: number; idleUs: number; top: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageCache = new Map<number, Stage>();
  const stageOfNode = (id: number): Stage => {
    const cached = stageCache.get(id);
    if (cached) return cached;
    let stage: Stage = 'event loop, promises, other';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const s = stageOf(byId.get(at)!.callFrame);
      if (s) {
        stage = s;
        break;
      }
    }
    stageCache.set(id, stage);
    return stage;
  };
  const byStage = new Map<Stage, number>(stages.map((s) => [s, 0]));
  const top = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    // A sample's delta is the time since the previous one: the time it stands for.
    const next = profile.timeDeltas[i + 1] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') {
      idleUs += next;
      continue;
    }
    busyUs += next;
    const stage = stageOfNode(node.id);
    byStage.set(stage, byStage.get(stage)! + next);
    const name = `${fn || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
    top.set(name, (top.get(name) ?? 0) + next);
  }
  return { byStage, busyUs, idleUs, top };
}

interface Measured {
  readonly name: string;
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** All the process's threads (GC helpers, libuv's pool included), from /proc. */
  readonly procCpuUsPerRequest: number;
  /** The main (JavaScript) thread's, from /proc/<pid>/task/<pid>/stat. */
  readonly mainCpuUsPerRequest: number;
  readonly byStage: Map<Stage, number>;
  readonly busyUs: number;
  readonly idleUs: number;
  readonly top: Map<string, number>;
}

/** Starts a server with --cpu-prof, loads it (warm-up, measured window), stops it and reads its profile. */
async function profiled(name: string, start: (flags: string[]) => Promise<ChildServer>, scriptFile: string, durationS: number, connections: number, cleanup: Cleanup): Promise<Measured> {
  const dir = process.env.BENCH_CPU_PROF_DIR ? join(process.env.BENCH_CPU_PROF_DIR, name.replace(/\W+/g, '-')) : tempDir('orchard-cpu-prof-', cleanup);
  const server = await start(['--cpu-prof', '--cpu-prof-dir', dir]);
  const load = { url: `${server.baseUrl}${webhookPath}`, scriptFile, connections, threads: 1 };
  process.stdout.write(`Profiling ${name} (pid ${server.pid}): 3 s warm-up, then ${durationS} s…\n`);
  await runWrk({ ...load, durationS: 3, base: 1e12 });
  const cpuBefore = processCpuMs(server.pid)!;
  const mainBefore = threadCpuMs(server.pid, server.pid)!;
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const run = await runWrk({ ...load, durationS, base: 2e12 });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const cpuAfter = processCpuMs(server.pid)!;
  const mainAfter = threadCpuMs(server.pid, server.pid)!;
  await server.stop(30_000);
  // One profile per thread (tsx's loader runs in a worker): the main thread's is `CPU.<date>.<time>.<pid>.0.<n>.cpuprofile`.
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${server.pid}.0.`));
  if (!file) throw new Error(`${name} wrote no CPU profile to ${dir}.`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  return {
    name,
    requests: run.answered,
    requestsPerSecond: run.requestsPerSecond,
    procCpuUsPerRequest: ((cpuAfter - cpuBefore) * 1000) / run.answered,
    mainCpuUsPerRequest: ((mainAfter - mainBefore) * 1000) / run.answered,
    ...breakdown(profile, fromUs, toUs),
  };
}

async function main(cleanup: Cleanup): Promise<void> {
  const durationS = envNumber('BENCH_DURATION_S', 10);
  const connections = Math.round(envNumber('BENCH_CONNECTIONS', 50));
  const topN = Math.round(Number(process.env.BENCH_CPU_TOP ?? 0));
  if (!hasWrk()) {
    process.stdout.write('CPU breakdown SKIPPED: wrk is not on PATH (Debian: apt-get install wrk).\n');
    return;
  }
  const secret = randomBytes(24).toString('hex');
  const { scriptFile, bodyBytes } = webhookScript(secret, cleanup);
  const redis = await TestRedis.start({ appendonly: true, appendfsync: 'everysec' });
  cleanup.defer('stop redis-server', () => redis.stop());

  const floor = await profiled('durable floor', (flags) => startBareServer('durable floor', { REDIS_URL: redis.url, BENCH_STREAM: 'bench:floor' }, cleanup, flags), scriptFile, durationS, connections, cleanup);
  const baselineDir = process.env.BENCH_BASELINE_DIR;
  const baselineEnv = { ORCHARD_RATE_LIMIT_PER_MINUTE: '0', ORCHARD_STREAM: 'baseline:events' };
  const baseline = baselineDir
    ? await profiled('orchard (baseline)', (flags) => startOrchard('orchard (baseline)', { redisUrl: redis.url, secret, nodeFlags: flags, env: baselineEnv, checkout: baselineDir, modules: true }, cleanup), scriptFile, durationS, connections, cleanup)
    : undefined;
  const orchard = await profiled('orchard (defaults)', (flags) => startOrchard('orchard (defaults)', { redisUrl: redis.url, secret, nodeFlags: flags, modules: true }, cleanup), scriptFile, durationS, connections, cleanup);
  const columns = [floor, ...(baseline ? [baseline] : []), orchard];

  // The profile's samples are wall time: on a shared VM a thread that the kernel puts aside keeps its
  // sample running. So the samples give each stage's share of the main thread's busy time, and the
  // main thread's CPU time (/proc) gives what that share is worth.
  const perRequest = (m: Measured, us: number) => (us / m.busyUs) * m.mainCpuUsPerRequest;
  const rows = stages.map((stage) => {
    const [f, o] = [perRequest(floor, floor.byStage.get(stage)!), perRequest(orchard, orchard.byStage.get(stage)!)];
    return [stage, ...columns.map((m) => fmt(perRequest(m, m.byStage.get(stage)!), 1)), fmt(o - f, 1), `${fmt((100 * orchard.byStage.get(stage)!) / orchard.busyUs)} %`];
  });
  const total = (m: Measured) => perRequest(m, m.busyUs);
  rows.push(['main thread (/proc)', ...columns.map((m) => fmt(total(m), 1)), fmt(total(orchard) - total(floor), 1), '100 %']);
  rows.push(['whole process (/proc, GC and libuv threads too)', ...columns.map((m) => fmt(m.procCpuUsPerRequest, 1)), fmt(orchard.procCpuUsPerRequest - floor.procCpuUsPerRequest, 1), '']);
  const idle = (m: Measured) => `${m.name} ${fmt((100 * m.idleUs) / (m.idleUs + m.busyUs))} %`;
  const out = [
    '',
    `Where the webhook path's CPU goes: µs of CPU per answered request, by stage. wrk, ${connections} connections, ${durationS} s after a 3 s warm-up, ` +
      `ComputerCheckIn bodies of ${bodyBytes} bytes, each different; Redis appendonly everysec. ${machineFacts().cpus} cores (${machineFacts().cpuModel}).` +
      (baseline ? ` Baseline: ${baselineDir}.` : ''),
    '',
    formatTable(['stage', ...columns.map((m) => m.name), 'orchard − floor', 'share of orchard'], rows),
    '',
    `req/s during the profiled window (profiling slows each): ${columns.map((m) => `${m.name} ${fmt(m.requestsPerSecond)}`).join(', ')}. Main thread idle: ${columns.map(idle).join(', ')}.`,
  ];
  if (topN > 0) {
    const hottest = [...orchard.top].sort((a, b) => b[1] - a[1]).slice(0, topN);
    out.push('', `Orchard's ${topN} hottest functions by self time (µs per request):`, formatTable(['function', 'µs/req'], hottest.map(([n, us]) => [n, fmt(perRequest(orchard, us), 2)])));
  }
  const json = (m: Measured) => ({ ...m, byStage: Object.fromEntries([...m.byStage].map(([s, us]) => [s, perRequest(m, us)])), top: Object.fromEntries([...m.top].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([n, us]) => [n, perRequest(m, us)])) });
  out.push('', `Figures written to ${writeReport('cpu-breakdown', { measuredAt: new Date().toISOString(), machine: machineFacts(), durationS, connections, bodyBytes, floor: json(floor), baseline: baseline && { ...json(baseline), checkout: baselineDir }, orchard: json(orchard) })}.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

await runBench(main);
