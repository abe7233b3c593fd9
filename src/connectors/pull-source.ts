import type { Tally } from '../connector-state/checkpoint.ts';
import type { PageRecord } from '../sink/event-sink.ts';

import type { PageWindows, WindowRef } from '../connector-state/window-store.ts';

export type { Tally } from '../connector-state/checkpoint.ts';
export type { PageWindows, WindowRef } from '../connector-state/window-store.ts';

// The small interface each pull source plugs into the shared polling loop (connector-runner.ts). A
// source knows its vendor API and its cursor; the runner owns scheduling, the lease, the atomic page
// + checkpoint write, retries, statistics and status.

/** What a run knows when it fetches a page. */
export interface RunContext {
  /** Records whose event time is before this (RFC 3339) are not appended: the connector's `start`, or `orchard checkpoint reset --since`. */
  readonly since: string | undefined;
  /** When this page is fetched: the `received` time of its records. */
  readonly receivedMs: number;
  readonly signal: AbortSignal;
  /** The first page of a run (a source that chooses its API version does so once per run). Absent: not known. */
  readonly newRun?: boolean;
}

export interface Page<C> {
  readonly records: readonly PageRecord[];
  /** The cursor the next page (or the next run, when `more` is false) starts from. */
  readonly cursor: C;
  /** More pages follow in this run: fetch them at once. */
  readonly more: boolean;
  /** Events the vendor returned on this page, before filtering. */
  readonly received: number;
  /** Events dropped as already seen before the write (the source's own dedup, e.g. an overlap window). */
  readonly duplicates?: number;
  /** Stored with each version this page writes (inventories: the scan number). */
  readonly versionStamp?: number;
  /**
   * After this page is written, forget versions stamped below this value (objects not seen for a
   * while: deleted computers), so the connector's state stays bounded by the fleet.
   */
  readonly pruneBelowStamp?: number;
  /** How long the dedup keys of the page's `dedup` records are kept (default: the dedup window). */
  readonly dedupWindowSeconds?: number;
  /** Problems with single items that were skipped (logged by the runner, once per page). */
  readonly warnings?: readonly string[];
  /**
   * With `more`: the vendor's token for the next page (its `next`, `search_after`, `skip`), as text.
   * A token the run already had stops the run (VendorLoopError) instead of paging forever.
   */
  readonly next?: string;
  /**
   * What the vendor's items on this page were (their ids, first and last and count, …), when there were
   * any: a page identical to the one before stops the run (VendorLoopError) before it is written.
   */
  readonly fingerprint?: string;
  /** With `pruneBelowStamp`: forget only the versions whose field starts with this (one organization's users). */
  readonly prunePrefix?: string;
  /**
   * Counted under this name in the connector's tallies, in the page's atomic step: pages, received,
   * appended, duplicates (one organization of an MSP connector: `org:<id>`).
   */
  readonly tally?: string;
  /** The last page of a run that the vendor counted (Jamf Protect's pageInfo.total): what the run read against that count (docs/completeness.md). */
  readonly counted?: { readonly start: string; readonly end: string; readonly expected: number; readonly got: number; readonly result: 'verified' | 'repaired' | 'short' };
  /** The last page of an inventory scan: its snapshot marker, and a removal record per device gone, are written with it (docs/completeness.md). */
  readonly scanEnd?: ScanEnd;
  /** The ids this page appends, by the closed window their event time falls in (docs/completeness.md): counted in the page's atomic step. */
  readonly windows?: PageWindows;
}

/** How an inventory scan ended: its bounds and count, and the records its last page is written with. */
export interface ScanEnd {
  readonly scan: number;
  readonly startedAt: string | null;
  readonly endedAt: string;
  /** Devices the scan read, and the totalCount the vendor gave last: fewer read is reported (the next scan reads them). */
  readonly seen: number;
  readonly totalCount: number;
  /** Versions stamped below this scan number are of devices not seen in two whole scans: gone. */
  readonly belowStamp: number;
  /** The removal record of a device gone, from its field and its version as stored. */
  removed(field: string, stored: string): PageRecord;
  /** The scan's snapshot marker. */
  marker(removed: number): PageRecord;
}

/**
 * What a source whose vendor can count its events offers the window verification
 * (connectors/window-verifier.ts): the vendor's count of a closed window, with the filters the pull
 * uses, and the window's events read again.
 */
export interface WindowCounting {
  /** The length of a window (windows are aligned on it, in UTC). */
  readonly windowMs: number;
  /** A window is checked once its end is this long ago (the connector's lag plus verify_after, at least lag plus overlap). */
  readonly settleMs: number;
  /**
   * Before when the connector's runs will read nothing of an organization again, from its stored cursor
   * (the last window's end minus the overlap); undefined when the cursor does not say. A window is
   * re-pulled only before it: a run reading it again later would not know what a re-pull appended.
   */
  passedBefore(cursor: unknown, org: string): number | undefined;
  /** The service groups each organization is counted by: `all`, or each configured service. */
  readonly services: readonly string[];
  /** The vendor's count of the window's events. */
  count(window: WindowRef, signal: AbortSignal): Promise<number>;
  /** The window's events as the vendor lists them now, page after page, as a run makes their records. */
  pages(window: WindowRef, signal: AbortSignal): AsyncIterable<readonly PageRecord[]>;
}


export interface PullSource<C = unknown> {
  /** Fetches the page that starts at `cursor` (undefined: the very first run). Never writes. */
  fetchPage(cursor: C | undefined, context: RunContext): Promise<Page<C>>;
  /** Checks credentials and permissions the cheapest way the API allows (`orchard test`). */
  checkAccess(signal: AbortSignal): Promise<string>;
  /** A few fields describing a cursor, for /status and `orchard checkpoint show`, with the connector's tallies (`Page.tally`). */
  describeCursor(cursor: C | undefined, tallies?: Readonly<Record<string, Tally>>): Record<string, unknown>;
  /** Vendor HTTP requests made so far (attempts, retries included). */
  readonly requests: number;
  /** The path to move to from a path the vendor marks deprecated, when the source knows one (newer API versions). */
  successorPath?(path: string): string | undefined;
  /** The vendor's counts of closed windows, for the window verification (Directory Insights). */
  readonly windows?: WindowCounting;
  /** An inventory whose records name their device: how far a report may run ahead of the last webhook seen for it (missed_webhook_tolerance). */
  readonly missedWebhookToleranceMs?: number;
  close(): Promise<void>;
}
