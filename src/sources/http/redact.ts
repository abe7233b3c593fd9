// What a vendor may echo of our secrets in an error body, blanked out before an excerpt is kept.

const REDACTED = '[REDACTED]';

/** Request header names whose values are secrets. */
const SECRET_HEADER = /authorization|api[-_]?key|token|secret|password|cookie/i;

/** Secrets a vendor may echo in an error body, by shape. */
const SECRET_SHAPES: Array<[RegExp, string]> = [
  [/("(?:access_token|refresh_token|id_token|token|client_secret|password|api_key|apikey|secret)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${REDACTED}"`],
  [/\b((?:access_token|refresh_token|client_secret|password|api_key)=)[^&\s"]+/gi, `$1${REDACTED}`],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, `Bearer ${REDACTED}`],
];

/** The values of the request headers that carry secrets. */
export function secretHeaderValues(headers: Record<string, string>): string[] {
  return Object.entries(headers)
    .filter(([name]) => SECRET_HEADER.test(name))
    .map(([, value]) => value);
}

/** The body with every known secret, and anything shaped like one, blanked out. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  for (const [shape, replacement] of SECRET_SHAPES) out = out.replace(shape, replacement);
  return out;
}
