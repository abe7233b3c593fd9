import { OrchardError } from '../errors.ts';
import { recordFields, type RejectedRecord, type StreamRecord } from '../stream/stream-record.ts';
import { allocFrame, frameHeaderBytes, sealFrame } from './spool-frame.ts';

// The payload of a spool record (spool-frame.ts frames it): everything the append needs later, so
// that the record drains exactly as it would have been appended when it arrived.
//
//   kind (uint8: 1 events, 2 rejected) | spooled at (float64 LE, ms since the epoch) | then
//   events:   dedup window in seconds (uint32) | record count (uint32) | each record's fields in
//             `recordFields` order (its original `received` among them)
//   rejected: marker (16 bytes, makes its drain idempotent) | marker lifetime in seconds (uint32) |
//             reason, source, received, remote, payload
//
// and each field as its length (uint32 LE) and its bytes (text as UTF-8; a payload Buffer as it is).
// One `append` is one events record of one record; one `appendAll` (a Jamf Protect or log batch) is
// one events record of all of them, so that it drains in one atomic step, as it would have landed.

/** A payload that is not one this codec wrote (it passed its CRC: a bug, or a file written by hand). */
export const corrupt = (message: string) => new OrchardError('ORCHARD_ERR_SPOOL_CORRUPT', 500, message);

export type SpoolEntry =
  | {
      readonly kind: 'events';
      readonly spooledAtMs: number;
      readonly dedupWindowSeconds: number;
      /** Each payload is a Buffer: the bytes that were spooled. */
      readonly records: readonly StreamRecord[];
    }
  | {
      readonly kind: 'rejected';
      readonly spooledAtMs: number;
      /** 32 hex digits. */
      readonly marker: string;
      readonly markerTtlSeconds: number;
      readonly record: RejectedRecord;
    };

const kindEvents = 1;
const kindRejected = 2;
const rejectedFields = ['reason', 'source', 'received', 'remote', 'payload'] as const;
const markerBytes = 16;

const fieldBytes = (value: string | Buffer) => 4 + (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length);

function writeField(buf: Buffer, pos: number, value: string | Buffer): number {
  const at = pos + 4;
  const length = typeof value === 'string' ? buf.write(value, at, 'utf8') : value.copy(buf, at);
  buf.writeUInt32LE(length, pos);
  return at + length;
}

/** A whole spool record (header included) for records appended together. */
export function encodeEvents(records: readonly StreamRecord[], dedupWindowSeconds: number, spooledAtMs: number): Buffer {
  let size = 1 + 8 + 4 + 4;
  for (const record of records) for (const field of recordFields) size += fieldBytes(record[field]);
  const frame = allocFrame(size);
  let pos = frameHeaderBytes;
  frame[pos++] = kindEvents;
  pos = frame.writeDoubleLE(spooledAtMs, pos);
  pos = frame.writeUInt32LE(dedupWindowSeconds, pos);
  pos = frame.writeUInt32LE(records.length, pos);
  for (const record of records) for (const field of recordFields) pos = writeField(frame, pos, record[field]);
  return sealFrame(frame);
}

/** A whole spool record (header included) for a refused body kept for the rejected stream. */
export function encodeRejected(record: RejectedRecord, marker: string, markerTtlSeconds: number, spooledAtMs: number): Buffer {
  let size = 1 + 8 + markerBytes + 4;
  for (const field of rejectedFields) size += fieldBytes(record[field]);
  const frame = allocFrame(size);
  let pos = frameHeaderBytes;
  frame[pos++] = kindRejected;
  pos = frame.writeDoubleLE(spooledAtMs, pos);
  pos += frame.write(marker, pos, markerBytes, 'hex');
  pos = frame.writeUInt32LE(markerTtlSeconds, pos);
  for (const field of rejectedFields) pos = writeField(frame, pos, record[field]);
  return sealFrame(frame);
}

/** Reads a payload written by encodeEvents or encodeRejected; SpoolCorruptError when it is not one. */
export function decodeEntry(payload: Buffer): SpoolEntry {
  let pos = 0;
  const need = (bytes: number) => {
    if (pos + bytes > payload.length) throw corrupt(`a spool record ends inside its ${pos === 0 ? 'header' : 'fields'}`);
  };
  const field = (): Buffer => {
    need(4);
    const length = payload.readUInt32LE(pos);
    pos += 4;
    need(length);
    const value = payload.subarray(pos, pos + length);
    pos += length;
    return value;
  };
  const text = () => field().toString('utf8');
  need(9);
  const kind = payload[pos++];
  const spooledAtMs = payload.readDoubleLE(pos);
  pos += 8;
  if (kind === kindEvents) {
    need(8);
    const dedupWindowSeconds = payload.readUInt32LE(pos);
    const count = payload.readUInt32LE(pos + 4);
    pos += 8;
    const records: StreamRecord[] = [];
    for (let i = 0; i < count; i++) {
      records.push({ id: text(), source: text(), type: text(), tenant: text(), connector: text(), time: text(), received: text(), payload: field(), indicators: text() });
    }
    if (pos !== payload.length) throw corrupt('a spool record has bytes after its last field');
    return { kind: 'events', spooledAtMs, dedupWindowSeconds, records };
  }
  if (kind === kindRejected) {
    need(markerBytes + 4);
    const marker = payload.toString('hex', pos, pos + markerBytes);
    const markerTtlSeconds = payload.readUInt32LE(pos + markerBytes);
    pos += markerBytes + 4;
    const record: RejectedRecord = { reason: text(), source: text(), received: text(), remote: text(), payload: field() };
    if (pos !== payload.length) throw corrupt('a spool record has bytes after its last field');
    return { kind: 'rejected', spooledAtMs, marker, markerTtlSeconds, record };
  }
  throw corrupt(`a spool record of unknown kind ${kind}`);
}

/** When the record was spooled and how many records it carries, without decoding it. */
export function peekEntry(payload: Buffer): { readonly spooledAtMs: number; readonly records: number } {
  if (payload.length < 9) throw corrupt('a spool record ends inside its header');
  const spooledAtMs = payload.readDoubleLE(1);
  if (payload[0] === kindEvents && payload.length >= 17) return { spooledAtMs, records: payload.readUInt32LE(13) };
  return { spooledAtMs, records: 1 };
}
