import { OrchardError } from '../errors.ts';

// What a failed vendor request's lower-level error was: a network failure (retried), a TLS failure
// (not retried), or a cancellation. Diagnosis (diagnosis.ts) and the vendor HTTP client read it.

/** Node and OpenSSL error codes of a failed TLS handshake or certificate check. */
export function isTlsErrorCode(code: string): boolean {
  return (
    /^(?:CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/.test(
      code,
    ) || code === 'INVALID_CA' || code === 'PATH_LENGTH_EXCEEDED' || code === 'INVALID_PURPOSE'
  );
}

/** Node, libuv and undici codes of a network failure. */
const NETWORK_CODE = /^(?:E[A-Z0-9_]+|UND_ERR_[A-Z_]+)$/;

const NOT_NETWORK_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_ABORTED',
  'UND_ERR_CLOSED', // this client was closed: Orchard is shutting down
  'UND_ERR_DESTROYED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_INVALID_RETURN_VALUE',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_URL',
]);

/**
 * The code of a lower-level network or TLS failure, or undefined when `err` is not one (an abort, a
 * programming error, an Orchard error). Looks through `cause` chains and AggregateErrors.
 */
export function networkErrorCode(err: unknown): string | undefined {
  for (let current = err, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    if (isAbortError(current) || current instanceof OrchardError) return undefined;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !NOT_NETWORK_CODES.has(code) && (NETWORK_CODE.test(code) || isTlsErrorCode(code))) return code;
    if (current instanceof AggregateError && current.errors.length > 0) {
      current = current.errors[0];
    } else {
      current = (current as { cause?: unknown }).cause;
    }
  }
  return undefined;
}

/** A cancellation: an AbortSignal's default reason, or a timers/promises sleep cut short. */
export function isAbortError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = (err as Error).name;
  return name === 'AbortError' || (name === 'TimeoutError' && err instanceof DOMException);
}
