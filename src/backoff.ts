// Retry delays shared by the vendor HTTP client (between attempts of one request) and the connector
// loop (between failed runs): AWS "full jitter", and the vendor's Retry-After when it sends one.

/**
 * AWS "full jitter": a whole number of milliseconds drawn uniformly from [0, min(capMs, baseMs · 2^attempt)).
 * `attempt` counts from 0 (the delay before the first retry).
 */
export function fullJitterDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exponent = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  const ceilingMs = Math.max(0, Math.min(capMs, baseMs * 2 ** exponent));
  if (!Number.isFinite(ceilingMs) || ceilingMs === 0) return 0;
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.min(Math.floor(unit * ceilingMs), Math.max(0, Math.ceil(ceilingMs) - 1));
}

const DELTA_SECONDS = /^-?\d+(?:\.\d+)?$/;

/**
 * The wait a Retry-After header asks for, in milliseconds: delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). A negative value or a date in the past gives 0; an absent or
 * unreadable value gives undefined. Fractional seconds are accepted although RFC 9110 has none.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
  }
  // Date.parse reads far more than HTTP-dates ("12" is a year): an HTTP-date always names its zone.
  if (!/[a-z]/i.test(text) || !/\b(?:GMT|UTC)\b/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface BackoffOptions {
  /** Ceiling of the first delay; doubles with each consecutive failure. */
  baseMs: number;
  /** Largest ceiling. */
  capMs: number;
  random?: () => number;
}

/**
 * Delays for a loop that retries after failures: `next()` after each failure (the ceiling doubles
 * with each consecutive one), `reset()` after a success. When the failure carries the vendor's
 * `retryAfterMs` (a VendorHttpError for a 429), the delay is at least that.
 */
export class Backoff {
  #failures = 0;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;

  constructor(options: BackoffOptions) {
    this.#baseMs = options.baseMs;
    this.#capMs = options.capMs;
    this.#random = options.random ?? Math.random;
  }

  /** Consecutive failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  next(err?: unknown): number {
    const delayMs = fullJitterDelayMs(this.#failures, this.#baseMs, this.#capMs, this.#random);
    this.#failures += 1;
    return Math.max(delayMs, retryAfterMsOf(err) ?? 0);
  }

  reset(): void {
    this.#failures = 0;
  }
}

function retryAfterMsOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('retryAfterMs' in err)) return undefined;
  const value = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
