import { OrchardError } from './orchard-error.ts';

// Errors of the configuration, start-up and the command line.


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
