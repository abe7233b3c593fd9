import type { RedisClient } from '../redis/redis-client.ts';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ImportFileError, ImportInterruptedError, logErrorCodes } from '../errors.ts';
import { Keyspace } from '../redis/keyspace.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import { ImportCommitter, importConnector, type ImportBatch } from '../sink/import-committer.ts';
import { detectLogSource, unknownLogSource } from '../sources/jamf-pro-logs/log-kinds.ts';
import { readDecoded, readLogFileBatches, type LogFileItem } from '../sources/jamf-pro-logs/log-file-reader.ts';
import { logRecord, maxLogTextBytes } from '../sources/jamf-pro-logs/log-records.ts';
import { formatTime } from '../stream/stream-record.ts';
import type { ImportArgs, ImportCommandOptions, ImportIo } from './import-options.ts';
import { bar, grouped, mb, percent, type Progress } from './import-progress.ts';
import { newSummary, rate, type FileSummary } from './import-summary.ts';

// One file of `orchard import`: hashed to find its progress record, then read line by line, each line
// parsed into a record or refused, and committed in batches (src/sink/import-committer.ts).

/** How much of a line longer than the limit is kept in the rejected stream. */
export const keptTooLongBytes = 64 * 1024;

/** A file to import, hashed. */
interface ImportSource {
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
      if (signal?.aborted) throw new ImportInterruptedError();
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
      if (signal?.aborted) throw new ImportInterruptedError();
      raw.update(chunk as Buffer);
      read += (chunk as Buffer).length;
      show('hashing (damaged gzip data)');
    }
  }
  return raw.digest('hex');
}

/** The file to read, hashed: stdin and other non-regular files are copied to a temporary file first. */
async function prepareSource(file: string, options: ImportCommandOptions, io: ImportIo, progress: Progress): Promise<ImportSource> {
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
      if (options.signal?.aborted) throw new ImportInterruptedError();
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
    if (err instanceof ImportInterruptedError) throw err;
    throw new ImportFileError(name, `cannot read it: ${describeReadError(err)}`, err);
  } finally {
    progress.clear();
  }
}

// --- one file -----------------------------------------------------------------------------------

export interface ImportContext {
  readonly redis: RedisClient;
  readonly io: ImportIo;
  readonly options: ImportCommandOptions;
  readonly args: ImportArgs;
  readonly progress: Progress;
}

function reasonJson(code: string, message: string, details: unknown[], file: string, item: LogFileItem): string {
  return JSON.stringify({ code, message, details, file, line: item.line, ...(item.element === undefined ? {} : { element: item.element }) });
}

/** A file's import that stopped: the summary of what was committed before, and why it stopped. */
export interface FileOutcome {
  readonly summary: FileSummary;
  readonly error?: unknown;
}

export async function importFile(ctx: ImportContext, file: string): Promise<FileOutcome> {
  const started = performance.now();
  const { redis, io, options, progress } = ctx;
  const source = await prepareSource(file, options, io, progress);
  const summary = newSummary(source.name);
  try {
    const key = new Keyspace(options.stream).importProgress(source.sha256, ctx.args.type, ctx.args.tenant);
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
    const committer = new ImportCommitter({
      redis,
      stream: options.stream,
      rejectedStream: options.rejectedStream,
      rejectedStreamMaxLen: options.rejectedStreamMaxLen,
      progressKey: key,
      fileName: source.name,
      committedLines: committed,
      waitReplicas: options.waitReplicas,
      waitTimeoutMs: options.waitTimeoutMs,
      commitTimeoutMs: options.commitTimeoutMs,
      onCommitted: (batch, duplicates) => countCommitted(summary, batch, duplicates),
      logger: options.logger,
    });
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

/**
 * The reader's batches until it fails (the file, its gzip data): the failure is handed to `onFailure`
 * and ends the batches, so that it is told apart from the errors of Redis, which are thrown.
 */
async function* untilReadFailure(batches: AsyncGenerator<LogFileItem[]>, onFailure: (err: unknown) => void): AsyncGenerator<LogFileItem[]> {
  try {
    for (;;) {
      let next: IteratorResult<LogFileItem[]>;
      try {
        next = await batches.next();
      } catch (err) {
        onFailure(err);
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await batches.return(undefined);
  }
}

async function readAndCommit(ctx: ImportContext, source: ImportSource, summary: FileSummary, committer: ImportCommitter, committed: number, started: number): Promise<void> {
  const { options, args, progress } = ctx;
  const maxLines = options.batchLines ?? 500;
  const maxBytes = options.batchBytes ?? 4 * 1024 * 1024;
  const type = args.type;
  let bytesRead = 0;
  let ordinal = 0;
  let batch: ImportBatch = { records: [], rejected: [], bytes: 0, startLines: committed, endLines: committed };
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
    reading: for await (const items of untilReadFailure(batches, (err) => (readError = err))) {
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
              reject(item, logErrorCodes.wrongType, wrongTypeMessage(result.record.source, type), [{ detected: result.record.source, expected: type }], type, result.record.source);
            } else {
              batch.records.push(result.record);
              // The payload, the indicators and the record's dedup key (~120 bytes).
              batch.bytes += (result.record.payload as string).length + result.record.indicators.length + 120;
            }
          } else {
            const detected = detectLogSource(text);
            if (type !== 'auto' && detected !== undefined && detected !== type) {
              reject(item, logErrorCodes.wrongType, `${wrongTypeMessage(detected, type)} (and it does not parse: ${result.reason})`, [{ detected, expected: type }], type, detected);
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
    // Redis failed: the batches already sent still count when they were acknowledged.
    await committer.drain().catch(() => {});
    throw err;
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

/** Counts a batch the committer committed on the primary. */
function countCommitted(summary: FileSummary, batch: ImportBatch, duplicates: number): void {
  summary.appended += batch.records.length - duplicates;
  summary.duplicates += duplicates;
  summary.rejected += batch.rejected.length;
  for (const r of batch.rejected) {
    summary.rejectedByCode.set(r.code, (summary.rejectedByCode.get(r.code) ?? 0) + 1);
    if (r.detected !== undefined) summary.wrongType.set(r.detected, (summary.wrongType.get(r.detected) ?? 0) + 1);
  }
}
