import { OrchardError, type OrchardErrorCode } from './orchard-error.ts';

// Errors of the listeners and the push routes (the intake), and the codes of refused log lines.


/** More requests from one address than rate_limit_per_minute allows. */
export class RateLimitedError extends OrchardError {
  constructor(readonly retryAfterSeconds: number) {
    super('ORCHARD_ERR_RATE_LIMITED', 429, `Too many requests from this address; retry in ${retryAfterSeconds} s (rate_limit_per_minute).`);
  }
}

// --- intake: every push route ----------------------------------------------------------------------

export class IntakeUnauthorizedError extends OrchardError {
  constructor() {
    super('ORCHARD_ERR_INTAKE_UNAUTHORIZED', 401, 'Missing or wrong webhook credentials.');
  }
}

export class IntakeThrottledError extends OrchardError {
  constructor(readonly retryAfterSeconds: number) {
    super('ORCHARD_ERR_INTAKE_AUTH_THROTTLED', 429, `Too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s.`);
  }
}

export class UnsupportedMediaTypeError extends OrchardError {
  /** `accepted`: what the route takes, as a phrase (default: the Jamf Pro webhook route's advice). */
  constructor(contentType: string | undefined, accepted = 'application/json (in Jamf Pro, set the webhook\'s Content Type to JSON)') {
    super('ORCHARD_ERR_INTAKE_MEDIA_TYPE', 415, `Content-Type ${contentType ? `"${contentType}"` : '(none)'} is not accepted: send ${accepted}.`);
  }
}

export class MalformedJsonError extends OrchardError {
  constructor(cause: unknown, what = 'Body') {
    super('ORCHARD_ERR_INTAKE_MALFORMED_JSON', 400, `${what} is not valid JSON: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

export class EmptyBodyError extends OrchardError {
  constructor(expected = 'a webhook carries a JSON object') {
    super('ORCHARD_ERR_INTAKE_EMPTY_BODY', 400, `Body is empty: ${expected}.`);
  }
}

export class SchemaViolationError extends OrchardError {
  constructor(message: string, details: unknown[]) {
    super('ORCHARD_ERR_INTAKE_SCHEMA', 400, message, { details });
  }
}

export class BodyTooLargeError extends OrchardError {
  constructor(limitBytes: number) {
    super('ORCHARD_ERR_INTAKE_BODY_TOO_LARGE', 413, `Body is larger than the limit of ${limitBytes} bytes (body_limit_bytes).`);
  }
}

/** A push body in an encoding Orchard does not decode. */
export class UnsupportedEncodingError extends OrchardError {
  constructor(encoding: string) {
    super('ORCHARD_ERR_INTAKE_ENCODING', 415, `Content-Encoding "${encoding}" is not accepted: send the body as is, or gzip- or deflate-encoded.`);
  }
}

/** A gzip or deflate body that does not decode, or decodes past the limit. */
export class CorruptEncodingError extends OrchardError {
  constructor(encoding: string, reason: string) {
    super('ORCHARD_ERR_INTAKE_ENCODING_CORRUPT', 400, `The ${encoding}-encoded body cannot be decoded: ${reason}.`);
  }
}

/** A batch with more lines than one request may carry. */
export class TooManyLinesError extends OrchardError {
  constructor(limit: number) {
    super('ORCHARD_ERR_INTAKE_TOO_MANY_LINES', 413, `The body holds more than ${limit} lines; send smaller batches.`);
  }
}

/** Every line of a batch was refused; each is kept in the rejected stream with its reason. */
export class BatchRejectedError extends OrchardError {
  constructor(lines: number, details: unknown[]) {
    super('ORCHARD_ERR_INTAKE_BATCH_REJECTED', 400, `All ${lines} line${lines === 1 ? '' : 's'} of the body were refused (see details); each is kept in the rejected stream with its reason.`, { details });
  }
}

/** A line of another kind than the route takes (Jamf Protect telemetry on the alerts route); the message names the route that takes it. */
export class WrongRouteError extends OrchardError {
  constructor(message: string) {
    super('ORCHARD_ERR_INTAKE_WRONG_ROUTE', 400, message);
  }
}

/** The `code` of a refused log line's reason (push route and `orchard import`). */
export const logErrorCodes = {
  empty: 'ORCHARD_ERR_LOG_EMPTY',
  tooLarge: 'ORCHARD_ERR_LOG_TOO_LARGE',
  malformedJson: 'ORCHARD_ERR_LOG_MALFORMED_JSON',
  unrecognised: 'ORCHARD_ERR_LOG_UNRECOGNISED',
  invalid: 'ORCHARD_ERR_LOG_INVALID',
  /** `orchard import --type T`: a line of another kind than T. */
  wrongType: 'ORCHARD_ERR_LOG_WRONG_TYPE',
} as const satisfies Record<string, OrchardErrorCode>;
