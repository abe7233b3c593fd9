import * as crypto from 'node:crypto';

/**
 * The sha256 of `data` (text as UTF-8), as hex or as 'binary' (latin1) text, a character per byte.
 * `crypto.hash` (Node 20.12 and later) makes no Hash object, which costs more than hashing a webhook
 * body or a log line does; older Node 20 releases take the long way.
 */
export const sha256: (data: string | Buffer, encoding: 'hex' | 'binary') => string =
  typeof crypto.hash === 'function'
    ? (data, encoding) => crypto.hash('sha256', data, encoding)
    : (data, encoding) => crypto.createHash('sha256').update(data).digest(encoding);
