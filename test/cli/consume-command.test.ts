import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import { consumeCommand, waitingWriter, type ConsumeIo } from '../../src/cli/consume-command.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { Connections, entryFields, pendingCount, produce, quietLogger, until } from '../consumer/consumer-helpers.ts';

const ctx = useTestRedis();
const connections = new Connections(() => ctx.server.url);
afterEach(() => connections.closeAll());

interface Captured {
  readonly io: ConsumeIo;
  readonly lines: Record<string, unknown>[];
  readonly err: string[];
}

/** Collects stdout lines (parsed) and stderr; `failAt` makes the n-th line (1-based) fail with EPIPE. */
function capture(failAt?: number): Captured {
  const lines: Record<string, unknown>[] = [];
  const err: string[] = [];
  let written = 0;
  return {
    lines,
    err,
    io: {
      out: async (text) => {
        written += 1;
        if (written === failAt) throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        assert.ok(text.endsWith('\n') && !text.slice(0, -1).includes('\n'), 'one line per entry');
        lines.push(JSON.parse(text) as Record<string, unknown>);
      },
      err: (text) => void err.push(text),
    },
  };
}

async function run(args: string[], captured: Captured, stream: string, signal?: AbortSignal): Promise<number> {
  return consumeCommand(args, captured.io, await connections.ready(), connections.make, { stream, logger: quietLogger, blockMs: 100, claimIdleMs: 60_000, signal });
}

describe('orchard consume', () => {
  test('prints each entry as one JSON line (contract v1, payload parsed), acknowledges it, and stops when none is left', async () => {
    const stream = 'lines:events';
    const ids = await produce(ctx.redis, stream, 3);
    const out = capture();
    assert.equal(await run(['--group', 'cli', '--from', '0'], out, stream), 0);
    assert.deepEqual(
      out.lines.map((l) => l.id),
      ['e0', 'e1', 'e2'],
    );
    assert.deepEqual(out.lines[0], {
      entryId: ids[0],
      v: '1',
      id: 'e0',
      source: 'jamf_pro.events',
      type: 'ComputerCheckIn',
      tenant: 'acme',
      connector: 'webhook',
      time: '2026-11-01T00:00:00.000Z',
      received: '2026-11-01T00:00:01.000Z',
      payload: { n: 'e0' },
      indicators: { serial: ['C02e0'] },
    });
    assert.equal(await pendingCount(ctx.redis, stream, 'cli'), 0);
    assert.match(out.err.join(''), /3 entries of lines:events acknowledged for group cli/);

    const again = capture();
    assert.equal(await run(['--group', 'cli'], again, stream), 0);
    assert.equal(again.lines.length, 0, 'acknowledged entries are not printed again');
  });

  test('a new group starts at the oldest retained entry by default and says so; --from $ starts at the end', async () => {
    const stream = 'oldest:events';
    await produce(ctx.redis, stream, 1201);
    const out = capture();
    assert.equal(await run(['--group', 'siem'], out, stream), 0);
    assert.equal(out.lines.length, 1201, 'the backlog is read, not skipped');
    assert.match(out.err.join(''), /Group siem created at the oldest entry, 1,201 entries to read\./);

    const existing = capture();
    assert.equal(await run(['--group', 'siem'], existing, stream), 0);
    assert.doesNotMatch(existing.err.join(''), /created/, 'an existing group is not created again');

    const atEnd = capture();
    assert.equal(await run(['--group', 'live', '--from', '$'], atEnd, stream), 0);
    assert.equal(atEnd.lines.length, 0);
    assert.match(atEnd.err.join(''), /Group live created at the end of the stream \(only new entries\), 0 entries to read\./);
  });

  test('--count N stops after N entries; the next run goes on from there', async () => {
    const stream = 'count:events';
    await produce(ctx.redis, stream, 5);
    const first = capture();
    assert.equal(await run(['--group', 'g', '--from', '0', '--count', '2'], first, stream), 0);
    assert.deepEqual(first.lines.map((l) => l.id), ['e0', 'e1']);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0, 'nothing read beyond the count');
    const rest = capture();
    assert.equal(await run(['--group', 'g', '--count', '10'], rest, stream), 0);
    assert.deepEqual(rest.lines.map((l) => l.id), ['e2', 'e3', 'e4']);
  });

  test('an entry whose line could not be written (EPIPE) is not acknowledged; the next run of the consumer prints its pending entries first', async () => {
    const stream = 'epipe:events';
    await produce(ctx.redis, stream, 4);
    const broken = capture(2);
    assert.equal(await run(['--group', 'g', '--from', '0', '--consumer', 'me'], broken, stream), 0);
    assert.deepEqual(broken.lines.map((l) => l.id), ['e0']);
    assert.match(broken.err.join(''), /Output closed; 1 entry of epipe:events acknowledged/);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 3, 'the failed line and the rest of its batch stay pending');

    await produce(ctx.redis, stream, 2, { from: 4 });
    const restarted = capture();
    assert.equal(await run(['--group', 'g', '--consumer', 'me'], restarted, stream), 0);
    assert.deepEqual(restarted.lines.map((l) => l.id), ['e1', 'e2', 'e3', 'e4', 'e5']);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
  });

  test('waitingWriter: resolves after the write callback, rejects with EPIPE on a closed reader instead of crashing', async () => {
    const chunks: string[] = [];
    const ok = new Writable({ write: (c: Buffer, _e, cb) => setTimeout(() => (chunks.push(c.toString()), cb()), 5) });
    await waitingWriter(ok)('a line\n');
    assert.deepEqual(chunks, ['a line\n'], 'resolved only once written');

    const closed = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const out = waitingWriter(closed);
    await assert.rejects(out('x\n'), { code: 'EPIPE' });
    await assert.rejects(out('y\n'), { code: 'EPIPE' });

    const stream = 'closed-pipe:events';
    await produce(ctx.redis, stream, 2);
    const err: string[] = [];
    const code = await consumeCommand(['--group', 'g', '--from', '0'], { out: waitingWriter(new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) })), err: (t) => void err.push(t) }, await connections.ready(), connections.make, { stream, logger: quietLogger });
    assert.equal(code, 0);
    assert.match(err.join(''), /Output closed; 0 entries/);
    assert.equal(await pendingCount(ctx.redis, stream, 'g'), 2);
  });

  test('--follow waits for new entries; --count ends it, and so does the signal', async () => {
    const stream = 'follow:events';
    await ctx.redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const stop = new AbortController();
    try {
      const followed = capture();
      const running = run(['--group', 'g', '--follow', '--count', '3'], followed, stream, stop.signal);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(followed.lines.length, 0, 'waiting');
      await produce(ctx.redis, stream, 3);
      assert.equal(await running, 0);
      assert.deepEqual(followed.lines.map((l) => l.id), ['e0', 'e1', 'e2']);

      const interrupted = capture();
      const forever = run(['--group', 'g', '--follow'], interrupted, stream, stop.signal);
      await produce(ctx.redis, stream, 1, { from: 3 });
      await until('the line', () => interrupted.lines.length === 1);
      stop.abort();
      assert.equal(await forever, 0);
      assert.equal(await pendingCount(ctx.redis, stream, 'g'), 0);
    } finally {
      stop.abort();
    }
  });

  for (const [args, message] of [
    [[], /--group is required/],
    [['--group'], /--group/],
    [['--group', ''], /--group is empty/],
    [['--grop', 'g'], /Unknown option '--grop'/],
    [['--group', 'g', '--count', '0'], /--count 0: give a whole number/],
    [['--group', 'g', '--count', 'ten'], /--count ten/],
    [['--group', 'g', '--from', 'yesterday'], /--from yesterday: give 0/],
    [['--group', 'g', '--consumer', ''], /--consumer is empty/],
    [['--group', 'g', 'extra'], /Unexpected argument 'extra'/],
    [['--group', 'g', '--follow=yes'], /--follow/],
  ] as const) {
    test(`bad arguments ${JSON.stringify(args)}: exit code 2 and a message naming the flag, Redis untouched`, async () => {
      const out = capture();
      const code = await consumeCommand([...args], out.io, ctx.redis, () => assert.fail('no connection is made'), { stream: 'bad-args:events' });
      assert.equal(code, 2);
      assert.match(out.err.join(''), message);
      assert.match(out.err.join(''), /Usage: orchard consume --group G/);
      assert.equal(await ctx.redis.exists('bad-args:events'), 0);
    });
  }
});

test('entryFields helper matches the contract field order', () => {
  assert.deepEqual(entryFields('x').filter((_, i) => i % 2 === 0), ['v', 'id', 'source', 'type', 'tenant', 'connector', 'time', 'received', 'payload', 'indicators']);
});
