import { sha256 } from '../../sha256.ts';
import type { StreamRecord } from '../../stream/stream-record.ts';
import { formatTime } from '../../stream/stream-record.ts';
import type { ValidatedWebhook } from './webhook-validator.ts';

export const webhookSource = 'jamf_pro.events';

/** Values below 10^11 are epoch seconds (Jamf sometimes sends 10 digits), others milliseconds. */
export function eventTimeMs(eventTimestamp: number | string): number {
  const n = Number(eventTimestamp);
  return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
}

/**
 * The stream record of a webhook: `id` is the sha256 of the raw body; `payload` is the raw body, byte
 * for byte (the sink copies a Buffer into the request more cheaply than it encodes text).
 */
export function webhookRecord(raw: Buffer, body: unknown, webhook: ValidatedWebhook, receivedMs: number, tenant = ''): StreamRecord {
  return {
    id: sha256(raw, 'hex'),
    source: webhookSource,
    type: webhook.webhookEvent,
    tenant,
    connector: 'webhook',
    time: formatTime(eventTimeMs(webhook.eventTimestamp)),
    received: formatTime(receivedMs),
    payload: raw,
    indicators: JSON.stringify(webhook.extractor.extract(body)),
  };
}
