// `orchard import [--type T] [--tenant X] FILE…`: Jamf Pro Log Stream files (access log, change
// management) and Jamf Compliance Reporter logs, as Jamf delivers them to S3 or as copied by hand, into
// the events stream: every line lands once, or is kept in the rejected stream with its reason.
//
// How a file is imported:
//
// 1. Its decoded content (gunzipped when gzip) is hashed: a first streaming pass (stdin and other
//    non-regular files are first copied to a private temporary file). The hash, with the --type and
//    --tenant given, names the file's progress record in Redis, `<hash tag>:import:<sha256>:<type>:
//    <tenant hash>` (import-script.ts): importing the same content again, under any name, plain or
//    gzip, finds it; another --type or --tenant is another import (a wrong one is no dead end).
// 2. The progress record says how many lines are committed. `done` = 1: nothing to do. Otherwise the
//    file is read again from the start (log-file-reader.ts: gzip, BOM, CRLF, JSON arrays, long lines),
//    the committed lines are skipped without being parsed, and the rest go through logRecord.
// 3. Records and refused lines are committed in batches (~500 lines or ~4 MB), each by one script call
//    that appends them and moves the progress record on, fenced on the count it started from. A crash
//    anywhere leaves a record that matches the streams exactly; the next run continues after it.
//    Two batches are in flight at most, and the file is read on only when fewer are: memory stays flat
//    however large the file.
//
// A record whose dedup key exists (the push routes set it for the dedup window) is already in the
// stream: it is skipped and counted as a duplicate. The import reads these keys and never sets them: a
// 1 GB file holds millions of lines, and one small hash per file keeps the import itself exactly once.
// What it does not notice is the same line in two different files (two imports), nor a line pushed
// longer ago than the dedup window.

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ImportConflictError, ImportFileError, SinkUnavailableError } from '../errors.ts';
import { dedupKeyOf, hashTagOf } from '../sink/append-script.ts';
import { importProgressKey, importScript } from '../sink/import-script.ts';
import { formatTime, recordFields, type StreamRecord } from '../sink/stream-record.ts';
import { withTimeout } from '../sink/with-timeout.ts';
import { readDecoded, readLogFileBatches, type LogFileItem } from '../sources/jamf-pro-logs/log-file-reader.ts';
import {
  changeManagementSource,
  complianceReporterSource,
  logErrorCodes,
  logRecord,
  loginSource,
  maxLogTextBytes,
} from '../sources/jamf-pro-logs/log-records.ts';

export interface ImportIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export interface ImportCommandOptions {
  readonly stream: string;
  /** In a Redis Cluster it must share the events stream's hash tag (`{orchard}:events`, `{orchard}:rejected`). */
  readonly rejectedStream: string;
  /** The rejected stream's approximate cap (XADD MAXLEN ~); 0 or unset: none. */
  readonly rejectedStreamMaxLen?: number;
  /** Aborting it (SIGINT, SIGTERM) stops after the batch being built, which is committed first. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** A progress bar (a terminal), else a progress line every 5 s at most. Default: process.stderr.isTTY. */
  readonly tty?: boolean;
  /** What `-` reads. Default process.stdin. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Where stdin is copied to be hashed. Default the system's temporary directory. */
  readonly tmpDir?: string;
  /** Replicas that must acknowledge each batch (redis_wait_replicas), and for how long to wait. */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  /** Lines per batch (default 500) and payload bytes per batch (default 4 MiB). */
  readonly batchLines?: number;
  readonly batchBytes?: number;
  /** How long one batch may take to be acknowledged. Default 60 s. */
  readonly commitTimeoutMs?: number;
}

export const importTypes = ['auto', loginSource, changeManagementSource, complianceReporterSource] as const;
export type ImportType = (typeof importTypes)[number];

/** A line whose source is not the one `--type` names. */
export const logWrongTypeCode = 'ORCHARD_ERR_LOG_WRONG_TYPE';
/** `source` of a refused line whose kind could not be told. */
export const unknownLogSource = 'jamf_pro.logs';
/** `connector` of imported records and `remote` of refused lines. */
export const importConnector = 'import';
/** How much of a line longer than the limit is kept in the rejected stream. */
export const keptTooLongBytes = 64 * 1024;

export const importUsage = `Usage: orchard import [--type auto|${loginSource}|${changeManagementSource}|${complianceReporterSource}] [--tenant T] FILE…`;

const usageDetails = `${importUsage}
  --type T     what the files hold; auto (the default) tells each line's kind by itself. A line of another
               kind than the one given is refused (${logWrongTypeCode}).
  --tenant T   the records' tenant (default empty)
  FILE         a log file as Jamf delivers it to S3: NDJSON ({"time","message"} or Compliance Reporter
               events), plain log lines or a JSON array of such objects, plain or gzip. - reads stdin.
Importing the same file again (plain or gzip) with the same --type and --tenant appends nothing; an
interrupted import continues where it stopped. Lines already in the stream (pushed within the dedup
window) are skipped. Exit 1 when a file cannot be read or every line of one was refused.`;

export interface ImportArgs {
  readonly type: ImportType;
  readonly tenant: string;
  readonly files: readonly string[];
}

/** The arguments after `import`, or undefined after printing what is wrong and the usage (exit code 2). */
export function parseImportArgs(args: string[], io: Pick<ImportIo, 'err'>): ImportArgs | undefined {
  let values: { type?: string; tenant?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { type: { type: 'string' }, tenant: { type: 'string' } } }));
  } catch (err) {
    io.err(`orchard import: ${(err as Error).message}\n${usageDetails}\n`);
    return undefined;
  }
  const problems: string[] = [];
  const type = values.type ?? 'auto';
  if (!(importTypes as readonly string[]).includes(type)) problems.push(`--type ${type}: give one of ${importTypes.join(', ')}.`);
  if (positionals.length === 0) problems.push('no FILE: name the files to import (- reads stdin).');
  if (positionals.filter((f) => f === '-').length > 1) problems.push('- (stdin) is named more than once.');
  if (positionals.some((f) => f === '')) problems.push('an empty FILE name was given.');
  if (problems.length > 0) {
    io.err(`${problems.map((p) => `orchard import: ${p}`).join('\n')}\n${usageDetails}\n`);
    return undefined;
  }
  return { type: type as ImportType, tenant: values.tenant ?? '', files: positionals };
}

// --- telling a refused line's source ------------------------------------------------------------

const wrappedAccess = /"message"\s*:\s*"\[JSSACCESSLOG\]/;
const wrappedChange = /"message"\s*:\s*"\[CHANGEMANAGEMENT\]/;
const crHeader = /"header"\s*:\s*\{/;

/**
 * The source a line looks like it belongs to, from its first bytes, without parsing it (also for a
 * truncated or otherwise broken line); undefined when it cannot be told.
 */
export function detectLogSource(text: string): string | undefined {
  const start = text.trimStart();
  if (start.startsWith('[JSSACCESSLOG]')) return loginSource;
  if (start.startsWith('[CHANGEMANAGEMENT]')) return changeManagementSource;
  if (!start.startsWith('{')) return undefined;
  const head = start.length > 4096 ? start.slice(0, 4096) : start;
  if (wrappedAccess.test(head)) return loginSource;
  if (wrappedChange.test(head)) return changeManagementSource;
  if (crHeader.test(head)) return complianceReporterSource;
  return undefined;
}

// --- numbers ------------------------------------------------------------------------------------

export interface FileSummary {
  readonly file: string;
  /** Lines (or JSON array elements) read in this run, skipped ones included. */
  lines: number;
  appended: number;
  /** Records already in the stream (their dedup key exists): not appended. */
  duplicates: number;
  rejected: number;
  readonly rejectedByCode: Map<string, number>;
  /** Lines refused as another kind than --type, by the kind they are. */
  readonly wrongType: Map<string, number>;
  /** What earlier runs committed of this file (the progress record before this run). */
  before: { appended: number; duplicates: number; rejected: number };
  /** Blank lines: ignored, neither appended nor rejected. */
  empty: number;
  /** Lines committed by an earlier run, read past without being imported again. */
  skipped: number;
  durationMs: number;
  /** Set when the file was complete before this run: when it was last updated. */
  alreadyImported?: string;
  interrupted?: boolean;
}

function newSummary(file: string): FileSummary {
  return {
    file,
    lines: 0,
    appended: 0,
    duplicates: 0,
    rejected: 0,
    rejectedByCode: new Map(),
    wrongType: new Map(),
    before: { appended: 0, duplicates: 0, rejected: 0 },
    empty: 0,
    skipped: 0,
    durationMs: 0,
  };
}

/** The whole file (earlier runs included) is in, and every line of it that was not blank was refused. */
function allRefused(s: FileSummary): boolean {
  const b = s.before;
  return b.appended + s.appended === 0 && b.duplicates + s.duplicates === 0 && b.rejected + s.rejected > 0;
}

function rate(count: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((count * 1000) / ms);
}

function describeRejected(byCode: Map<string, number>, total: number): string {
  if (total === 0) return '0 rejected';
  const codes = [...byCode.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}: ${n}`);
  return `${total} rejected (${codes.join(', ')})`;
}

function describeSummary(s: FileSummary): string {
  const seconds = (s.durationMs / 1000).toFixed(s.durationMs < 10_000 ? 2 : 1);
  return (
    `${s.lines} lines: ${s.appended} appended, ${s.duplicates} already in the stream, ${describeRejected(s.rejectedByCode, s.rejected)}, ` +
    `${s.empty} empty, ${s.skipped} skipped (already imported); ${seconds} s, ${rate(s.lines - s.skipped, s.durationMs)} lines/s`
  );
}

/** What to do about the lines refused as another kind than --type (and about a file refused whole). */
function describeAdvice(s: FileSummary, whole: boolean): string {
  const kinds = [...s.wrongType.entries()].sort(([a], [b]) => a.localeCompare(b));
  const lines = (n: number) => `${n} line${n === 1 ? '' : 's'}`;
  if (whole) {
    const rejected = s.before.rejected + s.rejected;
    let advice = `; nothing imported: every line was refused (${lines(rejected)}, kept in the rejected stream)`;
    if (kinds.length === 1) {
      const [kind, n] = kinds[0]!;
      advice += `; ${n === rejected ? 'they are' : `${lines(n)} of them are`} ${kind} lines: import the file again with --type ${kind}`;
    } else if (kinds.length > 1) {
      advice += `; ${kinds.map(([kind, n]) => `${lines(n)} ${kind}`).join(', ')}: import the file again with --type auto`;
    }
    return advice;
  }
  return kinds.map(([kind, n]) => `; ${lines(n)} refused as ${kind}: to add them, import the file again with --type ${kind}`).join('');
}

// --- progress output ----------------------------------------------------------------------------

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A progress bar on a terminal (5 updates a second at most), else one line every 5 s at most. */
class Progress {
  #last = 0;
  #shown = false;
  readonly #intervalMs: number;

  constructor(
    private readonly io: ImportIo,
    private readonly tty: boolean,
  ) {
    this.#intervalMs = tty ? 200 : 5000;
  }

  /** Resets the throttle so that the next update of a new phase is shown after one interval. */
  begin(): void {
    this.#last = Date.now();
  }

  update(render: (tty: boolean) => string, force = false): void {
    const now = Date.now();
    if (!force && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    if (this.tty) {
      this.io.err(`\r${render(true)}\x1b[K`);
      this.#shown = true;
    } else {
      this.io.err(`${render(false)}\n`);
    }
  }

  /** Removes the bar, so that what follows starts on a clean line. */
  clear(): void {
    if (this.tty && this.#shown) this.io.err('\r\x1b[K');
    this.#shown = false;
  }
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function percent(done: number, total: number): string {
  return total <= 0 ? '100%' : `${Math.min(100, Math.floor((done * 100) / total))}%`;
}

// --- batches ------------------------------------------------------------------------------------

interface RejectedRow {
  readonly code: string;
  /** The kind of a line refused as another kind than --type. */
  readonly detected?: string;
  readonly reason: string;
  readonly source: string;
  readonly received: string;
  readonly payload: string;
}

interface Batch {
  readonly records: StreamRecord[];
  readonly rejected: RejectedRow[];
  bytes: number;
  /** Lines consumed before this batch (what the progress record holds when it is committed). */
  readonly startLines: number;
  /** Lines consumed once this batch is committed (the progress record's new `lines`). */
  endLines: number;
}

type ScriptReply = [string, string, string];

/** Commits a file's batches in order, two in flight at most, fenced on the progress record. */
class Committer {
  readonly #inFlight: Promise<void>[] = [];
  readonly #nonce = randomBytes(6).toString('base64url');
  #batches = 0;
  /** `lines` the next batch expects to find in the progress record. */
  #sentLines: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: readonly [string, string, string],
    /** The events stream's hash tag: the dedup keys' prefix. */
    private readonly hashTag: string,
    private readonly fileName: string,
    private readonly summary: FileSummary,
    private readonly options: ImportCommandOptions,
    committedLines: number,
  ) {
    this.#sentLines = committedLines;
  }

  /** Sends a batch once fewer than two are in flight; throws the error of an earlier batch that failed. */
  async send(batch: Batch, done: boolean): Promise<void> {
    while (this.#inFlight.length >= 2) await this.#inFlight.shift();
    const sent = this.#commit(batch, done);
    sent.catch(() => {});
    this.#inFlight.push(sent);
  }

  /** Waits for every batch sent; throws the first failure (after all of them settled). */
  async drain(): Promise<void> {
    const pending = this.#inFlight.splice(0);
    const results = await Promise.allSettled(pending);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #commit(batch: Batch, done: boolean): Promise<void> {
    const expected = this.#sentLines;
    this.#sentLines = batch.endLines;
    const args: (string | number)[] = [3 + batch.records.length, ...this.keys];
    for (const record of batch.records) args.push(dedupKeyOf(this.hashTag, record.source, record.id)); // read, never set, by an import
    args.push(
      String(expected),
      String(batch.endLines),
      `${this.#nonce}.${(this.#batches++).toString(36)}`,
      this.fileName,
      formatTime(Date.now()),
      done ? '1' : '0',
      batch.records.length,
      batch.rejected.length,
      this.options.rejectedStreamMaxLen ?? 0,
    );
    for (const record of batch.records) for (const field of recordFields) args.push(record[field] as string);
    for (const r of batch.rejected) args.push(r.reason, r.source, r.received, importConnector, r.payload);
    const call = importScript.runFlat<ScriptReply>(this.redis, args, this.options.logger);
    const timeoutMs = this.options.commitTimeoutMs ?? 60_000;
    const [outcome, lines, duplicates] = await withTimeout(call, timeoutMs, `Redis did not acknowledge a batch of the import within ${timeoutMs} ms.`);
    if (outcome === 'stale') throw new ImportConflictError(this.summary.file, expected, Number(lines));
    // Committed on the primary ('ok', or 'done' for a batch ioredis sent again): counted.
    const found = Number(duplicates);
    this.summary.appended += batch.records.length - found;
    this.summary.duplicates += found;
    this.summary.rejected += batch.rejected.length;
    for (const r of batch.rejected) {
      this.summary.rejectedByCode.set(r.code, (this.summary.rejectedByCode.get(r.code) ?? 0) + 1);
      if (r.detected !== undefined) this.summary.wrongType.set(r.detected, (this.summary.wrongType.get(r.detected) ?? 0) + 1);
    }
    const wanted = this.options.waitReplicas ?? 0;
    if (wanted > 0) {
      const waitMs = this.options.waitTimeoutMs ?? 500;
      const acked = await withTimeout(this.redis.wait(wanted, waitMs), timeoutMs, `Redis did not answer WAIT within ${timeoutMs} ms.`);
      if (acked < wanted) throw new SinkUnavailableError(`Only ${acked} of ${wanted} Redis replicas acknowledged within ${waitMs} ms (redis_wait_replicas).`);
    }
  }
}

// --- reading and hashing ------------------------------------------------------------------------

interface Source {
  /** What the file is called in messages and in the progress record. */
  readonly name: string;
  /** The path read. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Removes the temporary copy of stdin. */
  readonly dispose?: () => Promise<void>;
}

function describeReadError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory';
  if (e?.code === 'Z_BUF_ERROR' || e?.code === 'Z_DATA_ERROR') return `the gzip data is damaged or truncated (${e.message})`;
  return e?.message ?? String(err);
}

class Interrupted extends Error {}

/** An error of the gzip data (damaged, truncated), rather than of reading the file. */
function isDecodeError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * What names a file's content: the sha256 of its first `size` bytes decoded (gunzipped when gzip), so a
 * file and its gzip copy are one import. When its gzip data is damaged, the sha256 of its raw bytes
 * instead: always the same for the same file, and no plain file starts with the gzip magic bytes.
 */
async function hashContent(path: string, size: number, progress: Progress, name: string, signal: AbortSignal | undefined): Promise<string> {
  let read = 0;
  const show = (label: string) =>
    progress.update((tty) => (tty ? `${label} ${name} ${bar(read / size)} ${percent(read, size)} ${mb(read)}/${mb(size)} MB` : `${label} ${name}: ${percent(read, size)} (${mb(read)} of ${mb(size)} MB)`));
  const decoded = createHash('sha256');
  try {
    for await (const chunk of readDecoded(path, { end: size, chunkBytes: 1024 * 1024, onRawBytes: (n) => ((read += n), show('hashing')) })) {
      if (signal?.aborted) throw new Interrupted();
      decoded.update(chunk);
    }
    return decoded.digest('hex');
  } catch (err) {
    if (!isDecodeError(err)) throw err;
  }
  // Damaged gzip data: the import pass reads the lines before the damage and reports it.
  const raw = createHash('sha256');
  read = 0;
  if (size > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: 1024 * 1024 })) {
      if (signal?.aborted) throw new Interrupted();
      raw.update(chunk as Buffer);
      read += (chunk as Buffer).length;
      show('hashing (damaged gzip data)');
    }
  }
  return raw.digest('hex');
}

/** The file to read, hashed: stdin and other non-regular files are copied to a temporary file first. */
async function prepareSource(file: string, options: ImportCommandOptions, io: ImportIo, progress: Progress): Promise<Source> {
  const name = file === '-' ? 'stdin' : file;
  let regular = false;
  let size = 0;
  if (file !== '-') {
    try {
      const info = await stat(file);
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      regular = info.isFile();
      size = info.size;
    } catch (err) {
      throw new ImportFileError(file, `cannot read it: ${describeReadError(err)}`, err);
    }
  }
  let path = file;
  let dispose: (() => Promise<void>) | undefined;
  if (!regular) {
    // stdin, a pipe or a device: it can be read once only, so it is copied.
    const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'orchard-import-'));
    dispose = () => rm(dir, { recursive: true, force: true });
    path = join(dir, file === '-' ? 'stdin' : basename(file));
    progress.begin();
    try {
      const input = file === '-' ? (options.stdin ?? process.stdin) : createReadStream(file);
      await pipeline(
        input,
        async function* (source: AsyncIterable<Buffer | string>) {
          for await (const chunk of source) {
            const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            size += buf.length;
            progress.update(() => `reading ${name} into a temporary file: ${mb(size)} MB`);
            yield buf;
          }
        },
        createWriteStream(path, { mode: 0o600 }),
        ...(options.signal ? [{ signal: options.signal }] : []),
      );
    } catch (err) {
      await dispose();
      if (options.signal?.aborted) throw new Interrupted();
      throw new ImportFileError(name, `cannot read it: ${describeReadError(err)}`, err);
    } finally {
      progress.clear();
    }
  }
  io.err(`hashing ${name}…\n`);
  progress.begin();
  try {
    const sha256 = await hashContent(path, size, progress, name, options.signal);
    return { name, path, size, sha256, ...(dispose === undefined ? {} : { dispose }) };
  } catch (err) {
    await dispose?.();
    if (err instanceof Interrupted) throw err;
    throw new ImportFileError(name, `cannot read it: ${describeReadError(err)}`, err);
  } finally {
    progress.clear();
  }
}

// --- one file -----------------------------------------------------------------------------------

interface ImportContext {
  readonly redis: Redis;
  readonly io: ImportIo;
  readonly options: ImportCommandOptions;
  readonly args: ImportArgs;
  readonly progress: Progress;
}

function reasonJson(code: string, message: string, details: unknown[], file: string, item: LogFileItem): string {
  return JSON.stringify({ code, message, details, file, line: item.line, ...(item.element === undefined ? {} : { element: item.element }) });
}

/** A file's import that stopped: the summary of what was committed before, and why it stopped. */
interface FileOutcome {
  readonly summary: FileSummary;
  readonly error?: unknown;
}

async function importFile(ctx: ImportContext, file: string): Promise<FileOutcome> {
  const started = performance.now();
  const { redis, io, options, progress } = ctx;
  const source = await prepareSource(file, options, io, progress);
  const summary = newSummary(source.name);
  try {
    const hashTag = hashTagOf(options.stream);
    const key = importProgressKey(hashTag, source.sha256, ctx.args.type, ctx.args.tenant);
    const stored = await withTimeout(redis.hgetall(key), 10_000, 'Redis did not answer within 10 s.');
    summary.before = { appended: Number(stored.appended ?? 0), duplicates: Number(stored.duplicates ?? 0), rejected: Number(stored.rejected ?? 0) };
    if (stored.done === '1') {
      summary.alreadyImported = stored.updated ?? stored.started ?? 'an earlier run';
      summary.skipped = Number(stored.lines ?? 0);
      summary.lines = summary.skipped;
      return { summary };
    }
    const committed = Number(stored.lines ?? 0);
    if (committed > 0) {
      const b = summary.before;
      io.err(`${source.name}: resuming after line ${committed} (an earlier run appended ${b.appended}, found ${b.duplicates} already in the stream and rejected ${b.rejected}).\n`);
    }
    const committer = new Committer(redis, [options.stream, options.rejectedStream, key], hashTag, source.name, summary, options, committed);
    await readAndCommit(ctx, source, summary, committer, committed, started);
    return { summary };
  } catch (error) {
    return { summary, error };
  } finally {
    summary.durationMs = performance.now() - started;
    progress.clear();
    await source.dispose?.();
  }
}

/** An error of the reader (the file, its gzip data), told apart from the errors of Redis. */
class ReadFailure extends Error {
  constructor(readonly failure: unknown) {
    super((failure as Error)?.message ?? String(failure));
  }
}

async function* readFailuresTagged(batches: AsyncGenerator<LogFileItem[]>): AsyncGenerator<LogFileItem[]> {
  try {
    for (;;) {
      let next: IteratorResult<LogFileItem[]>;
      try {
        next = await batches.next();
      } catch (err) {
        throw new ReadFailure(err);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await batches.return(undefined);
  }
}

async function readAndCommit(ctx: ImportContext, source: Source, summary: FileSummary, committer: Committer, committed: number, started: number): Promise<void> {
  const { options, args, progress } = ctx;
  const maxLines = options.batchLines ?? 500;
  const maxBytes = options.batchBytes ?? 4 * 1024 * 1024;
  const type = args.type;
  let bytesRead = 0;
  let ordinal = 0;
  let batch: Batch = { records: [], rejected: [], bytes: 0, startLines: committed, endLines: committed };
  const render = (tty: boolean): string => {
    const elapsed = performance.now() - started;
    const perSecond = grouped(rate(summary.lines - summary.skipped, elapsed));
    if (tty) {
      return `${source.name} ${bar(bytesRead / source.size)} ${percent(bytesRead, source.size)} ${mb(bytesRead)}/${mb(source.size)} MB  ${perSecond} lines/s  appended ${grouped(summary.appended)}  already in the stream ${grouped(summary.duplicates)}  rejected ${grouped(summary.rejected)}`;
    }
    return `${source.name}: ${percent(bytesRead, source.size)} (${mb(bytesRead)} of ${mb(source.size)} MB), ${summary.lines} lines, ${perSecond} lines/s, ${summary.appended} appended, ${summary.duplicates} already in the stream, ${summary.rejected} rejected`;
  };
  progress.begin();
  const reject = (item: LogFileItem, code: string, message: string, details: unknown[], rejectedSource: string, detected?: string) => {
    const reason = reasonJson(code, message, details, source.name, item);
    batch.rejected.push({ code, reason, source: rejectedSource, received: formatTime(Date.now()), payload: item.text, ...(detected === undefined ? {} : { detected }) });
    batch.bytes += item.text.length + reason.length;
  };
  const batches = readLogFileBatches(source.path, { end: source.size, keepBytes: keptTooLongBytes, onRawBytes: (n) => ((bytesRead += n), progress.update(render)) });
  let readError: unknown;
  try {
    reading: for await (const items of readFailuresTagged(batches)) {
      for (const item of items) {
        if (options.signal?.aborted) {
          summary.interrupted = true;
          break reading;
        }
        ordinal++;
        summary.lines++;
        if (ordinal <= committed) {
          summary.skipped++;
          continue;
        }
        batch.endLines = ordinal;
        const text = item.text;
        if (item.tooLong) {
          const detected = detectLogSource(text);
          const kept = Buffer.byteLength(text);
          reject(
            item,
            logErrorCodes.tooLarge,
            `line is ${item.bytes} bytes, more than the ${maxLogTextBytes} accepted; the payload keeps its first ${kept} bytes only`,
            [{ bytes: item.bytes, limit: maxLogTextBytes, kept }],
            type !== 'auto' ? type : (detected ?? unknownLogSource),
          );
        } else if (text.length === 0 || /^\s*$/.test(text)) {
          summary.empty++;
        } else {
          const result = logRecord({ text, tenant: args.tenant, connector: importConnector, receivedMs: Date.now() });
          if (result.ok) {
            if (type !== 'auto' && result.record.source !== type) {
              reject(item, logWrongTypeCode, wrongTypeMessage(result.record.source, type), [{ detected: result.record.source, expected: type }], type, result.record.source);
            } else {
              batch.records.push(result.record);
              // The payload, the indicators and the record's dedup key (~120 bytes).
              batch.bytes += (result.record.payload as string).length + result.record.indicators.length + 120;
            }
          } else {
            const detected = detectLogSource(text);
            if (type !== 'auto' && detected !== undefined && detected !== type) {
              reject(item, logWrongTypeCode, `${wrongTypeMessage(detected, type)} (and it does not parse: ${result.reason})`, [{ detected, expected: type }], type, detected);
            } else {
              reject(item, result.code, result.reason, result.details ?? [], type !== 'auto' ? type : (detected ?? unknownLogSource));
            }
          }
        }
        if (batch.records.length + batch.rejected.length >= maxLines || batch.bytes >= maxBytes) {
          await committer.send(batch, false);
          batch = { records: [], rejected: [], bytes: 0, startLines: ordinal, endLines: ordinal };
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ReadFailure)) {
      // Redis failed: the batches already sent still count when they were acknowledged.
      await committer.drain().catch(() => {});
      throw err;
    }
    readError = err.failure;
  }
  // What was read before an interruption or a read error is committed all the same; a complete file
  // commits its last batch with done = 1, even an empty one.
  const complete = readError === undefined && !summary.interrupted;
  if (complete || batch.endLines > batch.startLines) await committer.send(batch, complete);
  await committer.drain();
  progress.clear();
  if (readError !== undefined) {
    const imported = summary.lines - summary.skipped;
    throw new ImportFileError(
      source.name,
      `reading stopped after line ${summary.lines}: ${describeReadError(readError)}. ${imported} line${imported === 1 ? '' : 's'} before the damage ${imported === 1 ? 'was' : 'were'} imported in this run; the rest of the file could not be read.`,
      readError,
    );
  }
}

function wrongTypeMessage(detected: string, type: string): string {
  return `this is a ${detected} line, and --type ${type} was given: import it with --type ${detected} or --type auto`;
}

// --- the command --------------------------------------------------------------------------------

/**
 * `orchard import [--type T] [--tenant X] FILE…`, `args` being the arguments after `import`. Prints
 * a summary per file and a total on `io.out`, progress and errors on `io.err`. Returns the exit code:
 * 0 every file was read (refused lines included), 1 a file could not be read, every non-blank line of
 * a file was refused, or Redis failed, 2 bad arguments, 130 interrupted.
 */
export async function importCommand(args: string[], io: ImportIo, redis: Redis, options: ImportCommandOptions): Promise<number> {
  const parsed = parseImportArgs(args, io);
  if (!parsed) return 2;
  try {
    await withTimeout(redis.ping(), 10_000, 'Redis did not answer PING within 10 s.');
  } catch (err) {
    io.err(`orchard import: Redis failed: ${(err as Error).message}\n`);
    return 1;
  }
  const progress = new Progress(io, options.tty ?? process.stderr.isTTY === true);
  const ctx: ImportContext = { redis, io, options, args: parsed, progress };
  const summaries: FileSummary[] = [];
  let exitCode = 0;
  let interrupted = false;
  for (const file of parsed.files) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    let outcome: FileOutcome;
    try {
      outcome = await importFile(ctx, file);
    } catch (err) {
      progress.clear();
      if (err instanceof Interrupted) {
        interrupted = true;
        break;
      }
      // The file could not be opened or hashed.
      exitCode = 1;
      io.err(`orchard import: ${(err as Error)?.message ?? String(err)}\n`);
      continue;
    }
    const { summary, error } = outcome;
    summaries.push(summary);
    // Refused whole: only said of a file read to its end.
    const whole = error === undefined && !summary.interrupted && allRefused(summary);
    if (whole) exitCode = 1;
    if (summary.alreadyImported !== undefined) {
      const refused = whole ? `; every line was refused then (${summary.before.rejected} rejected, kept in the rejected stream)` : '';
      io.out(`${summary.file}: already imported on ${summary.alreadyImported}${refused}: nothing to do\n`);
    } else {
      io.out(`${summary.file}: ${describeSummary(summary)}${error === undefined ? '' : ' (stopped early)'}${describeAdvice(summary, whole)}\n`);
    }
    if (summary.interrupted) {
      interrupted = true;
      break;
    }
    if (error !== undefined) {
      exitCode = 1;
      if (error instanceof ImportFileError || error instanceof ImportConflictError) {
        io.err(`orchard import: ${error.message}\n`);
        continue;
      }
      // Redis failed: the other files would fare no better.
      io.err(`orchard import: ${summary.file}: Redis failed: ${(error as Error)?.message ?? String(error)}\n`);
      break;
    }
  }
  if (summaries.length > 1 || (summaries.length === 1 && parsed.files.length > 1)) {
    const total = newSummary('total');
    for (const s of summaries) {
      total.lines += s.lines;
      total.appended += s.appended;
      total.duplicates += s.duplicates;
      total.rejected += s.rejected;
      total.empty += s.empty;
      total.skipped += s.skipped;
      total.durationMs += s.durationMs;
      for (const [code, n] of s.rejectedByCode) total.rejectedByCode.set(code, (total.rejectedByCode.get(code) ?? 0) + n);
    }
    io.out(`total (${summaries.length} of ${parsed.files.length} files): ${describeSummary(total)}\n`);
  }
  if (interrupted) {
    io.out('interrupted; run the same command again to resume\n');
    return 130;
  }
  return exitCode;
}
