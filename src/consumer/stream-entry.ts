import type { deadLetterCodes } from '../errors.ts';
import type { StreamRecord } from '../stream/stream-record.ts';

// An entry of the events stream as a consumer sees it (contract v1), and a dead letter's reason.

/** An entry of the events stream as contract v1 describes it (StreamRecord), with its payload and indicators parsed. */
export interface StreamEntry extends Omit<StreamRecord, 'payload' | 'indicators'> {
  /** The stream entry id (`1700000000000-0`). */
  readonly entryId: string;
  readonly v: string;
  /** The event, JSON.parse'd; the raw text when it is not JSON. */
  readonly payload: unknown;
  /** The indicators object; `{}` when the field is missing or not a JSON object. */
  readonly indicators: Readonly<Record<string, readonly string[]>>;
}

/**
 * Called for each entry, or for each batch read; an entry is acknowledged after the call resolved.
 * A batch that throws stays pending as a whole; its re-deliveries are handed to onBatch one entry at
 * a time, so only the entries that keep failing reach the dead-letter stream.
 */
export type StreamEntryHandler =
  | { readonly onEntry: (entry: StreamEntry) => Promise<void> | void }
  | { readonly onBatch: (entries: readonly StreamEntry[]) => Promise<void> | void };

/** What a dead-letter entry's `reason` field holds (JSON). */
export interface DeadLetterReason {
  readonly code: (typeof deadLetterCodes)[keyof typeof deadLetterCodes];
  readonly message: string;
  /** Deliveries that did not end in an acknowledgement. */
  readonly deliveries: number;
  readonly group: string;
  /** The consumer that dead-lettered it. */
  readonly consumer: string;
}

const contractFields = ['v', 'id', 'source', 'type', 'tenant', 'connector', 'time', 'received', 'payload', 'indicators'] as const;

/** The contract v1 object of a stream entry; `fields` is the flat `[name, value, …]` list Redis returns. */
export function parseEntry(entryId: string, fields: readonly string[]): StreamEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (!map.has(fields[i]!)) map.set(fields[i]!, fields[i + 1]!);
  }
  const text = Object.fromEntries(contractFields.map((f) => [f, map.get(f) ?? ''])) as Record<(typeof contractFields)[number], string>;
  return {
    entryId,
    v: text.v,
    id: text.id,
    source: text.source,
    type: text.type,
    tenant: text.tenant,
    connector: text.connector,
    time: text.time,
    received: text.received,
    payload: parseJsonOr(text.payload, text.payload),
    indicators: parseIndicators(text.indicators),
  };
}

function parseJsonOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

function parseIndicators(text: string): Record<string, string[]> {
  const value = parseJsonOr(text, undefined);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, string[]>) : {};
}



/** `[entry id, fields]`; fields null when the entry was deleted while pending. */
