// `npm run bench` (second part): the pull path, computers per second from a local mock Jamf Pro into
// Redis, against a baseline measured in the same run.
//
// The mock Jamf Pro (test/mocks/jamf-pro-server.ts) runs in this process; Orchard runs as a child
// process with one jamf_pro.inventory connector. Figures:
//   - baseline: a bare undici loop that reads every page of the same fleet and parses it, no Redis;
//   - first run: Orchard loads the whole fleet (records, versions, checkpoints into Redis);
//   - second run: the fleet unchanged, every computer compared and dropped as a duplicate.
// Computers per second come from the run statistics Orchard reports in /status. The bare read and a
// fresh Orchard alternate, BENCH_PULL_ROUNDS times (default 3), and the medians are reported: single
// runs of two seconds on the shared VM gave ratios from 0.39 to 1.01. Reported, never asserted.
// Settings: BENCH_PULL_COMPUTERS (default 20000), BENCH_PULL_PAGE_SIZE (default 1000), BENCH_PULL_ROUNDS,
// BENCH_CPU_PROF=1 (Orchard's CPU profile lands in .bench/cpu-prof-pull/).

import type { Redis } from 'ioredis';
import { request } from 'undici';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestRedis } from '../test/helpers/redis-server.ts';
import { MockJamfPro } from '../test/mocks/jamf-pro-server.ts';
import { bytesToMb, Cleanup, envNumber, fmt, formatTable, machineFacts, processCpuMs, startPullOrchard, tempDir, waitForRuns, writeReport, type ConnectorStatus } from './lib.ts';

/** Issue #22: the inventory pull at least 0.8 × the bare read of the same mock. */
const target = { minRatio: 0.8 } as const;
const sections = ['GENERAL', 'HARDWARE', 'OPERATING_SYSTEM'];

interface RunFigures {
  readonly received: number;
  readonly appended: number;
  readonly duplicates: number;
  readonly durationMs: number;
  readonly computersPerSecond: number;
}

async function baseline(mock: MockJamfPro, computers: number, pageSize: number): Promise<RunFigures> {
  const token = (await (await request(`${mock.url}/api/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=orchard-test-client&client_secret=orchard-test-secret',
  })).body.json()) as { access_token: string };
  const started = performance.now();
  let received = 0;
  for (let page = 0; page * pageSize < computers; page++) {
    const query = `${sections.map((s) => `section=${s}`).join('&')}&page=${page}&page-size=${pageSize}&sort=id:asc`;
    const res = await request(`${mock.url}/api/v4/computers-inventory?${query}`, { headers: { authorization: `Bearer ${token.access_token}` } });
    const body = (await res.body.json()) as { results: unknown[] };
    received += body.results.length;
  }
  const durationMs = performance.now() - started;
  return { received, appended: 0, duplicates: 0, durationMs, computersPerSecond: (received * 1000) / durationMs };
}

const figures = (c: ConnectorStatus): RunFigures => {
  const run = c.lastRun!;
  return { received: run.received, appended: run.appended, duplicates: run.duplicates, durationMs: run.durationMs, computersPerSecond: (run.received * 1000) / Math.max(1, run.durationMs) };
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Round {
  readonly base: RunFigures;
  readonly first: RunFigures;
  readonly second: RunFigures;
  readonly streamLength: number;
  readonly peakRssMb: number | undefined;
  /** Orchard's CPU time (all threads) over both runs, per computer received. */
  readonly cpuUsPerComputer: number | undefined;
}

async function main(): Promise<void> {
  const computers = envNumber('BENCH_PULL_COMPUTERS', 20_000);
  const pageSize = envNumber('BENCH_PULL_PAGE_SIZE', 1000);
  const rounds = Math.round(envNumber('BENCH_PULL_ROUNDS', 3));
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const redis = await TestRedis.start();
    cleanup.defer('stop redis-server', () => redis.stop());
    const client: Redis = redis.client();
    const mock = await MockJamfPro.start({ computers });
    cleanup.defer('stop the mock Jamf Pro', () => mock.close());
    process.stdout.write(`Pull benchmark: ${computers} computers, page size ${pageSize}, sections ${sections.join(', ')}, ${rounds} rounds.\n`);
    // Warm the mock's caches: it then answers a page with a slice and a join of prepared text, as fast
    // as a server sending a stored answer would.
    await baseline(mock, computers, pageSize);

    const dir = tempDir('orchard-bench-pull-', cleanup);
    const config = join(dir, 'orchard.yml');
    writeFileSync(config, stringify({ connectors: [{ name: 'bench', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', page_size: pageSize, sections, interval: '1s' }] }));
    // Each round: the bare read, then a fresh Orchard on an empty Redis (its first run appends the
    // fleet, its second finds it unchanged), so that a slow spell of the shared VM falls on both sides.
    const results: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      const base = await baseline(mock, computers, pageSize);
      await client.flushall();
      const orchard = await startPullOrchard({ config, dir: tempDir('orchard-bench-pull-data-', cleanup), redisUrl: redis.url, profile: 'cpu-prof-pull' }, cleanup);
      const cpuBefore = processCpuMs(orchard.pid);
      const first = figures(await waitForRuns(orchard.baseUrl, 1));
      const second = figures(await waitForRuns(orchard.baseUrl, 2));
      const cpuAfter = processCpuMs(orchard.pid);
      const peakRssMb = bytesToMb(orchard.peakRssBytes());
      await orchard.stop(15_000);
      const cpuUsPerComputer = cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / (first.received + second.received);
      results.push({ base, first, second, streamLength: await client.xlen('orchard:events'), peakRssMb, cpuUsPerComputer });
      process.stdout.write(`Round ${round + 1}: bare read ${fmt(base.computersPerSecond)}/s, Orchard first run ${fmt(first.computersPerSecond)}/s, second run ${fmt(second.computersPerSecond)}/s.\n`);
    }

    const med = (pick: (r: Round) => number) => median(results.map(pick));
    const baseRate = med((r) => r.base.computersPerSecond);
    const firstRate = med((r) => r.first.computersPerSecond);
    const secondRate = med((r) => r.second.computersPerSecond);
    const firstRatio = med((r) => r.first.computersPerSecond / r.base.computersPerSecond);
    const secondRatio = med((r) => r.second.computersPerSecond / r.base.computersPerSecond);
    const peakRssMb = Math.max(...results.map((r) => r.peakRssMb ?? 0));
    const each = (pick: (r: Round) => number) => results.map((r) => fmt(pick(r))).join(' / ');
    const rows = [
      ['baseline: bare undici read + JSON.parse, no Redis', fmt(baseRate), each((r) => r.base.computersPerSecond), '1.00', ''],
      ['orchard: first run (every computer appended)', fmt(firstRate), each((r) => r.first.computersPerSecond), fmt(firstRatio, 2), fmt(peakRssMb)],
      ['orchard: second run (unchanged fleet, all duplicates)', fmt(secondRate), each((r) => r.second.computersPerSecond), fmt(secondRatio, 2), fmt(peakRssMb)],
    ];
    process.stdout.write(`\n${formatTable(['pull', 'computers/s (median)', 'each round', 'ratio to the bare read (median of the rounds)', 'peak RSS MB'], rows)}\n`);
    const complete = results.every((r) => r.first.appended === computers && r.second.appended === 0 && r.second.duplicates === computers && r.streamLength === computers);
    process.stdout.write(
      `\nOrchard's CPU (all threads) per computer over both runs: ${each((r) => r.cpuUsPerComputer ?? Number.NaN)} µs.\n` +
        `Stream check, every round: each computer appended once by the first run, none by the second: ${complete ? 'exact' : 'NOT EXACT'}.\n` +
        `Target (issue #22): ≥ ${target.minRatio} × the bare read: ${firstRatio >= target.minRatio ? 'met' : 'NOT met'} on the first run (${fmt(firstRatio, 2)}), ${secondRatio >= target.minRatio ? 'met' : 'NOT met'} on the second (${fmt(secondRatio, 2)}).\n`,
    );
    const file = writeReport('pull', { machine: machineFacts(), computers, pageSize, sections, rounds: results, median: { baseRate, firstRate, secondRate, firstRatio, secondRatio }, peakRssMb, complete });
    process.stdout.write(`Report: ${file}\n`);
    if (!complete) process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
