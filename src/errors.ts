// Every error Orchard raises, and every error code it answers or writes, in one place, grouped by area.
// Each code is ORCHARD_ERR_<AREA>_<CONDITION>; an error has the HTTP status it is answered with where
// it has one, and `{ cause }` for the lower-level error. Match on `err.code`, never on the message.
//
// Codes shared by every push route (Jamf Pro webhooks, Jamf Protect alerts, logs) are named for
// intake (ORCHARD_ERR_INTAKE_*); until version 0.2 they were named ORCHARD_ERR_WEBHOOK_* (the README
// lists the renames).

export type OrchardErrorCode =
  // HTTP answers of either listener
  | 'ORCHARD_ERR_NOT_FOUND' | 'ORCHARD_ERR_BAD_REQUEST' | 'ORCHARD_ERR_BAD_HTTP' | 'ORCHARD_ERR_REQUEST_TIMEOUT'
  | 'ORCHARD_ERR_INTERNAL' | 'ORCHARD_ERR_RATE_LIMITED'
  // push routes
  | 'ORCHARD_ERR_INTAKE_UNAUTHORIZED' | 'ORCHARD_ERR_INTAKE_AUTH_THROTTLED' | 'ORCHARD_ERR_INTAKE_MEDIA_TYPE'
  | 'ORCHARD_ERR_INTAKE_MALFORMED_JSON' | 'ORCHARD_ERR_INTAKE_EMPTY_BODY' | 'ORCHARD_ERR_INTAKE_SCHEMA'
  | 'ORCHARD_ERR_INTAKE_BODY_TOO_LARGE' | 'ORCHARD_ERR_INTAKE_ENCODING' | 'ORCHARD_ERR_INTAKE_ENCODING_CORRUPT'
  | 'ORCHARD_ERR_INTAKE_TOO_MANY_LINES' | 'ORCHARD_ERR_INTAKE_BATCH_REJECTED'
  // log lines (push route and import): the `code` of a refused line's reason
  | 'ORCHARD_ERR_LOG_EMPTY' | 'ORCHARD_ERR_LOG_TOO_LARGE' | 'ORCHARD_ERR_LOG_MALFORMED_JSON'
  | 'ORCHARD_ERR_LOG_UNRECOGNISED' | 'ORCHARD_ERR_LOG_INVALID' | 'ORCHARD_ERR_LOG_WRONG_TYPE'
  // configuration, start-up and the command line
  | 'ORCHARD_ERR_CONFIG_INVALID' | 'ORCHARD_ERR_DATA_DIR' | 'ORCHARD_ERR_LISTEN' | 'ORCHARD_ERR_START_ABORTED'
  | 'ORCHARD_ERR_CLI_REDIS'
  // Redis, and the local spool that keeps pushed events while Redis cannot take them
  | 'ORCHARD_ERR_SINK_UNAVAILABLE' | 'ORCHARD_ERR_REDIS_EMBEDDED'
  | 'ORCHARD_ERR_SPOOL_FULL' | 'ORCHARD_ERR_SPOOL_IO' | 'ORCHARD_ERR_SPOOL_CORRUPT'
  // pull connectors and vendor APIs
  | 'ORCHARD_ERR_CONNECTOR_LEASE_LOST' | 'ORCHARD_ERR_CONNECTOR_CHECKPOINT_CHANGED'
  | 'ORCHARD_ERR_VENDOR_HTTP_STATUS' | 'ORCHARD_ERR_VENDOR_NETWORK' | 'ORCHARD_ERR_VENDOR_BAD_RESPONSE'
  | 'ORCHARD_ERR_VENDOR_RESPONSE_TOO_LARGE' | 'ORCHARD_ERR_VENDOR_GRAPHQL'
  // `orchard import`
  | 'ORCHARD_ERR_IMPORT_FILE' | 'ORCHARD_ERR_IMPORT_CONFLICT' | 'ORCHARD_ERR_IMPORT_INTERRUPTED'
  // the consumer library and retention
  | 'ORCHARD_ERR_CONSUMER_OPTIONS' | 'ORCHARD_ERR_CONSUMER_MAX_DELIVERIES'
  | 'ORCHARD_ERR_CONSUMER_READ_ABANDONED' | 'ORCHARD_ERR_TRIMMER_OPTIONS';

export interface OrchardErrorOptions {
  cause?: unknown;
  details?: unknown[];
}

export class OrchardError extends Error {
  readonly code: OrchardErrorCode;
  readonly statusCode: number;
  readonly details: unknown[];

  constructor(code: OrchardErrorCode, statusCode: number, message: string, options: OrchardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OrchardError';
    this.code = code;
    this.statusCode = statusCode;
    this.details = options.details ?? [];
  }
}

// --- HTTP -------------------------------------------------------------------------------------------

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

// --- configuration, start-up, the command line ------------------------------------------------------

export class ConfigInvalidError extends OrchardError {
  constructor(readonly problems: string[]) {
    super('ORCHARD_ERR_CONFIG_INVALID', 500, `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
}

/** ORCHARD_DATA_DIR cannot be used: not writable, not a directory, or held by another Orchard. */
export class DataDirError extends OrchardError {
  constructor(message: string, cause?: unknown) {
    super('ORCHARD_ERR_DATA_DIR', 500, message, { cause });
  }
}

/** The listener cannot start (port in use, address not available, no permission). */
export class ListenError extends OrchardError {
  constructor(message: string, cause?: unknown) {
    super('ORCHARD_ERR_LISTEN', 500, message, { cause });
  }
}

export class StartAbortedError extends OrchardError {
  constructor() {
    super('ORCHARD_ERR_START_ABORTED', 500, 'Start-up was interrupted by a signal; everything started so far was stopped.');
  }
}

/** A CLI command cannot reach the Redis Orchard uses. */
export class CliRedisError extends OrchardError {
  constructor(message: string) {
    super('ORCHARD_ERR_CLI_REDIS', 500, message);
  }
}

// --- Redis ------------------------------------------------------------------------------------------

/** Redis did not acknowledge in time, or is unreachable: the event is not known to be stored. */
export class SinkUnavailableError extends OrchardError {
  constructor(message: string, cause?: unknown) {
    super('ORCHARD_ERR_SINK_UNAVAILABLE', 503, message, { cause });
  }
}

/** The spool cannot keep the event: SPOOL_FULL, spool_max_bytes is reached; SPOOL_IO, its disk failed. Answered 503. */
export class SpoolUnavailableError extends OrchardError {
  constructor(code: 'ORCHARD_ERR_SPOOL_FULL' | 'ORCHARD_ERR_SPOOL_IO', message: string, cause?: unknown) {
    super(code, 503, message, { cause });
  }
}

export class EmbeddedRedisError extends OrchardError {
  constructor(message: string, cause?: unknown) {
    super('ORCHARD_ERR_REDIS_EMBEDDED', 500, message, { cause });
  }
}

// --- pull connectors and vendor APIs ------------------------------------------------------------------

/** The lease was lost (expired while Redis was unreachable, or taken over): this replica stops writing. */
export class LeaseLostError extends OrchardError {
  constructor(connector: string) {
    super('ORCHARD_ERR_CONNECTOR_LEASE_LOST', 500, `${connector}: the lease was lost to another replica; this replica stops running the connector until it can take the lease again.`);
  }
}

/** The checkpoint was written by someone else since it was read (`orchard checkpoint reset`). */
export class CheckpointChangedError extends OrchardError {
  constructor(connector: string) {
    super('ORCHARD_ERR_CONNECTOR_CHECKPOINT_CHANGED', 500, `${connector}: the checkpoint changed under the run (reset?); starting again from the stored checkpoint.`);
  }
}

/** Longest vendor response body excerpt kept in a VendorHttpError. */
export const VENDOR_BODY_EXCERPT_CHARS = 500;

function withoutQuery(path: string): string {
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}

/** Where a vendor request went: the connector, the method and the path (any query string is stripped). */
interface VendorRequestFields {
  connector: string;
  method: string;
  path: string;
}

export interface VendorHttpErrorFields extends VendorRequestFields {
  status: number;
  /** The start of the response body, secrets already redacted by the caller; cut to 500 characters. */
  bodyExcerpt?: string;
  /** What the vendor's Retry-After asked for, when it sent one. */
  retryAfterMs?: number;
}

/** A vendor API answered with a status Orchard does not accept (after any retries). */
export class VendorHttpError extends OrchardError {
  readonly connector: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bodyExcerpt: string;
  readonly retryAfterMs: number | undefined;

  constructor(fields: VendorHttpErrorFields) {
    const path = withoutQuery(fields.path);
    const bodyExcerpt = (fields.bodyExcerpt ?? '').replace(/\s+/g, ' ').trim().slice(0, VENDOR_BODY_EXCERPT_CHARS);
    super('ORCHARD_ERR_VENDOR_HTTP_STATUS', 502, `${fields.connector}: ${fields.method} ${path} answered ${fields.status}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}`);
    this.name = 'VendorHttpError';
    this.connector = fields.connector;
    this.method = fields.method;
    this.path = path;
    this.status = fields.status;
    this.bodyExcerpt = bodyExcerpt;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

export interface VendorNetworkErrorFields extends VendorRequestFields {
  /** The lower-level code: ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, CERT_HAS_EXPIRED, … */
  errorCode: string;
  /** True when the failure is in TLS (certificate, handshake). */
  tls: boolean;
  cause: unknown;
}

/** A vendor API could not be reached, or the connection failed before a whole response arrived. */
export class VendorNetworkError extends OrchardError {
  readonly connector: string;
  readonly method: string;
  readonly path: string;
  readonly errorCode: string;
  readonly tls: boolean;

  constructor(fields: VendorNetworkErrorFields) {
    const path = withoutQuery(fields.path);
    super('ORCHARD_ERR_VENDOR_NETWORK', 502, `${fields.connector}: ${fields.method} ${path} failed: ${fields.errorCode}${fields.tls ? ' (TLS)' : ''}`, { cause: fields.cause });
    this.name = 'VendorNetworkError';
    this.connector = fields.connector;
    this.method = fields.method;
    this.path = path;
    this.errorCode = fields.errorCode;
    this.tls = fields.tls;
  }
}

export interface VendorResponseErrorOptions {
  method?: string;
  /** The request path; any query string is stripped. */
  path?: string;
  cause?: unknown;
  details?: unknown[];
}

/** A vendor API answered 2xx with a body Orchard cannot use: not JSON, or not the shape expected (schema drift). */
export class VendorResponseError extends OrchardError {
  readonly connector: string;
  readonly method: string | undefined;
  readonly path: string | undefined;

  constructor(connector: string, problem: string, options: VendorResponseErrorOptions = {}) {
    const path = options.path === undefined ? undefined : withoutQuery(options.path);
    const where = path === undefined ? '' : ` ${options.method ? `${options.method} ` : ''}${path}`;
    super('ORCHARD_ERR_VENDOR_BAD_RESPONSE', 502, `${connector}:${where} unexpected response: ${problem}`, { cause: options.cause, details: options.details });
    this.name = 'VendorResponseError';
    this.connector = connector;
    this.method = options.method;
    this.path = path;
  }
}

/**
 * A vendor API answered 2xx with a body larger than Orchard reads of one answer (the client's
 * maxResponseBytes): a page too big to hold, not schema drift. Not retried: the same request gets
 * the same answer; smaller pages are the remedy.
 */
export class VendorResponseTooLargeError extends OrchardError {
  readonly connector: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly limitBytes: number;

  constructor(connector: string, fields: { method: string; path: string; status: number; limitBytes: number }) {
    const path = withoutQuery(fields.path);
    super(
      'ORCHARD_ERR_VENDOR_RESPONSE_TOO_LARGE',
      502,
      `${connector}: ${fields.method} ${path} answered HTTP ${fields.status} with more than ${fields.limitBytes} bytes, the most Orchard reads of one answer; ask for smaller pages.`,
    );
    this.name = 'VendorResponseTooLargeError';
    this.connector = connector;
    this.method = fields.method;
    this.path = path;
    this.status = fields.status;
    this.limitBytes = fields.limitBytes;
  }
}

export interface GraphqlErrorItem {
  readonly message: string;
  readonly errorType?: string;
}

/**
 * A GraphQL API answered HTTP 200 with an `errors` array (AWS AppSync, Jamf Protect): a failure, never
 * an empty page. The messages come from the vendor and carry no secret of ours.
 */
export class VendorGraphqlError extends OrchardError {
  readonly connector: string;
  readonly method = 'POST';
  readonly path: string;
  readonly errors: readonly GraphqlErrorItem[];

  constructor(connector: string, path: string, errors: readonly GraphqlErrorItem[]) {
    const first = errors[0];
    const shown = first ? `${first.errorType ? `${first.errorType}: ` : ''}${first.message.slice(0, 300)}` : 'no message';
    super('ORCHARD_ERR_VENDOR_GRAPHQL', 502, `${connector}: POST ${path} answered GraphQL errors: ${shown}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`, {
      details: errors.slice(0, 10),
    });
    this.name = 'VendorGraphqlError';
    this.connector = connector;
    this.path = path;
    this.errors = errors;
  }

  /** The error types and messages, for classification. */
  get text(): string {
    return this.errors.map((e) => `${e.errorType ?? ''} ${e.message}`).join('\n');
  }
}

// --- `orchard import` ---------------------------------------------------------------------------------

/** A file cannot be read (missing, unreadable, damaged or truncated gzip data). */
export class ImportFileError extends OrchardError {
  constructor(
    readonly file: string,
    message: string,
    cause?: unknown,
  ) {
    super('ORCHARD_ERR_IMPORT_FILE', 400, `${file}: ${message}`, { cause });
    this.name = 'ImportFileError';
  }
}

/**
 * The file's progress record moved on while this import ran: another import of the same file is
 * running. This one stops, so that no line is appended twice.
 */
export class ImportConflictError extends OrchardError {
  constructor(
    readonly file: string,
    readonly expectedLines: number,
    readonly foundLines: number,
  ) {
    super(
      'ORCHARD_ERR_IMPORT_CONFLICT',
      409,
      `${file}: another import of the same file is running (its progress record is at line ${foundLines}, this import expected ${expectedLines}); this one stopped. Run the command again once the other import has finished: it continues where that one stopped.`,
    );
    this.name = 'ImportConflictError';
  }
}

/** The import was stopped by a signal; what was committed stays, and the next run continues after it. */
export class ImportInterruptedError extends OrchardError {
  constructor() {
    super('ORCHARD_ERR_IMPORT_INTERRUPTED', 500, 'The import was interrupted; run it again to continue where it stopped.');
  }
}

// --- the consumer library and retention -----------------------------------------------------------------

export class ConsumerOptionsError extends OrchardError {
  constructor(problems: readonly string[]) {
    super('ORCHARD_ERR_CONSUMER_OPTIONS', 500, `Invalid consumer options: ${problems.join('; ')}.`);
  }
}

/** A blocking read given up by the consumer's watchdog: its connection is replaced and the PEL read again. */
export class ReadAbandonedError extends OrchardError {
  constructor(readonly why: string) {
    super('ORCHARD_ERR_CONSUMER_READ_ABANDONED', 503, `Blocking read abandoned: ${why}.`);
  }
}

/** The `code` in a dead-letter entry's `reason`. */
export const deadLetterCodes = {
  maxDeliveries: 'ORCHARD_ERR_CONSUMER_MAX_DELIVERIES',
} as const satisfies Record<string, OrchardErrorCode>;

export class TrimmerOptionsError extends OrchardError {
  constructor(problems: readonly string[]) {
    super('ORCHARD_ERR_TRIMMER_OPTIONS', 500, `Invalid trimmer options: ${problems.join('; ')}.`);
  }
}
