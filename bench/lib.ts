// What every benchmark scenario shares: cleaning up what it started, child servers (start, wait until
// ready, peak RSS, stop), HTTP load with autocannon, and reporting (a table on stdout, JSON in .bench/).
// Figures are reported as measured: nothing here fails on a missed target.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/free-port.ts';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

// ── Cleanup ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Undo actions, run last-registered first, each at most once, also when the run fails or is
 * interrupted (SIGINT, SIGTERM). A failing action is reported and the others still run.
 */
export class Cleanup {
  readonly #actions: { name: string; run: () => unknown }[] = [];
  #running: Promise<void> | undefined;

  defer(name: string, run: () => unknown): void {
    this.#actions.push({ name, run });
  }

  /** Runs every action registered so far; a call made while another runs waits for it, then drains what is left. */
  run(): Promise<void> {
    this.#running = (this.#running ?? Promise.resolve()).then(async () => {
      for (let action = this.#actions.pop(); action; action = this.#actions.pop()) {
        try {
          await action.run();
        } catch (err) {
          process.stderr.write(`bench: cleanup "${action.name}" failed: ${(err as Error).message}\n`);
        }
      }
    });
    return this.#running;
  }

  /** Runs the cleanup and exits when the process is interrupted. */
  onSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`\nbench: ${signal} received, cleaning up.\n`);
        void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      });
    }
  }
}

/** Runs a benchmark's main with a cleanup that also runs on SIGINT/SIGTERM; a failure sets exit code 1. */
export async function runBench(main: (cleanup: Cleanup) => Promise<void>): Promise<void> {
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
}

/** A fresh temporary directory, removed by the cleanup. */
export function tempDir(prefix: string, cleanup: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ── Settings ────────────────────────────────────────────────────────────────────────────────────

/** A positive number from the environment, or the default when unset. */
export function envNumber(name: string, defaultValue: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return defaultValue;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}".`);
  return value;
}

// ── Child servers ───────────────────────────────────────────────────────────────────────────────

export interface ChildServerOptions {
  /** For messages: "orchard", "bare fastify". */
  readonly name: string;
  readonly args: readonly string[];
  /** The child's whole environment. */
  readonly env: NodeJS.ProcessEnv;
  /** http://host:port the child listens on. */
  readonly baseUrl: string;
  /** GET this path until `isReady(status)`; any HTTP answer counts when `isReady` is omitted. */
  readonly readyPath: string;
  readonly isReady?: (status: number) => boolean;
  readonly readyTimeoutMs?: number;
  readonly cwd?: string;
}

/** A server running as a child `node` process (so its RSS is its own, not the load generator's). */
export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
  /** The last lines it wrote to stdout and stderr since it became ready (all of them while starting). */
  output(): readonly string[];
  /** Lines it wrote to stdout and stderr since it became ready. */
  lineCount(): number;
  /** Undefined while it runs. */
  exitDescription(): string | undefined;
  /** Resident set size now (VmRSS), in bytes. */
  rssBytes(): number | undefined;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRssBytes(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const keptOutputLines = 40;

/** Starts `node <args>` and resolves once it answers `readyPath`; registers its stop with the cleanup. */
export async function startChildServer(options: ChildServerOptions, cleanup: Cleanup): Promise<ChildServer> {
  const child = spawn(process.execPath, options.args, { cwd: options.cwd ?? repoRoot, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let count = 0;
  const keep = (line: string) => {
    count += 1;
    lines.push(line);
    if (lines.length > keptOutputLines) lines.shift();
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);

  let exit: string | undefined;
  const exited = new Promise<void>((done) => {
    child.once('exit', (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
      done();
    });
    child.once('error', (err) => {
      exit = `could not start: ${err.message}`;
      done();
    });
  });

  const server: ChildServer = {
    name: options.name,
    pid: child.pid ?? -1,
    baseUrl: options.baseUrl,
    output: () => [...lines],
    lineCount: () => count,
    exitDescription: () => exit,
    rssBytes: () => (child.pid === undefined || exit !== undefined ? undefined : procStatusBytes(child.pid, 'VmRSS')),
    peakRssBytes: () => (child.pid === undefined || exit !== undefined ? undefined : procStatusBytes(child.pid, 'VmHWM')),
    stop: (graceMs = 5000) => stopChild(child, exited, graceMs),
  };
  cleanup.defer(`stop ${options.name}`, () => server.stop());

  await waitUntilReady(server, options, () => exit);
  lines.length = 0; // what it said while starting (e.g. its answers to the readiness probe) is not news
  count = 0;
  return server;
}

async function stopChild(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitUntilReady(server: ChildServer, options: ChildServerOptions, exit: () => string | undefined): Promise<void> {
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const isReady = options.isReady ?? (() => true);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const gone = exit();
    if (gone !== undefined) throw new Error(`${server.name} ${gone} before it was ready. ${lastOutput(server)}`);
    try {
      const res = await fetch(`${server.baseUrl}${options.readyPath}`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (isReady(res.status)) return;
      last = `GET ${options.readyPath} answered ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${server.name} was not ready within ${timeoutMs} ms (${last}). ${lastOutput(server)}`);
}

/** For error messages: what the child said last. */
export function lastOutput(server: ChildServer): string {
  const lines = server.output();
  return lines.length === 0 ? 'It wrote nothing.' : `Its last output:\n${lines.join('\n')}`;
}

/**
 * A memory figure of a Linux process from /proc/<pid>/status, in bytes: VmRSS (resident set now) or
 * VmHWM (its peak, "high water mark"). Undefined when it cannot be read (not Linux, process gone).
 */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ── CPU accounting ──────────────────────────────────────────────────────────────────────────────

/** Linux clock ticks per second (USER_HZ), the unit of /proc/stat and /proc/<pid>/stat. */
const ticksPerSecond = 100;

/** CPU time (user + system) a Linux process has used, in ms; undefined when it cannot be read. */
export function processCpuMs(pid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/stat`);
}

function statCpuMs(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) one thread of a Linux process has used, in ms (the main thread's id is the pid). */
export function threadCpuMs(pid: number, tid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/task/${tid}/stat`);
}

/** CPU time of the whole machine: busy and total, summed over every core, in ms. */
function machineCpuMs(): { busyMs: number; totalMs: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busyMs: (busy * 1000) / ticksPerSecond, totalMs: ((busy + idle! + iowait!) * 1000) / ticksPerSecond };
  } catch {
    return undefined;
  }
}

/**
 * CPU used during a run, each in % of one core: the named processes, and everything else on the
 * machine ("other": concurrent work that makes the figures noisy).
 */
export interface CpuUse {
  readonly wallMs: number;
  readonly cores: number;
  /** Named process → % of one core. */
  readonly processes: Record<string, number | undefined>;
  readonly machineBusy: number | undefined;
  readonly other: number | undefined;
}

/** Starts measuring the CPU of the named processes and of the machine; call the result to stop. */
export function startCpuMeter(pids: Record<string, number | undefined>): () => CpuUse {
  const startedMs = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid === undefined ? undefined : processCpuMs(pid)]));
  const machineBefore = machineCpuMs();
  return () => {
    const wallMs = performance.now() - startedMs;
    const percent = (ms: number | undefined) => (ms === undefined ? undefined : (100 * ms) / wallMs);
    const processes: Record<string, number | undefined> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const after = pid === undefined ? undefined : processCpuMs(pid);
      processes[name] = percent(after === undefined || before[name] === undefined ? undefined : after - before[name]!);
    }
    const machineAfter = machineCpuMs();
    const machineBusy = machineBefore && machineAfter ? percent(machineAfter.busyMs - machineBefore.busyMs) : undefined;
    const known = Object.values(processes).reduce<number>((sum, p) => sum + (p ?? 0), 0);
    return {
      wallMs,
      cores: cpus().length,
      processes,
      machineBusy,
      other: machineBusy === undefined ? undefined : Math.max(0, machineBusy - known),
    };
  };
}

// ── HTTP load ───────────────────────────────────────────────────────────────────────────────────

export interface HttpLoadOptions {
  /** Full URL, path included. */
  readonly url: string;
  readonly connections: number;
  readonly pipelining: number;
  readonly durationS: number;
  readonly method: 'POST' | 'PUT' | 'GET';
  readonly headers: Record<string, string>;
  /** Called for every request: the body to send. */
  readonly body: () => string | Buffer;
  readonly timeoutS?: number;
}

export interface HttpLoadResult {
  /** Mean of the one-second samples of answered requests. */
  readonly requestsPerSecond: number;
  /** Over every answer, whatever its status, measured by the client. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly durationS: number;
  /** Requests written to a socket, answered or not. */
  readonly sent: number;
  readonly answered: number;
  readonly answered2xx: number;
  readonly non2xx: number;
  /** Answers by status code. */
  readonly statuses: Record<string, number>;
  /** Connection errors, timeouts included. */
  readonly errors: number;
  readonly timeouts: number;
  /**
   * Sent but never answered: in flight when the load stopped (autocannon drops the connections at
   * once), or timed out. The server may still have handled them.
   */
  readonly unanswered: number;
}

/** Loads one URL with autocannon for a fixed time; every request gets a fresh body from `body()`. */
export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: options.pipelining,
    duration: options.durationS,
    timeout: options.timeoutS ?? 10,
    requests: [
      {
        method: options.method,
        headers: options.headers,
        setupRequest: (request) => {
          request.body = options.body();
          return request;
        },
      },
    ],
  });
  instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
    latencies.push(responseTimeMs);
  });
  const result = await new Promise<autocannon.Result>((done, fail) => {
    instance.once('error', fail);
    instance.then(done, fail);
  });

  const statuses: Record<string, number> = {};
  let answered = 0;
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    statuses[status] = count;
    answered += count;
  }
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
      mean: latencies.length === 0 ? Number.NaN : latencies.reduce((a, b) => a + b, 0) / latencies.length,
    },
    durationS: result.duration,
    sent: result.requests.sent,
    answered,
    answered2xx: result['2xx'],
    non2xx: result.non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    unanswered: Math.max(0, result.requests.sent - answered),
  };
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

// ── Reporting ───────────────────────────────────────────────────────────────────────────────────

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Fixed decimals, or "n/a" for a missing figure. */
export function fmt(value: number | undefined, decimals = 0): string {
  return value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(decimals);
}

export const bytesToMb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / (1024 * 1024));

/** Writes `.bench/<name>.json` under the repository root; returns its path. */
export function writeReport(name: string, report: unknown): string {
  const dir = join(repoRoot, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** What a report says about where it was measured. */
export function machineFacts() {
  const list = cpus();
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: list.length, cpuModel: list[0]?.model ?? 'unknown' };
}

/** What the benchmarks read of a connector in Orchard's /status. */
export interface ConnectorStatus {
  state: string;
  totals: { runs: number };
  lastRun: { outcome: string; received: number; appended: number; duplicates: number; durationMs: number } | null;
  lastError?: unknown;
}

/** Polls Orchard's /status until the first connector has ended `runs` runs. */
export async function waitForRuns(url: string, runs: number, timeoutMs = 300_000): Promise<ConnectorStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await (await fetch(`${url}/status`)).json()) as { connectors: ConnectorStatus[] };
    const c = status.connectors[0]!;
    if (c.totals.runs >= runs && c.lastRun && c.lastRun.outcome !== 'running') return c;
    if (Date.now() > deadline) throw new Error(`Orchard did not finish ${runs} run(s): ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Extra Node flags for Orchard's process from BENCH_NODE_FLAGS (space-separated), e.g. `--max-semi-space-size=32`. */
export function benchNodeFlags(): string[] {
  return process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : [];
}

/** Orchard as a child process with the connectors of `config`, against `redisUrl`; BENCH_CPU_PROF=1 writes its CPU profile to .bench/<profile>/. */
export async function startPullOrchard(options: { config: string; dir: string; redisUrl: string; profile: string }, cleanup: Cleanup): Promise<ChildServer> {
  const port = await freePort();
  return startChildServer(
    {
      name: 'orchard',
      args: [...(process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', '--cpu-prof-dir', join(repoRoot, '.bench', options.profile)] : []), ...benchNodeFlags(), 'bin/orchard.js', 'serve'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: options.redisUrl, HOST: '127.0.0.1', PORT: String(port), ORCHARD_CONFIG: options.config, ORCHARD_WEBHOOK_SECRETS: 'bench-secret-0123456789abcdef', ORCHARD_DATA_DIR: options.dir, LOG_LEVEL: 'warn' },
      baseUrl: `http://127.0.0.1:${port}`,
      readyPath: '/readyz',
      isReady: (status) => status === 200,
    },
    cleanup,
  );
}
