import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvents } from '../../src/spool/spool-codec.ts';
import { checkFrameAt, frameHeaderBytes, nextFrameStart } from '../../src/spool/spool-frame.ts';
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

test('every single flipped bit and every cut is detected; reading resumes at the next intact record', () => {
  const a = encodeEvents([record(1)], 60, 1);
  const b = encodeEvents([record(2)], 60, 2);
  const both = Buffer.concat([a, b]);
  for (let i = 0; i < a.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const damaged = Buffer.from(both);
      damaged[i]! ^= bit;
      assert.equal(checkFrameAt(damaged, 0).ok, false, `bit ${bit} of byte ${i}`);
      assert.equal(nextFrameStart(damaged, 1), a.length, 'the next record is found');
    }
  }
  for (let cut = 0; cut < a.length; cut++) assert.equal(checkFrameAt(a.subarray(0, cut), 0).ok, false);
  assert.deepEqual(checkFrameAt(a.subarray(0, frameHeaderBytes + 3), 0), { ok: false, reason: 'short', needed: a.length });
});
