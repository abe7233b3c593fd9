// Stream contract, version 1: the flat map of strings every entry of the events stream holds.

export const contractVersion = '1';

export interface StreamRecord {
  /** Stable id, unique within its source: the dedup key. */
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly tenant: string;
  readonly connector: string;
  /** RFC 3339 UTC with milliseconds. */
  readonly time: string;
  readonly received: string;
  /** The original event as JSON text; a Buffer keeps a webhook body byte for byte. */
  readonly payload: string | Buffer;
  /** JSON object of indicators (keys only when non-empty). */
  readonly indicators: string;
  /**
   * Not a stream field: the device a Jamf Pro check-in or inventory webhook was sent for, and when; the
   * push sink remembers it per tenant (the inventory's missed-webhook check, docs/completeness.md).
   */
  readonly device?: DeviceSighting;
}

/** A device seen by a webhook: its serial number and UDID (either may be absent) at an event time. */
export interface DeviceSighting {
  readonly serial?: string;
  readonly udid?: string;
  readonly atMs: number;
}

/**
 * The `type`s of the inventories' own records (jamf_pro.inventory, jamf_pro.mobile_devices): besides
 * `computer` or `mobile_device`, a `snapshot` marker at the end of each scan, and a `removed` record per
 * device gone (not seen in two whole scans). docs/completeness.md describes their payloads.
 */
export const inventoryRecordTypes = { snapshot: 'snapshot', removed: 'removed' } as const;

export interface RejectedRecord {
  /** JSON: `{"code": …, "message": …, "details": […]}`. */
  readonly reason: string;
  readonly source: string;
  readonly received: string;
  readonly remote: string;
  readonly payload: string | Buffer;
}

/** The record fields in contract order, after `v` (which the append script writes). */
export const recordFields = ['id', 'source', 'type', 'tenant', 'connector', 'time', 'received', 'payload', 'indicators'] as const;

let lastMs = Number.NaN;
let lastText = '';
/** The UTC day of the last time formatted: its midnight and its "YYYY-MM-DDT". */
let dayStartMs = Number.NaN;
let dayPrefix = '';
const dayMs = 86_400_000;
const pad2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const pad3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** RFC 3339 UTC with milliseconds, the format of `time` and `received`. */
export function formatTime(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  // Requests arriving in the same millisecond share the text (`received` on a busy webhook path).
  if (ms === lastMs) return lastText;
  const inDay = ms - dayStartMs;
  if (inDay >= 0 && inDay < dayMs) {
    // The same day as the last one (a page of events): the time of day by arithmetic.
    const seconds = Math.floor(inDay / 1000);
    lastText = `${dayPrefix}${pad2[Math.floor(seconds / 3600)]}:${pad2[Math.floor(seconds / 60) % 60]}:${pad2[seconds % 60]}.${pad3[inDay % 1000]}Z`;
  } else {
    lastText = new Date(ms).toISOString();
    // Years 0 to 9999 only: others are written with six digits and a sign.
    if (lastText.length === 24) {
      dayStartMs = ms - (((ms % dayMs) + dayMs) % dayMs);
      dayPrefix = lastText.slice(0, 11);
    }
  }
  lastMs = ms;
  return lastText;
}
