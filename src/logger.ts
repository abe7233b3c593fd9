import pino, { type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** The header that carries the webhook secret, redacted wherever headers are logged. */
  readonly secretHeader: string;
  /** Further secret-carrying headers (ORCHARD_PROTECT_HEADER, ORCHARD_LOGS_HEADER). */
  readonly moreSecretHeaders?: readonly (string | undefined)[];
  readonly destination?: DestinationStream;
}

/** pino JSON logs, with every path that can carry a secret redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const headers = [...new Set([options.secretHeader, ...(options.moreSecretHeaders ?? [])].filter((h): h is string => h !== undefined).map((h) => h.toLowerCase()))];
  const redact = [
    'req.headers.authorization',
    'req.headers.cookie',
    ...headers.map((h) => `req.headers["${h}"]`),
    'headers.authorization',
    ...headers.map((h) => `headers["${h}"]`),
    '*.password',
    '*.secret',
    '*.secrets',
    '*.api_key',
    '*.client_secret',
    '*.access_token',
    'password',
    'secret',
    'secrets',
  ];
  return pino(
    {
      level: options.level,
      base: { service: 'orchard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redact, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
