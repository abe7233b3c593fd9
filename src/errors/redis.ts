import { OrchardError } from './orchard-error.ts';

// Errors of Redis: an append not acknowledged, the embedded redis-server.


/** Redis did not acknowledge in time, or is unreachable: the event is not known to be stored. */
export class SinkUnavailableError extends OrchardError {
  constructor(message: string, cause?: unknown) {
    super('ORCHARD_ERR_SINK_UNAVAILABLE', 503, message, { cause });
  }
}

export class EmbeddedRedisError extends OrchardError {
  constructor(message: string, cause?: unknown) {
    super('ORCHARD_ERR_REDIS_EMBEDDED', 500, message, { cause });
  }
}
