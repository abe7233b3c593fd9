import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { describeFsError } from '../data-dir.ts';
import { SpoolUnavailableError } from '../errors.ts';
import { peekEntry } from './spool-codec.ts';
import { CursorFile, type CursorPosition } from './spool-cursor.ts';
import { ensureDir, quarantineRegion, readFully, segmentPath, syncDir, writeFully } from './spool-files.ts';
import { checkFrameAt, framePayload, nextFrameStart, skipZeros } from './spool-frame.ts';
import { recoverSpool } from './spool-recovery.ts';
import { WaitingRecords } from './waiting-records.ts';

// The spool's files: records appended to the newest segment and made durable as a group commit
// (every record handed over in the same event-loop turn, or while the previous sync ran, goes to disk
// in one write and one fdatasync, and each is answered only after that sync); read back oldest first
// from the drain cursor; released once Redis has them (the cursor moves on and is synced; a segment
// drained to its end is deleted, and so is everything once the spool is empty again).

export interface SpoolStoreOptions {
  /** `<data_dir>/spool`. */
  readonly dir: string;
  /** Disk the segments may take; an append past it fails with ORCHARD_ERR_SPOOL_FULL. */
  readonly maxBytes: number;
  /** A segment is closed and a new one begun past this size. Default: an eighth of maxBytes, from 64 KiB to 64 MiB. */
  readonly segmentBytes?: number;
  readonly logger?: Logger;
  /** Each intact record found at start, oldest first (spool-recovery.ts). */
  readonly onRecord?: (payload: Buffer) => void;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Bytes synced: every record before it is whole. */
  end: number;
  /** The newest segment, open for appends. */
  writer?: FileHandle;
  /** Opened when the drain first reads it. */
  reader?: FileHandle;
}

interface PendingWrite {
  readonly frame: Buffer;
  readonly events: number;
  readonly spooledAtMs: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** One spool record read back for the drain. */
export interface SpooledRecord {
  readonly payload: Buffer;
  /** Where it starts in its segment. */
  readonly offset: number;
  readonly events: number;
  readonly spooledAtMs: number;
}

/** Records read from one segment; the cursor moves to `endOffset` once Redis has them. */
export interface SpoolBatch {
  readonly seq: number;
  readonly records: readonly SpooledRecord[];
  readonly endOffset: number;
}

/** The most one group commit writes at once. */
const maxGroupBytes = 16 * 1024 * 1024;

export class SpoolStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly #logger: Logger | undefined;
  readonly #cursorFile: CursorFile;
  readonly #waiting = new WaitingRecords();
  #segments: Segment[];
  #cursor: CursorPosition;
  #lastSeq: number;
  /** Bytes of the segment files. */
  #bytes: number;
  #queue: PendingWrite[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  #flushing: Promise<void> | undefined;
  /** Removal of segments once the spool is empty again. */
  #cleaning: Promise<void> = Promise.resolve();
  #closed = false;
  #quarantinedBytes: number;
  /** Called after each group commit (the forwarder waits on it). */
  onWritten: (() => void) | undefined;

  private constructor(options: SpoolStoreOptions, cursorFile: CursorFile, recovered: Awaited<ReturnType<typeof recoverSpool>>) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.segmentBytes = options.segmentBytes ?? Math.min(64 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.maxBytes / 8)));
    this.#logger = options.logger;
    this.#cursorFile = cursorFile;
    this.#segments = recovered.segments.map((s) => ({ seq: s.seq, path: segmentPath(this.dir, s.seq), end: s.end }));
    this.#cursor = recovered.cursor;
    this.#lastSeq = recovered.lastSeq;
    this.#bytes = recovered.segments.reduce((sum, s) => sum + s.end, 0);
    this.#quarantinedBytes = recovered.quarantinedBytes;
    for (const r of recovered.waiting) this.#waiting.push(r.seq, r.end, r.spooledAtMs, r.records);
  }

  /** Creates the spool's directory (mode 0700) when it is missing. */
  static async prepareDir(dir: string): Promise<void> {
    await ensureDir(dir);
  }

  /** Recovers what is on disk (spool-recovery.ts) and opens the spool for appends. */
  static async open(options: SpoolStoreOptions): Promise<SpoolStore> {
    await ensureDir(options.dir);
    const recovered = await recoverSpool({ dir: options.dir, logger: options.logger, onRecord: options.onRecord });
    const cursorFile = await CursorFile.open(`${options.dir}/cursor`);
    await cursorFile.save(recovered.cursor);
    return new SpoolStore(options, cursorFile, recovered);
  }

  /** Bytes of the segment files on disk (drained records count until their segment is deleted). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Spool records waiting to be drained (a batch of events is one). */
  get waitingRecords(): number {
    return this.#waiting.length;
  }

  /** Events waiting to be drained. */
  get waitingEvents(): number {
    return this.#waiting.events;
  }

  get oldestSpooledAtMs(): number | undefined {
    return this.#waiting.oldestSpooledAtMs;
  }

  get quarantinedBytes(): number {
    return this.#quarantinedBytes;
  }

  /** Nothing waits and nothing is being written. */
  get empty(): boolean {
    return this.#waiting.length === 0 && this.#queue.length === 0 && this.#flushing === undefined;
  }

  /** Whether a record of `bytes` fits now. */
  hasRoomFor(bytes: number): boolean {
    return this.#bytes + this.#queuedBytes + bytes <= this.maxBytes;
  }

  /**
   * Appends a whole record (spool-codec.ts) and resolves once it is on disk and synced, together with
   * every other record handed over meanwhile. Rejects with ORCHARD_ERR_SPOOL_FULL at once when it does
   * not fit, with ORCHARD_ERR_SPOOL_IO when the disk fails.
   */
  append(frame: Buffer, events: number, spooledAtMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new SpoolUnavailableError('ORCHARD_ERR_SPOOL_IO', 'The local spool is closed (Orchard is stopping); not stored.'));
    if (!this.hasRoomFor(frame.length)) {
      return Promise.reject(new SpoolUnavailableError('ORCHARD_ERR_SPOOL_FULL', `Redis cannot take the event now and the local spool is full (${this.#bytes + this.#queuedBytes} of ${this.maxBytes} bytes, ORCHARD_SPOOL_MAX_BYTES); not stored.`));
    }
    this.#queuedBytes += frame.length;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ frame, events, spooledAtMs, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flushGroups().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  /** Group commits until nothing is queued: what arrives during one write and sync goes in the next. */
  async #flushGroups(): Promise<void> {
    while (this.#queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.#queue.length && (count === 0 || bytes + this.#queue[count]!.frame.length <= maxGroupBytes)) bytes += this.#queue[count++]!.frame.length;
      const group = this.#queue.splice(0, count);
      let segment: Segment | undefined;
      try {
        segment = await this.#tailFor(bytes);
        const buf = group.length === 1 ? group[0]!.frame : Buffer.concat(group.map((w) => w.frame), bytes);
        await writeFully(segment.writer!, buf, segment.end);
        await segment.writer!.datasync();
        let end = segment.end;
        for (const w of group) this.#waiting.push(segment.seq, (end += w.frame.length), w.spooledAtMs, w.events);
        segment.end = end;
        this.#bytes += bytes;
        this.#queuedBytes -= bytes;
        for (const w of group) w.resolve();
        this.onWritten?.();
      } catch (err) {
        this.#queuedBytes -= bytes;
        if (segment?.writer) await this.#undoWrite(segment);
        const failure = new SpoolUnavailableError('ORCHARD_ERR_SPOOL_IO', `The local spool cannot be written (${describeFsError(err)}); not stored.`, err);
        this.#logger?.error({ code: failure.code, dir: this.dir, records: group.length, reason: describeFsError(err) }, 'Writing the spool failed; those requests are answered 503.');
        for (const w of group) w.reject(failure);
      }
    }
  }

  /** After a failed write: cut the segment back to its synced end, or, when even that fails, close it (the next write starts a new one). */
  async #undoWrite(segment: Segment): Promise<void> {
    try {
      await segment.writer!.truncate(segment.end);
    } catch {
      const writer = segment.writer!;
      segment.writer = undefined;
      await writer.close().catch(() => {});
    }
  }

  /** The segment the next group goes to: the newest, or a new one when there is none or the group would take it past segmentBytes. */
  async #tailFor(bytes: number): Promise<Segment> {
    let tail = this.#segments.at(-1);
    if (tail?.writer && tail.end > 0 && tail.end + bytes > this.segmentBytes) {
      const writer = tail.writer;
      tail.writer = undefined;
      await writer.close();
    }
    if (tail?.writer) return tail;
    // lastSeq moves on only once the file exists: while it is made, a drain that empties the segment
    // list points the cursor at lastSeq + 1, this very segment. (Moved on before, the cursor went one
    // past it: a crash then made the next start delete the segment as drained, with every event in it
    // already answered 202.)
    const seq = this.#lastSeq + 1;
    const path = segmentPath(this.dir, seq);
    let writer: FileHandle;
    try {
      writer = await open(path, 'wx+', 0o600);
      await syncDir(this.dir);
    } finally {
      this.#lastSeq = seq;
    }
    tail = { seq, path, end: 0, writer };
    this.#segments.push(tail);
    return tail;
  }

  /**
   * Up to about `maxBytes` of the oldest records not yet drained, from one segment (a record larger
   * than that comes alone); undefined when there are none. A damaged record found here (the disk
   * changed after the start) is moved aside like at recovery, and reading goes on after it.
   */
  async read(maxBytes: number): Promise<SpoolBatch | undefined> {
    for (;;) {
      const head = this.#segments[0];
      if (!head) return undefined;
      const start = this.#cursor.seq === head.seq ? this.#cursor.offset : 0;
      if (start >= head.end) {
        if (head.writer) return undefined; // the newest segment, drained up to what is written
        await this.#dropHead();
        continue;
      }
      head.reader ??= await open(head.path, 'r');
      let buf = await readFully(head.reader, Math.min(maxBytes, head.end - start), start);
      const records: SpooledRecord[] = [];
      let pos = 0;
      let damagedAt: number | undefined;
      while (pos < buf.length) {
        if (buf[pos] === 0) {
          pos = skipZeros(buf, pos); // a region moved aside
          continue;
        }
        const check = checkFrameAt(buf, pos);
        if (check.ok) {
          const payload = framePayload(buf, pos, check.end);
          const peeked = safePeek(payload);
          if (peeked) {
            records.push({ payload, offset: start + pos, ...peeked });
            pos = check.end;
            continue;
          }
        } else if (check.reason === 'short' && start + pos + check.needed <= head.end) {
          if (records.length > 0) break; // the next read starts with it
          buf = await readFully(head.reader, check.needed, start + pos); // one record larger than maxBytes
          if (pos > 0) return { seq: head.seq, records: [], endOffset: start + pos };
          continue;
        }
        damagedAt = start + pos;
        break;
      }
      if (damagedAt !== undefined && records.length === 0) {
        await this.#moveAside(head, damagedAt);
        continue;
      }
      return { seq: head.seq, records, endOffset: start + pos };
    }
  }

  /** Moves the damaged bytes at `offset` of a segment, up to its next intact record, aside (spool-files.ts). */
  async #moveAside(segment: Segment, offset: number): Promise<void> {
    const rest = await readFully(segment.reader!, segment.end - offset, offset);
    const next = nextFrameStart(rest, 1);
    const damaged = rest.subarray(0, next === -1 ? rest.length : next);
    const handle = segment.writer ?? (await open(segment.path, 'r+'));
    try {
      await quarantineRegion(this.dir, { seq: segment.seq, handle }, offset, Buffer.from(damaged), this.#logger, 'found while draining');
    } finally {
      if (handle !== segment.writer) await handle.close();
    }
    this.#quarantinedBytes += damaged.length;
    this.#waiting.dropBefore({ seq: segment.seq, offset: offset + damaged.length });
  }

  /**
   * Redis has every record of the batch: the cursor moves past them (synced), a segment drained to its
   * end is deleted, and when nothing waits any more every segment is. Returns the events released.
   */
  async release(batch: SpoolBatch): Promise<number> {
    if (this.#segments[0]?.seq !== batch.seq) return 0;
    this.#cursor = { seq: batch.seq, offset: batch.endOffset };
    const events = this.#waiting.dropBefore(this.#cursor);
    await this.#cursorFile.save(this.#cursor);
    const head = this.#segments[0];
    if (head && !head.writer && batch.endOffset >= head.end) await this.#dropHead();
    this.#removeWhenEmpty();
    return events;
  }

  /** The oldest segment is drained: the cursor moves to the next (synced), then the file goes. */
  async #dropHead(): Promise<void> {
    const head = this.#segments.shift()!;
    this.#cursor = { seq: this.#segments[0]?.seq ?? this.#lastSeq + 1, offset: 0 };
    this.#waiting.dropBefore({ seq: head.seq, offset: Number.MAX_SAFE_INTEGER });
    await this.#cursorFile.save(this.#cursor);
    await this.#closeSegment(head);
    await unlink(head.path).catch((err: NodeJS.ErrnoException) => this.#logger?.warn({ file: head.path, reason: describeFsError(err) }, 'Could not delete a drained spool segment.'));
    this.#bytes -= head.end;
  }

  /** Once every record is drained and no write is under way, all segments go and the next write starts a new one. */
  #removeWhenEmpty(): void {
    if (this.#waiting.length > 0 || this.#queue.length > 0 || this.#flushing || this.#scheduled || this.#segments.length === 0) return;
    const drained = this.#segments;
    this.#segments = [];
    this.#bytes = 0;
    this.#cursor = { seq: this.#lastSeq + 1, offset: 0 };
    // Saved now, so that it is in order with the saves of the batches read from the next segment.
    const saved = this.#cursorFile.save(this.#cursor);
    this.#cleaning = this.#cleaning.then(async () => {
      await saved.catch(() => {});
      for (const segment of drained) {
        await this.#closeSegment(segment);
        await unlink(segment.path).catch(() => {});
      }
    });
  }

  async #closeSegment(segment: Segment): Promise<void> {
    await segment.reader?.close().catch(() => {});
    await segment.writer?.close().catch(() => {});
    segment.reader = undefined;
    segment.writer = undefined;
  }

  /** Finishes the writes handed over, then closes every file. Later appends fail. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing || this.#scheduled) await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    await this.#cleaning;
    for (const segment of this.#segments) await this.#closeSegment(segment);
    await this.#cursorFile.close();
  }
}

function safePeek(payload: Buffer): { events: number; spooledAtMs: number } | undefined {
  try {
    const { records, spooledAtMs } = peekEntry(payload);
    return { events: records, spooledAtMs };
  } catch {
    return undefined;
  }
}
