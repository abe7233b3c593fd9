import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

// The bytes of a log file as its lines are read from them (log-file-reader.ts) and as `orchard import`
// hashes them: gzip undone (recognised by its magic bytes), stdin read for `-`.

export interface RawInputOptions {
  /** Reads only the first `end` bytes of the file (the bytes that were hashed). Not for stdin. */
  readonly end?: number;
  /** Called with the size of each raw chunk read (compressed bytes for gzip): progress. */
  readonly onRawBytes?: (bytes: number) => void;
  /** What `-` reads. Default process.stdin. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Read size. Default 256 KiB. */
  readonly chunkBytes?: number;
}

/** The raw bytes of a file, or of stdin for `-`. */
export function openRawInput(path: string, options: Omit<RawInputOptions, 'onRawBytes'> = {}): Readable {
  if (path === '-') {
    const stdin = options.stdin ?? process.stdin;
    return stdin instanceof Readable ? stdin : Readable.from(stdin as AsyncIterable<Buffer>);
  }
  const highWaterMark = options.chunkBytes ?? 256 * 1024;
  if (options.end === 0) return Readable.from([]);
  return createReadStream(path, options.end === undefined ? { highWaterMark } : { highWaterMark, start: 0, end: options.end - 1 });
}

/** True when `bytes` start like a gzip member. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The decoded bytes of `raw`: gunzipped when they start with the gzip magic bytes, else as they are.
 * A damaged or truncated gzip stream yields what decoded before the damage, then throws.
 */
export async function* decodedChunks(raw: AsyncIterable<Buffer | string>, onRawBytes?: (bytes: number) => void): AsyncGenerator<Buffer> {
  const it = raw[Symbol.asyncIterator]();
  try {
    let head: Buffer = Buffer.alloc(0);
    let ended = false;
    while (head.length < 2) {
      const next = await it.next();
      if (next.done) {
        ended = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      onRawBytes?.(chunk.length);
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    }
    async function* all(): AsyncGenerator<Buffer> {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        onRawBytes?.(chunk.length);
        yield chunk;
      }
    }
    if (!isGzip(head)) {
      yield* all();
      return;
    }
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    let failure: unknown;
    const fed = pipeline(Readable.from(all()), gunzip).catch((err: unknown) => {
      failure ??= err;
    });
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (err) {
      failure ??= err;
    }
    await fed;
    if (failure !== undefined) throw failure;
  } finally {
    await it.return?.();
  }
}

/**
 * The decoded bytes of a file (`-`: stdin): gunzipped when gzip, else as they are, byte-order mark
 * included. What the items are read from, so what `orchard import` hashes to know a file: a file and
 * its gzip copy give the same bytes. Errors as decodedChunks (after the bytes decoded before them).
 */
export async function* readDecoded(
  path: string,
  options: RawInputOptions = {},
): AsyncGenerator<Buffer> {
  const raw = openRawInput(path, options);
  try {
    yield* decodedChunks(raw, options.onRawBytes);
  } finally {
    if (path !== '-') raw.destroy();
  }
}
