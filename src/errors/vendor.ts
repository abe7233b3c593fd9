import { OrchardError } from './orchard-error.ts';

// Errors of pull connectors and vendor APIs.


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

const withoutQuery = (path: string): string => path.split(/[?#]/, 1)[0]!;

/** Where a vendor request went: the connector, the method and the path (any query string is stripped). */
interface VendorRequestFields { connector: string; method: string; path: string }

export interface VendorHttpErrorFields extends VendorRequestFields {
  status: number;
  /** The start of the response body, secrets already redacted by the caller; cut to 500 characters. */
  bodyExcerpt?: string;
  /** What the vendor's Retry-After asked for, when it sent one. */
  retryAfterMs?: number;
  /** A token endpoint refused this many of the connector's credentials (the client secrets of a rotation). */
  credentialsTried?: number;
}

/** A vendor API answered with a status Orchard does not accept (after any retries). */
export class VendorHttpError extends OrchardError {
  readonly connector: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bodyExcerpt: string;
  readonly retryAfterMs: number | undefined;
  readonly credentialsTried: number | undefined;

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
    this.credentialsTried = fields.credentialsTried;
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
  /** The field (`Alert.updated`) the API's schema does not have, and the source's remedy: set when the errors say so. */
  readonly refused: { readonly field: string; readonly remedy: string } | undefined;

  constructor(connector: string, path: string, errors: readonly GraphqlErrorItem[], refused?: { field: string; remedy: string }) {
    const first = errors[0];
    const shown = first ? `${first.errorType ? `${first.errorType}: ` : ''}${first.message.slice(0, 300)}` : 'no message';
    super('ORCHARD_ERR_VENDOR_GRAPHQL', 502, `${connector}: POST ${path} answered GraphQL errors: ${shown}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`, {
      details: errors.slice(0, 10),
    });
    this.name = 'VendorGraphqlError';
    this.connector = connector;
    this.path = path;
    this.errors = errors;
    this.refused = refused;
  }

  /** The error types and messages, for classification. */
  get text(): string {
    return this.errors.map((e) => `${e.errorType ?? ''} ${e.message}`).join('\n');
  }
}

/** A paged vendor API contradicted itself (the same page twice, an empty page inside its totalCount): the run stops rather than loop or skip. */
export class VendorPagingError extends OrchardError {
  constructor(readonly connector: string, readonly method: string, readonly path: string, problem: string) {
    super('ORCHARD_ERR_VENDOR_PAGING', 502, `${connector}: ${method} ${withoutQuery(path)} paged inconsistently: ${problem}`);
    this.name = 'VendorPagingError';
  }
}

/** A vendor that would page forever: a next-page token it already gave in this run, or the same page again. The run stops before writing that page. */
export class VendorLoopError extends OrchardError {
  constructor(readonly connector: string, readonly repeated: 'cursor' | 'page', pages: number) {
    super('ORCHARD_ERR_VENDOR_LOOP', 502, `${connector}: after ${pages} page(s) the vendor answered ${repeated === 'cursor' ? 'a next-page token it had already answered in this run' : 'the same page as the one before'}; the run stopped instead of paging forever.`);
    this.name = 'VendorLoopError';
  }
}
