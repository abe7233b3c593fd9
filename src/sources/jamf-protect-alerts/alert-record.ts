import type { ValidateFunction } from 'ajv';
import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { createAjv } from '../../schema/ajv.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { formatTime, type StreamRecord } from '../../stream/stream-record.ts';
import { schemaErrorDetails, type SchemaErrorDetail } from '../../schema/schema-errors.ts';

// A Jamf Protect alert, whichever way it came: pushed by the agents to /jamf-protect-events, or pulled
// from the GraphQL API (its `json` field). Both paths give the record the same `source` and `id` (the
// alert's uuid, `input.match.uuid`), so the dedup key they share makes the alert land once.

export const protectSource = 'jamf_protect.alerts';

// Compiled at the first alert, not at every start of Orchard.
let compiled: { readonly validate: ValidateFunction; readonly extractor: IndicatorExtractor } | undefined;
function alertSchema() {
  if (compiled) return compiled;
  const schema = readSchema('jamf-protect/alert.schema.json');
  return (compiled = { validate: createAjv().compile(schema), extractor: new IndicatorExtractor(schema) });
}

export type AlertCheck = { readonly ok: true; readonly uuid: string } | { readonly ok: false; readonly details: SchemaErrorDetail[] };

/**
 * Checks a parsed alert against schemas/jamf-protect/alert.schema.json. The API's `json` may hold the
 * alert's `input` object itself rather than the pushed envelope; `asPushed` gives the envelope form.
 */
export function checkAlert(document: unknown): AlertCheck {
  const { validate } = alertSchema();
  if (!validate(document)) return { ok: false, details: schemaErrorDetails(validate.errors) };
  const uuid = (document as { input: { match: { uuid: string } } }).input.match.uuid;
  return { ok: true, uuid };
}

/** The pushed envelope `{caid, certid, input}` of an alert document that may be the bare `input`. */
export function asPushed(document: unknown): unknown {
  if (document !== null && typeof document === 'object' && !Array.isArray(document)) {
    const d = document as Record<string, unknown>;
    if (d.input === undefined && d.match !== null && typeof d.match === 'object') return { input: d };
  }
  return document;
}

/** Epoch ms of `input.match.event.timestamp` (seconds with a fraction, truncated to the ms), or undefined. */
export function alertEventTimeMs(document: unknown): number | undefined {
  const raw = (document as { input?: { match?: { event?: { timestamp?: unknown } } } })?.input?.match?.event?.timestamp;
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  // From the digits, not by multiplying: 1700566364.184953 * 1000 is not exactly …184.953.
  const m = /^(\d{1,13})(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const whole = Number(m[1]);
  // Seconds, or milliseconds when the value is that large (a sender that writes ms).
  const ms = whole < 1e11 ? whole * 1000 + Number((m[2] ?? '').padEnd(3, '0').slice(0, 3)) : whole;
  return ms > 0 && ms < 8.64e15 ? ms : undefined;
}

/** An event type name fit for the record's `type` (GPFSEvent, GPProcessEvent, …), or undefined. */
function eventTypeName(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(value) ? value : undefined;
}

export interface AlertRecordInput {
  /** A document that passed `checkAlert` (the envelope form). */
  readonly document: unknown;
  readonly uuid: string;
  /** The alert as JSON text, exactly as received. */
  readonly payload: string | Buffer;
  readonly tenant: string;
  /** `webhook` for pushed alerts, the connector's name for pulled ones. */
  readonly connector: string;
  readonly receivedMs: number;
  /** When the alert was created in Jamf Protect (pulled alerts); else the event's own timestamp is used. */
  readonly createdMs?: number;
  /** The API's `eventType` of a pulled alert: the type when the document names none. */
  readonly eventType?: unknown;
}

export function alertRecord(input: AlertRecordInput): StreamRecord {
  const timeMs = input.createdMs ?? alertEventTimeMs(input.document) ?? input.receivedMs;
  return {
    id: input.uuid,
    source: protectSource,
    type: eventTypeName((input.document as { input?: { eventType?: unknown } })?.input?.eventType) ?? eventTypeName(input.eventType) ?? 'alert',
    tenant: input.tenant,
    connector: input.connector,
    time: formatTime(timeMs),
    received: formatTime(input.receivedMs),
    payload: input.payload,
    indicators: JSON.stringify(alertSchema().extractor.extract(input.document)),
  };
}
