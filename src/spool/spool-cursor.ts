import { open, readFile, type FileHandle } from 'node:fs/promises';
import { crc32 } from './crc32.ts';

// The drain cursor: the segment and offset of the first record not yet acknowledged by Redis, in a
// 24-byte file `<spool>/cursor`:
//
//   magic "OSC1" | segment number (float64 LE) | offset (float64 LE) | CRC-32 of the 20 bytes before it
//
// Written in place and synced after every batch Redis acknowledged (a sync costs well under a
// millisecond against the round trip of a batch of hundreds of records). A crash between Redis's
// acknowledgement and the sync makes that batch drain again at the next start, and the dedup keys
// make each second append a duplicate. A cursor that does not check out is ignored: everything still
// on disk drains again, the same way.

const magic = Buffer.from('OSC1', 'latin1');
const cursorBytes = 24;

export interface CursorPosition {
  /** The segment number of the first record not yet drained. */
  readonly seq: number;
  /** Its byte offset in that segment. */
  readonly offset: number;
}

/** The cursor stored in `file`, or undefined when there is none or it does not check out. */
export async function readCursor(file: string): Promise<CursorPosition | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (buf.length !== cursorBytes || !buf.subarray(0, 4).equals(magic) || crc32(buf.subarray(0, 20)) !== buf.readUInt32LE(20)) return undefined;
  const seq = buf.readDoubleLE(4);
  const offset = buf.readDoubleLE(12);
  return Number.isSafeInteger(seq) && Number.isSafeInteger(offset) && seq >= 0 && offset >= 0 ? { seq, offset } : undefined;
}

/** The cursor file, open for writing. */
export class CursorFile {
  readonly #buf = Buffer.alloc(cursorBytes);
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(readonly handle: FileHandle) {}

  static async open(file: string): Promise<CursorFile> {
    // Created when missing, never truncated; then opened for positioned writes ('a' would append them).
    await (await open(file, 'a')).close();
    return new CursorFile(await open(file, 'r+'));
  }

  /** Writes the position in place and syncs it; writes are kept in order. */
  save(position: CursorPosition): Promise<void> {
    const write = async () => {
      const buf = this.#buf;
      magic.copy(buf, 0);
      buf.writeDoubleLE(position.seq, 4);
      buf.writeDoubleLE(position.offset, 12);
      buf.writeUInt32LE(crc32(buf.subarray(0, 20)), 20);
      await this.handle.write(buf, 0, cursorBytes, 0);
      await this.handle.datasync();
    };
    const done = this.#writing.then(write, write);
    this.#writing = done.catch(() => {});
    return done;
  }

  async close(): Promise<void> {
    await this.#writing;
    await this.handle.close();
  }
}
