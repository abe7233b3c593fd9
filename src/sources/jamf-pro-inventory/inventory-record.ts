import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { sha256 } from '../../sha256.ts';
import type { PageRecord } from '../../sink/event-sink.ts';
import type { StreamRecord } from '../../stream/stream-record.ts';
import { formatTime } from '../../stream/stream-record.ts';

export const inventorySource = 'jamf_pro.inventory';

const extractor = new IndicatorExtractor(readSchema('jamf-pro-inventory/computer.schema.json'));

export interface ComputerIdentity {
  /** The computer's Jamf id, as text. */
  readonly computerId: string;
  /** Stream id: computer id + `:` + general.reportDate as Jamf wrote it, or + `:sha256:<hash>` without a report date. */
  readonly id: string;
  /** What the versions hash compares: the report date in epoch ms (2- and 3-digit fractions alike), or the content hash. */
  readonly version: string;
  /** Report time in epoch ms, when the record has one. */
  readonly reportMs: number | undefined;
}

/** Jamf writes report dates with 2 or 3 fraction digits: compare them as dates, never as strings. */
export function parseReportDate(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The computer's Jamf id as text (a string in the JSON; a number is taken too), or undefined. */
export function computerIdOf(computer: Record<string, unknown>): string | undefined {
  const rawId = computer.id;
  if ((typeof rawId !== 'string' || rawId === '') && typeof rawId !== 'number') return undefined;
  return String(rawId);
}

export function computerIdentity(computer: Record<string, unknown>, payload: string): ComputerIdentity | undefined {
  const computerId = computerIdOf(computer);
  if (computerId === undefined) return undefined;
  const general = computer.general as Record<string, unknown> | null | undefined;
  const reportDate = general && typeof general === 'object' ? general.reportDate : undefined;
  const reportMs = parseReportDate(reportDate);
  if (reportMs !== undefined) return { computerId, id: `${computerId}:${reportDate as string}`, version: String(reportMs), reportMs };
  // No report date (GENERAL not requested, or a computer that never reported): the content is the version.
  const hash = sha256(payload, 'hex').slice(0, 32);
  return { computerId, id: `${computerId}:sha256:${hash}`, version: `sha256:${hash}`, reportMs: undefined };
}

/** The computer's serial number (`hardware.serialNumber`) and `udid`, for the missed-webhook check; undefined without either. */
function deviceOf(computer: Record<string, unknown>, reportMs: number | undefined): PageRecord['device'] {
  const hardware = computer.hardware as Record<string, unknown> | null | undefined;
  const serial = hardware && typeof hardware === 'object' && typeof hardware.serialNumber === 'string' && hardware.serialNumber !== '' ? hardware.serialNumber : undefined;
  const udid = typeof computer.udid === 'string' && computer.udid !== '' ? computer.udid : undefined;
  if (serial === undefined && udid === undefined) return undefined;
  return { ...(serial ? { serial } : {}), ...(udid ? { udid } : {}), ...(reportMs === undefined ? {} : { reportMs }) };
}

/**
 * The page record of one computer; undefined when it has no id to key it by. With `watch`, it names
 * its device (the missed-webhook check). With a report date (the
 * version is then known without the record) the stream record is built only when it is read: the
 * page sink does not read it for a computer whose version Redis already holds (redis-page-sink.ts), and
 * an inventory run finds most computers unchanged. Building one (JSON.stringify of a 2 KB report, its
 * indicators, two times) was about a third of Orchard's CPU per unchanged computer.
 */
export function computerRecord(
  computer: Record<string, unknown>,
  context: { connector: string; tenant: string; receivedMs: number; sinceMs: number | undefined },
  watch = false,
): PageRecord | undefined {
  const computerId = computerIdOf(computer);
  if (computerId === undefined) return undefined;
  const general = computer.general as Record<string, unknown> | null | undefined;
  const reportDate = general && typeof general === 'object' ? general.reportDate : undefined;
  const reportMs = parseReportDate(reportDate);
  const append = context.sinceMs === undefined || reportMs === undefined || reportMs >= context.sinceMs;
  const device = watch ? deviceOf(computer, reportMs) : undefined;
  const watched = device ? { device } : {};
  if (reportMs === undefined) {
    // The content is the version: the record is needed now.
    const payload = JSON.stringify(computer);
    const identity = computerIdentity(computer, payload)!;
    return { record: streamRecord(computer, identity, payload, context), versionField: computerId, versionValue: identity.version, append, ...watched };
  }
  const identity: ComputerIdentity = { computerId, id: `${computerId}:${reportDate as string}`, version: String(reportMs), reportMs };
  let record: StreamRecord | undefined;
  return {
    get record(): StreamRecord {
      return (record ??= streamRecord(computer, identity, JSON.stringify(computer), context));
    },
    versionField: computerId,
    versionValue: identity.version,
    append,
    ...watched,
  };
}

function streamRecord(computer: Record<string, unknown>, identity: ComputerIdentity, payload: string, context: { connector: string; tenant: string; receivedMs: number }): StreamRecord {
  return {
    id: identity.id,
    source: inventorySource,
    type: 'computer',
    tenant: context.tenant,
    connector: context.connector,
    time: formatTime(identity.reportMs ?? context.receivedMs),
    received: formatTime(context.receivedMs),
    payload,
    indicators: JSON.stringify(extractor.extract(computer)),
  };
}
