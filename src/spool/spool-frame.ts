import { crc32 } from './crc32.ts';

// How a record sits in a spool segment file:
//
//   magic (4 bytes: FA 4F 53 31) | length of the payload (uint32 LE) | CRC-32 of the length's 4 bytes
//   and the payload (uint32 LE) | payload (spool-codec.ts)
//
// The length says where the record ends, the CRC that every byte of it (its length too) is the one
// written. A record cut short by a crash or a power cut (a torn tail) fails one or the other and is
// discarded; so is a damaged one in the middle, after which reading resumes at the next magic whose
// record checks out (a false magic inside a payload fails its CRC, one time in 2^32 at worst).
// Readers also skip runs of zero bytes: recovery overwrites a damaged region with zeros once it has
// kept a copy of it, so that it is reported once, not at every start.

export const frameMagic = Buffer.from([0xfa, 0x4f, 0x53, 0x31]);
export const frameHeaderBytes = 12;
/** The largest payload a record may carry (a batch of 5,000 decoded lines is at most 16 MiB by default). */
export const maxFramePayloadBytes = 512 * 1024 * 1024;

/** A buffer for a record of `payloadBytes`, its header left to sealFrame. */
export function allocFrame(payloadBytes: number): Buffer {
  return Buffer.allocUnsafe(frameHeaderBytes + payloadBytes);
}

/** Writes the header of a record whose payload fills the buffer after the header room; returns the buffer. */
export function sealFrame(frame: Buffer): Buffer {
  const length = frame.length - frameHeaderBytes;
  frameMagic.copy(frame, 0);
  frame.writeUInt32LE(length, 4);
  frame.writeUInt32LE(crc32(frame.subarray(frameHeaderBytes), crc32(frame.subarray(4, 8))), 8);
  return frame;
}

export type FrameCheck =
  /** A whole record that checks out: its payload is buf[start + 12, end). */
  | { readonly ok: true; readonly end: number }
  /** The bytes end before the header does, or before the length it gives (in a file: a torn tail, or read more). */
  | { readonly ok: false; readonly reason: 'short'; readonly needed: number }
  | { readonly ok: false; readonly reason: 'magic' | 'length' | 'crc' };

/** Whether a whole, intact record starts at `pos` of buf[0, limit). */
export function checkFrameAt(buf: Buffer, pos: number, limit = buf.length): FrameCheck {
  if (limit - pos < frameHeaderBytes) return { ok: false, reason: 'short', needed: frameHeaderBytes };
  if (buf[pos] !== frameMagic[0] || buf[pos + 1] !== frameMagic[1] || buf[pos + 2] !== frameMagic[2] || buf[pos + 3] !== frameMagic[3]) return { ok: false, reason: 'magic' };
  const length = buf.readUInt32LE(pos + 4);
  if (length > maxFramePayloadBytes) return { ok: false, reason: 'length' };
  const end = pos + frameHeaderBytes + length;
  if (end > limit) return { ok: false, reason: 'short', needed: frameHeaderBytes + length };
  const crc = crc32(buf.subarray(pos + frameHeaderBytes, end), crc32(buf.subarray(pos + 4, pos + 8)));
  if (crc !== buf.readUInt32LE(pos + 8)) return { ok: false, reason: 'crc' };
  return { ok: true, end };
}

/** The payload of the record at `pos` (checked beforehand with checkFrameAt). */
export function framePayload(buf: Buffer, pos: number, end: number): Buffer {
  return buf.subarray(pos + frameHeaderBytes, end);
}

/** The first position in buf[from, limit) where an intact record starts, or -1. */
export function nextFrameStart(buf: Buffer, from: number, limit = buf.length): number {
  for (let pos = buf.indexOf(frameMagic, from); pos !== -1 && pos < limit; pos = buf.indexOf(frameMagic, pos + 1)) {
    if (checkFrameAt(buf, pos, limit).ok) return pos;
  }
  return -1;
}

/** Where the run of zero bytes starting at `pos` ends (pos itself when buf[pos] is not zero). */
export function skipZeros(buf: Buffer, pos: number, limit = buf.length): number {
  while (pos < limit && buf[pos] === 0) pos++;
  return pos;
}
