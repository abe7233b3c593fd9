// Reads a Jamf Pro log file as Jamf delivers it to S3 (or as an operator copied it) and yields one item
// per log line or JSON object, streaming: memory stays flat however large the file is.
//
//   - plain or gzip: gzip is recognised by its magic bytes (1f 8b), whatever the file is called, and
//     concatenated gzip members are read one after the other;
//   - a UTF-8 byte-order mark at the start is dropped; CRLF line ends are LF line ends;
//   - NDJSON (`{"time","message"}` wrappers, Compliance Reporter events) or plain log lines: one item per
//     line, empty lines included (the caller decides what an empty line means), the last line also
//     without a final newline. A raw `[CHANGEMANAGEMENT]` line keeps the detail lines that follow it
//     (they start with a tab, "\tID  2430"), as Jamf writes them and as the S3 wrapper's message has them;
//   - a JSON array (the first thing in the file is `[` followed by `{` or `]`): one item per top-level
//     element, split by a byte-level scanner that knows strings and escapes; never parsed as a whole;
//   - an item longer than `maxLineBytes` is not buffered beyond that: it comes out flagged `tooLong` with
//     its first `keepBytes` bytes, and the items after it come through as usual.

import { readDecoded, type RawInputOptions } from './log-file-decoding.ts';
import { logLinePrefixes } from './log-kinds.ts';
import { maxLogTextBytes } from './log-records.ts';

export { isGzip, readDecoded } from './log-file-decoding.ts';

export interface LogFileItem {
  /** The line of the file where the item starts, from 1 (with gzip: of the decompressed text). */
  readonly line: number;
  /** The line without its line end, or the JSON array element's text; the first `keepBytes` bytes when `tooLong`. */
  readonly text: string;
  /** The item is longer than `maxLineBytes`: `text` holds only its start. */
  readonly tooLong?: boolean;
  /** Length of the whole item in UTF-8 bytes (always set when `tooLong`). */
  readonly bytes?: number;
  /** In a JSON array: the element's position, from 1. */
  readonly element?: number;
}

export interface LogFileReaderOptions extends RawInputOptions {
  /** Longest item kept whole, in bytes. Default 1 MiB (what logRecord accepts). */
  readonly maxLineBytes?: number;
  /** How much of a longer item is kept. Default 64 KiB. */
  readonly keepBytes?: number;
}

export const defaultKeepBytes = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const isSpace = (b: number) => b === SPACE || b === LF || b === CR || b === TAB;

/** The first bytes of `buf` up to `limit`, cut before a UTF-8 sequence that would be split. */
function utf8Prefix(buf: Buffer, limit: number): string {
  if (buf.length <= limit) return buf.toString('utf8');
  let end = limit;
  // Back off over continuation bytes (10xxxxxx) to the start of the character that crosses the limit.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

/** Collects the bytes of one item, keeping at most `max + slack` of them and only `keep` once it is too long. */
class ItemBuffer {
  #parts: Buffer[] = [];
  #kept = 0;
  #endsWithCr = false;
  bytes = 0;
  tooLong = false;

  constructor(
    private readonly max: number,
    private readonly keep: number,
  ) {}

  add(chunk: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length <= 0) return;
    this.bytes += length;
    this.#endsWithCr = chunk[end - 1] === CR;
    if (this.tooLong) {
      if (this.#kept < this.keep) {
        const take = Math.min(length, this.keep - this.#kept);
        this.#parts.push(Buffer.from(chunk.subarray(start, start + take)));
        this.#kept += take;
      }
      return;
    }
    // A view of the chunk: held only until the item ends, and an item is at most `max` bytes.
    this.#parts.push(chunk.subarray(start, end));
    this.#kept += length;
    // One byte of slack for the CR of a CRLF line end.
    if (this.bytes > this.max + 1) {
      const whole = Buffer.concat(this.#parts);
      this.#parts = [Buffer.from(whole.subarray(0, Math.min(whole.length, this.keep + 4)))];
      this.#kept = this.#parts[0]!.length;
      this.tooLong = true;
    }
  }

  /** The item's bytes so far, without a final CR when `stripCr`; resets the buffer. */
  take(stripCr: boolean): { buf: Buffer; bytes: number; tooLong: boolean } {
    let buf = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
    let bytes = this.bytes;
    if (stripCr && this.#endsWithCr) {
      bytes -= 1;
      if (!this.tooLong) buf = buf.subarray(0, buf.length - 1);
    }
    const tooLong = this.tooLong || bytes > this.max;
    this.#parts = [];
    this.#kept = 0;
    this.#endsWithCr = false;
    this.bytes = 0;
    this.tooLong = false;
    return { buf, bytes, tooLong };
  }

  get empty(): boolean {
    return this.bytes === 0;
  }
}

function makeItem(line: number, taken: { buf: Buffer; bytes: number; tooLong: boolean }, keep: number, element?: number): LogFileItem {
  const base = element === undefined ? {} : { element };
  if (taken.tooLong) return { line, text: utf8Prefix(taken.buf, keep), tooLong: true, bytes: taken.bytes, ...base };
  return { line, text: taken.buf.toString('utf8'), ...base };
}

/** Physical lines of the decoded bytes, numbered from 1: the lines each chunk completes, as one array. */
async function* splitLines(chunks: AsyncIterable<Buffer>, max: number, keep: number): AsyncGenerator<LogFileItem[]> {
  const pending = new ItemBuffer(max, keep);
  let line = 1;
  for await (const chunk of chunks) {
    const out: LogFileItem[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      if (pending.empty) {
        // The common case: the whole line is in this chunk.
        let end = nl;
        if (end > start && chunk[end - 1] === CR) end--;
        if (end - start > max) {
          pending.add(chunk, start, nl);
          out.push(makeItem(line, pending.take(true), keep));
        } else {
          out.push({ line, text: chunk.toString('utf8', start, end) });
        }
      } else {
        pending.add(chunk, start, nl);
        out.push(makeItem(line, pending.take(true), keep));
      }
      line++;
      start = nl + 1;
    }
    // Copy the rest: a slice would keep the whole chunk alive.
    if (start < chunk.length) pending.add(Buffer.from(chunk.subarray(start)), 0, chunk.length - start);
    if (out.length > 0) yield out;
  }
  if (!pending.empty) yield [makeItem(line, pending.take(true), keep)];
}

const changePrefix = logLinePrefixes.change;

/**
 * Lines, with the tab-indented detail lines that follow a raw `[CHANGEMANAGEMENT]` line joined to it
 * (with "\n"), as long as the whole stays within `max` bytes (beyond that it is flagged tooLong).
 */
async function* joinChangeDetails(batches: AsyncIterable<LogFileItem[]>, max: number, keep: number): AsyncGenerator<LogFileItem[]> {
  let held: { line: number; text: string; bytes: number; tooLong: boolean } | undefined;
  const release = (): LogFileItem => {
    const h = held!;
    held = undefined;
    if (h.tooLong) return { line: h.line, text: utf8Prefix(Buffer.from(h.text), keep), tooLong: true, bytes: h.bytes };
    return { line: h.line, text: h.text };
  };
  for await (const batch of batches) {
    let out: LogFileItem[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      if (held !== undefined && item.text.charCodeAt(0) === TAB) {
        // A detail line of the held change-management line.
        out ??= batch.slice(0, i);
        const bytes = item.bytes ?? Buffer.byteLength(item.text);
        held.bytes += 1 + bytes;
        if (!held.tooLong && !item.tooLong && held.bytes <= max) held.text += `\n${item.text}`;
        else held.tooLong = true;
        continue;
      }
      if (held !== undefined) {
        out ??= batch.slice(0, i);
        out.push(release());
      }
      if (item.text.startsWith(changePrefix)) {
        out ??= batch.slice(0, i);
        held = { line: item.line, text: item.text, bytes: item.bytes ?? Buffer.byteLength(item.text), tooLong: item.tooLong === true };
        continue;
      }
      out?.push(item);
    }
    const result = out ?? batch;
    if (result.length > 0) yield result;
  }
  if (held !== undefined) yield [release()];
}

type ElementKind = 'container' | 'string' | 'scalar' | 'garbage';

/**
 * The top-level elements of one or more JSON arrays, as text. Strings are skipped whole (a bracket or
 * brace inside one does not count, nor an escaped quote). Text after the last array that is not white
 * space comes out one item per line (so the caller refuses it rather than losing it); an element cut
 * off by the end of the input comes out as it is (and is refused as malformed JSON).
 */
async function* splitJsonArray(chunks: AsyncIterable<Buffer>, max: number, keep: number): AsyncGenerator<LogFileItem[]> {
  const item = new ItemBuffer(max, keep);
  let line = 1;
  let depth = 0;
  let kind: ElementKind | undefined;
  let inString = false;
  let escaped = false;
  let itemLine = 0;
  let element = 0;
  for await (const chunk of chunks) {
    let segStart = kind === undefined ? -1 : 0;
    const out: LogFileItem[] = [];
    const finish = (end: number) => {
      item.add(chunk, segStart, end);
      const taken = item.take(kind === 'garbage');
      out.push(makeItem(itemLine, taken, keep, kind === 'garbage' ? undefined : element));
      kind = undefined;
      segStart = -1;
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (kind !== undefined) {
        if (inString) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) {
            inString = false;
            if (kind === 'string') finish(i + 1);
          }
        } else if (kind === 'container') {
          if (b === QUOTE) inString = true;
          else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
          else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
            if (--depth === 1) finish(i + 1);
          }
        } else if (kind === 'scalar') {
          if (b === COMMA || b === CLOSE_BRACKET || isSpace(b)) {
            finish(i);
            i--; // the separator is read again, outside the element
            continue;
          }
        } else if (b === LF) {
          // garbage after the array: one item per line
          finish(i);
        }
        if (b === LF) line++;
        continue;
      }
      if (b === LF) line++;
      if (isSpace(b)) continue;
      if (depth === 0) {
        if (b === OPEN_BRACKET) {
          depth = 1;
          continue;
        }
        kind = 'garbage';
      } else if (b === COMMA) {
        continue;
      } else if (b === CLOSE_BRACKET) {
        depth = 0;
        continue;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        kind = 'container';
        depth = 2;
      } else if (b === QUOTE) {
        kind = 'string';
        inString = true;
      } else {
        kind = 'scalar';
      }
      if (kind !== 'garbage') element++;
      itemLine = line;
      segStart = i;
    }
    if (kind !== undefined) item.add(chunk, segStart, chunk.length);
    if (out.length > 0) yield out;
  }
  if (kind !== undefined && !item.empty) {
    yield [makeItem(itemLine, item.take(kind === 'garbage'), keep, kind === 'garbage' ? undefined : element)];
  }
}

/**
 * Decides between lines and a JSON array from the first bytes, drops a byte-order mark, and passes
 * every chunk on.
 */
async function* sniffed(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer | 'array' | 'lines'> {
  let head: Buffer = Buffer.alloc(0);
  let decided: 'array' | 'lines' | undefined;
  const decide = (final: boolean): 'array' | 'lines' | undefined => {
    let i = 0;
    while (i < head.length && isSpace(head[i]!)) i++;
    if (i === head.length) return final || head.length > 1024 * 1024 ? 'lines' : undefined;
    if (head[i] !== OPEN_BRACKET) return 'lines';
    let j = i + 1;
    while (j < head.length && isSpace(head[j]!)) j++;
    if (j === head.length) return final || head.length > 1024 * 1024 ? 'lines' : undefined;
    return head[j] === OPEN_BRACE || head[j] === CLOSE_BRACKET ? 'array' : 'lines';
  };
  let bomChecked = false;
  for await (const chunk of chunks) {
    if (decided !== undefined) {
      yield chunk;
      continue;
    }
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (!bomChecked) {
      if (head.length < 3) continue;
      if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) head = head.subarray(3);
      bomChecked = true;
    }
    decided = decide(false);
    if (decided !== undefined) {
      yield decided;
      if (head.length > 0) yield head;
    }
  }
  if (decided === undefined) {
    if (!bomChecked && head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) head = head.subarray(3);
    yield decide(true) ?? 'lines';
    if (head.length > 0) yield head;
  }
}

/**
 * The items of a log file (`-`: stdin), in order, as arrays (the items each read completes: one
 * asynchronous step per read rather than per line). Errors reading or decompressing the file are
 * thrown after the items that came before the damage (a partial last line before it is not yielded).
 */
export async function* readLogFileBatches(path: string, options: LogFileReaderOptions = {}): AsyncGenerator<LogFileItem[]> {
  const max = options.maxLineBytes ?? maxLogTextBytes;
  const keep = Math.min(options.keepBytes ?? defaultKeepBytes, max);
  const bytes = sniffed(readDecoded(path, options));
  try {
    const first = await bytes.next();
    if (first.done) return;
    async function* rest(): AsyncGenerator<Buffer> {
      for (;;) {
        const next = await bytes.next();
        if (next.done) return;
        yield next.value as Buffer;
      }
    }
    if (first.value === 'array') yield* splitJsonArray(rest(), max, keep);
    else yield* joinChangeDetails(splitLines(rest(), max, keep), max, keep);
  } finally {
    await bytes.return(undefined);
  }
}

/** The items of a log file (`-`: stdin), one by one: see readLogFileBatches. */
export async function* readLogFile(path: string, options: LogFileReaderOptions = {}): AsyncGenerator<LogFileItem> {
  for await (const batch of readLogFileBatches(path, options)) yield* batch;
}
