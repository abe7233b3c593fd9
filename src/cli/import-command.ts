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


import type { RedisClient } from '../redis/redis-client.ts';
import { ImportConflictError, ImportFileError, ImportInterruptedError } from '../errors.ts';
import { withTimeout } from '../redis/with-timeout.ts';
import { importFile, type FileOutcome, type ImportContext } from './import-file.ts';
import { parseImportArgs, type ImportCommandOptions, type ImportIo } from './import-options.ts';
import { Progress } from './import-progress.ts';
import { allRefused, describeAdvice, describeSummary, newSummary, type FileSummary } from './import-summary.ts';

export { importUsage, parseImportArgs, type ImportCommandOptions, type ImportIo } from './import-options.ts';

/**
 * `orchard import [--type T] [--tenant X] FILE…`, `args` being the arguments after `import`. Prints
 * a summary per file and a total on `io.out`, progress and errors on `io.err`. Returns the exit code:
 * 0 every file was read (refused lines included), 1 a file could not be read, every non-blank line of
 * a file was refused, or Redis failed, 2 bad arguments, 130 interrupted.
 */
export async function importCommand(args: string[], io: ImportIo, redis: RedisClient, options: ImportCommandOptions): Promise<number> {
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
      if (err instanceof ImportInterruptedError) {
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
