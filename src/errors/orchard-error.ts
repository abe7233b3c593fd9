// The base of every Orchard error, and every code Orchard answers or writes (the union, grouped by area).

export type OrchardErrorCode =
  // HTTP answers of either listener
  | 'ORCHARD_ERR_NOT_FOUND' | 'ORCHARD_ERR_BAD_REQUEST' | 'ORCHARD_ERR_BAD_HTTP' | 'ORCHARD_ERR_REQUEST_TIMEOUT'
  | 'ORCHARD_ERR_INTERNAL' | 'ORCHARD_ERR_RATE_LIMITED'
  // push routes
  | 'ORCHARD_ERR_INTAKE_UNAUTHORIZED' | 'ORCHARD_ERR_INTAKE_AUTH_THROTTLED' | 'ORCHARD_ERR_INTAKE_MEDIA_TYPE'
  | 'ORCHARD_ERR_INTAKE_MALFORMED_JSON' | 'ORCHARD_ERR_INTAKE_EMPTY_BODY' | 'ORCHARD_ERR_INTAKE_SCHEMA'
  | 'ORCHARD_ERR_INTAKE_BODY_TOO_LARGE' | 'ORCHARD_ERR_INTAKE_ENCODING' | 'ORCHARD_ERR_INTAKE_ENCODING_CORRUPT'
  | 'ORCHARD_ERR_INTAKE_TOO_MANY_LINES' | 'ORCHARD_ERR_INTAKE_BATCH_REJECTED' | 'ORCHARD_ERR_INTAKE_WRONG_ROUTE'
  // log lines (push route and import): the `code` of a refused line's reason
  | 'ORCHARD_ERR_LOG_EMPTY' | 'ORCHARD_ERR_LOG_TOO_LARGE' | 'ORCHARD_ERR_LOG_MALFORMED_JSON'
  | 'ORCHARD_ERR_LOG_UNRECOGNISED' | 'ORCHARD_ERR_LOG_INVALID' | 'ORCHARD_ERR_LOG_WRONG_TYPE'
  // configuration, start-up and the command line
  | 'ORCHARD_ERR_CONFIG_INVALID' | 'ORCHARD_ERR_DATA_DIR' | 'ORCHARD_ERR_LISTEN' | 'ORCHARD_ERR_START_ABORTED'
  | 'ORCHARD_ERR_CLI_REDIS'
  // Redis, and the local spool that keeps pushed events while Redis cannot take them
  | 'ORCHARD_ERR_SINK_UNAVAILABLE' | 'ORCHARD_ERR_REDIS_EMBEDDED' | 'ORCHARD_ERR_REDIS_TOPOLOGY' | 'ORCHARD_ERR_REDIS_CROSS_SLOT'
  | 'ORCHARD_ERR_SPOOL_FULL' | 'ORCHARD_ERR_SPOOL_IO' | 'ORCHARD_ERR_SPOOL_CORRUPT'
  // pull connectors and vendor APIs
  | 'ORCHARD_ERR_CONNECTOR_LEASE_LOST' | 'ORCHARD_ERR_CONNECTOR_CHECKPOINT_CHANGED'
  | 'ORCHARD_ERR_VENDOR_HTTP_STATUS' | 'ORCHARD_ERR_VENDOR_NETWORK' | 'ORCHARD_ERR_VENDOR_BAD_RESPONSE'
  | 'ORCHARD_ERR_VENDOR_RESPONSE_TOO_LARGE' | 'ORCHARD_ERR_VENDOR_GRAPHQL' | 'ORCHARD_ERR_VENDOR_PAGING' | 'ORCHARD_ERR_VENDOR_LOOP'
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
