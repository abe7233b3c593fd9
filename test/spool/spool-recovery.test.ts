import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeEntry } from '../../src/spool/spool-codec.ts';
import { recoverSpool } from '../../src/spool/spool-recovery.ts';
import { SpoolStore } from '../../src/spool/spool-store.ts';
import { frameOf, idsOf, tempSpoolDir, testLogger } from '../helpers/spool-records.ts';

// Spool files written by the test as a crash, a power cut or a damaged disk would leave them.

const segment = (dir: string, seq: number) => join(dir, `segment-${String(seq).padStart(12, '0')}.spool`);

function writeSegment(dir: string, seq: number, parts: Buffer[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(segment(dir, seq), Buffer.concat(parts));
}

function idsOfPayload(payload: Buffer): string[] {
  const entry = decodeEntry(payload);
  return entry.kind === 'events' ? entry.records.map((r) => r.id) : [];
}

async function drainAll(store: SpoolStore): Promise<string[]> {
  const ids: string[] = [];
  for (let batch = await store.read(1 << 20); batch; batch = await store.read(1 << 20)) {
    ids.push(...idsOf(batch));
    await store.release(batch);
  }
  return ids;
}

test('a torn last record (cut mid-write) is discarded with a warning: never acknowledged, so nothing is lost', async (t) => {
  const dir = tempSpoolDir(t);
  const torn = frameOf('t2');
  for (const cut of [1, 5, 12, 13, torn.length - 1]) {
    writeSegment(dir, 1, [frameOf('t0'), frameOf('t1'), torn.subarray(0, cut)]);
    const { logger, lines } = testLogger();
    const ids: string[] = [];
    const recovered = await recoverSpool({ dir, logger, onRecord: (p) => ids.push(...idsOfPayload(p)) });
    assert.deepEqual(ids, ['t0', 't1'], `cut at ${cut}`);
    assert.equal(recovered.tornBytes, cut);
    assert.equal(recovered.quarantinedBytes, 0);
    assert.equal(statSync(segment(dir, 1)).size, frameOf('t0').length * 2, 'truncated at the last whole record');
    const warning = lines().find((l) => l.level === 'warn');
    assert.match(String(warning?.msg), /cut short/);
    assert.equal(lines().filter((l) => l.level === 'error').length, 0);
  }
});

test('a damaged record in the middle is moved aside with one error; the records after it still drain; once only', async (t) => {
  const dir = tempSpoolDir(t);
  const damaged = Buffer.from(frameOf('m1'));
  damaged[damaged.length - 3] ^= 0x20; // a flipped bit in the payload: the CRC fails
  writeSegment(dir, 1, [frameOf('m0'), damaged, frameOf('m2')]);
  writeSegment(dir, 2, [frameOf('m3'), Buffer.from('garbage that is no record'), frameOf('m4')]);
  const { logger, lines } = testLogger();
  const store = await SpoolStore.open({ dir, maxBytes: 1 << 20, logger });
  assert.equal(store.waitingRecords, 4);
  const errors = lines().filter((l) => l.level === 'error');
  assert.equal(errors.length, 2);
  for (const e of errors) {
    assert.equal(e.code, 'ORCHARD_ERR_SPOOL_CORRUPT');
    assert.match(String(e.msg), /moved aside/);
  }
  assert.deepEqual(readFileSync(String(errors[0]!.file)), damaged, 'the damaged bytes are kept for inspection');
  assert.equal(readFileSync(String(errors[1]!.file)).toString(), 'garbage that is no record');
  assert.equal(store.quarantinedBytes, damaged.length + 25);
  assert.deepEqual(await drainAll(store), ['m0', 'm2', 'm3', 'm4']);
  await store.close();

  // The damage was overwritten with zeros once kept: a second start reports nothing more.
  writeSegment(dir, 3, [frameOf('m5')]);
  const again = testLogger();
  const reopened = await SpoolStore.open({ dir, maxBytes: 1 << 20, logger: again.logger });
  t.after(() => reopened.close());
  assert.deepEqual(await drainAll(reopened), ['m5']);
  assert.equal(again.lines().filter((l) => l.level === 'error').length, 0);
  assert.equal(readdirSync(join(dir, 'quarantine')).length, 2);
});

test('damage at the end of an older segment is moved aside, not taken for a torn tail', async (t) => {
  const dir = tempSpoolDir(t);
  writeSegment(dir, 1, [frameOf('o0'), frameOf('o1').subarray(0, 30)]);
  writeSegment(dir, 2, [frameOf('o2')]);
  const { logger, lines } = testLogger();
  const store = await SpoolStore.open({ dir, maxBytes: 1 << 20, logger });
  t.after(() => store.close());
  assert.equal(lines().filter((l) => l.code === 'ORCHARD_ERR_SPOOL_CORRUPT').length, 1);
  assert.deepEqual(await drainAll(store), ['o0', 'o2']);
});

test('a record whose bytes check out but do not decode is moved aside at start, and the others drain', async (t) => {
  const dir = tempSpoolDir(t);
  writeSegment(dir, 1, [frameOf('n0'), frameOf('n1'), frameOf('n2')]);
  const { logger, lines } = testLogger();
  const store = await SpoolStore.open({
    dir,
    maxBytes: 1 << 20,
    logger,
    onRecord: (p) => {
      const entry = decodeEntry(p);
      if (entry.kind === 'events' && entry.records[0]!.id === 'n1') throw new Error('refused by the index');
    },
  });
  t.after(() => store.close());
  assert.equal(lines().filter((l) => l.code === 'ORCHARD_ERR_SPOOL_CORRUPT').length, 1);
  assert.deepEqual(await drainAll(store), ['n0', 'n2']);
});

test('a drained segment whose deletion a crash interrupted (wholly before the cursor) is removed, not drained again', async (t) => {
  const dir = tempSpoolDir(t);
  const first = await SpoolStore.open({ dir, maxBytes: 1 << 20, segmentBytes: frameOf('a0').length * 2 });
  for (let i = 0; i < 6; i++) await first.append(frameOf(`a${i}`), 1, 1);
  const batch = (await first.read(frameOf('a0').length * 3))!;
  assert.deepEqual(idsOf(batch), ['a0', 'a1']); // one segment a batch
  await first.release(batch);
  await first.close();
  writeSegment(dir, 1, [frameOf('a0'), frameOf('a1')]); // a drained segment the deletion did not reach
  const second = await SpoolStore.open({ dir, maxBytes: 1 << 20 });
  t.after(() => second.close());
  assert.deepEqual(await drainAll(second), ['a2', 'a3', 'a4', 'a5']);
});
