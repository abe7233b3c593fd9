import type { ValidateFunction } from 'ajv';
import { logErrorCodes } from '../../errors.ts';
import { IndicatorExtractor } from '../../indicators/indicator-extractor.ts';
import { sha256 } from '../../sha256.ts';
import { createAjv } from '../../schema/ajv.ts';
import { readSchema } from '../../schema/read-schema.ts';
import { formatTime, type StreamRecord } from '../../stream/stream-record.ts';
import { changeManagementSource, complianceReporterSource, literalPattern, logLinePrefixes, loginSource } from './log-kinds.ts';
import { schemaErrorDetails, type SchemaErrorDetail } from '../../schema/schema-errors.ts';

// Jamf Pro Log Stream lines (access log → Panther Jamfpro.Login, change management) and Jamf Compliance
// Reporter events (Panther Jamfpro.ComplianceReporter) to stream records. Pure: no I/O but reading each schema
// once, at its first use.
//
//   [JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=Unknown, status=Failed token creation, ipAddress=81.2.69.142, entryPoint=Universal API (OAuth)
//   [CHANGEMANAGEMENT] 2026-09-23T19:56:24,039 [INFO ] [Tomcat-380 ] [file   ] - [jane@example.com (ID: -1)] [READ] [Computer] [2026-09-23T19:56:24.039+0000]
//   {"time":"2026-09-23T19:52:07.25531106Z","message":"<either line>"}          (S3 delivery)
//   {"_event_score":0,"header":{"event_name":"AUE_EXECVE","time_seconds_epoch":1571164212,…},"host_info":{…},…}

/** The code of a refused line's reason. */
export type LogErrorCode = (typeof logErrorCodes)[keyof typeof logErrorCodes];


export const loginType = 'Jamfpro.Login';
/** The type of a change-management line without an action. */
export const changeType = 'change';


/** Largest line or JSON object accepted, in UTF-8 bytes (a stream entry is not a file store). */
export const maxLogTextBytes = 1024 * 1024;

/** Event times are accepted from 1970 to the end of year 9999 (RFC 3339 needs four year digits). */
const minTimeMs = 0;
const maxTimeMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface AccessLogFields {
  timestamp: string;
  username: string;
  status: string;
  ipAddress?: string;
  entryPoint: string;
}

export interface ChangeManagementFields {
  timestamp: string;
  level: string;
  thread: string;
  logger: string;
  user: string;
  userId: number;
  action: string;
  object: string;
  objectTime?: string;
  details?: string;
}

export type ParsedLine<F> = { ok: true; fields: F; timeMs: number } | { ok: false; reason: string };

export type LogRecordResult =
  | { ok: true; record: StreamRecord }
  | { ok: false; code: LogErrorCode; reason: string; details?: SchemaErrorDetail[] };

export interface LogRecordInput {
  /** The line or JSON object text exactly as received. */
  text: string;
  tenant: string;
  connector: string;
  receivedMs: number;
}

// --- schemas, compiled once, at their first use (not at every start of Orchard) -------------

interface Compiled {
  readonly validate: ValidateFunction;
  readonly extractor: IndicatorExtractor;
  readonly name: string;
}

let ajv: ReturnType<typeof createAjv> | undefined;
function compiledOnce(path: string, name: string): () => Compiled {
  let compiled: Compiled | undefined;
  return () => {
    if (compiled) return compiled;
    const schema = readSchema(path);
    ajv ??= createAjv();
    return (compiled = { validate: ajv.compile(schema), extractor: new IndicatorExtractor(schema), name });
  };
}
const login = compiledOnce('jamf-pro-logs/login.schema.json', 'Jamfpro.Login');
const changeManagement = compiledOnce('jamf-pro-logs/change-management.schema.json', 'change-management');
const complianceReporter = compiledOnce('jamf-pro-logs/compliance-reporter.schema.json', 'Jamfpro.ComplianceReporter');

// --- time -------------------------------------------------------------------------------------

const commaTime = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}),(\d{1,9})$/;

/**
 * Epoch milliseconds of a Jamf Pro log time, `%Y-%m-%dT%H:%M:%S,%f` in UTC with 1 to 9 fraction digits
 * (truncated to the millisecond), or undefined when it is not such a time or lies outside 1970–9999.
 */
export function parseLogTimestamp(value: string): number | undefined {
  const m = commaTime.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Number(m[7]!.padEnd(3, '0').slice(0, 3));
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC rolls 2026-02-30 over into March: a day that does not exist is not a time.
  if (new Date(t).getUTCDate() !== d) return undefined;
  return t >= minTimeMs && t <= maxTimeMs ? t : undefined;
}

const timeFormatHelp = 'expected %Y-%m-%dT%H:%M:%S,%f in UTC between 1970 and 9999, e.g. 2026-09-23T19:52:07,254';

// --- access log -------------------------------------------------------------------------------

const accessPrefix = logLinePrefixes.access;
const accessHead = new RegExp(`^${literalPattern(accessPrefix)} (\\S*) - username=`);

/** One trailing line break is not part of the line. */
function stripLineEnd(line: string): string {
  return line.endsWith('\r\n') ? line.slice(0, -2) : line.endsWith('\n') || line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * Parses `[JSSACCESSLOG] <time> - username=…, status=…, ipAddress=…, entryPoint=…`.
 *
 * Values may hold commas, `=` or nothing at all, so the line is not split on commas. The keys come in
 * this order, and only the username is chosen by whoever logs in, so the line is read from the right:
 * entryPoint after the last `, entryPoint=`, ipAddress after the last `, ipAddress=` before it, status
 * after the last `, status=` before that, and the username is everything in front. A username that
 * imitates the rest of the line (`x, status=Successful Login, ipAddress=…`) therefore stays the username.
 * `ipAddress` is left out when the line has none or an empty one.
 */
export function parseAccessLine(line: string): ParsedLine<AccessLogFields> {
  const text = stripLineEnd(line);
  if (!text.startsWith(accessPrefix)) return { ok: false, reason: `not an access-log line: it does not start with ${accessPrefix}` };
  const head = accessHead.exec(text);
  if (!head) return { ok: false, reason: `access-log line does not continue "${accessPrefix} <timestamp> - username=" after ${accessPrefix}` };
  const timestamp = head[1]!;
  const timeMs = parseLogTimestamp(timestamp);
  if (timeMs === undefined) return { ok: false, reason: `timestamp ${JSON.stringify(timestamp)} is not a valid time: ${timeFormatHelp}` };
  const rest = text.slice(head[0].length);
  const e = rest.lastIndexOf(', entryPoint=');
  if (e < 0) return { ok: false, reason: 'access-log line has no entryPoint (", entryPoint=" is missing)' };
  const entryPoint = rest.slice(e + ', entryPoint='.length);
  let before = rest.slice(0, e);
  let ipAddress: string | undefined;
  const i = before.lastIndexOf(', ipAddress=');
  if (i >= 0) {
    ipAddress = before.slice(i + ', ipAddress='.length);
    before = before.slice(0, i);
  }
  const s = before.lastIndexOf(', status=');
  if (s < 0) return { ok: false, reason: 'access-log line has no status (", status=" is missing)' };
  const fields: AccessLogFields = {
    timestamp,
    username: before.slice(0, s),
    status: before.slice(s + ', status='.length),
    ...(ipAddress === undefined || ipAddress === '' ? {} : { ipAddress }),
    entryPoint,
  };
  return { ok: true, fields, timeMs };
}

// --- change management ------------------------------------------------------------------------

const changePrefix = logLinePrefixes.change;
// [CHANGEMANAGEMENT] <time> [<level>] [<thread>] [<logger>] - [<user> (ID: <n>)] [<action>] [<object>] [<objectTime>]<details>
// Matched on the first line only (detail lines follow). The user is matched greedily up to the last
// " (ID: n)] [": an account name may hold brackets, while the action and object that follow are Jamf's
// own vocabulary.
const changeHead = new RegExp(`^${literalPattern(changePrefix)} ${/(\S*) \[([^\]]*)\] \[([^\]]*)\] \[([^\]]*)\] - \[(.*) \(ID: (-?\d+)\)\] \[([^\]]*)\] /.source}`);
const objectWithTime = /^\[(.*?)\] \[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)\]/;
const objectOnly = /^\[([^\]]*)\]/;

/**
 * Parses a change-management line. Padding inside the brackets is removed; the object time is kept as
 * written (with its zone offset); anything after the known brackets (usually detail lines, "\tID  2430")
 * is kept as `details`, without the line break that starts it and without trailing white space.
 */
export function parseChangeManagementLine(line: string): ParsedLine<ChangeManagementFields> {
  const text = stripLineEnd(line);
  if (!text.startsWith(changePrefix)) return { ok: false, reason: `not a change-management line: it does not start with ${changePrefix}` };
  const lineBreak = text.indexOf('\n');
  const firstLine = lineBreak < 0 ? text : text.slice(0, lineBreak);
  const following = lineBreak < 0 ? '' : text.slice(lineBreak);
  const head = changeHead.exec(firstLine);
  if (!head) {
    return {
      ok: false,
      reason: `change-management line does not have the shape "${changePrefix} <timestamp> [<level>] [<thread>] [<logger>] - [<user> (ID: <n>)] [<action>] [<object>] …"`,
    };
  }
  const timestamp = head[1]!;
  const timeMs = parseLogTimestamp(timestamp);
  if (timeMs === undefined) return { ok: false, reason: `timestamp ${JSON.stringify(timestamp)} is not a valid time: ${timeFormatHelp}` };
  const userId = Number(head[6]);
  if (!Number.isSafeInteger(userId)) return { ok: false, reason: `userId ${head[6]} is not an integer` };
  const afterAction = firstLine.slice(head[0].length);
  const withTime = objectWithTime.exec(afterAction);
  const objectMatch = withTime ?? objectOnly.exec(afterAction);
  if (!objectMatch) return { ok: false, reason: 'change-management line has no [<object>] after the action' };
  const fields: ChangeManagementFields = {
    timestamp,
    level: head[2]!.trim(),
    thread: head[3]!.trim(),
    logger: head[4]!.trim(),
    user: head[5]!.trim(),
    userId,
    action: head[7]!.trim(),
    object: objectMatch[1]!.trim(),
  };
  if (withTime) fields.objectTime = withTime[2]!;
  const sameLine = afterAction.slice(objectMatch[0].length).trim();
  const details = (sameLine + following.replace(/^\r?\n/, sameLine === '' ? '' : '\n')).replace(/\s+$/, '');
  if (details !== '') fields.details = details;
  return { ok: true, fields, timeMs };
}

// --- the S3 wrapper ---------------------------------------------------------------------------

export type UnwrappedLine = { ok: true; line: string; time?: string; wrapped: boolean } | { ok: false; reason: string };

type Wrapper = { ok: true; line: string; time?: string } | { ok: false; reason: string };

function unwrapObject(value: Record<string, unknown>): Wrapper {
  const { message, time } = value;
  if (typeof message !== 'string') return { ok: false, reason: 'the Log Stream wrapper\'s "message" must be a string (the log line)' };
  if (time !== undefined && typeof time !== 'string') return { ok: false, reason: `the Log Stream wrapper's "time" must be a string, got ${kindOf(time)}` };
  return time === undefined ? { ok: true, line: message } : { ok: true, line: message, time };
}

/**
 * A raw log line as it is, or the S3 delivery's `{"time": …, "message": "<line>"}` → the inner line and
 * the wrapper's `time`.
 */
export function unwrapLine(text: string): UnwrappedLine {
  if (!text.trimStart().startsWith('{')) return { ok: true, line: stripLineEnd(text), wrapped: false };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
  }
  if (!isPlainObject(value)) return { ok: false, reason: `expected a JSON object, got ${kindOf(value)}` };
  const unwrapped = unwrapObject(value);
  return unwrapped.ok ? { ...unwrapped, wrapped: true } : unwrapped;
}

// --- records ----------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function preview(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}

function fail(code: LogErrorCode, reason: string, details?: SchemaErrorDetail[]): LogRecordResult {
  return details === undefined ? { ok: false, code, reason } : { ok: false, code, reason, details };
}

function describeErrors(details: SchemaErrorDetail[]): string {
  const shown = details.slice(0, 3).map((d) => `${d.path} ${d.message}`);
  return shown.join('; ') + (details.length > 3 ? ` (and ${details.length - 3} more)` : '');
}

/** The JSON-pointer path of the first string holding a NUL character, or undefined. */
function nulPath(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path || '/' : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = nulPath(item, `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface Common {
  readonly id: string;
  readonly input: LogRecordInput;
}

function record(common: Common, source: string, type: string, timeMs: number, payload: string, indicators: object): StreamRecord {
  return {
    id: common.id,
    source,
    type,
    tenant: common.input.tenant,
    connector: common.input.connector,
    time: formatTime(timeMs),
    received: formatTime(common.input.receivedMs),
    payload,
    indicators: JSON.stringify(indicators),
  };
}

function validated(compiled: Compiled, document: unknown, what: string): LogRecordResult | undefined {
  if (compiled.validate(document)) return undefined;
  const details = schemaErrorDetails(compiled.validate.errors);
  return fail(logErrorCodes.invalid, `${what} does not match the ${compiled.name} schema: ${describeErrors(details)}`, details);
}

function lineRecord(common: Common, rawLine: string, wrapped: boolean, wrapperTime: string | undefined): LogRecordResult {
  const line = stripLineEnd(rawLine);
  const where = wrapped ? 'wrapped line' : 'line';
  let parsed: ParsedLine<AccessLogFields> | ParsedLine<ChangeManagementFields>;
  let compiled: Compiled;
  let source: string;
  if (line.startsWith(accessPrefix)) {
    parsed = parseAccessLine(line);
    compiled = login();
    source = loginSource;
  } else if (line.startsWith(changePrefix)) {
    parsed = parseChangeManagementLine(line);
    compiled = changeManagement();
    source = changeManagementSource;
  } else {
    return fail(
      logErrorCodes.unrecognised,
      `${where} is not a Jamf Pro log line (expected ${accessPrefix} or ${changePrefix} at the start), it starts with ${preview(line)}`,
    );
  }
  if (!parsed.ok) return fail(logErrorCodes.invalid, `${where}: ${parsed.reason}`);
  const fields = parsed.fields as unknown as Record<string, unknown>;
  const nul = nulPath(fields, '');
  if (nul !== undefined) {
    return fail(logErrorCodes.invalid, `${where}: field ${nul.slice(1)} contains a NUL character`, [{ path: nul, message: 'must not contain a NUL character' }]);
  }
  const invalid = validated(compiled, fields, where);
  if (invalid) return invalid;
  const type = source === loginSource ? loginType : (fields.action as string) || changeType;
  const payload = JSON.stringify(wrapperTime === undefined ? { ...fields, message: line } : { ...fields, message: line, time: wrapperTime });
  return { ok: true, record: record(common, source, type, parsed.timeMs, payload, compiled.extractor.extract(fields)) };
}

const decimalSeconds = /^(\d{1,16})(?:\.(\d+))?$/;

/** Milliseconds of unix seconds given as a number or a decimal string, read digit by digit (no float error). */
function unixSecondsToMs(value: number | string): number {
  const m = decimalSeconds.exec(typeof value === 'number' ? String(value) : value);
  if (!m) return Number.NaN;
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0').slice(0, 3));
}

function complianceReporterRecord(common: Common, event: Record<string, unknown>): LogRecordResult {
  const invalid = validated(complianceReporter(), event, 'Compliance Reporter event');
  if (invalid) return invalid;
  const nul = nulPath(event, '');
  if (nul !== undefined) return fail(logErrorCodes.invalid, `Compliance Reporter event: ${nul} contains a NUL character`, [{ path: nul, message: 'must not contain a NUL character' }]);
  const header = event.header as { event_name: string; time_seconds_epoch: number | string; time_milliseconds_offset?: unknown };
  let offsetMs = 0;
  const offset = header.time_milliseconds_offset;
  if (offset !== undefined && offset !== null) {
    offsetMs = typeof offset === 'number' ? offset : /^\d{1,3}$/.test(String(offset)) ? Number(offset) : Number.NaN;
    if (!Number.isInteger(offsetMs) || offsetMs < 0 || offsetMs > 999) {
      return fail(logErrorCodes.invalid, `Compliance Reporter event: /header/time_milliseconds_offset ${JSON.stringify(offset)} must be an integer from 0 to 999`, [
        { path: '/header/time_milliseconds_offset', message: 'must be an integer from 0 to 999' },
      ]);
    }
  }
  const timeMs = unixSecondsToMs(header.time_seconds_epoch) + offsetMs;
  if (!Number.isFinite(timeMs) || timeMs < minTimeMs || timeMs > maxTimeMs) {
    return fail(
      logErrorCodes.invalid,
      `Compliance Reporter event: /header/time_seconds_epoch ${JSON.stringify(header.time_seconds_epoch)} is out of range (unix seconds from 1970 to the end of 9999)`,
      [{ path: '/header/time_seconds_epoch', message: 'must be unix seconds from 1970 to the end of 9999' }],
    );
  }
  return {
    ok: true,
    record: record(common, complianceReporterSource, header.event_name, timeMs, common.input.text, complianceReporter().extractor.extract(event)),
  };
}

/**
 * The stream record of one Log Stream line (raw or in its S3 wrapper) or one Compliance Reporter event,
 * or why there is none. `id` is the sha256 of `text` as received; `payload` is the parsed fields plus
 * the line (`message`, and the wrapper's `time`) for log lines, and `text` itself for Compliance
 * Reporter events.
 */
export function logRecord(input: LogRecordInput): LogRecordResult {
  const { text } = input;
  if (text.trim() === '') return fail(logErrorCodes.empty, 'empty line: nothing to record');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxLogTextBytes) return fail(logErrorCodes.tooLarge, `line is ${bytes} bytes, more than the ${maxLogTextBytes} accepted`);
  const common: Common = { id: sha256(text, 'hex'), input };
  const start = text.trimStart();
  if (!start.startsWith('{') && !isJsonArrayStart(start)) {
    return lineRecord(common, text, false, undefined);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(logErrorCodes.malformedJson, `malformed JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(value)) {
    return fail(logErrorCodes.unrecognised, `expected one JSON object (a Compliance Reporter event or a Log Stream wrapper), got ${kindOf(value)}`);
  }
  if (!('header' in value) && 'message' in value) {
    const wrapper = unwrapObject(value);
    if (!wrapper.ok) return fail(logErrorCodes.invalid, wrapper.reason);
    return lineRecord(common, wrapper.line, true, wrapper.time);
  }
  return complianceReporterRecord(common, value);
}

/** `[` followed by what can start a JSON value: a JSON array rather than a `[TAG]` log line. */
function isJsonArrayStart(text: string): boolean {
  return /^\[\s*(?:[{["\d\-\]]|true|false|null)/.test(text);
}
