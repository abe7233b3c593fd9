import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { sha256 } from '../../sha256.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { formatTime } from '../../stream/stream-record.ts';
import { parseEventTimeMs } from '../event-time.ts';
import { topLevelObjectSlices } from '../json-array-slices.ts';

// One Directory Insights answer turned into records: the CPU-heavy part of a page (JSON.parse, each
// event's own text, times, indicators), a pure function of its input, apart from the cursor logic
// around it (directory-insights-source.ts). It once ran on a worker thread; cloning 10,000 records
// back cost more CPU than the thread saved on a machine whose cores Redis and the API already use.

export const directoryInsightsSource = 'jumpcloud.directory_insights';

export interface EventsPageInput {
  /** The answer's body. */
  readonly text: string;
  /** Ids already appended that this window may read again (the cursor's `seen` and `nextSeen`). */
  readonly seen: readonly string[];
  readonly nextSeen: readonly string[];
  /** Events at or after this are remembered for the next window (its end − overlap). */
  readonly boundaryMs: number;
  readonly receivedMs: number;
  readonly tenant: string;
  readonly connector: string;
  /** `stream_per_service`: the prefix of the per-service streams (`<stream>:jumpcloud:`); else undefined. */
  readonly serviceStreamPrefix: string | undefined;
}

export type EventsPage =
  /** Not a JSON array; `json`: false when not JSON at all. */
  | { readonly array: false; readonly json: boolean }
  | {
      readonly array: true;
      readonly records: PageRecord[];
      /** Items in the answer, objects or not. */
      readonly received: number;
      readonly duplicates: number;
      /** Items that are not event objects. */
      readonly skipped: number;
      /** [ms, id] of the last event with a time: where the next page starts when the answer has no X-Search_after. */
      readonly lastKey: [number, string] | null;
      readonly lastMs: number | undefined;
      /** `nextSeen` with this page's ids at or after the boundary. */
      readonly nextSeen: string[];
      /** The first and last event ids and the count, when there were events: a page the API repeats has the same. */
      readonly fingerprint: string | undefined;
    };

const extractor = new IndicatorExtractor(readSchema('jumpcloud/directory-insights-event.schema.json'));

/** A service name fit for a stream key (`orchard:events:jumpcloud:<service>`). */
function streamService(service: unknown): string {
  return typeof service === 'string' && /^[a-z0-9_]{1,40}$/.test(service) ? service : 'unknown';
}

export function readEventsPage(input: EventsPageInput): EventsPage {
  let events: unknown;
  try {
    events = JSON.parse(input.text);
  } catch {
    return { array: false, json: false };
  }
  if (!Array.isArray(events)) return { array: false, json: true };
  // Each event's own text, when the array holds only objects (else each is written anew).
  const slices = topLevelObjectSlices(input.text);
  const texts = slices.length === events.length ? slices : undefined;
  const seen = new Set(input.seen);
  const nextSeen = new Set(input.nextSeen);
  const records: PageRecord[] = [];
  const receivedText = formatTime(input.receivedMs);
  let duplicates = 0;
  let skipped = 0;
  let lastKey: [number, string] | null = null;
  let lastMs: number | undefined;
  let firstId: string | undefined;
  let lastId: string | undefined;
  for (let index = 0; index < events.length; index++) {
    const event: unknown = events[index];
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      skipped += 1;
      continue;
    }
    const e = event as Record<string, unknown>;
    const payload = texts?.[index] ?? JSON.stringify(e);
    const id = typeof e.id === 'string' && e.id !== '' ? e.id : `sha256:${sha256(payload, 'hex')}`;
    firstId ??= id;
    lastId = id;
    const ms = parseEventTimeMs(e.timestamp);
    if (ms !== undefined) {
      lastMs = ms;
      lastKey = [ms, id];
    }
    // The next window starts at this window's end − overlap: it will read this event again.
    const remember = ms === undefined || ms >= input.boundaryMs;
    if (seen.has(id) || nextSeen.has(id)) {
      duplicates += 1;
      if (remember) nextSeen.add(id);
      continue;
    }
    if (remember) nextSeen.add(id);
    const service = typeof e.service === 'string' && e.service !== '' ? e.service : 'unknown';
    const eventType = typeof e.event_type === 'string' && e.event_type !== '' ? e.event_type : 'unknown';
    const record = {
      id,
      source: directoryInsightsSource,
      type: `${service}/${eventType}`,
      tenant: input.tenant,
      connector: input.connector,
      time: ms === undefined ? receivedText : formatTime(ms),
      received: receivedText,
      payload,
      indicators: JSON.stringify(extractor.extract(e)),
    };
    records.push(input.serviceStreamPrefix === undefined ? { record } : { record, stream: `${input.serviceStreamPrefix}${streamService(e.service)}` });
  }
  const fingerprint = firstId === undefined ? undefined : `${events.length} ${firstId} ${lastId}`;
  return { array: true, records, received: events.length, duplicates, skipped, lastKey, lastMs, nextSeen: [...nextSeen], fingerprint };
}
