import type { Logger } from 'pino';

// Answers that come by the thousand when something is wrong — 401 and 429 to a scanner or a
// misconfigured sender, 404 to a crawler, 503 while Redis is away — are not logged one line each: a
// flood of them would cost more to log than to answer, and bury everything else. They are counted, and
// one line per interval says how many of each, and from which addresses (the busiest first). Every
// request still counts in /metrics (orchard_http_requests_total).

/** The statuses summarised instead of logged one by one. */
export const summarisedStatuses: ReadonlySet<number> = new Set([401, 404, 408, 429, 503]);

/** Addresses tracked per interval; the rest are counted together. */
const maxAddresses = 1000;
/** Addresses named in the summary line. */
const shownAddresses = 10;

export class RequestNoise {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #answers = new Map<string, number>();
  #addresses = new Map<string, number>();
  #otherAddresses = 0;
  #total = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, intervalMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /** Counts one answer; the first of an interval starts its timer. */
  count(status: number, code: string | undefined, address: string | undefined): void {
    const answer = code ? `${status} ${code}` : String(status);
    this.#answers.set(answer, (this.#answers.get(answer) ?? 0) + 1);
    const addr = address ?? 'unknown';
    const seen = this.#addresses.get(addr);
    if (seen !== undefined) this.#addresses.set(addr, seen + 1);
    else if (this.#addresses.size < maxAddresses) this.#addresses.set(addr, 1);
    else this.#otherAddresses += 1;
    this.#total += 1;
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Logs what was counted since the last line (nothing when nothing was). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#total === 0) return;
    const addresses = [...this.#addresses].sort((a, b) => b[1] - a[1]);
    const busiest = addresses.slice(0, shownAddresses).map(([address, requests]) => ({ address, requests }));
    const rest = addresses.slice(shownAddresses).reduce((sum, [, n]) => sum + n, 0) + this.#otherAddresses;
    const line = {
      requests: this.#total,
      answers: Object.fromEntries(this.#answers),
      addresses: busiest,
      ...(rest > 0 ? { otherAddresses: addresses.length - busiest.length, otherRequests: rest } : {}),
      intervalMs: this.#intervalMs,
    };
    // Any 503 (Redis away with the spool off, the spool full or failing) is a warning: events are refused.
    const outage = [...this.#answers.keys()].some((key) => key.startsWith('503 '));
    this.#logger[outage ? 'warn' : 'info'](line, 'Requests refused since the last summary (401, 404, 408, 429 and 503 are summarised, not logged one by one).');
    this.#answers = new Map();
    this.#addresses = new Map();
    this.#otherAddresses = 0;
    this.#total = 0;
  }
}
