import type { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import type { PageRecord } from '../sink/event-sink.ts';
import type { Page } from './pull-source.ts';

/**
 * The records a page is written with: its own, and at the end of an inventory scan a removal record
 * for each device whose version was last seen two scans ago or earlier (but those on this very page),
 * then the scan's snapshot marker (docs/completeness.md). The page script appends a removal only while
 * the version it names is still the one remembered, and forgets it in the same step.
 */
export async function recordsWithScanEnd(page: Page<unknown>, state: ConnectorStateStore, connector: string): Promise<readonly PageRecord[]> {
  const end = page.scanEnd;
  if (!end) return page.records;
  const onPage = new Set<string>();
  for (const { versionField } of page.records) if (versionField !== undefined) onPage.add(versionField);
  const gone = await state.staleVersions(connector, end.belowStamp, onPage);
  return [...page.records, ...gone.map(([field, stored]) => end.removed(field, stored)), end.marker(gone.length)];
}
