import type { Logger } from 'pino';
import { parseArgs } from 'node:util';
import { logErrorCodes } from '../errors.ts';
import { changeManagementSource, complianceReporterSource, loginSource } from '../sources/jamf-pro-logs/log-kinds.ts';

// What `orchard import` is given: its arguments, how it talks to the user, and its options.

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

export const importUsage = `Usage: orchard import [--type auto|${loginSource}|${changeManagementSource}|${complianceReporterSource}] [--tenant T] [--config FILE] FILE…`;

const usageDetails = `${importUsage}
  --type T     what the files hold; auto (the default) tells each line's kind by itself. A line of another
               kind than the one given is refused (${logErrorCodes.wrongType}).
  --tenant T   the records' tenant (default empty)
  --config F   the YAML configuration file, for Redis and the stream (default: ORCHARD_CONFIG)
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

