import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeEntry, encodeEvents, encodeRejected, peekEntry } from '../../src/spool/spool-codec.ts';
import { checkFrameAt, framePayload } from '../../src/spool/spool-frame.ts';
import type { StreamRecord } from '../../src/stream/stream-record.ts';

const record = (n: number, payload: string | Buffer = `{"n":${n},"text":"é—✓"}`): StreamRecord => ({
  id: `id-${n}`,
  source: 'jamf_pro.events',
  type: 'ComputerCheckIn',
  tenant: '',
  connector: 'webhook',
  time: '2026-11-21T23:14:29.786Z',
  received: '2026-11-21T23:14:30.001Z',
  payload,
  indicators: '{"serial":["C02"]}',
});

test('an events record reads back field for field: the original received time, the payload bytes, the window', () => {
  const bytes = Buffer.from([0xff, 0x00, 0x7b, 0xc3]); // not UTF-8: kept byte for byte
  const records = [record(1), record(2, bytes), record(3, '')];
  const frame = encodeEvents(records, 3600, 1_795_302_869_789);
  const check = checkFrameAt(frame, 0);
  assert.ok(check.ok);
  assert.equal(check.end, frame.length);
  const payload = framePayload(frame, 0, check.end);
  assert.deepEqual(peekEntry(payload), { spooledAtMs: 1_795_302_869_789, records: 3 });
  const entry = decodeEntry(payload);
  assert.equal(entry.kind, 'events');
  if (entry.kind !== 'events') return;
  assert.equal(entry.dedupWindowSeconds, 3600);
  assert.equal(entry.spooledAtMs, 1_795_302_869_789);
  assert.equal(entry.records.length, 3);
  for (const [i, r] of entry.records.entries()) {
    const original = records[i]!;
    assert.deepEqual({ ...r, payload: undefined }, { ...original, payload: undefined });
    assert.deepEqual(Buffer.from(r.payload), Buffer.from(original.payload));
  }
});

test('a rejected record reads back with its marker and the marker\'s lifetime', () => {
  const marker = randomBytes(16).toString('hex');
  const frame = encodeRejected({ reason: '{"code":"X"}', source: 'jamf_pro.events', received: '2026-11-21T23:14:30.001Z', remote: '10.0.0.1', payload: '{"broken":' }, marker, 604800, 42);
  const check = checkFrameAt(frame, 0);
  assert.ok(check.ok);
  const entry = decodeEntry(framePayload(frame, 0, check.end));
  assert.equal(entry.kind, 'rejected');
  if (entry.kind !== 'rejected') return;
  assert.equal(entry.marker, marker);
  assert.equal(entry.markerTtlSeconds, 604800);
  assert.equal(entry.record.remote, '10.0.0.1');
  assert.equal(Buffer.from(entry.record.payload).toString(), '{"broken":');
  assert.deepEqual(peekEntry(framePayload(frame, 0, check.end)), { spooledAtMs: 42, records: 1 });
});

test('a payload that passed its checksum but is not one the codec wrote is refused by code', () => {
  assert.throws(() => decodeEntry(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 0])), { code: 'ORCHARD_ERR_SPOOL_CORRUPT' });
  const payload = framePayload(encodeEvents([record(1)], 60, 1), 0, encodeEvents([record(1)], 60, 1).length);
  assert.throws(() => decodeEntry(payload.subarray(0, payload.length - 1)), { code: 'ORCHARD_ERR_SPOOL_CORRUPT' });
});
