import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

// Where the spool's files are, and the file operations the store and the recovery share: segment
// names, syncing a directory, and moving a damaged region aside.
//
//   <data_dir>/spool/segment-000000000001.spool   records, oldest segment first (spool-frame.ts)
//   <data_dir>/spool/cursor                       the drain cursor (spool-cursor.ts)
//   <data_dir>/spool/spool.lock                   the pid of the Orchard that owns the spool
//   <data_dir>/spool/quarantine/…                 damaged regions, kept for inspection

const segmentPattern = /^segment-(\d{12})\.spool$/;

export function segmentPath(dir: string, seq: number): string {
  return join(dir, `segment-${String(seq).padStart(12, '0')}.spool`);
}

/** The segment numbers in `dir`, oldest first. */
export async function listSegments(dir: string): Promise<number[]> {
  const seqs: number[] = [];
  for (const name of await readdir(dir)) {
    const match = segmentPattern.exec(name);
    if (match) seqs.push(Number(match[1]));
  }
  return seqs.sort((a, b) => a - b);
}

/** Makes a directory entry change (a file created, renamed or removed) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Writes all of `buf` at `position` (a positioned write may write less than asked). */
export async function writeFully(handle: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Reads `length` bytes at `position`, fewer only at the end of the file. */
export async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/**
 * Moves a damaged region of a segment aside: a copy to `quarantine/segment-<n>-<offset>.bad`
 * (synced), then the region in the segment overwritten with zeros (synced), which readers skip
 * silently, so it is reported once. Logs one error naming the file. Returns the copy's path.
 */
export async function quarantineRegion(
  dir: string,
  segment: { readonly seq: number; readonly handle: FileHandle },
  offset: number,
  bytes: Buffer,
  logger: Logger | undefined,
  why: string,
): Promise<string> {
  const quarantine = join(dir, 'quarantine');
  await ensureDir(quarantine);
  const file = join(quarantine, `segment-${String(segment.seq).padStart(12, '0')}-${offset}.bad`);
  const copy = await open(file, 'w', 0o600);
  try {
    await writeFully(copy, bytes, 0);
    await copy.sync();
  } finally {
    await copy.close();
  }
  await syncDir(quarantine);
  await writeFully(segment.handle, Buffer.alloc(bytes.length), offset);
  await segment.handle.datasync();
  logger?.error(
    { code: 'ORCHARD_ERR_SPOOL_CORRUPT', segment: segment.seq, offset, bytes: bytes.length, file, why },
    'A damaged region of the spool was moved aside; the events in it cannot be drained. The records after it still are.',
  );
  return file;
}
