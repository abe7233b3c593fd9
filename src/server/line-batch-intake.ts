import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BatchRejectedError, EmptyBodyError, OrchardError, TooManyLinesError } from '../errors.ts';
import { labelCache } from '../metrics.ts';
import { topLevelObjectSlices } from '../sources/json-array-slices.ts';
import type { StreamRecord } from '../stream/stream-record.ts';
import { addIntakeHooks, decodedBody, keepRejected, rejectIntake, unsupportedMediaType, type IntakeOptions } from './intake-hooks.ts';

// What the routes that take batches of lines share (Jamf Protect alerts, Jamf Pro logs): the body,
// gzip or deflate undone, is split into lines (or one JSON document, or a JSON array's elements); each
// line becomes a record or a refusal; the refused lines are kept in the rejected stream with their
// reason and line number, and the records are appended together in one atomic step (all or none, each
// once). The answer says which line landed as which entry and which were refused:
//
//   202 {"received": 11, "appended": 10, "duplicates": 1, "rejected": [{line, code, message, details}], "results": [{line, id, entry, duplicate?}]}
//
// 200 when nothing new was stored (a batch sent again), 400 when every line was refused. When Redis
// cannot take the batch it goes to the local spool whole: "spooled": n, and results without entries
// ({line, id, spooled: true}).

/** Lines one request may carry: bounds the work (and rejected entries) one request can cause. */
export const maxLinesPerRequest = 5000;

/** JSON, NDJSON / JSON Lines, plain text, or no type at all: what a shipper's HTTP client may send. */
const lineTypes = /^(?:application\/(?:[\w.+-]+\+)?json|application\/(?:x-)?ndjson|application\/(?:x-)?jsonl(?:ines)?|application\/json-seq|text\/plain)\s*(?:;|$)/i;

export interface Line {
  /** 1-based: the line number in the decoded body, or the element number in a JSON array. */
  readonly line: number;
  readonly text: string;
}

export type LineOutcome = { readonly ok: true; readonly record: StreamRecord } | { readonly ok: false; readonly error: OrchardError };

export interface LineBatchRouteOptions extends Omit<IntakeOptions, 'accepts'> {
  readonly path: string;
  readonly decodedBodyLimitBytes: number;
  /** How long appended ids are remembered. */
  readonly dedupWindowSeconds: number;
  /** The record of one line, or why not. `body` is the decoded body (a single-document body's payload). */
  readonly parse: (line: Line, context: { readonly receivedMs: number; readonly body: Buffer; readonly single: boolean; readonly tenant: string }) => LineOutcome;
  /** What a body holds, for the empty-body error ("one alert or newline-delimited alerts"). */
  readonly expected: string;
  /** The methods the route answers. Default POST. */
  readonly methods?: readonly ('POST' | 'PUT')[];
}

/**
 * One JSON object (possibly pretty-printed over lines), a JSON array's elements (their text as sent),
 * or one item per line, blank lines skipped.
 */
export function splitBody(text: string): Line[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && !trimmed.includes('\n')) return [{ line: 1, text: trimmed }];
  if (trimmed.startsWith('{') || /^\[\s*[{\]]/.test(trimmed)) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      if (!Array.isArray(value)) return [{ line: 1, text: trimmed }];
      // Each object element as it was sent (when the slices line up with them); anything else (not a
      // valid item anyway) as JSON.
      const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
      const slices = topLevelObjectSlices(trimmed);
      const aligned = slices.length === value.filter(isObject).length;
      let next = 0;
      return value.map((v, i) => ({ line: i + 1, text: aligned && isObject(v) ? slices[next++]! : JSON.stringify(v) }));
    } catch {
      // Not one document: newline-delimited items.
    }
  }
  const lines: Line[] = [];
  let n = 0;
  for (const raw of text.split('\n')) {
    n += 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    lines.push({ line: n, text: line });
  }
  return lines;
}

interface Refused {
  readonly line: Line;
  readonly error: OrchardError;
}

export async function lineBatchRoute(scope: FastifyInstance, options: LineBatchRouteOptions): Promise<void> {
  const intake: IntakeOptions = { ...options, accepts: (type) => type === undefined || lineTypes.test(type) };
  const { metrics, sink } = options;
  addIntakeHooks(scope, intake);

  const appended = labelCache((key: string) => {
    const [source, type] = key.split('\n') as [string, string];
    return metrics.eventsAppended.labels(source, type);
  });
  const duplicates = labelCache((source: string) => metrics.duplicates.labels(source));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const receivedMs = Date.now();
    if (req.unsupportedMediaType) return rejectIntake(intake, req, unsupportedMediaType(req, 'application/json, application/x-ndjson, text/plain or no Content-Type (curl: -H \'Content-Type: application/x-ndjson\')'));
    let body: Buffer;
    try {
      body = decodedBody(req, options.decodedBodyLimitBytes);
    } catch (err) {
      if (err instanceof OrchardError) return rejectIntake(intake, req, err);
      throw err;
    }
    const lines = splitBody(body.toString('utf8'));
    if (lines.length === 0) return rejectIntake(intake, req, new EmptyBodyError(options.expected));
    if (lines.length > maxLinesPerRequest) return rejectIntake(intake, req, new TooManyLinesError(maxLinesPerRequest));

    const records: { line: number; record: StreamRecord }[] = [];
    const refused: Refused[] = [];
    const single = lines.length === 1;
    for (const line of lines) {
      const outcome = options.parse(line, { receivedMs, body, single, tenant: req.intakeTenant });
      if (outcome.ok) records.push({ line: line.line, record: outcome.record });
      else refused.push({ line, error: outcome.error });
    }

    // The refused lines are kept first: an answer that lists them promises they are stored.
    await keepRefused(options, req, refused);
    if (records.length === 0) {
      if (refused.length === 1 && single) throw refused[0]!.error;
      throw new BatchRejectedError(lines.length, refused.map(describeRefused));
    }

    const results = await sink.appendAll(
      records.map((r) => r.record),
      { dedupWindowSeconds: options.dedupWindowSeconds },
    );
    let fresh = 0;
    let spooled = 0;
    const answered = results.map((result, i) => {
      const { line, record } = records[i]!;
      if (result.duplicate) duplicates(record.source).inc();
      else if (result.spooled) spooled += 1; // counted as appended once drained (src/spool/)
      else {
        fresh += 1;
        appended(`${record.source}\n${record.type}`).inc();
      }
      return { line, id: result.id, ...(result.spooled ? {} : { entry: result.entry }), ...(result.duplicate ? { duplicate: true } : {}), ...(result.spooled ? { spooled: true } : {}) };
    });
    return reply.code(fresh === 0 && spooled === 0 && refused.length === 0 ? 200 : 202).send({
      received: lines.length,
      appended: fresh,
      ...(spooled > 0 ? { spooled } : {}),
      duplicates: results.length - fresh - spooled,
      rejected: refused.map(describeRefused),
      results: answered,
    });
  };
  scope.route({ method: [...(options.methods ?? ['POST'])], url: options.path, handler });
}

function describeRefused(r: Refused): { line: number; code: string; message: string; details: unknown[] } {
  return { line: r.line.line, code: r.error.code, message: r.error.message, details: r.error.details };
}

async function keepRefused(options: LineBatchRouteOptions, req: FastifyRequest, refused: readonly Refused[]): Promise<void> {
  await Promise.all(refused.map((r) => keepRejected(options, req, r.error, r.line.text, { line: r.line.line })));
}
