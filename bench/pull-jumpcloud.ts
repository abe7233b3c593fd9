// `npm run bench` (third part): the Directory Insights pull path, events per second from a local mock
// JumpCloud API into Redis for one connector with 10,000-event pages (DESIGN.md's pull target: at
// least 50,000 events/s per connector; Devo publishes about 600), against a baseline measured in the
// same run.
//
// The mock JumpCloud (test/mocks/jumpcloud-server.ts) runs in this process; Orchard runs as a child
// process with one jumpcloud.directory_insights connector. Figures:
//   - baseline: a bare undici loop that pages through the same window with search_after and parses
//     every page, no Redis;
//   - Orchard's first run: every event appended, with its checkpoint, page by page.
// Events per second come from the run statistics Orchard reports in /status. Reported, never asserted.
// Settings: BENCH_JC_EVENTS (default 300000), BENCH_JC_LIMIT (default 10000), BENCH_CPU_PROF=1
// (Orchard's CPU profile lands in .bench/cpu-prof-jumpcloud/).

import type { Redis } from 'ioredis';
import { request } from 'undici';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestRedis } from '../test/helpers/redis-server.ts';
import { MockJumpCloud } from '../test/mocks/jumpcloud-server.ts';
import { bytesToMb, Cleanup, envNumber, fmt, formatTable, machineFacts, startCpuMeter, startPullOrchard, tempDir, waitForRuns, writeReport } from './lib.ts';

const target = { minEventsPerSecond: 50_000 } as const;
const apiKey = 'orchard-test-jumpcloud-key';

async function baseline(mock: MockJumpCloud, startTime: string, endTime: string, limit: number): Promise<{ received: number; durationMs: number; eventsPerSecond: number; bytes: number }> {
  const started = performance.now();
  let received = 0;
  let bytes = 0;
  let searchAfter: unknown[] | undefined;
  for (;;) {
    const res = await request(`${mock.url}/insights/directory/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ service: ['all'], start_time: startTime, end_time: endTime, limit, sort: 'ASC', ...(searchAfter ? { search_after: searchAfter } : {}) }),
    });
    const text = await res.body.text();
    bytes += text.length;
    const events = JSON.parse(text) as unknown[];
    received += events.length;
    if (Number(res.headers['x-result-count']) !== Number(res.headers['x-limit'])) break;
    searchAfter = JSON.parse(String(res.headers['x-search_after'])) as unknown[];
  }
  const durationMs = performance.now() - started;
  return { received, durationMs, eventsPerSecond: (received * 1000) / durationMs, bytes };
}

async function main(): Promise<void> {
  const count = envNumber('BENCH_JC_EVENTS', 300_000);
  const limit = envNumber('BENCH_JC_LIMIT', 10_000);
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const redis = await TestRedis.start();
    cleanup.defer('stop redis-server', () => redis.stop());
    const client: Redis = redis.client();
    const mock = await MockJumpCloud.start();
    cleanup.defer('stop the mock JumpCloud', () => mock.close());
    const now = Date.now();
    const startTime = new Date(now - 2 * 86_400_000).toISOString();
    mock.generateEvents(count, { fromMs: now - 2 * 86_400_000 + 60_000, toMs: now - 30 * 60_000, seed: 42, nanos: true });
    process.stdout.write(`Directory Insights pull benchmark: ${count} events (every service), ${limit} a page.\n`);
    // Warm the mock, then the baseline over the same window Orchard will read.
    const endTime = new Date(now - 20 * 60_000).toISOString();
    await baseline(mock, startTime, endTime, limit);
    const base = await baseline(mock, startTime, endTime, limit);

    const dir = tempDir('orchard-bench-jumpcloud-', cleanup);
    const config = join(dir, 'orchard.yml');
    writeFileSync(config, stringify({ connectors: [{ name: 'bench', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: apiKey, limit, start: startTime, interval: '1h' }] }));
    const orchard = await startPullOrchard({ config, dir, redisUrl: redis.url, profile: 'cpu-prof-jumpcloud' }, cleanup);
    const redisPid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    const stopMeter = startCpuMeter({ orchard: orchard.pid, redis: redisPid, mock: process.pid });
    const status = await waitForRuns(orchard.baseUrl, 1);
    const cpu = stopMeter();
    const run = status.lastRun!;
    if (run.outcome !== 'success') process.stdout.write(`Orchard's run did not succeed: ${JSON.stringify(status)}\n`);
    const peakRssMb = bytesToMb(orchard.peakRssBytes());
    await orchard.stop(15_000);
    const streamLength = await client.xlen('orchard:events');
    const eventsPerSecond = (run.appended * 1000) / Math.max(1, run.durationMs);

    const rows = [
      ['baseline: bare undici read + JSON.parse, no Redis', fmt(base.received), fmt(base.durationMs), fmt(base.eventsPerSecond), '1.00', ''],
      ['orchard: first run (every event appended, checkpoint per page)', fmt(run.appended), fmt(run.durationMs), fmt(eventsPerSecond), fmt(eventsPerSecond / base.eventsPerSecond, 2), fmt(peakRssMb)],
    ];
    process.stdout.write(`\n${formatTable(['pull', 'events', 'ms', 'events/s', 'ratio to baseline', 'peak RSS MB'], rows)}\n`);
    const p = cpu.processes;
    const perEventUs = (percent: number | undefined) => (percent === undefined ? undefined : (percent * cpu.wallMs * 10) / count);
    process.stdout.write(
      `\nCPU from Orchard's start to the end of its run, in % of one core (${cpu.cores} cores): orchard ${fmt(p.orchard)}, redis ${fmt(p.redis)}, ` +
        `mock JumpCloud ${fmt(p.mock)}, other processes ${fmt(cpu.other)}, machine ${fmt(cpu.machineBusy)}.\n` +
        `CPU per event (µs, Orchard's start-up included): orchard ${fmt(perEventUs(p.orchard), 1)}, redis ${fmt(perEventUs(p.redis), 1)}, mock ${fmt(perEventUs(p.mock), 1)}.\n`,
    );
    const complete = run.outcome === 'success' && run.appended === count && run.duplicates === 0 && streamLength === count;
    process.stdout.write(
      `\nStream check: ${streamLength} entries for ${count} events; appended ${run.appended}, duplicates ${run.duplicates}: ${complete ? 'exact' : 'NOT EXACT'}.\n` +
        `Average event ${fmt(base.bytes / Math.max(1, base.received))} bytes on the wire.\n` +
        `Target (DESIGN.md, per connector): ≥ ${target.minEventsPerSecond} events/s: ${eventsPerSecond >= target.minEventsPerSecond ? 'met' : 'not met'} (${fmt(eventsPerSecond)}/s).\n`,
    );
    const file = writeReport('pull-jumpcloud', { machine: machineFacts(), events: count, limit, baseline: base, run, eventsPerSecond, peakRssMb, cpu, streamLength, complete });
    process.stdout.write(`Report: ${file}\n`);
    if (!complete) process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
