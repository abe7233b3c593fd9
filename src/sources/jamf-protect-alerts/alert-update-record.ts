import type { StreamRecord } from '../../stream/stream-record.ts';
import { formatTime } from '../../stream/stream-record.ts';
import { alertRecord } from './alert-record.ts';

// A later version of a Jamf Protect alert: an analyst moved it (New → InProgress → Resolved), Jamf
// Protect resolved it by itself (AutoResolved), or its tags changed. The first version keeps the
// alert's uuid as its id (the key the push route shares); each later one is its own record, once:
//   id      `<uuid>:<updated>` (updated as RFC 3339 UTC with milliseconds)
//   type    `alert_update`
//   time    when Jamf Protect updated it
//   payload `{"uuid","status","tags","severity","created","updated","computer","alert": <the alert's json>}`

export const alertUpdateType = 'alert_update';

export interface AlertUpdateInput {
  readonly document: unknown;
  readonly uuid: string;
  /** The alert's `json` as the API gave it (JSON text). */
  readonly documentText: string;
  readonly status: string | null;
  readonly tags: readonly string[] | null;
  readonly severity: unknown;
  readonly created: string;
  readonly updatedMs: number;
  readonly computer: unknown;
  readonly tenant: string;
  readonly connector: string;
  readonly receivedMs: number;
}

export function alertUpdateId(uuid: string, updatedMs: number): string {
  return `${uuid}:${formatTime(updatedMs)}`;
}

export function alertUpdateRecord(input: AlertUpdateInput): StreamRecord {
  const updated = formatTime(input.updatedMs);
  const head = JSON.stringify({ uuid: input.uuid, status: input.status, tags: input.tags, severity: input.severity ?? null, created: input.created, updated, computer: input.computer ?? null });
  const base = alertRecord({ document: input.document, uuid: input.uuid, payload: '', tenant: input.tenant, connector: input.connector, receivedMs: input.receivedMs, createdMs: input.updatedMs });
  return { ...base, id: alertUpdateId(input.uuid, input.updatedMs), type: alertUpdateType, payload: `${head.slice(0, -1)},"alert":${input.documentText}}` };
}
