// The vendor API paths a connector uses that the vendor says it will remove (answers carrying
// Deprecation or Sunset headers), kept so the removal is seen before it bites: in /status and
// `orchard test` as a warning, and once per run in the log, naming the date and the path to move to.

/** What one answer's Deprecation, Sunset and Link headers said (read by src/sources/http/deprecation-headers.ts). */
export interface DeprecationSeen {
  /** The Deprecation header as sent (`@1688169599`, `true`, a date), when present. */
  readonly deprecation?: string;
  /** When the path was or will be deprecated (epoch ms), when the header carries a date. */
  readonly deprecatedAtMs?: number;
  /** The Sunset header as sent, when present. */
  readonly sunset?: string;
  /** When the path stops answering (epoch ms), when the header carries a date. */
  readonly sunsetAtMs?: number;
  /** A Link with rel="successor-version": where to move. */
  readonly successor?: string;
  /** A Link with rel="deprecation" or rel="sunset": the vendor's explanation. */
  readonly documentation?: string;
}

export interface DeprecationNotice extends DeprecationSeen {
  readonly method: string;
  readonly path: string;
  /** Answers that carried the headers, since Orchard started. */
  readonly answers: number;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  /** The path to move to: the vendor's Link rel="successor-version", else what the source knows. */
  readonly moveTo?: string;
  /** The notice as a sentence, for /status and `orchard test`. */
  readonly warning: string;
}

const day = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().slice(0, 10));

/** `GET /api/v3/computers-inventory is deprecated by the vendor (since 2026-07-14; sunset 2027-01-14): move to /api/v4/computers-inventory.` */
export function deprecationSentence(n: { method: string; path: string; moveTo?: string } & DeprecationSeen): string {
  const since = day(n.deprecatedAtMs);
  const sunset = day(n.sunsetAtMs) ?? (n.sunset !== undefined ? `"${n.sunset}"` : undefined);
  const dates = [since && `since ${since}`, sunset ? `sunset ${sunset}, when it stops answering` : 'no sunset date given'].filter(Boolean).join('; ');
  const move = n.moveTo ? `move to ${n.moveTo}` : 'the vendor names no successor: see its API changelog';
  return `${n.method} ${n.path} is deprecated by the vendor (${dates}): ${move}${n.documentation ? ` (${n.documentation})` : ''}.`;
}

interface Entry extends DeprecationSeen {
  method: string;
  path: string;
  answers: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export class DeprecationNotices {
  readonly #byPath = new Map<string, Entry>();
  /** Paths seen since the last `sinceLastRun()`. */
  #sinceRun = new Set<string>();

  record(method: string, path: string, seen: DeprecationSeen, nowMs = Date.now()): void {
    const key = `${method} ${path}`;
    const entry = this.#byPath.get(key);
    this.#byPath.set(key, { ...seen, method, path, answers: (entry?.answers ?? 0) + 1, firstSeenMs: entry?.firstSeenMs ?? nowMs, lastSeenMs: nowMs });
    this.#sinceRun.add(key);
  }

  /** Every notice so far; `successorOf` names the path to move to when the vendor's headers do not. */
  list(successorOf?: (path: string) => string | undefined): DeprecationNotice[] {
    return [...this.#byPath.values()].map((e) => this.#notice(e, successorOf));
  }

  /** The notices seen since the previous call (one log line per run names them), and starts over. */
  sinceLastRun(successorOf?: (path: string) => string | undefined): DeprecationNotice[] {
    const keys = this.#sinceRun;
    this.#sinceRun = new Set();
    return [...keys].map((k) => this.#notice(this.#byPath.get(k)!, successorOf));
  }

  #notice(e: Entry, successorOf?: (path: string) => string | undefined): DeprecationNotice {
    const { firstSeenMs, lastSeenMs, ...rest } = e;
    const moveTo = e.successor ?? successorOf?.(e.path);
    const notice = { ...rest, ...(moveTo ? { moveTo } : {}), firstSeenAt: new Date(firstSeenMs).toISOString(), lastSeenAt: new Date(lastSeenMs).toISOString() };
    return { ...notice, warning: deprecationSentence(notice) };
  }
}
