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

/**
 * The Redis Orchard reached is not the kind its settings say: a Redis Cluster node named by REDIS_URL
 * (a plain connection writes only to the slots that node holds). Refused at start.
 */
export class RedisTopologyError extends OrchardError {
  constructor(message: string) {
    super('ORCHARD_ERR_REDIS_TOPOLOGY', 500, message);
  }
}

/** A Redis Cluster refused a script whose keys are in different hash slots (CROSSSLOT): the keys are named. */
export class RedisCrossSlotError extends OrchardError {
  constructor(keys: readonly string[], cause: unknown) {
    super(
      'ORCHARD_ERR_REDIS_CROSS_SLOT',
      500,
      `Redis Cluster refused a write whose keys are in different hash slots (${keys.join(', ')}): every key that goes with a stream must carry its hash tag; give ORCHARD_STREAM a tag ({orchard}:events) and leave ORCHARD_REJECTED_STREAM unset or give it the same tag ({orchard}:rejected).`,
      { cause },
    );
  }
}
