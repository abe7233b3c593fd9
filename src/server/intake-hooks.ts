import { gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BodyTooLargeError, CorruptEncodingError, OrchardError, UnsupportedEncodingError, UnsupportedMediaTypeError, IntakeThrottledError, IntakeUnauthorizedError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { EventSink } from '../sink/event-sink.ts';
import { formatTime } from '../stream/stream-record.ts';
import type { AuthFailureThrottle } from './auth-failure-throttle.ts';
import { IntakeGate } from './intake-gate.ts';
import type { Authenticator } from './webhook-authenticator.ts';

// What every push route (Jamf Pro webhooks, Jamf Protect alerts, logs) shares: authentication before
// the body is read, raw-body parsing, and keeping what it rejects in the rejected stream.

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the catch-all parser when the Content-Type is not JSON: the body is kept, then refused. */
    unsupportedMediaType?: boolean;
    /** The tenant the accepted credentials stand for (webhook_tenant_secrets), '' when none: the records' `tenant`. */
    intakeTenant: string;
  }
}

export interface IntakeOptions {
  readonly authenticate: Authenticator;
  readonly throttle: AuthFailureThrottle;
  readonly metrics: Metrics;
  readonly sink: EventSink;
  readonly bodyLimitBytes: number;
  /** Source name written on rejected entries. */
  readonly source: string;
  /** Content types taken besides JSON ones (NDJSON, plain text; undefined: none sent). Default: JSON only. */
  readonly accepts?: (contentType: string | undefined) => boolean;
}

const jsonType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Adds the intake behaviour to an encapsulated scope: its routes authenticate in onRequest (before
 * the body is read, in constant time), receive the body as a Buffer, and keep rejected bodies.
 */
export function addIntakeHooks(scope: FastifyInstance, options: IntakeOptions): void {
  const { authenticate, throttle, metrics } = options;

  // The intake gate (intake-gate.ts) answers these before Fastify on a listening server, and marks what
  // it passed with its tenant; this hook gives the same answers to what reaches Fastify otherwise
  // (app.inject), and closes the connection too.
  scope.decorateRequest('intakeTenant', '');
  scope.addHook('onRequest', (req, reply, done) => {
    const tenant = IntakeGate.passedTenant(req.raw) ?? authenticate(req.headers);
    if (tenant !== undefined) {
      req.intakeTenant = tenant;
      return done();
    }
    reply.header('connection', 'close');
    metrics.authFailures.inc({ route: req.routeOptions.url ?? 'unmatched' });
    const retryAfter = throttle.retryAfterSeconds(req.ip);
    if (retryAfter > 0) return done(new IntakeThrottledError(retryAfter));
    throttle.recordFailure(req.ip);
    done(new IntakeUnauthorizedError());
  });

  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(jsonType, { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes }, (_req, body, done) => done(null, body));
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes }, (req, body, done) => {
    req.unsupportedMediaType = !options.accepts?.(req.headers['content-type']);
    done(null, body);
  });

  scope.setErrorHandler(async (err: Error & { code?: string }, req) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // The body was not read (it could be unbounded): what is kept is the fact and the size announced.
      const tooLarge = new BodyTooLargeError(options.bodyLimitBytes);
      await keepRejected(options, req, tooLarge, '', { contentLength: req.headers['content-length'] ?? null });
      throw tooLarge;
    }
    throw err;
  });
}

/** The request's body as received, or an empty Buffer when it had none. */
export function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * The body with its Content-Encoding (gzip, deflate; gzip also when only the bytes say so) undone, at most `limitBytes` once decoded (a small
 * compressed body can inflate without bound). Throws UnsupportedEncodingError or CorruptEncodingError.
 */
export function decodedBody(req: FastifyRequest, limitBytes: number): Buffer {
  const raw = rawBody(req);
  const header = req.headers['content-encoding'];
  let encoding = (Array.isArray(header) ? header.join(',') : header ?? '').trim().toLowerCase();
  // A gzip body sent without its Content-Encoding (a file posted as it is) is recognised by its magic bytes.
  if (encoding === '' && raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) encoding = 'gzip';
  if (encoding === '' || encoding === 'identity') return raw;
  const inflate = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : undefined;
  if (!inflate) throw new UnsupportedEncodingError(encoding);
  try {
    return inflate(raw, { maxOutputLength: limitBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CorruptEncodingError(encoding, code === 'ERR_BUFFER_TOO_LARGE' ? `it decodes to more than ${limitBytes} bytes (decoded_body_limit_bytes)` : ((err as Error).message ?? String(err)));
  }
}

/**
 * Keeps a refused body in the rejected stream with the reason, then throws the error so the client is
 * answered 4xx with the same reason. When Redis cannot keep it, the client is answered 503 instead:
 * a 4xx promises the body was kept.
 */
export async function rejectIntake(options: IntakeOptions, req: FastifyRequest, error: OrchardError): Promise<never> {
  await keepRejected(options, req, error, rawBody(req));
  throw error;
}

export function unsupportedMediaType(req: FastifyRequest, accepted?: string): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError(req.headers['content-type'], accepted);
}

/** Keeps a refused body (or line) in the rejected stream: the reason is the error's code, message and details, plus `extra`. */
export async function keepRejected(options: Pick<IntakeOptions, 'metrics' | 'sink' | 'source'>, req: FastifyRequest, error: OrchardError, payload: Buffer | string, extra: Record<string, unknown> = {}): Promise<void> {
  options.metrics.rejected.inc({ source: options.source, reason: error.code });
  await options.sink.appendRejected({
    reason: JSON.stringify({ code: error.code, message: error.message, details: error.details, ...extra }),
    source: options.source,
    received: formatTime(Date.now()),
    remote: req.ip,
    payload,
  });
}
