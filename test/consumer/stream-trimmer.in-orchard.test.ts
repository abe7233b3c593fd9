import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killOrchard, startOrchardProcess } from '../helpers/orchard-process.ts';
import { useTestRedis } from '../helpers/redis-server.ts';

// Retention as Orchard runs it (ORCHARD_STREAM_MAX_LEN): unread entries are held, acknowledged ones
// trimmed; /status and /metrics show each group's lag and what retention holds.

const shared = useTestRedis();

interface StreamStatus {
  length: number;
  retention: { maxLen: number; lastTrim: { held: number; trimmed: number; reason: string } | null };
  groups: { group: string; pending: number; lag: number; deadLettered: number; oldestPendingAgeMs: number | null }[];
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('ORCHARD_STREAM_MAX_LEN keeps what a group has not acknowledged, trims the rest, and /status and /metrics show the group', async (t) => {
  const stream = `r${Math.random().toString(36).slice(2, 8)}:events`;
  const redis = shared.redis;
  await redis.xgroup('CREATE', stream, 'siem', '0', 'MKSTREAM');
  for (let i = 0; i < 20; i++) await redis.xadd(stream, '*', 'v', '1', 'id', `e${i}`, 'source', 'jamf_pro.events', 'type', 'X', 'tenant', '', 'connector', 'webhook', 'time', '2026-01-01T00:00:00.000Z', 'received', '2026-01-01T00:00:00.000Z', 'payload', '{}', 'indicators', '{}');
  const proc = await startOrchardProcess({
    REDIS_URL: shared.server.url,
    ORCHARD_STREAM: stream,
    ORCHARD_REJECTED_STREAM: `${stream}:rejected`,
    ORCHARD_WEBHOOK_SECRETS: 'retention-test-secret-0123',
    ORCHARD_STREAM_MAX_LEN: '5',
    ORCHARD_STREAM_TRIM_INTERVAL_MS: '100',
    HOST: '127.0.0.1',
    PORT: '0',
  });
  t.after(() => killOrchard(proc));
  const status = async () => ((await (await fetch(`${proc.url}/status`)).json()) as { streamState: StreamStatus }).streamState;

  const held = await until(status, (s) => s.retention.lastTrim?.held === 15, 'retention to hold the unread entries');
  assert.equal(held.length, 20, 'nothing unread was trimmed');
  assert.equal(held.retention.maxLen, 5);
  assert.deepEqual(held.groups.map((g) => [g.group, g.pending, g.lag]), [['siem', 0, 20]]);
  const metrics = await (await fetch(`${proc.url}/metrics`)).text();
  assert.match(metrics, /orchard_stream_group_lag\{group="siem"\} 20/);
  assert.match(metrics, /orchard_stream_group_pending\{group="siem"\} 0/);
  assert.match(metrics, /orchard_stream_trim_held_entries 15/);

  // The group reads 12 and acknowledges 10: retention trims up to the first entry still pending.
  const read = (await redis.xreadgroup('GROUP', 'siem', 'c1', 'COUNT', 12, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
  const ids = read[0]![1].map(([id]) => id);
  await redis.xack(stream, 'siem', ...ids.slice(0, 10));
  const partly = await until(status, (s) => s.length === 10 && s.groups[0]?.pending === 2, 'the acknowledged entries to be trimmed');
  assert.deepEqual(partly.groups.map((g) => [g.pending, g.lag]), [[2, 8]]);
  assert.ok(partly.groups[0]!.oldestPendingAgeMs !== null);
  assert.equal((await redis.xrange(stream, '-', '+', 'COUNT', 1))[0]![0], ids[10], 'the first entry kept is the oldest pending one');

  // Everything acknowledged: the stream goes down to its limit.
  await redis.xack(stream, 'siem', ...ids.slice(10));
  const rest = (await redis.xreadgroup('GROUP', 'siem', 'c1', 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
  await redis.xack(stream, 'siem', ...rest[0]![1].map(([id]) => id));
  const trimmed = await until(status, (s) => s.length === 5 && s.groups[0]?.lag === 0, 'the stream to reach its limit');
  assert.deepEqual(trimmed.groups.map((g) => [g.pending, g.lag]), [[0, 0]]);
  assert.match(await (await fetch(`${proc.url}/metrics`)).text(), /orchard_stream_trimmed_total 15/);
  await killOrchard(proc);
});
