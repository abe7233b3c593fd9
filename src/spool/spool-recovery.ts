import { open, unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { peekEntry } from './spool-codec.ts';
import { readCursor, type CursorPosition } from './spool-cursor.ts';
import { listSegments, quarantineRegion, readFully, segmentPath, syncDir } from './spool-files.ts';
import { checkFrameAt, framePayload, nextFrameStart, skipZeros } from './spool-frame.ts';

// What is on disk when Orchard starts, made ready to drain:
// - segments wholly before the cursor were drained: removed;
// - every record from the cursor on is read and checked (length, CRC), oldest first, and handed to
//   `onRecord` (the spooling sink rebuilds its index of spooled ids from them);
// - a damaged region followed by intact records is moved aside (quarantine/, one error line) and the
//   records after it are kept;
// - damaged bytes with nothing intact after them, at the end of the newest segment, are a torn tail:
//   a write cut short by a crash or a power cut, never acknowledged (an answer waits for the sync),
//   so they are cut off (one warning). At the end of an older segment they are damage: moved aside.
// Orchard then writes to a new segment; the recovered ones are only read.

export interface WaitingRecord {
  readonly seq: number;
  /** The offset just after it in its segment. */
  readonly end: number;
  readonly spooledAtMs: number;
  readonly records: number;
}

export interface RecoveredSegment {
  readonly seq: number;
  /** Bytes of the segment after recovery (every record in [0, end) is intact or zeroed). */
  readonly end: number;
}

export interface RecoveredSpool {
  /** Oldest first. */
  readonly segments: readonly RecoveredSegment[];
  /** Where draining starts. */
  readonly cursor: CursorPosition;
  /** Each record waiting, oldest first: where it ends, when it was spooled and how many events it carries. */
  readonly waiting: readonly WaitingRecord[];
  /** The highest segment number used so far (the next one is above it). */
  readonly lastSeq: number;
  /** Bytes moved aside and cut off as a torn tail. */
  readonly quarantinedBytes: number;
  readonly tornBytes: number;
}

export interface RecoverOptions {
  readonly dir: string;
  readonly logger?: Logger;
  /** Each intact record's payload, oldest first; throwing moves the record aside as damaged. */
  readonly onRecord?: (payload: Buffer) => void;
}

export async function recoverSpool(options: RecoverOptions): Promise<RecoveredSpool> {
  const { dir, logger } = options;
  const stored = await readCursor(`${dir}/cursor`);
  const seqs = await listSegments(dir);
  const lastSeq = Math.max(stored?.seq ?? 0, seqs.at(-1) ?? 0);
  const segments: RecoveredSegment[] = [];
  const waiting: WaitingRecord[] = [];
  const tally = { quarantinedBytes: 0, tornBytes: 0 };
  let removed = false;

  for (const [i, seq] of seqs.entries()) {
    const path = segmentPath(dir, seq);
    if (stored && seq < stored.seq) {
      await unlink(path); // drained before the last stop
      removed = true;
      continue;
    }
    const start = stored && seq === stored.seq ? stored.offset : 0;
    const end = await recoverSegment({ dir, seq, path, start, newest: i === seqs.length - 1, logger, onRecord: options.onRecord, waiting, tally });
    if (end <= start) {
      await unlink(path); // empty, or drained to its end
      removed = true;
      continue;
    }
    segments.push({ seq, end });
  }
  if (removed) await syncDir(dir);
  const first = segments[0];
  const cursor = first === undefined ? { seq: lastSeq + 1, offset: 0 } : { seq: first.seq, offset: stored && first.seq === stored.seq ? Math.min(stored.offset, first.end) : 0 };
  return { segments, cursor, waiting, lastSeq, ...tally };
}

interface SegmentRecovery {
  readonly dir: string;
  readonly seq: number;
  readonly path: string;
  /** Where its undrained records start. */
  readonly start: number;
  /** The newest segment: damage at its end is a torn tail. */
  readonly newest: boolean;
  readonly logger: Logger | undefined;
  readonly onRecord: ((payload: Buffer) => void) | undefined;
  readonly waiting: WaitingRecord[];
  readonly tally: { quarantinedBytes: number; tornBytes: number };
}

/** Checks every record of one segment from `start` on; returns where its intact bytes end (it is truncated there). */
async function recoverSegment(r: SegmentRecovery): Promise<number> {
  const handle = await open(r.path, 'r+');
  try {
    const { size } = await handle.stat();
    const buf = await readFully(handle, size, 0);
    const segment = { seq: r.seq, handle };
    const moveAside = async (from: number, to: number, why: string) => {
      r.tally.quarantinedBytes += to - from;
      await quarantineRegion(r.dir, segment, from, Buffer.from(buf.subarray(from, to)), r.logger, why);
    };
    let pos = Math.min(r.start, size);
    let end = size;
    while (pos < size) {
      if (buf[pos] === 0) {
        const zeros = skipZeros(buf, pos);
        if (zeros === size) {
          end = pos; // zeros up to the end: nothing was written there
          break;
        }
        pos = zeros; // a region moved aside before
        continue;
      }
      const check = checkFrameAt(buf, pos);
      if (check.ok) {
        const payload = framePayload(buf, pos, check.end);
        try {
          r.onRecord?.(payload);
          r.waiting.push({ seq: r.seq, end: check.end, ...peekEntry(payload) });
        } catch (err) {
          await moveAside(pos, check.end, (err as Error).message);
        }
        pos = check.end;
        continue;
      }
      const next = nextFrameStart(buf, pos + 1);
      if (next === -1 && r.newest) {
        r.tally.tornBytes += size - pos;
        r.logger?.warn({ segment: r.seq, offset: pos, bytes: size - pos, reason: check.reason }, 'The last spool record was cut short (a crash or a power cut while it was written, so it was never acknowledged); discarded.');
        end = pos;
        break;
      }
      await moveAside(pos, next === -1 ? size : next, check.reason === 'crc' ? 'a record fails its checksum' : check.reason === 'short' ? 'a record runs past the end of its segment' : `a record has a bad ${check.reason}`);
      if (next === -1) {
        end = pos;
        break;
      }
      pos = next;
    }
    if (end < size) {
      await handle.truncate(end);
      await handle.datasync();
    }
    return end;
  } finally {
    await handle.close();
  }
}
