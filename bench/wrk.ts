// HTTP load from wrk (Debian's package `wrk`): a load generator written in C that costs the machine
// far less CPU than autocannon in a Node process does, so that on two shared cores the server under
// test keeps its core (issue #22). Each request's body is built by a Lua `request()` function from a
// template, with numbers that count up per request, so that every request is a new event.
// wrk: https://github.com/wg/wrk (SCRIPTING: setup/init/request/done, wrk.format, latency:percentile).

import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpLoadResult } from './lib.ts';

/** True when `wrk` is on PATH. */
export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return (err as { status?: number }).status === 1;
  }
}

export interface WrkBodyTemplate {
  /** The body's text with each counting number written as one of the `counters` names, quoted: `"@@ID@@"`. */
  readonly text: string;
  /**
   * Marker name → the number it stands for: `n + offset`, n being the request's unique number (run
   * base + thread × 10^9 + the thread's count), or with `perThread` the thread's count alone plus
   * offset (a timestamp that stays near its offset: `now` plus a few ms a request).
   */
  readonly counters: Readonly<Record<string, { readonly offset: number; readonly perThread?: boolean }>>;
}

/** Lua long-bracket string that cannot be closed by the text it holds. */
function luaString(text: string): string {
  let level = 1;
  while (text.includes(`]${'='.repeat(level)}]`)) level += 1;
  const eq = '='.repeat(level);
  return `[${eq}[${text}]${eq}]`;
}

/**
 * A wrk script that POSTs `template` to `path` with `headers`, the counters of every body unique within
 * the run and across runs (wrk's first script argument is the run's base number). Its `done()` prints
 * one line `WRK_JSON {…}` with what runWrk reads.
 */
export function wrkScript(path: string, headers: Record<string, string>, template: WrkBodyTemplate): string {
  const pieces = template.text.split(/"@@([A-Z_]+)@@"/);
  const parts: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 0) {
      if (pieces[i] !== '') parts.push(luaString(pieces[i]!));
      continue;
    }
    const counter = template.counters[pieces[i]!];
    if (!counter) throw new Error(`wrkScript: the template names @@${pieces[i]}@@, which has no counter.`);
    parts.push(`string.format("%.0f", ${counter.perThread ? 'counter' : 'n'} + ${counter.offset})`);
  }
  const headerTable = Object.entries(headers).map(([k, v]) => `[ ${luaString(k)} ] = ${luaString(v)}`).join(', ');
  return `-- Written by bench/wrk.ts for one run.
local threads = {}
local counter = 0
local base = 0
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end
function init(args)
  base = tonumber(args[1]) + index * 1000000000
end
local path = ${luaString(path)}
local headers = { ${headerTable} }
function request()
  counter = counter + 1
  local n = base + counter
  return wrk.format("POST", path, headers, ${parts.join(' .. ')})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"durationUs":%d,"requests":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%f}\\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
`;
}

export interface WrkRun {
  readonly url: string;
  readonly scriptFile: string;
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  /** The first request's unique number: runs against one server must not overlap (≥ threads × 10^9 apart). */
  readonly base: number;
  readonly timeoutS?: number;
}

/** Writes a script to `dir` and returns its path. */
export function writeWrkScript(dir: string, name: string, script: string): string {
  const file = join(dir, `${name}.lua`);
  writeFileSync(file, script);
  return file;
}

/**
 * Runs wrk once and reads its figures. wrk counts answers with a status of 400 or more as errors
 * ("status"); every other answer counts as 2xx here (the servers under test answer nothing 3xx).
 * Requests still in flight when wrk stops are neither counted nor answered: `unanswered` is at most
 * the number of connections.
 */
export function runWrk(run: WrkRun): Promise<HttpLoadResult> {
  const args = [`-t${run.threads}`, `-c${run.connections}`, `-d${run.durationS}s`, `--timeout`, `${run.timeoutS ?? 10}s`, '-s', run.scriptFile, run.url, '--', String(run.base)];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = /^WRK_JSON (.*)$/m.exec(out)?.[1];
      if (code !== 0 || !line) return reject(new Error(`wrk ${args.join(' ')} exited with ${code}: ${out.trim()}`));
      const w = JSON.parse(line) as Record<string, number>;
      // summary.requests counts completed responses; socket errors and timeouts are counted apart.
      const answered = w.requests!;
      const non2xx = w.status!;
      resolve({
        requestsPerSecond: w.requests! / (w.durationUs! / 1e6),
        latencyMs: { p50: w.p50Us! / 1000, p99: w.p99Us! / 1000, max: w.maxUs! / 1000, mean: w.meanUs! / 1000 },
        durationS: w.durationUs! / 1e6,
        sent: w.requests!,
        answered,
        answered2xx: answered - non2xx,
        non2xx,
        statuses: non2xx > 0 ? { '2xx': answered - non2xx, '>=400': non2xx } : { '2xx': answered },
        errors: w.connect! + w.read! + w.write! + w.timeout!,
        timeouts: w.timeout!,
        unanswered: run.connections,
      });
    });
  });
}
