import pino, { type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** The header that carries the webhook secret, redacted wherever headers are logged. */
  readonly secretHeader: string;
  readonly destination?: DestinationStream;
}

/** pino JSON logs, with every path that can carry a secret redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const header = options.secretHeader.toLowerCase();
  const redact = [
    'req.headers.authorization',
    'req.headers.cookie',
    `req.headers["${header}"]`,
    'headers.authorization',
    `headers["${header}"]`,
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
