import { OrchardError } from './orchard-error.ts';

// Errors of Redis (an append not acknowledged, the embedded redis-server) and of the local spool.


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
