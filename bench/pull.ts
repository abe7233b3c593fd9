// `npm run bench` (second part): the pull path, computers per second from a local mock Jamf Pro into
// Redis, against a baseline measured in the same run.
//
// The mock Jamf Pro (test/mocks/jamf-pro-server.ts) runs in this process; Orchard runs as a child
// process with one jamf_pro.inventory connector. Figures:
//   - baseline: a bare undici loop that reads every page of the same fleet and parses it, no Redis;
//   - first run: Orchard loads the whole fleet (records, versions, checkpoints into Redis);
//   - second run: the fleet unchanged, every computer compared and dropped as a duplicate.
// Computers per second come from the run statistics Orchard reports in /status. Reported, never
// asserted. Settings: BENCH_PULL_COMPUTERS (default 20000), BENCH_PULL_PAGE_SIZE (default 1000),
// BENCH_CPU_PROF=1 (Orchard's CPU profile lands in .bench/cpu-prof-pull/).

import type { Redis } from 'ioredis';
import { request } from 'undici';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestRedis } from '../test/helpers/redis-server.ts';
import { MockJamfPro } from '../test/mocks/jamf-pro-server.ts';
import { bytesToMb, Cleanup, envNumber, fmt, formatTable, machineFacts, startPullOrchard, tempDir, waitForRuns, writeReport, type ConnectorStatus } from './lib.ts';

const target = { minComputersPerSecond: 50_000 } as const;
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

async function main(): Promise<void> {
  const computers = envNumber('BENCH_PULL_COMPUTERS', 20_000);
  const pageSize = envNumber('BENCH_PULL_PAGE_SIZE', 1000);
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const redis = await TestRedis.start();
    cleanup.defer('stop redis-server', () => redis.stop());
    const client: Redis = redis.client();
    const mock = await MockJamfPro.start({ computers });
    cleanup.defer('stop the mock Jamf Pro', () => mock.close());
    process.stdout.write(`Pull benchmark: ${computers} computers, page size ${pageSize}, sections ${sections.join(', ')}.\n`);
    // Warm the mock's caches, then the baseline.
    await baseline(mock, computers, pageSize);
    const base = await baseline(mock, computers, pageSize);

    const dir = tempDir('orchard-bench-pull-', cleanup);
    const config = join(dir, 'orchard.yml');
    writeFileSync(config, stringify({ connectors: [{ name: 'bench', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', page_size: pageSize, sections, interval: '1s' }] }));
    const orchard = await startPullOrchard({ config, dir, redisUrl: redis.url, profile: 'cpu-prof-pull' }, cleanup);
    const first = figures(await waitForRuns(orchard.baseUrl, 1));
    const second = figures(await waitForRuns(orchard.baseUrl, 2));
    const peakRssMb = bytesToMb(orchard.peakRssBytes());
    await orchard.stop(15_000);
    const streamLength = await client.xlen('orchard:events');

    const rows = [
      ['baseline: bare undici read + JSON.parse, no Redis', fmt(base.received), fmt(base.durationMs), fmt(base.computersPerSecond), '1.00', ''],
      ['orchard: first run (every computer appended)', fmt(first.received), fmt(first.durationMs), fmt(first.computersPerSecond), fmt(first.computersPerSecond / base.computersPerSecond, 2), fmt(peakRssMb)],
      ['orchard: second run (unchanged fleet, all duplicates)', fmt(second.received), fmt(second.durationMs), fmt(second.computersPerSecond), fmt(second.computersPerSecond / base.computersPerSecond, 2), fmt(peakRssMb)],
    ];
    process.stdout.write(`\n${formatTable(['pull', 'computers', 'ms', 'computers/s', 'ratio to baseline', 'peak RSS MB'], rows)}\n`);
    const complete = first.appended === computers && second.appended === 0 && second.duplicates === computers && streamLength === computers;
    process.stdout.write(
      `\nStream check: ${streamLength} entries for ${computers} computers; first run appended ${first.appended}, second ${second.appended} (${second.duplicates} duplicates): ${complete ? 'exact' : 'NOT EXACT'}.\n` +
        `Target (DESIGN.md, per connector): ≥ ${target.minComputersPerSecond} events/s: ${first.computersPerSecond >= target.minComputersPerSecond ? 'met' : 'not met'} on the first run (${fmt(first.computersPerSecond)}/s).\n`,
    );
    const file = writeReport('pull', { machine: machineFacts(), computers, pageSize, sections, baseline: base, first, second, peakRssMb, streamLength, complete });
    process.stdout.write(`Report: ${file}\n`);
    if (!complete) process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
