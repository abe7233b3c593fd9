import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Logger } from 'pino';
import { createLogger } from '../../src/logger.ts';
import { decodeEntry, encodeEvents } from '../../src/spool/spool-codec.ts';
import type { SpoolBatch } from '../../src/spool/spool-store.ts';
import type { StreamRecord } from '../../src/stream/stream-record.ts';
import { captureLogs } from './test-app.ts';

/** A webhook-like record whose id is `id`. */
export function spoolRecord(id: string, payload = `{"event":"${id}"}`): StreamRecord {
  return { id, source: 'jamf_pro.events', type: 'ComputerCheckIn', tenant: '', connector: 'webhook', time: '2026-11-21T23:14:29.786Z', received: '2026-11-21T23:14:30.001Z', payload, indicators: '{}' };
}

/** The whole spool record of one event. */
export const frameOf = (id: string, spooledAtMs = 1000) => encodeEvents([spoolRecord(id)], 3600, spooledAtMs);

/** A temporary directory removed after the test. */
export function tempSpoolDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'spool');
}

/** A logger whose lines the test reads. */
export function testLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const { destination, lines } = captureLogs();
  return { logger: createLogger({ level: 'debug', secretHeader: 'x-orchard-secret', destination }), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The event ids of a batch read back. */
export function idsOf(batch: SpoolBatch | undefined): string[] {
  return (batch?.records ?? []).flatMap((r) => {
    const entry = decodeEntry(r.payload);
    return entry.kind === 'events' ? entry.records.map((e) => e.id) : [entry.marker];
  });
}
