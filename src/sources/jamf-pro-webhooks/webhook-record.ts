import * as crypto from 'node:crypto';
import type { StreamRecord } from '../../sink/stream-record.ts';
import { formatTime } from '../../sink/stream-record.ts';
import type { ValidatedWebhook } from './webhook-validator.ts';

export const webhookSource = 'jamf_pro.events';

/**
 * The sha256 of a body, as hex. `crypto.hash` (Node 20.12 and later) makes no Hash object, which
 * costs more than hashing a webhook body does; older Node 20 releases take the long way.
 */
const sha256Hex: (data: Buffer) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');

/** Values below 10^11 are epoch seconds (Jamf sometimes sends 10 digits), others milliseconds. */
export function eventTimeMs(eventTimestamp: number | string): number {
  const n = Number(eventTimestamp);
  return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
}

/**
 * The stream record of a webhook: `id` is the sha256 of the raw body; `payload` is the raw body, byte
 * for byte (the sink copies a Buffer into the request more cheaply than it encodes text).
 */
export function webhookRecord(raw: Buffer, body: unknown, webhook: ValidatedWebhook, receivedMs: number): StreamRecord {
  return {
    id: sha256Hex(raw),
    source: webhookSource,
    type: webhook.webhookEvent,
    tenant: '',
    connector: 'webhook',
    time: formatTime(eventTimeMs(webhook.eventTimestamp)),
    received: formatTime(receivedMs),
    payload: raw,
    indicators: JSON.stringify(webhook.extractor.extract(body)),
  };
}
