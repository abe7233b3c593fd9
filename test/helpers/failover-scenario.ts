import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Pool } from 'undici';
import { stringify } from 'yaml';
import { startOrchard, type RunningOrchard } from '../../src/main.ts';
import type { RedisClient } from '../../src/redis/redis-client.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';
import type { TopologyNode } from './redis-topologies.ts';

// A Redis primary killed (SIGKILL) while Orchard takes a burst of webhooks and runs a pull connector:
// what every request was answered, what the stream holds once the failover is over and the killed
// node came back (as a replica), and how long appends went elsewhere than Redis. Shared by the
// Sentinel and Cluster failover tests and by bench/failover.ts.

export interface FailoverTopology {
  readonly env: Record<string, string>;
  client(): RedisClient;
  /** The primary the stream's writes go to now. */
  primaryOf(stream: string): Promise<TopologyNode>;
  /** Resolves with the new primary once one other than `old` takes the stream's writes. */
  waitFailover(old: TopologyNode, stream: string): Promise<TopologyNode>;
}

export interface FailoverScenarioOptions {
  readonly topology: FailoverTopology;
  readonly stream: string;
  readonly webhooks: number;
  readonly concurrency: number;
  /** Kill the primary once this many webhooks were answered. */
  readonly killAfter: number;
  readonly spool: 'on' | 'off';
  readonly waitReplicas: number;
  /** JumpCloud events for a connector that runs through the failover (0: no connector). */
  readonly pulledEvents: number;
  /** Webhooks sent per second at most (spread over the burst); default: as fast as answered. */
  readonly ratePerSecond?: number;
  /**
   * How the killed node comes back once the failover is seen: 'as-is' (a Cluster node rejoins as a
   * replica at once; the sentinels make a former primary a replica when they next look at it, within
   * 10 s), or 'replica-of-new' (started with --replicaof the new primary, as an orchestrator would).
   * Default 'as-is'.
   */
  readonly restart?: 'as-is' | 'replica-of-new';
}

export interface WebhookAnswer {
  readonly n: number;
  readonly status: number;
  readonly id: string | undefined;
  readonly spooled: boolean;
  readonly sentAtMs: number;
  readonly answeredAtMs: number;
}

export interface FailoverResult {
  readonly answers: readonly WebhookAnswer[];
  /** performance.now() of the kill. */
  readonly killedAtMs: number;
  /** From the kill to the first webhook appended to Redis (not spooled) that was sent after it; undefined: none. */
  readonly firstAppendAfterKillMs: number | undefined;
  /** From the kill to the first entry the new primary wrote (by its entry id's time; any stream of the scenario); undefined: none. */
  readonly firstEntryAfterKillMs: number | undefined;
  /** From the kill to the failover seen by the topology (the new primary named). */
  readonly failoverSeenMs: number;
  /** Every `id` in the stream, in order (duplicates included). */
  readonly streamIds: readonly string[];
  /** The connector's stream ids, and the events the mock served. */
  readonly pulledIds: readonly string[];
  readonly mockIds: readonly string[];
  readonly connectorOutcome: string | undefined;
}

const secret = 'failover-secret-0123456789abcdef';

function webhookBody(n: number): string {
  return JSON.stringify({ webhook: { id: n, name: `failover-${n}`, webhookEvent: 'ComputerCheckIn', eventTimestamp: 1_767_225_600_000 + n }, event: { computer: { serialNumber: `C02F${n}`, udid: `udid-${n}` } } });
}

async function until(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > end) throw new Error(`Failover scenario: ${what} did not happen within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The `id` of every entry, and the time (ms) of the first entry id at or after `afterMs`. */
async function readIds(redis: RedisClient, stream: string, afterMs: number): Promise<{ ids: string[]; firstAfterMs: number | undefined }> {
  const ids: string[] = [];
  let firstAfterMs: number | undefined;
  let from = '-';
  for (;;) {
    const rows = (await redis.xrange(stream, from, '+', 'COUNT', 1000)) as [string, string[]][];
    for (const [entry, flat] of rows) {
      ids.push(flat[flat.indexOf('id') + 1]!);
      const ms = Number(entry.split('-')[0]);
      if (firstAfterMs === undefined && ms >= afterMs) firstAfterMs = ms;
    }
    if (rows.length < 1000) return { ids, firstAfterMs };
    from = `(${rows.at(-1)![0]}`;
  }
}

export async function runFailoverScenario(o: FailoverScenarioOptions): Promise<FailoverResult> {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-failover-'));
  const mock = o.pulledEvents > 0 ? await MockJumpCloud.start({ latencyMs: 20 }) : undefined;
  const now = Date.now();
  mock?.generateEvents(o.pulledEvents, { fromMs: now - 50 * 60_000, toMs: now - 5 * 60_000, seed: 9 });
  const pullStream = o.stream.replace(/events$/, 'pulled');
  const configFile = join(dir, 'orchard.yml');
  writeFileSync(configFile, stringify({ connectors: mock ? [{ name: 'failover-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', limit: 20 }] : [] }));
  const logs: string[] = [];
  let orchard: RunningOrchard | undefined;
  let pullOrchard: RunningOrchard | undefined;
  const checker = o.topology.client();
  try {
    const common = {
      ...o.topology.env,
      HOST: '127.0.0.1',
      PORT: '0',
      ORCHARD_WEBHOOK_SECRETS: secret,
      ORCHARD_SPOOL: o.spool,
      ORCHARD_REDIS_WAIT_REPLICAS: String(o.waitReplicas),
      ORCHARD_REDIS_WAIT_TIMEOUT_MS: '500',
      ORCHARD_APPEND_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'info',
    };
    const logDestination = new Writable({ write: (chunk, _e, done) => (logs.push(String(chunk)), done()) });
    orchard = await startOrchard({ env: { ...common, ORCHARD_STREAM: o.stream, ORCHARD_DATA_DIR: join(dir, 'push') }, logDestination });
    // The connector runs in an Orchard of its own, on its own stream, so that its count is its own.
    if (mock) pullOrchard = await startOrchard({ env: { ...common, PORT: '0', ORCHARD_STREAM: pullStream, ORCHARD_DATA_DIR: join(dir, 'pull'), ORCHARD_CONFIG: configFile, ORCHARD_CONNECTOR_LEASE_TTL_MS: '3000' }, logDestination });
    const pool = new Pool(orchard.url, { connections: o.concurrency });
    const answers: WebhookAnswer[] = [];
    let next = 0;
    let killedAtMs = Number.POSITIVE_INFINITY;
    let killedAtWallMs = Number.POSITIVE_INFINITY;
    let killed: Promise<{ old: TopologyNode; failoverSeenMs: number; restarted: Promise<void> }> | undefined;
    const kill = async () => {
      const old = await o.topology.primaryOf(o.stream);
      killedAtMs = performance.now();
      killedAtWallMs = Date.now();
      await old.kill();
      const fresh = await o.topology.waitFailover(old, o.stream);
      const failoverSeenMs = performance.now() - killedAtMs;
      const restarted = old.start(old.password, o.restart === 'replica-of-new' ? ['--replicaof', '127.0.0.1', String(fresh.port)] : []);
      return { old, failoverSeenMs, restarted };
    };
    const startedAtMs = performance.now();
    const worker = async () => {
      for (let n = next++; n < o.webhooks; n = next++) {
        if (o.ratePerSecond) {
          const dueMs = startedAtMs + (n * 1000) / o.ratePerSecond - performance.now();
          if (dueMs > 0) await new Promise((r) => setTimeout(r, dueMs));
        }
        const sentAtMs = performance.now();
        const res = await pool.request({ method: 'POST', path: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': secret }, body: webhookBody(n) });
        const text = await res.body.text();
        const parsed = res.statusCode < 300 ? (JSON.parse(text) as { id: string; spooled?: boolean }) : undefined;
        answers.push({ n, status: res.statusCode, id: parsed?.id, spooled: parsed?.spooled === true, sentAtMs, answeredAtMs: performance.now() });
        if (answers.length === o.killAfter) killed = kill();
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    if (!killed) killed = kill();
    const { failoverSeenMs, restarted } = await killed;
    await restarted;
    // Everything spooled is drained once Redis (and, with WAIT, a replica) takes appends again.
    await until('the spool draining', async () => {
      const status = (await orchard!.app.inject({ method: 'GET', url: '/status' })).json() as { spool: { enabled: boolean; records?: number } };
      return !status.spool.enabled || status.spool.records === 0;
    }, 120_000);
    let connectorOutcome: string | undefined;
    if (pullOrchard) {
      await until('the connector finishing its run', async () => {
        const status = (await pullOrchard!.app.inject({ method: 'GET', url: '/status' })).json() as { connectors: { lastRun?: { outcome: string } }[] };
        connectorOutcome = status.connectors[0]?.lastRun?.outcome;
        return connectorOutcome === 'success';
      }, 120_000);
    }
    const afterKill = answers.filter((a) => a.sentAtMs >= killedAtMs && a.status < 300 && !a.spooled).sort((a, b) => a.answeredAtMs - b.answeredAtMs)[0];
    await pool.close();
    const pushed = await readIds(checker, o.stream, killedAtWallMs);
    const pulled = mock ? await readIds(checker, pullStream, killedAtWallMs) : { ids: [], firstAfterMs: undefined };
    const firsts = [pushed.firstAfterMs, pulled.firstAfterMs].filter((ms): ms is number => ms !== undefined);
    return {
      answers,
      killedAtMs,
      failoverSeenMs,
      firstAppendAfterKillMs: afterKill ? afterKill.answeredAtMs - killedAtMs : undefined,
      firstEntryAfterKillMs: firsts.length > 0 ? Math.min(...firsts) - killedAtWallMs : undefined,
      streamIds: pushed.ids,
      pulledIds: pulled.ids,
      mockIds: mock ? mock.visibleEvents().map((e) => e.id) : [],
      connectorOutcome,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nOrchard's log (last 40 lines):\n${logs.join('').split('\n').slice(-40).join('\n')}`, { cause: err });
  } finally {
    await orchard?.close().catch(() => {});
    await pullOrchard?.close().catch(() => {});
    checker.disconnect();
    await mock?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the answers and the stream say about conservation: ids answered 2xx but missing, ids twice, answers refused. */
export function conservation(result: FailoverResult): { acknowledged: number; missing: string[]; twice: string[]; refused: number; spooled: number } {
  const counts = new Map<string, number>();
  for (const id of result.streamIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const acknowledged = result.answers.filter((a) => a.status < 300);
  return {
    acknowledged: acknowledged.length,
    missing: [...new Set(acknowledged.map((a) => a.id!))].filter((id) => !counts.has(id)),
    twice: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    refused: result.answers.filter((a) => a.status >= 300).length,
    spooled: result.answers.filter((a) => a.spooled).length,
  };
}

/**
 * The verdict on a run with the spool on (Cluster and Sentinel alike): nothing refused, every one of
 * the `webhooks` acknowledged and in the stream once, the connector finished with every event once,
 * and appends reached the new primary.
 */
export function assertNothingLostWithSpool(result: FailoverResult, webhooks: number): void {
  const c = conservation(result);
  assert.equal(c.refused, 0, 'with the spool nothing is refused');
  assert.equal(c.acknowledged, webhooks);
  assert.deepEqual(c.missing, [], 'every 2xx is in the stream');
  assert.deepEqual(c.twice, [], 'nothing twice');
  assert.equal(result.connectorOutcome, 'success');
  assert.deepEqual([...result.pulledIds].sort(), [...result.mockIds].sort(), 'every pulled event once');
  assert.ok(result.firstEntryAfterKillMs !== undefined, 'appends reached the new primary');
}
