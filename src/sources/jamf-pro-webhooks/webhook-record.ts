import { sha256 } from '../../sha256.ts';
import type { DeviceSighting, StreamRecord } from '../../stream/stream-record.ts';
import { formatTime } from '../../stream/stream-record.ts';
import type { ValidatedWebhook } from './webhook-validator.ts';

export const webhookSource = 'jamf_pro.events';

/** Values below 10^11 are epoch seconds (Jamf sometimes sends 10 digits), others milliseconds. */
export function eventTimeMs(eventTimestamp: number | string): number {
  const n = Number(eventTimestamp);
  return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
}

/** The webhooks that say a computer checked in or sent its inventory: what the missed-webhook check compares the inventory with. */
export const sightingEvents: ReadonlySet<string> = new Set(['ComputerCheckIn', 'ComputerInventoryCompleted']);

const textOf = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The computer of a check-in or inventory webhook, if it names one: ComputerCheckIn wraps it
 * (`event.computer.serialNumber`, `.udid`), ComputerInventoryCompleted is it (`event.serialNumber`,
 * `.udid`), as their schemas (schemas/jamf-pro-webhooks/) say.
 */
function sightingOf(body: unknown, webhookEvent: string, atMs: number): DeviceSighting | undefined {
  if (!sightingEvents.has(webhookEvent)) return undefined;
  const event = (body as { event?: (Record<string, unknown> & { computer?: Record<string, unknown> | null }) | null }).event;
  const computer = webhookEvent === 'ComputerCheckIn' ? event?.computer : event;
  if (!computer || typeof computer !== 'object') return undefined;
  const serial = textOf(computer.serialNumber);
  const udid = textOf(computer.udid);
  return serial === undefined && udid === undefined ? undefined : { ...(serial ? { serial } : {}), ...(udid ? { udid } : {}), atMs };
}

/**
 * The sighting of a check-in or inventory webhook record read again from its payload (a record drained
 * from the local spool, which keeps the stream fields only); undefined for any other record.
 */
export function sightingOfRecord(record: StreamRecord): DeviceSighting | undefined {
  if (record.source !== webhookSource || !sightingEvents.has(record.type)) return undefined;
  try {
    return sightingOf(JSON.parse(record.payload.toString()), record.type, Date.parse(record.time));
  } catch {
    return undefined;
  }
}

/**
 * The stream record of a webhook: `id` is the sha256 of the raw body; `payload` is the raw body, byte
 * for byte (the sink copies a Buffer into the request more cheaply than it encodes text). A check-in or
 * inventory webhook carries its computer's sighting for the push sink (not a stream field).
 */
export function webhookRecord(raw: Buffer, body: unknown, webhook: ValidatedWebhook, receivedMs: number, tenant = ''): StreamRecord {
  const timeMs = eventTimeMs(webhook.eventTimestamp);
  const device = sightingOf(body, webhook.webhookEvent, timeMs);
  return {
    id: sha256(raw, 'hex'),
    source: webhookSource,
    type: webhook.webhookEvent,
    tenant,
    connector: 'webhook',
    // Always there (undefined for most events): one object shape on the hot path.
    device,
    time: formatTime(timeMs),
    received: formatTime(receivedMs),
    payload: raw,
    indicators: JSON.stringify(webhook.extractor.extract(body)),
  };
}
