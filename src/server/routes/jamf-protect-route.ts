import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BatchRejectedError, EmptyBodyError, MalformedJsonError, OrchardError, SchemaViolationError, TooManyLinesError } from '../../errors.ts';
import { labelCache } from '../../metrics.ts';
import type { StreamRecord } from '../../sink/stream-record.ts';
import { formatTime } from '../../sink/stream-record.ts';
import { alertRecord, asPushed, checkAlert, protectSource } from '../../sources/jamf-protect/alert-record.ts';
import { addIntakeHooks, decodedBody, rejectIntake, unsupportedMediaType, type IntakeOptions } from '../intake-hooks.ts';

// POST /jamf-protect-events: Jamf Protect's "Remote Alert Collection Endpoint". The agents post one
// alert, or a batch of newline-delimited alerts. Every alert is checked against
// schemas/jamf-protect/alert.schema.json; the valid ones are appended together in one atomic step
// (all or none, each once: `id` = `input.match.uuid`, the key the pull connector dedups on too), the
// invalid lines go to the rejected stream with their reason, and the answer says which is which.

export interface JamfProtectRouteOptions extends Omit<IntakeOptions, 'source' | 'accepts'> {
  readonly path: string;
  readonly decodedBodyLimitBytes: number;
  /** How long an alert's uuid is remembered (shared with the pull connectors). */
  readonly dedupWindowSeconds: number;
}

/** Lines one request may carry: bounds the work (and rejected entries) one request can cause. */
export const maxLinesPerRequest = 5000;

/** JSON, NDJSON / JSON Lines, plain text, or no type at all: what an agent's HTTP client may send. */
const acceptedTypes = /^(?:application\/(?:[\w.+-]+\+)?json|application\/(?:x-)?ndjson|application\/(?:x-)?jsonl(?:ines)?|application\/json-seq|text\/plain)\s*(?:;|$)/i;

interface Line {
  /** 1-based line number in the (decoded) body; 1 for a single-document body. */
  readonly line: number;
  readonly text: string;
}

interface Refused {
  readonly line: number;
  readonly error: OrchardError;
  readonly text: string;
}

/** One JSON document (possibly pretty-printed over lines) or one alert per line. */
function splitLines(text: string): Line[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && !trimmed.includes('\n')) return [{ line: 1, text: trimmed }];
  if (trimmed.startsWith('{')) {
    try {
      JSON.parse(trimmed);
      return [{ line: 1, text: trimmed }];
    } catch {
      // Not one document: newline-delimited alerts.
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

export async function jamfProtectRoute(scope: FastifyInstance, options: JamfProtectRouteOptions): Promise<void> {
  const intake: IntakeOptions = { ...options, source: protectSource, accepts: (type) => type === undefined || acceptedTypes.test(type) };
  const { metrics, sink } = options;
  addIntakeHooks(scope, intake);

  const appended = labelCache((type: string) => metrics.eventsAppended.labels(protectSource, type));
  const duplicates = metrics.duplicates.labels(protectSource);

  scope.post(options.path, async (req, reply) => {
    const receivedMs = Date.now();
    if (req.unsupportedMediaType) return rejectIntake(intake, req, unsupportedMediaType(req));
    let body: Buffer;
    try {
      body = decodedBody(req, options.decodedBodyLimitBytes);
    } catch (err) {
      if (err instanceof OrchardError) return rejectIntake(intake, req, err);
      throw err;
    }
    const text = body.toString('utf8');
    const lines = splitLines(text);
    if (lines.length === 0) return rejectIntake(intake, req, new EmptyBodyError());
    if (lines.length > maxLinesPerRequest) return rejectIntake(intake, req, new TooManyLinesError(maxLinesPerRequest));

    const records: { line: number; record: StreamRecord }[] = [];
    const refused: Refused[] = [];
    for (const { line, text: lineText } of lines) {
      let document: unknown;
      try {
        document = asPushed(JSON.parse(lineText));
      } catch (err) {
        refused.push({ line, text: lineText, error: new MalformedJsonError(err) });
        continue;
      }
      const check = checkAlert(document);
      if (!check.ok) {
        const shown = check.details.slice(0, 3).map((d) => `${d.path} ${d.message}`).join('; ');
        refused.push({ line, text: lineText, error: new SchemaViolationError(`Line ${line} is not a Jamf Protect alert: ${shown}`, check.details) });
        continue;
      }
      // A single-alert body that is not valid UTF-8 is kept byte for byte; lines are text.
      const payload = lines.length === 1 && !isUtf8(body) ? body : lineText;
      records.push({ line, record: alertRecord({ document, uuid: check.uuid, payload, tenant: '', connector: 'webhook', receivedMs }) });
    }

    // The refused lines are kept first: an answer that lists them promises they are stored.
    await keepRefused(intake, req, refused);
    if (records.length === 0) {
      if (refused.length === 1 && lines.length === 1) throw refused[0]!.error;
      throw new BatchRejectedError(lines.length, refused.map(describeRefused));
    }

    const results = await sink.appendAll(
      records.map((r) => r.record),
      { dedupWindowSeconds: options.dedupWindowSeconds },
    );
    let fresh = 0;
    const alerts = results.map((result, i) => {
      const { line, record } = records[i]!;
      if (result.duplicate) duplicates.inc();
      else {
        fresh += 1;
        appended(record.type).inc();
      }
      return { line, id: result.id, entry: result.entry, ...(result.duplicate ? { duplicate: true } : {}) };
    });
    // 200 when nothing new was stored (a retried batch), 202 when something was.
    return reply.code(fresh === 0 && refused.length === 0 ? 200 : 202).send({
      received: lines.length,
      appended: fresh,
      duplicates: results.length - fresh,
      rejected: refused.map(describeRefused),
      alerts,
    });
  });
}

function describeRefused(r: Refused): { line: number; code: string; message: string; details: unknown[] } {
  return { line: r.line, code: r.error.code, message: r.error.message, details: r.error.details };
}

async function keepRefused(options: IntakeOptions, req: FastifyRequest, refused: readonly Refused[]): Promise<void> {
  if (refused.length === 0) return;
  const received = formatTime(Date.now());
  await Promise.all(
    refused.map((r) => {
      options.metrics.rejected.inc({ source: options.source, reason: r.error.code });
      return options.sink.appendRejected({
        reason: JSON.stringify({ code: r.error.code, message: r.error.message, details: r.error.details, line: r.line }),
        source: options.source,
        received,
        remote: req.ip,
        payload: r.text,
      });
    }),
  );
}
