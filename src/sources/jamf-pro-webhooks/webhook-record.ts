import { createHash } from 'node:crypto';
import type { StreamRecord } from '../../sink/stream-record.ts';
import { formatTime } from '../../sink/stream-record.ts';
import type { ValidatedWebhook } from './webhook-validator.ts';

export const webhookSource = 'jamf_pro.events';

/** Values below 10^11 are epoch seconds (Jamf sometimes sends 10 digits), others milliseconds. */
export function eventTimeMs(eventTimestamp: number | string): number {
  const n = Number(eventTimestamp);
  return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
}

/**
 * The stream record of a webhook: `id` is the sha256 of the raw body; `payload` is the body byte for
 * byte, given as the raw Buffer or as its text when that decodes it exactly.
 */
export function webhookRecord(raw: Buffer, payload: Buffer | string, body: unknown, webhook: ValidatedWebhook, receivedMs: number): StreamRecord {
  return {
    id: createHash('sha256').update(raw).digest('hex'),
    source: webhookSource,
    type: webhook.webhookEvent,
    tenant: '',
    connector: 'webhook',
    time: formatTime(eventTimeMs(webhook.eventTimestamp)),
    received: formatTime(receivedMs),
    payload,
    indicators: JSON.stringify(webhook.extractor.extract(body)),
  };
}
