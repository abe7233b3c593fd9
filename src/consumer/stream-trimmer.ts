// Producer-side retention that never drops unread data. The Redis Streams traps it avoids:
//
// - XTRIM (and XADD … MAXLEN/MINID) deletes entries whether or not any consumer group has read them.
//   Consumer groups do not protect their entries; XACK frees nothing either. So this trimmer computes
//   a safe boundary first: for every group (XINFO GROUPS), the oldest entry still pending (XPENDING
//   summary) and the entry just after its last-delivered-id (entries not yet delivered are unread).
//   It trims to the smaller of that and the retention boundary, with XTRIM … MINID, and reports (log
//   and `held`) what retention wanted gone but had to keep.
// - Between computing a boundary and trimming, a group can be created, or XREADGROUP/XCLAIM can
//   change what is pending. The check and the trim therefore run in one Lua script: nothing else runs
//   in Redis between them. (XINFO, XPENDING, XRANGE and TIME are callable from scripts on Redis 7 —
//   and 6.2 — because scripts replicate their effects, not their commands.)
// - MINID exact (no `~`): the boundary is the first entry kept, so exact trimming removes exactly the
//   entries before it and `trimmed`/`held` are exact. (`~` would also be safe — it only ever removes
//   less — but would leave up to a macro node of entries past the limit and blur the numbers.)
// - No consumer group at all means nobody reads yet; trimming then would drop data nobody has read,
//   so by default nothing is trimmed (and a warning says why). `trimWithoutGroups: true` lets
//   retention apply anyway, for streams with no consumers by design.
// - MAXLEN needs the id of the entry `maxLen` from the end. The script walks from the oldest entry
//   instead (XRANGE in chunks), and stops at the safe boundary: the work is proportional to what is
//   trimmed (or held), never to the length of the stream. Entry ids are compared as decimal strings:
//   their sequence part is 64-bit, past what a Lua number holds exactly.
// - Retention by age uses Redis's clock (TIME inside the script), the clock the entry ids come from.
//
// Counting entries held by the age rule needs a walk over them; it stops after `heldScanLimit`
// entries (default 10,000) and the result then says `heldIsLowerBound`. The count held by maxLen is
// exact arithmetic.
// The dead-letter stream is not trimmed here.

import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../backoff.ts';
import { TrimmerOptionsError } from '../errors.ts';
import { trimScript } from '../redis/scripts/trim-script.ts';

export interface StreamTrimmerOptions {
  readonly redis: RedisClient;
  readonly stream: string;
  /** Keep at most this many entries (those every group has read go first). */
  readonly maxLen?: number;
  /** Keep entries younger than this (by their id's time, on Redis's clock). */
  readonly maxAgeMs?: number;
  /** Default 10000. */
  readonly intervalMs?: number;
  /** Apply retention to a stream with no consumer group. Default false: nothing is trimmed. */
  readonly trimWithoutGroups?: boolean;
  /** The most entries walked to count those held by the age rule. Default 10,000. */
  readonly heldScanLimit?: number;
  /** At most one "retention held back" warning per this period. Default 60000. */
  readonly warnIntervalMs?: number;
  readonly logger?: Logger;
  /** Called after every trim (and every failed one, with reason `error`), e.g. to set metrics. */
  readonly onStatus?: (status: TrimResult) => void;
}

export type TrimReason =
  /** Trimmed what retention asked for (possibly nothing). */
  | 'ok'
  /** Retention asked for nothing. */
  | 'nothing_to_trim'
  | 'empty'
  /** Retention wanted entries some group has not read (or acknowledged): they were kept. */
  | 'held_unread'
  /** No consumer group and trimWithoutGroups is off: everything kept. */
  | 'no_groups'
  /** Neither maxLen nor maxAgeMs is set. */
  | 'disabled'
  /** Redis failed (only in onStatus). */
  | 'error';

export interface TrimResult {
  readonly reason: TrimReason;
  /** Entries removed by this trim. */
  readonly trimmed: number;
  /** Entries retention wanted removed but kept because some group has not read or acknowledged them. */
  readonly held: number;
  /** True when `held` stopped counting at heldScanLimit (age rule): there are at least that many. */
  readonly heldIsLowerBound: boolean;
  /** Stream length after the trim. */
  readonly length: number;
  /** The MINID trimmed to ('' when nothing was asked). */
  readonly boundary: string;
  /** The first entry some group still needs ('' when no group limits it). */
  readonly safeBoundary: string;
  readonly groups: number;
}


/**
 * Trims the events stream to its retention (maxLen and/or maxAgeMs), never removing an entry some
 * consumer group has not read and acknowledged. See the header comment.
 */
export class StreamTrimmer {
  readonly #redis: RedisClient;
  readonly #o: { stream: string; maxLen: number; maxAgeMs: number; intervalMs: number; trimWithoutGroups: boolean; heldScanLimit: number; warnIntervalMs: number };
  readonly #logger: Logger | undefined;
  readonly #onStatus: ((status: TrimResult) => void) | undefined;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #lastWarnMs = Number.NEGATIVE_INFINITY;
  #totalTrimmed = 0;

  constructor(options: StreamTrimmerOptions) {
    this.#redis = options.redis;
    this.#logger = options.logger;
    this.#onStatus = options.onStatus;
    this.#o = {
      stream: options.stream,
      maxLen: options.maxLen ?? -1,
      maxAgeMs: options.maxAgeMs ?? -1,
      intervalMs: options.intervalMs ?? 10_000,
      trimWithoutGroups: options.trimWithoutGroups ?? false,
      heldScanLimit: options.heldScanLimit ?? 10_000,
      warnIntervalMs: options.warnIntervalMs ?? 60_000,
    };
    const problems: string[] = [];
    if (options.maxLen !== undefined && (!Number.isInteger(options.maxLen) || options.maxLen < 1)) problems.push(`maxLen must be a whole number ≥ 1 (got ${options.maxLen})`);
    if (options.maxAgeMs !== undefined && (!Number.isInteger(options.maxAgeMs) || options.maxAgeMs < 1)) problems.push(`maxAgeMs must be a whole number ≥ 1 (got ${options.maxAgeMs})`);
    if (!Number.isInteger(this.#o.intervalMs) || this.#o.intervalMs < 1) problems.push(`intervalMs must be a whole number ≥ 1 (got ${this.#o.intervalMs})`);
    if (!Number.isInteger(this.#o.heldScanLimit) || this.#o.heldScanLimit < 1) problems.push(`heldScanLimit must be a whole number ≥ 1 (got ${this.#o.heldScanLimit})`);
    if (problems.length > 0) throw new TrimmerOptionsError(problems);
  }

  /** Retention is configured (maxLen or maxAgeMs). */
  get enabled(): boolean {
    return this.#o.maxLen >= 0 || this.#o.maxAgeMs >= 0;
  }

  /** Entries removed by this trimmer since it was made. */
  get totalTrimmed(): number {
    return this.#totalTrimmed;
  }

  /** One check-and-trim, atomic in Redis. */
  async trimOnce(): Promise<TrimResult> {
    if (!this.enabled) {
      const result: TrimResult = { reason: 'disabled', trimmed: 0, held: 0, heldIsLowerBound: false, length: 0, boundary: '', safeBoundary: '', groups: 0 };
      this.#onStatus?.(result);
      return result;
    }
    const reply = await trimScript.run<[TrimReason, number, number, number, number, string, string, number]>(
      this.#redis,
      [this.#o.stream],
      [this.#o.maxLen, this.#o.maxAgeMs, this.#o.trimWithoutGroups ? '1' : '0', this.#o.heldScanLimit],
    );
    const result: TrimResult = {
      reason: reply[0],
      trimmed: Number(reply[1]),
      held: Number(reply[2]),
      heldIsLowerBound: Number(reply[3]) === 1,
      length: Number(reply[4]),
      boundary: reply[5],
      safeBoundary: reply[6],
      groups: Number(reply[7]),
    };
    this.#totalTrimmed += result.trimmed;
    if (result.held > 0) this.#warnHeld(result);
    this.#onStatus?.(result);
    return result;
  }

  #warnHeld(result: TrimResult): void {
    const now = Date.now();
    if (now - this.#lastWarnMs < this.#o.warnIntervalMs) return;
    this.#lastWarnMs = now;
    const fields = {
      stream: this.#o.stream,
      held: result.held,
      heldIsLowerBound: result.heldIsLowerBound,
      length: result.length,
      maxLen: this.#o.maxLen >= 0 ? this.#o.maxLen : undefined,
      maxAgeMs: this.#o.maxAgeMs >= 0 ? this.#o.maxAgeMs : undefined,
      safeBoundary: result.safeBoundary,
    };
    if (result.reason === 'no_groups') {
      this.#logger?.warn(fields, 'The stream has no consumer group, so nobody has read it: retention keeps every entry (set ORCHARD_STREAM_TRIM_WITHOUT_GROUPS=true to trim anyway).');
    } else {
      this.#logger?.warn(fields, 'Retention kept entries a consumer group has not read or acknowledged yet; the stream is longer than its limit until the group catches up.');
    }
  }

  /** Trims every intervalMs until stop(); a failed trim is logged and retried with backoff. */
  start(): void {
    if (this.#loop || !this.enabled) return;
    const abort = new AbortController();
    this.#abort = abort;
    const backoff = new Backoff({ baseMs: 500, capMs: this.#o.intervalMs });
    this.#loop = (async () => {
      while (!abort.signal.aborted) {
        const delayMs = await this.trimOnce().then(
          () => {
            backoff.reset();
            return this.#o.intervalMs;
          },
          (err: unknown) => {
            this.#logger?.warn({ stream: this.#o.stream, error: String((err as Error)?.message ?? err) }, 'Trimming the stream failed; retrying.');
            this.#onStatus?.({ reason: 'error', trimmed: 0, held: 0, heldIsLowerBound: false, length: 0, boundary: '', safeBoundary: '', groups: 0 });
            return backoff.next(err);
          },
        );
        await sleep(delayMs, undefined, { signal: abort.signal }).catch(() => {});
      }
    })();
  }

  /** Waits for a trim in flight, then returns. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#abort = undefined;
  }
}
