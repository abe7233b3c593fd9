import { VendorPagingError } from '../../errors.ts';

// Paging through a Jamf Pro list (computers-inventory, mobile-devices/detail) so that nothing is
// skipped. The API pages by number (`page` from 0, `page-size`) over a list sorted by a stable key
// (the id, ascending), and answers `{totalCount, results}`. What can go wrong, and what is done:
//
// - Jamf Pro clamps `page-size` silently (2000 on its list endpoints; Jamf-Concepts/jamf-cli PR #389
//   wire-checked 2001…20000 → 2000 with totalCount unchanged). A page shorter than asked that does not
//   reach totalCount is such a clamp: the scan goes on with the size the server gave, from where it is.
// - A device removed while a scan is under way moves every later one back by a place, onto a page
//   already read. totalCount falling between two pages says so: the scan reads again from as many
//   pages back as devices went, and drops what it has already read (ids up to the last one read).
// - Ids come in ascending order; an item at or below the last id read is one read before.
// - A self-contradicting answer (a page holding only items already read, an empty page inside
//   totalCount, more items than asked) fails the run with VendorPagingError instead of looping.
// - At the end of a scan, the items read are checked against totalCount; a shortfall (a removal and
//   an enrolment between the same two pages cancel out in totalCount) is named in a warning, and the
//   next scan reads what moved.

/** Where a scan of a Jamf Pro list is. A checkpoint written before the optional fields existed has only scan, page and lastId. */
export interface ScanCursor {
  readonly scan: number;
  readonly page: number;
  readonly lastId: string | null;
  /** Items per page this scan asks for: page_size, or what the server clamped it to. Absent: page_size. */
  readonly pageSize?: number;
  /** totalCount the previous page of this scan answered. */
  readonly totalCount?: number;
  /** This page starts before the last id read, on purpose (after a shift or a clamp): items up to it come again. */
  readonly reread?: boolean;
  /** New items read so far in this scan. */
  readonly seen?: number;
  /** Times this scan went back because totalCount fell. */
  readonly rereads?: number;
  /** When the scan's first page was asked for (its snapshot marker's start); absent in checkpoints written before Orchard kept it. */
  readonly startedAt?: string;
}

export interface PageAnswer {
  readonly totalCount: number;
  /** The id of each item of `results`, in order; undefined for an item that is not a record with an id. */
  readonly ids: readonly (string | undefined)[];
}

export interface ScanStep {
  /** Indexes of the items that are new to this scan (id after the last one read), in order. */
  readonly keep: readonly number[];
  readonly next: ScanCursor;
  readonly more: boolean;
  /** The page was set aside unread: devices moved, and it is read again from an earlier page. */
  readonly discarded: boolean;
  /** At the end of a scan: the items it read, and the totalCount Jamf Pro gave last. */
  readonly end?: { readonly seen: number; readonly totalCount: number };
  readonly warnings: readonly string[];
}

/** Where a scan starts. */
export function startOfScan(scan: number): ScanCursor {
  return { scan, page: 0, lastId: null };
}

/** Most times one scan goes back for a falling totalCount before it gives up (a count that keeps falling and rising). */
export const maxRereadsPerScan = 50;

/** Numeric ids compare as numbers (Jamf sends them as strings), others as text. */
export function idAfter(id: string, lastId: string | null): boolean {
  if (lastId === null) return true;
  if (/^\d+$/.test(id) && /^\d+$/.test(lastId)) return id.length !== lastId.length ? id.length > lastId.length : id > lastId;
  return id > lastId;
}

/**
 * The next step of a scan, from the page that answered at `at` when `pageSize` was asked for.
 * `where` names the request and what the items are, for warnings and errors.
 */
export function stepScan(at: ScanCursor, pageSize: number, answer: PageAnswer, where: { connector: string; path: string; noun: string }): ScanStep {
  const fail = (problem: string) => new VendorPagingError(where.connector, 'GET', where.path, problem);
  const { totalCount, ids } = answer;
  const n = ids.length;
  const start = at.page * pageSize;
  if (n > pageSize) throw fail(`page ${at.page} holds ${n} ${where.noun}, more than the page-size of ${pageSize} asked for`);
  if (at.totalCount !== undefined && totalCount < at.totalCount && at.page > 0) {
    const rereads = (at.rereads ?? 0) + 1;
    if (rereads > maxRereadsPerScan) throw fail(`totalCount fell ${rereads} times in one scan (now ${totalCount}): the list keeps changing under the scan`);
    const back = Math.ceil((at.totalCount - totalCount) / pageSize);
    const page = Math.max(0, at.page - back);
    return {
      keep: [],
      next: { ...at, page, totalCount, reread: true, rereads },
      more: true,
      discarded: true,
      warnings: [`GET ${where.path}: totalCount fell from ${at.totalCount} to ${totalCount} during the scan (${where.noun} removed); reading again from page ${page}, so that none that moved onto a page already read is missed.`],
    };
  }
  const keep: number[] = [];
  let lastId = at.lastId;
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id === undefined) continue;
    valid += 1;
    if (!idAfter(id, lastId)) continue;
    keep.push(i);
    lastId = id;
  }
  if (!at.reread && valid > 0 && keep.length === 0) {
    throw fail(`page ${at.page} holds only ${where.noun} already read on earlier pages (ids up to ${at.lastId}): the server answered the same page twice or ignores the page parameter`);
  }
  if (n === 0 && start < totalCount) throw fail(`page ${at.page} is empty, yet totalCount (${totalCount}) says ${totalCount - start} more ${where.noun} follow`);
  const seen = (at.seen ?? 0) + keep.length + (at.reread ? 0 : n - valid);
  const warnings: string[] = [];
  if (start + n >= totalCount) {
    if (seen < totalCount) {
      warnings.push(`GET ${where.path}: the scan read ${seen} ${where.noun}, Jamf Pro counts ${totalCount}: ${totalCount - seen} moved between pages while the scan was under way (a removal and an enrolment at once); the next scan reads them.`);
    }
    return { keep, next: startOfScan(at.scan + 1), more: false, discarded: false, warnings, end: { seen, totalCount } };
  }
  let size = pageSize;
  let page = at.page + 1;
  let reread = false;
  if (n < pageSize) {
    // A clamp: go on with the size the server gives, from the first item not read.
    size = n;
    const consumed = start + n;
    page = Math.floor(consumed / size);
    reread = page * size < consumed;
    warnings.push(`GET ${where.path}: asked for ${pageSize} ${where.noun} a page, Jamf Pro answered ${n} of ${totalCount}; paging on by ${n}.`);
  }
  const next: ScanCursor = {
    scan: at.scan,
    page,
    lastId,
    pageSize: size,
    totalCount,
    seen,
    ...(reread ? { reread } : {}),
    ...(at.rereads ? { rereads: at.rereads } : {}),
    ...(at.startedAt ? { startedAt: at.startedAt } : {}),
  };
  return { keep, next, more: true, discarded: false, warnings };
}
