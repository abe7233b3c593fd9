import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { emptyCompletenessState } from '../../src/connector-state/window-store.ts';
import { Keyspace } from '../../src/redis/keyspace.ts';
import type { PageRecord } from '../../src/sink/event-sink.ts';
import { readStream } from '../helpers/test-app.ts';
import { useTestRedis } from '../helpers/redis-server.ts';

// A connector's window counts: the repair of a window (once per id, counted), and the verification's
// state kept in Redis.

const shared = useTestRedis();

function setup() {
  const stream = `r${Math.random().toString(36).slice(2, 10)}:events`;
  const keys = new Keyspace(stream).connector('c');
  const windows = new ConnectorStateStore(shared.redis, stream).windows();
  return { stream, keys, windows };
}

const event = (id: string, stream?: string): PageRecord => ({
  record: { id, source: 'jumpcloud.directory_insights', type: 'sso/sso_auth', tenant: '', connector: 'c', time: '2026-01-01T00:10:00.000Z', received: '2026-01-01T01:00:00.000Z', payload: '{}', indicators: '{}' },
  ...(stream ? { stream } : {}),
});

test('a repair appends only the ids the window lacks, counts them, and refuses a window whose ids are gone', async () => {
  const { stream, windows, keys } = setup();
  const window = { org: '', service: 'all', start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T01:00:00.000Z' };
  assert.equal(await windows.repair('c', window, [event('a'), event('b')]), 2, 'an empty window takes them all');
  assert.equal(await windows.repair('c', window, [event('a'), event('b'), event('c')]), 1);
  assert.deepEqual(await windows.appended('c', [window]), [3]);
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['a', 'b', 'c']);
  await shared.redis.del(keys.windowIds(`|all|${window.start}|${window.end}`));
  assert.equal(await windows.repair('c', window, [event('d')]), undefined, 'ids expired while the window holds events: not repaired');
  assert.equal((await readStream(shared.redis, stream)).length, 3);
});

test('a repair routes each record to its stream (stream_per_service)', async () => {
  const { stream, windows } = setup();
  const window = { org: 'o', service: 'all', start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T01:00:00.000Z' };
  assert.equal(await windows.repair('c', window, [event('a'), event('b', `${stream}:jumpcloud:sso`)]), 2);
  assert.deepEqual((await readStream(shared.redis, stream)).map((e) => e.fields.id), ['a']);
  assert.deepEqual((await readStream(shared.redis, `${stream}:jumpcloud:sso`)).map((e) => e.fields.id), ['b']);
});

test('the verification\'s state: empty until written, then read back; a damaged one reads as empty', async () => {
  const { windows, keys } = setup();
  assert.deepEqual(await windows.readState('c'), emptyCompletenessState());
  const state = { ...emptyCompletenessState(), checkedUntil: { '|all': '2026-01-01T01:00:00.000Z' }, totals: { verified: 3, repaired: 1, short: 0, recovered: 7 } };
  await windows.writeState('c', state);
  assert.deepEqual(await windows.readState('c'), state);
  await shared.redis.set(keys.completeness, '{not json');
  assert.deepEqual(await windows.readState('c'), emptyCompletenessState());
});
