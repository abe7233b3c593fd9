import { OrchardError, type OrchardErrorCode } from './orchard-error.ts';

// Errors of the consumer library and retention.


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
