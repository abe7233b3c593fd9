// What a SIGKILL of the Redis primary costs Orchard: `npm run bench:failover`.
//
// For Redis Sentinel (a primary, a replica, three sentinels; down-after-milliseconds 1000) and a Redis
// Cluster (three primaries with a replica each; cluster-node-timeout 1000), Orchard takes a steady
// stream of webhooks (BENCH_FAILOVER_RATE per second for BENCH_FAILOVER_S seconds) and runs a JumpCloud
// pull; the primary holding the stream is killed a third of the way in and started again once the
// failover is seen (it rejoins as a replica). Each case is measured with the spool on and off, with
// ORCHARD_REDIS_WAIT_REPLICAS 1 and 0. Reported: the time from the kill to the failover being visible,
// to the first entry the new primary wrote, and to the first webhook acknowledged from Redis (not the
// spool); how many answers were spooled or refused and how fast a refusal came; and conservation
// (every 2xx in the stream, nothing twice, every pulled event once).

import { conservation, runFailoverScenario, type FailoverResult } from '../test/helpers/failover-scenario.ts';
import { ClusterTopology, SentinelTopology } from '../test/helpers/redis-topologies.ts';
import { envNumber, fmt, formatTable, machineFacts, percentile, writeReport } from './lib.ts';

const rate = envNumber('BENCH_FAILOVER_RATE', 300);
const seconds = envNumber('BENCH_FAILOVER_S', 12);
const webhooks = rate * seconds;

interface Case {
  readonly topology: 'sentinel' | 'cluster';
  readonly spool: 'on' | 'off';
  readonly waitReplicas: number;
}

const cases: Case[] = [];
for (const topology of ['sentinel', 'cluster'] as const) {
  for (const waitReplicas of [1, 0]) for (const spool of ['on', 'off'] as const) cases.push({ topology, spool, waitReplicas });
}

async function runCase(c: Case): Promise<FailoverResult> {
  const topology = c.topology === 'sentinel' ? await SentinelTopology.start() : await ClusterTopology.start();
  try {
    return await runFailoverScenario({
      topology,
      stream: c.topology === 'cluster' ? '{bench}:events' : 'bench:events',
      webhooks,
      concurrency: 16,
      killAfter: Math.floor(webhooks / 3),
      ratePerSecond: rate,
      spool: c.spool,
      waitReplicas: c.waitReplicas,
      pulledEvents: 2000,
    });
  } finally {
    await topology.stop();
  }
}

const rows: string[][] = [];
const report: unknown[] = [];
for (const c of cases) {
  const result = await runCase(c);
  const k = conservation(result);
  const refusedMs = result.answers.filter((a) => a.status >= 300).map((a) => a.answeredAtMs - a.sentAtMs).sort((a, b) => a - b);
  const pulledOnce = new Set(result.pulledIds).size === result.pulledIds.length && result.pulledIds.length === result.mockIds.length;
  rows.push([
    c.topology,
    c.spool,
    String(c.waitReplicas),
    fmt(result.failoverSeenMs),
    fmt(result.firstEntryAfterKillMs),
    fmt(result.firstAppendAfterKillMs),
    String(k.acknowledged),
    String(k.spooled),
    String(k.refused),
    refusedMs.length ? fmt(percentile(refusedMs, 99)) : '-',
    refusedMs.length ? fmt(refusedMs.at(-1)) : '-',
    String(k.missing.length),
    String(k.twice.length),
    pulledOnce ? 'yes' : 'NO',
  ]);
  report.push({ ...c, failoverSeenMs: result.failoverSeenMs, firstEntryAfterKillMs: result.firstEntryAfterKillMs, firstAppendAfterKillMs: result.firstAppendAfterKillMs, ...k, missing: k.missing.length, twice: k.twice.length, refusedP99Ms: refusedMs.length ? percentile(refusedMs, 99) : null, refusedMaxMs: refusedMs.at(-1) ?? null, pulledOnce });
  console.log(`${c.topology} spool ${c.spool} WAIT ${c.waitReplicas}: done`);
}
console.log(`${webhooks} webhooks at ${rate}/s, the primary killed after ${Math.floor(webhooks / 3)}; 2000 JumpCloud events pulled meanwhile.`);
console.log(
  formatTable(['Redis', 'spool', 'WAIT', 'failover seen ms', 'first entry on new primary ms', 'first 2xx from Redis ms', '2xx', 'spooled', 'refused', 'refusal p99 ms', 'refusal max ms', '2xx missing', 'twice', 'pulled once'], rows),
);
console.log(`Report: ${writeReport('failover', { rate, seconds, machine: machineFacts(), cases: report })}`);
