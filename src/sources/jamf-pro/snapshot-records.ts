import type { ScanEnd } from '../../connectors/pull-source.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import { formatTime, inventoryRecordTypes } from '../../stream/stream-record.ts';

// The records an inventory scan ends with (docs/completeness.md), so that a consumer can keep an exact
// asset table: a `removed` record for each device not seen in two whole scans (the rule that forgets its
// version), and a `snapshot` marker naming the scan, its bounds and its count. Both are written with the
// scan's last page, in its atomic step (connectors/scan-end.ts, page-scripts.ts: a removal is appended
// only while the version it names is still the one remembered, which it then forgets).

export interface ScanFacts {
  readonly source: string;
  readonly connector: string;
  readonly tenant: string;
  readonly scan: number;
  /** When the scan's first page was asked for; null for a scan begun before Orchard kept it. */
  readonly startedAt: string | null;
  readonly endedMs: number;
  /** Devices the scan read, and the totalCount Jamf Pro gave last. */
  readonly seen: number;
  readonly totalCount: number;
}

/** A version as the versions hash stores it: "<version>|<scan that last saw it>". */
function splitStored(stored: string): { version: string; lastSeenScan: number | null } {
  const bar = stored.lastIndexOf('|');
  return bar < 0 ? { version: stored, lastSeenScan: null } : { version: stored.slice(0, bar), lastSeenScan: Number(stored.slice(bar + 1)) };
}

/** The end of a scan as the runner takes it: the removal record of each device gone, then the marker. */
export function scanEnd(facts: ScanFacts): ScanEnd {
  const ended = formatTime(facts.endedMs);
  const base = { source: facts.source, tenant: facts.tenant, connector: facts.connector, time: ended, received: ended, indicators: '{}' };
  return {
    scan: facts.scan,
    startedAt: facts.startedAt,
    endedAt: ended,
    seen: facts.seen,
    totalCount: facts.totalCount,
    // An item not seen in two whole scans is gone (one a page shift hid once is seen in the next scan).
    belowStamp: facts.scan - 1,
    removed(field: string, stored: string): PageRecord {
      const { version, lastSeenScan } = splitStored(stored);
      const payload = JSON.stringify({ id: field, lastVersion: version, lastSeenScan, scan: facts.scan });
      return { record: { ...base, id: `removed:${field}:${version}`, type: inventoryRecordTypes.removed, payload }, versionField: field, versionValue: stored, removal: true };
    },
    marker(removed: number): PageRecord {
      const payload = JSON.stringify({ scan: facts.scan, startedAt: facts.startedAt, endedAt: ended, count: facts.seen, totalCount: facts.totalCount, removed });
      return { record: { ...base, id: `snapshot:${facts.connector}:${facts.scan}:${facts.startedAt ?? ended}`, type: inventoryRecordTypes.snapshot, payload } };
    },
  };
}
