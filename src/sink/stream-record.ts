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
}

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

/** RFC 3339 UTC with milliseconds, the format of `time` and `received`. */
export function formatTime(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  // Requests arriving in the same millisecond share the text (`received` on a busy webhook path).
  if (ms === lastMs) return lastText;
  lastText = new Date(ms).toISOString();
  lastMs = ms;
  return lastText;
}
