import { OrchardError } from './orchard-error.ts';

// Errors of `orchard import`.


/** A file cannot be read (missing, unreadable, damaged or truncated gzip data). */
export class ImportFileError extends OrchardError {
  constructor(readonly file: string, message: string, cause?: unknown) {
    super('ORCHARD_ERR_IMPORT_FILE', 400, `${file}: ${message}`, { cause });
    this.name = 'ImportFileError';
  }
}

/**
 * The file's progress record moved on while this import ran: another import of the same file is
 * running. This one stops, so that no line is appended twice.
 */
export class ImportConflictError extends OrchardError {
  constructor(readonly file: string, readonly expectedLines: number, readonly foundLines: number) {
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
