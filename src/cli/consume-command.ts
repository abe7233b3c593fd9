// `orchard consume`: the reference consumer on the command line, printing each entry as one JSON line.
// The traps it avoids on top of StreamConsumer's (see src/consumer/stream-consumer.ts):
//
// - process.stdout.write returns before the bytes are anywhere: an entry acknowledged then could be
//   lost if the process dies or the reader goes away. Each entry is acknowledged only after its line's
//   write callback fired without error (`out` returns a promise that waits for it: `waitingWriter`).
// - A closed pipe (`orchard consume … | head -3`) fails writes with EPIPE (and emits 'error', which
//   would crash the process if nobody listened). The command then stops without acknowledging the
//   entry whose line failed; it and the rest of the batch stay pending for the next run.
// - A restart must see its own pending entries again, so the default consumer name is the host name
//   (stable across runs), not the library's `<hostname>-<pid>`.
// - Without --follow the command stops at the first empty read (after its pending entries, the
//   janitor's pass and the new ones); it never sends a blocking read, so it cannot hang there.

import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { StreamConsumer, type GroupCreated } from '../consumer/stream-consumer.ts';
import { commandHelp } from './command-usage.ts';

export interface ConsumeIo {
  /** Writes a line; when it returns a promise, the entry is acknowledged only after it resolved. */
  readonly out: (text: string) => void | Promise<void>;
  readonly err: (text: string) => void;
}

export interface ConsumeCommandOptions {
  readonly stream: string;
  /** Aborting it (Ctrl-C) stops after the line being written. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  readonly deadLetterStream?: string;
  readonly maxDeliveries?: number;
  /** With --follow. Default 5000. */
  readonly blockMs?: number;
  readonly claimIdleMs?: number;
  readonly janitorIntervalMs?: number;
}

export const consumeUsage = `Usage: orchard ${commandHelp.consume.usage}`;

const usageDetails = `${consumeUsage}\nRun 'orchard consume --help' for the options.`;

/**
 * A writer for `ConsumeIo.out` that resolves when the stream accepted the text (its write callback),
 * and rejects (EPIPE when the reader went away) instead of crashing on the stream's 'error' event.
 */
export function waitingWriter(stream: NodeJS.WritableStream): (text: string) => Promise<void> {
  let failed: Error | undefined;
  stream.on('error', (err: Error) => {
    failed ??= err;
  });
  return (text) =>
    failed
      ? Promise.reject(failed)
      : new Promise<void>((resolve, reject) => {
          stream.write(text, (err?: Error | null) => (err ? reject((failed ??= err)) : resolve()));
        });
}

interface ParsedArgs {
  readonly group: string;
  readonly consumer: string;
  readonly from: string;
  readonly count: number | undefined;
  readonly follow: boolean;
}

function parse(args: string[], io: ConsumeIo): ParsedArgs | undefined {
  let values: { group?: string; consumer?: string; from?: string; count?: string; follow?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { group: { type: 'string' }, consumer: { type: 'string' }, from: { type: 'string' }, count: { type: 'string' }, follow: { type: 'boolean' } },
    }));
  } catch (err) {
    io.err(`orchard consume: ${(err as Error).message}\n${usageDetails}\n`);
    return undefined;
  }
  const problems: string[] = [];
  if (values.group === undefined) problems.push('--group is required: name the consumer group to read with.');
  else if (values.group.trim() === '') problems.push('--group is empty: name the consumer group to read with.');
  if (values.consumer !== undefined && values.consumer.trim() === '') problems.push('--consumer is empty: give a name or leave the flag out.');
  if (values.from !== undefined && !/^(\$|0|\d+(-\d+)?)$/.test(values.from)) problems.push(`--from ${values.from}: give 0 (the oldest retained entry), $ (new entries only) or a stream entry id such as 1700000000000-0.`);
  if (values.count !== undefined && (!/^\d+$/.test(values.count) || Number(values.count) < 1 || !Number.isSafeInteger(Number(values.count)))) {
    problems.push(`--count ${values.count}: give a whole number of entries, 1 or more.`);
  }
  if (problems.length > 0) {
    io.err(`${problems.map((p) => `orchard consume: ${p}`).join('\n')}\n${usageDetails}\n`);
    return undefined;
  }
  return {
    group: values.group!,
    consumer: values.consumer ?? hostname(),
    from: values.from ?? '0',
    count: values.count === undefined ? undefined : Number(values.count),
    follow: values.follow ?? false,
  };
}

/** "group siem created at the oldest entry, 7,001 entries to read". */
export function groupCreatedText(group: string, created: GroupCreated): string {
  const where = created.from === '0' ? 'at the oldest entry' : created.from === '$' ? 'at the end of the stream (only new entries)' : `after entry ${created.from}`;
  const count = created.entriesToRead === null ? '' : `, ${created.entriesToRead.toLocaleString('en-US')} entr${created.entriesToRead === 1 ? 'y' : 'ies'} to read`;
  return `Group ${group} created ${where}${count}.`;
}

function isClosedPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

/**
 * `orchard consume --group G [--consumer C] [--from 0|$|ID] [--count N] [--follow]`, `args` being the
 * arguments after `consume`. Prints each entry (contract v1 fields, payload parsed) as one JSON line
 * and acknowledges it once the line is written. Returns the exit code: 0 done (also when the reader
 * closed the pipe), 1 output failed, 2 bad arguments.
 */
export async function consumeCommand(args: string[], io: ConsumeIo, redis: RedisClient, createBlocking: () => RedisClient, options: ConsumeCommandOptions): Promise<number> {
  const parsed = parse(args, io);
  if (!parsed) return 2;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let outputError: unknown;
  const consumer = new StreamConsumer({
    redis,
    createBlockingConnection: createBlocking,
    stream: options.stream,
    group: parsed.group,
    consumer: parsed.consumer,
    from: parsed.from,
    count: Math.min(100, parsed.count ?? 100),
    blockMs: parsed.follow ? (options.blockMs ?? 5000) : 0,
    limit: parsed.count,
    stopWhenIdle: !parsed.follow,
    deadLetterStream: options.deadLetterStream,
    maxDeliveries: options.maxDeliveries,
    claimIdleMs: options.claimIdleMs,
    janitorIntervalMs: options.janitorIntervalMs,
    logger: options.logger,
    signal: stop.signal,
    handler: {
      onEntry: async (entry) => {
        if (outputError !== undefined) throw outputError;
        try {
          await io.out(`${JSON.stringify(entry)}\n`);
        } catch (err) {
          outputError = err;
          stop.abort();
          throw err;
        }
      },
    },
  });
  try {
    if (options.signal?.aborted) return 0;
    await consumer.start();
    if (consumer.groupCreated) io.err(`${groupCreatedText(parsed.group, consumer.groupCreated)}\n`);
    await consumer.done;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.stop();
  }
  const { acknowledged } = consumer.stats;
  const done = `${acknowledged} entr${acknowledged === 1 ? 'y' : 'ies'} of ${options.stream} acknowledged for group ${parsed.group} as consumer ${parsed.consumer}`;
  if (outputError === undefined) {
    io.err(`${done}.\n`);
    return 0;
  }
  if (isClosedPipe(outputError)) {
    io.err(`Output closed; ${done}. Entries read and not printed stay pending for this consumer's next run.\n`);
    return 0;
  }
  io.err(`orchard consume: writing the output failed: ${(outputError as Error)?.message ?? outputError}. ${done}; the rest stay pending.\n`);
  return 1;
}
