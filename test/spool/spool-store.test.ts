import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SpoolStore } from '../../src/spool/spool-store.ts';
import { frameOf, idsOf, tempSpoolDir, testLogger } from '../helpers/spool-records.ts';

const segments = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.spool')).sort();

test('appends of one turn are one group commit; read back oldest first; once released, the files go', async (t) => {
  const dir = tempSpoolDir(t);
  const store = await SpoolStore.open({ dir, maxBytes: 1024 * 1024 });
  t.after(() => store.close());
  let commits = 0;
  store.onWritten = () => commits++;
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(frameOf(`e${i}`, 1000 + i), 1, 1000 + i)));
  assert.equal(commits, 1, 'one write and one sync for the 50');
  assert.equal(store.waitingRecords, 50);
  assert.equal(store.waitingEvents, 50);
  assert.equal(store.oldestSpooledAtMs, 1000);
  assert.deepEqual(segments(dir), ['segment-000000000001.spool']);
  assert.equal(store.bytes, statSync(join(dir, 'segment-000000000001.spool')).size);

  const first = await store.read(frameOf('e0').length * 10);
  assert.deepEqual(idsOf(first), Array.from({ length: 10 }, (_, i) => `e${i}`));
  assert.equal(await store.release(first!), 10);
  assert.equal(store.oldestSpooledAtMs, 1010);
  const rest = await store.read(1024 * 1024);
  assert.equal(idsOf(rest).length, 40);
  await store.release(rest!);
  assert.equal(store.waitingRecords, 0);
  assert.equal(await store.read(1024 * 1024), undefined);
  await store.close();
  assert.deepEqual(segments(dir), [], 'an empty spool keeps no segment');
});

test('full: an append past max_bytes fails at once with ORCHARD_ERR_SPOOL_FULL; room comes back as it drains', async (t) => {
  const dir = tempSpoolDir(t);
  const size = frameOf('x0').length;
  const store = await SpoolStore.open({ dir, maxBytes: size * 3 });
  t.after(() => store.close());
  await Promise.all([0, 1, 2].map((i) => store.append(frameOf(`x${i}`), 1, 1)));
  await assert.rejects(store.append(frameOf('x3'), 1, 1), { code: 'ORCHARD_ERR_SPOOL_FULL', statusCode: 503 });
  assert.equal(store.hasRoomFor(size), false);
  await store.release((await store.read(size))!);
  await store.release((await store.read(size * 2))!);
  assert.equal(store.bytes, 0, 'the drained segment is gone');
  await store.append(frameOf('x3'), 1, 1);
});

test('segments roll over at segment_bytes and each goes once drained', async (t) => {
  const dir = tempSpoolDir(t);
  const size = frameOf('s00').length;
  const store = await SpoolStore.open({ dir, maxBytes: 1024 * 1024, segmentBytes: size * 4 });
  t.after(() => store.close());
  for (let i = 0; i < 10; i++) await store.append(frameOf(`s${String(i).padStart(2, '0')}`), 1, 1);
  assert.equal(segments(dir).length, 3);
  const seen: string[] = [];
  for (let batch = await store.read(size * 3); batch; batch = await store.read(size * 3)) {
    seen.push(...idsOf(batch));
    await store.release(batch);
    if (seen.length === 4) assert.equal(segments(dir).length, 2, 'the first segment is deleted once drained');
  }
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => `s${String(i).padStart(2, '0')}`));
});

test('reopened: what was not released is there again, from the cursor on, and new appends go to a new segment', async (t) => {
  const dir = tempSpoolDir(t);
  const first = await SpoolStore.open({ dir, maxBytes: 1024 * 1024 });
  for (let i = 0; i < 6; i++) await first.append(frameOf(`r${i}`, 500 + i), 1, 500 + i);
  await first.release((await first.read(frameOf('r0').length * 2))!);
  await first.close();

  const second = await SpoolStore.open({ dir, maxBytes: 1024 * 1024, onRecord: () => {} });
  t.after(() => second.close());
  assert.equal(second.waitingRecords, 4);
  assert.equal(second.oldestSpooledAtMs, 502);
  await second.append(frameOf('r6'), 1, 1);
  assert.deepEqual(segments(dir), ['segment-000000000001.spool', 'segment-000000000002.spool']);
  const ids: string[] = [];
  for (let batch = await second.read(1 << 20); batch; batch = await second.read(1 << 20)) {
    ids.push(...idsOf(batch));
    await second.release(batch);
  }
  assert.deepEqual(ids, ['r2', 'r3', 'r4', 'r5', 'r6']);
});

test('a cursor file that does not check out is ignored: everything on disk drains again (the dedup keys make it harmless)', async (t) => {
  const dir = tempSpoolDir(t);
  const first = await SpoolStore.open({ dir, maxBytes: 1024 * 1024 });
  for (let i = 0; i < 3; i++) await first.append(frameOf(`c${i}`), 1, 1);
  await first.release((await first.read(frameOf('c0').length))!);
  await first.close();
  writeFileSync(join(dir, 'cursor'), Buffer.alloc(24, 7));
  const second = await SpoolStore.open({ dir, maxBytes: 1024 * 1024 });
  t.after(() => second.close());
  assert.deepEqual(idsOf(await second.read(1 << 20)), ['c0', 'c1', 'c2']);
});

test('a record damaged on disk after the start is moved aside while draining; the records after it still drain', async (t) => {
  const dir = tempSpoolDir(t);
  const { logger, lines } = testLogger();
  const store = await SpoolStore.open({ dir, maxBytes: 1024 * 1024, logger });
  t.after(() => store.close());
  for (const id of ['d0', 'd1', 'd2']) await store.append(frameOf(id), 1, 1);
  const size = frameOf('d0').length;
  // Flip a byte inside d1's payload, behind the store's back.
  const { openSync, writeSync, closeSync } = await import('node:fs');
  const fd = openSync(join(dir, 'segment-000000000001.spool'), 'r+');
  writeSync(fd, Buffer.from('#'), 0, 1, size + 20);
  closeSync(fd);
  const ids: string[] = [];
  for (let batch = await store.read(1 << 20); batch; batch = await store.read(1 << 20)) {
    ids.push(...idsOf(batch));
    await store.release(batch);
  }
  assert.deepEqual(ids, ['d0', 'd2']);
  const error = lines().find((l) => l.code === 'ORCHARD_ERR_SPOOL_CORRUPT');
  assert.ok(error, 'one error line');
  assert.equal(error.bytes, size);
  assert.ok(existsSync(String(error.file)));
  assert.equal(store.quarantinedBytes, size);
  assert.equal(store.waitingRecords, 0);
});
